"""Noticing student code that tampers with the machinery deciding its grade.

Student code runs in the same process as the hidden checks, so it can reach anything:
replace ``asyncio.sleep`` with a no-op so a sequential solution looks concurrent, swap
the loop's clock, patch pytest's reporting or our own ``fail``. We take the identity of
every object a verdict depends on before the student's module is imported and compare
after each check; any difference marks the run as tampered, which the parent turns into
zero points and a "flagged for review" note.

This is one layer, not a proof: a patch that restores itself before the comparison can
slip past it. The checks that earn points are re-run outside the student's process by
the parent's judges, the static screen refuses the constructs such patches need, and
the sandbox keeps anything from persisting; see docs/security.md.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Watchlist", "missing_names"]

_WATCHED: dict[str, tuple[str, ...]] = {
    "builtins": ("isinstance", "type", "len", "repr", "sorted", "zip", "all", "any", "getattr",
                 "hasattr", "print", "str", "list", "dict", "tuple", "float", "int", "bool"),
    "time": ("monotonic", "perf_counter", "time", "thread_time", "process_time"),
    "os": ("write", "_exit", "getpid"),
    "json": ("dumps", "loads"),
    "asyncio": ("sleep", "gather", "wait_for", "wait", "create_task", "get_running_loop",
                "current_task", "all_tasks", "timeout", "Task", "Future", "TaskGroup"),
    "asyncio.tasks": ("sleep", "gather", "wait_for", "wait", "all_tasks", "current_task"),
    "asyncio.base_events": ("BaseEventLoop",),
    "grader.engine.virtual_loop": ("VirtualClockLoop", "_real_thread_time", "current_job"),
    "grader.engine.asyncio_internals": ("SteppedLoop", "SteppedHandle", "loop_thread_id",
                                        "has_ready_callbacks", "next_timer_when",
                                        "handle_callback"),
    "grader.engine.blocking": ("TimeGuard", "locate_in_student_code", "student_call"),
    "grader.engine.frames": ("student_frame", "locate_in_student_code", "student_call",
                             "same_file", "is_grader_code"),
    "grader.engine.simulation": ("Simulation",),
    "grader.engine.fake_io": ("FakeIO",),
    "grader.engine.feedback": ("fail", "CheckFailed", "Feedback"),
    "grader.engine.exceptions": ("CheckFailed", "StudentImportError", "MissingName",
                                 "StudentAborted", "SimulationDeadlock", "LoopThreadStuck"),
    "grader.engine.expectations": ("expect_equal", "expect_elapsed_at_most",
                                   "expect_no_blocking", "expect_no_pending_tasks",
                                   "expect_all_awaited", "expect_peak_at_most", "same_value",
                                   "run_and_cancel", "ran_one_after_another", "fail"),
    "grader.suite": ("fail", "expect_equal", "expect_elapsed_at_most", "expect_no_blocking",
                     "expect_no_pending_tasks", "expect_all_awaited", "same_value", "FakeIO"),
    "grader.child.plugin": ("emit", "_record_for", "classify_exception",
                            "pytest_runtest_makereport", "pytest_pyfunc_call",
                            "pytest_runtest_protocol"),
    "grader.engine.classify": ("classify_exception",),
    "_pytest.runner": ("call_and_report", "CallInfo", "runtestprotocol"),
    "_pytest.reports": ("TestReport",),
    "_pytest.python": ("Function", "pytest_pyfunc_call"),
    "_pytest.outcomes": ("fail", "skip", "exit", "Failed", "Skipped"),
}

# Methods on watched classes: a patched method is as good as a patched function.
_WATCHED_METHODS: dict[str, tuple[str, ...]] = {
    "grader.engine.virtual_loop.VirtualClockLoop": ("time", "_before_iteration",
                                                    "run_in_executor", "_run_step", "advance",
                                                    "record_sleep_violation"),
    "grader.engine.asyncio_internals.SteppedLoop": ("_run_once", "_call_soon"),
    "grader.engine.asyncio_internals.SteppedHandle": ("_run",),
    "grader.engine.simulation.Simulation": ("run", "pending_tasks", "never_awaited",
                                            "timeline", "_watched"),
    "grader.engine.fake_io.FakeIO": ("operation", "fetch"),
    "grader.engine.blocking.TimeGuard": ("sleep", "install"),
    "_pytest.python.Function": ("runtest",),
    "_pytest.reports.TestReport": ("from_item_and_call", "__init__"),
    "_pytest.runner.CallInfo": ("from_call",),
    "asyncio.base_events.BaseEventLoop": ("run_until_complete", "call_at", "call_later",
                                          "create_task"),
}


def missing_names() -> list[str]:
    """Watched names this Python and pytest do not have: each is a gap in the watch.

    Tolerated at grading time (a name may exist only on some versions), but the project's
    tests fail on any, so a rename upstream is noticed instead of skipped silently.
    """
    missing = []
    for module_name, names in _WATCHED.items():
        module = importlib.import_module(module_name)
        missing += [f"{module_name}.{n}" for n in names if not hasattr(module, n)]
    for owner, names in _WATCHED_METHODS.items():
        cls = _resolve(owner)
        missing += [f"{owner}.{n}" for n in names if n not in vars(cls)]
    return missing


def _resolve(dotted: str) -> Any:
    module_name, _, attr = dotted.rpartition(".")
    return getattr(importlib.import_module(module_name), attr)


class Watchlist:
    """The objects verdicts depend on, held as taken before student code runs.

    Holding the originals (not their ids) matters: a replaced function with no other
    reference would be freed, and its id could be reused by the replacement.
    """

    def __init__(self) -> None:
        self._expected: dict[str, object] = {}
        for module_name, names in _WATCHED.items():
            module = importlib.import_module(module_name)
            for name in names:
                if hasattr(module, name):
                    self._expected[f"{module_name}.{name}"] = getattr(module, name)
        for owner, names in _WATCHED_METHODS.items():
            cls = _resolve(owner)
            for name in names:
                if name in vars(cls):
                    self._expected[f"{owner}.{name}"] = vars(cls)[name]

    def changed(self) -> list[str]:
        """Dotted names whose object is no longer the one seen at start-up."""
        changed = []
        for dotted, expected in self._expected.items():
            owner, _, name = dotted.rpartition(".")
            try:
                if owner in _WATCHED_METHODS:
                    current = vars(_resolve(owner)).get(name)
                else:
                    current = getattr(importlib.import_module(owner), name, None)
            except Exception:
                current = None
            if current is not expected:
                changed.append(dotted)
        return changed
