"""Hidden checks for exercise 13 (CPU steps and waits interleaving on one loop).

The provided ``record`` is replaced by a step log that notes the simulated time of
every step, so a check can see *when* each task made progress: interleaved, one task
after another, or all at one instant (an async def that never awaits). The provided
``fingerprint`` is replaced by a CPU burner of a fixed thread-CPU cost, so a batch of
them without an await shows up as a CPU violation (one loop step over 50 ms of thread
CPU time) on any machine.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations (the step log as (name, step, time)
tuples, results, the turns a neighbour got), where no student code runs. Only the
judges' conditions earn points.
"""

import asyncio
import inspect
import time
import zlib

import pytest

from grader.suite import (
    Simulation,
    describe_violation,
    expect_equal,
    fail,
    judged,
    loop_runs_here,
)

JOBS = [("A", 4, 0.3), ("B", 3, 0.5), ("C", 2, 0.7)]
JOBS_CALL = "run_factorials([('A', 4, 0.3), ('B', 3, 0.5), ('C', 2, 0.7)])"
LONGEST = 1.5  # B: 3 steps x 0.5 s. Step times never coincide: A 0.3k, B 0.5k, C 0.7k.
EPS = 1e-6


class StepLog:
    """Stands in for the provided record(): every step with its simulated time."""

    def __init__(self, sim: Simulation | None, steps: list | None = None) -> None:
        self.sim = sim
        self.steps: list[tuple[str, int, float]] = [] if steps is None else steps

    @classmethod
    def seen(cls, seen: dict) -> "StepLog":
        """The log as observed: steps recorded in clock order, none after the last run."""
        steps, sim = seen["steps"], seen["sim"]
        times = [t for _, _, t in steps]
        if times != sorted(times) or any(t > sim.started + sim.elapsed + EPS for t in times):
            raise ValueError("a step log that no honest run records")
        return cls(None, steps)

    def record(self, name: str, step: int) -> None:
        self.steps.append((name, step, self.sim.now()))

    def numbers(self, name: str) -> list[int]:
        return [s for n, s, _ in self.steps if n == name]

    def times(self, name: str, start: float = 0.0) -> list[float]:
        return [t - start for n, _, t in self.steps if n == name]

    def order(self) -> str:
        return " ".join(f"{n}{s}" for n, s, _ in self.steps)

    def timed(self) -> str:
        return ", ".join(f"{n}{s} at {t:.1f} s" for n, s, t in self.steps)


@pytest.fixture
def steps(sim, student):
    log = StepLog(sim)
    student.replace("record", log.record)
    return log


def paced(times: list[float], n: int, pause: float) -> bool:
    """n steps, `pause` apart, the first right away (or after one pause, if the
    solution pauses before each step instead of after it)."""
    if len(times) != n:
        return False
    return any(
        all(abs(t - (offset + i * pause)) < EPS for i, t in enumerate(times))
        for offset in (0.0, pause)
    )


def explain_unawaited(sim, *, what: str) -> None:
    """Fail naming a coroutine the student created and dropped (a forgotten await)."""
    dropped = sim.never_awaited()
    if dropped:
        first = dropped[0]
        at = f" at {first.where}" if first.where else ""
        fail(
            f"`{what}` never paused: the coroutine `{first.name}(...)` created{at} was "
            "never awaited, so it did nothing.",
            misconception="Calling a coroutine function such as `asyncio.sleep(pause)` only "
            "builds a coroutine object; nothing waits until it is awaited.",
            next_step="The pause has to be awaited to hand the loop to the other tasks.",
        )


def explain_no_turns(sim: Simulation, log: StepLog, *, what: str, took: str = "") -> None:
    """Fail with the reason the factorials' steps did not interleave."""
    sleeps = [v for v in sim.violations if v.kind == "sleep"]
    if sleeps:
        fail(
            f"`{what}`{took}: {describe_violation(sleeps[0])} blocked the event loop, so "
            f"while one task paused no other task could take a turn. The steps ran in this "
            f"order: {log.order()}.",
            misconception="`time.sleep` stops the thread the event loop runs on; only an "
            "`await` lets another task run in the meantime.",
            next_step="Pause in factorial with a sleep you await.",
        )
    explain_unawaited(sim, what=what)
    names = [n for n, _, _ in log.steps]
    contiguous = all(names.index(x) == i or names[i - 1] == x for i, x in enumerate(names))
    if names and contiguous:
        instants = {n: {round(t, 6) for m, _, t in log.steps if m == n} for n in names}
        if all(len(ts) == 1 for ts in instants.values()):
            fail(
                f"In `{what}` the tasks never paused: each one ran all its steps in one go "
                f"({log.order()}, all at the same simulated instant) before the next task "
                "got a turn.",
                misconception="An `async def` with no `await` inside never hands control "
                "back to the event loop, so even tasks started together cannot interleave.",
                next_step="In factorial, give the loop a turn after each step by awaiting a sleep.",
            )
        firsts = {}
        for n, _, t in log.steps:
            firsts.setdefault(n, t)
        later = [f"{n} started at {t:.1f} s" for n, t in firsts.items() if t > EPS]
        fail(
            f"`{what}`{took}: the tasks ran one after another ({log.order()}); "
            f"{', '.join(later)}, each only after the previous one had finished.",
            misconception="`await` on one factorial waits for it to finish before the next "
            "line starts the next one, so the pauses add up instead of overlapping.",
            next_step="Start all the factorials first (asyncio.gather, or create_task for "
            "each), then wait for them together.",
        )
    fail(
        f"`{what}`{took}: the steps were recorded as {log.timed() or 'nothing'}. Each task "
        "should start at once and then take one step per pause.",
        misconception="Tasks running concurrently all start right away, and each one "
        "progresses at its own pace while the others wait.",
        next_step="Start every factorial before awaiting any of them, and pause once per step.",
    )


HEAVY_CPU = 0.02  # thread-CPU seconds per heavy fingerprint, about what a slow machine
# spends on the README's real one; over the loop's 50 ms budget once 3 run without an await.
CPU_BUDGET = 0.05  # the virtual loop's blocking budget per step (grader/engine/virtual_loop.py)
MAX_IN_A_ROW = int(CPU_BUDGET // HEAVY_CPU)  # fingerprints a neighbour may wait through


def burn(seconds: float) -> None:
    """Keep this thread busy for ``seconds`` of its own CPU time, on any machine.

    Counted in thread CPU time (what the loop's blocking budget measures), so a batch
    costs the same on a fast, slow or busy machine.
    """
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


def checksum(text: str) -> int:
    return zlib.crc32(text.encode())


def awaitable(sim: Simulation, value, *, what: str):
    """The student's coroutine, or sim.run's friendly message if it is not awaitable."""
    if not inspect.isawaitable(value):
        sim.run(value, what=what)
    return value


# -- Task 1 -------------------------------------------------------------------------------

FACTORIALS = (("A", 5, 120), ("B", 1, 1), ("C", 3, 6))


def expect_factorial(name: str, n: int, expected: int, result, log: StepLog) -> None:
    call = f"factorial({name!r}, {n}, 0.1)"
    expect_equal(
        result, expected, call=call,
        misconception="n! is 1 × 2 × ... × n: start the product at 1 and multiply it "
        "by every i from 1 to n.",
        next_step="Loop i over range(1, n + 1) and multiply the running product by i.",
    )
    wanted = list(range(1, n + 1))
    if log.numbers(name) != wanted:
        fail(
            f"`{call}` recorded the steps {log.numbers(name)}, but {wanted} was expected.",
            misconception="Every multiplication is one step, announced with "
            "record(name, i) once it is done.",
            next_step="Call record(name, i) right after multiplying by i.",
        )


@pytest.mark.task(1)
def test_factorial_is_correct(student, sim, steps):
    results = []
    for name, n, expected in FACTORIALS:
        result = sim.run(student.factorial(name, n, 0.1), what=f"factorial({name!r}, {n}, 0.1)")
        expect_factorial(name, n, expected, result, steps)
        results.append(result)
    return judged(judge_factorial_is_correct, results=results, steps=steps.steps, sim=sim)


def judge_factorial_is_correct(seen):
    log = StepLog.seen(seen)
    for (name, n, expected), result in zip(FACTORIALS, seen["results"], strict=True):
        expect_factorial(name, n, expected, result, log)


@pytest.mark.task(1)
def test_factorial_pauses_between_steps(student, sim, steps):
    start = sim.now()
    sim.run(student.factorial("A", 4, 0.25), what="factorial('A', 4, 0.25)")
    return judged(judge_factorial_pauses_between_steps, start=start, steps=steps.steps, sim=sim)


def judge_factorial_pauses_between_steps(seen):
    call, sim, log = "factorial('A', 4, 0.25)", seen["sim"], StepLog.seen(seen)
    sleeps = [v for v in sim.violations if v.kind == "sleep"]
    if sleeps:
        fail(
            f"`{call}` paused with {describe_violation(sleeps[0])}, which froze the whole "
            "event loop instead of letting other tasks run.",
            misconception="`time.sleep` stops the thread the event loop runs on; during "
            "the pause no other task can take its turn.",
            next_step="Pause with a sleep you await, not one that blocks the thread.",
        )
    times = log.times("A", seen["start"])
    if paced(times, 4, 0.25):
        return
    explain_unawaited(sim, what=call)
    if len(times) > 1 and max(times) - min(times) < EPS:
        fail(
            f"`{call}` never paused: all {len(times)} steps were recorded at {times[0]:.1f} s "
            f"and the call took {sim.elapsed:.1f} s of simulated time.",
            misconception="An `async def` without an `await` inside runs from start to "
            "finish in one go; nothing else can run until it returns.",
            next_step="After each record(name, i), hand the loop a turn with a sleep you await.",
        )
    shown = ", ".join(f"{t:.2f}" for t in times)
    fail(
        f"`{call}` recorded its steps at [{shown}] s; they should be 0.25 s apart, with "
        "one pause per step.",
        misconception="Each step is followed by exactly one pause of `pause` seconds.",
        next_step="Pause once per step, after recording it, with a sleep you await.",
    )


# -- Task 2 -------------------------------------------------------------------------------

JOB_ORDER = dict(
    misconception="run_factorials returns one result per job, in the order of the "
    "jobs, whichever job finishes first.",
    next_step="asyncio.gather returns its results in the order of its arguments.",
)


@pytest.mark.task(2)
def test_returns_every_result(student, sim, steps):
    results = sim.run(student.run_factorials(JOBS), what=JOBS_CALL)
    expect_equal(results, [24, 6, 2], call=JOBS_CALL, **JOB_ORDER)
    empty = sim.run(student.run_factorials([]), what="run_factorials([])")
    return judged(judge_returns_every_result, results=results, empty=empty)


def judge_returns_every_result(seen):
    expect_equal(seen["results"], [24, 6, 2], call=JOBS_CALL, **JOB_ORDER)
    expect_equal(seen["empty"], [], call="run_factorials([])", **JOB_ORDER)


@pytest.mark.task(2)
def test_factorials_overlap(student, sim, steps):
    sim.run(student.run_factorials(JOBS), what=JOBS_CALL)
    sim.budget = LONGEST
    return judged(judge_factorials_overlap, steps=steps.steps, sim=sim)


def judge_factorials_overlap(seen):
    sim, log = seen["sim"], StepLog.seen(seen)
    if sim.elapsed <= LONGEST + EPS:
        return
    explain_no_turns(
        sim, log, what=JOBS_CALL,
        took=f" took {sim.elapsed:.1f} s of simulated time instead of {LONGEST} s (the "
        "longest job alone)",
    )


@pytest.mark.task(2)
def test_steps_interleave(student, sim, steps):
    sim.run(student.run_factorials(JOBS), what=JOBS_CALL)
    return judged(judge_steps_interleave, steps=steps.steps, sim=sim)


def judge_steps_interleave(seen):
    log = StepLog.seen(seen)
    if all(paced(log.times(name), n, pause) for name, n, pause in JOBS):
        return
    explain_no_turns(seen["sim"], log, what=JOBS_CALL)


# -- Task 3 -------------------------------------------------------------------------------

TEXTS = ["event", "loop", "task", "await"]
FINGERPRINT_ORDER = dict(
    misconception="fingerprint_all returns fingerprint(text) for each text, in the "
    "order of the texts.",
    next_step="Append each fingerprint to a list as you go and return the list.",
)


@pytest.mark.task(3)
def test_fingerprints_in_order(student, sim):
    def light_fingerprint(text: str) -> int:
        burn(HEAVY_CPU / 30)
        return checksum(text)

    student.replace("fingerprint", light_fingerprint)
    call = f"fingerprint_all({TEXTS!r})"
    result = sim.run(awaitable(sim, student.fingerprint_all(list(TEXTS)), what=call), what=call)
    expect_equal(result, [checksum(t) for t in TEXTS], call=call, **FINGERPRINT_ORDER)
    empty = sim.run(awaitable(sim, student.fingerprint_all([]), what="fingerprint_all([])"),
                    what="fingerprint_all([])")
    return judged(judge_fingerprints_in_order, result=result, empty=empty)


def judge_fingerprints_in_order(seen):
    expect_equal(seen["result"], [checksum(t) for t in TEXTS],
                 call=f"fingerprint_all({TEXTS!r})", **FINGERPRINT_ORDER)
    expect_equal(seen["empty"], [], call="fingerprint_all([])", **FINGERPRINT_ORDER)


BATCH = [f"text {i}" for i in range(12)]
BATCH_CALL = "fingerprint_all(<12 texts>)"
MAX_BEATS = 2000  # a neighbour's turns are counted up to here; enough for any pacing


@pytest.mark.task(3)
def test_crunching_lets_others_run(student, sim):
    on_loop = [0]  # fingerprints computed on the event loop's own thread so far

    def heavy_fingerprint(text: str) -> int:
        burn(HEAVY_CPU)
        if loop_runs_here():
            on_loop[0] += 1
        return checksum(text)

    student.replace("fingerprint", heavy_fingerprint)
    # How many loop-thread fingerprints had been computed each time a neighbour that
    # asks for a turn after every step got one (repeats dropped: only the jumps matter).
    beats: list[int] = []
    finished = [False]

    def beat() -> None:
        if not beats or beats[-1] != on_loop[0]:
            beats.append(on_loop[0])

    async def neighbour() -> None:
        for _ in range(MAX_BEATS):
            if finished[0]:
                return
            await asyncio.sleep(0)
            beat()

    async def alongside(batch):
        work = asyncio.ensure_future(batch)  # its own task: a violation names the student's
        other = asyncio.ensure_future(neighbour())
        try:
            return await work
        finally:
            finished[0] = True
            await other
            beat()

    batch = awaitable(sim, student.fingerprint_all(list(BATCH)), what=BATCH_CALL)
    results = sim.run(alongside(batch), what=BATCH_CALL)
    return judged(judge_crunching_lets_others_run, results=results, beats=beats, sim=sim)


def longest_wait(beats: list[int]) -> int:
    """The most loop-thread fingerprints computed between two turns of the neighbour."""
    return max((b - a for a, b in zip([0, *beats], beats, strict=False)), default=0)


def judge_crunching_lets_others_run(seen):
    call, blocking, beats = BATCH_CALL, seen["sim"].violations, seen["beats"]
    if blocking:
        first = blocking[0]
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        if first.kind == "sleep":
            fail(
                f"`{call}` blocked the event loop with {describe_violation(first)}{more}.",
                misconception="`time.sleep` stops the whole thread; it gives no other task "
                "a turn.",
                next_step="An awaited sleep of zero seconds hands over a turn without waiting.",
            )
        fail(
            f"`{call}` kept the event loop to itself: {describe_violation(first)}{more}. "
            f"Each fingerprint here costs about {HEAVY_CPU * 1000:.0f} ms of CPU, so at most "
            f"{MAX_IN_A_ROW} may run between two awaits.",
            misconception="A coroutine keeps the thread from the moment it is resumed until "
            "its next `await`: an `async def` that works through many CPU steps without "
            "awaiting freezes every other task until it reaches one.",
            next_step="Hand over a turn after each fingerprint (an awaited sleep of zero seconds),"
                      " or hand the whole batch to `asyncio.to_thread`.",
        )
    waited = longest_wait(beats)
    if waited > MAX_IN_A_ROW:
        fail(
            f"While `{call}` ran, a second task that asked for a turn after every step had "
            f"to wait through {waited} fingerprints in a row (about "
            f"{waited * HEAVY_CPU * 1000:.0f} ms of CPU), although no single step took long.",
            misconception="The loop runs every ready step in one pass before it comes back "
            "to anyone: many short steps that never await in between (one coroutine per "
            "text that just computes) hold the thread exactly as long as one long step.",
            next_step="Compute the fingerprints one after another in a single coroutine and hand "
                      "over a turn after each, or move the work to a thread (`asyncio.to_thread`).",
        )
    expect_equal(
        seen["results"], [checksum(t) for t in BATCH], call=call,
        misconception="Every text still needs its fingerprint, in order.",
        next_step="Collect fingerprint(text) for every text.",
    )
