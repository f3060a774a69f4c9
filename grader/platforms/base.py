"""The one interface every platform adapter implements, and what they all read alike.

A :class:`Platform` is a pure function from a :class:`Run` to the platform's results
document (a JSON-ready dict). It never grades, never reads files and never sees the
engine's internals: only :class:`~grader.supervision.results.GradeResult` values, which are clean
by construction (:mod:`grader.supervision.sanitize`). Writing the document where the platform
expects it is the job of each platform's entry point.

The readings every platform shares live here so that four formats tell a student the
same thing: :func:`teaching_text` (what happened, why, what to try next),
:func:`import_failed` (the module never imported, so no check really ran) and
:func:`protection_notes` (where the sandbox could not be used, which each platform
must show, never hide).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from grader.supervision.results import CheckResult, GradeResult

__all__ = ["Platform", "Run", "import_failed", "one_line", "protection_notes", "teaching_text"]


@dataclass(frozen=True)
class Run:
    """One submission's grading so far: a result per exercise, in the order graded.

    ``finished`` is false while exercises remain; their results are then placeholders
    saying they were not graded yet (:func:`grader.platforms.session.not_graded`), so a
    document written mid-run is complete and honest if the platform stops us there.
    ``remarks`` are about the submission as a whole (files ignored, a layout problem).
    """

    results: tuple[GradeResult, ...]
    elapsed: float = 0.0
    finished: bool = True
    remarks: tuple[str, ...] = field(default=())

    @property
    def score(self) -> int:
        return sum(r.score for r in self.results)

    @property
    def max_score(self) -> int:
        return sum(r.max_score for r in self.results)

    @property
    def checks(self) -> list[tuple[GradeResult, int, CheckResult]]:
        """Every check with its exercise and its 1-based position in that exercise."""
        return [(result, index, check) for result in self.results
                for index, check in enumerate(result.checks, start=1)]


class Platform(Protocol):
    """A platform's results format."""

    name: str

    def render(self, run: Run) -> dict[str, Any]:
        """The platform's results document for ``run``, ready for ``json.dumps``."""
        ...


def teaching_text(check: CheckResult, *, traceback: bool = True) -> str:
    """A check's message as plain text: what happened, why, next step, the traceback.

    The same words ``grade`` prints in the terminal; empty for a pass without a message.
    """
    parts: list[str] = []
    if check.feedback is not None:
        if check.feedback.what:
            parts.append(check.feedback.what)
        if check.feedback.misconception:
            parts.append(f"Why: {check.feedback.misconception}")
        if check.feedback.next_step:
            parts.append(f"Next: {check.feedback.next_step}")
    if traceback and check.traceback:
        parts.append(check.traceback.rstrip())
    return "\n".join(parts)


def import_failed(result: GradeResult) -> bool:
    """Whether the module could not be imported at all, so no check really ran.

    The engine reports an import failure (a syntax error, an exception or an endless
    loop at the top level, a file that is not UTF-8) as the same verdict on every
    check, since each check needs the module. That shape is what is recognised here:
    two or more checks, none passed, every one an error or a time-out with the same
    message. A module that imports but lacks a function gives messages naming
    different calls, so it counts as graded.
    """
    checks = result.checks
    if len(checks) < 2 or any(c.status not in ("error", "timed out") for c in checks):
        return False
    messages = {c.feedback.what if c.feedback else "" for c in checks}
    return len(messages) == 1 and "" not in messages


def protection_notes(run: Run) -> list[str]:
    """Every distinct note of the run's gradings (sandbox protections not available,
    gradings flagged for review), in the order first seen."""
    return list(dict.fromkeys(note for result in run.results for note in result.notes))


def one_line(text: str, limit: int = 200) -> str:
    """``text`` as a single line of at most ``limit`` characters (for names and tags)."""
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
