"""Grading one module against one exercise's hidden suite, in a child process.

The parent never trusts the child to finish or to tell the truth about what it did not
report: the check list comes from the exercise metadata, a check the child never
reported gets a status from how the child ended (killed for time, crashed by a signal,
exited early), and only ``passed`` earns points.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course import Exercise
from grader.errors import GraderError, MissingFileError
from grader.feedback import Feedback
from grader.isolation import Limits
from grader.launcher import ChildHandle, launch
from grader.precompiled import copy_with_bytecode
from grader.results import STATUSES, CheckResult, GradeResult
from grader.sandbox import join_cgroup, pids_cgroup

__all__ = ["GradingCancelled", "grade_file", "hard_time_limit"]

OUTPUT_TAIL = 4000  # characters of the child's output kept for diagnostics
AFTER_CRASH_LIMIT = 1.5  # real seconds per check when resuming after a crash or hang
CHECK_GRACE = 2.0  # real seconds past a check's limit before the parent stops the child
POLL_INTERVAL = 0.05

_SIGNAL_MEANINGS = {
    signal.SIGSEGV: "crashed the Python interpreter (segmentation fault)",
    signal.SIGBUS: "crashed the Python interpreter (bus error)",
    signal.SIGABRT: "made the Python interpreter abort",
    signal.SIGKILL: "was killed by the system, most likely for using too much memory",
    signal.SIGXCPU: "used more CPU time than allowed",
}


@dataclass
class _ChildOutcome:
    records: list[dict[str, Any]]
    returncode: int | None
    killed_for_time: bool
    output_tail: str


def hard_time_limit(time_limit: float, checks: int) -> float:
    """Real seconds before the child's process group is killed: the outer safety net."""
    return 10.0 + (time_limit + CHECK_GRACE) * (checks + 1)


class GradingCancelled(Exception):
    """Raised by grade_file when its ``cancel`` event was set; nothing was graded."""


def grade_file(exercise: Exercise, module_file: Path, *, limits: Limits | None = None,
               time_limit: float | None = None,
               cancel: threading.Event | None = None) -> GradeResult:
    """Run ``exercise``'s hidden suite against ``module_file`` and return the verdict.

    ``time_limit`` overrides the exercise's real-time limit per check (tests use a small
    one so hang fixtures stay fast). Setting ``cancel`` (from another thread) stops the
    grading child at once and raises :class:`GradingCancelled`.
    """
    if not module_file.is_file():
        raise MissingFileError(
            f"{module_file} does not exist. Check the path, or run 'grade reset' to restore it."
        )
    suite = exercise.suite_file
    if not suite.is_file():
        raise MissingFileError(f"The hidden tests for {exercise.name} are missing ({suite}).")
    meta = exercise.meta
    per_check = time_limit or meta.time_limit
    cpu_limit = min(meta.cpu_limit, per_check / 2)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        workdir = Path(tmp)
        suite_copy = workdir / "suite" / suite.name
        suite_copy.parent.mkdir()
        copy_with_bytecode(suite, suite_copy)
        canary = _plant_canary(suite_copy.parent)
        # Grade a copy under the module's own name: the original can sit anywhere (even
        # in a folder hidden from student code) and is never touched by the run.
        submission = workdir / "submission" / meta.module
        submission.parent.mkdir()
        shutil.copyfile(module_file, submission)
        reported, lost, unavailable, suspicious = _run_until_every_check_has_a_verdict(
            workdir, suite_copy, canary, submission, Path(meta.module).stem,
            [c.name for c in meta.checks], per_check, cpu_limit, limits or Limits(),
            _hidden_from_students(exercise), cancel,
        )
    notes = [f"protection not available: {what}" for what in unavailable]
    checks = _accept(exercise, reported, lost)
    if suspicious:
        notes.insert(0, "flagged for review: " + "; ".join(sorted(set(suspicious))))
        checks = [_flagged(c) for c in checks]
    return GradeResult(
        exercise=exercise.name,
        title=meta.title,
        graded_file=str(module_file),
        checks=tuple(checks),
        duration=time.perf_counter() - started,
        notes=tuple(notes),
    )


def _hidden_from_students(exercise: Exercise) -> tuple[Path, ...]:
    """Folders the student's code must not read: hidden suites, solutions, fixtures."""
    root = exercise.course_root
    metas = tuple(p for p in (root / "exercises").glob("*/.meta") if p.is_dir())
    return (*metas, root / "solutions", root / "tests")


def _plant_canary(suite_dir: Path) -> Path:
    """A check that must fail; one reported as passing means the reporting was forged."""
    name = f"test_{secrets.token_hex(8)}"
    path = suite_dir / f"{name}.py"
    path.write_text(
        "from grader.feedback import fail\n\n\n"
        f"def {name}():\n    fail('planted check: it must fail')\n"
    )
    return path


def _flagged(check: CheckResult) -> CheckResult:
    return dataclasses.replace(
        check, status="error", points=0,
        feedback=Feedback(
            "Flagged for review: this run's results show signs of tampering (forged or "
            "duplicated results, or patched grading code), so no points were given.",
            next_step="Solve the task without touching the grader, pytest, asyncio or time "
            "internals. If you think this is a mistake, ask your instructor.",
        ),
        traceback="",
    )


def _run_until_every_check_has_a_verdict(
    workdir: Path, suite: Path, canary: Path, module_file: Path, module_name: str,
    checks: list[str], time_limit: float, cpu_limit: float, limits: Limits,
    hidden: tuple[Path, ...], cancel: threading.Event | None,
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, Feedback]], list[str], list[str]]:
    """Run the suite; if the child dies mid-way, blame the running check and resume.

    A crash (``os._exit``, a segfault, a hard kill for time) in one check must not cost
    the checks that never got to run, so they are run again in a fresh child. A crash
    while importing the module is every check's verdict: re-running would crash again.
    """
    reported: dict[str, dict[str, Any]] = {}
    lost: dict[str, tuple[str, Feedback]] = {}
    remaining = list(checks)
    unavailable: list[str] = []
    suspicious: list[str] = []
    canary_name = canary.stem.removeprefix("test_")
    for attempt in range(len(checks) + 1):
        limit = time_limit if attempt == 0 else min(time_limit, AFTER_CRASH_LIMIT)
        outcome = _run_child(
            workdir, suite, canary, module_file, module_name, remaining,
            time_limit=limit, cpu_limit=min(cpu_limit, limit / 2),
            hard_limit=hard_time_limit(limit, len(remaining)), limits=limits,
            hidden=hidden, cancel=cancel,
        )
        events = [r.get("event") for r in outcome.records]
        if "collected" not in events and not outcome.killed_for_time:
            # No student code runs before collection: this failure is ours (or the suite's).
            last = outcome.output_tail.strip().splitlines()[-1:] or ["no output"]
            raise GraderError(
                f"The grader could not run the hidden tests ({last[0][:200]}). "
                "This is not your code's fault: reinstall with 'pip install -e .' or report it."
            )
        suspicious += _suspicious(outcome.records, remaining, canary_name)
        for record in outcome.records:
            if record.get("event") == "isolation" and not unavailable:
                unavailable = [str(u) for u in record.get("unavailable") or []]
            name = record.get("check")
            if record.get("event") == "result" and name in remaining:
                reported.setdefault(name, record)
        if "end" in events:
            for name in remaining:
                if name not in reported:  # e.g. pytest.exit() called from student code
                    lost[name] = ("error", Feedback(
                        "The grading session was ended from inside your code before this "
                        "check could report.",
                        next_step="Don't call pytest or exit functions from your module.",
                    ))
            break
        verdict = _why_child_stopped(outcome)
        if "importing" in events and "imported" not in events:
            for name in remaining:
                if name not in reported:
                    lost[name] = verdict
            break
        started = [r.get("check") for r in outcome.records if r.get("event") == "start"]
        culprit = next((n for n in reversed(started) if n not in reported), None)
        if culprit is None or culprit not in remaining:
            for name in remaining:
                if name not in reported:
                    lost[name] = verdict
            break
        lost[culprit] = verdict
        remaining = [n for n in remaining if n not in reported and n not in lost]
        if not remaining:
            break
    return reported, lost, unavailable, suspicious


def _suspicious(records: list[dict[str, Any]], expected: list[str], canary: str) -> list[str]:
    """Evidence that a child's report was forged; empty for an honest run."""
    evidence = []
    seen: set[str] = set()
    canary_status = None
    for record in records:
        if record.get("tampered"):
            patched = ", ".join(map(str, record["tampered"]))
            evidence.append(f"grading code was patched: {patched[:200]}")
        if record.get("event") != "result":
            continue
        name = record.get("check")
        if name == canary:
            canary_status = record.get("status")
        elif name not in expected:
            evidence.append(f"a result for an unknown check ({str(name)[:40]})")
        elif name in seen:
            evidence.append(f"two results for check {name}")
        seen.add(str(name))
    if any(r.get("event") == "end" for r in records) and canary_status != "failed":
        evidence.append("the planted check did not fail")
    return evidence


def _run_child(workdir: Path, suite: Path, canary: Path, module_file: Path, module_name: str,
               checks: list[str], *, time_limit: float, cpu_limit: float,
               hard_limit: float, limits: Limits, hidden: tuple[Path, ...],
               cancel: threading.Event | None = None) -> _ChildOutcome:
    results_path = workdir / "results.jsonl"
    output_path = workdir / "output.txt"
    # A fresh channel per child: a crash can never leave an earlier run's lines behind.
    results_path.unlink(missing_ok=True)
    output_path.write_bytes(b"")
    results_fd = os.open(results_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    killed_for_time = False
    try:
        with pids_cgroup(limits.processes) as cgroup:
            argv = [
                "--suite", str(suite),
                "--student", str(module_file),
                "--module-name", module_name,
                "--time-limit", str(time_limit),
                "--cpu-limit", str(cpu_limit),
                "--only", ",".join(checks),
                "--canary", str(canary),
                *(arg for path in hidden for arg in ("--hide", str(path))),
                "--limits", json.dumps(dataclasses.asdict(limits)),
                *(["--cgroup", str(cgroup)] if cgroup else []),
            ]
            process = launch(argv, workdir, output_path, results_path, results_fd)
            if cgroup is not None:
                join_cgroup(cgroup, process.pid)  # the child checks, and joins if this failed
            try:
                killed_for_time = _watch(process, results_path, time_limit, hard_limit,
                                         cancel)
            finally:
                _kill_group(process)  # also reaps anything the student left running
                process.wait()
    finally:
        os.close(results_fd)
    return _ChildOutcome(
        records=_read_records(results_path),
        returncode=process.returncode,
        killed_for_time=killed_for_time,
        output_tail=_tail(output_path),
    )


def _watch(process: ChildHandle, results_path: Path, time_limit: float,
           hard_limit: float, cancel: threading.Event | None) -> bool:
    """Wait for the child; True if it had to be stopped for time.

    pytest-timeout's SIGALRM ends ordinary hangs inside the child. This catches the rest
    (signals blocked, a C call that never returns) per check rather than per run: when a
    check or the import has been running for its limit plus a grace period, the child
    is stopped and only that check is blamed.
    """
    started = time.monotonic()
    overrun = time_limit + CHECK_GRACE
    running_since: float | None = None
    offset = 0
    while True:
        try:
            process.wait(timeout=POLL_INTERVAL)
            return False
        except subprocess.TimeoutExpired:
            pass
        if cancel is not None and cancel.is_set():
            _kill_group(process)
            raise GradingCancelled("grading cancelled")
        now = time.monotonic()
        offset, events = _new_events(results_path, offset)
        for event in events:
            if event in ("start", "importing"):
                running_since = now
            elif event in ("result", "imported"):
                running_since = now if event == "imported" else None
        if now - started > hard_limit or (running_since and now - running_since > overrun):
            _kill_group(process)
            return True


def _new_events(path: Path, offset: int) -> tuple[int, list[str]]:
    """Event names of complete lines appended since ``offset``."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        data = handle.read()
    end = data.rfind(b"\n") + 1
    events = []
    for raw in data[:end].splitlines():
        try:
            events.append(str(json.loads(raw).get("event")))
        except (ValueError, AttributeError):
            continue
    return offset + end, events


def _kill_group(process: ChildHandle) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


def _read_records(path: Path) -> list[dict[str, Any]]:
    records = []
    with open(path, "rb") as handle:
        for raw in handle:
            try:
                record = json.loads(raw.decode("utf-8", errors="replace"))
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
    return records


def _tail(path: Path) -> str:
    data = path.read_bytes()[-OUTPUT_TAIL:]
    return data.decode("utf-8", errors="replace")


def _why_child_stopped(outcome: _ChildOutcome) -> tuple[str, Feedback]:
    """Status and explanation for checks the child never reported."""
    if outcome.killed_for_time:
        return "timed out", Feedback(
            "This check was stopped because your code never finished, and it did not "
            "respond to the usual timeout either.",
            misconception="Something in your code runs forever without giving control back.",
            next_step="Look for a loop without an exit.",
        )
    code = outcome.returncode or 0
    if code < 0:
        sig = signal.Signals(-code)
        meaning = _SIGNAL_MEANINGS.get(sig, f"was ended by signal {sig.name}")
        return "error", Feedback(
            f"Your code {meaning} during this check.",
            next_step="Look for very large data structures, deep recursion or native calls.",
        )
    return "error", Feedback(
        f"Your code ended the grading process (exit status {code}) before this check could "
        "finish.",
        misconception="`sys.exit()` and `os._exit()` end the whole program, including the "
        "grader that called your function.",
        next_step="Remove the exit call; return a value or raise an exception instead.",
    )


def _accept(exercise: Exercise, reported: dict[str, dict[str, Any]],
            lost: dict[str, tuple[str, Feedback]]) -> list[CheckResult]:
    """One result per metadata check; only a reported ``passed`` earns points."""
    results: list[CheckResult] = []
    for check in exercise.meta.checks:
        record = reported.get(check.name)
        if record is None:
            status, feedback = lost.get(check.name, ("error", Feedback(
                "This check never reported a result.",
                next_step="Run the exercise again; if it persists, tell your instructor.",
            )))
            results.append(CheckResult(check.name, check.title, check.task, status, 0,
                                       check.points, feedback))
            continue
        status = record.get("status")
        if status not in STATUSES:
            status = "error"
        feedback = record.get("feedback")
        results.append(
            CheckResult(
                name=check.name,
                title=check.title,
                task=check.task,
                status=status,
                points=check.points if status == "passed" else 0,
                max_points=check.points,
                feedback=Feedback.from_dict(feedback) if isinstance(feedback, dict) else None,
                traceback=str(record.get("traceback") or ""),
                duration=float(record.get("duration") or 0.0),
                sim_elapsed=record.get("sim_elapsed"),
                timeline=record.get("timeline"),
            )
        )
    return _apply_requirements(exercise, results)


def _apply_requirements(exercise: Exercise, results: list[CheckResult]) -> list[CheckResult]:
    """A passed check counts only if the checks it requires passed too.

    Required checks come earlier in the metadata, so one pass in order settles chains.
    """
    by_name: dict[str, CheckResult] = {}
    for check, result in zip(exercise.meta.checks, results, strict=True):
        unmet = [by_name[r] for r in check.requires if not by_name[r].passed]
        if result.passed and unmet:
            first = unmet[0]
            because = first.feedback or Feedback(f"it ended as '{first.status}'.")
            result = dataclasses.replace(
                result, status="failed", points=0,
                feedback=Feedback(
                    f"Not counted yet: this only means something once \"{first.title}\" "
                    f"passes. {because.what}",
                    misconception=because.misconception,
                    next_step=because.next_step,
                ),
            )
        by_name[check.name] = result
    return [by_name[c.name] for c in exercise.meta.checks]
