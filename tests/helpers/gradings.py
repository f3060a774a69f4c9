"""Each exercise's stub, solution and variants, graded once per test session.

tests/test_exercises.py judges these results as `grade verify` does, and
tests/test_determinism.py grades the same files again with every core busy and compares:
the idle gradings are shared, so no file is graded idle twice.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.course.course import Exercise
from grader.supervision.results import GradeResult
from grader.supervision.runner import grade_file
from grader.supervision.sandbox import shared_cells
from grader.verify import Grading, plan_verification


class CourseGradings:
    """Idle gradings by exercise, made the first time an exercise is asked for."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._done: dict[str, tuple[list[str], list[tuple[Grading, GradeResult]]]] = {}
        self._lock = threading.Lock()

    def of(self, exercise: Exercise) -> tuple[list[str], list[tuple[Grading, GradeResult]]]:
        """(static problems, [(grading, idle result)]) for one exercise."""
        with self._lock:
            if exercise.name not in self._done:
                copies = self._folder / exercise.name
                copies.mkdir()
                problems, gradings = plan_verification(exercise, copies)
                self._done[exercise.name] = (problems, list(zip(
                    gradings, grade_all([(g.exercise, g.path) for g in gradings]),
                    strict=True)))
            return self._done[exercise.name]


def grade_all(jobs: list[tuple[Exercise, Path]]) -> list[GradeResult]:
    with shared_cells(), ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(lambda job: grade_file(*job, owner="course"), jobs))
