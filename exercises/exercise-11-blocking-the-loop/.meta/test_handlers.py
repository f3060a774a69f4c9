"""Hidden checks for exercise 11 (blocking the loop).

A heartbeat task ticks every 0.1 s of simulated time beside the student's handler: a
frozen loop shows up as a silence in it, and as a recorded violation. The provided
``legacy_lookup`` is replaced by a recording fake whose ``time.sleep`` is a violation
when it runs on the loop's thread and a virtual sleep inside a worker thread, so no
verdict here depends on real time.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations (the heartbeat's beat times, the
library's calls with their operations, what the handler returned), where no student
code runs. Only the judges' conditions earn points.
"""

import asyncio
import inspect
import linecache
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from grader.suite import (
    WAIT_MISCONCEPTION,
    WAIT_NEXT_STEP,
    CpuLimitExceeded,
    Operation,
    describe_frame,
    describe_violation,
    expect_all_awaited,
    expect_equal,
    fail,
    judged,
    loop_header,
    loop_runs_here,
    ran_one_after_another,
    student_frame,
)

TICK = 0.1  # the heartbeat's interval
LONGEST_SILENCE = 0.15  # the longest gap between two beats we accept
SETTLE = 0.22  # the heartbeat keeps running this long after the handler returns
DELAYS = {"alpha": 0.55, "beta": 0.35, "gamma": 0.45}  # beta finishes first, alpha last
KEYS = ["alpha", "beta", "gamma"]
EPS = 1e-6


def expected(key: str) -> str:
    return f"value of {key}"


# -- the fake library -----------------------------------------------------------------


class FakeLibrary:
    """Stands in for ``legacy_lookup``: records each call's thread, caller and span.

    A call is a plain dict (what the judges see): ``key``, its ``op`` on the simulation's
    timeline, ``on_loop``, and the student frame that made it: ``caller`` ("handlers.py:25
    in lookup"), ``caller_name``, ``caller_is_async``.
    """

    def __init__(self, sim: Any, student: Any) -> None:
        self.sim = sim
        self.student_file = str(Path(student.path).resolve())
        self.calls: list[dict[str, Any]] = []

    def legacy_lookup(self, key: str) -> str:
        loop = self.sim.loop
        delay = DELAYS.get(key, 0.5)
        op = Operation(label=f"legacy_lookup({key!r})", start=loop.time(), delay=delay)
        caller, caller_name, caller_is_async = _student_caller(self.student_file)
        self.calls.append({"key": key, "op": op, "on_loop": loop_runs_here(), "caller": caller,
                           "caller_name": caller_name, "caller_is_async": caller_is_async})
        self.sim.operations.append(op)
        try:
            time.sleep(delay)  # a violation on the loop, virtual in a thread
        finally:
            op.end = loop.time()
            op.outcome = "ok"
        return expected(key)


def lookup_calls(seen: dict[str, Any]) -> list[dict[str, Any]]:
    """The library's calls, each one a lookup on the simulation's timeline that took as
    long as DELAYS says (observations that disagree come from no honest run)."""
    timeline = {(op.label, op.start, op.end) for op in seen["sim"].operations}
    for call in seen["calls"]:
        op = call["op"]
        if (op.label != f"legacy_lookup({call['key']!r})"
                or (op.label, op.start, op.end) not in timeline):
            raise ValueError(f"a lookup the simulation never saw: {op.label[:60]}")
        if op.end is not None and op.end - op.start < DELAYS.get(call["key"], 0.5) - EPS:
            raise ValueError(f"{op.label[:60]} took less than its delay")
    return seen["calls"]


def _student_caller(student_file: str) -> tuple[str, str, bool]:
    """(where, function name, is it an async def) of the innermost student frame."""
    frame = student_frame(student_file)
    if frame is None:
        return "", "", False
    is_async = bool(frame.f_code.co_flags & inspect.CO_COROUTINE)
    return describe_frame(frame), frame.f_code.co_name, is_async


@pytest.fixture
def library(sim, student):
    fake = FakeLibrary(sim, student)
    student.replace("legacy_lookup", fake.legacy_lookup)
    return fake


# -- the heartbeat --------------------------------------------------------------------


@dataclass
class HeartbeatRun:
    result: Any
    beats: list[float]
    started: float
    finished: float

    def observations(self) -> dict[str, Any]:
        return {"beats": self.beats, "started": self.started, "finished": self.finished}

    @classmethod
    def seen(cls, seen: dict[str, Any]) -> "HeartbeatRun":
        """The run as observed; its beats must lie in the simulation's run, TICK apart."""
        sim, beats = seen["sim"], seen["beats"]
        first, last = sim.started - EPS, sim.started + sim.elapsed + EPS
        if not (first <= seen["started"] <= seen["finished"] <= last
                and all(first <= beat <= last for beat in beats)
                and all(b - a >= TICK - EPS for a, b in pairwise(beats))):
            raise ValueError("a heartbeat that no honest run records")
        return cls(None, beats, seen["started"], seen["finished"])

    def longest_silence(self) -> tuple[float, float]:
        """(from, to) of the longest gap between beats that overlaps the handler's run."""
        worst = (0.0, 0.0)
        for before, after in zip(self.beats, self.beats[1:], strict=False):
            overlaps = after > self.started and before < self.finished
            if overlaps and after - before > worst[1] - worst[0]:
                worst = (before, after)
        return worst


def run_beside_heartbeat(sim: Any, make: Callable[[], Any], *, what: str) -> HeartbeatRun:
    """Run ``make()`` while a heartbeat task records the simulated time of every tick."""
    beats: list[float] = []
    span: dict[str, float] = {}

    async def heartbeat() -> None:
        loop = asyncio.get_running_loop()
        while True:
            beats.append(loop.time())
            await asyncio.sleep(TICK)

    async def scenario() -> Any:
        loop = asyncio.get_running_loop()
        beat = asyncio.create_task(heartbeat(), name="heartbeat")
        await asyncio.sleep(0)  # the first beat, at 0.0 s
        span["started"] = loop.time()
        result = await make()
        span["finished"] = loop.time()
        await asyncio.sleep(SETTLE)
        beat.cancel()
        await asyncio.wait([beat])
        return result

    result = sim.run(scenario(), what=what)
    return HeartbeatRun(result, beats, span["started"], span["finished"])


# -- code that spins until the grader stops it ---------------------------------------

MODULE = "handlers.py"
SPIN_NAMES = ("done", "monotonic", "perf_counter", "is_set", "is_alive")


def spin_guard(student: Any, run: Callable[[], Any]) -> tuple[Any, dict[str, Any] | None]:
    """``run()``'s result, or, if the check's CPU limit stopped it, where it spun.

    A loop that polls (a thread future's ``done()``, the clock) without awaiting never
    lets the simulated world move on, so here it spins until the CPU limit. The facts
    (the student's innermost line, the constructs the file uses) let the judge say what
    happened, instead of blaming a loop with no exit condition.
    """
    try:
        return run(), None
    except CpuLimitExceeded as exc:
        frames = [f for f in traceback.extract_tb(exc.__traceback__)
                  if Path(f.filename).name == MODULE]
        where = ""
        if frames:  # the loop's header: which of its lines the stop caught is chance
            line = loop_header(frames[-1].filename, frames[-1].lineno or 0)
            text = linecache.getline(frames[-1].filename, line).strip()[:80]
            where = f"{MODULE}:{line} in {frames[-1].name}: `{text}`"
        return None, {"where": where, "uses": student.uses(*SPIN_NAMES)}


def expect_no_spin(seen: dict[str, Any], *, call: str) -> None:
    """Fail, saying what was seen and the likely causes, if the handler spun."""
    spun = seen.get("spun")
    if not spun:
        return
    uses = spun["uses"]
    where = f" (at {spun['where']})" if spun["where"] else ""
    if uses.get("done") or uses.get("is_set") or uses.get("is_alive"):
        polled = ("checking whether the worker thread is done (`done()`, `is_set()` or "
                  "`is_alive()`) over and over")
    elif uses.get("monotonic") or uses.get("perf_counter"):
        polled = "checking the clock over and over until the time is up"
    else:
        polled = "running a loop that never reaches an `await`"
    fail(
        f"While `{call}` ran, your code kept the event loop's thread busy without ever "
        f"awaiting{where}, until the grader stopped it. It looks like it was waiting by "
        f"{polled}.",
        misconception="A busy-wait never hands the thread back to the event loop, so "
        "nothing else runs meanwhile: no heartbeat, no other request, and not the loop "
        "machinery that delivers a worker thread's result or moves the grader's simulated "
        "clock. On a real server it would end eventually, but it would freeze everything "
        "until then.",
        next_step="Wait with `await` instead of polling: a sleep, a worker thread's result and a "
                  "future can all be awaited.",
    )


# -- shared diagnoses -----------------------------------------------------------------


def awaitable_in(value: Any) -> tuple[str, str] | None:
    """The first coroutine or future in ``value`` (or in the list it is), in plain words:
    ("coroutine", its name) or ("awaitable", its type). A coroutine found is closed."""
    for item in value if isinstance(value, list) else [value]:
        if inspect.iscoroutine(item):
            name = getattr(item, "__qualname__", "a coroutine")
            item.close()
            return ("coroutine", str(name))
        if inspect.isawaitable(item):
            return ("awaitable", type(item).__name__)
    return None


def expect_value(actual: Any, awaitable: tuple[str, str] | None, wanted: Any, *, call: str,
                 misconception: str = "", next_step: str = "") -> None:
    """Like expect_equal, but a coroutine or future in place of a value gets its own story."""
    expect_no_awaitable(awaitable, call=call)
    expect_equal(actual, wanted, call=call, misconception=misconception, next_step=next_step)


def expect_no_awaitable(awaitable: tuple[str, str] | None, *, call: str) -> None:
    """Fail if the handler gave back ``awaitable`` (from :func:`awaitable_in`)."""
    if awaitable is None:
        return
    kind, name = awaitable
    if kind == "coroutine":
        fail(
            f"`{call}` gave back a coroutine object (`{name}`) instead of the lookup's value: "
            "it was never awaited, so `legacy_lookup` never ran.",
            misconception="`asyncio.to_thread(...)`, like any call to an `async def`, only "
            "builds a coroutine. The worker thread starts when you `await` it.",
            next_step="Await what `asyncio.to_thread` gives back, and return that value.",
        )
    fail(
        f"`{call}` gave back {name} object instead of the lookup's value: it was never "
        "awaited.",
        misconception="A future stands for a result that will exist later; awaiting it is "
        "how you get that result.",
        next_step="Put `await` in front of the call that gave you the future.",
    )


def expect_off_the_loop(calls: list[dict[str, Any]], *, call: str, entry: str,
                        symptom: str = "") -> None:
    """Fail if ``legacy_lookup`` ran on the event loop's own thread."""
    on_loop = [c for c in calls if c["on_loop"]]
    if not on_loop:
        return
    first = on_loop[0]
    frozen = sum(c["op"].end - c["op"].start for c in on_loop if c["op"].end is not None)
    where = f" (called at {first['caller']})" if first["caller"] else ""
    wrapper = ""
    if first["caller_is_async"] and first["caller_name"] != entry:
        wrapper = (f" Your `{first['caller_name']}` is an `async def`, but the call inside it "
                   "still runs synchronously.")
    others = f" (and {len(on_loop) - 1} more calls)" if len(on_loop) > 1 else ""
    lead = symptom or f"While `{call}` ran, "
    fail(
        f"{lead}`legacy_lookup({first['key']!r})`{others} ran on the event loop's own "
        f"thread{where}, so the loop was frozen for {frozen:.2f} s of simulated time and no "
        f"other task could run.{wrapper}",
        misconception="A synchronous function holds whichever thread calls it until it "
        "returns. Calling it from an `async def` does not make it asynchronous: the loop can "
        "only switch tasks at an `await`.",
        next_step="Run it on a worker thread and await the result: "
        "`await asyncio.to_thread(legacy_lookup, key)`.",
    )


def silence_text(run: HeartbeatRun) -> tuple[bool, str]:
    start, end = run.longest_silence()
    silent = end - start > LONGEST_SILENCE + 1e-9
    text = (f"the heartbeat (due every {TICK:g} s) went silent from {start:.2f} s to "
            f"{end:.2f} s. ") if silent else ""
    return silent, text


def expect_steady_heartbeat(sim: Any, run: HeartbeatRun, *, call: str) -> None:
    """Fail if the loop was frozen (a violation) or the heartbeat missed its beats."""
    silent, symptom = silence_text(run)
    if sim.violations:
        first = sim.violations[0]
        effect = symptom[:1].upper() + symptom[1:] if silent else (
            "The heartbeat could not tick until it was over. ")
        if first.kind == "sleep":
            fail(
                f"While `{call}` ran, {describe_violation(first)} froze the event loop. "
                f"{effect}",
                misconception="`time.sleep` stops the whole thread, and the event loop runs "
                "every task on that one thread, the heartbeat included. Only an `await` lets "
                "the loop switch to another task.",
                next_step="Use `await asyncio.sleep(...)`, which pauses just this coroutine.",
            )
        if first.kind == "wait":
            fail(f"While `{call}` ran, {describe_violation(first)} froze the event loop. "
                 f"{effect}", misconception=WAIT_MISCONCEPTION, next_step=WAIT_NEXT_STEP)
        where = f" at {first.where}" if MODULE in (first.where or "") else ""
        fail(
            f"While `{call}` ran, your code kept the loop's thread busy for "
            f"{first.seconds:.2f} s of simulated time without an `await`{where}, so it froze "
            f"the event loop. {effect}",
            misconception="A coroutine keeps the loop's thread until it reaches an `await`. "
            "A loop that checks the clock (or a flag) until the time is up, or a long "
            "computation, runs in between and freezes every other task.",
            next_step="To wait, `await asyncio.sleep(...)`; to compute, move the work to a "
            "worker thread with `asyncio.to_thread`.",
        )
    if silent:
        fail(
            f"While `{call}` ran, {symptom}",
            misconception="The heartbeat only ticks when the loop gets control back, which "
            "happens at an `await` that actually waits.",
            next_step="Make sure every wait in your handler is an `await`.",
        )


# -- task 1 ---------------------------------------------------------------------------

REPLY = "reply_after(0.35, 'hi')"


def expect_waited(sim: Any, took: float, text: str) -> None:
    """Fail if the reply came sooner than its 0.35 s delay; ``text`` tells how soon."""
    if took < 0.35 - 1e-9:
        expect_all_awaited(sim, what="reply_after")
        fail(
            text,
            misconception="Nothing waits unless you wait for it: a delay has to be awaited.",
            next_step="Pause with an awaited `asyncio.sleep` before returning.",
        )


@pytest.mark.task(1)
def test_reply_returns_after_the_delay(student, sim):
    result, spun = spin_guard(
        student, lambda: sim.run(student.reply_after(0.35, "hi"), what="reply_after"))
    if spun:
        return judged(judge_reply_returns_after_the_delay, spun=spun)
    return judged(judge_reply_returns_after_the_delay, result=result, sim=sim)


def judge_reply_returns_after_the_delay(seen):
    expect_no_spin(seen, call=REPLY)
    sim = seen["sim"]
    expect_equal(seen["result"], "hi", call=REPLY,
                 misconception="The reply is the message you were given, unchanged.",
                 next_step="Return `message` once the wait is over.")
    expect_waited(sim, sim.elapsed,
                  f"`{REPLY}` returned after {sim.elapsed:.2f} s of simulated time; it should "
                  "wait 0.35 s before replying.")
    if sim.elapsed > 0.35 + 1e-9:
        fail(
            f"`{REPLY}` took {sim.elapsed:.2f} s of simulated time; it should reply after "
            "exactly 0.35 s.",
            next_step="Wait for `delay` seconds once, then return.",
        )


@pytest.mark.task(1)
def test_heartbeat_ticks_during_reply(student, sim):
    run, spun = spin_guard(student, lambda: run_beside_heartbeat(
        sim, lambda: student.reply_after(0.35, "hi"), what="reply_after"))
    if spun:
        return judged(judge_heartbeat_ticks_during_reply, spun=spun)
    return judged(judge_heartbeat_ticks_during_reply, sim=sim, **run.observations())


def judge_heartbeat_ticks_during_reply(seen):
    expect_no_spin(seen, call=REPLY)
    run = HeartbeatRun.seen(seen)
    expect_steady_heartbeat(seen["sim"], run, call=REPLY)
    took = run.finished - run.started
    expect_waited(seen["sim"], took,
                  f"`{REPLY}` replied after {took:.2f} s of simulated time, so it never really "
                  "waited beside the heartbeat; it should wait 0.35 s.")


# -- task 2 ---------------------------------------------------------------------------

LOOKUP = "lookup('alpha')"


@pytest.mark.task(2)
def test_lookup_returns_library_result(student, sim, library):
    result, spun = spin_guard(student, lambda: sim.run(student.lookup("alpha"), what="lookup"))
    if spun:
        return judged(judge_lookup_returns_library_result, spun=spun)
    return judged(judge_lookup_returns_library_result, result=result,
                  awaitable=awaitable_in(result), sim=sim, calls=library.calls)


def judge_lookup_returns_library_result(seen):
    expect_no_spin(seen, call=LOOKUP)
    expect_value(seen["result"], seen["awaitable"], expected("alpha"), call=LOOKUP,
                 misconception="lookup should hand back exactly what legacy_lookup returned.",
                 next_step="Return the value you get from awaiting the worker thread.")
    keys = [c["key"] for c in lookup_calls(seen)]
    if keys != ["alpha"]:
        fail(
            f"`{LOOKUP}` called `legacy_lookup` {len(keys)} times (with {keys}); it should "
            "call it exactly once, with 'alpha'.",
            misconception="Each lookup is a slow round trip to another server; repeating it "
            "doubles the cost.",
            next_step="Call `legacy_lookup(key)` once (on a worker thread) and return its result.",
        )


@pytest.mark.task(2)
def test_heartbeat_ticks_during_lookup(student, sim, library):
    run, spun = spin_guard(student, lambda: run_beside_heartbeat(
        sim, lambda: student.lookup("alpha"), what="lookup"))
    if spun:
        return judged(judge_heartbeat_ticks_during_lookup, spun=spun)
    return judged(judge_heartbeat_ticks_during_lookup, awaitable=awaitable_in(run.result),
                  sim=sim, calls=library.calls, **run.observations())


def judge_heartbeat_ticks_during_lookup(seen):
    expect_no_spin(seen, call=LOOKUP)
    run = HeartbeatRun.seen(seen)
    expect_no_awaitable(seen["awaitable"], call=LOOKUP)
    if not lookup_calls(seen):
        fail(
            f"`{LOOKUP}` never called `legacy_lookup`, so there was nothing to keep off the "
            "loop.",
            next_step="Call `legacy_lookup(key)` on a worker thread and return its result.",
        )
    silent, symptom = silence_text(run)
    expect_off_the_loop(seen["calls"], call=LOOKUP, entry="lookup",
                        symptom=f"While `{LOOKUP}` ran, {symptom[:-2]}: " if silent else "")
    expect_steady_heartbeat(seen["sim"], run, call=LOOKUP)


# -- task 3 ---------------------------------------------------------------------------

LOOKUP_ALL = f"lookup_all({KEYS!r})"
ORDER = dict(
    misconception="Results belong in the order of the keys, not in the order the lookups "
    "happened to finish.",
    next_step="asyncio.gather returns results in the order of its arguments; if you collect "
    "them as they complete, put each one back in its slot.",
)


def expect_in_key_order(seen: dict[str, Any]) -> None:
    expect_value(seen["result"], seen["awaitable"], [expected(k) for k in KEYS],
                 call=LOOKUP_ALL, **ORDER)


@pytest.mark.task(3)
def test_lookup_all_keeps_key_order(student, sim, library):
    result, spun = spin_guard(
        student, lambda: sim.run(student.lookup_all(list(KEYS)), what="lookup_all"))
    if spun:
        return judged(judge_lookup_all_keeps_key_order, spun=spun)
    awaitable = awaitable_in(result)
    expect_in_key_order({"result": result, "awaitable": awaitable})
    empty = sim.run(student.lookup_all([]), what="lookup_all")
    return judged(judge_lookup_all_keeps_key_order, result=result, awaitable=awaitable,
                  empty=empty)


def judge_lookup_all_keeps_key_order(seen):
    expect_no_spin(seen, call=LOOKUP_ALL)
    expect_in_key_order(seen)
    expect_equal(seen["empty"], [], call="lookup_all([])",
                 misconception="With no keys there is nothing to look up: the answer is an "
                 "empty list.",
                 next_step="Make sure your code handles an empty list of keys.")


@pytest.mark.task(3)
def test_lookup_all_overlaps_lookups(student, sim, library):
    result, spun = spin_guard(
        student, lambda: sim.run(student.lookup_all(list(KEYS)), what="lookup_all"))
    if spun:
        return judged(judge_lookup_all_overlaps_lookups, spun=spun)
    return judged(judge_lookup_all_overlaps_lookups, awaitable=awaitable_in(result), sim=sim,
                  calls=library.calls, uses=student.uses("max_workers", "ThreadPoolExecutor"))


def judge_lookup_all_overlaps_lookups(seen):
    expect_no_spin(seen, call=LOOKUP_ALL)
    call, sim = LOOKUP_ALL, seen["sim"]
    calls = lookup_calls(seen)
    expect_no_awaitable(seen["awaitable"], call=call)
    expect_off_the_loop(calls, call=call, entry="lookup_all")
    looked_up = sorted(c["key"] for c in calls if c["op"].end is not None)
    if looked_up != sorted(KEYS):
        fail(
            f"`{call}` looked up {looked_up}; every key, {sorted(KEYS)}, needs its own lookup.",
            next_step="Call `lookup(key)` for each key and wait for all of them.",
        )
    budget = 0.6
    if sim.elapsed <= budget + 1e-9:
        return
    ops = [c["op"] for c in calls if c["op"].end is not None]
    took = f"{sim.elapsed:.2f} s of simulated time (the budget is {budget:g} s)"
    waits = [v for v in sim.violations if v.kind == "wait"]
    if waits:
        fail(
            f"Your {len(ops)} lookups ran one after another, so `{call}` took {took}: "
            f"{describe_violation(waits[0])} kept the loop from starting the next one.",
            misconception=WAIT_MISCONCEPTION, next_step=WAIT_NEXT_STEP)
    if ran_one_after_another(ops):
        total = sum(op.end - op.start for op in ops)
        own_pool = seen["uses"].get("max_workers") or seen["uses"].get("ThreadPoolExecutor")
        fail(
            f"Your {len(ops)} lookups ran one after another ({total:.2f} s of waiting in "
            f"total), so `{call}` took {took}.",
            misconception=(
                "A thread pool runs at most `max_workers` jobs at once and queues the rest: "
                "with one worker (or with each job awaited before the next is submitted) "
                "the lookups take turns." if own_pool else
                "`await` waits for that lookup to finish before the next line runs, so "
                "awaiting them one by one makes them take turns."),
            next_step=("Give the pool a worker per lookup (or use the default executor, "
                       "`asyncio.to_thread`) and submit every lookup before awaiting any."
                       if own_pool else
                       "Start every lookup first (asyncio.gather, or a task for each) and "
                       "only then wait for the results."),
        )
    fail(
        f"`{call}` took {took}: some lookups waited for others before starting.",
        misconception="Only lookups that are in flight at the same time overlap.",
        next_step="Start all the lookups before you wait on any of them.",
    )
