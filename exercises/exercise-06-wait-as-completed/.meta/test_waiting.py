"""Hidden checks for exercise 06 (asyncio.wait and asyncio.as_completed).

Every call goes through ``call``, which runs the student's coroutine inside a small
observer and writes down, the instant it returns or raises, the simulated time, the state
of each fake download and the tasks not yet finished. Looking only after ``sim.run`` would
be too late: the loop runs one more round before it stops, and in that round a task that
was merely *asked* to cancel gets to finish, which would hide a missing drain.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on the plain observations (the ``Ended`` record, the reports),
where no student code runs. Only the judges' conditions earn points.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from grader.suite import (
    Ended,
    FakeIO,
    SourceFailed,
    fail,
    judged,
    observe,
    same_value,
    task_label,
)

EPS = 1e-6
LIMIT = 1.2
MIXED = {"a": 0.5, "b": 2.0, "c": 0.8, "d": 1.5}  # a and c in time; b and d not
ALL_FAST = {"a": 0.5, "c": 0.8}
WITH_FAILURE = {"a": 0.5, "e": 0.3, "b": 2.0}  # e fails at 0.3 s
PROGRESS = {"a": 1.0, "b": 0.5, "c": 0.8}  # finish order: b, c, a
# What a message may name: only the constructs the student's file uses (student.uses).
CONSTRUCTS = ("gather", "wait", "wait_for", "as_completed", "zip", "enumerate", "timeout",
              "shield", "TaskGroup")


# -- observing one call ------------------------------------------------------------------


def call(sim, student, make: Callable[[], Any], *, what: str, delays: dict[str, float],
         failing: dict[str, BaseException] | None = None) -> Ended:
    """Install a fresh fake ``fetch``, run ``make()`` on the virtual clock, observe its end."""
    io = FakeIO(sim, delays, failing=failing)
    student.replace("fetch", io.fetch)
    return observe(sim, make(), what=what, io=io)


NOT_AWAITABLE = ("can't be used in 'await' expression",  # Python 3.11 to 3.13
                 "can't be awaited")  # 3.14: "'NoneType' object can't be awaited"


def reraise_unexpected(ended: Ended, what: str) -> None:
    """An error the check did not ask for is the student's own: explain it or show it."""
    error = ended.error
    if error is None:
        return
    if isinstance(error, TypeError) and any(words in str(error) for words in NOT_AWAITABLE):
        fail(
            f"Called {what}; it raised TypeError: {error}. Something that is not awaitable "
            "was awaited: report is a plain function, and what it returns (None) cannot be "
            "awaited.",
            misconception="Only coroutines, tasks and futures can be awaited. A plain "
            "function runs completely when you call it; there is nothing left to wait for.",
            next_step="`report` is a plain function: call it directly, without await.",
        )
    if isinstance(error, TypeError) and "coroutine" in str(error).lower():
        fail(
            f"Called {what}; asyncio refused the coroutines it was given: "
            f"TypeError: {error}",
            misconception="asyncio.wait works on tasks, not bare coroutines. A coroutine "
            "is only a plan; a task is a started operation you can check, read and cancel.",
            next_step="Start each fetch with asyncio.create_task(fetch(source)), keep the "
            "tasks (a dict {task: source} maps results back) and pass those.",
        )
    if isinstance(error, asyncio.CancelledError):
        fail(
            f"Called {what}; a CancelledError escaped from it at {ended.at:.1f} s.",
            misconception="A cancelled task has finished too (task.done() is True), but it "
            "has no result: awaiting it, or calling its result() or exception(), raises "
            "CancelledError, which means 'that task was stopped', not your function's "
            "answer.",
            next_step="Read results only from tasks that finished on their own (the "
            "`done` set of asyncio.wait, before you cancel anything), and wait for cancelled "
            "tasks with asyncio.gather(*tasks, return_exceptions=True) or asyncio.wait(tasks): "
            "both wait without raising.",
        )
    raise error


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def expect_suite_delays(ended: Ended, delays: dict[str, float]) -> None:
    """Every fetch the call made took the delay this suite gave it, not one of its own."""
    for label, op in ended.ops.items():
        if label in delays and op.delay != delays[label]:
            impossible(f"fetch {label!r} was told {op.delay} s, not {delays[label]} s")


def _slow_ones_ran_to_the_end(ended: Ended, delays: dict[str, float]) -> bool:
    late = [ended.ops.get(s) for s, d in delays.items() if d > LIMIT]
    return bool(late) and all(op is not None and op.outcome == "ok" for op in late)


# -- task 1 helpers --------------------------------------------------------------------------


def expect_kept(ended: Ended, what: str, *, delays: dict[str, float], expected: dict[str, str],
                returns_at: float, uses: dict[str, bool]) -> None:
    """Timing first (it names the bigger misconception), then the dict itself."""
    reraise_unexpected(ended, what)
    slowest = max(delays.values())
    if ended.at > returns_at + EPS and _slow_ones_ran_to_the_end(ended, delays):
        fail(
            f"Called {what}; it returned only at {ended.at:.1f} s, after the slowest "
            f"fetch ({slowest:.1f} s) had finished, instead of at the {LIMIT:.1f} s deadline.",
            misconception=("gather (or awaiting every task)" if uses["gather"] else
                           "Awaiting every fetch") + " waits for the slowest operation; it "
            "has no notion of a deadline.",
            next_step=f"Use done, pending = await asyncio.wait(tasks, timeout={LIMIT}): it "
            "returns at the deadline with what has finished so far.",
        )
    if ended.at > returns_at + EPS:
        if abs(ended.at - LIMIT) <= EPS:
            fail(
                f"Called {what}; every fetch had finished by {returns_at:.1f} s, but it "
                f"returned only at {ended.at:.1f} s: it waited out the whole deadline.",
                misconception="The deadline is the longest you are willing to wait, not a "
                "fixed wait: sleeping until it and then looking makes every call slow.",
                next_step="asyncio.wait(tasks, timeout=seconds) returns as soon as all the "
                "tasks are done, or at the deadline if that comes first.",
            )
        fail(
            f"Called {what}; it returned at {ended.at:.1f} s, but it should have returned "
            f"at {returns_at:.1f} s.",
            misconception="Checking on tasks every so often (polling) notices changes only "
            "at the next look; the caller waits for nothing in between.",
            next_step="Let asyncio.wait(tasks, timeout=seconds) do the waiting.",
        )
    if ended.at < returns_at - EPS:
        fail(
            f"Called {what}; it returned at {ended.at:.1f} s, before the "
            f"{LIMIT:.1f} s deadline, while fetches were still due to finish in time.",
            misconception="Returning before the deadline throws away results that would "
            "still have arrived in time.",
            next_step="Wait until the deadline, or until everything has finished.",
        )
    value = ended.value
    if not isinstance(value, dict):
        fail(
            f"Called {what}; it returned {value!r:.120}, but a dict {{source: result}} was "
            f"expected: {expected!r}.",
            misconception="The caller needs to know which source each result came from.",
            next_step="Build a dict mapping each source to its result.",
        )
    mixed_up = [(k, v) for k, v in value.items()
                if isinstance(v, str) and v.startswith("data from ") and v != f"data from {k}"]
    if mixed_up:
        key, result = mixed_up[0]
        fail(
            f"Called {what}; it returned {value!r:.200}, which files {result!r} under "
            f"{key!r}: the results are mapped to the wrong sources.",
            misconception="The order in which results come back says nothing about which "
            "source they belong to; neither does the position of a coroutine once asyncio "
            "has wrapped it.",
            next_step="Keep a dict {task: source} of the tasks you created and look each "
            "finished task up in it.",
        )
    if value == {} and uses["wait_for"] and uses["gather"]:
        fail(
            f"Called {what}; it returned {{}} at the deadline, but {expected!r} had "
            "arrived by then.",
            misconception="Your file puts a time limit (wait_for) around a gather: at the "
            "deadline wait_for cancels the whole gather, and the results that had already "
            "arrived are thrown away with it.",
            next_step="Keep the fetches as separate tasks and wait on them with a timeout "
                      "(`asyncio.wait` can): you get what finished and can cancel the rest.",
        )
    if not same_value(value, expected):
        fail(
            f"Called {what}; it returned {value!r:.200}, but {expected!r} was expected.",
            misconception="The dict holds exactly the fetches that finished successfully "
            "before the deadline; the ones still running are not in it, not even as None.",
            next_step="Take results only from the `done` set, and leave out any task whose "
            "exception() is not None.",
        )


# -- task 1 --------------------------------------------------------------------------------


def within(delays: dict[str, float], *, failing: bool = False) -> str:
    what = f"`fetch_within({list(delays)!r}, {LIMIT})`"
    return what + (" with 'e' failing at 0.3 s" if failing else "")


def call_within(sim, student, delays: dict[str, float],
                failing: dict[str, BaseException] | None = None) -> Ended:
    sources = list(delays)
    ended = call(sim, student, lambda: student.fetch_within(list(sources), LIMIT),
                 what=within(delays, failing=bool(failing)), delays=delays, failing=failing)
    return ended


@pytest.mark.task(1)
def test_keeps_what_finished_in_time(student, sim):
    ended = call_within(sim, student, MIXED)
    return judged(judge_keeps_what_finished_in_time, ended=ended, uses=student.uses(*CONSTRUCTS))


def judge_keeps_what_finished_in_time(seen):
    expect_suite_delays(seen["ended"], MIXED)
    expect_kept(seen["ended"], within(MIXED), delays=MIXED, returns_at=LIMIT,
                expected={"a": "data from a", "c": "data from c"}, uses=seen["uses"])


@pytest.mark.task(1)
def test_cancels_and_drains_the_rest(student, sim):
    ended = call_within(sim, student, MIXED)
    return judged(judge_cancels_and_drains_the_rest, ended=ended, uses=student.uses(*CONSTRUCTS))


def judge_cancels_and_drains_the_rest(seen):
    ended, what = seen["ended"], within(MIXED)
    expect_suite_delays(ended, MIXED)
    reraise_unexpected(ended, what)
    late = [s for s, d in MIXED.items() if d > LIMIT]  # 'b' and 'd'
    ops = {s: ended.ops.get(s) for s in late}
    never = [s for s, op in ops.items() if op is None]
    if never:
        fail(
            f"Called {what}; the fetch of {never[0]!r} never even started.",
            misconception="Calling fetch(...) only builds a coroutine; it runs once it is "
            "wrapped in a task (or awaited).",
            next_step="Start every fetch with asyncio.create_task before waiting.",
        )
    if _slow_ones_ran_to_the_end(ended, MIXED):
        fail(
            f"Called {what}; the fetches of 'b' and 'd' ran to the end and your function "
            f"returned at {ended.at:.1f} s, after the slowest one had finished, instead of "
            f"cancelling them at the {LIMIT:.1f} s deadline.",
            misconception=("gather (or awaiting every task)" if seen["uses"]["gather"] else
                           "Awaiting every fetch") + " waits for the slowest operation; "
            "nothing is ever given up on.",
            next_step="Wait with asyncio.wait(tasks, timeout=seconds), then cancel whatever "
            "is still pending.",
        )
    running = [s for s, op in ops.items() if op.outcome == "running"]
    if running and any(task.cancelling() for task in ended.unfinished):
        fail(
            f"Called {what}; you cancelled the fetches of {running!r}, but when your "
            f"function returned at {ended.at:.1f} s they were still running: you did not "
            "wait for them to finish cancelling.",
            misconception="task.cancel() only asks. The task stops later, the next time it "
            "gets to run; until then it is still running, and anything it does on the way "
            "out (closing a connection, say) has not happened yet.",
            next_step="After cancelling, drain: await asyncio.gather(*pending, "
            "return_exceptions=True) (or asyncio.wait(pending)) before returning.",
        )
    if running:
        fail(
            f"Called {what}; when it returned at {ended.at:.1f} s, the fetches of "
            f"{running!r} were still running: nothing cancelled them, so they carry on in "
            "the background as leaked tasks.",
            misconception=("asyncio.wait(..., timeout=...) only sorts tasks into done and "
                           "pending; it stops nothing. " if seen["uses"]["wait"] else
                           "Giving up waiting for a task does not stop it. ")
            + ("asyncio.shield keeps what it wraps from being cancelled. "
               if seen["uses"]["shield"] else "")
            + "A task keeps running (and keeps its connection open) until someone cancels "
            "it.",
            next_step="Call task.cancel() on every pending task, then await "
            "asyncio.gather(*pending, return_exceptions=True) before returning.",
        )
    if ended.unfinished:
        names = ", ".join(task_label(t) for t in ended.unfinished[:3])
        fail(
            f"Called {what}; when it returned at {ended.at:.1f} s, "
            f"{len(ended.unfinished)} task(s) it started were still running: {names}.",
            misconception="A task keeps running after the code that started it moves on; "
            "nobody waits for it or sees its errors.",
            next_step="Cancel every task you no longer need and wait for it to stop before "
            "returning.",
        )


@pytest.mark.task(1)
def test_returns_early_when_all_finish(student, sim):
    ended = call_within(sim, student, ALL_FAST)
    return judged(judge_returns_early_when_all_finish, ended=ended, uses=student.uses(*CONSTRUCTS))


def judge_returns_early_when_all_finish(seen):
    expect_suite_delays(seen["ended"], ALL_FAST)
    expect_kept(seen["ended"], within(ALL_FAST), delays=ALL_FAST, returns_at=0.8,
                expected={"a": "data from a", "c": "data from c"}, uses=seen["uses"])


@pytest.mark.task(1)
def test_failed_source_left_out(student, sim):
    ended = call_within(sim, student, WITH_FAILURE, {"e": SourceFailed("'e' is down")})
    return judged(judge_failed_source_left_out, ended=ended, uses=student.uses(*CONSTRUCTS))


def judge_failed_source_left_out(seen):
    ended, what = seen["ended"], within(WITH_FAILURE, failing=True)
    expect_suite_delays(ended, WITH_FAILURE)
    if isinstance(ended.error, SourceFailed):
        fail(
            f"Called {what}; it raised SourceFailed at {ended.at:.1f} s: the error of the "
            "failed fetch 'e' escaped, and the results that did arrive were lost.",
            misconception="A task in `done` has finished, but not necessarily successfully: "
            "task.result() raises the task's own exception if it failed.",
            next_step="Skip done tasks whose task.exception() is not None (or use "
            "gather(..., return_exceptions=True) and drop the exceptions).",
        )
    expect_kept(ended, what, delays=WITH_FAILURE, returns_at=LIMIT,
                expected={"a": "data from a"}, uses=seen["uses"])


# -- task 2 --------------------------------------------------------------------------------


PROGRESS_CALL = f"`fetch_with_progress({list(PROGRESS)!r}, report)`"


def run_with_progress(sim, student) -> tuple[Ended, list[tuple[Any, Any, float]]]:
    """Call fetch_with_progress; its Ended and the (source, result, seconds) reported."""
    sources = list(PROGRESS)
    what = PROGRESS_CALL
    reports: list[tuple[Any, Any, float]] = []
    began: list[float] = []

    def report(source: Any, result: Any) -> None:
        reports.append((source, result, sim.now() - began[0]))

    def make() -> Any:
        began.append(sim.now())
        return student.fetch_with_progress(list(sources), report)

    ended = call(sim, student, make, what=what, delays=PROGRESS)
    return ended, reports


def expect_reports_on_the_timeline(ended: Ended, reports: list) -> None:
    """Reports come in clock order, none before its fetch ended (once each names its own)."""
    times = [t for _, _, t in reports]
    if times != sorted(times):
        impossible(f"reports out of clock order: {times[:5]}")
    for source, _, moment in reports:
        op = ended.ops.get(source) if isinstance(source, str) else None
        if op is not None and op.end is not None and ended.when(op.end) > moment + EPS:
            impossible(f"{source!r} reported at {moment} s, before its fetch ended")


def _finish_order() -> list[str]:
    return sorted(PROGRESS, key=PROGRESS.get)


@pytest.mark.task(2)
def test_results_in_completion_order(student, sim):
    ended, _ = run_with_progress(sim, student)
    return judged(judge_results_in_completion_order, ended=ended, uses=student.uses(*CONSTRUCTS))


def judge_results_in_completion_order(seen):
    ended, what = seen["ended"], PROGRESS_CALL
    expect_suite_delays(ended, PROGRESS)
    reraise_unexpected(ended, what)
    expected = [f"data from {s}" for s in _finish_order()]
    in_input_order = [f"data from {s}" for s in PROGRESS]
    if same_value(ended.value, in_input_order):
        fail(
            f"Called {what} (the fetches take 1.0, 0.5 and 0.8 s); it returned "
            f"{ended.value!r}, which is the order you passed them in, not the order they "
            f"finished: {expected!r}.",
            misconception=("asyncio.gather returns its results in input order, and so "
                           "does placing each result by its position in `sources` or "
                           "sorting them afterwards" if seen["uses"]["gather"] else
                           "Placing each result by its position in `sources`, or sorting "
                           "them afterwards, puts them back in input order")
            + "; the task asks for finishing order.",
            next_step="Append each result to the list at the moment it arrives.",
        )
    if not same_value(ended.value, expected):
        fail(
            f"Called {what} (the fetches take 1.0, 0.5 and 0.8 s); it returned "
            f"{ended.value!r:.200}, but {expected!r} (the order they finished) was expected.",
            misconception="The list should grow by one result each time a fetch finishes.",
            next_step="Append each result the moment its fetch finishes"
            + ("." if seen["uses"]["as_completed"] else
               ": loop over asyncio.as_completed(...) and append each awaited result."),
        )


@pytest.mark.task(2)
def test_progress_reported_as_each_finishes(student, sim):
    ended, reports = run_with_progress(sim, student)
    return judged(judge_progress_reported_as_each_finishes, ended=ended, reports=reports,
                  uses=student.uses(*CONSTRUCTS))


def judge_progress_reported_as_each_finishes(seen):
    ended, reports, what = seen["ended"], seen["reports"], PROGRESS_CALL
    expect_suite_delays(ended, PROGRESS)
    reraise_unexpected(ended, what)
    said = ", ".join(f"({s!r}, {r!r}) at {t:.1f} s" for s, r, t in reports) or "nothing"
    if len(reports) != len(PROGRESS):
        fail(
            f"Called {what}; report was called {len(reports)} time(s): {said}. It should be "
            f"called once per source, {len(PROGRESS)} times.",
            misconception="Each fetch that finishes is one step of progress to report.",
            next_step="Call report(source, result) once for every fetch, as it finishes.",
        )
    for source, result, _ in reports:
        if same_value(result, f"data from {source}"):
            continue
        fail(
            f"Called {what}; report was called with {said}: it reported {result!r:.80} as "
            f"the result of {source!r}.",
            misconception="Results arrive in finishing order, not in the order of "
            "`sources`, so pairing them with `sources` by position"
            + (f" ({' / '.join(n for n in ('zip', 'enumerate') if seen['uses'][n])})"
               if seen["uses"]["zip"] or seen["uses"]["enumerate"] else "")
            + " mixes the sources up"
            + (": as_completed yields new awaitables, not the coroutines you passed in."
               if seen["uses"]["as_completed"] else "."),
            next_step="Make each result carry its source: wrap the fetch in a small "
            "coroutine that returns (source, await fetch(source)), or keep a dict "
            "{task: source}.",
        )
    late = [(s, t) for s, _, t in reports if t > PROGRESS.get(s, 0.0) + EPS]
    if late:
        order = [s for s, _, _ in reports]
        as_given = " (in the order you passed them in)" if order == list(PROGRESS) else ""
        slowest = max(PROGRESS.values())
        if all(abs(t - slowest) <= EPS for _, _, t in reports):
            fail(
                f"Called {what} (the fetches take 1.0, 0.5 and 0.8 s); report was called "
                f"with {said}: every result was reported at {slowest:.1f} s{as_given}, once "
                "the slowest fetch had finished.",
                misconception=("gather hands over all the results together, when the "
                               "slowest operation is done; "
                               if seen["uses"]["gather"] and not seen["uses"]["as_completed"]
                               else "Collecting every result first and reporting afterwards "
                               "waits for the slowest fetch; ")
                + "the early ones wait for nothing.",
                next_step="Call report inside the loop that receives each result, right "
                "when it arrives"
                + ("." if seen["uses"]["as_completed"] else
                   " (asyncio.as_completed gives them to you in finishing order)."),
            )
        source, moment = late[0]
        fail(
            f"Called {what}; report was called with {said}: {source!r} was reported at "
            f"{moment:.1f} s, though its fetch finished at {PROGRESS[source]:.1f} s.",
            misconception="Progress is only useful when it is reported as it happens.",
            next_step="Report each result the moment its fetch completes "
            "(asyncio.as_completed gives them to you in that order).",
        )
    expect_reports_on_the_timeline(ended, reports)
