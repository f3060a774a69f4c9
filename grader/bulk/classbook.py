"""The class's results as plain data: every student, every exercise, in one structure.

Assembled from what was handed in (:mod:`grader.bulk.intake`) and what the gradebook
holds for exactly those files, so every export (CSV, JSON, HTML) reads the same answer
and none of them touches SQLite or the submissions folder.

Each student-exercise is in one of four states:

* ``graded``: a verdict is recorded for the file handed in;
* ``not submitted``: the entry was readable but held no module for this exercise
  (scores 0: nothing was handed in);
* ``rejected``: the entry or this module could not be used (an unreadable zip, a file
  over the size cap); no score, the instructor decides;
* ``not graded``: the run was interrupted before this grading, or the grader itself
  failed on it; run ``grade bulk`` again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from grader.bulk.gradebook import Gradebook, GradingKey, suite_hash
from grader.bulk.intake import Submission
from grader.course.course import Exercise
from grader.course.metadata import Check
from grader.supervision.results import GradeResult

__all__ = ["STATES", "ClassResults", "ExerciseInfo", "ExerciseOutcome", "StudentRecord",
           "collect_results"]

STATES = ("graded", "not submitted", "rejected", "not graded")


@dataclass(frozen=True)
class ExerciseInfo:
    name: str  # exercise-03-concurrent-fetch
    short_name: str  # exercise-03
    title: str
    module: str
    max_score: int
    checks: tuple[Check, ...]
    suite_hash: str


@dataclass(frozen=True)
class ExerciseOutcome:
    exercise: str
    state: str  # one of STATES
    result: GradeResult | None = None
    origin: str = ""  # where in the submission the graded file came from
    file_hash: str = ""
    seconds: float = 0.0  # real time of the grading (0 for a reused verdict)
    reused_from: str | None = None
    reason: str = ""  # for rejected and not graded
    unchanged_stub: bool = False  # byte-for-byte the pristine stub (grader.bulk.pristine)
    graded_at: str = ""  # UTC, ISO 8601, when the verdict was recorded

    @property
    def score(self) -> int | None:
        """Points, 0 when nothing was handed in, None when there is no grade to give."""
        if self.result is not None:
            return self.result.score
        return 0 if self.state == "not submitted" else None


@dataclass(frozen=True)
class StudentRecord:
    student: str
    source: str
    outcomes: tuple[ExerciseOutcome, ...]  # in the order of ClassResults.exercises
    problems: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()

    @property
    def total(self) -> int | None:
        scores = [o.score for o in self.outcomes]
        known = [s for s in scores if s is not None]
        return sum(known) if known else None

    def outcome(self, exercise: str) -> ExerciseOutcome:
        return next(o for o in self.outcomes if o.exercise == exercise)


@dataclass(frozen=True)
class ClassResults:
    exercises: tuple[ExerciseInfo, ...]
    students: tuple[StudentRecord, ...]
    wall_seconds: float = 0.0  # real time of the run that produced this

    @property
    def max_total(self) -> int:
        return sum(e.max_score for e in self.exercises)

    @property
    def complete(self) -> bool:
        return all(o.state != "not graded" for s in self.students for o in s.outcomes)


def collect_results(submissions: Sequence[Submission], exercises: Sequence[Exercise],
                    gradebook: Gradebook, *, suite_hashes: Mapping[str, str] | None = None,
                    failed: Mapping[tuple[str, str], str] | None = None,
                    wall_seconds: float = 0.0,
                    stub_hashes: Mapping[str, frozenset[str]] | None = None) -> ClassResults:
    """The class's results for the files in ``submissions`` as the gradebook has them.

    ``suite_hashes`` are the ones the run planned with (default: computed now), so a
    suite edited during the run does not hide the run's own verdicts. ``failed`` maps
    (student, exercise name) to why the grader could not grade it. ``stub_hashes``
    are the SHA-256s of each exercise's pristine stub (default: found now by
    :mod:`grader.bulk.pristine`, never from the working copy, which may be solved).
    """
    failed = failed or {}
    hashes = suite_hashes or {}
    infos = tuple(
        ExerciseInfo(e.name, e.short_name, e.meta.title, e.meta.module, e.meta.max_score,
                     e.meta.checks, hashes.get(e.name) or suite_hash(e))
        for e in exercises
    )
    if stub_hashes is None:
        from grader.bulk.pristine import pristine_stubs

        stub_hashes = {name: stub.hashes for name, stub in pristine_stubs(exercises).items()}
    stubs = {e.name: stub_hashes.get(e.name, frozenset()) for e in exercises}
    students = []
    for submission in submissions:
        outcomes = []
        for exercise, info in zip(exercises, infos, strict=True):
            outcomes.append(_outcome(submission, exercise, info, gradebook, stubs[exercise.name],
                                     failed.get((submission.student, exercise.name))))
        students.append(StudentRecord(submission.student, submission.source, tuple(outcomes),
                                      submission.problems, submission.flags))
    return ClassResults(infos, tuple(students), wall_seconds)


def _outcome(submission: Submission, exercise: Exercise, info: ExerciseInfo,
             gradebook: Gradebook, stub_hashes: frozenset[str],
             failure: str | None) -> ExerciseOutcome:
    name = exercise.name
    if submission.problems:
        return ExerciseOutcome(name, "rejected", reason="; ".join(submission.problems))
    if name in submission.rejected:
        return ExerciseOutcome(name, "rejected", reason=submission.rejected[name])
    module = submission.modules.get(name)
    if module is None:
        return ExerciseOutcome(name, "not submitted")
    unchanged = module.sha256 in stub_hashes
    recorded = gradebook.find(GradingKey(submission.student, name, module.sha256,
                                         info.suite_hash))
    if recorded is None:
        reason = (f"the grader failed: {failure}" if failure else
                  "not graded yet (the run was interrupted); run grade bulk again")
        return ExerciseOutcome(name, "not graded", origin=module.origin,
                               file_hash=module.sha256, reason=reason,
                               unchanged_stub=unchanged)
    return ExerciseOutcome(name, "graded", recorded.result, module.origin, module.sha256,
                           recorded.seconds, recorded.reused_from, unchanged_stub=unchanged,
                           graded_at=recorded.graded_at)
