"""Hidden checks for exercise 17 (a generator-based event loop with a virtual clock).

The student's loop is plain synchronous code, but each check still drives it from inside
``sim.run``: there, ``time.sleep`` is recorded as a violation and costs no real time. A
loop that never ends is stopped by a line counter on the student's file (no real-time
race), so every verdict is deterministic.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on the plain observations (``Outcome.seen``: the log the
suite's own tasks wrote, the crash, whether the loop ran away), where no student code
runs. Only the judges' conditions earn points.
"""

from __future__ import annotations

import itertools
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from grader.suite import describe_violation, fail, judged

MAX_LINES = 200_000  # lines of the student's file one run may execute; a correct run needs ~500
Entry = tuple[str, object, float]


class RunAway(BaseException):
    """Raised into the student's loop once it has run far longer than any scenario needs."""


@dataclass
class Outcome:
    log: list[Entry] = field(default_factory=list)
    crashed: BaseException | None = None  # StopIteration or TypeError out of run()
    ran_away: bool = False

    def seen(self) -> dict:
        """What a judge reads: plain values only (a log time the student's clock made
        that is a number subclass becomes a plain float)."""
        log = [(name, step, at if type(at) in (int, float) or not numeric(at) else float(at))
               for name, step, at in self.log]
        return dict(log=log, crashed=self.crashed, ran_away=bool(self.ran_away))


def numeric(at: object) -> bool:
    """True for a time a check can do arithmetic with (the student's clock may not be one)."""
    return isinstance(at, int | float) and not isinstance(at, bool)


def stepper(loop, log: list[Entry], name: str, requests: list):
    """A task: log (name, step, loop.now), then yield the step's request; log 'done'."""
    for step, request in enumerate(requests):
        log.append((name, step, loop.now))
        yield request
    log.append((name, "done", loop.now))


def parent(loop, log: list[Entry]):
    """A task that starts another task from inside the loop."""
    log.append(("parent", 0, loop.now))
    yield
    loop.create_task(stepper(loop, log, "child", [None, None]))
    log.append(("parent", 1, loop.now))
    yield
    log.append(("parent", "done", loop.now))


def call_guarded(run, student_file: Path) -> None:
    """Call ``run()`` with a line budget on the student's file."""
    target = str(student_file.resolve())
    mine: dict[str, bool] = {}
    executed = 0

    def local(frame, event, arg):
        nonlocal executed
        if event == "line":
            executed += 1
            if executed > MAX_LINES:
                raise RunAway
        return local

    def on_call(frame, event, arg):
        name = frame.f_code.co_filename
        if name not in mine:
            mine[name] = str(Path(name).resolve()) == target
        return local if mine[name] else None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        run()
    finally:
        sys.settrace(previous)


def run_scenario(student, sim, tasks) -> dict:
    """Build a TinyLoop, add ``tasks(loop, log)``, run it inside the simulation.

    Returns what the judges read about the run (``Outcome.seen``).
    """
    outcome = Outcome()
    loop = student.TinyLoop()
    for task in tasks(loop, outcome.log):
        loop.create_task(task)

    async def drive() -> None:
        try:
            call_guarded(loop.run, student.path)
        except RunAway:
            outcome.ran_away = True
        except StopIteration as exc:  # would become a RuntimeError inside a coroutine
            outcome.crashed = exc
        except TypeError as exc:
            if "not supported between instances" not in str(exc):
                raise
            outcome.crashed = exc

    sim.run(drive(), what="TinyLoop.run()")
    return outcome.seen()


def at_text(at: object) -> str:
    return f"{at:g}" if numeric(at) else repr(at)


def show(log: list[Entry], limit: int = 12) -> str:
    shown = ", ".join(f"{name} {step} @ {at_text(at)} s" for name, step, at in log[:limit])
    return f"[{shown}{', ...' if len(log) > limit else ''}]"


def ran_each_to_the_end(log: list[Entry]) -> bool:
    """True when every task's steps form one unbroken run in the log (and 2+ tasks ran)."""
    names = [name for name, _step, _at in log]
    runs = [n for i, n in enumerate(names) if i == 0 or names[i - 1] != n]
    return len(runs) == len(set(runs)) >= 2


def expect_no_trouble(outcome: dict, expected: list[Entry], what: str) -> None:
    """Fail on a crash, or on an early stop / a runaway before every task finished."""
    if isinstance(outcome["crashed"], StopIteration):
        fail(
            "TinyLoop.run() crashed with StopIteration the first time a task finished.",
            misconception="When a generator's body ends, the call that resumed it raises "
            "StopIteration instead of returning a value. That is the normal way a task "
            "says it is finished, not an error.",
            next_step="A finished generator raises `StopIteration` when stepped: catch it around "
                      "the step and don't requeue that task.",
        )
    if outcome["crashed"] is not None:
        fail(
            f"TinyLoop.run() crashed with TypeError ({outcome['crashed']}) when two tasks "
            "were due to wake up at the same moment (a tie).",
            misconception="On a tie in the first element, heapq compares the next element "
            "of the tuples, here two generators, and generators can't be compared.",
            next_step="Push `(wake_at, counter, task)` with a counter from "
            "`itertools.count()`, so a tie is settled before reaching the task.",
        )
    log = outcome["log"]
    missing = [(n, s) for n, s, _at in expected if (n, s) not in
               {(n2, s2) for n2, s2, _a in log}]
    if missing and outcome["ran_away"]:
        fail(
            f"{what}: TinyLoop.run() was still looping after {MAX_LINES:,} lines of your "
            f"code, and task {missing[0][0]!r} had not reached step {missing[0][1]!r}. "
            f"Log so far: {show(log)}.",
            misconception="A loop that keeps going round without ever running a task step "
            "(or keeps resuming a task that has already finished) makes no progress.",
            next_step="Check that every turn of the loop either runs a step of a ready "
            "task or moves the clock to wake a sleeper, and that finished tasks are dropped.",
        )
    if missing:
        fail(
            f"{what}: TinyLoop.run() returned before every task had finished: task "
            f"{missing[0][0]!r} never reached step {missing[0][1]!r}. Log: "
            f"{show(log)}.",
            misconception="One task finishing (its StopIteration) says nothing about the "
            "others; the loop is only done when no task is ready and none is asleep.",
            next_step="On StopIteration, drop that one task and carry on with the loop.",
        )


def expect_log(outcome: dict, expected: list[Entry], what: str) -> None:
    actual = outcome["log"]
    same = len(actual) == len(expected) and all(
        a[:2] == e[:2] and numeric(a[2]) and abs(a[2] - e[2]) < 1e-6
        for a, e in zip(actual, expected, strict=True))
    if same:
        return
    expect_interleaved(outcome, expected, what)
    fail(
        f"{what}: the log was {show(actual)}, but {show(expected)} was expected.",
        misconception="Every ready task gets a step before any task gets another, and a "
        "sleeper only runs again once the clock has reached its wake-up time.",
        next_step="Compare the two logs step by step to find the first difference.",
    )


def expect_interleaved(outcome: dict, expected: list[Entry], what: str) -> None:
    if ran_each_to_the_end(outcome["log"]) and not ran_each_to_the_end(expected):
        fail(
            f"{what}: your loop ran each task from start to finish before starting the "
            f"next one. Log: {show(outcome['log'])}; expected {show(expected)}.",
            misconception="A task hands control back to the loop at every yield. If the "
            "loop keeps resuming the same task until it ends, nothing interleaves: that "
            "is one task after another, not concurrency.",
            next_step="Run one step, then put the task at the back of the ready queue (or "
            "among the sleepers) and take the next task from the front.",
        )


# -- task 1 ----------------------------------------------------------------------------

TURNS = "Tasks A and B (three bare yields each) and C (one)"
TURNS_LOG = [("A", 0, 0.0), ("B", 0, 0.0), ("C", 0, 0.0), ("A", 1, 0.0), ("B", 1, 0.0),
             ("C", "done", 0.0), ("A", 2, 0.0), ("B", 2, 0.0), ("A", "done", 0.0),
             ("B", "done", 0.0)]


@pytest.mark.task(1)
def test_tasks_take_turns(student, sim):
    def tasks(loop, log):
        return [stepper(loop, log, "A", [None, None, None]),
                stepper(loop, log, "B", [None, None, None]),
                stepper(loop, log, "C", [None])]

    return judged(judge_tasks_take_turns, outcome=run_scenario(student, sim, tasks))


def judge_tasks_take_turns(seen):
    expect_no_trouble(seen["outcome"], TURNS_LOG, TURNS)
    expect_log(seen["outcome"], TURNS_LOG, TURNS)


ENDS = "Tasks of different lengths, one finishing at once and one starting another"
ENDS_LOG = ([("long", s, 0.0) for s in [*range(5), "done"]] + [("empty", "done", 0.0)]
            + [("parent", s, 0.0) for s in (0, 1, "done")]
            + [("child", s, 0.0) for s in (0, 1, "done")]
            + [("short", s, 0.0) for s in (0, "done")])


@pytest.mark.task(1)
def test_run_ends_when_all_done(student, sim):
    def tasks(loop, log):
        return [stepper(loop, log, "long", [None] * 5), stepper(loop, log, "empty", []),
                parent(loop, log), stepper(loop, log, "short", [None])]

    return judged(judge_run_ends_when_all_done, outcome=run_scenario(student, sim, tasks))


def judge_run_ends_when_all_done(seen):
    outcome = seen["outcome"]
    expect_no_trouble(outcome, ENDS_LOG, ENDS)
    if outcome["ran_away"]:
        fail(
            f"{ENDS}: every task finished, but TinyLoop.run() never returned: it was "
            f"still looping after {MAX_LINES:,} lines of your code.",
            misconception="With no task ready and none asleep, nothing can ever happen "
            "again; a `while True:` loop with nothing to do just spins forever.",
            next_step="Keep looping while either the ready queue or the sleepers still hold a task"
                      " (or return once both are empty).",
        )
    log = outcome["log"]
    repeated = sorted({(n, s) for n, s, _at in log
                       if sum(1 for n2, s2, _a in log if (n2, s2) == (n, s)) > 1},
                      key=str)
    if repeated:
        fail(
            f"{ENDS}: task {repeated[0][0]!r} logged step {repeated[0][1]!r} more than once.",
            misconception="Each step of a task runs exactly once: resume a task once per "
            "turn, and only requeue it once.",
            next_step="Check that a task is in at most one place (ready queue or sleepers).",
        )


# -- task 2 ----------------------------------------------------------------------------

SLEEPERS = "Tasks A, B, C sleeping 3.0 s, 1.0 s and 2.0 s"
SLEEPERS_LOG = [("A", 0, 0.0), ("B", 0, 0.0), ("C", 0, 0.0),
                ("B", "done", 1.0), ("C", "done", 2.0), ("A", "done", 3.0)]
TIED = "Tasks D and E both sleeping 1.5 s"
TIED_LOG = [("D", 0, 0.0), ("E", 0, 0.0), ("D", "done", 1.5), ("E", "done", 1.5)]


def expect_woken_by_time(outcome: dict) -> None:
    expect_no_trouble(outcome, SLEEPERS_LOG, SLEEPERS)
    expect_interleaved(outcome, SLEEPERS_LOG, SLEEPERS)
    log = outcome["log"]
    woke = [name for name, step, _at in log if step == "done"]
    if woke == ["A", "B", "C"]:
        times = [at for _name, _step, at in log if numeric(at)]
        backwards = any(later < earlier - 1e-9
                        for earlier, later in itertools.pairwise(times))
        fail(
            f"{SLEEPERS}: your loop woke them in the order they went to sleep (A, B, C) "
            "instead of by wake-up time (B at 1.0 s, C at 2.0 s, A at 3.0 s)"
            f"{', and its clock went backwards' if backwards else ''}. Log: "
            f"{show(log)}.",
            misconception="A plain list or queue of sleepers keeps the order they went to "
            "sleep in; the next task to wake is the one with the earliest wake-up time, "
            "wherever it is.",
            next_step="Keep the sleepers in a heap: `heapq.heappush(self.sleepers, "
            "(wake_at, counter, task))`, and `heapq.heappop` gives the earliest.",
        )
    if woke == ["B", "C", "A"] and all(at == 0 for _name, _step, at in log):
        fail(
            f"{SLEEPERS}: they woke in the right order, but every step saw `now == 0`: "
            f"your loop's clock never moved. Log: {show(log)}.",
            misconception="Waking a sleeper means it is now its wake-up time; the clock "
            "has to say so, or every task believes no time has passed.",
            next_step="When you wake a sleeper, set `self.now` to its wake-up time first.",
        )
    expect_log(outcome, SLEEPERS_LOG, SLEEPERS)


@pytest.mark.task(2)
def test_sleepers_wake_in_time_order(student, sim):
    def tasks(loop, log):
        return [stepper(loop, log, "A", [("sleep", 3.0)]),
                stepper(loop, log, "B", [("sleep", 1.0)]),
                stepper(loop, log, "C", [("sleep", 2.0)])]

    def tied(loop, log):
        return [stepper(loop, log, "D", [("sleep", 1.5)]),
                stepper(loop, log, "E", [("sleep", 1.5)])]

    outcome = run_scenario(student, sim, tasks)
    expect_woken_by_time(outcome)  # before the tie
    return judged(judge_sleepers_wake_in_time_order, outcome=outcome,
                  tied=run_scenario(student, sim, tied))


def judge_sleepers_wake_in_time_order(seen):
    expect_woken_by_time(seen["outcome"])
    tied = seen["tied"]
    expect_no_trouble(tied, TIED_LOG, TIED)
    if sorted(tied["log"], key=str) != sorted(TIED_LOG, key=str):
        expect_log(tied, TIED_LOG, TIED)


CLOCK = "A sleeping 1.0 s twice, B sleeping 1.5 s then 1.0 s, C only yielding"
CLOCK_LOG = [("A", 0, 0.0), ("B", 0, 0.0), ("C", 0, 0.0), ("C", 1, 0.0), ("C", "done", 0.0),
             ("A", 1, 1.0), ("B", 1, 1.5), ("B", 2, 1.5), ("A", "done", 2.0),
             ("B", "done", 2.5)]


@pytest.mark.task(2)
def test_clock_jumps_without_sleeping(student, sim):
    def tasks(loop, log):
        return [stepper(loop, log, "A", [("sleep", 1.0), ("sleep", 1.0)]),
                stepper(loop, log, "B", [("sleep", 1.5), None, ("sleep", 1.0)]),
                stepper(loop, log, "C", [None, None])]

    outcome = run_scenario(student, sim, tasks)
    return judged(judge_clock_jumps_without_sleeping, outcome=outcome, sim=sim)


def judge_clock_jumps_without_sleeping(seen):
    outcome = seen["outcome"]
    sleeps = [v for v in seen["sim"].violations if v.kind == "sleep"]
    if sleeps:
        fail(
            f"{CLOCK}: your loop called {describe_violation(sleeps[0])}"
            f"{f' ({len(sleeps)} times)' if len(sleeps) > 1 else ''}, really waiting "
            "instead of moving its clock.",
            misconception="The loop's clock is its own number: when only sleepers are left, "
            "nothing can happen before the next wake-up time, so the loop can jump `now` "
            "straight there. Really sleeping just wastes time (and a real event loop "
            "would wait for I/O there, not doze).",
            next_step="Delete the time.sleep: set `self.now` to the wake-up time and "
            "resume the task.",
        )
    expect_no_trouble(outcome, CLOCK_LOG, CLOCK)
    if outcome["log"] and all(at == 0 for _n, _s, at in outcome["log"]):
        fail(
            f"{CLOCK}: every step saw `now == 0`: your loop's clock never moved. Log: "
            f"{show(outcome['log'])}.",
            misconception="Waking a sleeper means it is now its wake-up time; the clock "
            "has to say so, or every task believes no time has passed.",
            next_step="When you wake a sleeper, set `self.now` to its wake-up time first.",
        )
    # A's second sleep of 1.0 s begins at 1.0 s: due at 2.0 s from now, at 1.0 s if the
    # loop forgot to add `now` (B's second sleep likewise: 2.5 s, or 1.0 s).
    done = {name: at for name, step, at in outcome["log"] if step == "done"}
    if done.get("A") == 1.0 or done.get("B") == 1.0:
        fail(
            f"{CLOCK}: A's second sleep began at 1 s but A woke at {at_text(done.get('A'))} "
            f"s (2 s expected), B's began at 1.5 s and B woke at {at_text(done.get('B'))} s "
            "(2.5 s expected): a sleeper was due `seconds` after time zero, not after the "
            f"moment it went to sleep. Log: {show(outcome['log'])}.",
            misconception="`sleep(1.0)` means one second from now. The wake-up time is the "
            "loop's current clock plus the seconds asked for; the seconds alone are only "
            "right for the very first sleep at time zero.",
            next_step="Push `(self.now + seconds, counter, task)` onto the sleepers' heap.",
        )
    expect_log(outcome, CLOCK_LOG, CLOCK)
