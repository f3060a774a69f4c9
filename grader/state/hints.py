"""Progressive hints: ``grade hint exercise-03`` shows one more each time, remembered.

Hints are listed vaguest first in the exercise's metadata, each for a task. The next
hint is the first one not seen yet *for a task that still fails* in the student's
latest grading, so a student who has finished task 1 is not handed task 1's hints;
when every remaining hint is for a passing task (or the stub was never graded) the
metadata order decides. Seen hints are stored in the progress record, so they are
shown again, with the new one, in later sessions and in the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rich.console import Console
from rich.text import Text

from grader.course.course import Exercise
from grader.course.metadata import Hint
from grader.render.terminal import print_unpadded
from grader.state.progress_store import ProgressStore
from grader.supervision.results import GradeResult

__all__ = ["HintView", "choose_next_hint", "print_hints", "reveal_hints"]


@dataclass(frozen=True)
class HintView:
    exercise: str  # short name: exercise-03
    shown: tuple[tuple[int, Hint], ...]  # (index in the metadata, hint), in the order seen
    new: tuple[int, ...]  # indexes revealed by this command
    total: int
    counted: bool = True  # False: shown after the exercise passed, so not remembered


def passing_tasks(result: GradeResult | None) -> set[int]:
    """Tasks every check of which passed in ``result``."""
    if result is None:
        return set()
    tasks: dict[int, bool] = {}
    for check in result.checks:
        tasks[check.task] = tasks.get(check.task, True) and check.passed
    return {task for task, passed in tasks.items() if passed}


def choose_next_hint(hints: Sequence[Hint], seen: Sequence[int], passed: set[int]) -> int | None:
    """The index of the hint to show next, or None when every hint has been seen."""
    unseen = [i for i in range(len(hints)) if i not in seen]
    for index in unseen:
        if hints[index].task not in passed:
            return index
    return unseen[0] if unseen else None


def reveal_hints(exercise: Exercise, store: ProgressStore, *, reveal_all: bool = False,
                 count: bool = True) -> HintView:
    """Reveal the next hint (or all of them) for ``exercise`` and remember it.

    ``count=False`` shows without remembering: a hint read after the exercise passed
    helped nobody pass it, so it must not count against the student (the overview's
    Hints column, each attempt's hint level). The same hint then comes next again.
    """
    hints = exercise.meta.hints
    seen = list(store.hints_seen().get(exercise.name, ()))
    seen = [i for i in seen if 0 <= i < len(hints)]
    if reveal_all:
        new = [i for i in range(len(hints)) if i not in seen]
    else:
        latest = store.latest_attempt(exercise.name, source="stub")
        index = choose_next_hint(hints, seen, passing_tasks(latest.result if latest else None))
        new = [] if index is None else [index]
    if new and count:
        store.mark_hints_seen(exercise.name, new)
    order = seen + new
    return HintView(
        exercise=exercise.short_name,
        shown=tuple((i, hints[i]) for i in order),
        new=tuple(new),
        total=len(hints),
        counted=count,
    )


def print_hints(console: Console, view: HintView) -> None:
    if not view.total:
        console.print(f"{view.exercise} has no hints. Reread its README's task, then "
                      f"`grade {view.exercise}` for what each check says.")
        return
    for number, (index, hint) in enumerate(view.shown, start=1):
        text = Text()
        fresh = index in view.new
        text.append(f"Hint {number} of {view.total}", style="bold" if fresh else "dim")
        text.append(f" (task {hint.task})", style="dim")
        if fresh:
            text.append("  new", style="bold cyan")
        text.append("\n")
        text.append(hint.text, style="" if fresh else "dim")
        print_unpadded(console, text)
        console.print()
    remaining = view.total - len(view.shown)
    if view.new and not view.counted:
        console.print(Text("Not counted: you had already finished this exercise.",
                           style="dim"))
    elif not view.new:
        console.print("You have seen every hint for this exercise.")
    elif remaining:
        more = "1 more hint" if remaining == 1 else f"{remaining} more hints"
        console.print(Text(f"{more}: run `grade hint {view.exercise}` again if you need it.",
                           style="dim"))
    else:
        console.print(Text("That was the last hint.", style="dim"))
