"""Known-wrong variants and alternative correct solutions kept as test fixtures.

Each exercise may have ``tests/fixtures/exercises/<exercise>/variants.toml``::

    [[wrong]]
    file = "wrong/sequential_awaits.py"
    fails = ["fetches_run_concurrently"]      # exactly these checks fail
    message = "one after another"            # ...and each says this (case-insensitive)

    [[correct]]
    file = "alternatives/create_task.py"      # must score full marks

``grade verify`` and the project's tests both read this one file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from grader.course.course import Exercise
from grader.errors import MetadataError

__all__ = ["Variant", "load_variants", "variants_dir"]


@dataclass(frozen=True)
class Variant:
    file: Path
    expect_full_marks: bool
    fails: frozenset[str] = frozenset()
    message: str = ""

    @property
    def label(self) -> str:
        return f"{self.file.parent.name}/{self.file.name}"


def variants_dir(exercise: Exercise) -> Path:
    return exercise.course_root / "tests" / "fixtures" / "exercises" / exercise.name


def load_variants(exercise: Exercise) -> list[Variant]:
    path = variants_dir(exercise) / "variants.toml"
    if not path.is_file():
        return []
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise MetadataError(path, "(file)", f"is not valid TOML ({exc})") from None
    found = []
    for i, raw in enumerate(data.get("wrong", [])):
        fails = raw.get("fails")
        if not isinstance(fails, list) or not fails:
            raise MetadataError(path, f"wrong[{i}].fails", "must list the checks it fails")
        found.append(Variant(path.parent / raw["file"], False, frozenset(fails),
                             str(raw.get("message", ""))))
    for raw in data.get("correct", []):
        found.append(Variant(path.parent / raw["file"], True))
    return found
