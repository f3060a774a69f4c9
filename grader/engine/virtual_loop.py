"""An asyncio event loop whose clock is simulated, so timing verdicts never depend on load.

Why a custom loop rather than measuring real time: on a busy machine a correct solution
can take twice its nominal time, and a check that simulates 3 s of I/O would cost 3 real
seconds. Here ``loop.time()`` is virtual. Whenever nothing is ready to run and no
executor job is doing real work, the clock jumps straight to the next timer, so
``asyncio.sleep(1.0)`` costs microseconds and always "takes" exactly 1.0 s.

Blocking is detected explicitly instead of inferred from slowness:

* every callback is charged its *thread CPU time* (``time.thread_time``), which stays
  flat under load where wall-clock time does not; a step over the budget is recorded
  as a :class:`Violation`;
* that same CPU time moves the clock: the loop really was busy for it. During a step,
  ``loop.time()`` (and the ``time`` clocks, :mod:`grader.engine.blocking`) read on the loop's
  thread include the CPU the step has used so far, and the step's whole cost is added
  when it ends, so code that paces itself by the clock ("yield once 5 ms have passed")
  works as it would for real, and a poll with a deadline (``wait(timeout=0)``) ends.
  The cost is counted in whole :data:`CPU_QUANTUM` units, rounded down: an ordinary
  step (microseconds) moves nothing, so timelines stay exact and identical from run to
  run, while a long stretch of CPU work moves the clock by what it measured. Garbage
  collections are left out of a step's cost, and a step stopped from outside (the CPU
  limit) charges nothing: neither is a measure of the student's code;
* ``time.sleep`` is patched by :mod:`grader.engine.blocking`; on the loop thread it records a
  violation and advances the virtual clock by the requested amount (the loop really was
  frozen for that long in the student's model of the world).

Executor jobs are accounted for so the clock never jumps while a worker thread could
still hand back a result "now": a job counts as busy from submission until its result
has been delivered to the loop, except while it sleeps virtually (``time.sleep`` inside
a job waits for the virtual clock) or waits for a free worker in a pool whose workers
are all asleep, or waits for a coroutine it handed to the loop itself
(``asyncio.run_coroutine_threadsafe``). The exceptions are decided from counts, never
from real time.

This module leans on private asyncio internals (``_run_once``, ``_ready``,
``_scheduled``, ``_call_soon``, ``TimerHandle._when``, ...), all reached through
:mod:`grader.engine.asyncio_internals`, whose docstring lists each one; CI runs the engine tests
on every supported Python for that reason.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import contextvars
import functools
import gc
import heapq
import itertools
import os
import threading
import time
from asyncio import events
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, TypeVarTuple

from grader.engine import asyncio_internals as internals
from grader.engine.exceptions import LoopThreadStuck, SimulationDeadlock
from grader.engine.frames import is_grader_code

__all__ = ["LoopThreadStuck", "SimulationDeadlock", "Violation", "VirtualClockLoop"]

DEFAULT_CPU_BUDGET = 0.05
"""Thread CPU seconds one callback may use before it counts as blocking the loop."""

CPU_QUANTUM = 0.005
"""Thread CPU seconds per unit by which a loop step's CPU moves the clock (rounded down).

Coarse enough that a step's ordinary cost (microseconds, a millisecond for a big
gather) never reaches it, busy machine or not, so verdicts and timelines are identical
from run to run; fine enough against the 50 ms budget that a loop pacing itself every
few milliseconds of clock time yields well inside it.
"""

DEADLOCK_GRACE = 1.0
"""Real seconds the loop waits for outside events when nothing at all is scheduled."""

WAIT_SLICE = 0.005
"""Real seconds between two looks at the clock while the loop's thread is blocked."""

_real_thread_time = time.thread_time
_real_sleep = time.sleep
_real_monotonic = time.monotonic
_job_of_thread = threading.local()

_T = TypeVar("_T")
_Ts = TypeVarTuple("_Ts")


@dataclass(frozen=True)
class Violation:
    """One way student code froze the event loop, with where it happened."""

    kind: str  # "sleep", "cpu", or "wait" (for another thread, e.g. Future.result())
    seconds: float
    at: float  # virtual time when it happened
    where: str  # "fetcher.py:12 in fetch_one" or a task's coroutine name
    detail: str = ""  # for "wait": the call that waited, e.g. "Future.result()"


@dataclass
class _Job:
    executor: concurrent.futures.Executor | None
    state: str = "queued"  # queued -> running <-> sleeping -> finished
    real_work: bool = True  # False for jobs we cannot see inside (process pools)
    awaiting_loop: int = 0  # coroutines it handed to the loop whose results are pending


@dataclass
class _Freeze:
    """The loop's own thread is blocked waiting for another thread (join, result...)."""

    started: float  # virtual time when the wait began
    where: str
    call: str
    thread_clocks: dict[int, float] = field(default_factory=dict)


@dataclass(order=True)
class _Sleeper:
    wake_at: float
    seq: int
    job: _Job = field(compare=False)
    event: threading.Event = field(compare=False)


_gc_cpu: dict[int, float] = {}  # thread id -> thread CPU seconds spent collecting garbage
_gc_started: dict[int, float] = {}


def _note_gc(phase: str, _info: dict[str, Any]) -> None:
    """gc callback: the collector's CPU, per thread, to leave out of a step's cost.

    A collection runs in whichever step happens to allocate past a threshold, and how
    long it takes depends on everything alive in the process (worker threads'
    allocations included), so it says nothing about the student's step.
    """
    ident = threading.get_ident()
    if phase == "start":
        _gc_started[ident] = _real_thread_time()
    elif (began := _gc_started.pop(ident, None)) is not None:
        _gc_cpu[ident] = _gc_cpu.get(ident, 0.0) + _real_thread_time() - began


_gc_watchers = 0  # open VirtualClockLoops: the callback is installed only while any is
_gc_watch_lock = threading.Lock()


def _watch_gc(more: int) -> None:
    """Install the gc callback while loops are open, and only then.

    A Python-level gc callback lets other threads run in the middle of any allocation,
    which some C code does not expect (Python 3.11's ``ast.parse`` from several threads
    fails with "AST constructor recursion depth mismatch"); the grading parent, which
    screens sources in threads, never opens a loop.
    """
    global _gc_watchers
    with _gc_watch_lock:
        _gc_watchers += more
        installed = _note_gc in gc.callbacks
        if _gc_watchers > 0 and not installed:
            gc.callbacks.append(_note_gc)
        elif _gc_watchers <= 0 and installed:
            gc.callbacks.remove(_note_gc)
            _gc_started.clear()


def _step_cpu() -> float:
    """This thread's CPU time, less what the garbage collector used of it."""
    return _real_thread_time() - _gc_cpu.get(threading.get_ident(), 0.0)


def cpu_charge(seconds: float) -> float:
    """The clock time ``seconds`` of loop-thread CPU are worth: whole quanta, rounded down."""
    return (seconds // CPU_QUANTUM) * CPU_QUANTUM if seconds > 0 else 0.0


class VirtualClockLoop(internals.SteppedLoop):
    """A selector loop with a simulated clock and a record of blocking violations."""

    def __init__(
        self,
        *,
        cpu_budget: float = DEFAULT_CPU_BUDGET,
        deadlock_grace: float = DEADLOCK_GRACE,
        describe_location: Callable[[], str] | None = None,
    ) -> None:
        super().__init__()
        self.cpu_budget = cpu_budget
        self.deadlock_grace = deadlock_grace
        self.violations: list[Violation] = []
        self._describe_location = describe_location or (lambda: "")
        self._now = 0.0
        self._state_lock = threading.Lock()
        self._jobs: list[_Job] = []
        self._sleepers: list[_Sleeper] = []
        self._seq = itertools.count()
        self._numbers = itertools.count(1)  # tasks and futures, in order of creation
        self._watchdogs: set[asyncio.TimerHandle] = set()
        self._freeze: _Freeze | None = None
        self._step_cpu_start: float | None = None  # thread CPU when the running step began
        self._watching_gc = True
        _watch_gc(+1)
        # A roomy default pool: jobs rarely wait for a worker, and when they do the
        # capacity rule in _jobs_idle() keeps the clock honest.
        self.set_default_executor(
            concurrent.futures.ThreadPoolExecutor(max_workers=64, thread_name_prefix="sim-worker")
        )

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._watching_gc:
                self._watching_gc = False
                _watch_gc(-1)

    # -- the clock ---------------------------------------------------------------------

    def time(self) -> float:
        """Virtual now; on the loop's thread, plus the CPU the running step has used."""
        start = self._step_cpu_start
        if start is None or threading.get_ident() != internals.loop_thread_id(self):
            return self._now
        return self._now + cpu_charge(_step_cpu() - start)

    def advance(self, seconds: float) -> None:
        """Move the clock forward, as if the loop thread had been frozen for ``seconds``."""
        if seconds > 0:
            with self._state_lock:
                self._now += seconds

    def _run_step(self, handle: events.Handle, run: Callable[[], None]) -> None:
        """Run one callback, charging its thread CPU time to the loop (budget and clock)."""
        start = self._step_cpu_start = _step_cpu()
        try:
            run()
        finally:
            cost = _step_cpu() - start
            self._step_cpu_start = None
            self._charge_step(internals.handle_callback(handle), cost,
                              counts=not handle.cancelled())

    def call_watchdog_at(self, when: float, callback: Callable[[], None]) -> asyncio.TimerHandle:
        """A timer that only limits a run: it never counts as something a task waits for.

        Without the distinction, a run whose tasks all wait forever would jump to the
        limit and be reported as "still running" instead of as a deadlock.
        """
        handle = self.call_at(when, callback)
        self._watchdogs.add(handle)
        return handle

    def _before_iteration(self) -> None:
        """Before an iteration may wait: jump the clock, or suspect a deadlock."""
        deadlock_suspected = False
        with self._state_lock:
            if not internals.has_ready_callbacks(self) and self._jobs_idle():
                timer = internals.next_timer_when(self)
                sleeper = self._sleepers[0].wake_at if self._sleepers else None
                candidates = [t for t in (timer, sleeper) if t is not None]
                scheduled = internals.scheduled_timers(self)
                only_watchdogs = sleeper is None and all(
                    h in self._watchdogs or h.cancelled() for h in scheduled
                )
                if candidates and only_watchdogs and not self._jobs and scheduled:
                    deadlock_suspected = True
                elif candidates:
                    self._now = max(self._now, min(candidates))
                    self._wake_due_sleepers()
                elif not self._jobs:
                    deadlock_suspected = True
        if deadlock_suspected:
            self._wait_for_outside_event()

    def _wait_for_outside_event(self) -> None:
        """Nothing can wake a task from inside: give outside threads a real grace period.

        The grace is real time, paid by every check that deadlocks; when nothing outside
        the loop's own thread could ever deliver an event, the verdict is certain at once.
        """
        grace = self.deadlock_grace if self._outside_wakers_possible() else 0.0
        if not internals.wait_for_io(self, grace):
            raise SimulationDeadlock(
                "every task is waiting and nothing is scheduled that could wake one"
            )

    def _outside_wakers_possible(self) -> bool:
        """Could a thread, a process or a signal still wake this loop?

        Idle workers of the loop's own default pool cannot: every job they run is
        submitted through run_in_executor and counted, and none is pending here.
        """
        if internals.has_signal_handlers(self) or internals.watches_foreign_fds(self):
            return True
        return self._other_threads_alive()

    def _other_threads_alive(self) -> bool:
        """Any thread but this one, idle workers of the loop's own default pool aside."""
        idle = {threading.current_thread(),
                *internals.pool_threads(internals.default_executor(self))}
        if any(thread not in idle for thread in threading.enumerate()):
            return True
        return _os_thread_count() > threading.active_count()

    # -- tasks and futures ---------------------------------------------------------------

    def create_task(self, coro: Any, **kwargs: Any) -> asyncio.Task[Any]:
        """A task whose hash follows its creation, not its memory address.

        A set of tasks (``asyncio.wait``'s ``done``, a TaskGroup's) iterates in hash
        order, and an object's default hash is its address: in a grading child forked
        from a sandbox process that has served earlier gradings, addresses differ from
        run to run, so code that relies on a set's order could pass one run and fail the
        next. Numbered, the order is the same every run, and still not creation order
        (:func:`_scrambled`), so that mistake is caught every time. A task factory the
        student installs is used as it is.
        """
        if self.get_task_factory() is not None:
            return super().create_task(coro, **kwargs)
        internals.check_open(self)
        return _NumberedTask(coro, loop=self, number=next(self._numbers), **kwargs)

    def create_future(self) -> asyncio.Future[Any]:
        return _NumberedFuture(loop=self, number=next(self._numbers))

    # -- executor jobs -----------------------------------------------------------------

    def run_in_executor(self, executor: concurrent.futures.Executor | None,
                        func: Callable[[*_Ts], _T], *args: *_Ts
                        ) -> asyncio.Future[_T]:
        internals.check_open(self)
        is_thread_pool = executor is None or isinstance(
            executor, concurrent.futures.ThreadPoolExecutor
        )
        job = _Job(executor=executor, real_work=True)
        with self._state_lock:
            self._jobs.append(job)
        future: asyncio.Future[_T]
        if is_thread_pool:
            future = super().run_in_executor(executor, _JobCall(self, job, func, args))
        else:
            future = super().run_in_executor(executor, func, *args)
        future.add_done_callback(lambda _f: self._forget_job(job))
        return future

    async def shutdown_default_executor(self, timeout: float | None = None) -> None:
        """Join the default pool without a timeout, counting the join as real work.

        The base class joins on a plain thread under ``asyncio.timeout(timeout)`` (3.12+);
        on this loop that timeout would be virtual and expire at once, since the clock
        jumps while no job it knows of is running.
        """
        job = _Job(executor=None, state="running")
        with self._state_lock:
            self._jobs.append(job)
        try:
            await super().shutdown_default_executor()
        finally:
            self._forget_job(job)

    def call_soon_threadsafe(self, callback: Callable[[*_Ts], object], *args: *_Ts,
                             context: contextvars.Context | None = None) -> asyncio.Handle:
        # Before the callback is queued: no other thread has seen its future yet.
        self._note_coroutine_from_job(callback)
        return super().call_soon_threadsafe(callback, *args, context=context)

    def _note_coroutine_from_job(self, callback: Callable[..., Any]) -> None:
        """An executor job blocked on a coroutine it handed to this loop waits for the loop.

        ``asyncio.run_coroutine_threadsafe`` schedules its callback with
        ``call_soon_threadsafe`` and returns a future the job usually waits on with
        ``.result()``. Counted as real work while it blocks there, the job would hold
        the clock while the coroutine sleeps on it: neither could ever finish. So while
        a thread blocks on that future (``result``, ``exception``,
        ``concurrent.futures.wait``, ``as_completed``) and it is not done, the job counts
        as waiting, like a job asleep on the virtual clock. Between handing the coroutine
        over and blocking, and from the answer on, the job works and holds the clock: a
        job that only polls (``result(timeout=0)``) sees the coroutine as far as the
        clock had got when it handed it over.
        """
        running = current_job()
        if running is None or running[0] is not self:
            return
        future = internals.threadsafe_result_future(callback)
        if future is None:
            return
        job = running[1]
        blocked = 0  # threads blocking on the future now
        answered = False

        def report(change: int) -> None:
            nonlocal blocked
            with self._state_lock:
                was_waiting = blocked > 0 and not answered
                blocked += change
                waiting = blocked > 0 and not answered
                job.awaiting_loop += waiting - was_waiting
            if waiting and not was_waiting:
                internals.wake_loop(self)  # the clock may move now

        def done(_future: concurrent.futures.Future) -> None:
            nonlocal answered
            with self._state_lock:
                if blocked > 0 and not answered:
                    job.awaiting_loop -= 1
                answered = True

        internals.report_blocking_waits(future, report)
        future.add_done_callback(done)

    def _forget_job(self, job: _Job) -> None:
        with self._state_lock:
            if job in self._jobs:
                self._jobs.remove(job)

    def submit_job(self, pool: concurrent.futures.ThreadPoolExecutor, fn: Callable[..., Any],
                   args: tuple, kwargs: dict[str, Any],
                   real_submit: Callable[..., concurrent.futures.Future]
                   ) -> concurrent.futures.Future:
        """``pool.submit(...)`` called on the loop's thread: a job the clock waits for.

        run_in_executor forgets a job when its asyncio future is done, on the loop. A
        raw future may be awaited through ``asyncio.wrap_future`` (whose callback is
        added later), waited for with ``.result()``, or never looked at, so the job is
        forgotten from the loop only after every callback of the future has run: the
        result, if anyone wanted it, has reached the loop's queue before the clock may
        jump past it.
        """
        if isinstance(fn, _JobCall):  # from run_in_executor, which counts its own jobs
            return real_submit(pool, fn, *args, **kwargs)
        job = _Job(executor=pool)
        with self._state_lock:
            self._jobs.append(job)
        try:
            call = functools.partial(fn, *args, **kwargs)
            future = real_submit(pool, _JobCall(self, job, call, ()))
        except BaseException:
            self._forget_job(job)
            raise

        def forget(done: concurrent.futures.Future) -> None:
            on_loop_thread = threading.get_ident() == internals.loop_thread_id(self)
            # Run again once the later callbacks (wrap_future's...) have run.
            if not on_loop_thread and internals.run_again_after_later_callbacks(done, forget):
                return
            if self.is_closed():
                self._forget_job(job)
            else:
                self.call_soon_threadsafe(self._forget_job, job)

        future.add_done_callback(forget)
        return future

    def _jobs_idle(self, loop_frozen: bool = False) -> bool:
        """True when no executor job can produce anything without the clock moving.

        A finished job's result is on its way to the loop, so it holds the clock, unless
        the loop's thread is frozen in a wait: then nothing reaches the loop anyway, and
        the job's worker is free for the next one.
        """
        holding = ("running", "sleeping") if loop_frozen else ("running", "sleeping", "finished")
        started: dict[int, int] = {}
        for job in self._jobs:
            if job.state in holding:
                started[id(job.executor)] = started.get(id(job.executor), 0) + 1
        for job in self._jobs:
            if job.state == "sleeping" or (loop_frozen and job.state == "finished"):
                continue
            if job.state == "running" and job.awaiting_loop:
                continue  # waiting for a coroutine it handed to this loop
            if job.state == "queued" and self._pool_full(job.executor, started):
                continue
            return False
        return True

    def _pool_full(self, executor: Any, started: dict[int, int]) -> bool:
        pool = executor if executor is not None else internals.default_executor(self)
        capacity = internals.pool_capacity(pool)
        if capacity is None:
            return False
        return started.get(id(executor), 0) >= capacity

    def _wake_due_sleepers(self) -> None:
        while self._sleepers and self._sleepers[0].wake_at <= self._now:
            sleeper = heapq.heappop(self._sleepers)
            sleeper.job.state = "running"
            sleeper.event.set()

    def sleep_in_job(self, job: _Job, seconds: float) -> None:
        """Called on a worker thread: block it until the virtual clock has moved on."""
        event = threading.Event()
        with self._state_lock:
            job.state = "sleeping"
            heapq.heappush(
                self._sleepers, _Sleeper(self._now + max(seconds, 0.0), next(self._seq), job, event)
            )
        internals.wake_loop(self)
        while not event.wait(0.5):
            if self.is_closed():
                return

    # -- the loop's thread blocked by a wait on another thread ---------------------------

    @contextlib.contextmanager
    def frozen(self, where: str, call: str) -> Iterator[None]:
        """The loop's thread waits for another thread: the loop is frozen meanwhile.

        Nothing can happen on the loop until the wait ends, so the other threads' sleeps
        move the clock directly (see sleep_outside and drive_frozen). If the clock moved,
        the wait blocked the loop for that long: a "wait" violation at the student's line.
        """
        with self._state_lock:
            outer = self._freeze is not None
            if not outer:
                self._freeze = _Freeze(self._now, where, call)
        try:
            yield
        finally:
            if not outer:
                with self._state_lock:
                    freeze, self._freeze = self._freeze, None
                assert freeze is not None
                frozen_for = self._now - freeze.started
                if frozen_for > 1e-9:
                    self.violations.append(
                        Violation("wait", frozen_for, freeze.started, where, detail=call))

    def drive_frozen(self) -> None:
        """From the blocked loop thread: move the clock on for executor jobs asleep on it."""
        with self._state_lock:
            if self._sleepers and self._jobs_idle(loop_frozen=True):
                self._now = max(self._now, self._sleepers[0].wake_at)
                self._wake_due_sleepers()

    def wait_out_frozen(self, seconds: float) -> None:
        """From the blocked loop thread: a timed wait nobody can end lasts its timeout."""
        with self._state_lock:
            if self._freeze is not None:
                self._now = max(self._now, self._freeze.started + max(seconds, 0.0))

    def nothing_could_end_a_wait(self) -> bool:
        """From the blocked loop thread: no job and no other thread exists to end its wait."""
        with self._state_lock:
            if self._jobs:
                return False
        return not self._other_threads_alive()

    def sleep_outside(self, seconds: float) -> None:
        """``time.sleep`` on a thread the loop does not know (neither a job nor its own).

        While the loop runs, the sleep is real: the loop cannot tell when such a thread
        will call back. Once the loop's thread is blocked waiting, nothing else can happen
        on the loop, so the sleep ends at once and moves the clock. Each thread keeps its
        own timeline, so two threads sleeping side by side overlap as they would for real.
        """
        ident = threading.get_ident()
        started = self._now
        began_frozen = self._freeze is not None
        deadline = _real_monotonic() + seconds
        while True:
            with self._state_lock:
                freeze = self._freeze
                if freeze is not None:
                    begin = freeze.thread_clocks.get(
                        ident, freeze.started if began_frozen else started)
                    end = begin + max(seconds, 0.0)
                    freeze.thread_clocks[ident] = end
                    self._now = max(self._now, end)
                    return
            remaining = deadline - _real_monotonic()
            if remaining <= 0 or self.is_closed():
                return
            _real_sleep(min(remaining, WAIT_SLICE))

    # -- violations --------------------------------------------------------------------

    def record_sleep_violation(self, seconds: float, where: str) -> None:
        self.violations.append(Violation("sleep", seconds, self._now, where))
        self.advance(seconds)

    def _charge_step(self, callback: Any, cost: float, *, counts: bool = True) -> None:
        """A step has ended: its CPU moves the clock, and over the budget it is a violation.

        The violation is placed where the step began, the clock moves past it after.
        """
        if counts and cost > self.cpu_budget:
            self._record_cpu_violation(callback, cost)
        # A step cut off from outside (the CPU limit, pytest-timeout) ended at a moment
        # that depends on load, not on the code: its CPU is no measure of the code.
        charge = 0.0 if _stopped_from_outside(callback) else cpu_charge(cost)
        if charge:
            with self._state_lock:
                self._now += charge

    def _record_cpu_violation(self, callback: Any, cost: float) -> None:
        owner = getattr(callback, "__self__", None)
        where = _describe_callback_owner(owner) or getattr(callback, "__qualname__", "a callback")
        self.violations.append(Violation("cpu", cost, self._now, where))


def _scrambled(number: int) -> int:
    """A hash for the ``number``-th task or future: fixed, unique, and not in order.

    Sets place small integers in order; multiplied by an odd constant modulo 2**61, the
    low bits sets use are a permutation of the numbers', the same on every run.
    """
    return (number * 0x9E3779B97F4A7C15) & ((1 << 61) - 1)


class _NumberedTask(asyncio.Task):
    """An ``asyncio.Task`` hashed by its number on its loop (see ``create_task``)."""

    def __init__(self, coro: Any, *, number: int, **kwargs: Any) -> None:
        self._hash = _scrambled(number)  # before __init__, which adds it to a set
        super().__init__(coro, **kwargs)

    def __hash__(self) -> int:
        return self._hash


class _NumberedFuture(asyncio.Future):
    """An ``asyncio.Future`` hashed by its number on its loop (see ``create_task``)."""

    def __init__(self, *, number: int, **kwargs: Any) -> None:
        self._hash = _scrambled(number)
        super().__init__(**kwargs)

    def __hash__(self) -> int:
        return self._hash


# Named as what they stand for: feedback, reprs and suites that look at a value's type
# name see "Task" and "Future", as they would on any other loop.
_NumberedTask.__name__ = _NumberedTask.__qualname__ = "Task"
_NumberedFuture.__name__ = _NumberedFuture.__qualname__ = "Future"


class _JobCall(Generic[_T]):
    """Runs one executor job on a worker thread, marking the thread as simulated."""

    def __init__(self, loop: VirtualClockLoop, job: _Job, func: Callable[..., _T],
                 args: tuple[Any, ...]) -> None:
        self.loop, self.job, self.func, self.args = loop, job, func, args

    def __call__(self) -> _T:
        with self.loop._state_lock:
            self.job.state = "running"
        _job_of_thread.current = (self.loop, self.job)
        try:
            return self.func(*self.args)
        finally:
            _job_of_thread.current = None
            with self.loop._state_lock:
                self.job.state = "finished"


def _stopped_from_outside(callback: Any) -> bool:
    """Did this step end its task with a BaseException that is not an Exception?

    Student code raises Exceptions; the grader's stops (the CPU limit, a real-time
    limit, LoopThreadStuck) are BaseExceptions, set on the task by its step.
    """
    owner = getattr(callback, "__self__", None)
    if not isinstance(owner, asyncio.Future) or not owner.done() or owner.cancelled():
        return False
    exception = internals.unretrieved_exception(owner)
    return exception is not None and not isinstance(exception, Exception)


def _os_thread_count() -> int:
    """Threads the kernel knows of, including any started behind threading's back."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:  # no /proc (macOS): threading's own count is all there is
        return threading.active_count()


def current_job() -> tuple[VirtualClockLoop, _Job] | None:
    """The (loop, job) whose executor job runs on this thread, if any."""
    return getattr(_job_of_thread, "current", None)


def _describe_callback_owner(owner: Any) -> str:
    """The student's coroutine a task was running: the outermost one not of the grader."""
    if not isinstance(owner, asyncio.Task):
        return ""
    coro: Any = owner.get_coro()  # then each cr_await: a coroutine, generator or future
    while coro is not None:
        filename = getattr(getattr(coro, "cr_code", None), "co_filename", "")
        if filename and not is_grader_code(filename):
            return f"{coro.__name__}()"
        coro = getattr(coro, "cr_await", None)
    return f"{getattr(owner.get_coro(), '__name__', owner.get_name())}()"
