"""Making ``time.sleep`` visible to the virtual clock.

On the loop thread a ``time.sleep`` freezes every task; we record that as a violation
with the student's line and advance the virtual clock by the same amount, so a blocking
solution deterministically "takes" its sleeps and the run still costs microseconds.
Inside an executor job the same call becomes a virtual sleep (the worker waits for the
simulated clock), which is what lets ``asyncio.to_thread(time.sleep, 1)`` be graded.

Module globals bound to the real function (``from time import sleep``) are patched too;
patching only ``time.sleep`` misses them.
"""

from __future__ import annotations

import asyncio
import sys
import time
import types
from collections.abc import Iterable
from pathlib import Path

from grader.virtual_loop import VirtualClockLoop, current_job

__all__ = ["SleepGuard", "locate_in_student_code"]

_real_sleep = time.sleep


def locate_in_student_code(student_file: Path | None, skip: int = 2) -> str:
    """'fetcher.py:12 in fetch_one' for the innermost student frame on this stack."""
    frame = sys._getframe(skip)
    wanted = str(student_file.resolve()) if student_file else None
    first_outside: str = ""
    while frame is not None:
        code = frame.f_code
        if wanted and _resolve(code.co_filename) == wanted:
            return f"{Path(code.co_filename).name}:{frame.f_lineno} in {code.co_name}"
        if not first_outside and "/grader/" not in code.co_filename.replace("\\", "/"):
            first_outside = f"{Path(code.co_filename).name}:{frame.f_lineno} in {code.co_name}"
        frame = frame.f_back
    return first_outside


def _resolve(filename: str) -> str:
    try:
        return str(Path(filename).resolve())
    except OSError:
        return filename


class SleepGuard:
    """Replaces ``time.sleep`` (everywhere the student could reach it) while installed."""

    def __init__(self, student_file: Path | None) -> None:
        self.student_file = student_file
        self._patched: list[tuple[types.ModuleType, str]] = []

    def sleep(self, seconds: float) -> None:
        job = current_job()
        if job is not None:
            loop, running_job = job
            loop.sleep_in_job(running_job, seconds)
            return
        loop = asyncio._get_running_loop()
        if isinstance(loop, VirtualClockLoop):
            loop.record_sleep_violation(float(seconds), locate_in_student_code(self.student_file))
            return
        _real_sleep(seconds)

    def install(self, modules: Iterable[types.ModuleType] = ()) -> None:
        targets = [(time, "sleep")]
        for module in modules:
            for name, value in list(vars(module).items()):
                if value is _real_sleep:
                    targets.append((module, name))
        for module, name in targets:
            setattr(module, name, self.sleep)
            self._patched.append((module, name))

    def uninstall(self) -> None:
        for module, name in self._patched:
            setattr(module, name, _real_sleep)
        self._patched.clear()
