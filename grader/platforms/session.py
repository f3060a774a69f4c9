"""Grading one platform submission: each exercise with the engine, reporting as it goes.

Platforms give a grading job one overall time limit (Gradescope 10 minutes by default,
PrairieLearn 30 seconds, Exercism 20 seconds) and keep only what was written when it
ran out. So :func:`grade_submission` calls back with a complete :class:`Run` before
the first exercise and after every one: exercises not reached yet are placeholders
that say so (:func:`not_graded`), and a document written from any of these runs is
valid and truthful on its own.

Every exercise goes through :func:`grader.supervision.runner.grade_file` with ``sandbox="auto"``:
a platform's container may lack bubblewrap or block user namespaces, and grading
must still happen there, with the protections that could not be applied named in the
result's notes (which every platform shows). One warm sandbox serves all of a
submission's exercises (:func:`grader.supervision.sandbox.shared_cells`), as in ``grade bulk``.

Nothing here raises for a bad submission: a missing module, or a grader failure on
one exercise, is that exercise's result (every check an error with the reason), and
the other exercises are still graded.
"""

from __future__ import annotations

import dataclasses
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path

from grader.course.course import Exercise
from grader.engine.feedback import Feedback
from grader.platforms.base import Run
from grader.platforms.submission import Found, find_modules
from grader.supervision.results import CheckResult, GradeResult

__all__ = ["grade_submission", "not_graded", "unavailable"]

_OWNER = "platform-submission"


def grade_submission(exercises: Sequence[Exercise], submission: Path, *,
                     time_limit: float | None = None,
                     on_progress: Callable[[Run], None] | None = None) -> Run:
    """Grade the student's module for each of ``exercises`` found in ``submission``."""
    from grader.supervision.runner import grade_file
    from grader.supervision.sandbox import shared_cells

    started = time.perf_counter()
    found = find_modules(submission, exercises)
    results = [not_graded(e) for e in exercises]

    def run(finished: bool) -> Run:
        return Run(results=tuple(results), elapsed=time.perf_counter() - started,
                   finished=finished, remarks=found.remarks)

    if on_progress is not None:
        on_progress(run(finished=not exercises))
    with shared_cells(keep=1):
        for index, exercise in enumerate(exercises):
            results[index] = _grade_one(exercise, found, time_limit, grade_file)
            if on_progress is not None:
                on_progress(run(finished=index == len(exercises) - 1))
    return run(finished=True)


def _grade_one(exercise: Exercise, found: Found, time_limit: float | None,
               grade_file: Callable[..., GradeResult]) -> GradeResult:
    module = found.modules.get(exercise.name)
    if module is None:
        why = found.missing.get(exercise.name, "No module was found for this exercise.")
        return unavailable(exercise, Feedback(why, next_step="Check the file's name and "
                                              "submit again."))
    try:
        with tempfile.TemporaryDirectory(prefix="platform-") as tmp:
            path = Path(tmp) / exercise.meta.module
            path.write_bytes(module.content)
            result = grade_file(exercise, path, time_limit=time_limit, sandbox="auto",
                                owner=_OWNER)
    except Exception as exc:  # one exercise the grader could not grade; the rest still run
        traceback.print_exc(file=sys.stderr)
        return unavailable(exercise, Feedback(
            f"The grader could not grade this exercise ({type(exc).__name__}: {exc}).",
            next_step="This is not your code's fault: tell your instructor."))
    return dataclasses.replace(result, graded_file=module.origin)


def not_graded(exercise: Exercise) -> GradeResult:
    """The placeholder for an exercise the grading has not reached (yet)."""
    return unavailable(exercise, Feedback(
        "Not graded: the grading stopped before reaching this exercise (usually the "
        "platform's time limit).",
        next_step="Your other results stand. Submit again, and tell your instructor if "
                  "this repeats."))


def unavailable(exercise: Exercise, feedback: Feedback) -> GradeResult:
    """Every check of ``exercise`` as an error with no points, all with ``feedback``."""
    meta = exercise.meta
    checks = tuple(
        CheckResult(name=c.name, title=c.title, task=c.task, status="error", points=0,
                    max_points=c.points, feedback=feedback)
        for c in meta.checks)
    return GradeResult(exercise=exercise.name, title=meta.title, graded_file="",
                       checks=checks, duration=0.0)
