"""Grading one module against one exercise's hidden suite, in a child process.

The parent never trusts the child to finish or to tell the truth about what it did not
report: the check list comes from the exercise metadata, a check the child never
reported gets a status from how the child ended (killed for time, crashed by a signal,
exited early), and only ``passed`` earns points.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course import Exercise
from grader.errors import MissingFileError
from grader.feedback import Feedback
from grader.results import CheckResult, GradeResult
from grader.sandbox import Limits, child_environment, limit_child, python_command

__all__ = ["grade_file", "hard_time_limit"]

OUTPUT_TAIL = 4000  # characters of the child's output kept for diagnostics

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


def hard_time_limit(exercise: Exercise) -> float:
    """Real seconds before the child's process group is killed: the outer safety net."""
    return 10.0 + exercise.meta.time_limit * (len(exercise.meta.checks) + 1)


def grade_file(exercise: Exercise, module_file: Path, *, limits: Limits | None = None) -> GradeResult:
    """Run ``exercise``'s hidden suite against ``module_file`` and return the verdict."""
    if not module_file.is_file():
        raise MissingFileError(f"{module_file} does not exist. Check the path, or run 'grade reset'.")
    suite = exercise.suite_file
    if not suite.is_file():
        raise MissingFileError(f"The hidden tests for {exercise.name} are missing ({suite}).")
    meta = exercise.meta
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        workdir = Path(tmp)
        suite_copy = workdir / "suite" / suite.name
        suite_copy.parent.mkdir()
        shutil.copyfile(suite, suite_copy)
        outcome = _run_child(
            workdir, suite_copy, module_file.resolve(), Path(meta.module).stem,
            time_limit=meta.time_limit, hard_limit=hard_time_limit(exercise),
            limits=limits or Limits(),
        )
    checks = _accept(exercise, outcome)
    return GradeResult(
        exercise=exercise.name,
        title=meta.title,
        graded_file=str(module_file),
        checks=tuple(checks),
        duration=time.perf_counter() - started,
    )


def _run_child(workdir: Path, suite: Path, module_file: Path, module_name: str, *,
               time_limit: float, hard_limit: float, limits: Limits) -> _ChildOutcome:
    results_path = workdir / "results.jsonl"
    output_path = workdir / "output.txt"
    results_fd = os.open(results_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    killed_for_time = False
    try:
        with open(output_path, "wb") as output:
            command = [
                *python_command(),
                "--suite", str(suite),
                "--student", str(module_file),
                "--module-name", module_name,
                "--results-fd", str(results_fd),
                "--time-limit", str(time_limit),
            ]
            process = subprocess.Popen(
                command,
                cwd=workdir,
                env=child_environment(workdir),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                pass_fds=(results_fd,),
                start_new_session=True,
                preexec_fn=limit_child(limits),
            )
            try:
                process.wait(timeout=hard_limit)
            except subprocess.TimeoutExpired:
                killed_for_time = True
            except BaseException:
                _kill_group(process)
                raise
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


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


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
            "Grading was stopped because your code never finished (the whole run went "
            "past its time limit).",
            misconception="Something in your code runs forever without giving control back.",
            next_step="Look for a loop without an exit.",
        )
    code = outcome.returncode or 0
    if code < 0:
        sig = signal.Signals(-code)
        meaning = _SIGNAL_MEANINGS.get(sig, f"was ended by signal {sig.name}")
        return "error", Feedback(
            f"Your code {meaning}, so this check could not finish.",
            next_step="Look for very large data structures, deep recursion or native calls.",
        )
    return "error", Feedback(
        f"Your code ended the grading process early (exit status {code}), so this check "
        "could not run.",
        misconception="`sys.exit()` and `os._exit()` end the whole program, including the "
        "grader that called your function.",
        next_step="Remove the exit call; return a value or raise an exception instead.",
    )


def _accept(exercise: Exercise, outcome: _ChildOutcome) -> list[CheckResult]:
    meta = exercise.meta
    reported = {}
    started = []
    for record in outcome.records:
        if record.get("event") == "result" and isinstance(record.get("check"), str):
            reported.setdefault(record["check"], record)
        elif record.get("event") == "start":
            started.append(record.get("check"))
    running = started[-1] if started and started[-1] not in reported else None
    missing_status, missing_feedback = _why_child_stopped(outcome)

    results = []
    for check in meta.checks:
        record = reported.get(check.name)
        if record is None:
            status, feedback = missing_status, missing_feedback
            if outcome.killed_for_time and check.name != running:
                status = "error"
                feedback = Feedback(
                    "Not run: grading stopped because an earlier check never finished.",
                    next_step="Fix the check that timed out first.",
                )
            results.append(CheckResult(check.name, check.title, check.task, status, 0,
                                       check.points, feedback))
            continue
        status = record.get("status") if record.get("status") in (
            "passed", "failed", "error", "timed out") else "error"
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
    return results
