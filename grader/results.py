"""Grading results as plain data: what the CLI prints, --json emits and reports store.

A submission that cannot run is a result state (every check errored or timed out with
the reason), never an exception escaping to the caller.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from grader.feedback import Feedback

__all__ = ["STATUSES", "CheckResult", "GradeResult"]

STATUSES = ("passed", "failed", "error", "timed out")


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    task: int
    status: str
    points: int
    max_points: int
    feedback: Feedback | None = None
    traceback: str = ""
    duration: float = 0.0
    sim_elapsed: float | None = None
    timeline: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feedback"] = self.feedback.to_dict() if self.feedback else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        fields = dict(data)
        feedback = fields.pop("feedback", None)
        return cls(**fields, feedback=Feedback.from_dict(feedback) if feedback else None)


@dataclass(frozen=True)
class GradeResult:
    exercise: str
    title: str
    graded_file: str
    checks: tuple[CheckResult, ...]
    duration: float
    notes: tuple[str, ...] = field(default=())

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> int:
        return sum(c.max_points for c in self.checks)

    @property
    def all_passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "graded_file": self.graded_file,
            "score": self.score,
            "max_score": self.max_score,
            "all_passed": self.all_passed,
            "duration": round(self.duration, 4),
            "notes": list(self.notes),
            "checks": [c.to_dict() for c in self.checks],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradeResult:
        return cls(
            exercise=data["exercise"],
            title=data["title"],
            graded_file=data["graded_file"],
            checks=tuple(CheckResult.from_dict(c) for c in data["checks"]),
            duration=float(data.get("duration", 0.0)),
            notes=tuple(data.get("notes", ())),
        )
