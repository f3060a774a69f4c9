"""Making ``time.sleep`` and the ``time`` clocks agree with the virtual clock.

On the loop thread a ``time.sleep`` freezes every task; we record that as a violation
with the student's line and advance the virtual clock by the same amount, so a blocking
solution deterministically "takes" its sleeps and the run still costs microseconds.
Inside an executor job the same call becomes a virtual sleep (the worker waits for the
simulated clock), which is what lets ``asyncio.to_thread(time.sleep, 1)`` be graded.

The clocks (``time.monotonic``, ``perf_counter``, ``time`` and their ``_ns`` forms) read
the virtual clock on a thread running a virtual loop or one of its executor jobs, so a
student who computes a deadline by hand ("deadline = time.monotonic() + 2") is graded
on the same clock as everything else; elsewhere (pytest, the grader) they stay real.

Module globals bound to the real functions (``from time import sleep``) are patched too;
patching only the ``time`` module misses them.
"""

from __future__ import annotations

import asyncio
import sys
import time
import types
from collections.abc import Iterable
from pathlib import Path

from grader.virtual_loop import VirtualClockLoop, current_job

__all__ = ["TimeGuard", "locate_in_student_code"]

_real_sleep = time.sleep
_CLOCKS = ("monotonic", "perf_counter", "time")
_real_clocks = {name: getattr(time, name) for name in _CLOCKS}
_real_clocks_ns = {f"{name}_ns": getattr(time, f"{name}_ns") for name in _CLOCKS}


def _virtual_loop_here() -> VirtualClockLoop | None:
    job = current_job()
    if job is not None:
        return job[0]
    loop = asyncio._get_running_loop()
    return loop if isinstance(loop, VirtualClockLoop) else None


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


class TimeGuard:
    """Replaces ``time.sleep`` and the clocks (everywhere the student could reach them)."""

    def __init__(self, student_file: Path | None) -> None:
        self.student_file = student_file
        self._patched: list[tuple[types.ModuleType, str, object]] = []
        # Virtual readings start from the real reading at install time, so values look
        # like the clock the student knows and never run backwards between checks.
        self._base = {name: clock() for name, clock in _real_clocks.items()}
        self._replacements: dict[str, object] = {"sleep": self.sleep}
        for name in _CLOCKS:
            self._replacements[name] = self._clock(name)
            self._replacements[f"{name}_ns"] = self._clock_ns(name)

    def _clock(self, name: str):  # type: ignore[no-untyped-def]
        real, base = _real_clocks[name], self._base[name]

        def clock() -> float:
            loop = _virtual_loop_here()
            return real() if loop is None else base + loop.time()

        clock.__name__ = name
        return clock

    def _clock_ns(self, name: str):  # type: ignore[no-untyped-def]
        real, base = _real_clocks_ns[f"{name}_ns"], self._base[name]

        def clock_ns() -> int:
            loop = _virtual_loop_here()
            return real() if loop is None else int((base + loop.time()) * 1e9)

        clock_ns.__name__ = f"{name}_ns"
        return clock_ns

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
        originals = {"sleep": _real_sleep, **_real_clocks, **_real_clocks_ns}
        by_identity = {id(func): name for name, func in originals.items()}
        targets = [(time, name, func) for name, func in originals.items()]
        for module in modules:
            for attr, value in list(vars(module).items()):
                if id(value) in by_identity and value is originals[by_identity[id(value)]]:
                    targets.append((module, attr, value))
        for module, attr, original in targets:
            name = by_identity[id(original)]
            setattr(module, attr, self._replacements[name])
            self._patched.append((module, attr, original))

    def uninstall(self) -> None:
        for module, attr, original in reversed(self._patched):
            setattr(module, attr, original)
        self._patched.clear()
