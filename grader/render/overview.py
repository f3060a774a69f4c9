"""The course at a glance in the terminal: progress bar, exercises, concepts, what's next.

Rendered with rich (tables, width, colour). Like :mod:`grader.render.terminal`, every status
is a word as well as a symbol and a colour, and bars use two different glyphs for done
and to-do, so the overview reads the same with ``NO_COLOR``, in a pipe or a log file
(rich turns colour off by itself in both cases).

Every cell is a :class:`~rich.text.Text`, never a plain string, because rich reads a
plain string in a table as markup; and every name goes through
:func:`grader.supervision.sanitize.clean_name`, so a title or a concept can neither restyle the
table (``[bold]``) nor send an escape sequence to the terminal.
"""

from __future__ import annotations

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from grader.state.progress import CourseProgress, ExerciseProgress
from grader.supervision.sanitize import clean_name

__all__ = ["STATUS_MARKS", "bar", "exercise_table", "print_overview", "status_text"]

STATUS_MARKS = {
    "done": ("✓", "done", "green"),
    "in progress": ("…", "in progress", "yellow"),
    "not started": ("·", "not started", "dim"),
}


AHEAD_SHOWN = 5  # concepts not met yet, named in the overview; the rest are counted


def bar(fraction: float, width: int, *, ascii_only: bool = False) -> Text:
    """A bar of ``width`` cells, ``fraction`` of them full: readable without colour."""
    full_glyph, empty_glyph = ("#", "-") if ascii_only else ("█", "░")
    full = round(max(0.0, min(1.0, fraction)) * width)
    text = Text()
    text.append(full_glyph * full, style="green")
    text.append(empty_glyph * (width - full), style="dim")
    return text


def _plain(text: str, style: str = "") -> Text:
    """``text`` as one clean line that rich shows as it is."""
    return Text(clean_name(text), style=style)


def status_text(status: str, *, ascii_only: bool = False) -> Text:
    mark, word, colour = STATUS_MARKS.get(status, ("?", clean_name(status), ""))
    if ascii_only:
        mark = {"done": "+", "in progress": "~"}.get(status, "-")
    return Text(f"{mark} {word}", style=colour)


def _score(exercise: ExerciseProgress, none: str) -> str:
    if exercise.best_score is None:
        return none
    return f"{exercise.best_score}/{exercise.max_score}"


def _hints(exercise: ExerciseProgress, none: str) -> str:
    if not exercise.hints_total:
        return none
    return f"{len(exercise.hints_seen)}/{exercise.hints_total}"


def exercise_table(progress: CourseProgress, *, ascii_only: bool = False) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False)
    # Only the title gives way on a narrow terminal; numbers and statuses never wrap.
    table.add_column("Exercise", no_wrap=True, min_width=11)
    table.add_column("Title", ratio=1)
    table.add_column("Status", no_wrap=True, min_width=13)
    table.add_column("Best", justify="right", no_wrap=True, min_width=5)
    table.add_column("Tries", justify="right", no_wrap=True, min_width=5)
    table.add_column("Hints", justify="right", no_wrap=True, min_width=5)
    none = "-" if ascii_only else "–"
    for exercise in progress.exercises:
        table.add_row(_plain(exercise.short_name),
                      Text(clean_name(exercise.title), no_wrap=True, overflow="ellipsis"),
                      status_text(exercise.status, ascii_only=ascii_only),
                      Text(_score(exercise, none)), Text(str(exercise.attempts)),
                      Text(_hints(exercise, none)))
    return table


def _concept_table(progress: CourseProgress, ascii_only: bool) -> Table:
    table = Table(box=None, pad_edge=False, show_edge=False, show_header=False)
    table.add_column("Concept", no_wrap=True)
    table.add_column("Bar", no_wrap=True)
    table.add_column("Percent", justify="right", no_wrap=True)
    table.add_column("Exercises")
    for concept in progress.concepts:
        if not concept.started:
            continue
        table.add_row(
            _plain(concept.concept),
            bar(concept.fraction, 12, ascii_only=ascii_only),
            Text(f"{concept.fraction:.0%}"),
            Text(f"{concept.done} of {concept.total} exercise{'s' if concept.total != 1 else ''}"
                 " done", style="dim"),
        )
    return table


def print_overview(console: Console, progress: CourseProgress, *, record: str = "") -> None:
    """Print the overview; ``record`` names the progress file in a dim footer line."""
    ascii_only = console.options.ascii_only
    headline = Text()
    headline.append("Your progress  ", style="bold")
    width = min(30, max(10, console.width - 48))
    headline.append_text(bar(progress.done / progress.total if progress.total else 0.0, width,
                             ascii_only=ascii_only))
    headline.append(f"  {progress.done} of {progress.total} exercises done")
    parts: list = [headline, Text(), exercise_table(progress, ascii_only=ascii_only)]
    # Only concepts met so far get a bar: forty empty bars would bury the ones that move.
    if any(c.started for c in progress.concepts):
        parts += [Text(), Text("Mastery by concept", style="bold"),
                  _concept_table(progress, ascii_only)]
    ahead = [c.concept for c in progress.concepts if not c.started]
    if ahead:
        shown = ", ".join(clean_name(c) for c in ahead[:AHEAD_SHOWN])
        rest = len(ahead) - AHEAD_SHOWN
        more = f" and {rest} more (`grade list` shows them)" if rest > 0 else ""
        parts += [Text(), Text.assemble(("Concepts ahead: ", "bold"), (shown + more, "dim"))]
    parts.append(Text())
    parts.append(_next_step(progress))
    if record:
        parts.append(Text(f"Record: {clean_name(record)}   HTML report with timelines: "
                          "grade report", style="dim"))
    console.print(Group(*parts))


def _next_step(progress: CourseProgress) -> Text:
    text = Text()
    upcoming = progress.next_exercise
    if upcoming is None:
        text.append("Every exercise is done. Well played!", style="bold green")
        return text
    name = clean_name(upcoming.short_name)
    text.append("Next: ", style="bold")
    text.append(f"{name}  {clean_name(upcoming.title)}\n")
    text.append(f"      grade {name}", style="bold")
    if upcoming.status == "in progress":
        text.append("   (stuck? ")
        text.append(f"grade hint {name}", style="bold")
        text.append(")")
    return text
