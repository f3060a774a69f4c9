"""The course at a glance, as plain data: each exercise's status, mastery per concept, next.

Built from the record's attempt scores and hints (see :mod:`grader.state.progress_store`) and
the course's metadata, and rendered twice: in the terminal (:mod:`grader.render.overview`) and
in the HTML report (:mod:`grader.render.report_html`). Kept free of any rendering so an
instructor's tool can build one per student and render them in bulk.

What counts: only gradings of the student's own stub (``grade exercise-03``). A file
graded with ``--file`` is kept in the history, tagged with its path, but does not make
an exercise "done": a passing reference or borrowed file would say nothing about the
student's own exercise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from grader.course.course import Course
from grader.state.progress_store import AttemptScore

__all__ = ["STATUSES", "ConceptMastery", "CourseProgress", "ExerciseProgress", "build_progress"]

STATUSES = ("done", "in progress", "not started")


@dataclass(frozen=True)
class ExerciseProgress:
    exercise: str  # folder name: exercise-03-concurrent-fetch
    short_name: str  # exercise-03: what the student types
    title: str
    concepts: tuple[str, ...]
    status: str  # one of STATUSES
    best_score: int | None  # None until the stub has been graded
    max_score: int
    attempts: int  # gradings of the stub
    last_graded_at: str | None  # ISO 8601, UTC
    hints_seen: tuple[str, ...]  # texts of the hints shown, in the order shown
    hints_total: int

    @property
    def best_fraction(self) -> float:
        if not self.best_score or not self.max_score:
            return 0.0
        return self.best_score / self.max_score

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExerciseProgress:
        fields = dict(data)
        fields["concepts"] = tuple(fields["concepts"])
        fields["hints_seen"] = tuple(fields["hints_seen"])
        return cls(**fields)


@dataclass(frozen=True)
class ConceptMastery:
    """How much of a concept's points the student has earned, over the exercises using it."""

    concept: str
    fraction: float  # best scores' points over all points, across those exercises
    done: int  # exercises with this concept that are done
    started: int  # exercises with this concept graded at least once (done included)
    total: int  # exercises with this concept

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConceptMastery:
        return cls(**data)


@dataclass(frozen=True)
class CourseProgress:
    exercises: tuple[ExerciseProgress, ...]  # course order
    concepts: tuple[ConceptMastery, ...]  # in order of first appearance in the course

    @property
    def done(self) -> int:
        return sum(e.status == "done" for e in self.exercises)

    @property
    def total(self) -> int:
        return len(self.exercises)

    @property
    def next_exercise(self) -> ExerciseProgress | None:
        """Where to carry on: the exercise last worked on, if it isn't done yet, else the
        first one in course order that isn't done (a student who skipped ahead is not
        sent back, but nothing is forgotten once the current one is done)."""
        started = [e for e in self.exercises if e.status == "in progress"]
        if started:
            return max(started, key=lambda e: e.last_graded_at or "")
        return next((e for e in self.exercises if e.status != "done"), None)

    def to_dict(self) -> dict[str, Any]:
        nxt = self.next_exercise
        return {
            "done": self.done,
            "total": self.total,
            "next_exercise": nxt.short_name if nxt else None,
            "exercises": [e.to_dict() for e in self.exercises],
            "concepts": [c.to_dict() for c in self.concepts],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CourseProgress:
        return cls(
            exercises=tuple(ExerciseProgress.from_dict(e) for e in data["exercises"]),
            concepts=tuple(ConceptMastery.from_dict(c) for c in data["concepts"]),
        )


def build_progress(
    course: Course,
    scores: Sequence[AttemptScore],
    hints_seen: Mapping[str, Sequence[int]],
) -> CourseProgress:
    """Summarise ``scores`` (every recorded attempt) and ``hints_seen`` for ``course``."""
    stub_scores: dict[str, list[AttemptScore]] = {}
    for score in scores:
        if score.source == "stub":
            stub_scores.setdefault(score.exercise, []).append(score)

    exercises = []
    for exercise in course.exercises:
        meta = exercise.meta
        mine = stub_scores.get(exercise.name, [])
        best = max(mine, key=lambda s: (s.score / s.max_score if s.max_score else 0.0, s.id),
                   default=None)
        if any(s.all_passed for s in mine):
            status = "done"
        elif mine:
            status = "in progress"
        else:
            status = "not started"
        seen = [i for i in hints_seen.get(exercise.name, ()) if 0 <= i < len(meta.hints)]
        exercises.append(ExerciseProgress(
            exercise=exercise.name,
            short_name=exercise.short_name,
            title=meta.title,
            concepts=meta.concepts,
            status=status,
            # Scaled to today's points, in case the exercise's checks changed since.
            best_score=(None if best is None else
                        round(best.score / best.max_score * meta.max_score)
                        if best.max_score else 0),
            max_score=meta.max_score,
            attempts=len(mine),
            last_graded_at=mine[-1].graded_at if mine else None,
            hints_seen=tuple(meta.hints[i].text for i in seen),
            hints_total=len(meta.hints),
        ))
    return CourseProgress(tuple(exercises), _mastery(exercises))


def _mastery(exercises: Sequence[ExerciseProgress]) -> tuple[ConceptMastery, ...]:
    by_concept: dict[str, list[ExerciseProgress]] = {}
    for exercise in exercises:
        for concept in exercise.concepts:
            by_concept.setdefault(concept, []).append(exercise)
    mastery = []
    for concept, using in by_concept.items():
        possible = sum(e.max_score for e in using)
        earned = sum(e.best_score or 0 for e in using)
        mastery.append(ConceptMastery(
            concept=concept,
            fraction=earned / possible if possible else 0.0,
            done=sum(e.status == "done" for e in using),
            started=sum(e.attempts > 0 for e in using),
            total=len(using),
        ))
    return tuple(mastery)
