"""Hidden checks for exercise 12 (executors).

Determinism, per part:

* Task 1 runs real worker processes, so nothing here is judged by speed. The fake
  ``count_primes`` burns a fixed amount of *thread CPU time* (the same on a fast, slow or
  busy machine) and appends ``limit pid thread`` to a log file; the checks read *what*
  ran *where*, and whether the loop recorded a CPU violation.
* Task 2 uses thread jobs whose ``time.sleep`` is virtual, so durations, overlap and the
  number of reads in flight are exact.
* Task 3 hands the student a scripted stand-in for a ThreadPoolExecutor: nothing runs
  until the caller starts waiting, then the jobs finish shortest-first, one at a time.
  The finishing order is decided by the script, never by thread scheduling.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations (the work log as tuples, the reads'
operations, the pool's and camera's records as lists and flags), where no student code
runs. Only the judges' conditions earn points.
"""

import asyncio
import concurrent.futures
import contextlib
import multiprocessing
import os
import pickle
import re
import tempfile
import threading
import time
from concurrent.futures._base import _AllCompletedWaiter, _AsCompletedWaiter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.suite import (
    Operation,
    expect_equal,
    fail,
    judged,
    loop_runs_here,
    ran_one_after_another,
)

# -- task 1: the process-pool fake ----------------------------------------------------

# Worker processes must inherit the student's module and this suite from memory: the
# student's module is registered under its stem only in this process, and the suite's
# folder is hidden once collected. 'fork' is the Linux default up to Python 3.13 (3.14
# switches to 'forkserver'), so ask for it explicitly.
if "fork" in multiprocessing.get_all_start_methods():
    multiprocessing.set_start_method("fork", force=True)

# Eight limits whose counts all differ, so results read from an unordered collection
# (asyncio.wait's `done` set) or in finishing order come back scrambled, not in order by
# the luck three or four often have. Only four of them cost CPU time: enough to catch
# work on the loop, little enough that doing all of it there stays under the CPU limit.
LIMITS = [3000, 700, 1000, 500, 2000, 800, 4000, 300]
COSTLY = {3000, 1000, 2000, 4000}
CPU_COST = 0.07  # thread-CPU seconds per costly call: over the loop's 50 ms budget anywhere
WORK_LOG = Path(tempfile.gettempdir()) / f"count-primes-{os.getpid()}.log"


def _primes_below(limit: int) -> int:
    sieve = bytearray([1]) * max(limit, 2)
    sieve[0:2] = b"\x00\x00"
    for n in range(2, int(limit**0.5) + 1):
        if sieve[n]:
            sieve[n * n::n] = bytearray(len(range(n * n, limit, n)))
    return sum(sieve[:limit])


def counting_fake(limit: int) -> int:
    """Stands in for count_primes. Module level, so a process pool can pickle it by name."""
    value = _primes_below(limit)
    deadline = time.thread_time() + (CPU_COST if limit in COSTLY else 0.0)
    while time.thread_time() < deadline:
        pass
    where = "loop" if loop_runs_here() else threading.current_thread().name.replace(" ", "_")
    with open(WORK_LOG, "a", encoding="utf-8") as log:
        log.write(f"{limit} {os.getpid()} {where}\n")
    return value


@dataclass
class Work:
    limit: int
    pid: int
    where: str  # "loop", a thread's name, or the worker process's main thread


def work_done() -> list[Work]:
    if not WORK_LOG.exists():
        return []
    rows = [line.split() for line in WORK_LOG.read_text(encoding="utf-8").splitlines()]
    return [Work(int(limit), int(pid), where) for limit, pid, where in rows]


@pytest.fixture
def counting(student):
    WORK_LOG.unlink(missing_ok=True)
    student.replace("count_primes", counting_fake)
    yield
    WORK_LOG.unlink(missing_ok=True)


class SubmitLog:
    """Every job handed to a ProcessPoolExecutor while count_all runs, in order.

    For each submit: which pool (numbered as first seen), its max_workers, and how many
    results had already reached the event loop. A done-callback added at submit time
    runs before the one asyncio adds to deliver the result, so its ``call_soon_threadsafe``
    mark reaches the loop before the student's code can see that result. A submit made
    after a mark therefore came after the student waited for a result: counted in loop
    events, not time, so the workers' real speed never enters the verdict.
    """

    def __init__(self, loop: Any) -> None:
        self.loop = loop
        self.delivered = 0
        self.pools: list[int] = []  # id() of each pool, in the order first seen
        self.submits: list[tuple[int, int, int]] = []  # (pool number, max_workers, delivered)

    def _mark(self) -> None:
        self.delivered += 1

    def record(self, pool: Any, future: concurrent.futures.Future) -> None:
        if id(pool) not in self.pools:
            self.pools.append(id(pool))
        workers = getattr(pool, "_max_workers", 0)
        self.submits.append((self.pools.index(id(pool)), int(workers), self.delivered))
        loop = self.loop
        future.add_done_callback(
            lambda _f: loop.is_closed() or loop.call_soon_threadsafe(self._mark))


@contextlib.contextmanager
def submits_recorded(loop: Any) -> Any:
    """Record ProcessPoolExecutor.submit calls made while the block runs."""
    log = SubmitLog(loop)
    real_submit = concurrent.futures.ProcessPoolExecutor.submit

    def submit(pool: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        future = real_submit(pool, fn, *args, **kwargs)
        log.record(pool, future)
        return future

    concurrent.futures.ProcessPoolExecutor.submit = submit  # type: ignore[method-assign]
    try:
        yield log
    finally:
        concurrent.futures.ProcessPoolExecutor.submit = real_submit  # type: ignore[method-assign]


@dataclass
class CountRun:
    """What one `count_all(LIMITS)` did: its result, the loop's violations, the work log,
    how many turns another task got while it ran, and its submissions to process pools."""

    result: Any
    violations: list[Any]
    done: list[Work]
    turns_alongside: int
    submits: list[tuple[int, int, int]]

    def observations(self) -> dict[str, Any]:
        return {"result": self.result, "violations": self.violations,
                "done": [(w.limit, w.pid, w.where) for w in self.done],
                "turns": self.turns_alongside, "here": os.getpid(), "submits": self.submits}

    @classmethod
    def seen(cls, seen: dict[str, Any]) -> "CountRun":
        return cls(seen["result"], seen["violations"], [Work(*w) for w in seen["done"]],
                   seen["turns"], [tuple(s) for s in seen["submits"]])


NEIGHBOUR_TURNS = 3  # enough to see the loop is free; few, so nothing spins while waiting


async def beside_a_neighbour(count_all: Any) -> tuple[Any, int]:
    """Run count_all while another task asks for a few turns of the loop.

    Awaiting the workers hands the loop back, so the neighbour gets a turn before
    count_all is done. A count_all that waits on the loop's thread (``future.result()``
    on a process pool's futures) keeps it from ever getting one. Counted in turns, not
    time: the workers' real speed never enters the verdict.
    """
    running, turns = [False], [0]

    async def neighbour() -> None:
        for _ in range(NEIGHBOUR_TURNS):
            turns[0] += running[0]
            await asyncio.sleep(0)

    other = asyncio.create_task(neighbour())
    running[0] = True
    try:
        result = await count_all
    finally:
        running[0] = False
    await other
    return result, turns[0]


_count_runs: list[CountRun] = []


def count_all_once(sim: Any, student: Any) -> CountRun:
    """The three task-1 checks judge the same call, so it runs once per grading.

    Each run costs real CPU time in worker processes (the fake's fixed CPU cost); a run
    that fails is not kept, so the next check tries again and reports it itself.
    """
    if not _count_runs:
        with submits_recorded(sim.loop) as log:
            result, turns = run_count_all(sim, student, LIMITS, alongside=True)
        _count_runs.append(CountRun(result, list(sim.violations), work_done(), turns,
                                    log.submits))
    return _count_runs[0]


def run_count_all(sim: Any, student: Any, limits: list[int], *,
                  alongside: bool = False) -> Any:
    """sim.run(count_all(limits)), with pickling errors explained.

    With ``alongside``, returns (result, turns another task got meanwhile).
    """
    call = student.count_all(list(limits))
    try:
        return sim.run(beside_a_neighbour(call) if alongside else call, what="count_all")
    except Exception as exc:
        # The message differs across versions ("Can't pickle local object", "Can't get
        # local object"); the remote traceback attached as the cause names the pickler.
        told = f"{exc} {exc.__cause__ or ''}".lower()
        if not (isinstance(exc, pickle.PicklingError) or "pickl" in told
                or "local object" in told):
            raise
        # 3.14 names the object with its address, which would differ from run to run.
        said = re.sub(r" at 0x[0-9a-fA-F]+>", ">", str(exc))
        fail(
            f"`count_all({limits!r})` could not send its work to the worker processes: "
            f"{type(exc).__name__}: {said}",
            misconception="A process pool pickles what it sends: a function travels as its "
            "module and name, and the worker looks it up again there. Lambdas and functions "
            "defined inside other functions have no such name.",
            next_step="Pass a function defined at the top level of the module, with its "
            "arguments: `loop.run_in_executor(pool, count_primes, limit)`.",
        )


# -- task 2: the blocking-read fake ---------------------------------------------------

PATHS = ["north.csv", "south.csv", "east.csv", "west.csv", "up.csv", "down.csv"]
READ_DELAYS = dict(zip(PATHS, [0.30, 0.45, 0.35, 0.25, 0.40, 0.20], strict=True))
READ_BUDGET = 0.8  # three at a time: 0.75 s; two: 1.05 s; one after another: 1.95 s
READ_LIMIT = 3
READ_SECONDS = {f"read_file({p!r})": d for p, d in READ_DELAYS.items()}


def contents(path: str) -> str:
    return f"contents of {path}"


class FakeDrive:
    """Stands in for read_file: virtual sleeps, a thread-safe in-flight count, a timeline."""

    def __init__(self, sim: Any) -> None:
        self.sim = sim
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.ops: list[Operation] = []
        self.on_loop: list[str] = []

    def read_file(self, path: str) -> str:
        loop = self.sim.loop
        delay = READ_DELAYS.get(path, 0.3)
        op = Operation(label=f"read_file({path!r})", start=loop.time(), delay=delay)
        with self.lock:
            self.ops.append(op)
            self.sim.operations.append(op)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if loop_runs_here():
                self.on_loop.append(path)
        try:
            time.sleep(delay)  # a violation on the loop, virtual in a thread
        finally:
            with self.lock:
                self.in_flight -= 1
            op.end = loop.time()
            op.outcome = "ok"
        return contents(path)


    def observations(self) -> dict[str, Any]:
        return {"sim": self.sim, "reads": self.ops, "peak": self.peak, "on_loop": self.on_loop}


@pytest.fixture
def drive(sim, student):
    fake = FakeDrive(sim)
    student.replace("read_file", fake.read_file)
    return fake


@dataclass
class DriveRecord:
    """The drive as observed: its reads on the simulation's timeline, each as long as
    READ_DELAYS says, and a peak their intervals allow (else no honest run sent it)."""

    ops: list[Operation]
    peak: int
    on_loop: list[str]

    @classmethod
    def seen(cls, seen: dict[str, Any]) -> "DriveRecord":
        timeline = {(op.label, op.start, op.end) for op in seen["sim"].operations}
        ops = seen["reads"]
        for op in ops:
            delay = READ_SECONDS.get(op.label, 0.3)
            if (op.label, op.start, op.end) not in timeline or (
                    op.end is not None and op.end - op.start < delay - 1e-6):
                raise ValueError(f"a read the simulation never timed: {op.label[:60]}")
        starts = [op.start for op in ops]
        at_least = max((sum(1 for o in ops if o.start <= t + 1e-6 and (
            o.end is None or o.end > t + 1e-6)) for t in starts), default=0)
        at_most = max((sum(1 for o in ops if o.start <= t + 1e-6 and (
            o.end is None or o.end >= t - 1e-6)) for t in starts), default=0)
        if not at_least <= seen["peak"] <= at_most:
            raise ValueError(f"a peak of {seen['peak']} that the reads' times do not allow")
        return cls(ops, seen["peak"], seen["on_loop"])


def expect_every_path_read(drive: DriveRecord, *, call: str) -> None:
    read = sorted(op.label for op in drive.ops if op.end is not None)
    wanted = sorted(f"read_file({p!r})" for p in PATHS)
    if read != wanted:
        fail(
            f"`{call}` made {len(read)} calls to `read_file` instead of one per path "
            f"({len(PATHS)}).",
            next_step="Call `read_file(path)` once for every path, on the thread pool.",
        )


def expect_reads_off_the_loop(drive: DriveRecord, *, call: str) -> None:
    if not drive.on_loop:
        return
    frozen = sum(READ_DELAYS.get(p, 0.3) for p in drive.on_loop)
    others = f" (and {len(drive.on_loop) - 1} more reads)" if len(drive.on_loop) > 1 else ""
    fail(
        f"`read_file({drive.on_loop[0]!r})`{others} ran on the event loop's own thread: "
        f"while `{call}` ran, the loop was frozen for {frozen:.2f} s of simulated time and "
        "no other task could run.",
        misconception="read_file is a synchronous call: it holds the thread that calls it. "
        "Called from a coroutine, that is the loop's thread, and every other task waits.",
        next_step="Run each read on a thread pool: `await loop.run_in_executor(pool, "
        "read_file, path)` with `pool = ThreadPoolExecutor(max_workers=3)`.",
    )


# -- task 3: a scripted thread pool ---------------------------------------------------

PHOTOS = ["cat", "dog", "owl", "fox", "elk"]
PHOTO_SECONDS = {"cat": 0.5, "dog": 0.2, "owl": 0.4, "fox": 0.1, "elk": 0.3}
IN_ORDER = [f"photo of {n}" for n in PHOTOS]
AS_READY = [f"photo of {n}" for n in sorted(PHOTOS, key=PHOTO_SECONDS.__getitem__)]
_driver = threading.local()


class WatchedFuture(concurrent.futures.Future):
    """A Future that tells its pool when a thread blocks in ``result()`` on it."""

    def __init__(self, pool: "ScriptedPool") -> None:
        super().__init__()
        self._pool = pool

    def result(self, timeout: float | None = None) -> Any:
        with self._pool.blocked_in(self):
            return super().result(timeout)

    def exception(self, timeout: float | None = None) -> Any:
        with self._pool.blocked_in(self):
            return super().exception(timeout)


class ScriptedPool(concurrent.futures.Executor):
    """Stands in for a ThreadPoolExecutor with a finishing order fixed in advance.

    Submitted jobs wait until the caller starts waiting on their futures; then a driver
    thread runs every job handed over so far and completes the futures one at a time,
    the shortest simulated download first. It completes the next future only when a
    waiter is ready to see it on its own: a thread blocked in ``result()``, an
    ``as_completed``/``wait`` waiter holding no unreported result, or a
    ``wait(ALL_COMPLETED)``. So ``as_completed`` and ``wait(FIRST_COMPLETED)`` loops see
    exactly the scripted order, however the threads are scheduled. (This reads the
    waiter list concurrent.futures keeps on each future, ``Future._waiters``.) A caller
    waiting in some way we can't see is served after a quiet second.
    """

    QUIET = 1.0
    POLL = 0.002

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._queue: list[tuple[WatchedFuture, Any, tuple, dict]] = []
        self._closed = False
        self._blocked = 0
        self._progress = time.monotonic()
        self.batches: list[int] = []
        self.shut_down_by_student = False
        self.as_completed_used = False  # an as_completed waiter was seen on a future
        self._pause = threading.Event()  # never set: a plain real-time pause between polls
        self._thread = threading.Thread(target=self._drive, name="scripted-pool", daemon=True)
        self._thread.start()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> WatchedFuture:
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot schedule new futures after shutdown")
            future = WatchedFuture(self)
            self._queue.append((future, fn, args, kwargs))
            self._progress = time.monotonic()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.shut_down_by_student = True
        self.close(wait=wait)

    def close(self, wait: bool = True) -> None:
        with self._lock:
            self._closed = True
        if wait:
            self._thread.join(5.0)

    @contextlib.contextmanager
    def blocked_in(self, future: WatchedFuture) -> Any:
        waiting = not future.done()
        if waiting:
            with self._lock:
                self._blocked += 1
        try:
            yield
        finally:
            if waiting:
                with self._lock:
                    self._blocked -= 1

    def _ready_for(self, future: WatchedFuture) -> bool:
        """True when completing ``future`` now cannot blur the order a waiter sees."""
        waiters = list(future._waiters)
        if any(isinstance(w, _AsCompletedWaiter) for w in waiters):
            self.as_completed_used = True
        if self._blocked:
            return True
        return any(isinstance(w, _AllCompletedWaiter) or not w.finished_futures
                   for w in waiters)

    def _drive(self) -> None:
        _driver.active = True
        outstanding: list[tuple[WatchedFuture, Any, BaseException | None]] = []
        while True:
            with self._lock:
                closed = self._closed
                quiet = time.monotonic() - self._progress >= self.QUIET
                queued = list(self._queue)
            if not outstanding and queued and (
                closed or quiet or any(self._ready_for(f) for f, *_ in queued)
            ):
                with self._lock:
                    batch, self._queue = self._queue, []
                outstanding = self._run(batch)
            elif outstanding and (closed or quiet or self._ready_for(outstanding[0][0])):
                future, value, error = outstanding.pop(0)
                if error is None:
                    future.set_result(value)
                else:
                    future.set_exception(error)
                with self._lock:
                    self._progress = time.monotonic()
            elif closed and not queued and not outstanding:
                return
            else:
                self._pause.wait(self.POLL)


    def _run(self, batch: list[tuple[WatchedFuture, Any, tuple, dict]]) -> list[Any]:
        """Run the jobs now (they are instant fakes); return them shortest download first."""
        outcomes = []
        for seq, (future, fn, args, kwargs) in enumerate(batch):
            if not future.set_running_or_notify_cancel():
                continue
            _driver.seconds = 0.0
            try:
                value, error = fn(*args, **kwargs), None
            except BaseException as exc:
                value, error = None, exc
            outcomes.append((_driver.seconds, seq, future, value, error))
        self.batches.append(len(outcomes))
        return [(f, v, e) for _s, _q, f, v, e in sorted(outcomes, key=lambda o: o[:2])]


class FakeCamera:
    """Stands in for download: notes whether each call came through the scripted pool."""

    def __init__(self) -> None:
        self.outside_pool: list[str] = []
        self.in_pool: list[str] = []

    def download(self, name: str) -> str:
        if getattr(_driver, "active", False):
            _driver.seconds += PHOTO_SECONDS.get(name, 0.25)
            self.in_pool.append(name)
        else:
            self.outside_pool.append(name)
        return f"photo of {name}"


@pytest.fixture
def camera(student):
    fake = FakeCamera()
    student.replace("download", fake.download)
    return fake


@pytest.fixture
def pool():
    scripted = ScriptedPool()
    yield scripted
    scripted.close()


def pool_observations(result: Any, pool: ScriptedPool, camera: FakeCamera) -> dict[str, Any]:
    """What the judges of task 3 read: the result, and the pool's and camera's records."""
    values = result if isinstance(result, list) else [result]
    return {"result": result,
            "futures": any(isinstance(v, concurrent.futures.Future) for v in values),
            "outside_pool": camera.outside_pool, "in_pool": camera.in_pool,
            "shut_down": pool.shut_down_by_student, "batches": pool.batches,
            "as_completed_used": pool.as_completed_used}


def expect_pool_used_properly(seen: dict[str, Any], *, call: str) -> None:
    outside_pool = seen["outside_pool"]
    if seen["futures"]:
        fail(
            f"`{call}` returned Future objects, not photos.",
            misconception="`pool.submit` hands back a Future straight away: a receipt for a "
            "result that will exist later, not the result itself.",
            next_step="Ask each future for its value with `future.result()`.",
        )
    if outside_pool:
        fail(
            f"`{call}` called `download({outside_pool[0]!r})` outside the pool it was "
            "given, so those downloads ran one after another on your own thread (or on a "
            "pool of your own).",
            misconception="The caller passes in the pool so every download shares its "
            "threads; calling the function yourself skips it.",
            next_step="Hand the function and its argument to the pool: `pool.map(download, "
            "names)` or `pool.submit(download, name)`.",
        )
    if seen["shut_down"]:
        fail(
            f"`{call}` shut down the pool it was given (a `with pool:` block calls "
            "`pool.shutdown()` on the way out).",
            misconception="The caller created the pool and will use it again; whoever "
            "creates an executor is the one who shuts it down.",
            next_step="Use the pool without `with pool:` and without calling `shutdown()`.",
        )
    if sorted(seen["in_pool"]) != sorted(PHOTOS):
        fail(
            f"`{call}` downloaded {sorted(seen['in_pool'])} through the pool; it should "
            f"download every photo, {sorted(PHOTOS)}, once each.",
            next_step="Hand `download(name)` to the pool once for every name.",
        )


def expect_all_handed_over(batches: list[int], *, call: str) -> None:
    if batches and max(batches) < len(PHOTOS):
        fail(
            f"`{call}` waited for a download before handing the next one to the pool (the "
            f"pool never had more than {max(batches)} of the {len(PHOTOS)} at once), so "
            "they ran one after another.",
            misconception="A pool only overlaps the jobs it has been given; waiting on each "
            "future right after submitting it makes the downloads take turns.",
            next_step="Submit every download first (a list of futures, or `pool.map`), then "
            "collect the results.",
        )


# -- task 1 ---------------------------------------------------------------------------

COUNT_ALL = f"count_all({LIMITS!r})"
COUNT_ORDER = dict(
    misconception="Results should line up with the limits you were given, whichever "
    "worker finished first.",
    next_step="asyncio.gather(*futures) returns results in the order of its arguments.",
)


def expect_counts_in_order(result: Any, limits: list[int], *, call: str, uses: dict) -> None:
    wanted = [_primes_below(n) for n in limits]
    if (isinstance(result, list) and result != wanted
            and sorted(map(repr, result)) == sorted(map(repr, wanted))):
        # The stub imports as_completed for task 3, so only `wait` says what count_all did.
        cause = ("`asyncio.wait` returns its `done` futures as a set, which has no order"
                 if uses.get("wait") else
                 "results collected as they finish come in finishing order")
        # Not the order it returned: a set's order can differ from run to run, and the
        # same submission must always read the same feedback.
        fail(f"`{call}` returned the right {len(wanted)} counts, but not in the order of "
             f"the limits ({wanted!r}).",
             misconception=f"{cause[:1].upper()}{cause[1:]}; the counts must line up with "
             "the limits.",
             next_step="Keep the futures in a list in the order of the limits and await them "
             "together: `await asyncio.gather(*futures)`.")
    expect_equal(result, wanted, call=call, **COUNT_ORDER)


@pytest.mark.task(1)
def test_count_all_keeps_input_order(student, sim, counting):
    uses = student.uses("wait")
    result = count_all_once(sim, student).result
    expect_counts_in_order(result, LIMITS, call=COUNT_ALL, uses=uses)
    empty = run_count_all(sim, student, [])
    return judged(judge_count_all_keeps_input_order, result=result, empty=empty, uses=uses)


def judge_count_all_keeps_input_order(seen):
    expect_counts_in_order(seen["result"], LIMITS, call=COUNT_ALL, uses=seen["uses"])
    expect_equal(seen["empty"], [], call="count_all([])",
                 misconception="With no limits there is nothing to count: the answer is [].",
                 next_step="Make sure your code handles an empty list.")


def expect_every_limit_counted(done: list[Work], *, call: str) -> None:
    counted = sorted(w.limit for w in done)
    if counted != sorted(LIMITS):
        fail(
            f"`{call}` called `count_primes` for {counted}; it should call it once for each "
            f"of {sorted(LIMITS)}.",
            next_step="Submit one `count_primes(limit)` job per limit and await them all.",
        )


@pytest.mark.task(1)
def test_count_all_never_blocks_the_loop(student, sim, counting):
    run = count_all_once(sim, student)
    return judged(judge_count_all_never_blocks_the_loop, **run.observations())


def judge_count_all_never_blocks_the_loop(seen):
    call, run = COUNT_ALL, CountRun.seen(seen)
    cpu = [v for v in run.violations if v.kind == "cpu"]
    sleeps = [v for v in run.violations if v.kind == "sleep"]
    on_loop = [w for w in run.done if w.where == "loop"]
    if on_loop or cpu:
        cause = (f"`count_primes({on_loop[0].limit})` and the other counts ran inside your "
                 "coroutine" if on_loop else "your coroutine computed without awaiting "
                 "(starting a pool with many workers costs CPU time too)")
        fail(
            f"`{call}` blocked the event loop: {cause}, long stretches of CPU work without "
            "an await.",
            misconception="A coroutine keeps the loop's thread until it reaches an `await`. "
            "CPU-heavy work has nothing to await, so no other task runs until it is done.",
            next_step="Send each count to a process pool: `await loop.run_in_executor(pool, "
            "count_primes, limit)` with `pool = ProcessPoolExecutor(max_workers=2)`.",
        )
    if sleeps:
        fail(
            f"`{call}` blocked the event loop: time.sleep({sleeps[0].seconds:g}) at "
            f"{sleeps[0].where}.",
            misconception="`time.sleep` freezes the loop's thread and every task on it.",
            next_step="Remove it; awaiting the executor's futures is all the waiting needed.",
        )
    expect_every_limit_counted(run.done, call=call)
    if run.turns_alongside == 0:
        waits = [v for v in run.violations if v.kind == "wait"]
        where = f" (`{waits[0].detail}` at {waits[0].where})" if waits else ""
        fail(
            f"`{call}` held the event loop's thread while the worker processes counted"
            f"{where}: a task running beside it never got a turn until it returned.",
            misconception="`future.result()` (or `pool.map`) waits on the thread that calls "
            "it; called in a coroutine, that is the loop's thread, so the work moved to "
            "other processes but the loop still stood still until it was done.",
            next_step="Await the work instead: `await loop.run_in_executor(pool, "
            "count_primes, limit)` for each limit, gathered, or `await "
            "asyncio.wrap_future(future)`.",
        )


@pytest.mark.task(1)
def test_count_all_uses_worker_processes(student, sim, counting):
    run = count_all_once(sim, student)
    return judged(judge_count_all_uses_worker_processes, **run.observations())


def expect_one_pool_of_two_busy_workers(submits: list[tuple[int, int, int]]) -> None:
    """One ProcessPoolExecutor with two workers, handed every count before any result."""
    if not submits:
        return  # no ProcessPoolExecutor.submit seen: the checks above judged the work
    pools = {pool for pool, _, _ in submits}
    if len(pools) > 1:
        fail(
            f"`{COUNT_ALL}` handed its {len(submits)} counts to {len(pools)} different "
            "process pools; the task asks for one pool of two workers shared by every count.",
            misconception="Each ProcessPoolExecutor starts worker processes of its own: a "
            "pool per job pays that start-up every time and no longer limits the work to two "
            "processes at once.",
            next_step="Create one `ProcessPoolExecutor(max_workers=2)` and submit every count "
            "to it.",
        )
    workers = submits[0][1]
    if workers != 2:
        fail(
            f"`{COUNT_ALL}` used a process pool with max_workers={workers}; the task asks for "
            "two workers.",
            misconception="max_workers is how many counts run at the same time: one worker "
            "makes them take turns, more than the task allows competes for the same cores.",
            next_step="`ProcessPoolExecutor(max_workers=2)`.",
        )
    late = next((i for i, (_, _, delivered) in enumerate(submits) if delivered), None)
    if late is not None:
        fail(
            f"`{COUNT_ALL}` waited for a result before handing the next count to the pool: "
            f"only {late} of the {len(submits)} counts had been submitted when the first "
            "result came back, so the two workers took turns instead of both staying busy.",
            misconception="`await loop.run_in_executor(...)` inside a loop waits for that job "
            "before the next line submits another: the pool never has more than one job.",
            next_step="Submit every count first (a list of `loop.run_in_executor(pool, "
            "count_primes, limit)` futures), then `await asyncio.gather(*futures)`.",
        )


def judge_count_all_uses_worker_processes(seen):
    run = CountRun.seen(seen)
    done, here = run.done, seen["here"]
    if any(w.where == "loop" and w.pid != here for w in done):
        raise ValueError("work on the event loop's thread in another process")
    expect_every_limit_counted(done, call=COUNT_ALL)
    local = sorted((w for w in done if w.pid == here), key=lambda w: LIMITS.index(w.limit))
    if not local:
        expect_one_pool_of_two_busy_workers(run.submits)
        return
    first = local[0]
    if first.where == "loop":
        fail(
            f"`count_primes({first.limit})` ran in this process, on the event loop's own "
            "thread: it blocked the event loop and used a single core.",
            misconception="Calling a function from a coroutine runs it right there, on the "
            "loop's thread; nothing is offloaded unless you hand it to an executor.",
            next_step="Create a `ProcessPoolExecutor(max_workers=2)` and await "
            "`loop.run_in_executor(pool, count_primes, limit)` for each limit.",
        )
    fail(
        f"`count_primes({first.limit})` ran on a worker thread of this process, not in a "
        "separate worker process.",
        misconception="In standard CPython only one thread at a time executes Python code "
        "(the Global Interpreter Lock), so CPU-heavy work on threads still shares one core "
        "and competes with the event loop. Processes each have their own interpreter.",
        next_step="Use a `ProcessPoolExecutor(max_workers=2)` for this work; keep "
        "`asyncio.to_thread` and thread pools for blocking I/O.",
    )


# -- task 2 ---------------------------------------------------------------------------

READ_ALL = f"read_all({PATHS!r})"


@pytest.mark.task(2)
def test_reads_in_order_off_the_loop(student, sim, drive):
    result = sim.run(student.read_all(list(PATHS)), what="read_all")
    return judged(judge_reads_in_order_off_the_loop, result=result, **drive.observations())


def judge_reads_in_order_off_the_loop(seen):
    drive = DriveRecord.seen(seen)
    expect_reads_off_the_loop(drive, call=READ_ALL)
    expect_equal(
        seen["result"], [contents(p) for p in PATHS], call=READ_ALL,
        misconception="Results belong in the order of the paths, not in the order the reads "
        "happened to finish.",
        next_step="asyncio.gather returns results in the order of its arguments.",
    )
    expect_every_path_read(drive, call=READ_ALL)


READ_NAMES = ("Semaphore", "BoundedSemaphore", "to_thread", "run_in_executor",
              "ThreadPoolExecutor", "max_workers")


@pytest.mark.task(2)
def test_reads_three_at_a_time(student, sim, drive):
    sim.run(student.read_all(list(PATHS)), what="read_all")
    return judged(judge_reads_three_at_a_time, **drive.observations(),
                  uses=student.uses(*READ_NAMES))


def too_many_why(uses: dict) -> dict[str, str]:
    """Why more than three reads ran at once, from what the student's file uses."""
    if uses.get("Semaphore") or uses.get("BoundedSemaphore"):
        return dict(
            misconception="A Semaphore only holds back the tasks that acquire that same "
            "object: one created inside the function each read runs (a new Semaphore(3) "
            "per read) never makes anyone wait, and a read not inside `async with sem:` "
            "is not limited at all.",
            next_step="Create one `asyncio.Semaphore(3)` in read_all, before starting the "
            "reads, and have every read acquire it; or run the reads on a "
            "`ThreadPoolExecutor(max_workers=3)`.")
    if uses.get("max_workers") or uses.get("ThreadPoolExecutor"):
        return dict(
            misconception="A thread pool runs as many jobs at once as it has workers: a pool "
            "with more than three workers (or reads sent to another executor) is no limit "
            "of three.",
            next_step="Send every read to one `ThreadPoolExecutor(max_workers=3)` with "
            "`loop.run_in_executor(pool, read_file, path)`.")
    return dict(
        misconception="`asyncio.to_thread` and the loop's default executor have many worker "
        "threads, so starting every read at once really runs them all at once.",
        next_step="Run the reads on a `ThreadPoolExecutor(max_workers=3)` with "
        "`loop.run_in_executor`: extra jobs wait in the pool's queue.")


def expect_next_read_starts_at_once(drive: DriveRecord, *, call: str, started: float) -> None:
    """Judged from the timeline: three reads start at once, and each later read starts the
    moment an earlier one ends (a slot left idle while reads wait is a missed promise)."""
    ops = sorted((op for op in drive.ops if op.end is not None),
                 key=lambda op: (op.start, op.label))  # equal starts: by name, not by thread
    first = ops[:READ_LIMIT]
    late_first = [op for op in first if op.start > started + 1e-6]
    if late_first:
        fail(
            f"`{call}` did not start three reads at once: {late_first[0].label} started "
            f"only at {late_first[0].start - started:.2f} s.",
            misconception="The drive takes three reads at a time from the start; waiting "
            "before starting the first ones wastes connections.",
            next_step="Hand every read to a `ThreadPoolExecutor(max_workers=3)` at once.",
        )
    ends = sorted(op.end for op in ops)
    for waiting, op in enumerate(ops[READ_LIMIT:]):
        freed = ends[waiting]
        if op.start > freed + 1e-6:
            fail(
                f"`{call}` left a connection idle: a read ended at {freed - started:.2f} s "
                f"but {op.label} started only at {op.start - started:.2f} s, although it "
                "was waiting its turn.",
                misconception="Reads started in fixed batches of three (or in a window that "
                "waits for the oldest read) keep finished slots empty until the slowest "
                "one is done. A limit of three is also a promise of three.",
                next_step="Submit every read to a `ThreadPoolExecutor(max_workers=3)` (or "
                "guard each with one shared `asyncio.Semaphore(3)`): the next read starts "
                "as soon as any slot is free.",
            )


def judge_reads_three_at_a_time(seen):
    call, sim, drive = READ_ALL, seen["sim"], DriveRecord.seen(seen)
    expect_reads_off_the_loop(drive, call=call)
    expect_every_path_read(drive, call=call)
    if drive.peak > READ_LIMIT:
        fail(
            f"`{call}` had {drive.peak} reads in flight at once; the drive accepts at most "
            f"{READ_LIMIT}.",
            **too_many_why(seen["uses"]),
        )
    ops = [op for op in drive.ops if op.end is not None]
    if not ran_one_after_another(ops):
        expect_next_read_starts_at_once(drive, call=call, started=sim.started)
    if sim.elapsed <= READ_BUDGET + 1e-9:
        return
    took = f"{sim.elapsed:.2f} s of simulated time (the budget is {READ_BUDGET:g} s)"
    if ran_one_after_another(ops):
        fail(
            f"Your {len(ops)} reads ran one after another, so `{call}` took {took}.",
            misconception="Awaiting each read before starting the next uses only one of the "
            "three connections the drive allows.",
            next_step="Hand every read to the pool first, then await them together "
            "(asyncio.gather).",
        )
    fail(
        f"`{call}` took {took}: never more than {drive.peak} reads were in flight, but three "
        "could be.",
        misconception="A limit of three is also a promise of three: a pool with fewer "
        "workers, or reads started in small batches, leaves connections idle.",
        next_step="Use `ThreadPoolExecutor(max_workers=3)` and submit every read at once; the "
        "pool starts the next one as soon as a worker is free.",
    )


# -- task 3 ---------------------------------------------------------------------------

IN_ORDER_CALL = f"download_in_order(pool, {PHOTOS!r})"
AS_READY_CALL = f"download_as_ready(pool, {PHOTOS!r})"


@pytest.mark.task(3)
def test_map_keeps_input_order(student, camera, pool):
    result = student.download_in_order(pool, list(PHOTOS))
    return judged(judge_map_keeps_input_order, **pool_observations(result, pool, camera))


def judge_map_keeps_input_order(seen):
    call, result = IN_ORDER_CALL, seen["result"]
    expect_pool_used_properly(seen, call=call)
    if result == AS_READY:
        fail(
            f"`{call}` returned {result!r}: the order the downloads finished, but the photos "
            f"should follow the order of the names, {IN_ORDER!r}.",
            misconception="`as_completed` yields futures as they finish. `pool.map` yields "
            "results in the order of its inputs, waiting for each in turn.",
            next_step="Use `list(pool.map(download, names))`.",
        )
    expect_equal(result, IN_ORDER, call=call,
                 misconception="`pool.map` yields one result per name, in the order of names.",
                 next_step="Use `list(pool.map(download, names))`.")
    expect_all_handed_over(seen["batches"], call=call)


@pytest.mark.task(3)
def test_as_completed_gives_finishing_order(student, camera, pool):
    result = student.download_as_ready(pool, list(PHOTOS))
    return judged(judge_as_completed_gives_finishing_order,
                  **pool_observations(result, pool, camera))


def judge_as_completed_gives_finishing_order(seen):
    call, result = AS_READY_CALL, seen["result"]
    expect_pool_used_properly(seen, call=call)
    expect_all_handed_over(seen["batches"], call=call)
    if result == IN_ORDER and seen["as_completed_used"]:
        fail(
            f"`{call}` returned the photos in the input order, {result!r}; they should come in "
            f"the order the downloads finished, {AS_READY!r}.",
            misconception="You do call `as_completed`, but the photos were taken from the "
            "futures (or names) in the order you submitted them, not in the order "
            "`as_completed` yields the futures.",
            next_step="Append `future.result()` inside the loop `for future in "
            "as_completed(futures):`, in the order that loop hands them to you.",
        )
    if result == IN_ORDER:
        fail(
            f"`{call}` returned the photos in the input order, {result!r}; they should come in "
            f"the order the downloads finished, {AS_READY!r}.",
            misconception="`pool.map`, like calling `result()` on each future in the order "
            "you submitted them, always gives input order: it waits for the first even when "
            "later ones are already done.",
            next_step="Keep the futures from `pool.submit` and loop over "
            "`concurrent.futures.as_completed(futures)`.",
        )
    expect_equal(result, AS_READY, call=call,
                 misconception="`as_completed` yields each future as soon as it finishes, so "
                 "the quickest download comes first.",
                 next_step="Loop over `as_completed(futures)` and take `future.result()` "
                 "from each.")
