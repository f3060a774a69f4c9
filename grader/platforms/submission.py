"""Finding a student's modules in whatever folder a platform hands over.

Platforms differ in what a submission looks like: Gradescope unpacks an upload (single
files, a zip, a GitHub repository) into ``/autograder/submission``, PrairieLearn copies
the files its editor or upload element took into ``/grade/student``, GitHub Classroom
checks out the student's repository, Exercism passes the solution folder. Every one
of them is read with ``grade bulk``'s intake (:mod:`grader.bulk.intake`), so the same
rules apply everywhere: each exercise's module is found by its file name, flat or in
the course layout at any depth, symbolic links, hard links and special files are
refused, sizes are capped, and only module files are taken (test files, conftest
files and the like never reach a grading). A zip that was handed in unopened (a
folder holding nothing but ``work.zip``) is read the same way, without extracting it.

The intake reads one student's *entry* inside a folder of entries; a platform's
submission folder is exactly such an entry, so it is read through the intake's entry
reader with the folder's parent as the folder of entries.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.bulk import intake
from grader.bulk.intake import IntakeLimits, ModuleFile, Submission
from grader.course import Exercise

__all__ = ["Found", "find_modules"]


@dataclass(frozen=True)
class Found:
    """What a submission holds for the graded exercises."""

    modules: dict[str, ModuleFile] = field(default_factory=dict)  # by Exercise.name
    missing: dict[str, str] = field(default_factory=dict)  # Exercise.name -> why not graded
    remarks: tuple[str, ...] = ()  # about the submission as a whole: problems, ignored files


def find_modules(submission: Path, exercises: Sequence[Exercise], *,
                 course_exercises: Sequence[Exercise] | None = None,
                 limits: IntakeLimits | None = None) -> Found:
    """The student's module for each of ``exercises`` in the folder ``submission``."""
    limits = limits or IntakeLimits()
    known = list(course_exercises or exercises)
    entry = _read(submission, known, exercises, limits)
    if not entry.modules and not entry.rejected:
        # Handed in as an unopened zip: read the zips at the top of the folder instead.
        for archive in _top_level_zips(submission):
            from_zip = _read(archive, known, exercises, limits)
            if from_zip.modules or from_zip.rejected:
                entry = from_zip
                break
    missing = dict(entry.rejected)
    for exercise in exercises:
        if exercise.name not in entry.modules and exercise.name not in missing:
            missing[exercise.name] = _not_found(exercise)
    return Found(modules=dict(entry.modules), missing=missing,
                 remarks=(*(f"The submission {p}" for p in entry.problems), *entry.flags))


def _read(path: Path, known: list[Exercise], exercises: Sequence[Exercise],
          limits: IntakeLimits) -> Submission:
    path = path.absolute()
    folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
    try:
        # The intake's entry reader: one entry (this folder or zip) of a folder of entries.
        return intake._read_entry(folder, path.name, known, {e.name for e in exercises},
                                  limits)
    finally:
        os.close(folder)


def _top_level_zips(folder: Path) -> list[Path]:
    try:
        with os.scandir(folder) as listing:
            return sorted(Path(e.path) for e in listing
                          if e.name.lower().endswith(".zip") and e.is_file(follow_symlinks=False))
    except OSError:
        return []


def _not_found(exercise: Exercise) -> str:
    module = exercise.meta.module
    return (f"No {module} was found in your submission. Hand in a file named exactly "
            f"{module} (on its own, or at exercises/{exercise.name}/{module}).")
