"""Hidden checks for exercise 02 (generators and a round-robin scheduler).

No event loop is involved: every check drives the student's generators with next()
and watches instrumented generators that log each step as it runs.

Each test ends with ``return judged(judge_<check>, ...)``: what crosses is plain (the
values that came out, whether countdown(3) gave an iterator, the step log after each
value handed out), and only the judges' conditions earn points.
"""

from collections.abc import Iterator

import pytest

from grader.suite import expect_equal, fail, judged, same_value

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
    values = [str(v) for v in values]  # as the parent sees them, a Repr is its text
    owners = [v[:1] for v in values]
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


COUNTDOWNS = ((5, [5, 4, 3, 2, 1]), (1, [1]), (0, []))


def expect_countdown(values: list, n: int, expected: list[int]) -> None:
    expect_equal(
        values, expected, call=f"list(countdown({n}))",
        misconception="A countdown from n starts at n itself and stops after 1; "
        "0 is not part of it, and countdown(0) yields nothing.",
        next_step="Yield n, then decrease it, while it is still above 0.",
    )


@pytest.mark.task(1)
def test_countdown_counts_down(student):
    lists = []
    for n, expected in COUNTDOWNS:
        lists.append(take_all(student.countdown(n), f"countdown({n})"))
        expect_countdown(lists[-1], n, expected)
    return judged(judge_countdown_counts_down, lists=lists)


def judge_countdown_counts_down(seen):
    for values, (n, expected) in zip(seen["lists"], COUNTDOWNS, strict=True):
        expect_countdown(values, n, expected)


@pytest.mark.task(1)
def test_countdown_is_a_generator(student):
    result = student.countdown(3)
    facts = {"iterator": hasattr(result, "__next__"), "kind": type(result).__name__,
             "shown": f"{result!r:.60}", "values": [], "more": False}
    if facts["iterator"]:
        for _ in range(3):
            try:
                facts["values"].append(next(result))
            except StopIteration:
                break
        if same_value(facts["values"], [3, 2, 1]):
            facts["more"] = next(result, "finished") != "finished"
    return judged(judge_countdown_is_a_generator, **facts)


def judge_countdown_is_a_generator(seen):
    if seen["iterator"] is not True:
        fail(
            f"`countdown(3)` returned a {seen['kind']} ({seen['shown']}) instead of "
            "a generator: every value was worked out before the caller asked for one.",
            misconception="A list is built in full before its first item is seen; a "
            "generator function runs only up to its next `yield` each time next() asks.",
            next_step="Instead of collecting numbers and returning them, `yield` each one "
            "inside the loop.",
        )
    expect_equal(
        seen["values"], [3, 2, 1], call="next(g) three times, with g = countdown(3)",
        misconception="Each next() should hand out the following number of the countdown.",
        next_step="Yield n, then n - 1, and so on down to 1.",
    )
    if seen["more"] is not False:
        fail(
            "After countdown(3) had yielded 3, 2 and 1, a fourth next() still produced a value.",
            misconception="The countdown stops after 1; the generator should then finish.",
            next_step="Loop only while n is above 0.",
        )


TURNS = ["a0", "b0", "c0", "a1", "b1", "c1", "a2", "b2", "c2"]


def expect_values_ran(values: list, log: list[str], call: str) -> None:
    """The values handed out are the steps that ran, each once (cheap to check, hard to fake)."""
    if sorted(map(str, values)) != sorted(log) or len(set(log)) != len(log):
        fail(
            f"`{call}` handed out [{' '.join(map(str, values))}], but the generators' steps "
            f"that ran were [{' '.join(log)}].",
            misconception="round_robin hands out exactly the values its generators yield, "
            "each one once.",
            next_step="Yield each value next() gives you, as it is.",
        )


@pytest.mark.task(2)
def test_round_robin_takes_turns(student):
    log: list[str] = []
    gens = [worker(name, 3, log) for name in "abc"]
    values = take_all(student.round_robin(*gens), "round_robin(a, b, c)")
    return judged(judge_round_robin_takes_turns, values=values, log=log)


def judge_round_robin_takes_turns(seen):
    expect_turns(seen["values"], TURNS, call="round_robin(a, b, c)",
                 setup=" (three generators of 3 values each)")
    expect_values_ran(seen["values"], seen["log"], "round_robin(a, b, c)")


EVERYONE = (
    ({"a": 1, "b": 4, "c": 2}, ["a0", "b0", "c0", "b1", "c1", "b2", "b3"]),
    ({"d": 0, "e": 2}, ["e0", "e1"]),
    ({}, []),
)


def everyone_call(lengths: dict[str, int]) -> tuple[str, str]:
    sizes = ", ".join(str(n) for n in lengths.values())
    return (f"round_robin({', '.join(lengths)})",
            f" (generators of {sizes} values)" if lengths else "")


def expect_everyone(values: list, log: list[str], lengths: dict[str, int],
                    expected: list[str]) -> None:
    call, setup = everyone_call(lengths)
    missing = [v for v in expected if v not in values]
    if missing:
        fail(
            f"`{call}`{setup} yielded [{' '.join(map(str, values))}] and stopped early: "
            f"[{' '.join(missing)}] never came out.",
            misconception="One generator running out is not the end of the others: "
            "drop just that one from the rotation and go on while any is left. (zip "
            "stops at its shortest input, which is exactly this mistake.)",
            next_step="When next() raises StopIteration, remove that generator and "
            "continue with the rest.",
        )
    expect_turns(values, expected, call=call, setup=setup)
    expect_values_ran(values, log, call)


@pytest.mark.task(2)
def test_round_robin_runs_everyone_to_the_end(student):
    runs = []
    for lengths, expected in EVERYONE:
        log: list[str] = []
        gens = [worker(name, steps, log) for name, steps in lengths.items()]
        values = take_all(student.round_robin(*gens), everyone_call(lengths)[0])
        runs.append({"values": values, "log": log})
        expect_everyone(values, log, lengths, expected)
    return judged(judge_round_robin_runs_everyone_to_the_end, runs=runs)


def judge_round_robin_runs_everyone_to_the_end(seen):
    for run, (lengths, expected) in zip(seen["runs"], EVERYONE, strict=True):
        expect_everyone(run["values"], run["log"], lengths, expected)


LAZY_CALL = "round_robin(a, b)"
LAZY_STEPS = 5  # a and b have 5 steps between them


@pytest.mark.task(2)
def test_round_robin_is_lazy(student):
    log: list[str] = []
    result = student.round_robin(worker("a", 3, log), worker("b", 2, log))
    facts = {"before": list(log), "iterator": hasattr(result, "__next__"),
             "kind": type(result).__name__, "after": []}  # after[i]: the log after i+1 values
    if facts["iterator"] and not log:
        for count in range(1, LAZY_STEPS + 1):
            if next(result, _DONE) is _DONE:
                break
            facts["after"].append(list(log))
            if len(log) > count:
                break
    return judged(judge_round_robin_is_lazy, **facts)


def judge_round_robin_is_lazy(seen):
    before = seen["before"]
    if before or seen["iterator"] is not True:
        fail(
            f"Calling `{LAZY_CALL}` ran {len(before)} step(s) ({' '.join(before)}) before "
            f"anyone asked for a value, and returned a {seen['kind']}.",
            misconception="Collecting every value first (in a list, say) runs all the "
            "steps up front, so nobody takes turns with the caller; a generator runs a "
            "step only when its caller calls next().",
            next_step="Make round_robin a generator: `yield` each value as soon as you "
            "have it instead of storing it.",
        )
    for count, log in enumerate(seen["after"], start=1):
        if len(log) > count:
            extra = " ".join(log[count:])
            fail(
                f"When `{LAZY_CALL}` had handed out {count} value{'s' if count > 1 else ''}, "
                f"{len(log)} steps had "
                f"already run: {extra} ran before anyone asked for it.",
                misconception="A scheduler resumes one generator per request. Pulling a "
                "value from every generator at once (as zip or zip_longest do) runs steps "
                "nobody has asked for yet.",
                next_step="Call next() on one generator, yield that value, and only then "
                "move on to the next generator.",
            )
