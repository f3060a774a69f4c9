"""Hidden checks for exercise 02 (generators and a round-robin scheduler).

No event loop is involved: every check drives the student's generators with next()
and watches instrumented generators that log each step as it runs.
"""

from collections.abc import Iterator

import pytest

from grader.suite import expect_equal, fail

_DONE = object()


def worker(name: str, steps: int, log: list[str]) -> Iterator[str]:
    """A generator that notes each step in ``log`` at the moment the step runs."""
    for i in range(steps):
        log.append(f"{name}{i}")
        yield f"{name}{i}"


def take_all(result: object, call: str) -> list:
    """list(result), with a teaching message when result cannot be iterated."""
    if not hasattr(result, "__iter__"):
        fail(
            f"`{call}` returned {result!r:.80}, which cannot be looped over.",
            misconception="A generator function hands back a generator object that the "
            "caller loops over; a function that forgets to yield or return returns None.",
            next_step="Use `yield` in the body so the function becomes a generator.",
        )
    return list(result)  # type: ignore[call-overload]


def expect_turns(values: list[str], expected: list[str], *, call: str, setup: str) -> None:
    """Fail with a diagnosis when the values came out in the wrong order."""
    if values == expected:
        return
    owners = [v[0] for v in values]
    grouped = all(owners.index(o) == i or owners[i - 1] == o for i, o in enumerate(owners))
    if grouped and sorted(values) == sorted(expected):
        fail(
            f"`{call}`{setup} yielded {' '.join(values)}: each generator ran to completion "
            f"before the next one started. Taking turns gives {' '.join(expected)}.",
            misconception="Looping over a generator (or `yield from` it) runs it until it "
            "is exhausted; taking turns means a single next() per generator per round.",
            next_step="Advance each generator by one next() per turn and cycle through them.",
        )
    fail(
        f"`{call}`{setup} yielded {' '.join(values)}, but taking turns gives "
        f"{' '.join(expected)}.",
        misconception="In a round robin the first generator goes, then the second, ..., "
        "then the first again, skipping only generators that have finished.",
        next_step="Keep the running generators in order and give each one step per round.",
    )


@pytest.mark.task(1)
def test_countdown_counts_down(student):
    for n, expected in ((5, [5, 4, 3, 2, 1]), (1, [1]), (0, [])):
        values = take_all(student.countdown(n), f"countdown({n})")
        expect_equal(
            values, expected, call=f"list(countdown({n}))",
            misconception="A countdown from n starts at n itself and stops after 1; "
            "0 is not part of it, and countdown(0) yields nothing.",
            next_step="Yield n, then decrease it, while it is still above 0.",
        )


@pytest.mark.task(1)
def test_countdown_is_a_generator(student):
    result = student.countdown(3)
    if not hasattr(result, "__next__"):
        fail(
            f"`countdown(3)` returned a {type(result).__name__} ({result!r:.60}) instead of "
            "a generator: every value was worked out before the caller asked for one.",
            misconception="A list is built in full before its first item is seen; a "
            "generator function runs only up to its next `yield` each time next() asks.",
            next_step="Instead of collecting numbers and returning them, `yield` each one "
            "inside the loop.",
        )
    values = []
    for _ in range(3):
        try:
            values.append(next(result))
        except StopIteration:
            break
    expect_equal(
        values, [3, 2, 1], call="next(g) three times, with g = countdown(3)",
        misconception="Each next() should hand out the following number of the countdown.",
        next_step="Yield n, then n - 1, and so on down to 1.",
    )
    if next(result, "finished") != "finished":
        fail(
            "After countdown(3) had yielded 3, 2 and 1, a fourth next() still produced a value.",
            misconception="The countdown stops after 1; the generator should then finish.",
            next_step="Loop only while n is above 0.",
        )


@pytest.mark.task(2)
def test_round_robin_takes_turns(student):
    log: list[str] = []
    gens = [worker(name, 3, log) for name in "abc"]
    values = take_all(student.round_robin(*gens), "round_robin(a, b, c)")
    expected = ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]
    expect_turns(values, expected, call="round_robin(a, b, c)",
                 setup=" (three generators of 3 values each)")


@pytest.mark.task(2)
def test_round_robin_runs_everyone_to_the_end(student):
    cases = (
        ({"a": 1, "b": 4, "c": 2}, ["a0", "b0", "c0", "b1", "c1", "b2", "b3"]),
        ({"d": 0, "e": 2}, ["e0", "e1"]),
        ({}, []),
    )
    for lengths, expected in cases:
        log: list[str] = []
        gens = [worker(name, steps, log) for name, steps in lengths.items()]
        names = ", ".join(lengths)
        sizes = ", ".join(str(n) for n in lengths.values())
        call = f"round_robin({names})"
        setup = f" (generators of {sizes} values)" if lengths else ""
        values = take_all(student.round_robin(*gens), call)
        missing = [v for v in expected if v not in values]
        if missing:
            fail(
                f"`{call}`{setup} yielded [{' '.join(values)}] and stopped early: "
                f"[{' '.join(missing)}] never came out.",
                misconception="One generator running out is not the end of the others: "
                "drop just that one from the rotation and go on while any is left. (zip "
                "stops at its shortest input, which is exactly this mistake.)",
                next_step="When next() raises StopIteration, remove that generator and "
                "continue with the rest.",
            )
        expect_turns(values, expected, call=call, setup=setup)


@pytest.mark.task(2)
def test_round_robin_is_lazy(student):
    log: list[str] = []
    result = student.round_robin(worker("a", 3, log), worker("b", 2, log))
    call = "round_robin(a, b)"
    if log or not hasattr(result, "__next__"):
        fail(
            f"Calling `{call}` ran {len(log)} step(s) ({' '.join(log)}) before anyone "
            f"asked for a value, and returned a {type(result).__name__}.",
            misconception="Collecting every value first (in a list, say) runs all the "
            "steps up front, so nobody takes turns with the caller; a generator runs a "
            "step only when its caller calls next().",
            next_step="Make round_robin a generator: `yield` each value as soon as you "
            "have it instead of storing it.",
        )
    for count in range(1, 6):  # a and b have 5 steps between them
        if next(result, _DONE) is _DONE:
            break
        if len(log) > count:
            extra = " ".join(log[count:])
            fail(
                f"When `{call}` had handed out {count} value{'s' if count > 1 else ''}, "
                f"{len(log)} steps had "
                f"already run: {extra} ran before anyone asked for it.",
                misconception="A scheduler resumes one generator per request. Pulling a "
                "value from every generator at once (as zip or zip_longest do) runs steps "
                "nobody has asked for yet.",
                next_step="Call next() on one generator, yield that value, and only then "
                "move on to the next generator.",
            )
