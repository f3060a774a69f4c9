"""The pytest plugin that runs hidden suites inside the grading child process.

All pytest hooks live here. It provides the ``student`` and ``sim`` fixtures, registers
the ``task`` marker, and writes one JSON line per check to the result channel the
parent opened for this run (never stdout, which student code can flood or forge).

What a check's code prints is part of its record (``output``): students debug with
``print``. pytest's own capture reads whole files back per phase with no size limit
(or is off, depending on the child's arguments), so each phase of a check swaps
``sys.stdout``/``sys.stderr`` for one bounded buffer (:class:`CheckOutput`) inside
pytest's capture windows, and adds anything pytest itself caught on fds 1 and 2 (a
worker process, a C library) after it. The parent treats it as untrusted text.

It is configured by :func:`configure` before ``pytest.main`` starts, because the child
process is the only user and a module-level setting is simpler than plumbing options.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.budgets import (
    AFTER_TROUBLE_CPU_LIMIT,
    AFTER_TROUBLE_TIME_LIMIT,
    RESULT_CHANNEL_BUDGET,
    TIMELINE_OPERATIONS,
    CpuLimitExceeded,
    cpu_limit_for,
)
from grader.child.integrity import Watchlist
from grader.engine.classify import classify_exception
from grader.engine.feedback import Feedback
from grader.engine.frames import student_frame
from grader.engine.simulation import Simulation, StudentAborted
from grader.engine.student import StudentImportError, StudentModule, import_student_module
from grader.engine.virtual_loop import DEADLOCK_GRACE
from grader.protocol import ChildConfig, Event

__all__ = ["OUTPUT_KEPT", "CheckOutput", "configure", "emit"]


@dataclass
class _Settings:
    student_file: Path
    module_name: str
    results_fd: int
    time_limit: float
    confine: Callable[[], list[str]]
    cpu_limit: float


_settings: _Settings | None = None
_watchlist: Watchlist | None = None


def configure(config: ChildConfig, student_file: Path,
              confine: Callable[[], list[str]]) -> None:
    """Called before pytest starts, so the watchlist sees the untouched originals.

    ``student_file`` is ``config.student`` resolved; ``confine`` applies the child's
    protections and returns the ones it could not apply.
    """
    global _settings, _watchlist, _sent
    _sent = 0
    _settings = _Settings(student_file, config.module_name, config.results_fd,
                          config.time_limit, confine, config.cpu_limit)
    _watchlist = Watchlist()
    _spun_in.clear()


_sent = 0  # bytes written on the results channel so far


def emit(record: dict[str, Any]) -> None:
    """Write one record, whole, within the channel's budget.

    A result that would pass :data:`RESULT_CHANNEL_BUDGET` is sent short, as an error
    saying why: the parent reads an overflowing channel as forged, so an honest child
    must never fill it.
    """
    global _sent
    assert _settings is not None
    line = (json.dumps(record, default=str) + "\n").encode()
    if _sent + len(line) > RESULT_CHANNEL_BUDGET and record.get("event") == Event.RESULT:
        line = (json.dumps(_too_large(record)) + "\n").encode()
    view = memoryview(line)
    while view:  # a signal (the CPU watch) can cut a write short
        written = os.write(_settings.results_fd, view)
        view = view[written:]
    _sent += len(line)


def _too_large(record: dict[str, Any]) -> dict[str, Any]:
    return {key: record.get(key) for key in ("event", "check", "task", "duration")} | {
        "status": "error",
        "feedback": Feedback(
            "What this check saw of your code (its return values, printed output and "
            "timeline) was too large to report.",
            next_step="Return and print what the task asks for, not megabytes of data.",
        ).to_dict(),
        "traceback": "",
    }


def check_name(item: pytest.Item) -> str:
    name = getattr(item, "originalname", item.name)
    return name.removeprefix("test_")


def task_number(item: pytest.Item) -> int | None:
    marker = item.get_closest_marker("task")
    if marker is None:
        return None
    return int(marker.args[0] if marker.args else marker.kwargs.get("taskno", 0))


# -- what a check prints --------------------------------------------------------------

OUTPUT_KEPT = 8_000
"""Bytes of one check's output the child keeps and sends. The parent shows fewer
(:data:`grader.supervision.results.OUTPUT_LIMIT`); keeping more lets it say truthfully that there
was more, while a print loop costs a counter, not memory or record space."""


class CheckOutput:
    """Where ``sys.stdout`` and ``sys.stderr`` point while a check runs: :attr:`stream`.

    One buffer for both streams, in the order written, as a terminal would show them.
    The stream is the standard library's C text layer over a raw file that keeps the
    first ``limit`` bytes and only counts the rest, so a print in a tight loop costs
    what printing to a file costs (a Python-level ``write`` per print would spend a
    check's CPU budget on bookkeeping) and memory stays bounded.
    """

    def __init__(self, limit: int = OUTPUT_KEPT) -> None:
        self._head = _Head(limit)
        self.stream = io.TextIOWrapper(io.BufferedWriter(self._head), encoding="utf-8",
                                       errors="backslashreplace")

    def _flush(self) -> None:
        # Closed by the student's code? Closing flushed it.
        with contextlib.suppress(ValueError, OSError):
            self.stream.flush()

    def text(self) -> str:
        """What was kept, ending with how much was not when the limit was reached."""
        self._flush()
        kept = bytes(self._head.kept).decode("utf-8", "replace")
        if self._head.dropped:
            kept += f"\n… ({self._head.dropped:,} more bytes printed)\n"
        return kept

    @property
    def lines(self) -> int:
        """Lines written in all, kept or not, a last one without its newline included."""
        self._flush()
        return self._head.line_ends + (not self._head.ends_line)


class _Head(io.RawIOBase):
    """A write-only raw file that keeps its first ``limit`` bytes and counts the rest."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.kept = bytearray()
        self.dropped = 0
        self.line_ends = 0
        self.ends_line = True  # the last byte written was a newline (or none was)

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        room = max(self.limit - len(self.kept), 0)
        self.kept += chunk[:room]
        self.dropped += max(len(chunk) - room, 0)
        if chunk:
            self.line_ends += chunk.count(b"\n")
            self.ends_line = chunk.endswith(b"\n")
        return len(chunk)


_output_key = pytest.StashKey[CheckOutput]()


def _capture_phase(item: pytest.Item) -> Any:
    """Run one phase with the check's own buffer as ``sys.stdout``/``sys.stderr``.

    Registered ``trylast`` so it runs inside pytest's capture wrapper: that one sets
    the streams to its own files when a phase starts and puts its saved ones back when
    it ends, so a buffer installed outside it would never see a print.
    """
    output = item.stash.setdefault(_output_key, CheckOutput())
    saved = sys.stdout, sys.stderr
    sys.stdout = sys.stderr = output.stream
    try:
        return (yield)
    finally:
        sys.stdout, sys.stderr = saved


pytest_runtest_setup = pytest.hookimpl(wrapper=True, trylast=True)(_capture_phase)
pytest_runtest_call = pytest.hookimpl(wrapper=True, trylast=True)(_capture_phase)
pytest_runtest_teardown = pytest.hookimpl(wrapper=True, trylast=True)(_capture_phase)


def _check_output(item: pytest.Item, report: pytest.TestReport) -> tuple[str, int]:
    """The check's printed output and its length in lines (kept or not): our buffer,
    then what pytest caught on fds 1 and 2."""
    output = item.stash.get(_output_key, None)
    if output is None:  # the check never reached its first phase
        return "", 0
    text, lines = output.text(), output.lines
    for title, content in report.sections:
        if title.startswith(("Captured stdout", "Captured stderr")) and content:
            lines += content.count("\n") + (not content.endswith("\n"))
            room = OUTPUT_KEPT - len(text)
            if room > 0:
                text += content[:room]
    return text, lines


# -- hooks ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "task(n): the task number of the exercise this check grades")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    emit({"event": Event.COLLECTED, "checks": [check_name(i) for i in items]})


def pytest_collection_finish(session: pytest.Session) -> None:
    """The suite is imported; confine the process before any student code runs."""
    assert _settings is not None
    emit({"event": Event.ISOLATION, "unavailable": _settings.confine()})


_timeouts_seen = 0

SPIN_TICK = 0.05
"""CPU seconds between two looks at where a check spends its time, once one has spun.

Code that spun past the CPU limit in one check usually spins again in the next (every
check calls the same unfinished function). After a check was stopped inside a student
function, later checks are sampled every SPIN_TICK; found in the same call of that
function at two ticks in a row, the check is stopped there instead of paying the full
limit again. That call has then run for at least one tick, the whole blocking budget.
"""


@dataclass
class _CpuWatch:
    """CPU budget of the running check; ticks are counted only once a check has spun."""

    ticks_allowed: int
    ticks: int = 0
    last_frame: Any = None


_cpu_watch: _CpuWatch | None = None
_spun_in: set[Any] = set()  # code objects of student functions caught spinning


def _on_cpu_limit(signum: int, frame: Any) -> None:
    """The one-shot limit of a run in which nothing has spun yet."""
    assert _settings is not None
    if (student := student_frame(_settings.student_file, frame)) is not None:
        _spun_in.add(student.f_code)
    raise CpuLimitExceeded()


def _on_spin_tick(signum: int, frame: Any) -> None:
    watch = _cpu_watch
    if watch is None:
        return
    watch.ticks += 1
    if watch.ticks >= watch.ticks_allowed:
        _on_cpu_limit(signum, frame)
    assert _settings is not None
    student = student_frame(_settings.student_file, frame)
    if student is not None and student.f_code in _spun_in and student is watch.last_frame:
        raise CpuLimitExceeded()
    watch.last_frame = student


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item) -> Any:
    global _cpu_watch
    assert _settings is not None
    if _timeouts_seen:
        item.add_marker(pytest.mark.timeout(min(_settings.time_limit, AFTER_TROUBLE_TIME_LIMIT)))
    # CPU time never runs ahead of wall time for one spinning thread, so a CPU limit well
    # under the real-time one fires first (and words the verdict) unless the machine gives
    # this process less than a third of a core (0.5 s of CPU vs 1.5 s once one check hung).
    cpu_limit = cpu_limit_for(_settings.cpu_limit, _settings.time_limit)
    if _timeouts_seen:
        cpu_limit = min(cpu_limit, AFTER_TROUBLE_CPU_LIMIT)
    if _spun_in:
        _cpu_watch = _CpuWatch(ticks_allowed=max(1, round(cpu_limit / SPIN_TICK)))
        signal.signal(signal.SIGPROF, _on_spin_tick)
        signal.setitimer(signal.ITIMER_PROF, SPIN_TICK, SPIN_TICK)
    else:
        signal.signal(signal.SIGPROF, _on_cpu_limit)
        signal.setitimer(signal.ITIMER_PROF, cpu_limit)
    try:
        return (yield)
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        _cpu_watch = None


def pytest_runtest_logstart(nodeid: str, location: Any) -> None:
    emit({"event": Event.START, "check": location[2].split("[")[0].removeprefix("test_")})


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool:
    """Call the check ourselves: what it returns is its observations for the judge.

    A hidden test ends with ``return observed(...)``: plain data the trusted parent
    hands to the suite's ``judge_<check>`` (see :mod:`grader.supervision.judging`).
    """
    arguments = {name: pyfuncitem.funcargs[name]
                 for name in pyfuncitem._fixtureinfo.argnames}
    try:
        returned = pyfuncitem.obj(**arguments)
    except (KeyboardInterrupt, SystemExit) as exc:
        raise StudentAborted(exc) from exc
    pyfuncitem.stash[_observed_key] = returned
    return True


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    phases = item.stash.setdefault(_phases_key, [])
    phases.append((call.when, call.excinfo, report))
    if call.when == "teardown":
        record = _record_for(item, phases)
        tampered = _watchlist.changed() if _watchlist else []
        if tampered:
            record["tampered"] = tampered
            record["status"] = "error"
            record["feedback"] = Feedback(
                f"Your code replaced part of the grading machinery ({', '.join(tampered[:3])}), "
                "so this run cannot be trusted.",
                next_step="Don't patch asyncio, time, pytest or grader objects; solve the "
                "task with the tools it names.",
            ).to_dict()
        if record["status"] == "timed out":
            global _timeouts_seen
            _timeouts_seen += 1
        emit(record)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    tampered = _watchlist.changed() if _watchlist else []
    emit({"event": Event.END, "exitstatus": int(exitstatus), "tampered": tampered})


_phases_key = pytest.StashKey[list]()
_observed_key = pytest.StashKey[Any]()
_sim_key = pytest.StashKey[Simulation]()


def _record_for(item: pytest.Item, phases: list) -> dict[str, Any]:
    assert _settings is not None
    status, feedback, trace = "passed", None, ""
    duration = 0.0
    for when, excinfo, report in phases:
        duration += report.duration
        if status != "passed":
            continue
        if excinfo is not None:
            status, feedback, trace = classify_exception(
                excinfo.value, _settings.student_file, _settings.time_limit
            )
        elif report.skipped and when != "teardown":
            status, feedback = "error", Feedback(
                "The check was skipped from inside your code, so it earns nothing.",
                next_step="Don't call pytest.skip/xfail from your module.",
            )
    sim = item.stash.get(_sim_key, None)
    record: dict[str, Any] = {
        "event": Event.RESULT,
        "check": check_name(item),
        "task": task_number(item),
        "status": status,
        "feedback": feedback.to_dict() if feedback else None,
        "traceback": trace,
        "duration": round(duration, 6),
    }
    if phases:
        record["output"], record["output_lines"] = _check_output(item, phases[-1][2])
    observed = item.stash.get(_observed_key, None)
    if status == "passed" and observed is not None:
        record["observed"] = observed
    if sim is not None and (sim.operations or sim.budget is not None):
        record["sim_elapsed"] = round(sim.elapsed, 6)
        record["timeline"] = _bounded(sim.timeline())
    return record


def _bounded(timeline: dict[str, Any]) -> dict[str, Any]:
    """At most TIMELINE_OPERATIONS operations, the first ones, and how many were left out."""
    operations = timeline["operations"]
    if len(operations) > TIMELINE_OPERATIONS:
        timeline = {**timeline, "operations": operations[:TIMELINE_OPERATIONS],
                    "dropped": len(operations) - TIMELINE_OPERATIONS}
    return timeline


# -- fixtures -------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _student_import() -> Any:
    assert _settings is not None
    emit({"event": Event.IMPORTING})
    module: Any
    try:
        module = import_student_module(_settings.student_file, _settings.module_name)
    except StudentImportError as exc:
        module = exc
    emit({"event": Event.IMPORTED})
    return module


@pytest.fixture
def student(_student_import: Any) -> Any:
    """The student's module; missing names fail with one friendly message."""
    assert _settings is not None
    if isinstance(_student_import, StudentImportError):
        raise StudentImportError(
            _student_import.feedback,
            _student_import.traceback_text,
            timed_out=_student_import.timed_out,
        )
    proxy = StudentModule(_student_import, _settings.student_file)
    yield proxy
    proxy.restore()


@pytest.fixture
def sim(request: pytest.FixtureRequest, student: StudentModule) -> Any:
    """A fresh simulated world (virtual clock, blocking detection) for one check."""
    # The deadlock grace is real time: keep it well inside the check's own time limit.
    assert _settings is not None
    grace = min(DEADLOCK_GRACE, _settings.time_limit / 4)
    simulation = Simulation(student_file=student.path, deadlock_grace=grace)
    simulation.start([student.module])
    request.node.stash[_sim_key] = simulation
    yield simulation
    simulation.finish()
