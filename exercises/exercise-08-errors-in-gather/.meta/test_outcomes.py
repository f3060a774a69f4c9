"""Hidden checks for exercise 08 (errors in gather: collect them, or fail fast and tidy up).

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations (what split_results returned or raised;
an ``Attempt`` as plain facts beside the FakeIO record, held against this suite's own
delays), where no student code runs. Only the judges' conditions earn points.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

import pytest

from grader.suite import (
    FakeIO,
    Repr,
    SourceFailed,
    expect_all_awaited,
    expect_elapsed_at_most,
    expect_equal,
    fail,
    judged,
    same_value,
)

FAKE_ERRORS = (SourceFailed, TimeoutError)


def make_io(sim, student, delays, failing=None) -> FakeIO:
    io = FakeIO(sim, delays, failing=failing)
    student.replace("fetch", io.fetch)
    return io


def leaves(exc: BaseException) -> list[BaseException]:
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def situation(sources: list[str], failing: str) -> str:
    """'With 'b' failing, `split_results(['a', 'b', 'c'])`': the start of every message."""
    return f"With {failing} failing, `split_results({sources!r})`"


# -- task 1: split_results ------------------------------------------------------------


SPLIT_NAMES = ("gather", "return_exceptions", "TaskGroup")


def run_split(student, sim, sources: list[str]) -> dict:
    """Call split_results: what it returned, or the fetches' failure it let escape."""
    uses = student.uses(*SPLIT_NAMES)
    try:
        result = sim.run(student.split_results(list(sources)), what="split_results")
    except (*FAKE_ERRORS, BaseExceptionGroup) as exc:
        if not all(isinstance(leaf, FAKE_ERRORS) for leaf in leaves(exc)):
            raise
        return {"raised": exc, "result": None, "uses": uses, "sim": sim}
    return {"raised": None, "result": result, "uses": uses, "sim": sim}


def escaped_failure_why(uses: dict, exc: BaseException) -> dict:
    """Why a fetch's failure left split_results, from the constructs the student wrote."""
    if uses.get("TaskGroup") and isinstance(exc, BaseExceptionGroup):
        return dict(
            misconception="A TaskGroup is all-or-nothing: when one of its tasks fails it "
            "cancels the others and raises an ExceptionGroup, so the results of the "
            "fetches that worked never reach you. That is task 2's behaviour, not task 1's.",
            next_step="Turn each failure into a value: gather with "
            "`return_exceptions=True`, or a small wrapper coroutine that catches the "
            "fetch's exception and returns it.")
    if uses.get("gather") and not uses.get("return_exceptions"):
        return dict(
            misconception="By default gather raises the first exception from its tasks; "
            "the results of the tasks that worked are never returned to you.",
            next_step="Use `asyncio.gather(..., return_exceptions=True)` so that each "
            "failure comes back as a value in its slot.")
    return dict(
        misconception="Awaiting a fetch that fails (directly, or through its task) raises "
        "its exception right there, which ends split_results unless something catches it "
        "around that one await.",
        next_step="Turn each failure into a value: `asyncio.gather(..., "
        "return_exceptions=True)`, or catch around each await and keep the exception.")


UNAWAITED_TYPES = {"coroutine", "Task", "Future", "_GatheringFuture"}


def type_name(value: object) -> str:
    """A value's type name, whether it is live or came back as a ``Repr``."""
    return value.type_name if isinstance(value, Repr) else type(value).__name__


def expect_values_awaited(who: str, values: list) -> None:
    """A coroutine or future among the results: an ``await`` is missing, say so first."""
    pending = [v for v in values if type_name(v) in UNAWAITED_TYPES]
    if pending:
        kind = type_name(pending[0]).strip("_")
        named = re.match(r"<coroutine object (?:\w+\.)*(\w+) at ", repr(pending[0]))
        made_by = f" made by `{named.group(1)}(...)`" if named else ""
        fail(f"{who} returned a {kind} object{made_by} where a fetched result belongs: "
             "something was never awaited.",
             misconception="Calling an `async def` function (or gather) only builds a "
             "coroutine or future; its result exists only once it has been awaited.",
             next_step="Put `await` in front of the call whose result you keep.")


def split_parts(seen, who: str) -> tuple[list, list]:
    """Explain an escaped failure or a result of the wrong shape; else the two lists."""
    exc, result = seen["raised"], seen["result"]
    if exc is not None:
        fail(
            f"{who} raised {type(exc).__name__} ({exc}) instead of returning: one "
            "failing fetch sank the whole call, and the results of the others were lost.",
            **escaped_failure_why(seen.get("uses", {}), exc),
        )
    if type_name(result) in UNAWAITED_TYPES:
        expect_values_awaited(who, [result])
    if not (isinstance(result, tuple | list) and len(result) == 2
            and all(isinstance(part, tuple | list) for part in result)):
        fail(f"{who} returned {result!r:.120}, but it should return a pair of lists: "
             "`(successes, failures)`.",
             next_step="Return both lists, successes first, as a pair.")
    successes, failures = result
    expect_values_awaited(who, [*successes, *failures])
    expect_all_awaited(seen["sim"], what=who)
    return list(successes), [tuple(f) if isinstance(f, list) else f for f in failures]


def diagnose_content(who: str, successes: list, failures: list, expected: tuple, *,
                     names: bool = True) -> None:
    """The mistakes that spoil the contents: say which one, before any generic message."""
    wrapped = [s for s in successes if isinstance(s, BaseException)]
    if wrapped:
        fail(
            f"{who} put the exception object {wrapped[0]!r} among the successes.",
            misconception="With `return_exceptions=True`, a failed fetch comes back as its "
            "exception object, in its slot, right next to the real results: it is a value "
            "like any other until you check its type.",
            next_step="Test each value with `isinstance(value, Exception)` and put those "
            "in the failures list instead.",
        )
    if not successes and not failures:
        fail(
            f"{who} returned ([], []): every result was thrown away, although only "
            f"{len(expected[1])} of the fetches failed.",
            misconception="A try/except around the whole gather does catch the first "
            "failure, but by then gather has given up: the results of the fetches that "
            "worked are gone.",
            next_step="Let gather return the failures as values "
            "(`return_exceptions=True`) and sort them out afterwards.",
        )
    wanted = dict(expected[1]) if names else {}
    for entry in failures:
        if (isinstance(entry, tuple) and len(entry) == 2 and entry[0] in wanted
                and entry[1] != wanted[entry[0]]):
            fail(
                f"{who} reported the failure of {entry[0]!r} as {entry[1]!r:.80}, but "
                f"it should be the exception's type name, {wanted[entry[0]]!r}.",
                misconception="`str(exc)` is the exception's message and `repr(exc)` its "
                "full description; the type name is the name of its class.",
                next_step="Use `type(exc).__name__`.",
            )


A_B_C = {"a": 0.2, "b": 0.5, "c": 0.8}  # input, completion and alphabetical order agree


@pytest.mark.task(1)
def test_keeps_every_success(student, sim):
    make_io(sim, student, A_B_C, failing={"b": SourceFailed("b is down")})
    return judged(judge_keeps_every_success, **run_split(student, sim, ["a", "b", "c"]))


def judge_keeps_every_success(seen):
    who = situation(["a", "b", "c"], "'b'")
    successes, failures = split_parts(seen, who)
    expected = (["data from a", "data from c"], [("b", "SourceFailed")])
    diagnose_content(who, successes, failures, expected, names=False)
    if not same_value(successes, expected[0]):
        fail(f"{who} gave the successes {successes!r:.160}, "
             f"but {expected[0]!r} was expected.",
             misconception="Every fetch that worked belongs in the successes list, and "
             "nothing else does.",
             next_step="Keep each outcome that is not an exception.")


@pytest.mark.task(1)
def test_names_each_failure(student, sim):
    make_io(sim, student, {**A_B_C, "d": 0.6},
            failing={"b": SourceFailed("b is down"), "d": TimeoutError("d took too long")})
    return judged(judge_names_each_failure, **run_split(student, sim, ["a", "b", "c", "d"]))


def judge_names_each_failure(seen):
    who = situation(["a", "b", "c", "d"], "'b' and 'd'")
    successes, failures = split_parts(seen, who)
    expected = (["data from a", "data from c"], [("b", "SourceFailed"), ("d", "TimeoutError")])
    diagnose_content(who, successes, failures, expected)
    if not same_value(failures, expected[1]):
        fail(f"{who} gave the failures {failures!r:.160}, but {expected[1]!r} was "
             "expected.",
             misconception="Every failed fetch should be reported as a (source, exception "
             "type name) pair.",
             next_step="Pair each failed source with `type(exc).__name__`; "
             "`zip(sources, outcomes)` lines them up.")


# Input order differs from completion order and from alphabetical order, for both lists.
SHUFFLED = {"stock": 0.9, "users": 0.75, "orders": 0.5, "audit": 0.35, "billing": 0.4}
SHUFFLED_FAILING = {"users": SourceFailed("users is down"),
                    "audit": TimeoutError("audit took too long")}


@pytest.mark.task(1)
def test_keeps_input_order(student, sim):
    make_io(sim, student, SHUFFLED, failing=SHUFFLED_FAILING)
    return judged(judge_keeps_input_order, **run_split(student, sim, list(SHUFFLED)))


def judge_keeps_input_order(seen):
    who = situation(list(SHUFFLED), "'users' and 'audit'")
    successes, failures = split_parts(seen, who)
    expected = (["data from stock", "data from orders", "data from billing"],
                [("users", "SourceFailed"), ("audit", "TimeoutError")])
    diagnose_content(who, successes, failures, expected)
    if same_value((successes, failures), expected):
        return
    if sorted(map(repr, successes)) == sorted(map(repr, expected[0])) and sorted(
            map(repr, failures)) == sorted(map(repr, expected[1])):
        fail(
            f"{who} returned the right results in the wrong order: {successes!r} and "
            f"{failures!r}, but the order of the sources is {expected[0]!r} and "
            f"{expected[1]!r}.",
            misconception="Both lists should follow the order of the input, not the order "
            "in which the fetches happened to finish, nor alphabetical order.",
            next_step="gather returns its values in the order of its arguments: walk "
            "`zip(sources, outcomes)` and don't sort.",
        )
    fail(f"{who} returned {(successes, failures)!r:.200}, but {expected!r} was expected.",
         misconception="The successes are the results of the fetches that worked, the "
         "failures one (source, type name) pair per fetch that raised, both following the "
         "sources.",
         next_step="Walk `zip(sources, outcomes)` and sort each outcome into its list.")


@pytest.mark.task(1)
def test_fetches_concurrently(student, sim):
    make_io(sim, student, A_B_C, failing={"b": SourceFailed("b is down")})
    try:
        sim.run(student.split_results(["a", "b", "c"]), what="split_results")
    except (*FAKE_ERRORS, BaseExceptionGroup):
        pass  # judged by the other checks; this one is about time only
    return judged(judge_fetches_concurrently, sim=sim)


def judge_fetches_concurrently(seen):
    expect_elapsed_at_most(seen["sim"], 1.0, what="split_results(['a', 'b', 'c'])")


# -- task 2: fetch_all_or_fail ---------------------------------------------------------


@dataclass
class Attempt:
    """How fetch_all_or_fail ended, observed the instant it returned or raised.

    Plain facts only, so a judge reads it back: ``Attempt(**seen["attempt"])``.
    """

    returned: object = None
    raised: BaseException | None = None
    ended_at: float = 0.0
    still_running: list[str] = field(default_factory=list)
    pending_tasks: int = 0
    cancel_requested: int = 0  # of those, how many had been asked to stop


def attempt(student, sim, io: FakeIO, sources: list[str]) -> Attempt:
    async def scenario() -> Attempt:
        me = asyncio.current_task()
        loop = asyncio.get_running_loop()
        report = Attempt()
        try:
            report.returned = await student.fetch_all_or_fail(list(sources))
        except NotImplementedError:
            raise
        except BaseException as exc:  # what it raises is what we grade
            report.raised = exc
        report.ended_at = loop.time()
        pending = [t for t in asyncio.all_tasks() if t is not me and not t.done()]
        report.pending_tasks = len(pending)
        report.cancel_requested = sum(1 for t in pending if t.cancelling())
        report.still_running = [op.label for op in io.operations if op.end is None]
        return report

    return sim.run(scenario(), what="fetch_all_or_fail")


FAIL_FAST = {"a": 1.0, "b": 0.3, "c": 0.8}
WHO_FAILS = "With 'b' failing after 0.3 s, `fetch_all_or_fail(['a', 'b', 'c'])`"


def fail_fast_attempt(student, sim) -> dict:
    io = make_io(sim, student, FAIL_FAST, failing={"b": SourceFailed("b is down")})
    return {"attempt": vars(attempt(student, sim, io, ["a", "b", "c"])), "io": io}


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def judged_attempt(seen, delays: dict[str, float] = FAIL_FAST) -> Attempt:
    """The attempt, once the fetches took this suite's delays and agree with its facts."""
    report, io = Attempt(**seen["attempt"]), seen["io"]
    for op in io.operations:
        if op.delay != delays.get(op.label):
            impossible(f"fetch {op.label!r} was told {op.delay} s")
        # Still running when the call ended: it ends later, or in the loop's last round.
        running = op.end is None or op.end > report.ended_at + 1e-9
        ended = op.end is not None and op.end < report.ended_at - 1e-9
        if (running and op.label not in report.still_running) or (
                ended and op.label in report.still_running):
            impossible(f"fetch {op.label!r} ended at {op.end}, the call at "
                       f"{report.ended_at}, but still_running says {report.still_running}")
    return report


# Seven sources finishing in neither input nor alphabetical order: results gathered in
# completion order, or read from asyncio.wait's unordered `done` set, come out scrambled.
ALL_SUCCEED = {"north": 0.45, "east": 0.95, "south": 0.3, "west": 0.7, "up": 0.55,
               "down": 0.85, "centre": 0.6}
ALL_SUCCEED_CALL = f"fetch_all_or_fail({list(ALL_SUCCEED)!r})"


@pytest.mark.task(2)
def test_returns_everything_when_all_succeed(student, sim):
    io = make_io(sim, student, ALL_SUCCEED)
    report = attempt(student, sim, io, list(ALL_SUCCEED))
    return judged(judge_returns_everything_when_all_succeed, attempt=vars(report), io=io,
                  sim=sim, uses=student.uses("wait", "as_completed"))


def judge_returns_everything_when_all_succeed(seen):
    report = judged_attempt(seen, ALL_SUCCEED)
    if report.raised is not None:
        raise report.raised
    expected = [FakeIO.expected(s) for s in ALL_SUCCEED]
    returned = report.returned
    if isinstance(returned, list | tuple):
        expect_values_awaited(f"`{ALL_SUCCEED_CALL}`", list(returned))
    elif type_name(returned) in UNAWAITED_TYPES:
        expect_values_awaited(f"`{ALL_SUCCEED_CALL}`", [returned])
    if (isinstance(returned, list) and not same_value(returned, expected)
            and sorted(map(repr, returned)) == sorted(map(repr, expected))):
        uses = seen["uses"]
        cause = ("`asyncio.wait` returns its `done` tasks as a set, which has no order"
                 if uses.get("wait") else
                 "`asyncio.as_completed` hands results over as they finish"
                 if uses.get("as_completed") else
                 "Results collected as they finish come in completion order")
        # Not the order it returned: a set's order can differ from run to run, and the
        # same submission must always read the same feedback.
        fail(f"`{ALL_SUCCEED_CALL}` returned all {len(expected)} results, but not in the "
             f"order of the sources ({expected!r}).",
             misconception=f"{cause}; the answer must follow the order of the sources.",
             next_step="Keep your tasks in a list in the order of the sources and read "
             "`task.result()` from that list (or use the list gather returns).")
    expect_equal(returned, expected, call=ALL_SUCCEED_CALL,
                 misconception="When every fetch works, the answer is every result, in "
                 "the order of the sources.",
                 next_step="Return the list gather gives you.")
    expect_elapsed_at_most(seen["sim"], 1.2, what=ALL_SUCCEED_CALL)


@pytest.mark.task(2)
def test_raises_the_failure(student, sim):
    return judged(judge_raises_the_failure, **fail_fast_attempt(student, sim))


def judge_raises_the_failure(seen):
    report = judged_attempt(seen)
    if report.raised is None:
        fail(
            f"{WHO_FAILS} returned {report.returned!r:.120} instead of raising: the "
            "failure was swallowed, and the caller can't tell that anything went wrong.",
            misconception="Catching the exception and returning partial (or empty) data "
            "hides the failure; this function promises all the results or an error.",
            next_step="After tidying up, re-raise with a bare `raise`.",
        )
    if not any(isinstance(leaf, SourceFailed) for leaf in leaves(report.raised)) and any(
            isinstance(leaf, asyncio.CancelledError) for leaf in leaves(report.raised)):
        fail(
            f"{WHO_FAILS} raised CancelledError instead of the SourceFailed that the "
            "fetch of 'b' raised: nobody cancelled fetch_all_or_fail itself, so this is "
            "the CancelledError of a fetch it cancelled, read back from that task.",
            misconception="After you cancel the other fetches, awaiting one of them or "
            "calling its `result()` raises its CancelledError; the error to report is the "
            "fetch that failed.",
            next_step="Raise the exception of the task that failed (from `done`, or "
            "`task.exception()` of a task that is not `cancelled()`), or keep the one you "
            "caught and re-raise it after tidying up.",
        )
    if not any(isinstance(leaf, SourceFailed) for leaf in leaves(report.raised)):
        fail(
            f"{WHO_FAILS} raised {type(report.raised).__name__} ({report.raised}) "
            "instead of the SourceFailed that the fetch of 'b' raised.",
            misconception="The caller needs the original exception to know what failed.",
            next_step="Let the fetch's own exception propagate (a bare `raise`).",
        )


@pytest.mark.task(2)
def test_fails_fast(student, sim):
    return judged(judge_fails_fast, **fail_fast_attempt(student, sim))


def judge_fails_fast(seen):
    report = judged_attempt(seen)
    if report.ended_at > 0.5:
        fail(
            f"{WHO_FAILS} only finished at {report.ended_at:.1f} s of simulated time: it "
            "waited for every other fetch to end before reporting the failure.",
            misconception="`return_exceptions=True` makes gather wait for every task, "
            "which is right for collecting all outcomes but slow when one failure "
            "already decides the answer.",
            next_step="Let the first exception end the wait (plain gather, a TaskGroup, or "
            "`asyncio.wait(..., return_when=FIRST_EXCEPTION)`), then tidy up.",
        )


@pytest.mark.task(2)
def test_leaves_nothing_running(student, sim):
    return judged(judge_leaves_nothing_running, **fail_fast_attempt(student, sim),
                  uses=student.uses("gather", "wait", "as_completed"))


def left_running_why(uses: dict) -> str:
    """Why the other fetches were still running, naming only what the student wrote."""
    found = [text for name, text in (
        ("gather", "when gather raises the first exception it does not stop its other "
         "tasks"),
        ("wait", "`asyncio.wait` returns the unfinished tasks in `pending` and leaves "
         "them running"),
        ("as_completed", "leaving the `as_completed` loop early does not stop the tasks "
         "it had not handed over yet"),
    ) if uses.get(name)]
    if not found:
        return ("A task keeps running after the code that awaited something else gave up: "
                "nothing stops it for you.")
    return f"{'; '.join(found).capitalize()}: they keep running in the background."


def judge_leaves_nothing_running(seen):
    report = judged_attempt(seen)
    if not (report.pending_tasks or report.still_running):
        return
    fetches = (f" (the fetches of {', '.join(map(repr, report.still_running))} had not "
               "finished)") if report.still_running else ""
    what = (f"{WHO_FAILS} ended at {report.ended_at:.1f} s while {report.pending_tasks} "
            f"task(s) it had started were still running{fetches}.")
    if report.pending_tasks and report.cancel_requested == report.pending_tasks:
        fail(
            f"{what} You had cancelled them, but didn't wait for them to finish.",
            misconception="`task.cancel()` only asks a task to stop: the CancelledError is "
            "delivered the next time the task runs, and it has not stopped until it has "
            "finished its own cleanup.",
            next_step="After cancelling, wait for the cancelled tasks to finish before re-raising.",
        )
    fail(
        f"{what} Nobody will wait for them or see their errors.",
        misconception=left_running_why(seen["uses"]),
        next_step="On failure, cancel the tasks still running and wait for them before re-raising,"
                  " or use an `asyncio.TaskGroup`, which does both.",
    )
