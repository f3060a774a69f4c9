"""Assertions for hidden suites that fail with teaching messages.

Each helper knows the misconception behind its failure: a slow run is diagnosed from
the timeline (awaited one after another? tasks awaited as soon as created? the loop
blocked by ``time.sleep``?) rather than reported as "2.3 > 1.2".
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from grader.engine.fake_io import FakeIO
from grader.engine.feedback import fail
from grader.engine.simulation import Operation, Simulation
from grader.engine.virtual_loop import DEFAULT_CPU_BUDGET, Violation

__all__ = [
    "CancelOutcome",
    "describe_violation",
    "expect_all_awaited",
    "expect_elapsed_at_most",
    "expect_equal",
    "expect_no_blocking",
    "expect_no_pending_tasks",
    "expect_peak_at_most",
    "ran_one_after_another",
    "run_and_cancel",
    "same_value",
]


def same_value(actual: Any, expected: Any) -> bool:
    """Type-strict equality: an object whose ``__eq__`` always says yes gets no credit."""
    if type(actual) is not type(expected):
        return False
    if isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(
            same_value(a, e) for a, e in zip(actual, expected, strict=True)
        )
    if isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            same_value(actual[k], expected[k]) for k in expected
        )
    try:
        return json.dumps(actual, sort_keys=True, default=repr) == json.dumps(
            expected, sort_keys=True, default=repr
        ) and bool(expected == actual)
    except (TypeError, ValueError):
        return bool(expected == actual) and repr(actual) == repr(expected)


def expect_equal(actual: Any, expected: Any, *, call: str, misconception: str = "",
                 next_step: str = "") -> None:
    """Fail with 'Called X; it returned A, but B was expected.' unless the values match."""
    if not same_value(actual, expected):
        fail(
            f"Called `{call}`; it returned {actual!r:.200}, but {expected!r:.200} was expected.",
            misconception=misconception,
            next_step=next_step,
        )


def describe_violation(violation: Violation) -> str:
    where = f" at {violation.where}" if violation.where else ""
    if violation.kind == "sleep":
        return f"time.sleep({violation.seconds:g}){where}"
    if violation.kind == "wait":
        return (f"`{violation.detail or 'a wait'}`{where} (waiting {violation.seconds:g} s "
                "for another thread)")
    # The budget, not the measurement: CPU milliseconds vary a little from run to run,
    # and a student's feedback must read the same every time.
    return f"over {DEFAULT_CPU_BUDGET * 1000:.0f} ms of CPU work without an await{where}"


WAIT_MISCONCEPTION = (
    "Waiting for another thread (`future.result()`, `thread.join()`, `event.wait()`, "
    "`queue.get()`) holds the loop's thread until that thread is done, exactly like "
    "`time.sleep`: moving the work to a thread only helps if you `await` it.")
WAIT_NEXT_STEP = (
    "Await the work instead of waiting for it: `await asyncio.to_thread(...)`, `await "
    "loop.run_in_executor(pool, ...)`, or `await asyncio.wrap_future(future)`.")


def expect_no_blocking(sim: Simulation) -> None:
    """Fail if student code froze the loop (time.sleep or long CPU work on its thread)."""
    violations = sim.violations
    if not violations:
        return
    first = violations[0]
    more = f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""
    if first.kind == "sleep":
        fail(
            f"Your code blocked the event loop: {describe_violation(first)}{more}. "
            f"While it slept, no other task could run.",
            misconception="`time.sleep` pauses the whole thread, and the event loop runs "
            "every task on that one thread; only `await` hands control back.",
            next_step="Use `await asyncio.sleep(...)`, or move blocking calls off the loop "
            "with `await asyncio.to_thread(...)`.",
        )
    if first.kind == "wait":
        fail(f"Your code blocked the event loop: {describe_violation(first)}{more}. "
             "Meanwhile no other task could run.",
             misconception=WAIT_MISCONCEPTION, next_step=WAIT_NEXT_STEP)
    fail(
        f"Your code blocked the event loop: {describe_violation(first)}{more}.",
        misconception="A coroutine keeps the loop until it reaches an `await`; long "
        "computations between awaits freeze every other task.",
        next_step="Offload CPU-heavy work (`loop.run_in_executor` / `asyncio.to_thread`) "
        "or break it into steps with `await asyncio.sleep(0)` between them.",
    )


def ran_one_after_another(ops: list[Operation]) -> bool:
    """True when no two operations overlapped in simulated time."""
    done = sorted(((op.start, op.end) for op in ops if op.end is not None),
                  key=lambda span: span[0])
    latest_end: float | None = None
    for start, end in done:
        if latest_end is not None and start < latest_end - 1e-9:
            return False
        latest_end = end if latest_end is None else max(latest_end, end)
    return len(done) >= 2


def expect_elapsed_at_most(sim: Simulation, budget: float, *, what: str) -> None:
    """Fail with a diagnosis when the run took more simulated time than ``budget``."""
    sim.budget = budget
    if sim.elapsed <= budget + 1e-9:
        return
    took = f"{sim.elapsed:.1f} s of simulated time (the budget is {budget:g} s)"
    waits = [v for v in sim.violations if v.kind == "wait"]
    if waits:
        fail(f"{what} took {took} because {describe_violation(waits[0])} blocked the event "
             "loop: nothing else could run until that thread was done.",
             misconception=WAIT_MISCONCEPTION, next_step=WAIT_NEXT_STEP)
    sleeps = [v for v in sim.violations if v.kind == "sleep"]
    if sleeps:
        fail(
            f"{what} took {took} because {describe_violation(sleeps[0])} blocked the event "
            "loop: nothing else could run while it slept.",
            misconception="`time.sleep` inside a coroutine blocks the single thread the "
            "loop uses, so the other operations wait their turn.",
            next_step="Replace it with `await asyncio.sleep(...)`.",
        )
    ops = [op for op in sim.operations if op.end is not None]
    io_total = sum(op.end - op.start for op in sim.operations if op.end is not None)
    if ran_one_after_another(ops):
        if all(op.in_main_task for op in ops):
            fail(
                f"Your {len(ops)} operations ran one after another: {io_total:.1f} s of "
                f"simulated I/O, so {what} took {took}.",
                misconception="`await` waits for that one operation to finish before the "
                "next line runs, so awaiting each call in turn is sequential.",
                next_step="Start all of them first (asyncio.gather, or create_task for "
                "each) and only then wait for the results.",
            )
        fail(
            f"You made a task for each operation but awaited each one right after creating "
            f"it, so they still ran one after another and {what} took {took}.",
            misconception="A task only overlaps with others while you are not waiting on "
            "it: `await asyncio.create_task(x)` in a loop is as sequential as `await x`.",
            next_step="Create every task first, then await them (or use asyncio.gather).",
        )
    fail(
        f"{what} took {took}.",
        misconception="Only operations that are in flight at the same time overlap; "
        "anything awaited before the others start adds its full duration.",
        next_step="Check that all the operations are started before you wait on any.",
    )


def expect_no_pending_tasks(sim: Simulation, *, what: str) -> None:
    pending = sim.pending_labels()
    if pending:
        names = ", ".join(pending[:3])
        fail(
            f"{what} returned while {len(pending)} task(s) it started were still running: "
            f"{names}.",
            misconception="A task keeps running on its own after the code that created it "
            "moves on; nobody waits for it or sees its errors.",
            next_step="Await (or cancel and then await) every task you create before "
            "returning.",
        )


def expect_all_awaited(sim: Simulation, *, what: str) -> None:
    dropped = sim.never_awaited()
    if dropped:
        first = dropped[0]
        where = f" ({first.where})" if first.where else ""
        fail(
            f"{what} created the coroutine `{first.name}()`{where} but never awaited it, "
            "so its body never ran.",
            misconception="Calling an `async def` function only builds a coroutine object; "
            "nothing inside it runs until it is awaited or wrapped in a task.",
            next_step=f"Put `await` in front of the call to `{first.name}`.",
        )


def expect_peak_at_most(io: FakeIO, limit: int, *, what: str) -> None:
    if io.peak > limit:
        fail(
            f"{what} had {io.peak} operations in flight at once; at most {limit} are allowed.",
            misconception="Starting everything at once ignores the limit; something has to "
            "make the extra operations wait their turn.",
            next_step="Guard the operation with an `asyncio.Semaphore(limit)`.",
        )


@dataclass
class CancelOutcome:
    """How a task behaved when cancelled after some simulated time."""

    cancelled: bool
    result: Any = None
    error: BaseException | None = None
    finished_at: float = 0.0


def run_and_cancel(sim: Simulation, make: Callable[[], Coroutine[Any, Any, Any]],
                   after: float) -> CancelOutcome:
    """Start ``make()`` as a task, cancel it after ``after`` simulated seconds, report."""
    holder: dict[str, asyncio.Task] = {}

    async def scenario() -> None:
        task = asyncio.ensure_future(make())
        holder["task"] = task
        await asyncio.sleep(after)
        task.cancel()
        await asyncio.wait([task])

    sim.run(scenario())
    task = holder["task"]
    if task.cancelled():
        return CancelOutcome(cancelled=True, finished_at=sim.now())
    error = task.exception()
    if error is not None:
        return CancelOutcome(cancelled=False, error=error, finished_at=sim.now())
    return CancelOutcome(cancelled=False, result=task.result(), finished_at=sim.now())
