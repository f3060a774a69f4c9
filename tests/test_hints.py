"""Progressive hints: which comes next, remembered across sessions, --all."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from grader.course.course import Course
from grader.course.metadata import Hint
from grader.state.hints import choose_next_hint, passing_tasks, print_hints, reveal_hints
from grader.state.progress_store import ProgressStore
from helpers.progress_samples import tiny_course, tiny_result

HINTS = (Hint(1, "t1 a"), Hint(1, "t1 b"), Hint(2, "t2 a"))


@pytest.fixture
def tiny(tmp_path: Path) -> Course:
    return tiny_course(tmp_path)


def _printed(view) -> str:
    out = io.StringIO()
    print_hints(Console(file=out, width=100), view)
    return out.getvalue()


def test_hints_come_vaguest_first() -> None:
    assert choose_next_hint(HINTS, [], set()) == 0
    assert choose_next_hint(HINTS, [0], set()) == 1
    assert choose_next_hint(HINTS, [0, 1, 2], set()) is None


def test_hints_for_a_task_that_already_passes_are_skipped() -> None:
    assert choose_next_hint(HINTS, [], {1}) == 2
    # ...unless nothing else is left.
    assert choose_next_hint(HINTS, [2], {1, 2}) == 0


def test_a_task_passes_only_if_all_its_checks_do(tiny: Course) -> None:
    assert passing_tasks(tiny_result(tiny, "2", {"in_order"})) == set()
    assert passing_tasks(tiny_result(tiny, "2", {"in_order", "concurrently"})) == {1}
    assert passing_tasks(None) == set()


def test_each_call_reveals_one_more_and_it_is_remembered(tiny, tmp_path) -> None:
    exercise = tiny.resolve("2")
    db = tmp_path / "p.db"
    for expected_new in (0, 1, 2):
        with ProgressStore.open(db) as store:  # a new session every time
            view = reveal_hints(exercise, store)
        assert view.new == (expected_new,)
        assert [i for i, _ in view.shown] == list(range(expected_new + 1))
    with ProgressStore.open(db) as store:
        view = reveal_hints(exercise, store)
    assert view.new == () and len(view.shown) == 3
    assert "You have seen every hint" in _printed(view)


def test_the_latest_grading_steers_the_next_hint(tiny, tmp_path) -> None:
    exercise = tiny.resolve("2")
    with ProgressStore.open(tmp_path / "p.db") as store:
        store.record_attempt(tiny_result(tiny, "2", {"in_order", "concurrently"}))
        view = reveal_hints(exercise, store)
    assert view.new == (2,) and view.shown[0][1].text == "Task two."


def test_all_reveals_the_rest_at_once(tiny, tmp_path) -> None:
    exercise = tiny.resolve("1")
    with ProgressStore.open(tmp_path / "p.db") as store:
        reveal_hints(exercise, store)
        view = reveal_hints(exercise, store, reveal_all=True)
        assert store.hints_seen() == {exercise.name: (0, 1)}
    assert view.new == (1,)
    text = _printed(view)
    assert "Hint 1 of 2" in text and "Hint 2 of 2" in text and "new" in text
    assert "That was the last hint." in text


def test_the_printout_says_how_many_remain(tiny, tmp_path) -> None:
    with ProgressStore.open(tmp_path / "p.db") as store:
        view = reveal_hints(tiny.resolve("2"), store)
    text = _printed(view)
    assert "Hint 1 of 3 (task 1)" in text and "Task one, vague." in text
    assert "2 more hints: run `grade hint exercise-02` again" in text


def test_an_exercise_without_hints_says_so(tiny, tmp_path) -> None:
    with ProgressStore.open(tmp_path / "p.db") as store:
        view = reveal_hints(tiny.resolve("3"), store)
    assert view.total == 0 and "has no hints" in _printed(view)
