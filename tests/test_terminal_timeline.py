"""The failing timing check's timeline in the terminal: shape, budget, fallback, bounds."""

from __future__ import annotations

import io
import re

from rich.console import Console

from grader.engine.feedback import Feedback
from grader.render.terminal import print_grade
from grader.render.terminal_timeline import ROWS_SHOWN, timeline_text
from grader.supervision.results import CheckResult, GradeResult

SEQUENTIAL = {
    "operations": [
        {"label": "fetch('a')", "start": 0.0, "end": 1.0, "outcome": "ok"},
        {"label": "fetch('b')", "start": 1.0, "end": 1.5, "outcome": "ok"},
        {"label": "fetch('c')", "start": 1.5, "end": 2.3, "outcome": "error"},
    ],
    "budget": 1.2,
    "elapsed": 2.3,
}


def _bars(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("fetch(")]


def test_a_sequential_timeline_is_a_staircase_past_the_budget() -> None:
    drawn = timeline_text(SEQUENTIAL, 70, plain=True)
    assert drawn is not None
    rows = _bars(drawn.plain)
    assert len(rows) == 3
    starts = [row.index("#") for row in rows]
    ends = [start + len(re.match(r"[#|]*", row[start:]).group()) - 1  # type: ignore[union-attr]
            for row, start in zip(rows[:2], starts, strict=False)]
    assert starts[0] < starts[1] < starts[2]
    # Each starts in the cell after the one before ends: touching, never sharing a cell
    # (a shared cell would draw an overlap that did not happen).
    assert starts[1] == ends[0] + 1 and starts[2] == ends[1] + 1
    budget_columns = {row.index("|") for row in rows}
    assert len(budget_columns) == 1  # the budget is one column through every row
    (budget_at,) = budget_columns
    assert starts[2] > budget_at  # the last fetch starts after the budget has run out
    assert "0.8 s, raised" in rows[2]
    assert "| = the 1.2 s budget" in drawn.plain
    axis = drawn.plain.splitlines()[-1]
    assert "1.2 s" in axis and "2.3 s" in axis
    assert all(len(line) <= 70 for line in drawn.plain.splitlines())


def test_concurrent_bars_start_together_and_end_before_the_budget() -> None:
    concurrent = {**SEQUENTIAL, "elapsed": 1.0, "operations": [
        {"label": name, "start": 0.0, "end": end, "outcome": "ok"}
        for name, end in (("fetch('a')", 1.0), ("fetch('b')", 0.5), ("fetch('c')", 0.8))]}
    drawn = timeline_text(concurrent, 60, plain=True)
    assert drawn is not None
    rows = _bars(drawn.plain)
    assert {row.index("#") for row in rows} == {12}  # label column, two spaces, then bars
    assert all(row.rindex("#") < row.index("|") for row in rows)


def test_colour_is_only_on_a_terminal_and_bars_are_blocks_there() -> None:
    coloured = timeline_text(SEQUENTIAL, 70)
    assert coloured is not None and "█" in coloured.plain and "#" not in coloured.plain
    styles = {str(span.style) for span in coloured.spans}
    assert "red" in styles and "blue" in styles  # past the budget red, within it blue
    plain = timeline_text(SEQUENTIAL, 70, plain=True)
    assert plain is not None and "█" not in plain.plain
    assert all(not str(span.style) for span in plain.spans)


def test_nothing_is_drawn_without_a_budget_operations_or_room() -> None:
    assert timeline_text({**SEQUENTIAL, "budget": None}, 70) is None
    assert timeline_text({**SEQUENTIAL, "operations": []}, 70) is None
    assert timeline_text(SEQUENTIAL, 20) is None
    assert timeline_text(None, 70) is None
    assert timeline_text("not a timeline", 70) is None  # type: ignore[arg-type]


def test_a_long_timeline_is_summarised_and_bounded() -> None:
    many = {"budget": 1.0, "elapsed": 200.0, "operations": [
        {"label": f"fetch('source-number-{i}-with-a-long-name')", "start": float(i),
         "end": i + 1.0, "outcome": "ok"} for i in range(200)]}
    drawn = timeline_text(many, 80, plain=True)
    assert drawn is not None
    lines = drawn.plain.splitlines()
    assert len(lines) == 1 + ROWS_SHOWN + 2  # title, rows, "and N more", axis
    assert f"… and {200 - ROWS_SHOWN} more operations, not drawn" in lines[-2]
    assert all(len(line) <= 80 for line in lines)


def _result(timeline: dict | None, status: str = "failed") -> GradeResult:
    check = CheckResult(name="fast", title="Three fetches finish in under 1.2 s", task=1,
                        status=status, points=0, max_points=3,
                        feedback=Feedback("They ran one after another."), sim_elapsed=2.3,
                        timeline=timeline)
    return GradeResult(exercise="exercise-03-concurrent-fetch", title="Three downloads",
                       graded_file="fetcher.py", checks=(check,), duration=0.1)


def test_the_grade_output_draws_it_under_the_message_in_plain_text_when_piped() -> None:
    out = io.StringIO()
    print_grade(Console(file=out, width=100), _result(SEQUENTIAL))
    text = out.getvalue()
    assert "\x1b[" not in text  # not a terminal: no colour codes
    message = text.index("They ran one after another.")
    picture = text.index("Timeline (simulated)")
    assert message < picture < text.index("Score:")
    assert len(_bars("\n".join(line.strip() for line in text.splitlines()))) == 3


def test_no_color_on_a_terminal_also_gets_the_plain_picture() -> None:
    out = io.StringIO()
    print_grade(Console(file=out, width=100, force_terminal=True, no_color=True),
                _result(SEQUENTIAL))
    assert "#" in out.getvalue() and "█" not in out.getvalue()


def test_a_passing_timing_check_draws_nothing() -> None:
    out = io.StringIO()
    print_grade(Console(file=out, width=100), _result(SEQUENTIAL, status="passed"))
    assert "Timeline" not in out.getvalue()
