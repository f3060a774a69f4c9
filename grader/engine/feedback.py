"""What a failed check tells a student: what happened, the misconception, the next step.

Hidden suites raise :class:`CheckFailed` (usually through :func:`grader.suite.fail`)
instead of bare ``assert`` so the student reads a teaching message, never an assertion
dump or the hidden test's source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, NoReturn

__all__ = ["CheckFailed", "Feedback", "fail"]


@dataclass(frozen=True)
class Feedback:
    """The three parts of a teaching message; only ``what`` is required."""

    what: str
    misconception: str = ""
    next_step: str = ""

    def to_dict(self) -> dict[str, str]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Feedback:
        return cls(
            what=str(data.get("what", "")),
            misconception=str(data.get("misconception", "")),
            next_step=str(data.get("next_step", "")),
        )


class CheckFailed(AssertionError):
    """Raised when student code behaves wrongly; carries the teaching message."""

    def __init__(self, feedback: Feedback) -> None:
        super().__init__(feedback.what)
        self.feedback = feedback


def fail(what: str, *, misconception: str = "", next_step: str = "") -> NoReturn:
    """Fail the current check with a message written for the student."""
    raise CheckFailed(Feedback(what, misconception, next_step))
