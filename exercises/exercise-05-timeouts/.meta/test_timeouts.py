"""Hidden checks for exercise 05 (timeouts).

Every call goes through ``call``, which runs the student's coroutine inside a small
observer and writes down, the instant it returns or raises, the simulated time, the state
of each fake download and the tasks not yet finished. Looking only after ``sim.run`` would
be too late: the loop runs one more round before it stops, and in that round a task that
was merely *asked* to cancel gets to finish.

Each test ends with ``return judged(judge_<check>, sim=sim, ended=ended)``: the ``Ended``
record (value or error, time, the fetches as they stood, tasks left running) crosses as
itself, each fetch's delay is checked against this suite's own tables, and only the
judges' conditions earn points.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from typing import Any, NoReturn

import pytest

from grader.suite import (
    Ended,
    FakeIO,
    Operation,
    SourceFailed,
    describe_violation,
    expect_no_blocking,
    fail,
    judged,
    observe,
    same_value,
    task_label,
)

EPS = 1e-6
DELAYS = {"quick": 0.5, "slow": 3.0, "broken": 0.3, "stalled": 0.4}
# What a message may name: only the constructs the student's file uses (student.uses).
CONSTRUCTS = ("shield", "wait", "wait_for", "timeout", "CancelledError", "cancel")
DEFAULT = "cached copy"
DEFAULT_DELAY = 1.0  # FakeIO's, for a source missing from the table
FITS = {"login": 0.2, "account": 0.3, "orders": 0.4}  # 0.9 s in all: fits in 1.2 s
TOO_LONG = {"login": 0.4, "account": 0.5, "orders": 0.6, "receipt": 0.2}  # 'orders' at 1.2 s

AFTER_THE_FACT = (
    "Looking at the clock after `await fetch(...)` has returned comes too late: the waiting "
    "has already happened. A time limit has to interrupt the fetch while it is still waiting."
)
USE_THE_TOOLS = (
    "Use asyncio.wait_for(fetch(source), timeout=seconds) or an `async with "
    "asyncio.timeout(seconds):` block: they cancel the fetch at the limit and raise "
    "TimeoutError right then."
)

ONE_BLOCK = (
    "Put the whole loop inside one `async with asyncio.timeout(seconds):` block: when the "
    "limit runs out it cancels the step in flight and raises TimeoutError right then."
)


# -- observing one call ------------------------------------------------------------------


def call(sim, student, make: Callable[[], Any], *, what: str, delays: dict[str, float],
         failing: dict[str, BaseException] | None = None) -> Ended:
    """Install a fresh fake ``fetch``, run ``make()`` on the virtual clock, observe its end."""
    io = FakeIO(sim, delays, failing=failing)
    student.replace("fetch", io.fetch)
    return observe(sim, make(), what=what, io=io)


def timed(ended: Ended, delays: dict[str, float], sim, *, last: bool = True) -> Ended:
    """The call's record, checked against this suite's delays and the simulation's timeline.

    Each fetch took the delay the table gives it, a fetch that had ended by then is the
    simulation's own, and the last call's record spans the simulation's last run, with
    every fetch started in it. (Anything else no honest run produces: the check is
    flagged for review.)
    """
    for op in ended.ops.values():
        told = delays.get(op.label, DEFAULT_DELAY)
        if op.delay is None or abs(op.delay - told) > EPS:
            raise ValueError(f"fetch({op.label[:40]!r}) reports a delay of {op.delay}, "
                             f"not {told:g} s")
        if not any(as_the_simulation_saw(op, o, ended) for o in sim.operations):
            raise ValueError(f"fetch({op.label[:40]!r}) is not as the simulation saw it")
    end = ended.began + ended.at
    if last and (abs(sim.started - ended.began) > EPS
                 or abs(sim.started + sim.elapsed - end) > EPS
                 or any(o.start >= sim.started - EPS and o.start < end - EPS
                        and ended.op(o.label) is None for o in sim.operations)):
        raise ValueError("the call's record does not match the simulation's last run")
    return ended


def as_the_simulation_saw(op: Operation, sim_op: Operation, ended: Ended) -> bool:
    """``op`` (as the call ended) is ``sim_op``: finished alike, or still running then."""
    if sim_op.label != op.label or abs(sim_op.start - op.start) > EPS:
        return False
    if op.end is None:
        return sim_op.end is None or sim_op.end >= ended.began + ended.at - EPS
    return (sim_op.end is not None and abs(sim_op.end - op.end) <= EPS
            and sim_op.outcome == op.outcome)


# -- failing with the real cause -----------------------------------------------------------


def explain(sim, what: str, *, misconception: str, next_step: str) -> NoReturn:
    """Fail; if the event loop was blocked, that is the real cause, so it is named first."""
    sleeps = [v for v in sim.violations if v.kind == "sleep"]
    if sleeps:
        first = sleeps[0]
        more = f" (and {len(sleeps) - 1} more)" if len(sleeps) > 1 else ""
        fail(
            f"{what} The cause: your code blocked the event loop with "
            f"{describe_violation(first)}{more}, and while the loop is frozen nothing else "
            "runs, not even the fetch you are waiting for.",
            misconception="`time.sleep` stops the one thread every task runs on. Polling a "
            "task with time.sleep never lets that task make progress.",
            next_step="Wait with `await`: asyncio.wait_for or asyncio.timeout do the timing "
            "for you, and never freeze the loop.",
        )
    fail(what, misconception=misconception, next_step=next_step)


def reraise_unexpected(sim, ended: Ended, what: str, *allowed: type[BaseException]) -> None:
    """Errors the check did not ask for are the student's own: show them as such."""
    error = ended.error
    if error is None or isinstance(error, allowed):
        return
    if isinstance(error, asyncio.CancelledError):
        explain(
            sim,
            f"Called `{what}`; a CancelledError escaped from it at {ended.at:.1f} s.",
            misconception="Awaiting a task that has been cancelled raises CancelledError in "
            "the code that awaits it. It means 'that task was stopped'; your caller expected "
            "a TimeoutError or a value, not a CancelledError.",
            next_step="Let asyncio.wait_for or asyncio.timeout do the cancelling: they turn "
            "it into a TimeoutError for you.",
        )
    raise error


def expect_value_on_time(sim, ended: Ended, what: str, *, expected: str, ready: float,
                         limit: float) -> None:
    """The fetch finished at ``ready`` (< ``limit``): its value, returned right then."""
    if isinstance(ended.error, TimeoutError):
        explain(
            sim,
            f"Called `{what}`; it raised TimeoutError at {ended.at:.1f} s, although that fetch "
            f"takes only {ready:.1f} s, well inside the {limit:.1f} s limit.",
            misconception="A time limit should only stop an operation that is still running "
            "when it runs out; one that finishes in time must hand back its value.",
            next_step=USE_THE_TOOLS,
        )
    reraise_unexpected(sim, ended, what)
    if not same_value(ended.value, expected):
        explain(
            sim,
            f"Called `{what}`; it returned {ended.value!r:.80}, but {expected!r} was expected.",
            misconception="A fetch that finishes within the limit should give back exactly "
            "what fetch returned.",
            next_step="Return the fetch's result.",
        )
    if ended.at <= ready + EPS:
        return
    if abs(ended.at - limit) <= EPS:
        explain(
            sim,
            f"Called `{what}`; it returned the right value, but only at {ended.at:.1f} s: the "
            f"fetch had finished at {ready:.1f} s, so your function waited out the whole "
            f"{limit:.1f} s limit.",
            misconception="A time limit is the longest you are willing to wait, not a fixed "
            "wait: sleeping for the full limit and then looking makes every call as slow as "
            "the limit.",
            next_step="Wait for the fetch itself, with a limit: asyncio.wait_for returns the "
            "moment the fetch does.",
        )
    explain(
        sim,
        f"Called `{what}`; it returned the value at {ended.at:.1f} s, "
        f"{ended.at - ready:.1f} s late: the fetch had finished at {ready:.1f} s.",
        misconception="Checking on a task every so often (polling) only notices that it "
        "finished at the next look; meanwhile the caller waits for nothing.",
        next_step="Await the fetch itself under a limit (asyncio.wait_for or "
        "asyncio.timeout); you are resumed the moment it finishes.",
    )


def expect_at_limit(sim, ended: Ended, what: str, *, limit: float, label: str,
                    next_step: str = USE_THE_TOOLS) -> None:
    """The call gave up (raised or fell back) exactly when ``limit`` ran out."""
    at = ended.at
    if abs(at - limit) <= EPS:
        return
    if at < limit:
        explain(
            sim,
            f"Called `{what}`; it {ended.how} at {at:.1f} s, {limit - at:.1f} s before the "
            f"{limit:.1f} s limit.",
            misconception="Giving up early takes away time the operation was promised; it "
            "might have finished just in time.",
            next_step="Use the limit exactly as given. " + next_step,
        )
    op = ended.op(label)
    if op is not None and op.outcome == "ok":
        explain(
            sim,
            f"Called `{what}`; it {ended.how} only at {at:.1f} s, after '{label}' had already "
            f"finished (at {ended.when(op.end):.1f} s), instead of at the {limit:.1f} s limit.",
            misconception=AFTER_THE_FACT,
            next_step=next_step,
        )
    explain(
        sim,
        f"Called `{what}`; it {ended.how} at {at:.1f} s, {at - limit:.1f} s late: the limit "
        f"was {limit:.1f} s.",
        misconception="Checking the clock every so often (polling) notices the deadline only "
        "at the first look after it, so the caller waits longer than promised.",
        next_step=next_step,
    )


def expect_stopped(sim, ended: Ended, what: str, *, label: str, limit: float,
                   uses: dict[str, bool]) -> None:
    """The download in flight at the limit was cancelled, and nothing is left running."""
    op = ended.op(label)
    if op is None:
        explain(
            sim,
            f"Called `{what}`; it {ended.how} at {ended.at:.1f} s, but the fetch of "
            f"'{label}' never even started.",
            misconception="Calling fetch(...) only builds a coroutine; it runs once it is "
            "awaited or wrapped in a task.",
            next_step="Await the fetch (under a time limit).",
        )
    if op.outcome == "ok":
        explain(
            sim,
            f"Called `{what}`; the fetch of '{label}' ran to the end (it finished at "
            f"{ended.when(op.end):.1f} s) instead of being cancelled at the {limit:.1f} s "
            f"limit, and your function {ended.how} only after it had already finished.",
            misconception=AFTER_THE_FACT,
            next_step=USE_THE_TOOLS,
        )
    if op.outcome == "running":
        if any(task.cancelling() for task in ended.unfinished):
            explain(
                sim,
                f"Called `{what}`; when it {ended.how} at {ended.at:.1f} s, the fetch of "
                f"'{label}' had been asked to cancel but was still running: your function "
                "did not wait for the cancellation to finish.",
                misconception="task.cancel() only asks: the task stops later, the next time "
                "it gets to run. Until then it is still running.",
                next_step="After cancel(), wait for the task (asyncio.wait([task])) before "
                "you raise; asyncio.wait_for does all of this for you.",
            )
        if uses["shield"]:
            why = ("asyncio.shield protects what it wraps from cancellation: at the limit "
                   "the timeout cancels only the shield, stops waiting, and the fetch inside "
                   "carries on.")
            step = ("Don't shield the fetch: give wait_for (or asyncio.timeout) the fetch "
                    "itself, so the limit can cancel it.")
        elif uses["wait"]:
            why = ("asyncio.wait(..., timeout=...) only reports which tasks are still "
                   "pending; it stops none of them.")
            step = ("Cancel what is still pending and wait for it to stop, or use "
                    "asyncio.wait_for, which does both.")
        else:
            why = ("Stopping waiting for a task does not stop the task: only cancelling it "
                   "does.")
            step = ("Cancel the fetch at the limit and wait for it to stop; asyncio.wait_for "
                    "and asyncio.timeout do both for you.")
        explain(
            sim,
            f"Called `{what}`; when it {ended.how} at {ended.at:.1f} s, the fetch of "
            f"'{label}' was still running: nothing cancelled it, so it carries on in the "
            "background as a leaked task.",
            misconception=f"{why} A task nobody cancels keeps running and keeps its "
            "connection open.",
            next_step=step,
        )
    if ended.unfinished:
        names = ", ".join(task_label(t) for t in ended.unfinished[:3])
        explain(
            sim,
            f"Called `{what}`; when it {ended.how} at {ended.at:.1f} s, "
            f"{len(ended.unfinished)} task(s) it started were still running: {names}.",
            misconception="A task keeps running after the code that started it moves on; "
            "nobody waits for it or sees its errors.",
            next_step="Cancel every task you no longer need and wait for it to stop before "
            "returning.",
        )


def overlapped(ended: Ended) -> bool:
    ops = sorted(ended.ops.values(), key=lambda op: op.start)
    return any(later.start < (earlier.end if earlier.end is not None else float("inf")) - EPS
               for earlier, later in itertools.pairwise(ops))


def explain_overlap(sim, ended: Ended, what: str) -> None:
    starts = ", ".join(f"'{op.label}' at {ended.when(op.start):.1f} s"
                       for op in sorted(ended.ops.values(), key=lambda op: op.start))
    explain(
        sim,
        f"Called `{what}`; the steps ran at the same time (started: {starts}), but each step "
        "needs the one before it, so they have to run one after another.",
        misconception="gather or create_task start everything at once. That is right for "
        "independent downloads, but these steps depend on each other.",
        next_step="Await each fetch in turn in a loop, and put one time limit around the "
        "whole loop.",
    )


# -- task 1 --------------------------------------------------------------------------------


@pytest.mark.task(1)
def test_fast_fetch_returns_its_value(student, sim):
    what = "fetch_with_timeout('quick', 2.0)"
    ended = call(sim, student, lambda: student.fetch_with_timeout("quick", 2.0),
                 what=what, delays=DELAYS)
    return judged(judge_fast_fetch_returns_its_value, sim=sim, ended=ended)


def judge_fast_fetch_returns_its_value(seen):
    what = "fetch_with_timeout('quick', 2.0)"
    sim = seen["sim"]
    ended = timed(seen["ended"], DELAYS, sim)
    expect_value_on_time(sim, ended, what, expected="data from quick", ready=0.5, limit=2.0)


@pytest.mark.task(1)
def test_slow_fetch_times_out_at_deadline(student, sim):
    what = "fetch_with_timeout('slow', 1.0)"
    ended = call(sim, student, lambda: student.fetch_with_timeout("slow", 1.0),
                 what=what, delays=DELAYS)
    return judged(judge_slow_fetch_times_out_at_deadline, sim=sim, ended=ended)


def judge_slow_fetch_times_out_at_deadline(seen):
    what = "fetch_with_timeout('slow', 1.0)"
    sim = seen["sim"]
    ended = timed(seen["ended"], DELAYS, sim)
    if ended.error is None:
        if same_value(ended.value, "data from slow"):
            explain(
                sim,
                f"Called `{what}` ('slow' takes 3.0 s); it waited {ended.at:.1f} s and "
                "returned the value: nothing stopped the fetch when the 1.0 s limit ran out.",
                misconception="Awaiting a coroutine waits as long as it takes; a time limit "
                "only exists if something enforces it.",
                next_step=USE_THE_TOOLS,
            )
        explain(
            sim,
            f"Called `{what}` ('slow' takes 3.0 s); it returned {ended.value!r:.80} at "
            f"{ended.at:.1f} s instead of raising TimeoutError: the timeout was caught and "
            "swallowed.",
            misconception="A stand-in value looks like an answer, so the caller carries on "
            "as if the fetch had worked. Only an exception tells it the data never came.",
            next_step="Don't catch the TimeoutError in fetch_with_timeout; let it reach the "
            "caller. Task 2 is where a fallback belongs.",
        )
    reraise_unexpected(sim, ended, what, TimeoutError)
    expect_at_limit(sim, ended, what, limit=1.0, label="slow")


@pytest.mark.task(1)
def test_slow_fetch_is_cancelled(student, sim):
    what = "fetch_with_timeout('slow', 1.0)"
    ended = call(sim, student, lambda: student.fetch_with_timeout("slow", 1.0),
                 what=what, delays=DELAYS)
    return judged(judge_slow_fetch_is_cancelled, sim=sim, ended=ended,
                  uses=student.uses(*CONSTRUCTS))


def judge_slow_fetch_is_cancelled(seen):
    what = "fetch_with_timeout('slow', 1.0)"
    sim = seen["sim"]
    ended = timed(seen["ended"], DELAYS, sim)
    reraise_unexpected(sim, ended, what, TimeoutError)
    expect_stopped(sim, ended, what, label="slow", limit=1.0, uses=seen["uses"])


@pytest.mark.task(1)
def test_never_blocks_the_loop(student, sim):
    endeds = []
    for source, seconds in TWO_CALLS:
        what = f"fetch_with_timeout({source!r}, {seconds})"
        ended = call(sim, student, lambda s=source, t=seconds: student.fetch_with_timeout(s, t),
                     what=what, delays=DELAYS)
        reraise_unexpected(sim, ended, what, TimeoutError)
        endeds.append(ended)
    return judged(judge_never_blocks_the_loop, sim=sim, ended=endeds)


TWO_CALLS = (("quick", 2.0), ("slow", 1.0))


def judge_never_blocks_the_loop(seen):
    sim = seen["sim"]
    calls = list(zip(seen["ended"], TWO_CALLS, strict=True))
    for i, (ended, (source, seconds)) in enumerate(calls, start=1):
        what = f"fetch_with_timeout({source!r}, {seconds})"
        reraise_unexpected(sim, timed(ended, DELAYS, sim, last=i == len(calls)), what,
                           TimeoutError)
    expect_no_blocking(sim)


# -- task 2 --------------------------------------------------------------------------------


@pytest.mark.task(2)
def test_fallback_on_timeout(student, sim):
    uses = student.uses(*CONSTRUCTS)
    slow = call(sim, student, lambda: student.fetch_or_default("slow", 1.0, DEFAULT),
                what=SLOW_DEFAULT, delays=DELAYS)
    expect_fallback(sim, slow, uses)
    stalled = call(sim, student, lambda: student.fetch_or_default("stalled", 2.0, DEFAULT),
                   what=STALLED_DEFAULT, delays=DELAYS,
                   failing={"stalled": TimeoutError("'stalled' gave no answer")})
    quick = call(sim, student, lambda: student.fetch_or_default("quick", 2.0, DEFAULT),
                 what=QUICK_DEFAULT, delays=DELAYS)
    return judged(judge_fallback_on_timeout, sim=sim, slow=slow, stalled=stalled,
                  quick=quick, uses=uses)


SLOW_DEFAULT = f"fetch_or_default('slow', 1.0, {DEFAULT!r})"
QUICK_DEFAULT = f"fetch_or_default('quick', 2.0, {DEFAULT!r})"
STALLED_DEFAULT = f"fetch_or_default('stalled', 2.0, {DEFAULT!r})"


def judge_fallback_on_timeout(seen):
    sim = seen["sim"]
    expect_fallback(sim, timed(seen["slow"], DELAYS, sim, last=False), seen["uses"])
    stalled = timed(seen["stalled"], DELAYS, sim, last=False)
    if not (stalled.error is None and same_value(stalled.value, DEFAULT)
            and abs(stalled.at - 0.4) <= EPS):
        got = (f"raised {type(stalled.error).__name__}" if stalled.error is not None
               else f"returned {stalled.value!r:.80}")
        explain(
            sim,
            f"Called `{STALLED_DEFAULT}`, where fetch('stalled') itself raises TimeoutError "
            f"after 0.4 s (its own connection timed out); it {got} at {stalled.at:.1f} s "
            f"instead of returning the default {DEFAULT!r} right then.",
            misconception="A TimeoutError is a timeout whoever raised it: the fetch's own "
            "timeout means the data is not coming, just like your limit running out, so "
            "the caller gets the default.",
            next_step="Catch TimeoutError around the whole timed fetch and return `default`.",
        )
    expect_value_on_time(sim, timed(seen["quick"], DELAYS, sim), QUICK_DEFAULT,
                         expected="data from quick", ready=0.5, limit=2.0)


def expect_fallback(sim, ended: Ended, uses: dict[str, bool]) -> None:
    """'slow' (3.0 s) under a 1.0 s limit: the default, at the limit, the fetch stopped."""
    what = SLOW_DEFAULT
    if isinstance(ended.error, TimeoutError):
        caught = (" Your file catches CancelledError: the limit cancels the fetch inside "
                  "wait_for (or the timeout block), but what comes out to your code is "
                  "TimeoutError." if uses["CancelledError"] else "")
        explain(
            sim,
            f"Called `{what}` ('slow' takes 3.0 s); it raised TimeoutError at "
            f"{ended.at:.1f} s, but the caller asked for the default instead.{caught}",
            misconception="A fallback means catching the timeout and answering with the "
            "default; here the TimeoutError escaped to the caller.",
            next_step="Catch TimeoutError around the timed fetch and return `default`.",
        )
    reraise_unexpected(sim, ended, what)
    if same_value(ended.value, "data from slow"):
        explain(
            sim,
            f"Called `{what}` ('slow' takes 3.0 s); it waited {ended.at:.1f} s and returned "
            "the fetched value: nothing stopped the fetch when the 1.0 s limit ran out.",
            misconception="Awaiting a coroutine waits as long as it takes; a time limit only "
            "exists if something enforces it.",
            next_step=USE_THE_TOOLS,
        )
    if not same_value(ended.value, DEFAULT):
        explain(
            sim,
            f"Called `{what}`; it returned {ended.value!r:.80}, but the default {DEFAULT!r} "
            "was expected.",
            misconception="When the time runs out, the answer is exactly the `default` the "
            "caller passed in.",
            next_step="Return `default` when the timed fetch raises TimeoutError.",
        )
    expect_at_limit(sim, ended, what, limit=1.0, label="slow")
    expect_stopped(sim, ended, what, label="slow", limit=1.0, uses=uses)


@pytest.mark.task(2)
def test_other_errors_still_raise(student, sim):
    what = f"fetch_or_default('broken', 1.0, {DEFAULT!r})"
    ended = call(sim, student, lambda: student.fetch_or_default("broken", 1.0, DEFAULT),
                 what=what, delays=DELAYS, failing={"broken": SourceFailed("'broken' is down")})
    return judged(judge_other_errors_still_raise, sim=sim, ended=ended)


def judge_other_errors_still_raise(seen):
    what = f"fetch_or_default('broken', 1.0, {DEFAULT!r})"
    sim = seen["sim"]
    ended = timed(seen["ended"], DELAYS, sim)
    if isinstance(ended.error, SourceFailed):
        return
    setting = ("where fetch('broken') fails after 0.3 s with SourceFailed (a kind of "
               "ConnectionError)")
    if ended.error is None:
        explain(
            sim,
            f"Called `{what}`, {setting}; it returned {ended.value!r:.80} instead of letting "
            "that error through: catching every exception hides real errors behind the "
            "fallback.",
            misconception="`except Exception` catches far more than the timeout: a refused "
            "connection, or a bug in your own code, silently turns into the default and "
            "nobody learns that something broke.",
            next_step="Catch exactly TimeoutError and let every other exception propagate.",
        )
    if isinstance(ended.error, TimeoutError):
        explain(
            sim,
            f"Called `{what}`, {setting}; it raised TimeoutError instead, which hides what "
            "really went wrong.",
            misconception="Turning one error into another loses the real cause: the caller "
            "would retry a server that is down as if it were merely slow.",
            next_step="Catch exactly TimeoutError and let every other exception propagate "
            "unchanged.",
        )
    reraise_unexpected(sim, ended, what)


# -- task 3 --------------------------------------------------------------------------------


@pytest.mark.task(3)
def test_steps_run_in_order(student, sim):
    sources = list(FITS)
    what = f"fetch_in_order({sources!r}, 1.2)"
    ended = call(sim, student, lambda: student.fetch_in_order(list(sources), 1.2),
                 what=what, delays=FITS)
    return judged(judge_steps_run_in_order, sim=sim, ended=ended)


def judge_steps_run_in_order(seen):
    sources = list(FITS)
    what = f"fetch_in_order({sources!r}, 1.2)"
    sim = seen["sim"]
    ended = timed(seen["ended"], FITS, sim)
    if isinstance(ended.error, TimeoutError):
        explain(
            sim,
            f"Called `{what}`; it raised TimeoutError at {ended.at:.1f} s, but the three "
            "steps need only 0.9 s together, inside the 1.2 s limit.",
            misconception="The limit should only fire when the sequence is still running "
            "when it runs out.",
            next_step="Give the whole sequence the limit it was given, once.",
        )
    reraise_unexpected(sim, ended, what)
    if overlapped(ended):
        explain_overlap(sim, ended, what)
    started = [op.label for op in sorted(ended.ops.values(), key=lambda op: op.start)]
    if started != sources:
        explain(
            sim,
            f"Called `{what}`; the steps were fetched in the order {started!r}, but "
            f"{sources!r} was asked for.",
            misconception="Each step needs the one before it, so they go in the order given.",
            next_step="Loop over `sources` in order and await each fetch in turn.",
        )
    expected = [f"data from {s}" for s in sources]
    if not same_value(ended.value, expected):
        explain(
            sim,
            f"Called `{what}`; it returned {ended.value!r:.200}, but {expected!r} was "
            "expected.",
            misconception="The result is the list of every step's result, in step order.",
            next_step="Append each fetch's result to a list and return it.",
        )
    if ended.at > 0.9 + EPS:
        explain(
            sim,
            f"Called `{what}`; the steps were done at 0.9 s, but it returned only at "
            f"{ended.at:.1f} s.",
            misconception="A time limit is the longest you are willing to wait, not a fixed "
            "wait.",
            next_step="Return as soon as the last step has finished.",
        )


@pytest.mark.task(3)
def test_overall_deadline(student, sim):
    sources = list(TOO_LONG)
    what = f"fetch_in_order({sources!r}, 1.2)"
    ended = call(sim, student, lambda: student.fetch_in_order(list(sources), 1.2),
                 what=what, delays=TOO_LONG)
    return judged(judge_overall_deadline, sim=sim, ended=ended,
                  uses=student.uses(*CONSTRUCTS))


def judge_overall_deadline(seen):
    sources = list(TOO_LONG)
    what = f"fetch_in_order({sources!r}, 1.2)"
    sim = seen["sim"]
    ended = timed(seen["ended"], TOO_LONG, sim)
    setting = ("(steps of 0.4, 0.5, 0.6 and 0.2 s: 1.7 s in all, so the limit runs out "
               "during 'orders')")
    if ended.error is None:
        if overlapped(ended):
            explain_overlap(sim, ended, what)
        if all(op.outcome == "ok" for op in ended.ops.values()) and len(ended.ops) == 4:
            explain(
                sim,
                f"Called `{what}` {setting}; it returned all four results at "
                f"{ended.at:.1f} s, past the 1.2 s limit for the whole sequence: your limit "
                "never ran out, so it did not cover the whole sequence. Likely causes: a "
                "fresh limit for each step (each step fits in 1.2 s on its own), or a limit "
                "around only part of the loop.",
                misconception="A limit per step starts the clock again at every step, so the "
                "sequence as a whole has no limit at all: ten steps of 1 s would take 10 s.",
                next_step="Give the whole loop one shared deadline (one `asyncio.timeout` block "
                          "around all of it), or give each step only the time that is left.",
            )
        explain(
            sim,
            f"Called `{what}` {setting}; it returned {ended.value!r:.120} at "
            f"{ended.at:.1f} s instead of raising TimeoutError at 1.2 s.",
            misconception="When the sequence cannot finish in time, the caller must hear "
            "about it: a partial or stand-in answer looks like success.",
            next_step="Let the TimeoutError propagate out of fetch_in_order.",
        )
    reraise_unexpected(sim, ended, what, TimeoutError)
    expect_at_limit(sim, ended, what, limit=1.2, label="orders", next_step=ONE_BLOCK)
    expect_stopped(sim, ended, what, label="orders", limit=1.2, uses=seen["uses"])
    if ended.op("receipt") is not None:
        explain(
            sim,
            f"Called `{what}` {setting}; after the limit ran out, the next step 'receipt' "
            "was started anyway.",
            misconception="Once the whole sequence is out of time, no further step should "
            "begin.",
            next_step="Let the TimeoutError end the loop.",
        )
