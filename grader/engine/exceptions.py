"""Every exception the engine raises, in one place.

How a check ends is told by its exception: a teaching failure (``CheckFailed``, defined
beside the ``Feedback`` it carries), the student's module that would not import, a name
it lacks, an exit from inside the student's code, a run that never settles, a wait that
can never return, a failure a fake was told to inject. :mod:`grader.engine.classify`
turns each into a status and a message. The grader's own stops (``LoopThreadStuck``
here, ``CpuLimitExceeded`` in :mod:`grader.budgets`) are BaseExceptions, so a student's
``except Exception`` cannot swallow them.
"""

from __future__ import annotations

from grader.budgets import CpuLimitExceeded
from grader.engine.feedback import CheckFailed, Feedback

__all__ = ["CheckFailed", "CpuLimitExceeded", "LoopThreadStuck", "MissingName",
           "SimulatedTimeout", "SimulationDeadlock", "SourceFailed", "StudentAborted",
           "StudentImportError"]


class StudentImportError(Exception):
    """Raised when the student's module cannot be imported; carries the explanation."""

    def __init__(self, feedback: Feedback, traceback_text: str = "", *,
                 timed_out: bool = False) -> None:
        super().__init__(feedback.what)
        self.feedback = feedback
        self.traceback_text = traceback_text
        self.timed_out = timed_out


class MissingName(AttributeError):
    """Raised when a hidden test asks for a name the student's module doesn't define."""

    def __init__(self, name: str, filename: str) -> None:
        super().__init__(name)
        self.feedback = Feedback(
            what=f"We can't find `{name}` in {filename}.",
            misconception="The grader calls your code by the names the task gives.",
            next_step=f"Define `{name}` (check the spelling), or undo a rename.",
        )


class StudentAborted(Exception):
    """Raised when student code raises SystemExit/KeyboardInterrupt inside a check.

    pytest treats a KeyboardInterrupt as the end of the whole session; converting it
    keeps the remaining checks running and gives this one a clear verdict.
    """

    def __init__(self, original: BaseException) -> None:
        super().__init__(f"{type(original).__name__}: {original}")
        self.original = original


class SimulatedTimeout(Exception):
    """Raised when student code is still running after the virtual time limit."""


class SimulationDeadlock(RuntimeError):
    """Raised when every task waits and nothing (timer, job, I/O) could ever wake one."""


class LoopThreadStuck(BaseException):
    """Raised in student code blocking the loop's thread in a wait no thread could end.

    A BaseException, so an ``except Exception`` in student code can't swallow it.
    """

    def __init__(self, where: str, call: str) -> None:
        super().__init__(f"{call} at {where} can never return")
        self.where, self.call = where, call


class SourceFailed(ConnectionError):
    """Raised by a fake operation the check configured to fail."""
