"""Hidden checks for exercise 03 (concurrent fetch).

Each test runs the student's code and ends with ``return judged(judge_<check>, ...)``:
its judge decides here, then again in the grading parent on the plain observations,
where no student code runs. Only the judges' conditions earn points.
"""

import asyncio
import inspect
import itertools

import pytest

from grader.suite import (
    FakeIO,
    SourceFailed,
    describe_violation,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_blocking,
    expect_no_pending_tasks,
    fail,
    judged,
)

DELAYS = {"a": 1.0, "b": 0.5, "c": 0.8}
MANY = [f"s{i}" for i in range(12)]
# Distinct delays (no ties: tied completions come out in an arbitrary order), and a
# completion order unlike the input order.
MANY_DELAYS = {source: 1.0 + 0.1 * ((i * 5) % 12) for i, source in enumerate(MANY)}
# What a message may name: only the constructs the student's file uses (student.uses).
CONSTRUCTS = ("gather", "wait", "TaskGroup", "as_completed", "return_exceptions", "sleep",
              "create_task", "ensure_future")

COMPLETION_ORDER = dict(
    misconception="Results should follow the order of the input, not the order in which "
    "the downloads happened to finish.",
    next_step="asyncio.gather returns results in the order of its arguments; if you "
    "collect results as they complete, put each one back in its slot.",
)
NOT_AWAITED = dict(
    misconception="Calling fetch (or asyncio.gather) only hands you something to wait "
    "for; the downloads' results exist once that has been awaited.",
    next_step="`await` it: `return await asyncio.gather(...)`, or await each task you "
    "created, and return the values that come back.",
)


def call_of(function: str, sources: list[str]) -> str:
    return f"{function}({sources!r})"


# -- what the student's call gave back, made plain in the child ------------------------


def unawaited(result: object) -> str | None:
    """Describe an awaitable returned in place of results (closed here), else None."""
    if inspect.iscoroutine(result):
        result.close()
        return "a coroutine object"
    if asyncio.isfuture(result):
        result.cancel()
        return f"an asyncio {'Task' if isinstance(result, asyncio.Task) else 'Future'}"
    if isinstance(result, list | tuple):
        kinds = [unawaited(item) for item in result]
        found = [kind.removeprefix("an ").removeprefix("a ") for kind in kinds if kind]
        if found:
            return f"a list with {len(found)} {found[0]}{'s' if len(found) > 1 else ''} in it"
    return None


def outcome(sim, awaitable, what: str) -> dict:
    """Run the student's call; its results as plain data, or what went wrong, in words."""
    try:
        result = sim.run(awaitable, what=what)
    except asyncio.InvalidStateError as exc:
        return {"results": None, "unawaited": None, "raised": None,
                "early_read": f"InvalidStateError: {exc}"}
    except (SourceFailed, ExceptionGroup) as exc:  # a failing fetch escaped
        inner = ""
        if isinstance(exc, BaseExceptionGroup) and exc.exceptions:
            first = exc.exceptions[0]
            inner = f"{type(first).__name__}: {first}"
        return {"results": None, "unawaited": None, "early_read": None,
                "raised": f"{type(exc).__name__}: {exc}"[:160], "inner": inner[:160]}
    left = unawaited(result)
    return {"results": None if left else result, "unawaited": left, "raised": None,
            "early_read": None}


def expect_finished(got: dict, *, call: str, uses: dict[str, bool]) -> None:
    """The call returned plain results: nothing left unawaited, no early read."""
    if got["unawaited"]:
        gathered = (" What asyncio.gather returns is a future: the gather's results "
                    "exist only once it is awaited." if uses["gather"] and "Future" in
                    got["unawaited"] else "")
        fail(f"`{call}` returned {got['unawaited']} instead of the downloaded data: it was "
             f"never awaited.{gathered}", **NOT_AWAITED)
    if got["early_read"]:
        slept = (" Sleeping for a guessed time (asyncio.sleep) is not waiting for them: "
                 "some downloads were still running." if uses["sleep"] else "")
        fail(
            f"`{call}` asked a task for its result before the task had finished "
            f"({got['early_read']}).{slept}",
            misconception="Task.result() only works once the task is done; awaiting the "
            "task (or asyncio.gather / asyncio.wait) waits exactly as long as needed.",
            next_step="Await the tasks themselves before reading their results.",
        )


def expect_in_order(got: dict, sources: list[str], delays: dict[str, float], *,
                    call: str, uses: dict[str, bool]) -> None:
    """Results in input order, with the likely cause named when they are shuffled."""
    expect_finished(got, call=call, uses=uses)
    results = got["results"]
    expected = [FakeIO.expected(s) for s in sources]
    if results == expected:
        return
    if isinstance(results, list) and sorted(map(repr, results)) == sorted(map(repr, expected)):
        finished = [FakeIO.expected(s) for s in sorted(sources, key=lambda s: delays[s])]
        if results == finished:
            expect_equal(results, expected, call=call, **COMPLETION_ORDER)
        if uses["wait"]:
            # No list in the message: a set's order changes from run to run.
            fail(
                f"`{call}` returned every result, but in neither the order of the sources "
                "nor the order the downloads finished.",
                misconception="asyncio.wait hands back `done` as a set, and a set has no "
                "order: reading the results out of it gives them in an arbitrary order "
                "(which may even look right for a few sources).",
                next_step="Keep your own list of tasks in the order of the sources and "
                "read each task's result() from that list once the wait is over.",
            )
        expect_equal(
            results, expected, call=call,
            misconception="Every result is there, but in neither the input order nor the "
            "order the downloads finished: something reordered them.",
            next_step="Keep one slot per source, in the order of `sources`, and put each "
            "result in its own slot.",
        )
    expect_equal(
        results, expected, call=call,
        misconception="fetch_all returns exactly one result per source: what "
        "fetch(source) returned, in the order of the sources.",
        next_step="Call fetch once per source and return the list of what those calls "
        "produced, in order.",
    )


def expect_fetched_every_source(io, sources, what, sim=None):
    """Doing nothing is fast: a timing check only counts if every source was fetched."""
    fetched = [op.label for op in io.operations]
    missing = [s for s in sources if s not in fetched]
    if missing and sim is not None and sim.never_awaited():
        fail(
            f"{what} called fetch, but the downloads for {missing} never started: the "
            "coroutines fetch returned were never awaited.", **NOT_AWAITED,
        )
    if missing:
        fail(
            f"{what} never called fetch for {missing}, so its speed proves nothing.",
            misconception="Every source has to be fetched; finishing quickly by skipping "
            "work is not concurrency.",
            next_step="Call fetch(source) once for every source in the list.",
        )


def expect_all_started_at_once(io, what: str, sim=None) -> None:
    """From the timeline: every download was under way before the first one ended."""
    ended = [op for op in io.operations if op.end is not None]
    if not ended:
        return
    first = min(ended, key=lambda op: op.end)
    late = sorted((op for op in io.operations if op.start >= first.end - 1e-9),
                  key=lambda op: op.start)
    if late and sim is not None and sim.violations:
        fail(
            f"In {what}, {late[0].label} only started at {late[0].start:.1f} s, after "
            f"{first.label} had ended: {describe_violation(sim.violations[0])} blocked "
            "the event loop, and while it is blocked no other download can start.",
            misconception="A blocking call inside a coroutine holds the loop's only "
            "thread, so every other download waits for it to return.",
            next_step="Await asyncio.sleep (or other awaitables) instead of blocking calls.",
        )
    ordered = sorted(io.operations, key=lambda op: op.start)
    if late and len(ordered) > 1 and all(
            prev.end is not None and nxt.start >= prev.end - 1e-9
            for prev, nxt in itertools.pairwise(ordered)):
        fail(
            f"In {what}, the {len(ordered)} downloads ran one after another: each started "
            "only when the one before it had ended.",
            misconception="`await` waits for that one operation to finish before the next "
            "line runs, so awaiting each fetch (or each task right after creating it) in "
            "turn is sequential.",
            next_step="Start every fetch before awaiting any of them (asyncio.gather over "
            "all the sources, or create_task for each, then await).",
        )
    if late:
        fail(
            f"In {what}, {late[0].label} only started at {late[0].start:.1f} s, after the "
            f"download of {first.label} had already ended at {first.end:.1f} s "
            f"({len(late)} of {len(io.operations)} downloads started that late): not every "
            "download was in flight at once.",
            misconception="Starting downloads in batches, or starting the next one only "
            "when an earlier one is done, leaves time on the table: a download that could "
            "have been running sits waiting for others it does not depend on.",
            next_step="Start every fetch before awaiting any of them (asyncio.gather over "
            "all the sources, or create_task for each, then await).",
        )


def expect_concurrent(seen, function):
    call = f"{function}(['a', 'b', 'c'])"
    expect_finished(seen["got"], call=call, uses=seen["uses"])
    expect_fetched_every_source(seen["io"], "abc", call, seen["sim"])
    expect_elapsed_at_most(seen["sim"], 1.2, what=call)
    expect_all_started_at_once(seen["io"], call)
    expect_no_pending_tasks(seen["sim"], what=function)


def expect_empty(got: dict, uses: dict[str, bool]):
    expect_finished(got, call="fetch_all([])", uses=uses)
    expect_equal(got["results"], [], call="fetch_all([])",
                 misconception="With nothing to fetch, the answer is an empty list.",
                 next_step="Make sure your code handles an empty list of sources.")


@pytest.fixture
def io(sim, student):
    fake = FakeIO(sim, DELAYS)
    student.replace("fetch", fake.fetch)
    return fake


@pytest.mark.task(1)
def test_results_in_input_order(student, sim, io):
    # "c" finishes before "a": completion order differs from input order. Twelve sources
    # too: three results read from an unordered set can come out right by luck, twelve
    # cannot.
    few = outcome(sim, student.fetch_all(["a", "b", "c"]), "fetch_all")
    io.delays.update(MANY_DELAYS)
    many = outcome(sim, student.fetch_all(MANY), "fetch_all")
    return judged(judge_results_in_input_order, few=few, many=many,
                  uses=student.uses(*CONSTRUCTS))


def judge_results_in_input_order(seen):
    runs = [(seen["few"], list("abc"), DELAYS, "fetch_all(['a', 'b', 'c'])"),
            (seen["many"], MANY, MANY_DELAYS, call_of("fetch_all", MANY))]
    if seen["uses"]["wait"]:  # an unordered read shows for sure with twelve: judge it first
        runs.reverse()
    for got, sources, delays, call in runs:
        expect_in_order(got, sources, delays, call=call, uses=seen["uses"])


@pytest.mark.task(1)
def test_fetches_run_concurrently(student, sim, io):
    got = outcome(sim, student.fetch_all(["a", "b", "c"]), "fetch_all")
    return judged(judge_fetches_run_concurrently, got=got, sim=sim, io=io,
                  uses=student.uses(*CONSTRUCTS))


def judge_fetches_run_concurrently(seen):
    expect_concurrent(seen, "fetch_all")


@pytest.mark.task(1)
def test_every_fetch_starts_at_once(student, sim):
    # Twelve sources of different lengths: a batch of any size, or a fixed number in
    # flight, makes some download start only after another has ended.
    io = FakeIO(sim, MANY_DELAYS)
    student.replace("fetch", io.fetch)
    got = outcome(sim, student.fetch_all(MANY), "fetch_all")
    return judged(judge_every_fetch_starts_at_once, got=got, sim=sim, io=io,
                  uses=student.uses(*CONSTRUCTS))


def judge_every_fetch_starts_at_once(seen):
    call = call_of("fetch_all", MANY)
    expect_finished(seen["got"], call=call, uses=seen["uses"])
    expect_fetched_every_source(seen["io"], MANY, call, seen["sim"])
    expect_all_started_at_once(seen["io"], call, seen["sim"])
    expect_no_pending_tasks(seen["sim"], what="fetch_all")


@pytest.mark.task(1)
def test_never_blocks_the_loop(student, sim, io):
    got = outcome(sim, student.fetch_all(["a", "b", "c"]), "fetch_all")
    return judged(judge_never_blocks_the_loop, got=got, sim=sim, io=io,
                  uses=student.uses(*CONSTRUCTS))


def judge_never_blocks_the_loop(seen):
    call = "fetch_all(['a', 'b', 'c'])"
    expect_finished(seen["got"], call=call, uses=seen["uses"])
    expect_fetched_every_source(seen["io"], "abc", call, seen["sim"])
    expect_no_blocking(seen["sim"])


@pytest.mark.task(1)
def test_any_number_of_sources(student, sim, io):
    uses = student.uses(*CONSTRUCTS)
    none = outcome(sim, student.fetch_all([]), "fetch_all")
    expect_empty(none, uses)
    io.delays.update(MANY_DELAYS)
    many = outcome(sim, student.fetch_all(MANY), "fetch_all")
    return judged(judge_any_number_of_sources, none=none, many=many, uses=uses)


def judge_any_number_of_sources(seen):
    expect_empty(seen["none"], seen["uses"])
    expect_in_order(seen["many"], MANY, MANY_DELAYS, call=call_of("fetch_all", MANY),
                    uses=seen["uses"])


# -- Task 2 -----------------------------------------------------------------------------


def expect_survived(got: dict, failing: str, *, call: str, uses: dict[str, bool]) -> None:
    """The failure of one source stayed inside fetch_all_safe."""
    if not got["raised"]:
        expect_finished(got, call=call, uses=uses)
        return
    held = f" (holding {got['inner']})" if got.get("inner") else ""
    causes = []
    if uses["TaskGroup"]:
        causes.append("a TaskGroup cancels its other tasks as soon as one fails and raises "
                      "the failure, wrapped in an ExceptionGroup, at the end of its "
                      "`async with`")
    if uses["gather"] and not uses["return_exceptions"]:
        causes.append("asyncio.gather without return_exceptions=True passes the first "
                      "failure straight on to whoever awaits it")
    if not causes:
        causes.append("an exception raised inside a task comes out wherever that task (or "
                      "whatever waits for it) is awaited")
    fail(
        f"`{call}` with '{failing}' failing raised {got['raised']}{held}: the failure "
        "escaped instead of becoming None in its slot.",
        misconception=f"What your file uses explains it: {'; and '.join(causes)}.",
        next_step="Catch the failure per source (a small coroutine wrapping fetch in "
        "try/except that returns None), or gather with return_exceptions=True and replace "
        "each exception with None.",
    )


@pytest.mark.task(2)
def test_failing_source_becomes_none(student, sim):
    io = FakeIO(sim, DELAYS, failing={"b": SourceFailed("b is down")})
    student.replace("fetch", io.fetch)
    got = outcome(sim, student.fetch_all_safe(["a", "b", "c"]), "fetch_all_safe")
    if isinstance(got["results"], list):  # an exception object is shown as its type
        got["kept"] = [type(r).__name__ if isinstance(r, BaseException) else None
                       for r in got["results"]]
    return judged(judge_failing_source_becomes_none, got=got,
                  uses=student.uses(*CONSTRUCTS))


SAFE_CALL = "fetch_all_safe(['a', 'b', 'c'])"
SAFE_EXPECTED = [FakeIO.expected("a"), None, FakeIO.expected("c")]


def judge_failing_source_becomes_none(seen):
    got = seen["got"]
    call = f"{SAFE_CALL} with 'b' failing"
    expect_survived(got, "b", call=SAFE_CALL, uses=seen["uses"])
    results = got["results"]
    if results == SAFE_EXPECTED:
        return
    kept = [k for k in got.get("kept", []) if k]
    if kept:
        how = (" return_exceptions=True hands the exceptions back as values, but"
               if seen["uses"]["return_exceptions"] else "")
        expect_equal(
            results, SAFE_EXPECTED, call=call,
            misconception=f"The failed source's slot holds the {kept[0]} itself:{how} "
            "the task asks for None in its place.",
            next_step="Replace every exception in the results with None "
            "(`None if isinstance(r, Exception) else r`).",
        )
    if results == [FakeIO.expected("a"), FakeIO.expected("c")]:
        expect_equal(
            results, SAFE_EXPECTED, call=call,
            misconception="The failed source was left out, so every later result moved "
            "up one place and no longer lines up with its source.",
            next_step="Keep one slot per source: put None in the failed one's slot "
            "instead of dropping it.",
        )
    expect_equal(
        results, SAFE_EXPECTED, call=call,
        misconception="Only the source that failed becomes None; every other slot holds "
        "its own downloaded data, in the order of the sources.",
        next_step="Handle the failure per source, so one failure cannot affect the "
        "others' results.",
    )


@pytest.mark.task(2)
def test_safe_fetches_run_concurrently(student, sim):
    io = FakeIO(sim, DELAYS, failing={"c": SourceFailed("c is down")})
    student.replace("fetch", io.fetch)
    got = outcome(sim, student.fetch_all_safe(["a", "b", "c"]), "fetch_all_safe")
    return judged(judge_safe_fetches_run_concurrently, got=got, sim=sim, io=io,
                  uses=student.uses(*CONSTRUCTS))


def judge_safe_fetches_run_concurrently(seen):
    expect_survived(seen["got"], "c", call=SAFE_CALL, uses=seen["uses"])
    expect_concurrent(seen, "fetch_all_safe")
