"""What an instructor uploads to a platform: the grader, and the chosen hidden suites.

A platform grades in its own machine, so it needs the grader package (installed there
with pip) and the course's hidden suites. A :class:`Bundle` holds both as plain bytes
by relative path, together with the platform's own scripts, and is written out as a
folder or as a zip (Gradescope) by the same code:

* ``package/``: the ``grader`` package's source and a ``pyproject.toml`` naming its
  dependencies, so ``pip install package/`` works offline of this checkout;
* ``course/exercises/<exercise>/.meta/``: each chosen exercise's metadata and hidden
  suite, and nothing else. Solutions, known-wrong variants, the project's tests and
  the exercises that were not chosen are never copied, so an upload cannot leak them.

The dependencies come from the course checkout's ``pyproject.toml`` when there is one
(the source of truth while developing; installed metadata can be stale) and from the
installed distribution's metadata otherwise.
"""

from __future__ import annotations

import importlib.metadata
import io
import json
import stat
import tomllib
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import grader
from grader.course.course import Course, Exercise
from grader.errors import GraderError

__all__ = ["DISTRIBUTION", "Bundle", "grader_bundle"]

DISTRIBUTION = "async-grader"
COURSE_FOLDER = "course"
PACKAGE_FOLDER = "package"
_ZIP_TIME = (2024, 1, 1, 0, 0, 0)  # fixed, so the same inputs make the same zip


@dataclass
class Bundle:
    """Files by relative POSIX path; ``executable`` ones get mode 755."""

    files: dict[str, bytes] = field(default_factory=dict)
    executable: set[str] = field(default_factory=set)

    def add(self, path: str, content: bytes | str, *, executable: bool = False) -> None:
        clean = PurePosixPath(path)
        if clean.is_absolute() or ".." in clean.parts:
            raise ValueError(f"bundle paths stay inside the bundle: {path}")
        self.files[str(clean)] = content.encode() if isinstance(content, str) else content
        if executable:
            self.executable.add(str(clean))

    def write_folder(self, target: Path) -> list[Path]:
        """Write every file under ``target`` (created); returns the paths written."""
        written = []
        for name, content in sorted(self.files.items()):
            path = target / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content)
            mode = 0o755 if name in self.executable else 0o644
            path.chmod(mode)
            written.append(path)
        return written

    def zip_bytes(self) -> bytes:
        """The bundle as a zip whose root holds the files (not a folder around them)."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, content in sorted(self.files.items()):
                info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                mode = 0o755 if name in self.executable else 0o644
                info.external_attr = (stat.S_IFREG | mode) << 16
                archive.writestr(info, content)
        return buffer.getvalue()


def grader_bundle(course: Course, exercises: Sequence[Exercise], *, prefix: str = "") -> Bundle:
    """The grader package and ``exercises``' hidden suites, under ``prefix``."""
    if not exercises:
        raise GraderError("No exercises chosen. Name some with --exercises 03,05.")
    bundle = Bundle()
    base = f"{prefix.rstrip('/')}/" if prefix else ""
    package_root = Path(grader.__file__).resolve().parent
    for path in sorted(package_root.rglob("*")):
        relative = path.relative_to(package_root)
        if (path.is_file() and "__pycache__" not in relative.parts
                and path.suffix not in (".pyc", ".pyo")):
            bundle.add(f"{base}{PACKAGE_FOLDER}/grader/{relative.as_posix()}", path.read_bytes())
    bundle.add(f"{base}{PACKAGE_FOLDER}/pyproject.toml", _pyproject(course))
    for exercise in exercises:
        meta = f"{base}{COURSE_FOLDER}/exercises/{exercise.name}/.meta"
        for source in (exercise.meta_dir / "exercise.toml", exercise.suite_file):
            if not source.is_file():
                raise GraderError(f"{source} is missing, so {exercise.name} cannot be "
                                  "graded on a platform. Restore it and try again.")
            bundle.add(f"{meta}/{source.name}", source.read_bytes())
    return bundle


def _pyproject(course: Course) -> str:
    version, python, dependencies = _distribution(course)
    listed = ",\n".join(f"    {json.dumps(d)}" for d in dependencies)
    return (
        "# The grader, packaged for a grading platform by `grade autograder`.\n"
        "[build-system]\n"
        'requires = ["setuptools>=68"]\n'
        'build-backend = "setuptools.build_meta"\n\n'
        "[project]\n"
        f"name = {json.dumps(DISTRIBUTION)}\n"
        f"version = {json.dumps(version)}\n"
        f"requires-python = {json.dumps(python)}\n"
        f"dependencies = [\n{listed},\n]\n\n"
        "[project.scripts]\n"
        'grade = "grader.cli:main"\n\n'
        "[tool.setuptools.packages.find]\n"
        'include = ["grader*"]\n\n'
        "[tool.setuptools.package-data]\n"
        'grader = ["templates/*"]\n'
    )


def _distribution(course: Course) -> tuple[str, str, list[str]]:
    """(version, requires-python, dependencies) of the grader being bundled."""
    checkout = course.root / "pyproject.toml"
    if checkout.is_file():
        project = tomllib.loads(checkout.read_text()).get("project", {})
        if project.get("name") == DISTRIBUTION:
            return (str(project.get("version", "0")), str(project.get("requires-python",
                    ">=3.11")), [str(d) for d in project.get("dependencies", [])])
    try:
        metadata = importlib.metadata.metadata(DISTRIBUTION)
        requires = importlib.metadata.requires(DISTRIBUTION) or []
    except importlib.metadata.PackageNotFoundError:
        raise GraderError(f"The {DISTRIBUTION} package is not installed, so it cannot be "
                          "bundled. Run `pip install -e .` in the course folder.") from None
    # get_all, not get: PackageMetadata declares get only from Python 3.12.
    requires_python = (metadata.get_all("Requires-Python") or [""])[0] or ">=3.11"
    return (metadata["Version"], requires_python,
            [r for r in requires if "extra ==" not in r])
