"""How much a failing check says: ``full`` (what, why, what next) or ``terse`` (what).

Practice wants the whole teaching message. For graded work an instructor may want the
student to find the next step alone, so ``course.toml``'s ``[feedback] detail`` (or
``grade --feedback terse``) keeps only what failed: the misconception and the next step
are dropped from the result itself, before it is printed, written as JSON, recorded or
put in a report, so no output can show them by accident. The hints stay where they were:
asked for one at a time, and counted.
"""

from __future__ import annotations

import dataclasses

from grader.engine.feedback import Feedback
from grader.supervision.results import CheckResult, GradeResult

__all__ = ["DEFAULT_DETAIL", "DETAILS", "with_detail"]

DETAILS = ("full", "terse")
DEFAULT_DETAIL = "full"


def _terse(check: CheckResult) -> CheckResult:
    if check.feedback is None:
        return check
    return dataclasses.replace(check, feedback=Feedback(check.feedback.what))


def with_detail(result: GradeResult, detail: str) -> GradeResult:
    """``result`` as ``detail`` allows; ``full`` returns it unchanged."""
    if detail not in DETAILS:
        raise ValueError(f"detail must be one of {DETAILS}, not {detail!r}")
    if detail == "full":
        return result
    return dataclasses.replace(result, checks=tuple(_terse(c) for c in result.checks))
