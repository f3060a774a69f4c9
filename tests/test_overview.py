"""The course at a glance: the plain-data summary and its terminal rendering."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from rich.console import Console

from grader.course.course import Course
from grader.render.overview import print_overview
from grader.state.progress import CourseProgress, build_progress
from grader.state.progress_store import ProgressStore
from helpers.progress_samples import tiny_course, tiny_result

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def tiny(tmp_path: Path) -> Course:
    return tiny_course(tmp_path)


def _progress(course: Course, tmp_path: Path, gradings, hints=None) -> CourseProgress:
    """Record ``gradings`` ([(short, passed checks or None, source)]) and summarise them."""
    with ProgressStore.open(tmp_path / "p.db") as store:
        for short, passed, source in gradings:
            store.record_attempt(tiny_result(course, short, passed), source=source)
        for exercise, indexes in (hints or {}).items():
            store.mark_hints_seen(exercise, indexes)
        return build_progress(course, store.scores(), store.hints_seen())


def _render(progress: CourseProgress, **console_options) -> str:
    out = io.StringIO()
    console = Console(file=out, width=100, **console_options)
    print_overview(console, progress, record=".progress/progress.db")
    return out.getvalue()


def test_statuses_best_scores_and_attempts(tiny: Course, tmp_path: Path) -> None:
    progress = _progress(tiny, tmp_path, [
        ("1", set(), "stub"), ("1", None, "stub"), ("1", {"runs"}, "stub"),
        ("2", {"in_order"}, "stub"), ("2", {"in_order", "concurrently"}, "stub"),
    ])
    one, two, three = progress.exercises
    assert (one.status, one.best_score, one.max_score, one.attempts) == ("done", 3, 3, 3)
    assert (two.status, two.best_score, two.attempts) == ("in progress", 3, 2)
    assert (three.status, three.best_score, three.attempts) == ("not started", None, 0)
    assert (progress.done, progress.total) == (1, 3)


def test_gradings_of_another_file_are_kept_but_do_not_count(tiny, tmp_path) -> None:
    progress = _progress(tiny, tmp_path, [("1", None, "file")])
    assert progress.exercises[0].status == "not started"
    assert progress.exercises[0].best_score is None


def test_mastery_weighs_each_concepts_points(tiny: Course, tmp_path: Path) -> None:
    progress = _progress(tiny, tmp_path, [("1", None, "stub"), ("2", {"in_order"}, "stub")])
    mastery = {c.concept: c for c in progress.concepts}
    assert list(mastery) == ["await", "gather", "cancellation"]  # course order
    assert mastery["await"].fraction == pytest.approx((3 + 1) / (3 + 5))
    assert (mastery["await"].done, mastery["await"].started, mastery["await"].total) == (1, 2, 2)
    assert mastery["gather"].fraction == pytest.approx(1 / 5)
    assert (mastery["cancellation"].fraction, mastery["cancellation"].started) == (0.0, 0)


def test_next_is_the_exercise_in_progress_else_the_first_not_done(tiny, tmp_path) -> None:
    assert _progress(tiny, tmp_path / "a", []).next_exercise.short_name == "exercise-01"
    skipped_ahead = _progress(tiny, tmp_path / "b", [("2", set(), "stub")])
    assert skipped_ahead.next_exercise.short_name == "exercise-02"
    finished_it = _progress(tiny, tmp_path / "c", [("2", None, "stub")])
    assert finished_it.next_exercise.short_name == "exercise-01"
    everything = _progress(tiny, tmp_path / "d", [(s, None, "stub") for s in "123"])
    assert everything.next_exercise is None


def test_hints_seen_are_listed_by_text(tiny: Course, tmp_path: Path) -> None:
    progress = _progress(tiny, tmp_path, [],
                         hints={"exercise-02-side-by-side": [2, 0], "exercise-99-gone": [0]})
    two = progress.exercises[1]
    assert two.hints_seen == ("Task two.", "Task one, vague.")
    assert two.hints_total == 3


def test_progress_is_plain_data(tiny: Course, tmp_path: Path) -> None:
    progress = _progress(tiny, tmp_path, [("1", None, "stub"), ("2", set(), "stub")])
    data = progress.to_dict()
    assert data["done"] == 1 and data["next_exercise"] == "exercise-02"
    assert CourseProgress.from_dict(data) == progress


def test_the_overview_shows_bar_table_concepts_and_next(tiny, tmp_path) -> None:
    progress = _progress(tiny, tmp_path, [("1", None, "stub"), ("2", {"in_order"}, "stub")])
    text = _render(progress, force_terminal=False)
    assert "1 of 3 exercises done" in text
    assert re.search(r"exercise-01\s+First steps\s+✓ done\s+3/3\s+1", text)
    assert re.search(r"exercise-02\s+Side by side\s+… in progress\s+1/5", text)
    assert re.search(r"exercise-03\s+Nothing to hint\s+· not started\s+–\s+0\s+–", text)
    assert "Mastery by concept" in text and re.search(r"await\s+█+░+\s+50%", text)
    assert "Concepts ahead: cancellation" in text
    assert "Next: exercise-02  Side by side" in text and "grade hint exercise-02" in text
    assert ".progress/progress.db" in text


def test_without_a_terminal_there_is_no_colour_but_the_words_stay(tiny, tmp_path) -> None:
    progress = _progress(tiny, tmp_path, [("2", {"in_order"}, "stub")])
    piped = _render(progress, force_terminal=False)
    assert not ANSI.search(piped)
    coloured = _render(progress, force_terminal=True, color_system="standard")
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured).split() == piped.split()


def test_no_color_keeps_bars_readable(tiny, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("NO_COLOR", "1")
    progress = _progress(tiny, tmp_path, [("2", {"in_order"}, "stub")])
    text = _render(progress, force_terminal=True)
    assert not re.search(r"\x1b\[[0-9;]*3\dm", text)  # no foreground colours
    plain = ANSI.sub("", text)
    assert "░" in plain and "in progress" in plain  # done and to-do differ by glyph


def test_an_ascii_only_terminal_gets_ascii_marks(tiny, tmp_path) -> None:
    progress = _progress(tiny, tmp_path, [("1", None, "stub")])
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii", errors="strict")
    print_overview(Console(file=out, width=100, force_terminal=False), progress)
    out.flush()
    text = out.buffer.getvalue().decode("ascii")
    assert "+ done" in text and "- not started" in text and "#" in text
