"""Rendering a grade in the terminal: a mark and label per check, teaching text, score.

Every status carries a word as well as a symbol and a colour, so the report reads the
same with NO_COLOR, in a pipe, or to a screen reader. rich handles width and colour.

What a grading reports is the student's text. It only ever reaches rich inside
:class:`~rich.text.Text` objects, which rich never reads as markup (a message with
``[bold]`` prints those characters), and only after :mod:`grader.sanitize`: rich
passes ESC through, so an escape sequence in a message would otherwise clear the
screen, retitle the window or fill the clipboard.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.results import CheckResult, GradeResult
from grader.sanitize import TRACEBACK_LIMIT, clean_name, clean_text
from grader.terminal_timeline import timeline_text

__all__ = ["make_console", "print_grade"]

MARKS = {
    "passed": ("✓", "PASS", "green"),
    "failed": ("✗", "FAIL", "red"),
    "error": ("!", "ERROR", "red"),
    "timed out": ("⏱", "TIMEOUT", "yellow"),
    # Passes, but a check it requires does not yet: no points until that one passes.
    "blocked": ("◌", "NOT COUNTED YET", "yellow"),
}


def make_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _check_rows(check: CheckResult, repeated: bool, *, timeline_width: int = 0,
                plain: bool = False) -> tuple[Text, Text, Text]:
    """(status cell, body cell, points cell) for one check; the body wraps in place.

    A failing timing check also draws its timeline, ``timeline_width`` wide.
    """
    mark, label, colour = MARKS.get(check.status, ("?", clean_name(check.status).upper(), "red"))
    status = Text(f"{mark} {label}", style=f"bold {colour}")
    body = Text()
    body.append(f"Task {check.task}  ", style="dim")
    body.append(clean_name(check.title))
    if not check.passed:
        if repeated:
            body.append("\n(same problem as above)", style="dim")
        elif check.feedback:
            body.append("\n" + clean_text(check.feedback.what))
            if check.feedback.misconception:
                body.append("\nWhy: ", style="bold")
                body.append(clean_text(check.feedback.misconception))
            if check.feedback.next_step:
                body.append("\nNext: ", style="bold")
                body.append(clean_text(check.feedback.next_step))
        if not repeated and check.sim_elapsed is not None:
            body.append(f"\n(simulated time: {check.sim_elapsed:.2f} s)", style="dim")
        drawn = timeline_text(check.timeline, timeline_width, plain=plain) if not repeated \
            and check.status in ("failed", "timed out") else None
        if drawn is not None:
            body.append("\n")
            body.append(drawn)
        if not repeated and check.traceback:
            body.append("\n" + clean_text(check.traceback, TRACEBACK_LIMIT), style="dim")
    points = Text(f"{check.points}/{check.max_points}", style="dim")
    return status, body, points


def print_grade(console: Console, result: GradeResult, *, show_hint_pointer: bool = True) -> None:
    header = Text()
    header.append(clean_name(result.exercise), style="bold")
    header.append(f"  {clean_name(result.title)}", style="")
    console.print(header)
    console.print(Text(f"graded file: {clean_name(result.graded_file)}", style="dim"))
    console.print()
    table = Table.grid(padding=(0, 1), pad_edge=True)
    table.add_column(no_wrap=True, min_width=9)
    table.add_column(ratio=1)
    table.add_column(justify="right", no_wrap=True)
    seen = set()
    # The body column's width: the console's, less the status and points columns and
    # the grid's padding (one space each side of three columns).
    status_width = max([9, *(len(MARKS.get(c.status, ("?", c.status, ""))[1]) + 2
                             for c in result.checks)])
    points_width = max((len(f"{c.points}/{c.max_points}") for c in result.checks), default=3)
    timeline_width = console.width - status_width - points_width - 6
    plain = console.no_color or not console.is_terminal or console.options.ascii_only
    for check in result.checks:
        # The same failure in several checks (a stub, an import error) is said once.
        key = (check.feedback.what if check.feedback else None, check.traceback)
        repeated = not check.passed and check.feedback is not None and key in seen
        seen.add(key)
        table.add_row(*_check_rows(check, repeated, timeline_width=timeline_width,
                                   plain=plain))
    console.print(table)
    console.print()
    score = Text()
    style = "bold green" if result.all_passed else "bold"
    score.append(f"Score: {result.score}/{result.max_score}", style=style)
    passed = sum(c.passed for c in result.checks)
    held_back = sum(c.status == "blocked" for c in result.checks)
    score.append(f"  ({passed} of {len(result.checks)} checks passed"
                 + (f", {held_back} not counted yet)" if held_back else ")"))
    console.print(score)
    if result.all_passed:
        console.print(Text("All checks pass. On to the next exercise: `grade list`."))
    elif show_hint_pointer:
        short = result.exercise.split("-", 2)
        name = "-".join(short[:2]) if len(short) >= 2 else result.exercise
        console.print(Text(f"Stuck? `grade hint {clean_name(name)}` shows the next hint."))
