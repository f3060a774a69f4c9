"""Observations as the judge reads them: plain records with the methods checks call.

A hidden test's observations cross from the sandbox as JSON (:mod:`grader.engine.observed`);
the parent rebuilds them into these (:mod:`grader.supervision.judging`), shaped like the live
objects so the same ``expect_*`` helpers read either. The suite API exports them, and
nothing here runs or imports student code.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from grader.engine.fake_io import FakeIO
from grader.engine.simulation import Operation, _Unawaited
from grader.engine.virtual_loop import Violation

__all__ = ["FakeIORecord", "Repr", "SimulationRecord", "TaskRecord"]


@dataclass(frozen=True, eq=False)
class Repr:
    """A value that could not travel as itself: its type's name and the text of its repr.

    It equals nothing but itself, so a judge's ``expect_equal`` fails on it with the
    same "it returned ..." text the child printed.
    """

    type_name: str
    text: str

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__


@dataclass
class TaskRecord:
    """A task as it stood when observed; the methods checks call on an ``asyncio.Task``."""

    label: str
    is_done: bool = False
    was_cancelled: bool = False
    cancel_requests: int = 0

    def done(self) -> bool:
        return self.is_done

    def cancelled(self) -> bool:
        return self.was_cancelled

    def cancelling(self) -> int:
        return self.cancel_requests

    def get_name(self) -> str:
        return self.label


@dataclass
class SimulationRecord:
    """A ``Simulation`` as observed: what ``expect_*`` helpers read from ``sim``."""

    elapsed: float = 0.0
    started: float = 0.0  # loop time when the last run began
    now: float = 0.0  # loop time when observed
    budget: float | None = None
    operations: list[Operation] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    pending: list[TaskRecord] = field(default_factory=list)
    unawaited: list[_Unawaited] = field(default_factory=list)

    def pending_tasks(self) -> list[TaskRecord]:
        return list(self.pending)

    def pending_labels(self) -> list[str]:
        return [task.label for task in self.pending]

    def never_awaited(self) -> list[_Unawaited]:
        return list(self.unawaited)


@dataclass
class FakeIORecord:
    """A ``FakeIO`` as observed: its operations and how many were in flight at once."""

    operations: list[Operation] = field(default_factory=list)
    peak: int = 0
    in_flight: int = 0
    delays: dict[str, Any] = field(default_factory=dict)
    default_delay: float = 1.0

    expected = staticmethod(FakeIO.expected)

    def calls(self, label: str | None = None) -> list[Operation]:
        return [op for op in self.operations if label is None or op.label == label]

    def finished(self) -> list[Operation]:
        return [op for op in self.operations if op.end is not None]
