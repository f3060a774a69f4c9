"""Waiting for another thread on the loop's thread: frozen loop, virtual time, a violation.

The student module is a real file, so its frames are recognised as the student's, as in
a grading.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from grader.engine.simulation import Simulation

STUDENT = '''
import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor


def slow(seconds):
    time.sleep(seconds)
    return seconds


async def join_one(seconds):
    worker = threading.Thread(target=slow, args=(seconds,))
    worker.start()
    worker.join()


async def join_two_side_by_side(seconds):
    workers = [threading.Thread(target=slow, args=(seconds,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()


async def result_of_a_pool_job(seconds):
    with ThreadPoolExecutor(max_workers=2) as pool:
        return pool.submit(slow, seconds).result()


async def three_pool_jobs_awaited(seconds):
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [asyncio.wrap_future(pool.submit(slow, seconds)) for _ in range(3)]
        return await asyncio.gather(*futures)


async def four_pool_jobs_on_two_workers(seconds):
    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [asyncio.wrap_future(pool.submit(slow, seconds)) for _ in range(4)]
        return await asyncio.gather(*futures)


async def wait_for_an_event_nobody_sets(seconds):
    return threading.Event().wait(seconds)


async def awaited_pool_job(seconds):
    loop = asyncio.get_running_loop()
    with ThreadPoolExecutor(max_workers=2) as pool:
        return await loop.run_in_executor(pool, slow, seconds)
'''


@pytest.fixture
def student(tmp_path: Path) -> ModuleType:
    path = tmp_path / "waits.py"
    path.write_text(STUDENT)
    spec = importlib.util.spec_from_file_location("waits", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(student: ModuleType, name: str, seconds: float) -> tuple[Simulation, float]:
    sim = Simulation(student_file=Path(student.__file__))
    sim.start([student])
    started = time.perf_counter()
    try:
        sim.run(getattr(student, name)(seconds))
    finally:
        sim.finish()
    return sim, time.perf_counter() - started


def test_joining_a_thread_freezes_the_loop_for_its_sleep_in_simulated_time(student) -> None:
    sim, real = run(student, "join_one", 2.0)
    assert sim.elapsed == pytest.approx(2.0)
    assert real < 1.0  # the thread's sleep did not happen for real
    [violation] = sim.violations
    assert (violation.kind, violation.seconds, violation.detail) == ("wait", 2.0, "Thread.join()")
    assert violation.where.startswith("waits.py:")


def test_threads_sleeping_side_by_side_overlap(student) -> None:
    sim, _ = run(student, "join_two_side_by_side", 1.5)
    assert sim.elapsed == pytest.approx(1.5)
    assert [v.kind for v in sim.violations] == ["wait"]


def test_waiting_on_a_pool_future_is_named_after_the_call(student) -> None:
    sim, _ = run(student, "result_of_a_pool_job", 0.5)
    assert sim.elapsed == pytest.approx(0.5)
    assert [(v.kind, v.detail) for v in sim.violations] == [("wait", "Future.result()")]


def test_awaiting_the_same_job_blocks_nothing(student) -> None:
    # Leaving the `with` block joins the pool's idle threads: a wait, but no time passes.
    sim, _ = run(student, "awaited_pool_job", 0.5)
    assert sim.elapsed == pytest.approx(0.5)
    assert sim.violations == []


@pytest.mark.parametrize(("name", "simulated"), [
    ("three_pool_jobs_awaited", 0.5),  # side by side
    ("four_pool_jobs_on_two_workers", 1.0),  # two waves
])
def test_jobs_submitted_straight_to_a_pool_run_on_the_virtual_clock(
        student, name: str, simulated: float) -> None:
    # Jobs the loop cannot see sleep for real while the clock stands still (0.0 s).
    sim, _ = run(student, name, 0.5)
    assert sim.elapsed == pytest.approx(simulated)
    assert sim.violations == []


def test_a_timed_wait_nobody_can_end_costs_its_timeout(student) -> None:
    """Run alone (no other thread in the process), as in a grading child."""
    script = f"""
import importlib.util, sys, time
from pathlib import Path
from grader.engine.simulation import Simulation
spec = importlib.util.spec_from_file_location("waits", {student.__file__!r})
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
sim = Simulation(student_file=Path({student.__file__!r}))
sim.start([module])
started = time.perf_counter()
returned = sim.run(module.wait_for_an_event_nobody_sets(3.0))
real = time.perf_counter() - started
sim.finish()
print(returned, round(sim.elapsed, 6), real < 2.0,
      [(v.kind, v.seconds, v.detail) for v in sim.violations])
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60, check=True)
    assert done.stdout.strip() == "False 3.0 True [('wait', 3.0, 'Event.wait()')]"


def test_a_notify_as_a_slice_ends_is_never_lost(monkeypatch: pytest.MonkeyPatch) -> None:
    """One waiter for the whole wait: re-waiting per slice lost notifies (a 5 s hang)."""
    import random
    import threading

    from grader.engine import blocking
    from grader.engine.virtual_loop import VirtualClockLoop

    monkeypatch.setattr(blocking, "WAIT_SLICE", 0.0002)  # many slice ends to race
    loop = VirtualClockLoop()
    condition = threading.Condition()
    rng = random.Random(7)
    try:
        for _ in range(300):
            delay = rng.uniform(0, 0.001)

            def notify_soon(delay: float = delay) -> None:
                time.sleep(delay)
                with condition:
                    condition.notify_all()

            notifier = threading.Thread(target=notify_soon)
            with condition:  # the notifier cannot notify before the wait begins
                notifier.start()
                notified = blocking._sliced_condition_wait(condition, 2.0, loop, "", "")
            notifier.join()
            assert notified
    finally:
        loop.close()
