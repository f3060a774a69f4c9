"""Turning how a check ended (an exception, or none) into a status and a message.

This is the single place that knows how student failures look: a CheckFailed from the
suite, a NotImplementedError left in a stub, a timeout from pytest-timeout, a missing
name, an exception from the student's own line.
"""

from __future__ import annotations

from pathlib import Path

from grader.budgets import CpuLimitExceeded
from grader.engine.feedback import CheckFailed, Feedback
from grader.engine.simulation import SimulatedTimeout, StudentAborted
from grader.engine.student import MissingName, StudentImportError
from grader.engine.tracebacks import describe_exception
from grader.engine.virtual_loop import LoopThreadStuck, SimulationDeadlock

__all__ = ["Verdict", "classify_exception"]

Verdict = tuple[str, Feedback, str]  # (status, feedback, trimmed traceback)


def _is_pytest_timeout(exc: BaseException) -> bool:
    return type(exc).__name__ == "Failed" and str(exc).startswith("Timeout")


def classify_exception(exc: BaseException, student_file: Path, time_limit: float) -> Verdict:
    """Status, feedback and trimmed traceback for a check that raised ``exc``."""
    if isinstance(exc, StudentImportError):
        status = "timed out" if exc.timed_out else "error"
        return status, exc.feedback, exc.traceback_text
    if _is_pytest_timeout(exc):
        return "timed out", timeout_feedback(time_limit), ""
    if isinstance(exc, CpuLimitExceeded):
        return "timed out", Feedback(
            "The check was stopped: your code kept the processor busy without finishing "
            "(far more CPU time than this check needs).",
            misconception="Code that never reaches an `await` holds the loop's only "
            "thread. The usual causes: a loop whose exit condition never becomes true, or "
            "waiting for time to pass by re-reading a clock in a loop (a busy-wait) instead "
            "of awaiting.",
            next_step="Check the loop in the traceback: give it an exit, or replace a "
            "clock-watching loop with `await asyncio.sleep(...)`.",
        ), describe_exception(exc, student_file)[1]
    if isinstance(exc, CheckFailed):
        return "failed", exc.feedback, ""
    if isinstance(exc, MissingName):
        return "error", exc.feedback, ""
    if isinstance(exc, SimulatedTimeout):
        return "failed", Feedback(
            f"{exc}: it never finished.",
            misconception="Something awaits forever or loops without end (for example a "
            "`while True` with no exit, or waiting on a task that never completes).",
            next_step="Make sure every loop ends and every awaited thing can complete.",
        ), ""
    if isinstance(exc, LoopThreadStuck):
        return "failed", Feedback(
            f"Your code blocked the event loop's thread in `{exc.call}` at {exc.where}, and "
            "no other thread exists that could ever end that wait: the loop, and every "
            "task on it, stopped for good.",
            misconception="Thread tools (`queue.Queue`, `threading.Event`, "
            "`threading.Condition`) make the whole thread wait. On the event loop's thread "
            "that freezes every task, including the one that would have filled the queue "
            "or set the event.",
            next_step="Use the asyncio versions (`asyncio.Queue`, `asyncio.Event`, "
            "`asyncio.Condition`) and `await` them.",
        ), describe_exception(exc, student_file)[1]
    if isinstance(exc, SimulationDeadlock):
        return "failed", Feedback(
            "Your code got stuck: every task was waiting and nothing could ever wake one up.",
            misconception="Awaiting something nobody will complete (an Event never set, a "
            "queue nobody puts into, a Future never resolved) waits forever.",
            next_step="Check what each task is waiting for and who is supposed to provide it.",
        ), ""
    if isinstance(exc, StudentAborted):
        original = exc.original
        return "error", Feedback(
            f"Your code raised {type(original).__name__} during the check, which would "
            "stop the whole program.",
            misconception="`sys.exit()` and `KeyboardInterrupt` end the program; they are "
            "not a way to return from a function.",
            next_step="Return a value or raise an ordinary exception instead.",
        ), describe_exception(original, student_file)[1]
    summary, trace = describe_exception(exc, student_file)
    if isinstance(exc, NotImplementedError) and trace:
        return "error", Feedback(
            f"Not written yet: {summary}.",
            next_step="Replace the `raise NotImplementedError` with your implementation.",
        ), trace
    if trace:
        return "error", Feedback(
            f"Your code raised {summary}.",
            next_step="Read the traceback below: the last line shown is where it happened.",
        ), trace
    if isinstance(exc, AssertionError):
        # A bare assert in a hidden suite; we still never print the suite's source.
        detail = str(exc).split("\n", 1)[0]
        return "failed", Feedback(
            f"The check's expectation was not met{': ' + detail if detail else ''}."
        ), ""
    return "error", Feedback(f"The check could not complete: {summary}."), ""


def timeout_feedback(time_limit: float) -> Feedback:
    return Feedback(
        f"The check did not finish within {time_limit:g} s of real time and was stopped.",
        misconception="A loop that never awaits anything (or awaits `asyncio.sleep(0)` "
        "forever) keeps the program busy without ever finishing.",
        next_step="Look for a loop without an exit, or a wait on something that never "
        "happens.",
    )
