"""The child's CPU watch: a function caught spinning once is not waited out again.

The signal handlers are called directly with the frames a SIGPROF would interrupt, so
the decisions are tested without depending on how fast this machine spins.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from grader.budgets import DEFAULT_CPU_LIMIT
from grader.child import plugin
from grader.protocol import ChildConfig

STUDENT_CODE = """
def spin(tick, times=2):
    for _ in range(times):
        tick()

def other(tick, times=2):
    for _ in range(times):
        tick()
"""


@pytest.fixture
def student_functions(tmp_path: Path) -> Iterator[dict[str, Callable]]:
    student = tmp_path / "work.py"
    config = ChildConfig(suite="", student=str(student), module_name="work", time_limit=5.0,
                         cpu_limit=DEFAULT_CPU_LIMIT)
    plugin.configure(config, student, confine=lambda: [])
    namespace: dict[str, Callable] = {}
    exec(compile(STUDENT_CODE, str(student), "exec"), namespace)
    yield namespace
    plugin._cpu_watch = None
    plugin._spun_in.clear()
    plugin._settings = None


def limit_reached() -> None:
    plugin._on_cpu_limit(signal.SIGPROF, sys._getframe(1))


def tick() -> None:
    plugin._on_spin_tick(signal.SIGPROF, sys._getframe(1))


def test_the_limit_remembers_the_student_function_it_stopped(student_functions) -> None:
    with pytest.raises(plugin.CpuLimitExceeded):
        student_functions["spin"](limit_reached)
    assert [code.co_name for code in plugin._spun_in] == ["spin"]


def test_a_call_of_that_function_still_running_a_tick_later_is_stopped(
        student_functions) -> None:
    with pytest.raises(plugin.CpuLimitExceeded):
        student_functions["spin"](limit_reached)
    plugin._cpu_watch = plugin._CpuWatch(ticks_allowed=10)
    with pytest.raises(plugin.CpuLimitExceeded):
        student_functions["spin"](tick)
    assert plugin._cpu_watch.ticks == 2


def test_other_functions_and_separate_short_calls_are_left_alone(student_functions) -> None:
    with pytest.raises(plugin.CpuLimitExceeded):
        student_functions["spin"](limit_reached)
    plugin._cpu_watch = plugin._CpuWatch(ticks_allowed=10)
    student_functions["other"](tick)  # never caught spinning
    student_functions["spin"](tick, times=1)  # two calls, each shorter than a tick
    student_functions["spin"](tick, times=1)
    assert plugin._cpu_watch.ticks == 4


def test_the_full_limit_still_applies_once_ticks_run_out(student_functions) -> None:
    plugin._spun_in.add(object())  # some other function spun earlier
    plugin._cpu_watch = plugin._CpuWatch(ticks_allowed=3)
    student_functions["other"](tick)
    with pytest.raises(plugin.CpuLimitExceeded):
        student_functions["other"](tick)
    assert [code.co_name for code in plugin._spun_in if hasattr(code, "co_name")] == ["other"]
