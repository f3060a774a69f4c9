"""What the terminal shows during and after ``grade bulk``.

During: a progress bar with gradings done out of planned, outcome counts and an ETA,
written to stderr so stdout stays clean for anything piped. rich draws a live bar on a
terminal and stays quiet elsewhere (CI logs, a test's subprocess). After: a few lines
saying what was graded, what needs a look, and how to resume an interrupted run.

Student folder names and the grader's failure messages reach the terminal only as
:class:`~rich.text.Text` (never read as markup) and through
:func:`grader.supervision.sanitize.clean_name`: one line each, no escape sequence, no carriage
return to overprint a line.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from grader.bulk.run import GRADEBOOK_NAME, BulkOutcome
from grader.supervision.results import GradeResult
from grader.supervision.sanitize import TEXT_LIMIT, clean_name, clean_text

__all__ = ["BulkProgress", "print_outcome"]


class BulkProgress:
    """A :class:`grader.bulk.pipeline.Listener` that draws a rich progress bar."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[counts]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task("Grading", total=0, counts="", start=False)
        self._counts = {"full marks": 0, "partial": 0, "no points": 0, "timed out": 0,
                        "grader failed": 0}

    def __enter__(self) -> BulkProgress:
        self._progress.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._progress.stop()

    def start(self, total: int) -> None:
        self._progress.update(self._task, total=total)
        self._progress.start_task(self._task)

    def recorded(self, result: GradeResult | None, count: int) -> None:
        self._counts[_outcome(result)] += count
        counts = "  ".join(f"{n} {label}" for label, n in self._counts.items() if n)
        self._progress.update(self._task, advance=count, counts=counts)

    def stopping(self, running: int) -> None:
        self._progress.update(self._task, description="Stopping")
        self._console.print(
            f"Stopping: letting {running} running grading(s) finish so they are recorded. "
            "Press Ctrl-C again to abandon them.")


def _outcome(result: GradeResult | None) -> str:
    if result is None:
        return "grader failed"
    statuses = {c.status for c in result.checks}
    if "timed out" in statuses:
        return "timed out"
    if result.all_passed:
        return "full marks"
    return "partial" if result.score else "no points"


def print_outcome(console: Console, outcome: BulkOutcome, *, out: Path, resume: str) -> None:
    """The few lines after a run: what was graded, what needs a look, where the files are."""
    summary = outcome.summary
    console.print(
        f"Graded {summary.graded} file(s) in {summary.seconds:.1f} s; recorded "
        f"{summary.recorded} verdict(s) ({summary.reused} reused for identical files); "
        f"{summary.already_recorded} were already in the gradebook.")
    for student, exercise, why in summary.failed:
        console.print(Text.assemble(
            ("Grader failure", "red"),
            f" for {clean_name(student)} / {clean_name(exercise)}: {clean_name(why, TEXT_LIMIT)}"))
    rejected = sum(bool(s.problems) for s in outcome.submissions)
    flagged = sum(bool(s.flags) for s in outcome.submissions)
    if rejected or flagged:
        console.print(f"{rejected} entr{'y' if rejected == 1 else 'ies'} rejected, "
                      f"{flagged} with flagged files: see the class summary.")
    if outcome.suites_changed:
        console.print(
            f"[yellow]The hidden suites of {', '.join(outcome.suites_changed)} changed during "
            "this run[/yellow]: some of their verdicts may come from either version. Run "
            "the same command again to regrade them.")
    if summary.interrupted:
        console.print(
            f"[bold]Interrupted.[/bold] {summary.recorded} verdict(s) from this run are "
            f"safely in {escape(str(out / GRADEBOOK_NAME))}. Resume with:")
        _print_command(console, resume)
        return
    for path in outcome.written:
        console.print(Text(f"Wrote {clean_name(str(path))}"))
    if outcome.student_reports:
        console.print(Text("No per-student reports: " + clean_text(outcome.student_reports)))
    if summary.late_interrupt:
        console.print("Ctrl-C came after the last grading, so the outputs were finished "
                      "first; nothing is left to resume.")
    if summary.failed:
        console.print("Run again to retry the failed gradings:")
        _print_command(console, resume)


def _print_command(console: Console, command: str) -> None:
    # Never wrapped, so it can be copied and pasted as one line.
    console.print(f"  {command}", markup=False, highlight=False, soft_wrap=True)
