"""``grade release OUT``: write the student course from the instructor's copy.

In the spirit of nbgrader's generate/release and ``otter assign``: one instructor's
folder, two audiences. What a release holds is decided by an allow-list, not by a list
of what to remove, so a folder an instructor adds later (``grading-notes/``) stays out
until someone decides it belongs:

* ``grader/`` without the instructor's tooling (:data:`INSTRUCTOR_ONLY`: ``grade bulk``,
  ``grade verify`` and its variants, this module), ``pyproject.toml``, ``.gitignore``,
  a licence, ``docs/`` without the instructor's guides;
* every exercise folder as it is: README, stub, metadata and the hidden suite in
  ``.meta/`` (students grade locally, so the suite has to be there; the sandbox keeps it
  out of their code's reach, not out of their editor's);
* written here: ``course.toml`` saying ``kind = "release"`` (so ``grade verify`` there
  says it needs the instructor's copy), the README without its instructors' sections,
  each stub's pristine copy ``.meta/<module>.orig`` (``grade reset`` without git), the
  student-side tests ``tests/test_student_copy.py`` (so the README's ``pytest`` runs
  real checks), and with ``--unlock-solutions`` each solution locked
  (:mod:`grader.course.solution_lock`: a convenience, not a secret).

Never shipped: ``solutions/``, the rest of ``tests/`` (variants, fixtures, attacks),
``benchmarks/``, ``.ci/``, git history, progress records, caches. The copy is built in a
temporary folder beside ``OUT`` and renamed into place, so ``OUT`` is whole or absent.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.course.course import MARKER, Course, Exercise
from grader.course.solution_lock import lock_solution
from grader.errors import GraderError

__all__ = ["INSTRUCTOR_ONLY", "STUDENT_TESTS", "ReleaseOutcome", "release_course",
           "student_readme"]

SHIPPED = ("pyproject.toml", ".gitignore", "LICENSE", "LICENSE.txt", "LICENSE.md",
           "grader", "docs")
"""Course-relative paths copied as they are (besides exercises/ and what is written)."""

INSTRUCTOR_ONLY = frozenset({
    "grader/bulk", "grader/platforms", "grader/verify.py", "grader/course/variants.py",
    "grader/course/release.py",
    "docs/authoring.md", "docs/bulk-grading.md",
})
"""Inside :data:`SHIPPED`, what students never need: class grading, the content check,
releasing, and the guides for writing exercises and grading a class."""

STUDENT_TESTS = "tests/test_student_copy.py"
"""The instructor's copy runs this file with its own tests; a release ships it alone."""

_JUNK = frozenset({"__pycache__", ".DS_Store", ".pytest_cache", ".mypy_cache",
                   ".ruff_cache", ".ipynb_checkpoints"})
_NOT_WORTH_LISTING = frozenset({".git", ".progress", ".venv", "venv", "build", "dist",
                                *_JUNK})

_INSTRUCTOR_SECTION = re.compile(r"^## (?:.*\binstructors?\b.*|Benchmarks)\s*$", re.I)
_CI_MARKER = re.compile(r"^<!-- \.ci/run .*-->\s*$")


class ReleaseError(GraderError):
    """Raised when a release can't be written where asked, or from this course."""


@dataclass(frozen=True)
class ReleaseOutcome:
    out: Path
    files: int
    size: int  # bytes written
    exercises: int
    left_out: tuple[str, ...]  # course-relative, folders with a trailing /
    unlock_solutions: bool


def release_course(course: Course, out: Path, *, unlock_solutions: bool | None = None,
                   now: datetime | None = None) -> ReleaseOutcome:
    """Write ``course``'s student release to ``out`` (absent or empty, outside the course)."""
    if course.is_release:
        raise ReleaseError(f"{course.root} is already a student release; run grade release "
                           "in the instructor's copy of the course.")
    target = _check_out(course.root, out)
    unlock = course.info.unlock_solutions if unlock_solutions is None else unlock_solutions
    exercises = _checked_exercises(course, unlock=unlock)
    target.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.partial-"))
    try:
        written = _write_release(course, exercises, building, unlock=unlock,
                                 now=now or datetime.now(UTC))
        if target.exists():
            target.rmdir()  # checked empty above; a race with another writer fails here
        os.rename(building, target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return ReleaseOutcome(
        out=target, files=len(written), size=sum(written.values()),
        exercises=len(exercises), left_out=_left_out(course.root), unlock_solutions=unlock)


def _check_out(root: Path, out: Path) -> Path:
    target = out.expanduser().resolve()
    if target == root or root in target.parents:
        raise ReleaseError(f"{out} is inside the course ({root}); write the release to a "
                           "folder outside it, e.g. ../class-course.")
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise ReleaseError(f"{out} already exists and is not an empty folder; choose a new "
                           "folder (grade release never writes over anything).")
    return target


def _checked_exercises(course: Course, *, unlock: bool) -> list[Exercise]:
    """Every exercise, with what a release needs of it present; else one line saying what."""
    problems = []
    for exercise in course.exercises:
        needed = [exercise.readme, exercise.stub_file, exercise.suite_file]
        if unlock:
            needed.append(exercise.solution_file)
        problems += [str(p.relative_to(course.root)) for p in needed if not p.is_file()]
    if not (course.root / STUDENT_TESTS).is_file():
        problems.append(STUDENT_TESTS)
    if problems:
        raise ReleaseError(f"Nothing released: missing {', '.join(problems[:5])}"
                           f"{' and more' if len(problems) > 5 else ''}. Restore them "
                           "(grade verify checks the course) and release again.")
    return list(course.exercises)


def _write_release(course: Course, exercises: list[Exercise], into: Path, *, unlock: bool,
                   now: datetime) -> dict[str, int]:
    """Copy and write every file of the release; returns {relative path: size}."""
    written: dict[str, int] = {}

    def put(relative: str, content: bytes) -> None:
        path = into / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        written[relative] = len(content)

    def copy_tree(relative: str) -> None:
        source = course.root / relative
        if relative in INSTRUCTOR_ONLY or source.name in _JUNK or source.suffix == ".pyc":
            return
        if source.is_symlink():
            raise ReleaseError(f"{source} is a symbolic link; a release copies files only. "
                               "Replace it with the file it points to.")
        if source.is_dir():
            for child in sorted(source.iterdir()):
                copy_tree(f"{relative}/{child.name}")
        elif source.is_file():
            put(relative, source.read_bytes())

    for relative in SHIPPED:
        if (course.root / relative).exists():
            copy_tree(relative)
    for exercise in exercises:
        folder = exercise.folder.relative_to(course.root).as_posix()
        copy_tree(folder)
        meta = f"{folder}/.meta"
        put(f"{meta}/{exercise.original_stub_file.name}", exercise.stub_file.read_bytes())
        if unlock:
            put(f"{meta}/{exercise.locked_solution_file.name}",
                lock_solution(exercise, exercise.solution_file.read_bytes()))
    put(STUDENT_TESTS, (course.root / STUDENT_TESTS).read_bytes())
    readme = course.root / "README.md"
    if readme.is_file():
        put("README.md", student_readme(readme.read_text(encoding="utf-8")).encode())
    put(MARKER, _release_marker(course, unlock=unlock, now=now).encode())
    return written


def _release_marker(course: Course, *, unlock: bool, now: datetime) -> str:
    info = course.info
    title = info.title.replace("\\", "\\\\").replace('"', '\\"')
    return (
        "# A student release of the course, written by `grade release`. `grade` finds the\n"
        "# course by this file; kind = \"release\" tells it this copy has no solutions.\n"
        "format_version = 1\n"
        f'title = "{title}"\n'
        f'name = "{info.name}"\n'
        'kind = "release"\n'
        "\n[release]\n"
        f"unlock_solutions = {'true' if unlock else 'false'}\n"
        f'released_from = "async-grader {__version__}, {now:%Y-%m-%d %H:%M} UTC"\n'
        "\n[feedback]\n"
        f'detail = "{info.feedback}"  # "terse": failing checks say only what failed\n'
    )


def student_readme(text: str) -> str:
    """The instructor's README for students: no instructors' sections or CI markers.

    A note on what ``pytest`` checks in a release goes under the README's test command,
    and a section on handing in work goes at the end.
    """
    kept: list[str] = []
    skipping = False
    for line in text.splitlines():
        if line.startswith("## "):
            skipping = bool(_INSTRUCTOR_SECTION.match(line))
        if skipping or _CI_MARKER.match(line):
            continue
        kept.append(line)
    out = "\n".join(kept).rstrip("\n") + "\n"
    note = ("\nIn this student copy, `pytest` runs a short check that the course is complete "
            "and that\ngrading works on your machine (it grades an untouched stub, never "
            "your work).\n")
    test_block = '```\npip install -e ".[test]" && pytest\n```\n'
    if test_block in out:
        out = out.replace(test_block, test_block + note, 1)
    else:
        out += note
    return out + _HANDING_IN


_HANDING_IN = """
## Handing in your work

```
grade submit
```

packs the file you edited in each exercise (nothing else) into one zip named after the
course and you, in the layout your instructor's grader reads, and lists the exercises
whose file is still the untouched stub. `--out NAME.zip` chooses the name;
`--with-progress` adds your progress record (scores and hints used), if your
instructor asks for it.
"""


def _left_out(root: Path) -> tuple[str, ...]:
    """What of the instructor's copy is not in the release, for the command's report."""
    shipped_top = {p.split("/")[0] for p in SHIPPED} | {"exercises", "README.md", MARKER}
    left: list[str] = []
    for entry in sorted(root.iterdir()):
        name = entry.name
        if name in _NOT_WORTH_LISTING or name.endswith(".egg-info"):
            continue
        if name == "tests":
            left.append("tests/ (all but test_student_copy.py)")
        elif name not in shipped_top:
            left.append(name + ("/" if entry.is_dir() else ""))
    left += [p + ("/" if (root / p).is_dir() else "") for p in sorted(INSTRUCTOR_ONLY)
             if (root / p).exists()]
    return tuple(left)
