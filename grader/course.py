"""Finding the course and its exercises, and resolving what a student typed to one.

``grade exercise-03``, ``grade 03``, ``grade 3`` and ``grade concurrent-fetch`` all name
the same exercise; anything else gets the closest names suggested.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from grader.errors import GraderError, MissingFileError, UnknownExerciseError
from grader.metadata import ExerciseMeta, load_metadata

__all__ = ["Course", "Exercise", "find_course"]

_FOLDER = re.compile(r"^exercise-(\d{2})-([a-z0-9-]+)$")
COURSE_ENV = "GRADER_COURSE"


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


@dataclass(frozen=True)
class Course:
    root: Path

    @cached_property
    def exercises(self) -> tuple[Exercise, ...]:
        found = []
        for folder in sorted((self.root / "exercises").iterdir()):
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


def _looks_like_course(path: Path) -> bool:
    return (path / "exercises").is_dir() and (path / "solutions").is_dir()


def find_course(start: Path | None = None) -> Course:
    """The course folder: $GRADER_COURSE, else the nearest one above the cwd, else ours."""
    env = os.environ.get(COURSE_ENV)
    if env:
        root = Path(env).expanduser()
        if not (root / "exercises").is_dir():
            raise GraderError(
                f"{COURSE_ENV}={env} has no exercises/ folder. Point it at the course."
            )
        return Course(root.resolve())
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if _looks_like_course(candidate):
            return Course(candidate)
    bundled = Path(__file__).resolve().parent.parent
    if _looks_like_course(bundled):
        return Course(bundled)
    raise MissingFileError(
        "Can't find the course (a folder with exercises/ and solutions/). "
        f"Run grade inside it or set {COURSE_ENV}."
    )
