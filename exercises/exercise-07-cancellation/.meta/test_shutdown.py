"""Hidden checks for exercise 07 (cancellation: clean up, re-raise, drain).

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations, where no student code runs. The
instrumented connections cross as plain facts (``connection_facts``), what cancel_all did
as a plain ``Shutdown``, and the shared FakeIO as its record, which the judges hold
against this suite's own durations. Only the judges' conditions earn points.
"""

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
    judged,
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
        self._dropped = False

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
        for coro in self._close_coros:
            if inspect.getcoroutinestate(coro) == inspect.CORO_CREATED:
                coro.close()
                self._dropped = True
        return self._dropped and self.closes_finished == 0


@dataclass
class Connections:
    io: FakeIO
    opened: list[FakeConnection] = field(default_factory=list)

    def open(self) -> FakeConnection:
        conn = FakeConnection(self.io, len(self.opened) + 1)
        self.opened.append(conn)
        return conn



def connection_facts(conns: Connections) -> list[dict]:
    """What each opened connection saw, as plain values a judge can read."""
    return [{"sent": list(conn.sent), "send_started": list(conn.send_started),
             "closes_finished": conn.closes_finished,
             "close_never_awaited": conn.close_never_awaited()} for conn in conns.opened]


def sent_jobs(conns: list[dict]) -> list[str]:
    return [job for conn in conns for job in conn["sent"]]


def new_jobs_started_after(conns: list[dict], moment: float) -> list[str]:
    """Jobs whose first send started at or after ``moment`` (retries don't count)."""
    starts = [(job, at) for conn in conns for job, at in conn["send_started"]]
    before = {job for job, at in starts if at < moment - 1e-9}
    return [job for job, at in starts if at >= moment - 1e-9 and job not in before]


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def expect_suite_delays(io, delays: dict[str, float]) -> None:
    """Every fake operation took the time this suite gives it, not one of its own."""
    for op in io.operations:
        if op.label in delays and op.delay != delays[op.label]:
            impossible(f"{op.label!r} was told {op.delay} s, not {delays[op.label]} s")


def connection_delays(conns: list[dict]) -> dict[str, float]:
    jobs = {job for conn in conns for job, _ in conn["send_started"]}
    return {"close": CLOSE_SECONDS} | {f"send {job}": JOB_SECONDS.get(job, 0.5)
                                       for job in jobs if isinstance(job, str)}


def expect_connections_on_the_timeline(conns: list[dict], io) -> None:
    """The connections' own records agree with the operations on the shared timeline."""
    expect_suite_delays(io, connection_delays(conns))
    sends = sorted((op.label, op.start) for op in io.operations if op.label.startswith("send "))
    started = sorted((f"send {job}", at) for conn in conns for job, at in conn["send_started"])
    if sends != started:
        impossible("the sends the connections started are not the timeline's")
    done = sorted(op.label for op in io.operations
                  if op.label.startswith("send ") and op.outcome == "ok")
    if done != sorted(f"send {job}" for job in sent_jobs(conns)):
        impossible("the jobs the connections sent are not the timeline's")
    closes = sum(1 for op in io.operations if op.label == "close" and op.outcome == "ok")
    if closes != sum(conn["closes_finished"] for conn in conns):
        impossible("the closes the connections finished are not the timeline's")


@pytest.fixture
def conns(sim, student):
    found = Connections(FakeIO(sim))
    student.replace("open_connection", found.open)
    return found


CLOSE_IT = dict(
    misconception="Code after the loop only runs if the loop finishes. When the task is "
    "cancelled, the CancelledError jumps straight out of the `await`, past everything "
    "that isn't in a `finally:` (or an `except`).",
    next_step="Make the close happen however the sending ends: a `try`/`finally` around the loop, "
              "or the connection's `async with` form.",
)


EXCEPT_EXCEPTION_CLOSE = dict(
    misconception="CancelledError is a BaseException, not an Exception: an `except "
    "Exception:` block never runs when the task is cancelled, so cleanup placed there (or "
    "after the loop) is skipped.",
    next_step=CLOSE_IT["next_step"],
)


def expect_all_closed(conns: list[dict], *, situation: str,
                      except_exception: bool = False) -> None:
    for conn in conns:
        if conn["close_never_awaited"]:
            fail(
                f"{situation}, worker called `conn.close()` but never awaited it, so the "
                "connection was never actually closed.",
                misconception="`close()` is a coroutine function: calling it only builds "
                "a coroutine object, and nothing happens until it is awaited.",
                next_step="The connection's close is a coroutine: await it.",
            )
    still_open = [conn for conn in conns if conn["closes_finished"] == 0]
    if still_open:
        fail(f"{situation}, worker left its connection open: it was never closed.",
             **(EXCEPT_EXCEPTION_CLOSE if except_exception else CLOSE_IT))


def cancel_worker(student, sim) -> CancelOutcome:
    """Run worker(JOBS), cancel it at CANCEL_AT, and return the outcome."""
    outcome = run_and_cancel(sim, lambda: student.worker(list(JOBS)), after=CANCEL_AT)
    if isinstance(outcome.error, NotImplementedError):
        raise outcome.error
    return outcome


# -- task 1 ---------------------------------------------------------------------------


WORKER_CALL = "worker(['j1', 'j2', 'j3'])"


def expect_sent_and_closed(conns: list[dict], sent: object) -> None:
    call = WORKER_CALL
    if not conns:
        fail(f"`{call}` never called `open_connection()`, so the grader saw no jobs sent.",
             next_step="Get the connection from the provided `open_connection()`.")
    if sent_jobs(conns) != ["j1", "j2", "j3"]:
        fail(f"`{call}` sent {sent_jobs(conns)!r}, but ['j1', 'j2', 'j3'] should be sent, in "
             "that order.",
             misconception="Every job should be sent, one after the other, in the order "
             "given.",
             next_step="Send every job on the connection, one after another, awaiting each send.")
    expect_equal(sent, 3, call=call,
                 misconception="worker should return how many jobs it sent.",
                 next_step="Count the jobs as they are sent and return the count.")
    expect_all_closed(conns, situation=f"After `{call}` finished normally")
    if len(conns) > 1:
        fail(f"`{call}` opened {len(conns)} connections for its 3 jobs.",
             misconception="The worker opens one connection and sends every job over it; "
             "a connection per job pays for opening and closing again and again.",
             next_step="Open the connection once, before the first job, and close it once "
             "at the end.")


@pytest.mark.task(1)
def test_sends_every_job(student, sim, conns):
    sent = sim.run(student.worker(["j1", "j2", "j3"]), what="worker")
    expect_sent_and_closed(connection_facts(conns), sent)  # before worker([]) can raise
    first_opened = len(conns.opened)
    none = sim.run(student.worker([]), what="worker")
    return judged(judge_sends_every_job, sent=sent, none=none, first_opened=first_opened,
                  conns=connection_facts(conns), io=conns.io)


def judge_sends_every_job(seen):
    expect_connections_on_the_timeline(seen["conns"], seen["io"])
    expect_sent_and_closed(seen["conns"][:seen["first_opened"]], seen["sent"])
    expect_equal(seen["none"], 0, call="worker([])",
                 misconception="With no jobs there is nothing to send.",
                 next_step="Make sure an empty list of jobs returns 0.")


def expect_cancel_on_the_timeline(seen) -> CancelOutcome:
    """The connections agree with the timeline, which ends when the worker did."""
    outcome, io = seen["outcome"], seen["io"]
    expect_connections_on_the_timeline(seen["conns"], io)
    if any(op.end is not None and op.end > outcome.finished_at + 1e-9 for op in io.operations):
        impossible(f"operations end after the worker finished at {outcome.finished_at}")
    return outcome


def expect_no_crash_before_cancel(outcome: CancelOutcome, io) -> None:
    """An error the worker raised before the cancel reached it is its own failure.

    An error raised in reaction to the cancel (the CancelledError replaced by another
    exception) is cancellation_propagates' subject alone: the cleanup checks still judge
    the cleanup.
    """
    reached = any(op.label.startswith("send ") and op.outcome == "cancelled"
                  for op in io.operations)
    if outcome.error is not None and not reached:
        raise outcome.error


def cancelled_worker(student, sim, conns) -> dict:
    outcome = cancel_worker(student, sim)
    return {"outcome": outcome, "conns": connection_facts(conns), "io": conns.io}


@pytest.mark.task(1)
def test_cancellation_propagates(student, sim, conns):
    return judged(judge_cancellation_propagates, **cancelled_worker(student, sim, conns),
                  uses=student.uses("CancelledError", "BaseException", "suppress"))


def swallowed_by(uses: dict) -> str:
    """What caught the CancelledError, named only from what the student's file contains."""
    if uses.get("suppress"):
        return "Suppressing CancelledError (`contextlib.suppress`)"
    written = [name for flag, name in ((uses.get("CancelledError"),
                                         "`except asyncio.CancelledError:`"),
                                        (uses.get("BaseException"), "`except BaseException:`"))
               if flag]
    if written:
        return f"Catching CancelledError (your {' or '.join(written)})"
    return ("Catching CancelledError (a bare `except:` catches it too: it is a "
            "BaseException)")


def judge_cancellation_propagates(seen):
    outcome = expect_cancel_on_the_timeline(seen)
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
        f"{situation}; it returned {outcome.result!r:.60} as if it had finished normally. "
        "The CancelledError was swallowed.",
        misconception=f"{swallowed_by(seen.get('uses', {}))} and then returning or carrying "
        "on ends the task normally, so whoever cancelled it can't tell that it stopped on "
        "request.",
        next_step="Do the cleanup in `finally:`; if you do catch CancelledError, end that "
        "`except` block with a bare `raise`.",
    )


@pytest.mark.task(1)
def test_closes_connection_when_cancelled(student, sim, conns):
    return judged(judge_closes_connection_when_cancelled,
                  **cancelled_worker(student, sim, conns), uses=student.uses("Exception"))


def judge_closes_connection_when_cancelled(seen):
    outcome, conns = expect_cancel_on_the_timeline(seen), seen["conns"]
    expect_no_crash_before_cancel(outcome, seen["io"])
    if not conns:
        fail(f"`worker({JOBS!r})` never called `open_connection()` before it was "
             "cancelled, so there was nothing to close.",
             next_step="Get the connection from the provided `open_connection()`.")
    expect_all_closed(conns, situation=f"When it was cancelled {CANCEL_AT:g} s in "
                      "(in the middle of sending j2)",
                      except_exception=seen["uses"].get("Exception", False))


@pytest.mark.task(1)
def test_stops_promptly_when_cancelled(student, sim, conns):
    return judged(judge_stops_promptly_when_cancelled, **cancelled_worker(student, sim, conns))


def judge_stops_promptly_when_cancelled(seen):
    outcome = expect_cancel_on_the_timeline(seen)
    expect_no_crash_before_cancel(outcome, seen["io"])
    late = new_jobs_started_after(seen["conns"], CANCEL_AT)
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
    """What cancel_all did to a batch of tasks, observed the instant it returned.

    Plain facts only (tasks by name), so a judge reads it back: ``Shutdown(**seen[...])``.
    """

    returned: object = None
    escaped: BaseException | None = None
    still_running: list[str] = field(default_factory=list)
    never_asked: list[str] = field(default_factory=list)  # running, and not even cancelled
    not_cancelled: list[str] = field(default_factory=list)  # ended otherwise, or running
    started: float = 0.0  # loop time cancel_all was called
    took: float = 0.0
    ended: dict[str, str] = field(default_factory=dict)  # name -> cancelled/returned/raised/running


def how_it_ended(task: asyncio.Task) -> str:
    if not task.done():
        return "running"
    if task.cancelled():
        return "cancelled"
    return "raised" if task.exception() is not None else "returned"


def run_shutdown(sim, student, make_tasks, *, settle: float) -> Shutdown:
    """Start the tasks, let them run for ``settle`` s, call cancel_all, inspect at once."""

    async def scenario() -> Shutdown:
        tasks = make_tasks()
        await asyncio.sleep(settle)
        loop = asyncio.get_running_loop()
        started = loop.time()
        report = Shutdown(started=started)
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
        report.not_cancelled = [t.get_name() for t in tasks if not t.cancelled()]
        report.ended = {t.get_name(): how_it_ended(t) for t in tasks}  # retrieves errors
        return report

    return sim.run(scenario(), what="cancel_all")


def judged_shutdown(seen, delays: dict[str, float]) -> Shutdown:
    """The report, once its timeline agrees with this suite's durations and with it."""
    report, io = Shutdown(**seen["shutdown"]), seen["io"]
    expect_suite_delays(io, delays)
    returned_at = report.started + report.took
    if not report.still_running and any(
            op.end is None or op.end > returned_at + 1e-9 for op in io.operations):
        impossible(f"no task was running at {returned_at}, but an operation was")
    return report


def expect_nothing_escaped(report: Shutdown, setup: str, uses: dict) -> None:
    if report.escaped is None:
        return
    exc = report.escaped
    running = (f", and {len(report.still_running)} of the tasks were still running when it "
               "did") if report.still_running else ""
    plain_gather = uses.get("gather") and not uses.get("return_exceptions")
    if isinstance(exc, asyncio.CancelledError):
        what = (f"{setup}, `cancel_all(tasks)` let a CancelledError escape{running}. To its "
                "caller that looks as if cancel_all itself had been cancelled.")
        if plain_gather:
            fail(what,
                 misconception="`gather` without `return_exceptions=True` raises the first "
                 "exception from its tasks, and a cancelled task's CancelledError counts; it "
                 "also stops waiting for the others.",
                 next_step="Wait with `asyncio.gather(*tasks, return_exceptions=True)`: each "
                 "task's exception comes back as a value instead.")
        fail(what,
             misconception="Waiting on a task that ended cancelled (`await task`, or a "
             "helper that passes its outcome on) raises that task's CancelledError in the "
             "code that waits. CancelledError is a BaseException, so `except Exception:` "
             "does not catch it.",
             next_step="Collect each task's outcome as a value instead of letting a cancellation "
                       "escape: gather with `return_exceptions`, `asyncio.wait`, or a "
                       "`CancelledError` handler around each wait.")
    what = (f"{setup}, `cancel_all(tasks)` let {type(exc).__name__} ({exc}) escape{running}: "
            "it came from one of the tasks, which cancel_all should report, not raise.")
    if plain_gather:
        fail(what,
             misconception="`gather` without `return_exceptions=True` raises the first "
             "exception any of its tasks ended with, instead of waiting for the rest.",
             next_step="Wait with `asyncio.gather(*tasks, return_exceptions=True)` so each "
             "task's outcome comes back as a value.")
    fail(what,
         misconception="Waiting on a task that failed (`await task`, `task.result()`, or a "
         "helper that passes its outcome on) raises the task's exception in the code that "
         "waits.",
         next_step="Collect each task's outcome as a value (`asyncio.gather(*tasks, "
         "return_exceptions=True)` or `asyncio.wait(tasks)`), or catch around each wait.")


ESCAPE_NAMES = ("gather", "return_exceptions")


CLEANUPS = {"worker-a": 0.2, "worker-b": 0.3, "worker-c": 0.4}
DRAIN_DELAYS = {name: 50.0 + i for i, name in enumerate(CLEANUPS)} | {
    f"{name} cleanup": cleanup for name, cleanup in CLEANUPS.items()}


@pytest.mark.task(2)
def test_cancels_and_drains(student, sim):
    io = FakeIO(sim)

    def make_tasks():
        return [asyncio.create_task(
                    long_job(io, name, DRAIN_DELAYS[name], DRAIN_DELAYS[f"{name} cleanup"]),
                    name=name)
                for name in CLEANUPS]

    report = run_shutdown(sim, student, make_tasks, settle=0.5)
    return judged(judge_cancels_and_drains, shutdown=vars(report), io=io,
                  uses=student.uses(*ESCAPE_NAMES))


def judge_cancels_and_drains(seen):
    report = judged_shutdown(seen, DRAIN_DELAYS)
    call = "cancel_all(tasks)"
    setup = "With three running tasks whose cleanups take 0.2 s, 0.3 s and 0.4 s"
    expect_nothing_escaped(report, setup, seen["uses"])
    if report.never_asked:
        fail(
            f"{setup}, `{call}` returned without cancelling "
            f"{', '.join(report.never_asked)}: they were still running.",
            misconception="A task runs until it finishes or is cancelled; nothing stops it "
            "for you.",
            next_step="Cancel every task, then wait for them.",
        )
    if report.still_running:
        fail(
            f"{setup}, `{call}` returned while {', '.join(report.still_running)} were "
            "still running.",
            misconception="`task.cancel()` only asks a task to stop; the task stops later, "
            "after its own cleanup. Returning right after cancel() leaves them running.",
            next_step="After cancelling, await the tasks too (gather with `return_exceptions` "
                      "hands their cancellations back as values).",
        )
    not_cancelled = report.not_cancelled
    if not_cancelled:
        fail(
            f"{setup}, `{call}` never cancelled {', '.join(not_cancelled)}: it waited "
            f"{report.took:.1f} s for them to finish on their own.",
            misconception="Waiting for a task is not the same as stopping it.",
            next_step="Cancel every task before waiting for them.",
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


COUNT_DELAYS = {"finished": 0.1, "failed": 0.2,
                "cancelled-earlier": 30.0, "cancelled-earlier cleanup": 0.15,
                "running-1": 40.0, "running-1 cleanup": 0.3,
                "running-2": 41.0, "running-2 cleanup": 0.4,
                "stubborn": 42.0, "stubborn cleanup": 0.35,
                "broken-cleanup": 43.0, "broken-cleanup cleanup": 0.45}
CANCELLED_EARLIER_AT = 0.1  # the test cancels it itself, long before cancel_all is called
ENDED_CANCELLED = ["cancelled-earlier", "running-1", "running-2"]
COUNT_SETUP = ("With seven tasks: one already finished, one already failed, one already "
               "cancelled, and four still running, of which one (stubborn) catches the "
               "CancelledError and returns a value and one (broken-cleanup) raises "
               "SourceFailed while it cleans up")


async def stubborn_job(io: FakeIO, label: str, runs_for: float, cleanup: float) -> str:
    """A test task that refuses cancellation: it cleans up and then returns normally."""
    try:
        await io.operation(label, runs_for)
    except asyncio.CancelledError:
        await io.operation(f"{label} cleanup", cleanup)
    return label


async def broken_cleanup_job(io: FakeIO, label: str, runs_for: float, cleanup: float) -> str:
    """A test task whose cleanup fails, so it ends with that error instead of cancelled."""
    try:
        await io.operation(label, runs_for)
    except asyncio.CancelledError:
        await io.operation(f"{label} cleanup", cleanup,
                           error=SourceFailed("the cleanup lost its connection"))
        raise
    return label


@pytest.mark.task(2)
def test_counts_cancelled_tasks(student, sim):
    io = FakeIO(sim)
    d = COUNT_DELAYS

    def make_tasks():
        def task(job, name, *extra):
            return asyncio.create_task(job(io, name, d[name], *extra), name=name)

        earlier = task(long_job, "cancelled-earlier", d["cancelled-earlier cleanup"])
        asyncio.get_running_loop().call_later(CANCELLED_EARLIER_AT, earlier.cancel)
        return [
            task(quick_job, "finished"),
            task(quick_job, "failed", SourceFailed("the server hung up")),
            earlier,
            task(long_job, "running-1", d["running-1 cleanup"]),
            task(long_job, "running-2", d["running-2 cleanup"]),
            task(stubborn_job, "stubborn", d["stubborn cleanup"]),
            task(broken_cleanup_job, "broken-cleanup", d["broken-cleanup cleanup"]),
        ]

    report = run_shutdown(sim, student, make_tasks, settle=0.5)
    try:
        empty, empty_error = sim.run(student.cancel_all([]), what="cancel_all([])"), None
    except NotImplementedError:
        raise
    except Exception as exc:  # explained to the student, whatever it is
        empty, empty_error = None, f"{type(exc).__name__}: {exc}"[:160]
    return judged(judge_counts_cancelled_tasks, shutdown=vars(report), io=io,
                  uses=student.uses(*ESCAPE_NAMES), empty=empty, empty_error=empty_error)


def judge_counts_cancelled_tasks(seen):
    report = judged_shutdown(seen, COUNT_DELAYS)
    expect_nothing_escaped(report, COUNT_SETUP, seen["uses"])
    if seen["empty_error"]:
        fail(f"`cancel_all([])` raised {seen['empty_error'].rstrip('.')}.",
             misconception="With no tasks there is nothing to cancel or wait for, and no "
             "exception may escape from cancel_all: the answer is 0. (asyncio.wait refuses "
             "an empty collection; gather of nothing returns at once.)",
             next_step="Make sure an empty list of tasks returns 0.")
    expect_equal(seen["empty"], 0, call="cancel_all([])",
                 misconception="With no tasks, none ended cancelled.",
                 next_step="Make sure an empty list of tasks returns 0.")
    returned, expected = report.returned, len(ENDED_CANCELLED)
    if same_value(returned, expected) and not report.still_running:
        return
    call = f"`cancel_all(tasks)` returned {returned!r:.60}"
    if report.still_running:
        fail(f"{COUNT_SETUP}, {call} while {', '.join(report.still_running)} were still "
             "running, so it could not yet know how they would end.",
             misconception="`task.cancel()` only asks; whether a task ends cancelled is "
             "known only once it has finished (it may refuse, or fail in its cleanup).",
             next_step="Wait for every task first, then count the ones for which "
             "`task.cancelled()` is true.")
    why = {
        7: "You counted every task, but three of them did not end cancelled.",
        5: "You counted every task that ended with an exception, but failed and "
           "broken-cleanup ended with SourceFailed, not a CancelledError.",
        4: "You counted the tasks that were still running when you cancelled them (what "
           "`cancel()` returning True tells you), but a cancel is only a request: "
           "stubborn refused it and broken-cleanup failed instead, while "
           "cancelled-earlier, already cancelled, counts.",
        2: "You left out cancelled-earlier: it was cancelled before cancel_all was "
           "called, and it ended cancelled all the same.",
        3: "",
    }.get(returned if type(returned) is int else None,
          "Count how each task ended, after all of them have finished.")
    fail(
        f"{COUNT_SETUP}, {call}, but {expected} of the tasks ended cancelled "
        f"({', '.join(ENDED_CANCELLED)}).",
        misconception=f"{why} What counts is how each task ended: `task.cancelled()` "
        "after waiting, or the CancelledError values among gather's results.",
        next_step="After waiting, count with `sum(task.cancelled() for task in tasks)`.",
    )
