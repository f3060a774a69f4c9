"""Observations out of the child, judges in the parent (grader/engine/observed.py,
grader/supervision/judging.py).

The child's side runs in-process here: the exercise 03 suite's test functions are
called with a real ``Simulation`` and ``StudentModule``, as the plugin would call them.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pytest

from grader.engine.fake_io import FakeIO, SourceFailed
from grader.engine.feedback import CheckFailed, Feedback
from grader.engine.observed import MAX_ITEMS, judged, observed
from grader.engine.simulation import Simulation
from grader.engine.student import StudentModule, import_student_module
from grader.supervision.judging import (
    NO_JUDGE,
    FakeIORecord,
    Flagged,
    Malformed,
    Repr,
    SimulationRecord,
    _suite_module,
    confirm,
    decode,
)

REPO = Path(__file__).resolve().parents[1]
SLUG = "exercise-03-concurrent-fetch"
SUITE_FILE = REPO / "exercises" / SLUG / ".meta" / "test_fetcher.py"
SOLUTION = REPO / "solutions" / SLUG / "fetcher.py"
WRONG = REPO / "tests" / "fixtures" / "exercises" / SLUG / "wrong"
CHECKS = ["results_in_input_order", "fetches_run_concurrently", "never_blocks_the_loop",
          "any_number_of_sources", "failing_source_becomes_none",
          "safe_fetches_run_concurrently"]
_names = itertools.count()

LEAVES_TASKS = '''
import asyncio

async def fetch(source):
    await asyncio.sleep(1.0)
    return f"data from {source}"

async def fetch_all(sources):
    tasks = [asyncio.create_task(fetch(s)) for s in sources]
    return [f"data from {sources[0]}"] + [await t for t in tasks[1:]] if sources else []

async def fetch_all_safe(sources):
    return await fetch_all(sources)
'''


def round_trip(**values: Any) -> dict[str, Any]:
    """What the parent sees: encoded in the child, sent as one JSON line, decoded."""
    return decode(json.loads(json.dumps(observed(**values))))


def run_check(module_file: Path, check: str, *,
              forged: bool = False) -> tuple[Feedback | None, Any]:
    """Run one ex-03 check in-process: the child's verdict and the test's observations.

    ``forged`` skips the in-child judge, as a student who patched it would.
    """
    suite = _suite_module(SUITE_FILE)
    if forged:
        suite.judged = lambda judge, **values: observed(**values)
    module = import_student_module(module_file, f"_judging_student_{next(_names)}")
    student = StudentModule(module, module_file)
    sim = Simulation(student_file=module_file)
    sim.start([module])
    try:
        test = getattr(suite, f"test_{check}")
        args: dict[str, Any] = {"student": student, "sim": sim}
        if "io" in test.__code__.co_varnames[:test.__code__.co_argcount]:
            io = FakeIO(sim, suite.DELAYS)
            student.replace("fetch", io.fetch)
            args["io"] = io
        try:
            returned = test(**args)
        except CheckFailed as failed:
            return failed.feedback, None
        return None, json.loads(json.dumps(returned))
    finally:
        suite.judged = judged
        student.restore()
        sim.finish()


# -- observed -> JSON -> decode -------------------------------------------------------


def test_plain_values_come_back_as_themselves() -> None:
    values = {"none": None, "yes": True, "n": -3, "x": 0.25, "s": "é ☃",
              "list": [1, [2, (3, "4")]], "tuple": (1, 2), "set": {1, 2}, "fs": frozenset("ab"),
              "dict": {"a": 1, (1, 2): [None], 3: {"nested": (True,)}}}
    seen = round_trip(**values)
    assert seen == values
    assert type(seen["tuple"]) is tuple and type(seen["fs"]) is frozenset
    assert type(seen["yes"]) is bool and type(seen["n"]) is int


def test_known_exceptions_are_rebuilt_as_themselves() -> None:
    seen = round_trip(errors=[SourceFailed("b is down"), TimeoutError(), KeyError("k"),
                              asyncio.CancelledError(), ExceptionGroup("two", [ValueError(1)])])
    down, timeout, key, cancelled, group = seen["errors"]
    assert type(down) is SourceFailed and repr(down) == "SourceFailed('b is down')"
    assert type(timeout) is TimeoutError and str(timeout) == ""
    assert type(key) is KeyError and str(key) == "'k'"
    assert type(cancelled) is asyncio.CancelledError
    assert type(group) is ExceptionGroup and str(group) == "two (1 sub-exception)"
    assert type(group.exceptions[0]) is ValueError


def test_a_students_exception_becomes_a_stand_in_of_its_nearest_known_base() -> None:
    class Deadline(TimeoutError):
        def __str__(self) -> str:
            return "too late"

    error = round_trip(error=Deadline("x"))["error"]
    assert isinstance(error, TimeoutError) and not isinstance(error, Deadline)
    assert type(error).__name__ == "Deadline" and str(error) == "too late"


def test_anything_else_is_the_text_of_its_repr() -> None:
    class Liar:
        def __eq__(self, other: object) -> bool:
            return True

        def __repr__(self) -> str:
            return "['data from a']"

    class Text(str):
        pass

    deep: Any = [1]
    for _ in range(20):
        deep = [deep]
    seen = round_trip(liar=Liar(), nan=math.nan, text=Text("a"), huge=list(range(10**4)),
                      surrogate="\ud800", deep=deep)
    assert isinstance(seen["liar"], Repr) and repr(seen["liar"]) == "['data from a']"
    assert seen["liar"] != ["data from a"]
    assert repr(seen["nan"]) == "nan" and repr(seen["text"]) == "'a'"
    assert isinstance(seen["huge"], Repr) and isinstance(seen["surrogate"], Repr)
    innermost = seen["deep"]
    while isinstance(innermost, list):
        innermost = innermost[0]
    assert isinstance(innermost, Repr)  # cut, not sent


def test_an_honest_run_comes_back_as_records_the_helpers_read() -> None:
    _, data = run_check(SOLUTION, "fetches_run_concurrently")
    seen = decode(data)
    sim, io = seen["sim"], seen["io"]
    assert isinstance(sim, SimulationRecord) and isinstance(io, FakeIORecord)
    assert sim.elapsed == pytest.approx(1.0) and sim.budget == 1.2
    assert sorted((op.label, op.delay, op.outcome) for op in io.operations) == [
        ("a", 1.0, "ok"), ("b", 0.5, "ok"), ("c", 0.8, "ok")]
    assert io.peak == 3 and sim.pending_labels() == [] and sim.never_awaited() == []


# -- decode rejects what an honest child cannot send ----------------------------------


def forged(value: Any) -> dict[str, Any]:
    return {"format": 1, "values": {"x": value}}


@pytest.mark.parametrize(("data", "words"), [
    (forged(json.loads("NaN")), "not finite"),
    (forged(json.loads("-Infinity")), "not finite"),
    (forged({"t": "list", "v": [0] * 10**6}), "more than"),
    (forged({"t": "pickle", "v": "..."}), "unknown tag"),
    (forged(json.loads('"\\ud800"')), "not valid Unicode"),
    (forged("x" * 100_001), "longer than"),
    (forged([1, 2]), "untagged list"),
    (forged({"t": "set", "v": [1, 1]}), "repeated"),
    (forged({"t": "dict", "v": [[{"t": "list", "v": []}, 1]]}), "unhashable"),
    (forged(2**70), "out of range"),
    (forged({"t": "repr", "type": "x"}), "missing"),
    ({"format": 2, "values": {}}, "format"),
    ("passed", "not an observed"),
])
def test_malformed_observations_are_named(data: Any, words: str) -> None:
    with pytest.raises(Malformed, match=words):
        decode(data)


def test_text_is_capped_in_the_child_and_rejected_past_the_cap_in_the_parent() -> None:
    many = ["x" * 9000] * 200
    seen = round_trip(many=many)  # 1.8 million characters: the tail is cut, not sent
    assert seen["many"][:100] == many[:100] and isinstance(seen["many"][-1], Repr)
    with pytest.raises(Malformed, match="characters of text"):
        decode(forged({"t": "list", "v": many}))


def test_deep_nesting_is_rejected() -> None:
    value: Any = 1
    for _ in range(40):
        value = {"t": "list", "v": [value]}
    with pytest.raises(Malformed, match="deeper"):
        decode(forged(value))


# -- consistency: timelines that no honest run produces --------------------------------


def honest(check: str = "fetches_run_concurrently", module: Path = SOLUTION) -> dict:
    """The observations of an honest run (for a wrong module: had its verdict been skipped)."""
    return run_check(module, check, forged=True)[1]


def ops_of(data: dict, name: str) -> list[dict]:
    return data["values"][name]["operations"]


def flagged_reason(data: dict, check: str = "fetches_run_concurrently") -> str:
    with pytest.raises(Flagged) as caught:
        confirm(SUITE_FILE, check, data)
    return str(caught.value)


def test_an_honest_run_is_consistent() -> None:
    assert confirm(SUITE_FILE, "fetches_run_concurrently", honest()) is None


def test_an_operation_shorter_than_its_delay_is_flagged() -> None:
    data = honest()
    for op in ops_of(data, "sim") + ops_of(data, "io"):
        if op["label"] == "a":
            op["end"] = 0.5
    assert "took 0.5 s but was told 1 s" in flagged_reason(data)


def test_time_going_backwards_is_flagged() -> None:
    data = honest("fetches_run_concurrently", WRONG / "sequential_awaits.py")
    assert confirm(SUITE_FILE, "fetches_run_concurrently", data) is not None  # honest: fails
    # Rewinding the clock before the last fetch makes it overlap the first.
    for name in ("sim", "io"):
        last = ops_of(data, name)[-1]
        last["start"], last["end"] = 0.0, 0.8
    assert "time went back" in flagged_reason(data)


def test_a_shortened_run_is_flagged() -> None:
    data = honest("fetches_run_concurrently", WRONG / "sequential_awaits.py")
    data["values"]["sim"]["elapsed"] = 1.0
    assert "after the run that started it ended" in flagged_reason(data)


def test_a_lowered_peak_is_flagged() -> None:
    data = honest()
    data["values"]["io"]["peak"] = 1
    assert "a peak of 1 in flight" in flagged_reason(data)


def test_fake_operations_must_be_the_simulations() -> None:
    data = honest()
    ops_of(data, "io")[0]["label"] = "z"
    assert "never saw" in flagged_reason(data)


def test_unknown_outcomes_and_times_after_the_observation_are_flagged() -> None:
    data = honest()
    ops_of(data, "sim")[0]["outcome"] = "fine"
    assert "unknown outcome" in flagged_reason(data)
    data = honest()
    data["values"]["sim"]["violations"] = [
        {"t": "violation", "kind": "sleep", "seconds": 1.0, "at": 99.0, "where": "",
         "detail": ""}]
    assert "after the observation" in flagged_reason(data)


def test_negative_or_nan_seconds_are_malformed() -> None:
    data = honest()
    data["values"]["sim"]["elapsed"] = -1.0
    assert "negative time" in flagged_reason(data)
    data["values"]["sim"]["elapsed"] = math.nan
    assert "not finite" in flagged_reason(data)


# -- confirm: the ex-03 judges agree with the in-child checks -------------------------


@pytest.mark.parametrize("check", CHECKS)
def test_the_solution_is_confirmed(check: str) -> None:
    assert confirm(SUITE_FILE, check, honest(check)) is None


@pytest.mark.parametrize(("module", "check"), [
    (WRONG / "sequential_awaits.py", "fetches_run_concurrently"),
    (WRONG / "sequential_awaits.py", "safe_fetches_run_concurrently"),
    (WRONG / "await_each_task.py", "fetches_run_concurrently"),
    (WRONG / "time_sleep.py", "fetches_run_concurrently"),
    (WRONG / "time_sleep.py", "never_blocks_the_loop"),
    (WRONG / "completion_order.py", "results_in_input_order"),
    (WRONG / "completion_order.py", "any_number_of_sources"),
    ("leaves_tasks", "fetches_run_concurrently"),
])
def test_a_classic_mistake_fails_the_judge_as_it_fails_the_child(
        module: Any, check: str, tmp_path: Path) -> None:
    if module == "leaves_tasks":
        module = tmp_path / "fetcher.py"
        module.write_text(LEAVES_TASKS)
    in_child, _ = run_check(module, check)
    assert in_child is not None
    _, data = run_check(module, check, forged=True)  # the child's verdict skipped
    assert confirm(SUITE_FILE, check, data) == in_child


def test_a_check_without_a_judge_is_not_confirmed() -> None:
    assert confirm(SUITE_FILE, "no_such_check", honest()) is NO_JUDGE


def test_a_judge_that_breaks_on_the_observations_flags_the_check() -> None:
    data = honest()
    del data["values"]["io"]
    assert "KeyError" in flagged_reason(data)


def test_the_suite_is_loaded_once_per_version_under_a_private_name() -> None:
    module = _suite_module(SUITE_FILE)
    assert module is _suite_module(SUITE_FILE)
    assert module.__name__.startswith("_grader_judges_")
    assert len(observed(xs=list(range(MAX_ITEMS)))["values"]["xs"]["v"]) == MAX_ITEMS
