"""Hidden checks for exercise 13 (CPU steps and waits interleaving on one loop).

The provided ``record`` is replaced by a step log that notes the simulated time of
every step, so a check can see *when* each task made progress: interleaved, one task
after another, or all at one instant (an async def that never awaits). The provided
``fingerprint`` is replaced by a CPU burner of a fixed thread-CPU cost, so a batch of
them without an await shows up as a CPU violation (one loop step over 50 ms of thread
CPU time) on any machine.
"""

import asyncio
import inspect
import time
import zlib

import pytest

from grader.suite import Simulation, describe_violation, expect_equal, fail

JOBS = [("A", 4, 0.3), ("B", 3, 0.5), ("C", 2, 0.7)]
JOBS_CALL = "run_factorials([('A', 4, 0.3), ('B', 3, 0.5), ('C', 2, 0.7)])"
LONGEST = 1.5  # B: 3 steps x 0.5 s. Step times never coincide: A 0.3k, B 0.5k, C 0.7k.
EPS = 1e-6


class StepLog:
    """Stands in for the provided record(): every step with its simulated time."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.steps: list[tuple[str, int, float]] = []

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
            next_step="Pause with `await asyncio.sleep(pause)` in factorial.",
        )
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
                next_step="In factorial, `await asyncio.sleep(pause)` after each step.",
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


HEAVY_CPU = 0.0004  # thread-CPU seconds per heavy fingerprint: 200 in one step = 80 ms


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


@pytest.mark.task(1)
def test_factorial_is_correct(student, sim, steps):
    for name, n, expected in (("A", 5, 120), ("B", 1, 1), ("C", 3, 6)):
        call = f"factorial({name!r}, {n}, 0.1)"
        result = sim.run(student.factorial(name, n, 0.1), what=call)
        expect_equal(
            result, expected, call=call,
            misconception="n! is 1 × 2 × ... × n: start the product at 1 and multiply it "
            "by every i from 1 to n.",
            next_step="Loop i over range(1, n + 1) and multiply the running product by i.",
        )
        wanted = list(range(1, n + 1))
        if steps.numbers(name) != wanted:
            fail(
                f"`{call}` recorded the steps {steps.numbers(name)}, but {wanted} was "
                "expected.",
                misconception="Every multiplication is one step, announced with "
                "record(name, i) once it is done.",
                next_step="Call record(name, i) right after multiplying by i.",
            )


@pytest.mark.task(1)
def test_factorial_pauses_between_steps(student, sim, steps):
    call = "factorial('A', 4, 0.25)"
    start = sim.now()
    sim.run(student.factorial("A", 4, 0.25), what=call)
    sleeps = [v for v in sim.violations if v.kind == "sleep"]
    if sleeps:
        fail(
            f"`{call}` paused with {describe_violation(sleeps[0])}, which froze the whole "
            "event loop instead of letting other tasks run.",
            misconception="`time.sleep` stops the thread the event loop runs on; during "
            "the pause no other task can take its turn.",
            next_step="Pause with `await asyncio.sleep(pause)`.",
        )
    times = steps.times("A", start)
    if paced(times, 4, 0.25):
        return
    if len(times) > 1 and max(times) - min(times) < EPS:
        fail(
            f"`{call}` never paused: all {len(times)} steps were recorded at {times[0]:.1f} s "
            f"and the call took {sim.elapsed:.1f} s of simulated time.",
            misconception="An `async def` without an `await` inside runs from start to "
            "finish in one go; nothing else can run until it returns.",
            next_step="After each record(name, i), `await asyncio.sleep(pause)`.",
        )
    shown = ", ".join(f"{t:.2f}" for t in times)
    fail(
        f"`{call}` recorded its steps at [{shown}] s; they should be 0.25 s apart, with "
        "one pause per step.",
        misconception="Each step is followed by exactly one pause of `pause` seconds.",
        next_step="`await asyncio.sleep(pause)` once per step, after record(name, i).",
    )


# -- Task 2 -------------------------------------------------------------------------------


@pytest.mark.task(2)
def test_returns_every_result(student, sim, steps):
    results = sim.run(student.run_factorials(JOBS), what=JOBS_CALL)
    order = dict(
        misconception="run_factorials returns one result per job, in the order of the "
        "jobs, whichever job finishes first.",
        next_step="asyncio.gather returns its results in the order of its arguments.",
    )
    expect_equal(results, [24, 6, 2], call=JOBS_CALL, **order)
    expect_equal(sim.run(student.run_factorials([]), what="run_factorials([])"), [],
                 call="run_factorials([])", **order)


@pytest.mark.task(2)
def test_factorials_overlap(student, sim, steps):
    sim.run(student.run_factorials(JOBS), what=JOBS_CALL)
    sim.budget = LONGEST
    if sim.elapsed <= LONGEST + EPS:
        return
    explain_no_turns(
        sim, steps, what=JOBS_CALL,
        took=f" took {sim.elapsed:.1f} s of simulated time instead of {LONGEST} s (the "
        "longest job alone)",
    )


@pytest.mark.task(2)
def test_steps_interleave(student, sim, steps):
    sim.run(student.run_factorials(JOBS), what=JOBS_CALL)
    if all(paced(steps.times(name), n, pause) for name, n, pause in JOBS):
        return
    explain_no_turns(sim, steps, what=JOBS_CALL)


# -- Task 3 -------------------------------------------------------------------------------


@pytest.mark.task(3)
def test_fingerprints_in_order(student, sim):
    def light_fingerprint(text: str) -> int:
        burn(HEAVY_CPU / 30)
        return checksum(text)

    student.replace("fingerprint", light_fingerprint)
    texts = ["event", "loop", "task", "await"]
    call = f"fingerprint_all({texts!r})"
    result = sim.run(awaitable(sim, student.fingerprint_all(texts), what=call), what=call)
    order = dict(
        misconception="fingerprint_all returns fingerprint(text) for each text, in the "
        "order of the texts.",
        next_step="Append each fingerprint to a list as you go and return the list.",
    )
    expect_equal(result, [checksum(t) for t in texts], call=call, **order)
    empty = sim.run(awaitable(sim, student.fingerprint_all([]), what="fingerprint_all([])"),
                    what="fingerprint_all([])")
    expect_equal(empty, [], call="fingerprint_all([])", **order)


@pytest.mark.task(3)
def test_crunching_lets_others_run(student, sim):
    done = [0]

    def heavy_fingerprint(text: str) -> int:
        burn(HEAVY_CPU)
        done[0] += 1
        return checksum(text)

    student.replace("fingerprint", heavy_fingerprint)
    texts = [f"text {i}" for i in range(200)]
    call = "fingerprint_all(<200 texts>)"
    beats: list[int] = []

    async def heartbeat() -> None:
        """A second task that only wants three quick turns while the batch runs."""
        for _ in range(3):
            await asyncio.sleep(0)
            beats.append(done[0])

    async def alongside(batch):
        results, _ = await asyncio.gather(batch, heartbeat())
        return results

    results = sim.run(alongside(awaitable(sim, student.fingerprint_all(texts), what=call)),
                      what=call)
    blocking = sim.violations
    if blocking:
        first = blocking[0]
        more = f" (and {len(blocking) - 1} more)" if len(blocking) > 1 else ""
        turn = (f"only after {beats[0]} of the 200 fingerprints were done" if beats
                else "never")
        if first.kind == "sleep":
            fail(
                f"`{call}` blocked the event loop with {describe_violation(first)}{more}.",
                misconception="`time.sleep` stops the whole thread; it gives no other task "
                "a turn.",
                next_step="Use `await asyncio.sleep(0)` to hand over a turn.",
            )
        fail(
            f"`{call}` kept the event loop to itself: {describe_violation(first)}{more}. A "
            f"second task running alongside got its first turn {turn}.",
            misconception="A coroutine keeps the thread from the moment it is resumed until "
            "its next `await`: an `async def` that loops through CPU work without awaiting "
            "freezes every other task until the whole loop is over.",
            next_step="`await asyncio.sleep(0)` after each fingerprint, or hand the whole "
            "batch to `asyncio.to_thread`.",
        )
    expect_equal(
        results, [checksum(t) for t in texts], call=call,
        misconception="Every text still needs its fingerprint, in order.",
        next_step="Collect fingerprint(text) for every text.",
    )
