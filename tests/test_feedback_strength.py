"""Feedback gives directions; the literal step is the last hint's to give.

A "Next:" line that is a line of the reference solution leaves the student nothing to
work out and the hints nothing to add. So no next step a hidden suite writes may quote
a line of its exercise's reference solution, and the first hint of every task is a
direction too; the literal step belongs in the task's last hint, asked for on purpose.

"A line of the solution" is a backticked snippet equal to a whole line of the solution
file (comments and spacing aside) that is a statement (an assignment, ``return``,
``yield``, ``await``, ``with``, ``except``, ``while``, a decorator) or 25 characters
long, or the start of such a line: `task.cancel()` names a method, `return await
asyncio.to_thread(legacy_lookup, key)` is the answer.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from grader.course.course import Course
from helpers import REPO

COURSE = Course(REPO)
EXERCISES = [e for e in COURSE.exercises if e.solution_file.is_file()]


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


def _solution_lines(folder: Path) -> set[str]:
    lines = set()
    for path in folder.glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            code = _normal(line.split("#", 1)[0])
            if len(code) >= 12:
                lines.add(code)
    return lines


STATEMENT = re.compile(r"(^|\s)(return|yield|await|with|except\*?|while)\b|[^=!<>]=[^=]|^@")


def quoted_solution_lines(text: str, solution: set[str]) -> list[str]:
    """The backticked snippets of ``text`` that are lines of the solution."""
    found = []
    for snippet in re.findall(r"`([^`]+)`", text):
        code = _normal(snippet)
        whole = code in solution and (len(code) >= 25 or STATEMENT.search(code))
        if whole or (len(code) >= 25 and any(line.startswith(code) for line in solution)):
            found.append(code)
    return found


def _next_steps(suite: Path) -> Iterator[tuple[int, str]]:
    """Every next step written as a string literal in ``suite``, with its line."""
    for node in ast.walk(ast.parse(suite.read_text(encoding="utf-8"))):
        if isinstance(node, ast.keyword) and node.arg == "next_step":
            try:
                text = ast.literal_eval(node.value)
            except ValueError:  # built at run time (an f-string): not a fixed answer
                continue
            if isinstance(text, str):
                yield node.value.lineno, text


def test_the_rule_tells_a_method_name_from_an_answer() -> None:
    solution = {"return await asyncio.to_thread(legacy_lookup, key)", "task.cancel()",
                "await conn.close()"}
    assert quoted_solution_lines("Call `task.cancel()` on each.", solution) == []
    assert quoted_solution_lines("Write `await conn.close()`.", solution)
    assert quoted_solution_lines("Write `return await asyncio.to_thread(legacy_lookup, "
                                 "key)`.", solution)
    assert quoted_solution_lines("Start with `return await asyncio.to_thread(`.", solution)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.short_name)
def test_no_next_step_quotes_a_line_of_the_solution(exercise) -> None:  # type: ignore[no-untyped-def]
    solution = _solution_lines(exercise.solution_file.parent)
    literal = [f"line {line}: {text}" for line, text in _next_steps(exercise.suite_file)
               if quoted_solution_lines(text, solution)]
    assert not literal, "next steps that give the answer away (make them a direction, " \
                        "and put the step in the task's last hint):\n" + "\n".join(literal)


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda e: e.short_name)
def test_each_tasks_hints_start_with_a_direction(exercise) -> None:  # type: ignore[no-untyped-def]
    solution = _solution_lines(exercise.solution_file.parent)
    hints = exercise.meta.hints
    assert 2 <= len(hints) <= 6
    first: dict[int, str] = {}
    for hint in hints:
        first.setdefault(hint.task, hint.text)
    literal = {task: quoted_solution_lines(text, solution) for task, text in first.items()}
    assert not any(literal.values()), f"first hints that give the answer away: {literal}"
