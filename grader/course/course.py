"""Finding the course and its exercises, and resolving what a student typed to one.

A course is the folder that holds ``course.toml`` (:data:`MARKER`): its title, format
version, and whether it is the instructor's copy or a student release. The course a
command acts on is, in order: ``--course PATH``, ``$GRADER_COURSE``, else the nearest
folder at or above the current directory holding the marker. There is deliberately no
other fallback: the grader once fell back to the checkout it was installed from, and a
student with two checkouts then graded the wrong file without a word. Explicit paths
(the option and the variable) may also name an unmarked folder with ``exercises/``,
taken as an instructor's copy, so older checkouts and test courses keep working.

``grade exercise-03``, ``grade 03``, ``grade 3`` and ``grade concurrent-fetch`` all name
the same exercise; anything else gets the closest names suggested.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

from grader.course.metadata import ExerciseMeta, load_metadata
from grader.errors import GraderError, MetadataError, MissingFileError, UnknownExerciseError

__all__ = [
    "COURSE_ENV", "COURSE_FORMAT_VERSION", "MARKER", "Course", "CourseInfo", "Exercise",
    "NoCourseError", "course_line", "find_course", "load_course_info",
]

_FOLDER = re.compile(r"^exercise-(\d{2})-([a-z0-9-]+)$")
COURSE_ENV = "GRADER_COURSE"
MARKER = "course.toml"
COURSE_FORMAT_VERSION = 1
ORIGINAL_SUFFIX = ".orig"  # a release's pristine stub: .meta/<module>.orig
LOCKED_SOLUTION = "solution.locked"  # a release's locked reference solution, in .meta/

Kind = Literal["instructor", "release"]


class NoCourseError(MissingFileError):
    """Raised when no course is found around the current directory or at the given path."""


@dataclass(frozen=True)
class CourseInfo:
    """What ``course.toml`` says. An unmarked course (explicit path only) gets the defaults."""

    title: str = "async-grader course"
    name: str = "course"  # short, for file names: "<name>-<user>.zip"
    kind: Kind = "instructor"
    unlock_solutions: bool = False  # [release] unlock_solutions
    released_from: str = ""  # [release] released_from, in a student release
    format_version: int = COURSE_FORMAT_VERSION
    feedback: str = "full"  # [feedback] detail: "full", or "terse" (only what failed)

    @property
    def is_release(self) -> bool:
        return self.kind == "release"


def load_course_info(path: Path) -> CourseInfo:
    """Read and check ``course.toml``; a bad or newer file is refused with the field named."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise GraderError(f"Can't read {path} ({exc.strerror}).") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise GraderError(f"{path} is not valid TOML ({exc}). Fix the file and try again.") \
            from None
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool):
        raise MetadataError(path, "format_version", "must be a whole number")
    if version > COURSE_FORMAT_VERSION:
        raise GraderError(
            f"{path} has format_version {version}, newer than this grader reads "
            f"({COURSE_FORMAT_VERSION}). Upgrade the grader: pip install -e . in the course.")
    title = _string(data, "title", path)
    name = data.get("name", _slug(title))
    if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
        raise MetadataError(path, "name", "must be lower-case letters, digits and dashes")
    kind = data.get("kind")
    if kind not in ("instructor", "release"):
        raise MetadataError(path, "kind", 'must be "instructor" or "release"')
    release: Any = data.get("release", {})
    if not isinstance(release, dict):
        raise MetadataError(path, "release", "must be a table ([release])")
    unlock = release.get("unlock_solutions", False)
    if not isinstance(unlock, bool):
        raise MetadataError(path, "release.unlock_solutions", "must be true or false")
    released_from = release.get("released_from", "")
    if not isinstance(released_from, str):
        raise MetadataError(path, "release.released_from", "must be a string")
    feedback: Any = data.get("feedback", {})
    if not isinstance(feedback, dict):
        raise MetadataError(path, "feedback", "must be a table ([feedback])")
    detail = feedback.get("detail", "full")
    if detail not in ("full", "terse"):  # grader.render.feedback_detail.DETAILS
        raise MetadataError(path, "feedback.detail", 'must be "full" or "terse"')
    return CourseInfo(title=title, name=name, kind=kind, unlock_solutions=unlock,
                      released_from=released_from, format_version=version, feedback=detail)


def _string(data: dict[str, Any], key: str, path: Path) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise MetadataError(path, key, "must be a non-empty string")
    return value.strip()


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "course"


@dataclass(frozen=True)
class Exercise:
    number: int
    slug: str  # "concurrent-fetch"
    folder: Path  # exercises/exercise-03-concurrent-fetch
    course_root: Path

    @property
    def name(self) -> str:
        return self.folder.name

    @property
    def short_name(self) -> str:
        return f"exercise-{self.number:02d}"

    @property
    def meta_dir(self) -> Path:
        return self.folder / ".meta"

    @cached_property
    def meta(self) -> ExerciseMeta:
        return load_metadata(self.meta_dir / "exercise.toml")

    @property
    def suite_file(self) -> Path:
        return self.meta_dir / f"test_{Path(self.meta.module).stem}.py"

    @property
    def stub_file(self) -> Path:
        return self.folder / self.meta.module

    @property
    def solution_file(self) -> Path:
        return self.course_root / "solutions" / self.name / self.meta.module

    @property
    def readme(self) -> Path:
        return self.folder / "README.md"

    @property
    def original_stub_file(self) -> Path:
        """The pristine stub a student release carries (no git needed for ``grade reset``)."""
        return self.meta_dir / (self.meta.module + ORIGINAL_SUFFIX)

    @property
    def locked_solution_file(self) -> Path:
        """A release's locked reference solution (``grade release --unlock-solutions``)."""
        return self.meta_dir / LOCKED_SOLUTION


@dataclass(frozen=True)
class Course:
    root: Path
    found_by: str = field(default="", compare=False)  # "--course", "$GRADER_COURSE", ...

    @cached_property
    def info(self) -> CourseInfo:
        marker = self.root / MARKER
        return load_course_info(marker) if marker.is_file() else CourseInfo()

    @property
    def is_release(self) -> bool:
        return self.info.is_release

    @cached_property
    def exercises(self) -> tuple[Exercise, ...]:
        top = self.root / "exercises"
        if not top.is_dir():
            raise MissingFileError(f"The course {self.root} has no exercises/ folder. "
                                   "Download the course again, or point --course at it.")
        found = []
        for folder in sorted(top.iterdir()):
            match = _FOLDER.match(folder.name)
            if match and folder.is_dir():
                found.append(Exercise(int(match[1]), match[2], folder, self.root))
        return tuple(found)

    def resolve(self, name: str) -> Exercise:
        wanted = name.strip().lower().rstrip("/")
        wanted = wanted.removeprefix("exercises/")
        number = None
        if wanted.isdigit():
            number = int(wanted)
        elif m := re.fullmatch(r"(?:exercise|ex)-?(\d+)", wanted):
            number = int(m[1])
        for exercise in self.exercises:
            if number is not None and exercise.number == number:
                return exercise
            if wanted in (exercise.name, exercise.slug):
                return exercise
        names = [e.short_name for e in self.exercises] + [e.slug for e in self.exercises]
        close = difflib.get_close_matches(wanted, names, n=3, cutoff=0.5)
        raise UnknownExerciseError(name, close)


def course_line(course: Course) -> str:
    """One line naming the course a command acts on, so two checkouts are never confused."""
    root = str(course.root)
    home = str(Path.home())
    if root == home or root.startswith(home + os.sep):
        root = "~" + root[len(home):]
    kind = "student copy" if course.is_release else "instructor's copy"
    found = f", chosen by {course.found_by}" if course.found_by.startswith(("-", "$")) else ""
    return f"Course: {root} ({course.info.title}, {kind}{found})"


def _is_marked(path: Path) -> bool:
    return (path / MARKER).is_file()


def find_course(start: Path | None = None, *, explicit: Path | None = None) -> Course:
    """The course to act on: ``explicit`` (--course), $GRADER_COURSE, else around ``start``.

    ``start`` defaults to the current directory; the walk goes up from it to the first
    folder holding ``course.toml``.
    """
    if explicit is not None:
        return _explicit_course(explicit, "--course", "--course PATH")
    env = os.environ.get(COURSE_ENV)
    if env:
        return _explicit_course(Path(env), f"${COURSE_ENV}", f"{COURSE_ENV}={env}")
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _is_marked(candidate):
            return Course(candidate, found_by="the current directory")
    raise NoCourseError(
        f"No course here: neither {here} nor a folder above it has a {MARKER}. "
        "cd into the course folder (the one with course.toml), or pass --course PATH."
    )


def _explicit_course(path: Path, source: str, shown: str) -> Course:
    root = path.expanduser()
    if _is_marked(root) or (root / "exercises").is_dir():
        return Course(root.resolve(), found_by=source)
    raise NoCourseError(
        f"{shown}: {root} is not a course (it has no {MARKER} and no exercises/ folder). "
        "Point it at the course folder."
    )
