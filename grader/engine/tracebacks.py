"""Tracebacks trimmed to the student's own file, and syntax errors explained.

A raw traceback through asyncio and pytest internals hides the one line a student can
act on; we keep only frames from their file (relative line numbers intact).
"""

from __future__ import annotations

import traceback
from pathlib import Path

from grader.engine.feedback import Feedback
from grader.engine.frames import same_file

__all__ = ["describe_exception", "explain_syntax_error", "student_frames"]

_SYNTAX_RULES = {
    "'await' outside async function": (
        "`await` can only be used inside a function defined with `async def`.",
        "Make the enclosing function `async def` (and await it where it is called), "
        "or run the coroutine from synchronous code with `asyncio.run(...)`.",
    ),
    "'async with' outside async function": (
        "`async with` only works inside an `async def` function.",
        "Make the enclosing function `async def`.",
    ),
    "'async for' outside async function": (
        "`async for` only works inside an `async def` function.",
        "Make the enclosing function `async def`.",
    ),
    "asynchronous comprehension outside of an asynchronous function": (
        "An `async for` comprehension only works inside an `async def` function.",
        "Make the enclosing function `async def`.",
    ),
    "'yield' outside function": (
        "`yield` turns a function into a generator, so it must be inside a `def`.",
        "Move the `yield` into the generator function's body.",
    ),
}


def explain_syntax_error(exc: SyntaxError, filename: str) -> Feedback:
    """A SyntaxError as a teaching message pointing at the student's line."""
    message = exc.msg or "invalid syntax"
    where = f"{filename}, line {exc.lineno}"
    text = (exc.text or "").rstrip("\n")
    pointer = f"\n    {text.strip()}" if text.strip() else ""
    for pattern, (rule, step) in _SYNTAX_RULES.items():
        if pattern in message:
            return Feedback(f"Syntax error at {where}: {message}.{pointer}", rule, step)
    return Feedback(
        f"Syntax error at {where}: {message}.{pointer}",
        "Python could not parse the file, so none of it ran.",
        "Fix the line shown (and the line above it: the real mistake is often there).",
    )


def student_frames(exc: BaseException, student_file: Path) -> list[traceback.FrameSummary]:
    """The frames of ``exc``'s traceback that belong to the student's file."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if same_file(f.filename, student_file)]


def describe_exception(exc: BaseException, student_file: Path) -> tuple[str, str]:
    """(one-line summary, traceback trimmed to the student's file)."""
    frames = student_frames(exc, student_file)
    name = type(exc).__name__
    summary = f"{name}: {exc}" if str(exc) else name
    if frames:
        last = frames[-1]
        summary += f" (at {student_file.name}, line {last.lineno}, in {last.name})"
    lines = ["Traceback (your code only):"]
    for frame in frames:
        lines.append(f'  File "{student_file.name}", line {frame.lineno}, in {frame.name}')
        if frame.line:
            lines.append(f"    {frame.line}")
    lines.append(summary if not frames else (f"{name}: {exc}" if str(exc) else name))
    return summary, "\n".join(lines) if frames else ""
