"""Rendering a grade in the terminal: a mark and label per check, teaching text, score.

Every status carries a word as well as a symbol and a colour, so the report reads the
same with NO_COLOR, in a pipe, or to a screen reader. rich handles width and colour.
"""

from __future__ import annotations

from rich.console import Console
from rich.text import Text

from grader.results import CheckResult, GradeResult

__all__ = ["make_console", "print_grade"]

MARKS = {
    "passed": ("✓", "PASS", "green"),
    "failed": ("✗", "FAIL", "red"),
    "error": ("!", "ERROR", "red"),
    "timed out": ("⏱", "TIMEOUT", "yellow"),
}


def make_console() -> Console:
    return Console(highlight=False, soft_wrap=False)


def _check_block(check: CheckResult) -> Text:
    mark, label, colour = MARKS.get(check.status, ("?", check.status.upper(), "red"))
    text = Text()
    text.append(f" {mark} {label:<7} ", style=f"bold {colour}")
    text.append(f"Task {check.task}  ", style="dim")
    text.append(check.title)
    text.append(f"  {check.points}/{check.max_points}\n", style="dim")
    if check.passed:
        return text
    indent = "           "
    if check.feedback:
        text.append(f"{indent}{check.feedback.what}\n")
        if check.feedback.misconception:
            text.append(f"{indent}Why: ", style="bold")
            text.append(f"{check.feedback.misconception}\n")
        if check.feedback.next_step:
            text.append(f"{indent}Next: ", style="bold")
            text.append(f"{check.feedback.next_step}\n")
    if check.sim_elapsed is not None:
        text.append(f"{indent}(simulated time: {check.sim_elapsed:.2f} s)\n", style="dim")
    if check.traceback:
        for line in check.traceback.splitlines():
            text.append(f"{indent}{line}\n", style="dim")
    return text


def print_grade(console: Console, result: GradeResult, *, show_hint_pointer: bool = True) -> None:
    header = Text()
    header.append(f"{result.exercise}", style="bold")
    header.append(f"  {result.title}", style="")
    console.print(header)
    console.print(Text(f"graded file: {result.graded_file}", style="dim"))
    console.print()
    seen_duplicate = set()
    for check in result.checks:
        block = _check_block(check)
        key = (check.feedback.what if check.feedback else None, check.traceback)
        if not check.passed and key in seen_duplicate and check.feedback:
            # Same failure as an earlier check (a stub, an import error): say it once.
            mark, label, colour = MARKS.get(check.status, ("?", "?", "red"))
            block = Text()
            block.append(f" {mark} {label:<7} ", style=f"bold {colour}")
            block.append(f"Task {check.task}  ", style="dim")
            block.append(check.title)
            block.append(f"  0/{check.max_points}\n", style="dim")
            block.append("           (same problem as above)\n", style="dim")
        seen_duplicate.add(key)
        console.print(block, end="")
    console.print()
    score = Text()
    style = "bold green" if result.all_passed else "bold"
    score.append(f"Score: {result.score}/{result.max_score}", style=style)
    passed = sum(c.passed for c in result.checks)
    score.append(f"  ({passed} of {len(result.checks)} checks passed)")
    console.print(score)
    if result.all_passed:
        console.print("All checks pass. On to the next exercise: `grade list`.")
    elif show_hint_pointer:
        short = result.exercise.split("-", 2)
        name = "-".join(short[:2]) if len(short) >= 2 else result.exercise
        console.print(f"Stuck? `grade hint {name}` shows the next hint.")
