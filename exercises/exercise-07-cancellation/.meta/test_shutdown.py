"""Hidden checks for exercise 07 (cancellation: clean up, re-raise, drain)."""

from __future__ import annotations

import asyncio
import inspect
from dataclasses import dataclass, field

import pytest

from grader.suite import (
    CancelOutcome,
    FakeIO,
    SourceFailed,
    expect_equal,
    fail,
    run_and_cancel,
    same_value,
)

# Each job takes a different time, so no two events fall on the same simulated instant.
JOB_SECONDS = {"j1": 0.6, "j2": 0.7, "j3": 0.8, "j4": 0.9, "j5": 1.0}
JOBS = list(JOB_SECONDS)
CLOSE_SECONDS = 0.1
CANCEL_AT = 1.0  # j1 runs 0.0-0.6, j2 0.6-1.3: the cancel lands in the middle of j2
PROMPT_SLACK = 0.25  # one close (0.1 s) with room to spare; finishing j2 would cost 0.3 s more


# -- an instrumented connection ----------------------------------------------------------


class FakeConnection:
    """Records sends and closes on the shared FakeIO timeline."""

    def __init__(self, io: FakeIO, number: int) -> None:
        self.io = io
        self.number = number
        self.sent: list[str] = []
        self.send_started: list[tuple[str, float]] = []
        self.closes_finished = 0
        self._close_coros: list = []

    async def send(self, job: str) -> None:
        self.send_started.append((job, asyncio.get_running_loop().time()))
        await self.io.operation(f"send {job}", JOB_SECONDS.get(job, 0.5))
        self.sent.append(job)

    def close(self):  # a plain def returning a coroutine, so "called but not awaited" shows
        coro = self._close()
        self._close_coros.append(coro)
        return coro

    async def _close(self) -> None:
        await self.io.operation("close", CLOSE_SECONDS)
        self.closes_finished += 1

    async def __aenter__(self) -> FakeConnection:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def close_never_awaited(self) -> bool:
        """True if close() was called but its coroutine never ran (and silence it)."""
        dropped = False
        for coro in self._close_coros:
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()
                dropped = True
        return dropped and self.closes_finished == 0


@dataclass
class Connections:
    io: FakeIO
    opened: list[FakeConnection] = field(default_factory=list)

    def open(self) -> FakeConnection:
        conn = FakeConnection(self.io, len(self.opened) + 1)
        self.opened.append(conn)
        return conn

    def sent(self) -> list[str]:
        return [job for conn in self.opened for job in conn.sent]

    def new_jobs_started_after(self, moment: float) -> list[str]:
        """Jobs whose first send started at or after ``moment`` (retries don't count)."""
        before = {job for conn in self.opened for job, at in conn.send_started
                  if at < moment - 1e-9}
        return [job for conn in self.opened for job, at in conn.send_started
                if at >= moment - 1e-9 and job not in before]


@pytest.fixture
def conns(sim, student):
    found = Connections(FakeIO(sim))
    student.replace("open_connection", found.open)
    return found


CLOSE_IT = dict(
    misconception="Code after the loop only runs if the loop finishes. When the task is "
    "cancelled, the CancelledError jumps straight out of the `await`, past everything "
    "that isn't in a `finally:` (or an `except`).",
    next_step="Put the sending loop in `try:` and `await conn.close()` in `finally:`, or "
    "use `async with open_connection() as conn:`.",
)


def expect_all_closed(conns: Connections, *, situation: str) -> None:
    for conn in conns.opened:
        if conn.close_never_awaited():
            fail(
                f"{situation}, worker called `conn.close()` but never awaited it, so the "
                "connection was never actually closed.",
                misconception="`close()` is a coroutine function: calling it only builds "
                "a coroutine object, and nothing happens until it is awaited.",
                next_step="Write `await conn.close()`.",
            )
    still_open = [conn for conn in conns.opened if conn.closes_finished == 0]
    if still_open:
        fail(f"{situation}, worker left its connection open: it was never closed.",
             **CLOSE_IT)


def cancel_worker(student, sim) -> CancelOutcome:
    """Run worker(JOBS), cancel it at CANCEL_AT, and return the outcome."""
    outcome = run_and_cancel(sim, lambda: student.worker(list(JOBS)), after=CANCEL_AT)
    if isinstance(outcome.error, NotImplementedError):
        raise outcome.error
    return outcome


# -- task 1 ---------------------------------------------------------------------------


@pytest.mark.task(1)
def test_sends_every_job(student, sim, conns):
    call = "worker(['j1', 'j2', 'j3'])"
    sent = sim.run(student.worker(["j1", "j2", "j3"]), what="worker")
    if not conns.opened:
        fail(f"`{call}` never called `open_connection()`, so the grader saw no jobs sent.",
             next_step="Get the connection from the provided `open_connection()`.")
    if conns.sent() != ["j1", "j2", "j3"]:
        fail(f"`{call}` sent {conns.sent()!r}, but ['j1', 'j2', 'j3'] should be sent, in "
             "that order.",
             misconception="Every job should be sent, one after the other, in the order "
             "given.",
             next_step="Loop over the jobs and `await conn.send(job)` for each.")
    expect_equal(sent, 3, call=call,
                 misconception="worker should return how many jobs it sent.",
                 next_step="Count the jobs as they are sent and return the count.")
    expect_all_closed(conns, situation=f"After `{call}` finished normally")
    expect_equal(sim.run(student.worker([]), what="worker"), 0, call="worker([])",
                 misconception="With no jobs there is nothing to send.",
                 next_step="Make sure an empty list of jobs returns 0.")


@pytest.mark.task(1)
def test_cancellation_propagates(student, sim, conns):
    outcome = cancel_worker(student, sim)
    if outcome.cancelled:
        return
    situation = (f"`worker({JOBS!r})`, run as a task, was cancelled {CANCEL_AT:g} s in, "
                 "while it was sending j2")
    if outcome.error is not None:
        fail(
            f"{situation}; it ended with {type(outcome.error).__name__}: {outcome.error} "
            "instead of ending cancelled.",
            misconception="Replacing the CancelledError with another exception hides the "
            "cancellation: the canceller sees a crash, not a task that stopped on request.",
            next_step="After your cleanup, let the CancelledError itself continue "
            "(a bare `raise` in the `except` block, or no `except` at all).",
        )
    fail(
        f"{situation}; it returned {outcome.result!r} as if it had finished normally. "
        "The CancelledError was swallowed.",
        misconception="Catching CancelledError (with `except asyncio.CancelledError:` or "
        "`except BaseException:`) and then returning or carrying on ends the task "
        "normally, so whoever cancelled it can't tell that it stopped on request.",
        next_step="Do the cleanup in `finally:`; if you do catch CancelledError, end that "
        "`except` block with a bare `raise`.",
    )


@pytest.mark.task(1)
def test_closes_connection_when_cancelled(student, sim, conns):
    outcome = cancel_worker(student, sim)
    if outcome.error is not None:
        raise outcome.error
    if not conns.opened:
        fail(f"`worker({JOBS!r})` never called `open_connection()` before it was "
             "cancelled, so there was nothing to close.",
             next_step="Get the connection from the provided `open_connection()`.")
    expect_all_closed(conns, situation=f"When it was cancelled {CANCEL_AT:g} s in "
                      "(in the middle of sending j2)")


@pytest.mark.task(1)
def test_stops_promptly_when_cancelled(student, sim, conns):
    outcome = cancel_worker(student, sim)
    if outcome.error is not None:
        raise outcome.error
    late = conns.new_jobs_started_after(CANCEL_AT)
    if late:
        fail(
            f"worker was cancelled at {CANCEL_AT:g} s, in the middle of j2, but then "
            f"started sending {', '.join(late)} after it was cancelled.",
            misconception="A cancelled task should stop its work: catching the "
            "CancelledError inside the loop lets the loop carry on with the next job.",
            next_step="Catch nothing inside the loop; let the error leave the loop and "
            "clean up in `finally:`.",
        )
    took = outcome.finished_at - CANCEL_AT
    if took > PROMPT_SLACK + 1e-9:
        fail(
            f"worker was cancelled at {CANCEL_AT:g} s but kept going for {took:.2f} s of "
            f"simulated time after it was cancelled (closing the connection takes "
            f"{CLOSE_SECONDS:g} s).",
            misconception="Cleanup runs while the canceller waits. Finishing the current "
            "job, retrying it, or sleeping before re-raising makes every shutdown slow.",
            next_step="On cancellation, only close the connection, then let the error go.",
        )


# -- task 2 ---------------------------------------------------------------------------


async def long_job(io: FakeIO, label: str, runs_for: float, cleanup: float) -> str:
    """A test task: works for a long time; when cancelled, cleans up, then re-raises."""
    try:
        await io.operation(label, runs_for)
    except asyncio.CancelledError:
        await io.operation(f"{label} cleanup", cleanup)
        raise
    return label


async def quick_job(io: FakeIO, label: str, runs_for: float,
                    error: BaseException | None = None) -> str:
    await io.operation(label, runs_for, error=error)
    return label


@dataclass
class Shutdown:
    """What cancel_all did to a batch of tasks, observed the instant it returned."""

    tasks: list[asyncio.Task]
    returned: object = None
    escaped: BaseException | None = None
    still_running: list[str] = field(default_factory=list)
    never_asked: list[str] = field(default_factory=list)  # running, and not even cancelled
    took: float = 0.0


def run_shutdown(sim, student, make_tasks, *, settle: float) -> Shutdown:
    """Start the tasks, let them run for ``settle`` s, call cancel_all, inspect at once."""

    async def scenario() -> Shutdown:
        tasks = make_tasks()
        await asyncio.sleep(settle)
        loop = asyncio.get_running_loop()
        started = loop.time()
        report = Shutdown(tasks)
        try:
            report.returned = await student.cancel_all(tasks)
        except NotImplementedError:
            raise
        except BaseException as exc:  # CancelledError included, on purpose
            report.escaped = exc
        report.took = loop.time() - started
        report.still_running = [t.get_name() for t in tasks if not t.done()]
        report.never_asked = [t.get_name() for t in tasks
                              if not t.done() and not t.cancelling()]
        for task in tasks:  # retrieve errors so nothing is logged as "never retrieved"
            if task.done() and not task.cancelled():
                task.exception()
        return report

    return sim.run(scenario(), what="cancel_all")


def expect_nothing_escaped(report: Shutdown, setup: str) -> None:
    if report.escaped is None:
        return
    exc = report.escaped
    running = (f", and {len(report.still_running)} of the tasks were still running when it "
               "did") if report.still_running else ""
    if isinstance(exc, asyncio.CancelledError):
        fail(
            f"{setup}, `cancel_all(tasks)` let a CancelledError escape{running}. To its "
            "caller that looks as if cancel_all itself had been cancelled.",
            misconception="`gather` without `return_exceptions=True` raises the first "
            "exception from its tasks, and a cancelled task's CancelledError counts; it "
            "also stops waiting for the others.",
            next_step="Wait with `asyncio.gather(*tasks, return_exceptions=True)`: each "
            "task's exception comes back as a value instead.",
        )
    fail(
        f"{setup}, `cancel_all(tasks)` let {type(exc).__name__} ({exc}) escape{running}: "
        "it came from the task that had already failed before cancel_all was called.",
        misconception="`gather` without `return_exceptions=True` raises the first exception "
        "any of its tasks ended with, instead of waiting for the rest.",
        next_step="Wait with `asyncio.gather(*tasks, return_exceptions=True)` so each "
        "task's outcome comes back as a value.",
    )


CLEANUPS = {"worker-a": 0.2, "worker-b": 0.3, "worker-c": 0.4}


@pytest.mark.task(2)
def test_cancels_and_drains(student, sim):
    io = FakeIO(sim)

    def make_tasks():
        return [asyncio.create_task(long_job(io, name, 50.0 + i, cleanup), name=name)
                for i, (name, cleanup) in enumerate(CLEANUPS.items())]

    report = run_shutdown(sim, student, make_tasks, settle=0.5)
    call = "cancel_all(tasks)"
    setup = "With three running tasks whose cleanups take 0.2 s, 0.3 s and 0.4 s"
    expect_nothing_escaped(report, setup)
    if report.never_asked:
        fail(
            f"{setup}, `{call}` returned without cancelling "
            f"{', '.join(report.never_asked)}: they were still running.",
            misconception="A task runs until it finishes or is cancelled; nothing stops it "
            "for you.",
            next_step="Call `task.cancel()` on each task, then wait for them.",
        )
    if report.still_running:
        fail(
            f"{setup}, `{call}` returned while {', '.join(report.still_running)} were "
            "still running.",
            misconception="`task.cancel()` only asks a task to stop; the task stops later, "
            "after its own cleanup. Returning right after cancel() leaves them running.",
            next_step="After cancelling, await the tasks, e.g. "
            "`await asyncio.gather(*tasks, return_exceptions=True)`.",
        )
    not_cancelled = [t.get_name() for t in report.tasks if not t.cancelled()]
    if not_cancelled:
        fail(
            f"{setup}, `{call}` never cancelled {', '.join(not_cancelled)}: it waited "
            f"{report.took:.1f} s for them to finish on their own.",
            misconception="Waiting for a task is not the same as stopping it.",
            next_step="Call `task.cancel()` on each task before waiting for them.",
        )
    slowest = max(CLEANUPS.values())
    if report.took > slowest + 0.05:
        fail(
            f"{setup}, `{call}` took {report.took:.1f} s: the cleanups ran one after "
            f"another instead of overlapping ({slowest:g} s would do).",
            misconception="Cancelling one task and waiting for it before cancelling the "
            "next makes every task's cleanup wait for the previous one.",
            next_step="Cancel all of them first, then wait for all of them together.",
        )


@pytest.mark.task(2)
def test_counts_cancelled_tasks(student, sim):
    io = FakeIO(sim)

    def make_tasks():
        return [
            asyncio.create_task(quick_job(io, "finished", 0.1), name="finished"),
            asyncio.create_task(
                quick_job(io, "failed", 0.2, SourceFailed("the server hung up")),
                name="failed"),
            asyncio.create_task(long_job(io, "running-1", 40.0, 0.3), name="running-1"),
            asyncio.create_task(long_job(io, "running-2", 41.0, 0.4), name="running-2"),
        ]

    report = run_shutdown(sim, student, make_tasks, settle=0.5)
    setup = ("With one task already finished, one already failed (SourceFailed) and two "
             "still running")
    expect_nothing_escaped(report, setup)
    returned = report.returned
    if same_value(returned, 2):
        return
    if same_value(returned, 4):
        why = ("You counted every task, but two of them had already ended before "
               "cancel_all was called.")
    elif same_value(returned, 3):
        why = ("You counted the failed task as cancelled: its exception is a "
               "SourceFailed, not a CancelledError.")
    else:
        why = "Only the two running tasks ended up cancelled."
    fail(
        f"{setup}, `cancel_all(tasks)` returned {returned!r:.60}, but 2 of the tasks "
        "ended cancelled.",
        misconception=f"{why} Count the tasks that ended cancelled: `task.cancelled()`, "
        "or the CancelledError values among gather's results.",
        next_step="After waiting, count with `sum(task.cancelled() for task in tasks)`.",
    )
