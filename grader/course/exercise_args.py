"""What a student typed to name an exercise: a name, a path, or nothing at all.

``grade 3``, ``grade exercise-03`` and ``grade concurrent-fetch`` are names
(:meth:`grader.course.course.Course.resolve`). A shell's tab completion gives paths instead,
``exercises/exercise-03-concurrent-fetch/fetcher.py`` or the folder, so a path to an
exercise's module or folder (relative to the current directory or absolute) names that
exercise too. Nothing at all, for ``hint``, ``watch`` and ``reset``, means the
student's current exercise: the one the overview's "Next" line names.
"""

from __future__ import annotations

import os
from pathlib import Path

from grader.course.course import Course, Exercise
from grader.errors import GraderError, UnknownExerciseError

__all__ = ["exercise_from_argument", "looks_like_path"]


def looks_like_path(argument: str) -> bool:
    """A separator or a ``.py`` ending: no exercise name has either."""
    return os.sep in argument or "/" in argument or argument.endswith(".py")


def exercise_from_argument(course: Course, argument: str, *, cwd: Path | None = None) -> Exercise:
    """The exercise ``argument`` names, as a name or as a path to its module or folder."""
    try:
        return course.resolve(argument)
    except UnknownExerciseError:
        if not looks_like_path(argument):
            raise
    typed = Path(argument).expanduser()
    # From the current directory, as the shell completed it; else from the course's.
    for base in dict.fromkeys([cwd or Path.cwd(), course.root]):
        path = Path(os.path.realpath(base / typed))
        for exercise in course.exercises:
            folder = Path(os.path.realpath(exercise.folder))
            if path == folder:
                return exercise
            if folder in path.parents:
                if path == Path(os.path.realpath(exercise.stub_file)):
                    return exercise
                raise GraderError(
                    f"{argument} is not {exercise.short_name}'s exercise file "
                    f"({exercise.meta.module}). To grade it anyway: "
                    f"grade {exercise.short_name} --file {argument}")
    raise GraderError(
        f"{argument} is not an exercise of this course ({course.root}). Name one "
        "(grade exercise-03, grade 3) or give its file's path; to grade another file: "
        f"grade NN --file {argument}")
