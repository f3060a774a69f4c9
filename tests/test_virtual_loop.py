"""The virtual-clock loop: simulated time, blocking detection, executor accounting.

These run as pytest-asyncio tests on VirtualClockLoop (see conftest's loop-factory
hook), which also proves the loop works under pytest-asyncio's own loop management.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import subprocess
import sys
import threading
import time

import pytest

from grader.engine.blocking import TimeGuard
from grader.engine.virtual_loop import SimulationDeadlock, VirtualClockLoop


def loop_now() -> float:
    return asyncio.get_running_loop().time()


@pytest.mark.asyncio
async def test_runs_on_the_virtual_loop() -> None:
    assert isinstance(asyncio.get_running_loop(), VirtualClockLoop)


@pytest.mark.asyncio
async def test_sleep_costs_simulated_not_real_time() -> None:
    started_real = time.perf_counter()
    start = loop_now()
    await asyncio.sleep(30)
    assert loop_now() - start == pytest.approx(30)
    assert time.perf_counter() - started_real < 1.0


@pytest.mark.asyncio
async def test_gather_takes_the_longest_not_the_sum() -> None:
    start = loop_now()
    await asyncio.gather(asyncio.sleep(1.0), asyncio.sleep(0.5), asyncio.sleep(0.8))
    assert loop_now() - start == pytest.approx(1.0)


@pytest.mark.asyncio
async def test_wait_for_times_out_exactly_at_the_deadline() -> None:
    start = loop_now()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(asyncio.sleep(10), timeout=2.5)
    assert loop_now() - start == pytest.approx(2.5)


@pytest.mark.asyncio
async def test_cancelled_timer_does_not_drag_the_clock() -> None:
    start = loop_now()
    handle = asyncio.get_running_loop().call_later(100, lambda: None)
    handle.cancel()
    await asyncio.sleep(1)
    assert loop_now() - start == pytest.approx(1)


@pytest.mark.asyncio
async def test_time_sleep_on_the_loop_is_a_violation_that_advances_the_clock() -> None:
    loop = asyncio.get_running_loop()
    guard = TimeGuard(None)
    guard.install()
    try:
        start = loop_now()
        started_real = time.perf_counter()
        time.sleep(2.0)
    finally:
        guard.uninstall()
    assert loop_now() - start == pytest.approx(2.0)
    assert time.perf_counter() - started_real < 0.5
    assert [v.kind for v in loop.violations] == ["sleep"]
    assert loop.violations[0].seconds == 2.0


@pytest.mark.asyncio
async def test_cpu_heavy_step_is_a_violation() -> None:
    loop = asyncio.get_running_loop()

    async def crunch() -> int:
        total = 0
        deadline = time.thread_time() + 0.12
        while time.thread_time() < deadline:
            total += 1
        return total

    await asyncio.create_task(crunch())
    assert any(v.kind == "cpu" and v.where == "crunch()" for v in loop.violations), loop.violations


@pytest.mark.asyncio
async def test_small_steps_are_not_violations() -> None:
    loop = asyncio.get_running_loop()
    for _ in range(50):
        sum(range(1000))
        await asyncio.sleep(0.01)
    assert loop.violations == []


@pytest.mark.asyncio
async def test_time_sleep_in_to_thread_is_a_virtual_sleep() -> None:
    guard = TimeGuard(None)
    guard.install()
    try:
        start = loop_now()
        started_real = time.perf_counter()
        await asyncio.gather(asyncio.to_thread(time.sleep, 1.5), asyncio.sleep(1.0))
    finally:
        guard.uninstall()
    assert loop_now() - start == pytest.approx(1.5)
    assert time.perf_counter() - started_real < 1.0
    assert asyncio.get_running_loop().violations == []


@pytest.mark.asyncio
async def test_small_thread_pool_queues_jobs_without_freezing_the_clock() -> None:
    """Two workers, four 1 s jobs: two waves, 2 s of simulated time, no deadlock."""
    guard = TimeGuard(None)
    guard.install()
    loop = asyncio.get_running_loop()
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
            start = loop_now()
            await asyncio.gather(*(loop.run_in_executor(pool, time.sleep, 1.0) for _ in range(4)))
    finally:
        guard.uninstall()
    assert loop_now() - start == pytest.approx(2.0)


@pytest.mark.asyncio
async def test_clock_waits_for_a_real_thread_job() -> None:
    """A job doing real work finishes 'instantly' in simulated time: the clock waits."""
    start = loop_now()
    result = await asyncio.to_thread(lambda: sum(range(200_000)))
    assert result == sum(range(200_000))
    assert loop_now() - start == pytest.approx(0.0)


def test_waiting_on_nothing_is_a_deadlock_not_a_hang() -> None:
    async def stuck() -> None:
        await asyncio.Event().wait()

    loop = VirtualClockLoop(deadlock_grace=0.2)
    started = time.perf_counter()
    try:
        with pytest.raises(SimulationDeadlock):
            loop.run_until_complete(stuck())
    finally:
        loop.close()
    assert time.perf_counter() - started < 2.0


def test_task_cancelled_but_not_awaited_counts_as_left_running() -> None:
    from grader.engine.simulation import Simulation

    async def cancels_without_waiting() -> None:
        task = asyncio.create_task(asyncio.sleep(10))
        await asyncio.sleep(0)
        task.cancel()

    sim = Simulation()
    sim.start()
    try:
        sim.run(cancels_without_waiting())
        assert len(sim.pending_tasks()) == 1
    finally:
        sim.finish()


@pytest.mark.asyncio
async def test_clocks_read_virtual_time_inside_the_simulation() -> None:
    guard = TimeGuard(None)
    guard.install()
    try:
        start = time.monotonic()
        await asyncio.sleep(2.5)
        assert time.monotonic() - start == pytest.approx(2.5)
        assert time.perf_counter_ns() > 0
        in_thread = await asyncio.to_thread(time.monotonic)
        assert in_thread - start == pytest.approx(2.5)
    finally:
        guard.uninstall()
    assert time.monotonic is not None and time.monotonic.__module__ == "time"


def test_waiting_forever_in_sim_run_is_a_deadlock() -> None:
    from grader.engine.simulation import Simulation

    sim = Simulation()
    sim.start()
    sim.loop.deadlock_grace = 0.1
    try:
        with pytest.raises(SimulationDeadlock):
            sim.run(asyncio.Event().wait())
    finally:
        sim.finish()


def test_module_level_lock_works_in_every_check() -> None:
    import types

    from grader.engine.simulation import Simulation

    module = types.ModuleType("student")
    module.lock = asyncio.Lock()

    async def use_lock() -> None:
        async with module.lock:
            await asyncio.sleep(0.1)

    async def contend() -> None:
        await asyncio.gather(use_lock(), use_lock())

    for _ in range(2):  # a fresh loop per check, like the plugin does
        sim = Simulation()
        sim.start([module])
        try:
            sim.run(contend())
            assert sim.elapsed == pytest.approx(0.2)
        finally:
            sim.finish()


def test_cpu_violation_names_the_student_coroutine_not_the_harness() -> None:
    from grader.engine.simulation import Simulation

    async def crunch_numbers() -> int:
        total = 0
        deadline = time.thread_time() + 0.12
        while time.thread_time() < deadline:
            total += 1
        await asyncio.sleep(0)
        return total

    sim = Simulation()
    sim.start()
    try:
        sim.run(crunch_numbers())
        assert [v.where for v in sim.violations if v.kind == "cpu"] == ["crunch_numbers()"]
    finally:
        sim.finish()


def test_a_deadlock_nothing_outside_could_end_is_reported_at_once() -> None:
    """One thread, no fds, no signal handlers: waiting out a grace period proves nothing."""
    script = (
        "import asyncio, time\n"
        "from grader.engine.virtual_loop import SimulationDeadlock, VirtualClockLoop\n"
        "loop = VirtualClockLoop(deadlock_grace=10.0)\n"
        "started = time.perf_counter()\n"
        "try:\n"
        "    loop.run_until_complete(asyncio.Event().wait())\n"
        "except SimulationDeadlock:\n"
        "    print(f'deadlock after {time.perf_counter() - started:.3f} s')\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    seconds = float(done.stdout.split()[2])
    assert seconds < 5.0, done.stdout


def test_a_thread_that_may_still_wake_the_loop_gets_the_grace_period() -> None:
    async def woken_from_a_plain_thread() -> str:
        loop = asyncio.get_running_loop()
        event = asyncio.Event()

        def later() -> None:
            time.sleep(0.3)
            loop.call_soon_threadsafe(event.set)

        threading.Thread(target=later).start()
        await event.wait()
        return "woken"

    loop = VirtualClockLoop(deadlock_grace=5.0)
    try:
        assert loop.run_until_complete(woken_from_a_plain_thread()) == "woken"
    finally:
        loop.close()


# -- CPU on the loop's thread moves the clock -------------------------------------------


def burn(seconds: float) -> None:
    deadline = time.thread_time() + seconds
    while time.thread_time() < deadline:
        pass


@pytest.mark.asyncio
async def test_a_step_s_cpu_moves_the_clock_in_whole_quanta() -> None:
    from grader.engine.virtual_loop import CPU_QUANTUM

    start = loop_now()
    burn(CPU_QUANTUM * 4.5)  # read before the step ends: the CPU used so far
    during = loop_now() - start
    await asyncio.sleep(0)  # the step ends: its whole cost is charged
    after = loop_now() - start
    assert during == pytest.approx(CPU_QUANTUM * 4)
    assert after >= during
    assert after == pytest.approx(CPU_QUANTUM * 4) or after == pytest.approx(CPU_QUANTUM * 5)


@pytest.mark.asyncio
async def test_ordinary_steps_leave_the_clock_exact() -> None:
    start = loop_now()
    for _ in range(200):
        sum(range(200))
        await asyncio.sleep(0.01)
    assert loop_now() - start == pytest.approx(2.0, abs=1e-9)


def test_a_loop_pacing_itself_by_the_clock_yields_inside_the_budget() -> None:
    """Yield once 5 ms of perf_counter have passed: real code's way to share the loop."""
    from grader.engine.simulation import Simulation
    from grader.engine.virtual_loop import CPU_QUANTUM

    async def crunch(total_cpu: float) -> int:
        slices = 0
        spent = time.thread_time() + total_cpu
        while time.thread_time() < spent:
            started = time.perf_counter()
            while time.perf_counter() - started < 0.005:
                burn(0.0005)
            slices += 1
            await asyncio.sleep(0)
        return slices

    async def heartbeat(beats: list[float]) -> None:
        for _ in range(5):
            beats.append(asyncio.get_running_loop().time())
            await asyncio.sleep(0.005)

    async def both(beats: list[float]) -> int:
        slices, _ = await asyncio.gather(crunch(0.12), heartbeat(beats))
        return slices

    sim = Simulation()
    sim.start()
    beats: list[float] = []
    try:
        slices = sim.run(both(beats))
    finally:
        sim.finish()
    assert sim.violations == []
    assert slices >= 12  # 120 ms of CPU in slices of about 5 ms
    # Each slice is on the clock: a whole number of quanta, one (or two, where a float
    # reading lands a hair short of "5 ms have passed") per slice.
    quanta = sim.elapsed / CPU_QUANTUM
    assert quanta == pytest.approx(round(quanta))
    assert slices <= round(quanta) <= 2 * slices
    assert beats == sorted(beats) and len(beats) == 5


def test_the_clocks_never_go_back_across_a_step() -> None:
    from grader.engine.simulation import Simulation

    readings: list[float] = []

    async def read_while_busy() -> None:
        for _ in range(4):
            for _ in range(5):
                burn(0.002)
                readings.append(time.monotonic())
            await asyncio.sleep(0)

    sim = Simulation()
    sim.start()
    try:
        sim.run(read_while_busy())
    finally:
        sim.finish()
    assert readings == sorted(readings)
    assert readings[-1] - readings[0] >= 0.025  # 40 ms of CPU, less the quanta in flight


def test_a_cpu_violation_is_placed_where_its_step_began() -> None:
    from grader.engine.simulation import Simulation

    async def crunch() -> None:
        await asyncio.sleep(1.0)
        burn(0.08)
        await asyncio.sleep(0)

    sim = Simulation()
    sim.start()
    try:
        sim.run(crunch())
    finally:
        sim.finish()
    assert [(v.kind, v.at) for v in sim.violations] == [("cpu", pytest.approx(1.0))]
    assert sim.elapsed == pytest.approx(1.08, abs=0.006)


def test_a_poll_with_a_zero_timeout_ends_on_the_loop_thread() -> None:
    """multiprocessing.connection.wait(timeout=0) loops until the clock passes its deadline."""
    import multiprocessing.connection

    from grader.engine.simulation import Simulation

    async def poll_once() -> list:
        reader, writer = multiprocessing.Pipe(duplex=False)
        try:
            return multiprocessing.connection.wait([reader], timeout=0)
        finally:
            reader.close()
            writer.close()

    sim = Simulation()
    sim.start()
    try:
        assert sim.run(poll_once()) == []
    finally:
        sim.finish()


# -- a job that hands a coroutine back to the loop ---------------------------------------


@pytest.mark.asyncio
async def test_a_job_waiting_on_run_coroutine_threadsafe_lets_the_clock_jump() -> None:
    loop = asyncio.get_running_loop()

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(5.0)
        return a + b

    def job() -> int:
        return asyncio.run_coroutine_threadsafe(add(1, 2), loop).result(timeout=30)

    start = loop_now()
    started_real = time.perf_counter()
    assert await loop.run_in_executor(None, job) == 3
    assert loop_now() - start == pytest.approx(5.0)
    assert time.perf_counter() - started_real < 5.0


@pytest.mark.asyncio
async def test_a_job_that_polls_the_coroutine_is_still_working() -> None:
    """Until the job blocks on the answer, its real work holds the clock (CPython's own
    test_run_coroutine_threadsafe_with_timeout failed under load before)."""
    loop = asyncio.get_running_loop()

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0.05)
        return a + b

    def job() -> str:
        future = asyncio.run_coroutine_threadsafe(add(1, 2), loop)
        burn(0.05)  # a slow thread: the loop must not jump past the sleep meanwhile
        try:
            return f"answered {future.result(timeout=0)}"
        except concurrent.futures.TimeoutError:
            return "not yet"
        finally:
            future.cancel()

    assert await loop.run_in_executor(None, job) == "not yet"


@pytest.mark.asyncio
@pytest.mark.parametrize("how", ["wait", "as_completed", "exception"])
async def test_every_blocking_wait_on_the_answer_lets_the_clock_jump(how: str) -> None:
    loop = asyncio.get_running_loop()

    async def add(a: int, b: int) -> int:
        await asyncio.sleep(5.0)
        return a + b

    def job() -> int:
        future = asyncio.run_coroutine_threadsafe(add(1, 2), loop)
        if how == "wait":
            concurrent.futures.wait([future], timeout=30)
        elif how == "as_completed":
            next(concurrent.futures.as_completed([future], timeout=30))
        else:
            assert future.exception(timeout=30) is None
        return future.result(timeout=0)

    start = loop_now()
    started_real = time.perf_counter()
    assert await loop.run_in_executor(None, job) == 3
    assert loop_now() - start == pytest.approx(5.0)
    assert time.perf_counter() - started_real < 5.0


@pytest.mark.asyncio
async def test_once_answered_the_job_holds_the_clock_again() -> None:
    loop = asyncio.get_running_loop()
    timer_fired_at: list[float] = []

    async def quick() -> int:
        await asyncio.sleep(1.0)
        return 1

    def job() -> int:
        value = asyncio.run_coroutine_threadsafe(quick(), loop).result(timeout=30)
        burn(0.02)  # real work after the answer: the clock waits for it
        return value

    loop.call_later(1.5, lambda: timer_fired_at.append(loop_now()))
    start = loop_now()
    assert await loop.run_in_executor(None, job) == 1
    assert loop_now() - start == pytest.approx(1.0)
    assert timer_fired_at == []


def test_a_step_stopped_from_outside_leaves_the_clock_alone() -> None:
    """The CPU limit stops a spinning step at a moment set by load: no measure of the code."""
    from grader.engine.simulation import Simulation

    class Stopped(BaseException):  # like the plugin's CpuLimitExceeded
        pass

    async def spin_until_stopped() -> None:
        await asyncio.sleep(1.0)
        burn(0.03)
        raise Stopped()

    sim = Simulation()
    sim.start()
    try:
        with pytest.raises(Stopped):
            sim.run(spin_until_stopped())
    finally:
        sim.finish()
    assert sim.elapsed == pytest.approx(1.0, abs=1e-9)


def test_garbage_collection_is_not_charged_to_the_step() -> None:
    import gc

    from grader.engine.virtual_loop import _step_cpu

    junk = [[i] for i in range(300_000)]
    loop = VirtualClockLoop()  # the collector is watched while a loop is open
    try:
        before = _step_cpu()
        for _ in range(5):
            gc.collect()
        assert _step_cpu() - before < 0.002
    finally:
        loop.close()
    del junk
    assert all(getattr(c, "__module__", "") != "grader.engine.virtual_loop" for c in gc.callbacks)


# -- sets of tasks -------------------------------------------------------------------------


def _done_set_order(junk: int) -> list[str]:
    """The order a student's ``for task in done`` sees, after ``junk`` allocations."""
    kept = [object() for _ in range(junk)]  # moves every later address
    loop = VirtualClockLoop()
    try:
        async def job(i: int) -> int:
            await asyncio.sleep(0.1 * (i % 3))
            return i

        async def main() -> list[str]:
            tasks = [asyncio.create_task(job(i), name=f"job{i}") for i in range(10)]
            done, _ = await asyncio.wait(tasks)
            return [task.get_name() for task in done]

        return loop.run_until_complete(main())
    finally:
        loop.close()
        del kept


def test_a_set_of_tasks_iterates_the_same_way_whatever_the_addresses() -> None:
    """Hashes follow creation, so a set's order cannot differ between two gradings."""
    orders = {tuple(_done_set_order(junk)) for junk in (0, 1, 7, 1000, 4321)}
    assert len(orders) == 1
    (order,) = orders
    assert sorted(order) == sorted(f"job{i}" for i in range(10))
    # ... and it is not creation order, so code that relies on it still fails.
    assert list(order) != [f"job{i}" for i in range(10)]


def test_a_task_factory_of_the_students_is_used_as_it_is() -> None:
    loop = VirtualClockLoop()
    made: list[asyncio.Task] = []

    def factory(loop: asyncio.AbstractEventLoop, coro, **kwargs):  # type: ignore[no-untyped-def]
        task = asyncio.Task(coro, loop=loop, **kwargs)
        made.append(task)
        return task

    async def nothing() -> None:
        pass

    try:
        loop.set_task_factory(factory)
        task = loop.create_task(nothing())
        loop.run_until_complete(task)
        assert made == [task] and type(task) is asyncio.Task
    finally:
        loop.close()


def test_a_spin_is_placed_at_its_loop_header(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Which line of a spinning loop the CPU limit catches is chance; the header is not."""
    from grader.engine.frames import loop_header

    source = tmp_path / "spin.py"
    source.write_text("def f(done):\n"
                      "    total = 0\n"
                      "    while not done():\n"
                      "        total += 1\n"
                      "        for _ in range(3):\n"
                      "            pass\n"
                      "    return total\n")
    assert [loop_header(str(source), n) for n in range(1, 8)] == [1, 2, 3, 3, 5, 5, 7]
    assert loop_header(str(tmp_path / "missing.py"), 4) == 4
