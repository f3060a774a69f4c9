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


def blanks(log: list[str]) -> Iterator[object]:
    """A generator whose values are None, 0 and '': real values, not the end."""
    for i, value in enumerate(BLANK_VALUES):
        log.append(f"z{i}")
        yield value


BLANK_VALUES = [None, 0, ""]
# Names a message may mention only when the student's file uses them (student.uses).
CONSTRUCTS = ("zip", "zip_longest", "remove")


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


def expect_turns(values: list[str], expected: list[str], *, call: str, setup: str,
                 uses: dict[str, bool] | None = None) -> None:
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
    skipped = ""
    if (uses or {}).get("remove") and sorted(values) == sorted(expected):
        skipped = (" Your file calls .remove(): taking a finished generator out of the "
                   "list that a for loop is walking shifts the others down one place, so "
                   "the loop skips the generator right after it for that round.")
    fail(
        f"`{call}`{setup} yielded {' '.join(values)}, but taking turns gives "
        f"{' '.join(expected)}: a generator lost its turn.",
        misconception="In a round robin the first generator goes, then the second, ..., "
        f"then the first again, skipping only generators that have finished.{skipped}",
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
            extra = next(result, _DONE)
            facts["more"] = extra is not _DONE
            facts["extra"] = "" if extra is _DONE else f"{extra!r:.40}"
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
            "After countdown(3) had yielded 3, 2 and 1, a fourth next() still produced "
            f"{seen.get('extra') or 'a value'}.",
            misconception="The countdown stops after 1 (0 is not part of it); the "
            "generator should then finish.",
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
                    expected: list[str], uses: dict[str, bool]) -> None:
    call, setup = everyone_call(lengths)
    missing = [v for v in expected if v not in values]
    if missing:
        used_zip = ("zip" if uses["zip"] else "")
        fail(
            f"`{call}`{setup} yielded [{' '.join(map(str, values))}] and stopped early: "
            f"[{' '.join(missing)}] never came out.",
            misconception="One generator running out is not the end of the others: "
            "drop just that one from the rotation and go on while any is left."
            + (f" ({used_zip} stops at its shortest input, which is exactly this mistake.)"
               if used_zip else ""),
            next_step="When next() raises StopIteration, remove that generator and "
            "continue with the rest.",
        )
    expect_turns(values, expected, call=call, setup=setup, uses=uses)
    expect_values_ran(values, log, call)


BLANK_CALL = "round_robin(a, z)"
BLANK_EXPECTED = ["a0", None, "a1", 0, ""]


def expect_blanks(values: list) -> None:
    """None, 0 and '' are values like any other: they must come out, in turn."""
    if values == BLANK_EXPECTED:
        return
    lost = [repr(v) for v in BLANK_VALUES if not any(
        type(got) is type(v) and got == v for got in values)]
    shown = ", ".join(repr(v) for v in values)
    if lost:
        fail(
            f"`{BLANK_CALL}`, where z yields None, 0 and '', yielded [{shown}]: "
            f"{', '.join(lost)} never came out.",
            misconception="Only StopIteration says a generator has finished. None, 0 and "
            "'' are values a generator may yield like any other; a test such as "
            "`value is None`, `if not value`, or a default of None in next(gen, None), "
            "mistakes such a value for the end.",
            next_step="Catch StopIteration around next(), or use next(gen, marker) with a "
            "marker made by `object()` that no generator can yield.",
        )
    fail(
        f"`{BLANK_CALL}`, where z yields None, 0 and '', yielded [{shown}], but taking "
        f"turns gives [{', '.join(repr(v) for v in BLANK_EXPECTED)}].",
        misconception="Every value a generator yields comes out as it is, in its turn.",
        next_step="Yield exactly what next() gave you, one generator per turn.",
    )


@pytest.mark.task(2)
def test_round_robin_runs_everyone_to_the_end(student):
    runs = []
    uses = student.uses(*CONSTRUCTS)
    for lengths, expected in EVERYONE:
        log: list[str] = []
        gens = [worker(name, steps, log) for name, steps in lengths.items()]
        values = take_all(student.round_robin(*gens), everyone_call(lengths)[0])
        runs.append({"values": values, "log": log})
        expect_everyone(values, log, lengths, expected, uses)
    log = []
    with_blanks = take_all(student.round_robin(worker("a", 2, log), blanks(log)), BLANK_CALL)
    return judged(judge_round_robin_runs_everyone_to_the_end, runs=runs,
                  with_blanks=with_blanks, uses=uses)


def judge_round_robin_runs_everyone_to_the_end(seen):
    for run, (lengths, expected) in zip(seen["runs"], EVERYONE, strict=True):
        expect_everyone(run["values"], run["log"], lengths, expected, seen["uses"])
    expect_blanks(seen["with_blanks"])


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
    facts.update(close_early(student), uses=student.uses(*CONSTRUCTS))
    return judged(judge_round_robin_is_lazy, **facts)


CLOSE_CALL = "round_robin(p, q)"


def close_early(student) -> dict:
    """Take 2 values, then close the generator, as a `break` out of a for loop does.

    Returns the steps that had run before and after close() and what close() raised.
    An iterator without close() (a class with __next__) cannot run ahead: nothing to do.
    """
    log: list[str] = []
    result = student.round_robin(worker("p", 3, log), worker("q", 3, log))
    facts = {"closed_after": None, "close_error": None}
    if not hasattr(result, "__next__") or not hasattr(result, "close") or log:
        return facts
    for _ in range(2):
        if next(result, _DONE) is _DONE:
            return facts
    facts["closed_after"] = list(log)
    try:
        result.close()
    except Exception as exc:  # reported to the student, whatever it is
        facts["close_error"] = f"{type(exc).__name__}: {exc}"[:200]
    facts["after_close"] = list(log)
    return facts


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
    zips = [name for name in ("zip", "zip_longest") if seen["uses"][name]]
    for count, log in enumerate(seen["after"], start=1):
        if len(log) > count:
            extra = " ".join(log[count:])
            fail(
                f"When `{LAZY_CALL}` had handed out {count} value{'s' if count > 1 else ''}, "
                f"{len(log)} steps had "
                f"already run: {extra} ran before anyone asked for it.",
                misconception="A scheduler resumes one generator per request. Pulling a "
                "value from every generator at once"
                + (f" (as {' and '.join(zips)} do{'es' if len(zips) == 1 else ''})"
                   if zips else ", a whole round before yielding any of it,")
                + " runs steps nobody has asked for yet.",
                next_step="Call next() on one generator, yield that value, and only then "
                "move on to the next generator.",
            )

    closed_after = seen["closed_after"]
    if closed_after is None:
        return
    ran = seen["after_close"][len(closed_after):]
    if ran or seen["close_error"]:
        what = []
        if ran:
            what.append(f"{' '.join(ran)} still ran")
        if seen["close_error"]:
            what.append(f"close() raised {seen['close_error']}")
        fail(
            f"The caller took 2 values from `{CLOSE_CALL}` and then closed it (what a "
            f"`break` out of a for loop does), yet {' and '.join(what)}.",
            misconception="close() raises GeneratorExit inside the generator, at the "
            "`yield` where it is paused, so that it finishes there. Something around your "
            "`yield` caught it (a bare `except:`, `except BaseException` or `except "
            "GeneratorExit` would) and the generator carried on, running steps nobody "
            "asked for.",
            next_step="Catch only StopIteration, and only around the next() call, not "
            "around the `yield`.",
        )
