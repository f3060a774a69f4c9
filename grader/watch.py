"""``grade watch exercise-03``: re-grade every time the student saves, like rustlings watch.

Decisions:

- **What is watched**: the exercise folder, not recursively, filtered to the stub's file
  name. Watching the folder (not the file) survives editors that save by writing a
  temporary file and renaming it over the original.
- **Debounce**: watchfiles groups the events of one save (an editor may write, truncate
  and rename within milliseconds) and yields once the folder has been quiet for
  ``STEP_MS``; a save made while a grading runs triggers one more grading afterwards.
- **Screen**: cleared before each grading (only on a terminal; rich writes no control
  codes into a pipe), then the usual grade output, then one status line.
- **Record**: each grading is recorded like ``grade exercise-03``. A record that can't
  be written is reported under the grade and watching goes on: the student's flow
  matters more than one lost attempt, and the next ``grade`` will show the error again.
- **Ctrl-C** ends the watch with a one-line goodbye, never a traceback, whether it
  arrives while waiting or in the middle of a grading (the runner kills its child).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import watchfiles
from rich.console import Console
from rich.text import Text

from grader.course import Exercise
from grader.errors import GraderError
from grader.results import GradeResult

__all__ = ["DEBOUNCE_MS", "STEP_MS", "status_line", "watch_exercise"]

DEBOUNCE_MS = 500  # longest a burst of events is grouped before grading anyway
STEP_MS = 80  # quiet time that ends a burst

Grade = Callable[[Exercise, Path], GradeResult]
Record = Callable[[GradeResult], None]


def status_line(exercise: Exercise, result: GradeResult | None, *, note: str = "",
                now: datetime | None = None) -> Text:
    """The one line under the grade: what is watched, the verdict, how to go on."""
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"Watching {exercise.meta.module}", style="bold")
    text.append(f" · {(now or datetime.now()).strftime('%H:%M:%S')}")
    if result is not None:
        passed = sum(c.passed for c in result.checks)
        style = "bold green" if result.all_passed else "bold"
        text.append(" · ")
        text.append(f"{result.score}/{result.max_score}", style=style)
        text.append(f" ({passed} of {len(result.checks)} checks)")
    if note:
        text.append(f" · {note}", style="yellow")
    text.append(" · Ctrl-C to stop", style="dim")
    return text


def _print_status(console: Console, line: Text) -> None:
    """One line, whatever the width: cut with an ellipsis rather than wrapped."""
    console.print(line, no_wrap=True, overflow="ellipsis")


def watch_exercise(
    exercise: Exercise,
    *,
    console: Console,
    grade: Grade,
    record: Record | None = None,
    stop_event: threading.Event | None = None,
) -> int:
    """Grade ``exercise``'s stub now and after every save; return the number of gradings.

    Runs until Ctrl-C (or ``stop_event`` is set, for tests and embedding).
    """
    from grader.terminal import print_grade

    stub = exercise.stub_file
    gradings = 0

    def regrade() -> None:
        nonlocal gradings
        console.clear()
        console.print(Text(f"Grading {exercise.short_name}…", style="dim"))
        if not stub.is_file():
            console.print(f"{stub.name} is missing from {exercise.folder}. Put it back, or "
                          f"restore the original with `grade reset {exercise.short_name}`.")
            _print_status(console, status_line(exercise, None, note="waiting for the file"))
            return
        try:
            result = grade(exercise, stub)
        except GraderError as exc:
            console.print(exc.format_message())
            _print_status(console, status_line(exercise, None, note="could not grade"))
            return
        gradings += 1
        note = failure = ""
        if record is not None:
            try:
                record(result)
            except GraderError as exc:
                note = "attempt not recorded (see above)"
                failure = exc.format_message()
        console.clear()
        print_grade(console, result)
        if note:
            console.print(Text(failure, style="yellow"))
        console.print()
        _print_status(console, status_line(exercise, result, note=note))

    try:
        regrade()
        for _changes in watchfiles.watch(
            stub.parent,
            watch_filter=lambda _change, path: Path(path).name == stub.name,
            debounce=DEBOUNCE_MS,
            step=STEP_MS,
            stop_event=stop_event,
            recursive=False,
            raise_interrupt=True,  # False would log a warning; we say goodbye ourselves
        ):
            regrade()
    except KeyboardInterrupt:
        console.print()
        console.print(f"Stopped watching {exercise.short_name}. "
                      "Your attempts are saved: `grade` shows your progress.")
    return gradings
