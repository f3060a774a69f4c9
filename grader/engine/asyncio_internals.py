"""The one place the virtual clock touches private parts of the standard library.

The virtual loop (:mod:`grader.engine.virtual_loop`), the patched waits
(:mod:`grader.engine.blocking`)
and one check's world (:mod:`grader.engine.simulation`) need things asyncio,
``concurrent.futures`` and ``threading`` keep private: when the loop runs a callback, what
is ready and scheduled, which threads a pool owns. Every read or write of such a name
happens here, behind a typed function, so a change in a new Python shows up in this
file alone (and in the engine tests CI runs on 3.11 to 3.14), and mypy checks the
callers as it checks any other code. The ``type: ignore`` comments this needs are here
too, each with its reason.

The private attributes are typed by the protocols below (``_LoopPrivate``,
``_HandlePrivate``, ...), which :func:`typing.cast` applies to the real objects: the
protocols state what CPython has, so a mistake in a name is a mypy error here.

Each private name, where it is used (through which function here) and why, and how it
differs between Python 3.11 and 3.14. "Same" means the code it depends on reads alike in
3.11.7, 3.12.1, 3.13.0 and Debian's 3.14:

=============================  ==========================  ====================================
private name                   through, used in            why; 3.11 to 3.14
=============================  ==========================  ====================================
``BaseEventLoop._run_once``    ``SteppedLoop._run_once``;  before each iteration, the clock
                               virtual_loop                jumps to the next timer when nothing
                                                           is ready or working. 3.13+ clamps
                                                           its select timeout; else same.
``BaseEventLoop._call_soon``   ``SteppedLoop._call_soon``  every callback is charged its thread
                               (``SteppedHandle``);        CPU time (budget and clock). Same,
                               virtual_loop                but 3.14's ``call_soon_threadsafe``
                                                           makes a ``_ThreadSafeHandle``
                                                           without ``_call_soon``: callbacks
                                                           sent from other threads go
                                                           unmeasured there.
``Handle._run``, ``_loop``,    ``SteppedHandle``,          run a callback between two CPU
``_callback``,                 ``handle_callback``;        readings; name the task a CPU
``_source_traceback``          virtual_loop                violation belongs to. Same.
``BaseEventLoop._ready``       ``has_ready_callbacks``,    "nothing ready" is when the clock
                               ``SteppedLoop``;            may move. Same.
                               virtual_loop
``BaseEventLoop._scheduled``,  ``next_timer_when``,        the next live timer (a cancelled one
``_timer_cancelled_count``,    ``scheduled_timers``;       must not drag the clock); a run with
``TimerHandle._when``,         virtual_loop                only watchdog timers is a deadlock.
``_scheduled``, ``_cancelled``                             Same (the heap is replaced, not
                                                           mutated, on a big clean-up: always
                                                           read it afresh).
``BaseEventLoop._thread_id``   ``loop_thread_id``;         ``loop.time()`` adds the running
                               virtual_loop                step's CPU on the loop's thread
                                                           only. Same.
``BaseEventLoop._check_        ``check_open``;             ``run_in_executor`` refuses a closed
closed``                       virtual_loop                loop before counting a job. Same.
``BaseEventLoop._default_      ``default_executor``;       the default pool's idle workers are
executor``                     virtual_loop, simulation    no outside wakers; its capacity; shut
                                                           down after a check. Same.
``_selector``,                 ``wait_for_io``,            a suspected deadlock waits a real
``_process_events``,           ``watches_foreign_fds``;    grace for I/O, unless the loop's own
``_ssock`` (selector loop)     virtual_loop                self-pipe is all it watches. Same.
``_write_to_self``             ``wake_loop``;              a job asleep on the virtual clock
(selector loop)                virtual_loop                wakes the loop to move it. Same.
``_signal_handlers``           ``has_signal_handlers``;    a signal handler could wake the
(unix selector loop)           virtual_loop                loop. Same.
``asyncio._get_running_loop``  ``running_loop``;           "is a loop running on this thread?"
                               blocking                    without raising, on every patched
                                                           sleep, clock read and wait. Same.
``asyncio.Future._exception``  ``unretrieved_exception``;  a step stopped from outside charges
                               virtual_loop                no CPU; ``exception()`` would mark
                                                           the error retrieved. Same (C and
                                                           Python futures).
``run_coroutine_threadsafe``   ``threadsafe_result_        a job blocked on a coroutine it
(its callback's closure);      future``, ``report_         handed to the loop counts as
``concurrent.futures.Future.   blocking_waits``;           waiting, not working; a job that
_condition``, ``_waiters``     virtual_loop                only polls it still works. Same.
``mixins._LoopBoundMixin.      ``unbind_from_loop``;       a module-level ``asyncio.Lock``
_loop``                        simulation                  works on every check's new loop.
                                                           Same.
``ThreadPoolExecutor.          ``pool_threads``;           the default pool's idle workers are
_threads``                     virtual_loop                no outside wakers. Same.
``ThreadPoolExecutor.          ``pool_capacity``;          a job queued behind a full pool of
_max_workers``                 virtual_loop                sleepers lets the clock move. Same.
``concurrent.futures.Future.   ``run_again_after_later_    a raw ``pool.submit`` job is
_done_callbacks``              callbacks``; virtual_loop   forgotten only after every callback
                                                           of its future has run. Same.
``threading.Condition.         ``condition_owned``,        a wait on the loop's thread is cut
_is_owned``, ``_waiters``,     ``add_condition_waiter``,   in slices that move the frozen
``_release_save``,             ``release_condition``,      loop's clock, with one waiter for
``_acquire_restore``           ...; blocking               the whole wait. Same.
=============================  ==========================  ====================================
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import contextvars
import heapq
import selectors
import socket
import threading
from asyncio import events
from collections.abc import Callable, Collection, Sequence
from typing import Any, Protocol, cast

__all__ = [
    "SteppedHandle", "SteppedLoop", "add_condition_waiter", "check_open", "condition_owned",
    "default_executor", "handle_callback", "has_ready_callbacks", "has_signal_handlers",
    "loop_thread_id", "next_timer_when", "pool_capacity", "pool_threads",
    "reacquire_condition", "release_condition", "remove_condition_waiter",
    "report_blocking_waits", "run_again_after_later_callbacks", "running_loop", "scheduled_timers",
    "threadsafe_result_future", "unbind_from_loop", "unretrieved_exception", "wait_for_io",
    "wake_loop", "watches_foreign_fds",
]


# -- what CPython has, as protocols (typeshed leaves these private names out) ------------


class _TimerPrivate(Protocol):
    _when: float
    _scheduled: bool
    _cancelled: bool


class _HandlePrivate(Protocol):
    _loop: SteppedLoop
    _callback: Callable[..., object] | None
    _source_traceback: list[Any] | None


class _LoopPrivate(Protocol):
    _ready: collections.deque[events.Handle]
    _scheduled: list[events.TimerHandle]
    _timer_cancelled_count: int
    _thread_id: int | None
    _default_executor: concurrent.futures.Executor | None

    def _check_closed(self) -> None: ...


class _SelectorLoopPrivate(_LoopPrivate, Protocol):
    _selector: selectors.BaseSelector
    _ssock: socket.socket
    _signal_handlers: dict[int, events.Handle]

    def _process_events(self, event_list: list[tuple[selectors.SelectorKey, int]]) -> None: ...

    def _write_to_self(self) -> None: ...


class _ConditionPrivate(Protocol):
    _waiters: collections.deque[Any]

    def _is_owned(self) -> bool: ...

    def _release_save(self) -> object: ...

    def _acquire_restore(self, state: object, /) -> None: ...


def _loop(loop: asyncio.AbstractEventLoop) -> _SelectorLoopPrivate:
    return cast(_SelectorLoopPrivate, loop)


# -- the loop's two hooks ---------------------------------------------------------------


class SteppedLoop(asyncio.SelectorEventLoop):
    """A selector loop that calls ``_before_iteration`` and runs callbacks by ``_run_step``.

    The hooks keep underscore names on purpose: the static screen refuses private names
    in student code, and :mod:`grader.child.integrity` watches both overrides here.
    """

    def _before_iteration(self) -> None:
        """Called at the start of every loop iteration, before it may wait for I/O."""

    def _run_step(self, handle: events.Handle, run: Callable[[], None]) -> None:
        """Run one ready callback (``run``); subclasses measure around it."""
        run()

    def _run_once(self) -> None:
        self._before_iteration()
        super()._run_once()  # type: ignore[misc]  # private in CPython, absent from typeshed

    def _call_soon(self, callback: Callable[..., object], args: Sequence[Any],
                   context: contextvars.Context | None) -> events.Handle:
        # BaseEventLoop._call_soon, with our handle class.
        handle = SteppedHandle(callback, args, self, context)
        private = cast(_HandlePrivate, handle)
        if private._source_traceback:
            del private._source_traceback[-1]
        _loop(self)._ready.append(handle)
        return handle


class SteppedHandle(events.Handle):
    """A callback handle that runs through its loop's ``_run_step`` hook."""

    __slots__ = ()

    def _run(self) -> None:
        cast(_HandlePrivate, self)._loop._run_step(self, super()._run)


def handle_callback(handle: events.Handle) -> Callable[..., object] | None:
    """The function a handle calls (None once the handle is cancelled)."""
    return cast(_HandlePrivate, handle)._callback


# -- the loop's state -------------------------------------------------------------------


def loop_thread_id(loop: asyncio.AbstractEventLoop) -> int | None:
    """The id of the thread running ``loop``, or None while it is not running."""
    return _loop(loop)._thread_id


def has_ready_callbacks(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether a callback is queued to run in the loop's next iteration."""
    return bool(_loop(loop)._ready)


def scheduled_timers(loop: asyncio.AbstractEventLoop) -> Sequence[events.TimerHandle]:
    """The loop's timer heap as it is now (cancelled timers included); do not keep it."""
    return _loop(loop)._scheduled


def next_timer_when(loop: asyncio.AbstractEventLoop) -> float | None:
    """When the earliest live timer is due, dropping cancelled ones from the heap's top.

    The same lazy clean-up ``_run_once`` does, so a cancelled timer never drags the
    clock forward.
    """
    private = _loop(loop)
    scheduled = private._scheduled
    while scheduled and cast(_TimerPrivate, scheduled[0])._cancelled:
        private._timer_cancelled_count -= 1
        cast(_TimerPrivate, heapq.heappop(scheduled))._scheduled = False
    return cast(_TimerPrivate, scheduled[0])._when if scheduled else None


def check_open(loop: asyncio.AbstractEventLoop) -> None:
    """Raise RuntimeError, as the loop's own methods do, if ``loop`` is closed."""
    _loop(loop)._check_closed()


def default_executor(loop: asyncio.AbstractEventLoop) -> concurrent.futures.Executor | None:
    """The pool ``run_in_executor(None, ...)`` uses, if one was set or created."""
    return _loop(loop)._default_executor


def wait_for_io(loop: asyncio.AbstractEventLoop, timeout: float) -> bool:
    """Wait up to ``timeout`` real seconds for the loop's fds; handle what came. Any?"""
    private = _loop(loop)
    event_list = private._selector.select(timeout)
    if not event_list:
        return False
    private._process_events(event_list)
    return True


def watches_foreign_fds(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the loop watches any fd besides its own self-pipe (a socket, a pipe...)."""
    private = _loop(loop)
    own_fds = {private._ssock.fileno()}
    return any(key.fd not in own_fds for key in private._selector.get_map().values())


def has_signal_handlers(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether ``loop.add_signal_handler`` installed any handler."""
    return bool(_loop(loop)._signal_handlers)


def wake_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Wake the loop from another thread (the self-pipe), as ``call_soon_threadsafe`` does."""
    _loop(loop)._write_to_self()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running on this thread, or None (``get_running_loop`` would raise)."""
    return events._get_running_loop()


def unretrieved_exception(future: asyncio.Future[Any]) -> BaseException | None:
    """A done future's exception, read without marking it retrieved as ``exception()`` does."""
    return future._exception


def threadsafe_result_future(callback: Callable[..., Any]
                             ) -> concurrent.futures.Future[Any] | None:
    """The future ``asyncio.run_coroutine_threadsafe`` returned, if this is its callback."""
    if getattr(callback, "__qualname__", "") != "run_coroutine_threadsafe.<locals>.callback":
        return None
    for cell in getattr(callback, "__closure__", None) or ():
        with contextlib.suppress(ValueError):  # an empty cell
            if isinstance(cell.cell_contents, concurrent.futures.Future):
                return cell.cell_contents
    return None


class _WaitReportingCondition(threading.Condition):
    """A future's condition that reports each blocking ``wait`` (``result``, ``exception``)."""

    def __init__(self, report: Callable[[int], None]) -> None:
        super().__init__()
        self._report = report

    def wait(self, timeout: float | None = None) -> bool:
        if timeout is not None and timeout <= 0:  # a poll, never a wait
            return super().wait(timeout)
        self._report(+1)
        try:
            return super().wait(timeout)
        finally:
            self._report(-1)


class _WaitReportingWaiters(list[Any]):
    """A future's waiter list that reports ``concurrent.futures.wait``/``as_completed``.

    Both install a waiter on every future just before blocking on it, and remove it
    when they stop waiting.
    """

    def __init__(self, report: Callable[[int], None]) -> None:
        super().__init__()
        self._report = report

    def append(self, waiter: Any) -> None:
        super().append(waiter)
        self._report(+1)

    def remove(self, waiter: Any) -> None:
        super().remove(waiter)
        self._report(-1)


def report_blocking_waits(future: concurrent.futures.Future[Any],
                          report: Callable[[int], None]) -> None:
    """Call ``report(+1)`` when a thread starts blocking on ``future``, ``report(-1)`` after.

    Only for a future no other thread has seen yet: its condition and waiter list are
    replaced. Polls (``result(timeout=0)``) are not reported: the thread that polls is
    still working.
    """
    private = cast(Any, future)
    private._condition = _WaitReportingCondition(report)
    private._waiters = _WaitReportingWaiters(report)


def unbind_from_loop(value: object) -> bool:
    """Free an asyncio primitive (Lock, Queue, ...) bound to an earlier loop. Was it one?

    They bind to the first loop that uses them (``asyncio.mixins._LoopBoundMixin``).
    """
    mixin = getattr(getattr(asyncio, "mixins", None), "_LoopBoundMixin", None)
    if mixin is None or not isinstance(value, mixin):
        return False
    value._loop = None
    return True


# -- concurrent.futures ---------------------------------------------------------------


def pool_threads(pool: concurrent.futures.Executor | None) -> Collection[threading.Thread]:
    """The worker threads a thread pool has started (none for other executors)."""
    return cast(Collection[threading.Thread], getattr(pool, "_threads", ()))


def pool_capacity(pool: concurrent.futures.Executor | None) -> int | None:
    """How many jobs a pool runs at once (its ``max_workers``), if it says."""
    return cast("int | None", getattr(pool, "_max_workers", None))


def run_again_after_later_callbacks(future: concurrent.futures.Future[Any],
                                    callback: Callable[[concurrent.futures.Future[Any]], object]
                                    ) -> bool:
    """From inside ``callback``: if callbacks were added after it, run it again after them.

    ``Future._invoke_callbacks`` walks the live list, so one appended now runs last.
    Returns whether it was appended.
    """
    callbacks: list[Callable[[concurrent.futures.Future[Any]], object]] | None = getattr(
        future, "_done_callbacks", None)
    if callbacks and callbacks[-1] is not callback:
        callbacks.append(callback)
        return True
    return False


# -- threading.Condition ----------------------------------------------------------------


def condition_owned(condition: threading.Condition) -> bool:
    """Whether this thread holds the condition's lock."""
    return cast(_ConditionPrivate, condition)._is_owned()


def add_condition_waiter(condition: threading.Condition, waiter: Any) -> None:
    """Queue ``waiter`` (an acquired lock) to be released by ``notify``."""
    cast(_ConditionPrivate, condition)._waiters.append(waiter)


def remove_condition_waiter(condition: threading.Condition, waiter: Any) -> None:
    """Take ``waiter`` off the queue; ValueError if a notify already took it."""
    cast(_ConditionPrivate, condition)._waiters.remove(waiter)


def release_condition(condition: threading.Condition) -> object:
    """Release the condition's lock fully (an RLock at any depth); the state to restore."""
    return cast(_ConditionPrivate, condition)._release_save()


def reacquire_condition(condition: threading.Condition, state: object) -> None:
    """Take the condition's lock back as :func:`release_condition` found it."""
    cast(_ConditionPrivate, condition)._acquire_restore(state)
