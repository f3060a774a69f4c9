"""Rendering a grade in the terminal: a mark and label per check, teaching text, score.

Every status carries a word as well as a symbol and a colour, so the report reads the
same with NO_COLOR, in a pipe, or to a screen reader. rich handles width and colour.

What a grading reports is the student's text. It only ever reaches rich inside
:class:`~rich.text.Text` objects, which rich never reads as markup (a message with
``[bold]`` prints those characters), and only after :mod:`grader.supervision.sanitize`: rich
passes ESC through, so an escape sequence in a message would otherwise clear the
screen, retitle the window or fill the clipboard.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.table import Table
from rich.text import Text

from grader.render.terminal_timeline import timeline_text
from grader.supervision.results import CheckResult, GradeResult, clean_output
from grader.supervision.sanitize import TRACEBACK_LIMIT, clean_name, clean_text

__all__ = ["make_console", "print_completion", "print_grade", "print_unpadded", "unpadded"]

MARKS = {
    "passed": ("✓", "PASS", "green"),
    "failed": ("✗", "FAIL", "red"),
    "error": ("!", "ERROR", "red"),
    "timed out": ("⏱", "TIMEOUT", "yellow"),
    # Passes, but a check it requires does not yet: no points until that one passes.
    "blocked": ("◌", "NOT COUNTED YET", "yellow"),
}


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """The reader went away (``grade 5 | head -2``). rich's own answer is exit
        status 1; the command decides instead (a grading exits with its own status),
        so say it with the standard exception and write nothing more."""
        self.quiet = True
        raise BrokenPipeError


def make_console() -> Console:
    return _Console(highlight=False, soft_wrap=False)


@contextmanager
def unpadded(console: Console) -> Iterator[None]:
    """What is printed inside, as rich would print it but without the spaces it pads
    wrapped lines and table cells with to the full width.

    On a terminal the padding is invisible; in a pipe or a log it makes every line end
    in spaces, which diffs, ``grep ' $'`` and editors all show. Only when the console
    is not a terminal, so colour codes are never cut. Don't nest it.
    """
    if console.is_terminal:
        yield
        return
    with console.capture() as captured:
        yield
    lines = captured.get().split("\n")
    try:
        console.file.write("\n".join(line.rstrip() for line in lines))
        console.file.flush()
    except BrokenPipeError:
        console.on_broken_pipe()


def print_unpadded(console: Console, *renderables: object) -> None:
    """:meth:`Console.print` without trailing padding when not a terminal (:func:`unpadded`)."""
    with unpadded(console):
        console.print(*renderables)


def _check_rows(check: CheckResult, *, timeline_width: int = 0,
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
        if check.feedback:
            body.append("\n" + clean_text(check.feedback.what))
            if check.feedback.misconception:
                body.append("\nWhy: ", style="bold")
                body.append(clean_text(check.feedback.misconception))
            if check.feedback.next_step:
                body.append("\nNext: ", style="bold")
                body.append(clean_text(check.feedback.next_step))
        if check.sim_elapsed is not None:
            body.append(f"\n(simulated time: {check.sim_elapsed:.2f} s)", style="dim")
        drawn = timeline_text(check.timeline, timeline_width, plain=plain) \
            if check.status in ("failed", "timed out") else None
        if drawn is not None:
            body.append("\n")
            body.append(drawn)
        if check.traceback:
            body.append("\n" + clean_text(check.traceback, TRACEBACK_LIMIT), style="dim")
        if check.output:
            # Like pytest's "Captured stdout": what the student's own prints said.
            body.append("\nCaptured output (your prints):", style="bold")
            body.append("\n" + clean_output(check.output))
    points = Text(f"{check.points}/{check.max_points}", style="dim")
    return status, body, points


def _same_run_row(run: list[CheckResult]) -> tuple[Text, Text, Text]:
    """One row for checks that fail exactly as the check above them: said once."""
    first = run[0]
    mark, label, colour = MARKS.get(first.status, ("?", clean_name(first.status).upper(), "red"))
    if any(c.status != first.status for c in run):
        mark, label, colour = "…", "SAME", "red"
    body = Text(style="dim")
    if len(run) == 1:
        body.append(f"Task {first.task}  ")
        body.append(clean_name(first.title))
        body.append(": same problem as above")
    else:
        tasks = sorted({c.task for c in run})
        named = ", ".join(str(t) for t in tasks)
        body.append(f"{len(run)} more checks (task{'s' if len(tasks) > 1 else ''} {named}) "
                    "fail the same way")
    points = Text(f"{sum(c.points for c in run)}/{sum(c.max_points for c in run)}",
                  style="dim")
    return Text(f"{mark} {label}", style=f"bold {colour}"), body, points


def print_grade(console: Console, result: GradeResult, *, show_hint_pointer: bool = True,
                graded_file: str | None = None, show_completion: bool = True) -> None:
    """Print one grading. ``graded_file`` is the path as the student should read it
    (relative to the course; default: the result's own); ``show_completion=False``
    leaves the closing line to :func:`print_completion`, once the caller knows what
    comes next."""
    with unpadded(console):
        _print_grade(console, result, show_hint_pointer=show_hint_pointer,
                     graded_file=graded_file, show_completion=show_completion)


def _print_grade(console: Console, result: GradeResult, *, show_hint_pointer: bool,
                 graded_file: str | None, show_completion: bool) -> None:
    header = Text()
    header.append(clean_name(result.exercise), style="bold")
    header.append(f"  {clean_name(result.title)}", style="")
    console.print(header)
    # One unbroken line: the label stays with its path, and a path is never cut
    # mid-name (a long one runs past the width rather than wrapping).
    shown = clean_name(graded_file if graded_file is not None else result.graded_file)
    console.print(Text(f"graded file: {shown}", style="dim"), soft_wrap=True)
    console.print()
    table = Table.grid(padding=(0, 1), pad_edge=True)
    table.add_column(no_wrap=True, min_width=9)
    table.add_column(ratio=1)
    table.add_column(justify="right", no_wrap=True)
    seen: set[tuple[str | None, str, str]] = set()
    # The body column's width: the console's, less the status and points columns and
    # the grid's padding (one space each side of three columns).
    status_width = max([9, *(len(MARKS.get(c.status, ("?", c.status, ""))[1]) + 2
                             for c in result.checks)])
    points_width = max((len(f"{c.points}/{c.max_points}") for c in result.checks), default=3)
    timeline_width = console.width - status_width - points_width - 6
    plain = console.no_color or not console.is_terminal or console.options.ascii_only
    run: list[CheckResult] = []  # repeats of the check above, said in one row
    for check in result.checks:
        # The same failure in several checks (a stub, a syntax error) is said once: a
        # check with output of its own is shown, since its prints may differ.
        key = (check.feedback.what if check.feedback else None, check.traceback,
               check.output)
        repeated = not check.passed and check.feedback is not None and key in seen
        seen.add(key)
        if repeated:
            run.append(check)
            continue
        if run:
            table.add_row(*_same_run_row(run))
            run = []
        table.add_row(*_check_rows(check, timeline_width=timeline_width, plain=plain))
    if run:
        table.add_row(*_same_run_row(run))
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
        if show_completion:
            console.print(Text("All checks pass. On to the next exercise: `grade list`."))
    elif show_hint_pointer:
        short = result.exercise.split("-", 2)
        name = "-".join(short[:2]) if len(short) >= 2 else result.exercise
        console.print(Text(f"Stuck? `grade hint {clean_name(name)}` shows the next hint."))


def print_completion(console: Console, next_exercise: str | None, *,
                     course_done: bool = False) -> None:
    """The closing line of a passing grading, naming what to run next."""
    if course_done:
        console.print(Text("All checks pass. That was the last one: every exercise is done."))
    elif next_exercise is None:
        console.print(Text("All checks pass."))
    else:
        console.print(Text(f"All checks pass. Next: grade {clean_name(next_exercise)}"))
