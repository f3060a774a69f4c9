"""Hidden checks for exercise 03 (concurrent fetch).

Each test runs the student's code and ends with ``return judged(judge_<check>, ...)``:
its judge decides here, then again in the grading parent on the plain observations,
where no student code runs. Only the judges' conditions earn points.
"""

import pytest

from grader.suite import (
    FakeIO,
    SourceFailed,
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

ORDER = dict(
    misconception="Results should follow the order of the input, not the order in which "
    "the downloads happened to finish.",
    next_step="asyncio.gather returns results in the order of its arguments; if you "
    "collect results as they complete, put each one back in its slot.",
)


def expect_fetched_every_source(io, sources, what):
    """Doing nothing is fast: a timing check only counts if every source was fetched."""
    fetched = [op.label for op in io.operations]
    missing = [s for s in sources if s not in fetched]
    if missing:
        fail(
            f"{what} never called fetch for {missing}, so its speed proves nothing.",
            misconception="Every source has to be fetched; finishing quickly by skipping "
            "work is not concurrency.",
            next_step="Call fetch(source) once for every source in the list.",
        )


def expect_concurrent(seen, function):
    call = f"{function}(['a', 'b', 'c'])"
    expect_fetched_every_source(seen["io"], "abc", call)
    expect_elapsed_at_most(seen["sim"], 1.2, what=call)
    expect_no_pending_tasks(seen["sim"], what=function)


def expect_empty(results):
    expect_equal(results, [], call="fetch_all([])",
                 misconception="With nothing to fetch, the answer is an empty list.",
                 next_step="Make sure your code handles an empty list of sources.")


@pytest.fixture
def io(sim, student):
    fake = FakeIO(sim, DELAYS)
    student.replace("fetch", fake.fetch)
    return fake


@pytest.mark.task(1)
def test_results_in_input_order(student, sim, io):
    # "c" finishes before "a": completion order differs from input order.
    results = sim.run(student.fetch_all(["a", "b", "c"]), what="fetch_all")
    return judged(judge_results_in_input_order, results=results)


def judge_results_in_input_order(seen):
    expect_equal(seen["results"], [FakeIO.expected(s) for s in "abc"],
                 call="fetch_all(['a', 'b', 'c'])", **ORDER)


@pytest.mark.task(1)
def test_fetches_run_concurrently(student, sim, io):
    sim.run(student.fetch_all(["a", "b", "c"]), what="fetch_all")
    return judged(judge_fetches_run_concurrently, sim=sim, io=io)


def judge_fetches_run_concurrently(seen):
    expect_concurrent(seen, "fetch_all")


@pytest.mark.task(1)
def test_never_blocks_the_loop(student, sim, io):
    sim.run(student.fetch_all(["a", "b", "c"]), what="fetch_all")
    return judged(judge_never_blocks_the_loop, sim=sim, io=io)


def judge_never_blocks_the_loop(seen):
    expect_fetched_every_source(seen["io"], "abc", "fetch_all(['a', 'b', 'c'])")
    expect_no_blocking(seen["sim"])


@pytest.mark.task(1)
def test_any_number_of_sources(student, sim, io):
    none = sim.run(student.fetch_all([]), what="fetch_all")
    expect_empty(none)
    io.delays.update(MANY_DELAYS)
    many = sim.run(student.fetch_all(MANY), what="fetch_all")
    return judged(judge_any_number_of_sources, none=none, many=many)


def judge_any_number_of_sources(seen):
    expect_empty(seen["none"])
    expect_equal(seen["many"], [FakeIO.expected(s) for s in MANY],
                 call=f"fetch_all({MANY!r})", **ORDER)


@pytest.mark.task(2)
def test_failing_source_becomes_none(student, sim):
    io = FakeIO(sim, DELAYS, failing={"b": SourceFailed("b is down")})
    student.replace("fetch", io.fetch)
    results = sim.run(student.fetch_all_safe(["a", "b", "c"]), what="fetch_all_safe")
    return judged(judge_failing_source_becomes_none, results=results)


def judge_failing_source_becomes_none(seen):
    expect_equal(
        seen["results"], [FakeIO.expected("a"), None, FakeIO.expected("c")],
        call="fetch_all_safe(['a', 'b', 'c']) with 'b' failing",
        misconception="By default one failure inside gather propagates and the other "
        "results are lost to the caller.",
        next_step="Ask gather for the exceptions as values (return_exceptions=True) and "
        "replace them with None.",
    )


@pytest.mark.task(2)
def test_safe_fetches_run_concurrently(student, sim):
    io = FakeIO(sim, DELAYS, failing={"c": SourceFailed("c is down")})
    student.replace("fetch", io.fetch)
    sim.run(student.fetch_all_safe(["a", "b", "c"]), what="fetch_all_safe")
    return judged(judge_safe_fetches_run_concurrently, sim=sim, io=io)


def judge_safe_fetches_run_concurrently(seen):
    expect_concurrent(seen, "fetch_all_safe")
