"""Finding the student's code on a stack or in a traceback, and naming the place.

Feedback points at the student's line ("fetcher.py:12 in fetch_one"): for a blocking
call, a call of a fake, an exception's traceback, a task's coroutine. Each of those
asks the same two questions, answered here once: is this file the student's, and is
this code the grader's own?
"""

from __future__ import annotations

import ast
import sys
import threading
from functools import lru_cache
from pathlib import Path
from types import FrameType

__all__ = ["GRADER_PACKAGE", "describe_frame", "is_grader_code", "locate_in_student_code",
           "loop_header", "same_file", "student_call", "student_frame"]

GRADER_PACKAGE = Path(__file__).resolve().parents[1]
"""The ``grader`` package folder: code under it is the grader's, never the student's."""

_GRADER_PREFIX = f"{GRADER_PACKAGE}/"
_STARTING_A_THREAD = threading.Thread.start.__code__


@lru_cache(maxsize=1024)
def _resolved(filename: str) -> str:
    try:
        return str(Path(filename).resolve())
    except (OSError, ValueError):  # ValueError: a NUL in a made-up filename
        return filename


def same_file(filename: str, student_file: Path | str) -> bool:
    """Whether ``filename`` (a code object's or a traceback's) is the student's file."""
    return _resolved(filename) == _resolved(str(student_file))


def is_grader_code(filename: str) -> bool:
    """Whether ``filename`` belongs to the grader package itself."""
    return _resolved(filename).startswith(_GRADER_PREFIX)


def describe_frame(frame: FrameType) -> str:
    """'fetcher.py:12 in fetch_one': how feedback names a place in code."""
    code = frame.f_code
    return f"{Path(code.co_filename).name}:{frame.f_lineno} in {code.co_name}"


def student_frame(student_file: Path | str | None,
                  frame: FrameType | None = None) -> FrameType | None:
    """The innermost frame running ``student_file``, walking out from ``frame``.

    ``frame`` defaults to the caller's. Hidden suites use it (through grader.suite) to
    say which line of the student's called a fake; the grader to place violations.
    """
    if student_file is None:
        return None
    frame = frame if frame is not None else sys._getframe(1)
    while frame is not None and not same_file(frame.f_code.co_filename, student_file):
        frame = frame.f_back
    return frame


def locate_in_student_code(student_file: Path | None, skip: int = 2) -> str:
    """'fetcher.py:12 in fetch_one' for the innermost student frame on this stack.

    With no student code on the stack, the first frame outside the grader.
    """
    frame: FrameType | None = sys._getframe(skip)
    found = student_frame(student_file, frame)
    if found is not None:
        return describe_frame(found)
    while frame is not None:
        if not is_grader_code(frame.f_code.co_filename):
            return describe_frame(frame)
        frame = frame.f_back
    return ""


def student_call(student_file: Path | None, skip: int,
                 direct: str) -> tuple[str, str] | None:
    """(student's line, the call it made) when student code is on this stack, else None.

    The call is ``direct`` when the student's frame is the innermost one looked at, else
    the function the student called. None as well inside ``Thread.start``, which waits
    only for the new thread to begin.
    """
    if student_file is None:
        return None
    frame: FrameType | None = sys._getframe(skip)
    callee: FrameType | None = None
    while frame is not None:
        code = frame.f_code
        if code is _STARTING_A_THREAD:
            return None
        if same_file(code.co_filename, student_file):
            where = describe_frame(frame)
            if callee is None:
                return where, direct
            return where, f"{getattr(callee.f_code, 'co_qualname', callee.f_code.co_name)}()"
        frame, callee = frame.f_back, frame
    return None


@lru_cache(maxsize=64)
def _loops(filename: str, size: int) -> tuple[tuple[int, int], ...]:
    """(first line, last line) of every loop in a file, innermost last among nested."""
    try:
        tree = ast.parse(Path(filename).read_bytes())
    except (OSError, SyntaxError, ValueError, RecursionError):
        return ()
    spans = [(node.lineno, node.end_lineno or node.lineno) for node in ast.walk(tree)
             if isinstance(node, ast.For | ast.AsyncFor | ast.While)]
    return tuple(sorted(spans))


def loop_header(filename: str, lineno: int) -> int:
    """The first line of the innermost loop around ``lineno`` (``lineno`` if none).

    A spinning loop stopped from outside (the CPU limit) is caught on whichever of its
    lines was running at that instant, which the machine decides; its header names the
    place the same way every time.
    """
    try:
        size = Path(filename).stat().st_size  # part of the cache key: a re-saved file
    except OSError:
        return lineno
    around = [span for span in _loops(filename, size) if span[0] <= lineno <= span[1]]
    return max(around)[0] if around else lineno
