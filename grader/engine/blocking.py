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
On the loop's thread that clock includes the CPU the running step has used (in whole
quanta, :data:`grader.engine.virtual_loop.CPU_QUANTUM`), so a loop that yields "every 5 ms"
by ``time.perf_counter()`` does yield, inside the blocking budget.

Module globals bound to the real functions (``from time import sleep``) are patched too;
patching only the ``time`` module misses them.

Waiting for another thread on the loop's thread (``future.result()``, ``thread.join()``,
``event.wait()``, ``queue.get()``: everything built on ``threading.Condition.wait`` or
``Thread.join``) freezes the loop just as ``time.sleep`` does, but the time it costs is
the other thread's. While student code waits like that, the other threads' sleeps move
the virtual clock (they could not overlap anything on the frozen loop), and the time
the loop stood still is recorded as a "wait" violation at the student's line.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import math
import threading
import time
import types
from _thread import allocate_lock as _allocate_lock
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from grader.engine import asyncio_internals as internals
from grader.engine.frames import (
    describe_frame,
    locate_in_student_code,
    student_call,
    student_frame,
)
from grader.engine.virtual_loop import WAIT_SLICE, LoopThreadStuck, VirtualClockLoop, current_job

__all__ = ["TimeGuard", "describe_frame", "locate_in_student_code", "loop_runs_here",
           "student_frame"]

_real_sleep = time.sleep
_CLOCKS = ("monotonic", "perf_counter", "time")
_real_clocks = {name: getattr(time, name) for name in _CLOCKS}
_real_clocks_ns = {f"{name}_ns": getattr(time, f"{name}_ns") for name in _CLOCKS}
_real_monotonic = time.monotonic
_real_condition_wait = threading.Condition.wait
_real_thread_join = threading.Thread.join
_real_pool_submit = concurrent.futures.ThreadPoolExecutor.submit


def _virtual_loop_here() -> VirtualClockLoop | None:
    job = current_job()
    if job is not None:
        return job[0]
    loop = internals.running_loop()
    return loop if isinstance(loop, VirtualClockLoop) else None






def loop_runs_here() -> bool:
    """Whether this thread is running an event loop right now (the loop's own thread)."""
    return internals.running_loop() is not None






def _sliced_condition_wait(condition: threading.Condition, timeout: float | None,
                           loop: VirtualClockLoop, where: str, call: str) -> bool:
    """``Condition.wait`` in slices, moving the frozen loop's clock between them.

    It follows ``threading.Condition.wait`` but keeps one waiter for the whole wait:
    waiting again after a timed-out slice would lose a notify that came as the slice
    ended (the notifier takes the old waiter off the list), and callers such as
    ``Future.result`` wait only once. The condition's lock is free between slices.
    """
    if not internals.condition_owned(condition):
        raise RuntimeError("cannot wait on un-acquired lock")
    waiter = _allocate_lock()
    waiter.acquire()
    internals.add_condition_waiter(condition, waiter)
    saved_state = internals.release_condition(condition)
    deadline = None if timeout is None else _real_monotonic() + timeout
    gotit = False
    try:
        while True:
            slice_ = _next_slice(deadline)
            if slice_ > 0 and waiter.acquire(True, slice_):
                gotit = True
                return True
            loop.drive_frozen()
            stuck = loop.nothing_could_end_a_wait()
            # A notifier that has just finished released the waiter before it left.
            if waiter.acquire(False):
                gotit = True
                return True
            if slice_ <= 0:
                return False
            if stuck:
                if timeout is None:
                    raise LoopThreadStuck(where, call)
                loop.wait_out_frozen(timeout)  # like time.sleep(timeout) on the loop
                return False
    finally:
        internals.reacquire_condition(condition, saved_state)
        if not gotit:  # a notify may have taken it while the lock was being retaken
            with contextlib.suppress(ValueError):
                internals.remove_condition_waiter(condition, waiter)


def _next_slice(deadline: float | None) -> float:
    """Real seconds to wait before the frozen loop looks at its clock and jobs again."""
    return WAIT_SLICE if deadline is None else min(WAIT_SLICE, deadline - _real_monotonic())


@functools.lru_cache(maxsize=256)


class TimeGuard:
    """Replaces ``time.sleep`` and the clocks (everywhere the student could reach them)."""

    def __init__(self, student_file: Path | None,
                 simulation_loop: Callable[[], VirtualClockLoop | None] = lambda: None) -> None:
        self.student_file = student_file
        self._simulation_loop = simulation_loop
        self._patched: list[tuple[Any, str, object]] = []
        # Virtual readings start from the real reading at install time, rounded up to a
        # whole second, so values look like the clock the student knows and never run
        # backwards from a real reading. Whole seconds: base + t then rounds the same
        # way in every run, so a deadline loop ("while time.monotonic() < deadline")
        # that meets its deadline exactly, as the CPU-charged clock can, ends after the
        # same quantum every time.
        self._base = {name: float(math.ceil(clock())) for name, clock in _real_clocks.items()}
        self._replacements: dict[str, object] = {"sleep": self.sleep}
        for name in _CLOCKS:
            self._replacements[name] = self._clock(name)
            self._replacements[f"{name}_ns"] = self._clock_ns(name)

    def _clock(self, name: str) -> Callable[[], float]:
        real, base = _real_clocks[name], self._base[name]

        def clock() -> float:
            loop = _virtual_loop_here()
            return real() if loop is None else base + loop.time()

        clock.__name__ = name
        return clock

    def _clock_ns(self, name: str) -> Callable[[], int]:
        real, base = _real_clocks_ns[f"{name}_ns"], self._base[name]

        def clock_ns() -> int:
            loop = _virtual_loop_here()
            return real() if loop is None else int((base + loop.time()) * 1e9)

        clock_ns.__name__ = f"{name}_ns"
        return clock_ns

    def sleep(self, seconds: float) -> None:
        job = current_job()
        if job is not None:
            job_loop, running_job = job
            job_loop.sleep_in_job(running_job, seconds)
            return
        running = internals.running_loop()
        if isinstance(running, VirtualClockLoop):
            running.record_sleep_violation(float(seconds),
                                           locate_in_student_code(self.student_file))
            return
        loop = self._simulation_loop()
        if loop is not None and not loop.is_closed():
            loop.sleep_outside(float(seconds))  # a thread the loop does not know of
            return
        _real_sleep(seconds)

    def _blocked_loop(self, direct: str) -> tuple[VirtualClockLoop, str, str] | None:
        """The running loop, when student code is about to block its thread in a wait.

        ``direct`` names the wait when the student called it directly; otherwise it is
        named after the call the student made (``Future.result()``, ``Queue.get()``).
        """
        loop = internals.running_loop()
        if not isinstance(loop, VirtualClockLoop) or loop.is_closed():
            return None
        # Frames: student_call, this, condition_wait/thread_join, the patched method.
        call = student_call(self.student_file, skip=4, direct=direct)
        return None if call is None else (loop, *call)

    def condition_wait(self, condition: threading.Condition, timeout: float | None = None) -> bool:
        if timeout is not None and timeout <= 0:  # a poll, never a wait
            return _real_condition_wait(condition, timeout)
        blocked = self._blocked_loop("Condition.wait()")
        if blocked is None:
            return _real_condition_wait(condition, timeout)
        loop, where, call = blocked
        with loop.frozen(where, call):
            return _sliced_condition_wait(condition, timeout, loop, where, call)

    def thread_join(self, thread: threading.Thread, timeout: float | None = None) -> None:
        blocked = self._blocked_loop("Thread.join()") if thread.is_alive() else None
        if blocked is None:
            return _real_thread_join(thread, timeout)
        loop, where, call = blocked
        deadline = None if timeout is None else _real_monotonic() + timeout
        with loop.frozen(where, call):
            while thread.is_alive():
                slice_ = _next_slice(deadline)
                if slice_ <= 0:
                    return None
                _real_thread_join(thread, slice_)
                loop.drive_frozen()
        return None

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
        guard = self

        def wait(condition: threading.Condition, timeout: float | None = None) -> bool:
            return guard.condition_wait(condition, timeout)

        def join(thread: threading.Thread, timeout: float | None = None) -> None:
            return guard.thread_join(thread, timeout)

        def submit(pool: concurrent.futures.ThreadPoolExecutor, fn: Callable[..., Any], /,
                   *args: Any, **kwargs: Any) -> concurrent.futures.Future:
            loop = internals.running_loop()
            if not isinstance(loop, VirtualClockLoop) or loop.is_closed():
                return _real_pool_submit(pool, fn, *args, **kwargs)
            return loop.submit_job(pool, fn, args, kwargs, _real_pool_submit)

        for owner, attr, replacement in ((threading.Condition, "wait", wait),
                                         (threading.Thread, "join", join),
                                         (concurrent.futures.ThreadPoolExecutor, "submit",
                                          submit)):
            self._patched.append((owner, attr, vars(owner)[attr]))
            setattr(owner, attr, replacement)

    def uninstall(self) -> None:
        for module, attr, original in reversed(self._patched):
            setattr(module, attr, original)
        self._patched.clear()
