"""One check's simulated world: a virtual-clock loop, fake I/O, and what happened in it.

Hidden tests are plain synchronous functions that call ``sim.run(student.f(...))`` and
then inspect the record. Keeping the test body outside the loop is deliberate: the
check can look at leftover tasks, un-awaited coroutines and the timeline *after* the
student's code finished, which an ``async def`` test running inside the same loop
cannot do cleanly, and it keeps the suites independent of pytest-asyncio's loop
management (which changed across 1.x releases).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import inspect
import re
import sys
import types
import warnings
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.engine import asyncio_internals as internals
from grader.engine.blocking import TimeGuard
from grader.engine.exceptions import SimulatedTimeout, StudentAborted
from grader.engine.feedback import Feedback
from grader.engine.virtual_loop import (
    DEADLOCK_GRACE,
    SimulationDeadlock,
    Violation,
    VirtualClockLoop,
)
from grader.engine.worker_processes import send_unimportable_by_value

__all__ = ["Operation", "SimulatedTimeout", "Simulation", "StudentAborted", "task_label"]

DEFAULT_VIRTUAL_LIMIT = 3600.0
"""Simulated seconds after which a run is declared stuck (costs real microseconds)."""


@dataclass
class Operation:
    """One simulated I/O operation, as drawn on the student's timeline."""

    label: str
    start: float
    end: float | None = None
    outcome: str = "running"  # ok / error / cancelled / running
    task: str = ""
    in_main_task: bool = False
    delay: float | None = None  # what the fake was told to take; judges check the timeline

    def to_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "start": round(self.start, 6),
            "end": None if self.end is None else round(self.end, 6),
            "outcome": self.outcome,
        }


@dataclass
class _Unawaited:
    name: str
    where: str


@dataclass
class Simulation:
    """The per-check harness the ``sim`` fixture hands to hidden tests."""

    student_file: Path | None = None
    cpu_budget: float = 0.05
    deadlock_grace: float = DEADLOCK_GRACE
    operations: list[Operation] = field(default_factory=list)
    budget: float | None = None
    elapsed: float = 0.0
    started: float = 0.0  # loop time when the last ``run`` began
    ended: float | None = None  # loop time when the last ``run`` returned or was stopped
    main_task: asyncio.Task | None = None
    _loop: VirtualClockLoop | None = None
    _guard: TimeGuard | None = None
    _warnings: list[warnings.WarningMessage] = field(default_factory=list)
    _catcher: Any = None
    _left_running: list[asyncio.Task] = field(default_factory=list)
    _workers: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)

    # -- lifecycle (driven by the plugin) ----------------------------------------------

    def start(self, student_modules: Sequence[types.ModuleType] = ()) -> None:
        for module in student_modules:
            _unbind_asyncio_primitives(module)
        self._guard = TimeGuard(self.student_file, simulation_loop=lambda: self._loop)
        self._guard.install(student_modules)
        # spawn/forkserver workers cannot import the (deleted) suite: its fakes go by value.
        self._workers.enter_context(send_unimportable_by_value())
        self._catcher = warnings.catch_warnings(record=True)
        self._warnings = self._catcher.__enter__()
        warnings.simplefilter("always", RuntimeWarning)
        sys.set_coroutine_origin_tracking_depth(16)

    def finish(self) -> None:
        sys.set_coroutine_origin_tracking_depth(0)
        try:
            if self._loop is not None and not self._loop.is_closed():
                self._cancel_leftovers()
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                executor = internals.default_executor(self._loop)
                self._loop.close()
                if executor is not None:
                    executor.shutdown(wait=False, cancel_futures=True)
        finally:
            self._workers.close()
            if self._guard:
                self._guard.uninstall()
            if self._catcher:
                self._catcher.__exit__(None, None, None)

    def _cancel_leftovers(self) -> None:
        loop = self._loop
        assert loop is not None
        leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in leftovers:
            task.cancel()
        if leftovers:
            # A task that refuses to die has already been reported by the check.
            with contextlib.suppress(Exception, SimulationDeadlock):
                loop.run_until_complete(
                    asyncio.wait_for(asyncio.gather(*leftovers, return_exceptions=True), 60)
                )

    # -- what hidden tests use ---------------------------------------------------------

    @property
    def loop(self) -> VirtualClockLoop:
        if self._loop is None:
            self._loop = VirtualClockLoop(cpu_budget=self.cpu_budget,
                                          deadlock_grace=self.deadlock_grace)
        return self._loop

    def now(self) -> float:
        return self.loop.time()

    def run(self, awaitable: Awaitable[Any], *, limit: float = DEFAULT_VIRTUAL_LIMIT,
            what: str = "your function") -> Any:
        """Run student code to completion on the virtual clock; return its result."""
        if not inspect.isawaitable(awaitable):
            raise _not_awaitable(awaitable, what)
        loop = self.loop
        asyncio.set_event_loop(loop)
        start = self.started = loop.time()
        task = loop.create_task(self._watched(awaitable), name="check")
        self.main_task = task
        timed_out = False

        def stop_runaway() -> None:
            nonlocal timed_out
            if not task.done():
                timed_out = True
                task.cancel()

        watchdog = loop.call_watchdog_at(start + limit, stop_runaway)
        try:
            return loop.run_until_complete(task)
        except asyncio.CancelledError:
            if timed_out:
                raise SimulatedTimeout(
                    f"{what} was still running after {limit:g} s of simulated time"
                ) from None
            raise
        except (KeyboardInterrupt, SystemExit) as exc:
            raise StudentAborted(exc) from exc
        finally:
            watchdog.cancel()
            self.ended = loop.time()
            self.elapsed = self.ended - start
            asyncio.set_event_loop(None)

    async def _watched(self, awaitable: Awaitable[Any]) -> Any:
        """Await the student's code; note what it left running at the instant it returned.

        Taken inside the same step, because a task that was cancelled but never awaited
        finishes its cancellation in the loop's last iteration, before anyone could look.
        """
        try:
            return await awaitable
        finally:
            me = asyncio.current_task()
            self._left_running = [t for t in asyncio.all_tasks() if not t.done() and t is not me]

    @property
    def violations(self) -> list[Violation]:
        return list(self._loop.violations) if self._loop else []

    def pending_tasks(self) -> list[asyncio.Task]:
        """Tasks the student's code left running when it returned (the check's own excluded)."""
        return list(self._left_running)

    def pending_labels(self) -> list[str]:
        """``pending_tasks()`` as the names checks print: ``"poll()"``."""
        return [task_label(task) for task in self._left_running]

    def never_awaited(self) -> list[_Unawaited]:
        """Coroutines created and dropped without ever running, with where they were made."""
        gc.collect()
        found = []
        for warning in self._warnings:
            text = str(warning.message)
            if "was never awaited" not in text:
                continue
            name = text.split("'")[1] if "'" in text else "a coroutine"
            found.append(_Unawaited(name=name, where=_origin_in(text, self.student_file)))
        return found

    def timeline(self) -> dict[str, Any]:
        """Plain data for the report: the operations and the time budget, if any.

        An operation that ended only after the last run returned or was stopped is shown
        as still running: a worker thread can finish one while the check is torn down,
        sooner or later depending on the machine, and the timeline shows the run.
        """
        operations = []
        for op in sorted(self.operations, key=lambda op: (op.start, op.label)):
            shown = op.to_dict()
            if self.ended is not None and op.end is not None and op.end > self.ended + 1e-9:
                shown["end"] = None
            operations.append(shown)
        return {
            "operations": operations,
            "budget": self.budget,
            "elapsed": round(self.elapsed, 6),
        }


def task_label(task: Any) -> str:
    """How feedback names a task: its coroutine's qualified name, ``"poll()"``.

    Works on a live ``asyncio.Task`` and on a judge's record of one (``.label``).
    """
    label = getattr(task, "label", None)
    if isinstance(label, str):
        return label
    coro = task.get_coro()
    return f"{getattr(coro, '__qualname__', task.get_name())}()"


def _not_awaitable(value: Any, what: str) -> Exception:
    from grader.engine.feedback import CheckFailed

    kind = type(value).__name__
    return CheckFailed(
        Feedback(
            f"{what} returned a {kind} ({value!r:.60}), not something the event loop can run.",
            misconception="A function defined with plain `def` runs immediately and returns "
            "its value; only an `async def` function returns a coroutine to await.",
            next_step="Define it with `async def` as the task asks.",
        )
    )


def _origin_in(warning_text: str, student_file: Path | None) -> str:
    """Pick the student's line out of 'Coroutine created at' origin info, if present."""
    if student_file is None or "Coroutine created at" not in warning_text:
        return ""
    found = ""
    for match in re.finditer(r'File "([^"]+)", line (\d+), in (\S+)', warning_text):
        if Path(match[1]).name == student_file.name:
            found = f"{student_file.name}:{match[2]} in {match[3]}"  # innermost wins
    return found


def _unbind_asyncio_primitives(module: Any) -> None:
    """Let module- and class-level Locks, Semaphores, Queues... work on this check's loop.

    They bind to the first loop that uses them (``asyncio.mixins._LoopBoundMixin``), and
    every check has a fresh loop, so a module-level ``asyncio.Lock()`` would fail every
    check after the first with "bound to a different event loop".
    """
    seen: set[int] = set()
    values = list(vars(module).values())
    for value in list(values):
        if isinstance(value, type):
            values.extend(vars(value).values())
    for value in values:
        if id(value) not in seen and internals.unbind_from_loop(value):
            seen.add(id(value))
