"""Grading one module against one exercise's hidden suite, in a child process.

The parent never trusts the child to finish or to tell the truth about what it did not
report: the check list comes from the exercise metadata, a check the child never
reported gets a status from how the child ended (killed for time, crashed by a signal,
exited early), and only ``passed`` earns points.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import json
import os
import re
import secrets
import select
import signal
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.budgets import (
    AFTER_TROUBLE_TIME_LIMIT,
    CHECK_GRACE,
    OUTPUT_TAIL,
    RESULT_CHANNEL_LIMIT,
    Limits,
    cpu_limit_for,
)
from grader.course.course import Exercise
from grader.engine.feedback import Feedback
from grader.errors import GraderError, MissingFileError
from grader.protocol import ChildConfig, Event, event_of
from grader.supervision.judging import NO_JUDGE, Flagged, confirm, preload_suite
from grader.supervision.launcher import ChildHandle, launch
from grader.supervision.precompiled import copy_with_bytecode
from grader.supervision.results import STATUSES, CheckResult, GradeResult, clean_output
from grader.supervision.sandbox import Cell, CellDead, SandboxUnavailable, lease_cell
from grader.supervision.screen import Finding, screen_source

__all__ = ["GradingCancelled", "grade_file", "hard_time_limit"]

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
    channel_trouble: list[str]  # why the channel itself can't be trusted; empty if honest


def hard_time_limit(time_limit: float, checks: int) -> float:
    """Real seconds before the child's process group is killed: the outer safety net."""
    return 10.0 + (time_limit + CHECK_GRACE) * (checks + 1)


class GradingCancelled(Exception):
    """Raised by grade_file when its ``cancel`` event was set; nothing was graded."""


SANDBOX_MODES = ("auto", "require", "off")


def grade_file(exercise: Exercise, module_file: Path, *, limits: Limits | None = None,
               time_limit: float | None = None,
               cancel: threading.Event | None = None,
               sandbox: str = "auto", owner: str | None = None,
               screen: bool = True) -> GradeResult:
    """Run ``exercise``'s hidden suite against ``module_file`` and return the verdict.

    ``time_limit`` overrides the exercise's real-time limit per check (tests use a small
    one so hang fixtures stay fast). Setting ``cancel`` (from another thread) stops the
    grading child at once and raises :class:`GradingCancelled`.

    ``sandbox``: ``"auto"`` grades in a bubblewrap sandbox when the machine has one and
    otherwise says in the notes that it did not; ``"require"`` raises
    :class:`SandboxUnavailable` instead; ``"off"`` never uses one. ``owner`` (a
    student) lets gradings of the same owner reuse a warm sandbox inside
    :func:`grader.supervision.sandbox.shared_cells`. ``screen=False`` skips the static screen: only
    the project's own tests use it, to test the layers behind it on their own.
    """
    if sandbox not in SANDBOX_MODES:
        raise ValueError(f"sandbox must be one of {SANDBOX_MODES}")
    if not module_file.is_file():
        raise MissingFileError(
            f"{module_file} does not exist. Check the path, or run 'grade reset' to restore it."
        )
    suite = exercise.suite_file
    if not suite.is_file():
        raise MissingFileError(f"The hidden tests for {exercise.name} are missing ({suite}).")
    meta = exercise.meta
    per_check = time_limit or meta.time_limit
    cpu_limit = cpu_limit_for(meta.cpu_limit, per_check)
    started = time.perf_counter()
    source = module_file.read_bytes()
    findings = screen_source(source, str(module_file), meta.screen) if screen else []
    if findings:
        return _screened_out(exercise, module_file, findings, time.perf_counter() - started)
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
        submission.write_bytes(source)  # the bytes that were screened, not a re-read
        limits = limits or Limits()
        # The judges' suite loads here while the sandbox starts and the child runs.
        preload = threading.Thread(target=preload_suite, args=(exercise.suite_file,),
                                   name="load-judges", daemon=True)
        preload.start()
        with _Cells(sandbox, owner, limits.processes) as cells:
            reported, lost, unavailable, suspicious = _run_until_every_check_has_a_verdict(
                workdir, suite_copy, canary, submission, Path(meta.module).stem,
                [c.name for c in meta.checks], per_check, cpu_limit, limits,
                _hidden_from_students(exercise), cancel, cells,
            )
            unavailable = [*cells.unavailable(), *unavailable]
    notes = [f"protection not available: {what}" for what in dict.fromkeys(unavailable)]
    checks = _accept(exercise, reported, lost, suspicious)
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


class _Cells:
    """The sandbox a grading's children run in, replaced if a child breaks it."""

    def __init__(self, mode: str, owner: str | None, processes: int) -> None:
        self.mode, self.owner, self.processes = mode, owner, processes
        self.cell: Cell | None = None
        self.problem: str | None = None
        self._lease: contextlib.AbstractContextManager[Cell] | None = None
        self._leased: Cell | None = None

    def __enter__(self) -> _Cells:
        if self.mode == "off":
            self.problem = "sandbox (turned off)"
            return self
        try:
            self._lease = lease_cell(self.owner, self.processes)
            self.cell = self._leased = self._lease.__enter__()
        except SandboxUnavailable as exc:
            self._lease = None
            if self.mode == "require":
                raise
            self.problem = f"sandbox ({exc})"
        return self

    def current(self) -> Cell | None:
        """The live cell, a fresh one if a child broke the last (None: no sandbox)."""
        if self.cell is not None and not self.cell.alive:
            self.cell = Cell(self.processes)  # not pooled: closed by __exit__
        return self.cell

    def unavailable(self) -> list[str]:
        if self.problem:
            return [self.problem]
        return list(self.cell.unavailable) if self.cell is not None else []

    def __exit__(self, *exc: object) -> None:
        if self._lease is not None:
            self._lease.__exit__(None, None, None)  # the leased cell: kept warm or closed
        if self.cell is not None and self.cell is not self._leased:
            self.cell.close()


def _live_cell(cells: _Cells) -> Cell | None:
    try:
        return cells.current()
    except SandboxUnavailable as exc:
        raise GraderError(f"The grading sandbox could not be restarted ({exc}).") from None


def _screened_out(exercise: Exercise, module_file: Path, findings: list[Finding],
                  seconds: float) -> GradeResult:
    """The verdict for a file the screen refused: not run at all, every check at zero."""
    findings = list({(f.line, f.construct): f for f in findings}.values())
    shown = findings[:3]
    lines = "; ".join(f"line {f.line}: `{f.construct}` ({f.why})" for f in shown)
    more = f" (and {len(findings) - len(shown)} more)" if len(findings) > len(shown) else ""
    feedback = Feedback(
        f"Your file was not run: it uses constructs no exercise needs, which could tamper "
        f"with the grading. {lines}{more}.",
        misconception="The exercises need asyncio and a few standard modules, not access to "
        "the interpreter's internals, files or processes.",
        next_step="Remove those lines (printing and ordinary code are fine) and grade again. "
        "If you think this is a mistake, ask your instructor.",
    )
    checks = tuple(CheckResult(c.name, c.title, c.task, "error", 0, c.points, feedback)
                   for c in exercise.meta.checks)
    where = "; ".join(f"line {f.line}: {f.construct}" for f in findings[:10])
    return GradeResult(
        exercise=exercise.name, title=exercise.meta.title, graded_file=str(module_file),
        checks=checks, duration=seconds,
        notes=(f"flagged for review: the screen refused the source ({where})",),
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
        "from grader.engine.feedback import fail\n\n\n"
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
    hidden: tuple[Path, ...], cancel: threading.Event | None, cells: _Cells,
) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, Feedback]], list[str], list[str]]:
    """Run the suite; if the child dies mid-way, blame the running check and resume.

    A crash (``os._exit``, a segfault, a hard kill for time) in one check must not cost
    the checks that never got to run, so they are run again in a fresh child. A crash
    while importing the module is every check's verdict: re-running would crash again.
    Passes from a child that stopped before its planted check are run again too.
    """
    reported: dict[str, dict[str, Any]] = {}
    lost: dict[str, tuple[str, Feedback]] = {}
    remaining = list(checks)
    unavailable: list[str] = []
    suspicious: list[str] = []
    canary_name = canary.stem.removeprefix("test_")
    for attempt in range(len(checks) + 1):
        limit = time_limit if attempt == 0 else min(time_limit, AFTER_TROUBLE_TIME_LIMIT)
        outcome = _run_child(
            workdir, suite, canary, module_file, module_name, remaining,
            time_limit=limit, cpu_limit=cpu_limit_for(cpu_limit, limit),
            hard_limit=hard_time_limit(limit, len(remaining)), limits=limits,
            hidden=hidden, cancel=cancel, cell=_live_cell(cells),
        )
        events = [event_of(r) for r in outcome.records]
        if Event.COLLECTED not in events and not outcome.killed_for_time:
            # No student code runs before collection: this failure is ours (or the suite's).
            last = outcome.output_tail.strip().splitlines()[-1:] or ["no output"]
            raise GraderError(
                f"The grader could not run the hidden tests ({last[0][:200]}). "
                "This is not your code's fault: reinstall with 'pip install -e .' or report it."
            )
        suspicious += outcome.channel_trouble
        suspicious += _suspicious(outcome.records, remaining, canary_name)
        # Passes count only from a child that failed its planted check and then ended its
        # session: a child that stopped (or was stopped) first may have written them itself.
        vouched = Event.END in events and any(
            event_of(r) is Event.RESULT and r.get("check") == canary_name
            and r.get("status") == "failed" for r in outcome.records)
        this_run: set[str] = set()
        for record in outcome.records:
            if event_of(record) is Event.ISOLATION and not unavailable:
                missing = record.get("unavailable")
                if missing is not None and not _strings(missing):
                    suspicious.append("a malformed report of the child's protections")
                unavailable = [str(u) for u in missing] if isinstance(missing, list) else []
            name = record.get("check")
            if event_of(record) is not Event.RESULT or name not in remaining:
                continue
            this_run.add(name)
            # A pass counts only from a child that went on to fail its planted check:
            # one that stopped first may have written its passes itself and exited.
            if record.get("status") != "passed" or vouched:
                reported.setdefault(name, record)
        if Event.END in events:
            for name in remaining:
                if name not in reported:  # e.g. pytest.exit() called from student code
                    lost[name] = ("error", Feedback(
                        "The grading session was ended from inside your code before this "
                        "check could report.",
                        next_step="Don't call pytest or exit functions from your module.",
                    ))
            break
        verdict = _why_child_stopped(outcome)
        if Event.IMPORTING in events and Event.IMPORTED not in events:
            for name in remaining:
                if name not in reported:
                    lost[name] = verdict
            break
        started = [r.get("check") for r in outcome.records if event_of(r) is Event.START]
        culprit = next((n for n in reversed(started) if n not in this_run), None)
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


def _strings(value: object) -> bool:
    """Is ``value`` what an honest child sends for a list of names: a list of strings?"""
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _suspicious(records: list[dict[str, Any]], expected: list[str], canary: str) -> list[str]:
    """Evidence that a child's report was forged; empty for an honest run."""
    evidence = []
    seen: set[str] = set()
    canary_status = None
    for record in records:
        tampered = record.get("tampered")
        if tampered and not _strings(tampered):
            evidence.append("a malformed report of patched grading code")
        elif tampered:
            evidence.append(f"grading code was patched: {', '.join(tampered)[:200]}")
        if event_of(record) is not Event.RESULT:
            continue
        name = record.get("check")
        if not isinstance(name, str):
            evidence.append("a result without a check name")
            continue
        if name == canary:
            canary_status = record.get("status")
        elif name not in expected:
            evidence.append(f"a result for an unknown check ({str(name)[:40]})")
        elif name in seen:
            evidence.append(f"two results for check {name}")
        seen.add(str(name))
    if any(event_of(r) is Event.END for r in records) and canary_status != "failed":
        evidence.append("the planted check did not fail")
    return evidence


class _Channel:
    """The read end of the socket a child reports on: bounded, and never blocking."""

    LIMIT = RESULT_CHANNEL_LIMIT  # bytes of records one child may send; the rest is ignored

    def __init__(self, fd: int) -> None:
        self.fd = fd
        os.set_blocking(fd, False)
        self.data = bytearray()
        self.offset = 0
        self.overflowed = False
        self._parsed: tuple[int, list[object]] | None = None  # (bytes parsed, values)

    def drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 1 << 16)
            except BlockingIOError:
                return
            except OSError:
                return
            if not chunk:
                return
            room = self.LIMIT - len(self.data)
            if room <= 0:
                self.overflowed = True
                continue
            self.data += chunk[:room]

    def new_events(self) -> list[Event]:
        """Events of complete lines that arrived since the last call (unknown ones left out)."""
        end = self.data.rfind(b"\n", self.offset) + 1
        if end <= self.offset:
            return []
        lines = _lines(bytes(self.data[self.offset:end]))
        self.offset = end
        events = []
        for raw in lines:
            try:
                record = json.loads(raw)
            except (ValueError, RecursionError):
                continue
            if isinstance(record, dict) and (event := event_of(record)) is not None:
                events.append(event)
        return events

    def trouble(self) -> list[str]:
        """Why this channel's records can't be trusted: overflow, or lines that are no records.

        An honest child writes only whole records naming an event (a line cut short by
        its death is the last one, unterminated, and is not counted), within a budget well
        under :data:`LIMIT`. Anything else was written by someone else, e.g. to hide the
        child's own results behind a flood or inside a broken line.
        """
        found = []
        if self.overflowed:
            found.append("the result channel overflowed")
        decoded = self._decoded()
        if len(decoded) >= MAX_RECORDS:
            found.append(f"over {MAX_RECORDS} lines on the result channel")
        complete = decoded[:-1] if self._unterminated() else decoded
        garbled = sum(not isinstance(r, dict) or event_of(r) is None for r in complete)
        if garbled:
            found.append(f"{garbled} line(s) on the result channel were not records")
        return found

    def records(self) -> list[dict[str, Any]]:
        return [record for record in self._decoded() if isinstance(record, dict)]

    def _unterminated(self) -> bool:
        """Does the data end in a line without its newline (a child cut short mid-write)?"""
        return bool(self.data[self.data.rfind(b"\n") + 1:].strip())

    def _decoded(self) -> list[object]:
        """Each non-blank line decoded once (None where it is no JSON), for both readers."""
        if self._parsed is None or self._parsed[0] != len(self.data):
            values: list[object] = []
            for raw in _lines(bytes(self.data)):
                try:
                    values.append(json.loads(raw.decode("utf-8", errors="replace")))
                except (ValueError, RecursionError):  # e.g. a line nested 100,000 deep
                    values.append(None)
            self._parsed = (len(self.data), values)
        return self._parsed[1]


MAX_RECORDS = 10_000  # lines of one child's channel looked at; an honest run sends ~20


def _lines(data: bytes) -> list[bytes]:
    """Non-blank lines, at most MAX_RECORDS: a flood of newlines costs nothing to skip."""
    found = _NON_BLANK_LINE.finditer(data)
    return [match.group() for match in itertools.islice(found, MAX_RECORDS)]


_NON_BLANK_LINE = re.compile(rb"[^\n]*[^\s][^\n]*")


def _job_files(workdir: Path) -> dict[str, bytes]:
    """The suite copy (with its bytecode), the canary and the submission, by relative path."""
    files = {}
    for top in ("suite", "submission"):
        for path in sorted((workdir / top).rglob("*")):
            if path.is_file():
                files[path.relative_to(workdir).as_posix()] = path.read_bytes()
    return files


def _run_child(workdir: Path, suite: Path, canary: Path, module_file: Path, module_name: str,
               checks: list[str], *, time_limit: float, cpu_limit: float,
               hard_limit: float, limits: Limits, hidden: tuple[Path, ...],
               cancel: threading.Event | None = None,
               cell: Cell | None = None) -> _ChildOutcome:
    """Run one child (in ``cell`` when given) and collect what it reported.

    Records travel on a pipe made for this child alone: nothing is left on disk for a
    later child to read, and a crash can never leave an earlier run's lines behind.
    """
    # A socket, not a pipe: /proc/self/fd/N cannot reopen a socket (ENXIO), so code
    # in the child that finds its number still has no file to write through.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    read_fd, write_fd = ours.detach(), theirs.detach()
    channel = _Channel(read_fd)
    def config(where: Callable[[Path], str], **more: Any) -> ChildConfig:
        return ChildConfig(suite=where(suite), student=where(module_file),
                           canary=where(canary), module_name=module_name,
                           checks=tuple(checks), time_limit=time_limit,
                           cpu_limit=cpu_limit, limits=limits, **more)

    try:
        if cell is not None:
            try:
                job = cell.start(_job_files(workdir), config(
                    lambda path: path.relative_to(workdir).as_posix()), write_fd)
            except CellDead as exc:
                raise GraderError(f"The grading sandbox failed ({exc}).") from None
            os.close(write_fd)
            write_fd = -1
            handle: ChildHandle = _CellChild(cell, job)
        else:
            output_path = workdir / "output.txt"
            output_path.write_bytes(b"")
            handle = launch(config(str, hide=tuple(map(str, hidden)), results_fd=write_fd),
                            workdir, output_path)
            os.close(write_fd)
            write_fd = -1
        try:
            killed_for_time = _watch(handle, channel, time_limit, hard_limit, cancel)
        finally:
            handle.stop()
        channel.drain()
    finally:
        if write_fd >= 0:
            os.close(write_fd)
        os.close(read_fd)
    return _ChildOutcome(
        records=channel.records(),
        returncode=handle.returncode,
        killed_for_time=killed_for_time,
        output_tail=handle.output_tail(),
        channel_trouble=channel.trouble(),
    )


class _CellChild:
    """A child running in a sandbox cell, seen through the cell's reports."""

    def __init__(self, cell: Cell, job: str) -> None:
        self.cell, self.job = cell, job
        self.returncode: int | None = None
        self._output = ""

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                ended = self.cell.poll_exit(self.job)
            except CellDead:  # torn down: everything in it is gone, the child too
                self.returncode = -signal.SIGKILL
                return self.returncode
            if ended is not None:
                self.returncode, self._output = ended.code, ended.output
        return self.returncode

    def wait_readable(self) -> list[int]:
        return [self.cell.control.fileno()]

    def stop(self) -> None:
        if self.returncode is None:
            ended = self.cell.kill(self.job)
            self.returncode, self._output = ended.code, ended.output

    def output_tail(self) -> str:
        return self._output[-OUTPUT_TAIL:]


def _watch(process: ChildHandle, channel: _Channel, time_limit: float,
           hard_limit: float, cancel: threading.Event | None) -> bool:
    """Wait for the child; True if it had to be stopped for time.

    pytest-timeout's SIGALRM ends ordinary hangs inside the child. This catches the rest
    (signals blocked, a C call that never returns) per check rather than per run: when a
    check or the import has been running for its limit plus a grace period, the child
    is stopped and only that check is blamed. Every wait here is bounded.
    """
    started = time.monotonic()
    overrun = time_limit + CHECK_GRACE
    running_since: float | None = None
    while True:
        with contextlib.suppress(InterruptedError):
            select.select([channel.fd, *process.wait_readable()], [], [], POLL_INTERVAL)
        channel.drain()
        if process.poll() is not None:
            return False
        if cancel is not None and cancel.is_set():
            process.stop()
            raise GradingCancelled("grading cancelled")
        now = time.monotonic()
        for event in channel.new_events():
            if event in (Event.START, Event.IMPORTING):
                running_since = now
            elif event in (Event.RESULT, Event.IMPORTED):
                running_since = now if event is Event.IMPORTED else None
        if now - started > hard_limit or (running_since and now - running_since > overrun):
            process.stop()
            return True


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
            lost: dict[str, tuple[str, Feedback]],
            flags: list[str]) -> list[CheckResult]:
    """One result per metadata check; only a ``passed`` that its judge confirms earns points.

    A failure the child reports is taken as it is (forging one only costs the student),
    but a pass is decided here, by the suite's judge on the check's plain observations,
    where no student code runs. Evidence of forgery is added to ``flags``.
    """
    results: list[CheckResult] = []
    for check in exercise.meta.checks:
        record = reported.get(check.name)
        if record is None:
            lost_status, lost_feedback = lost.get(check.name, ("error", Feedback(
                "This check never reported a result.",
                next_step="Run the exercise again; if it persists, tell your instructor.",
            )))
            results.append(CheckResult(check.name, check.title, check.task, lost_status, 0,
                                       check.points, lost_feedback))
            continue
        reported_status = record.get("status")
        status = reported_status if reported_status in STATUSES else "error"
        feedback: dict[str, Any] | None = record.get("feedback")
        if status == "passed":
            status, feedback = _confirmed(exercise, check.name, record.get("observed"), flags)
        results.append(
            CheckResult(
                name=check.name,
                title=check.title,
                task=check.task,
                status=status,
                points=check.points if status == "passed" else 0,
                max_points=check.points,
                feedback=_feedback_from(feedback),
                traceback=str(record.get("traceback") or ""),
                duration=record.get("duration") or 0.0,  # cleaned by CheckResult
                sim_elapsed=record.get("sim_elapsed"),
                timeline=record.get("timeline"),
                # What the check's code printed: untrusted text, capped and cleaned
                # (clean_output); anything but a string is dropped unread.
                output=clean_output(output, record.get("output_lines"))
                if isinstance(output := record.get("output"), str) else "",
            )
        )
    return _apply_requirements(exercise, results)


def _feedback_from(data: Any) -> Feedback | None:
    """The child's feedback, if it is one; CheckResult cleans its texts."""
    if not isinstance(data, dict):
        return None
    try:
        return Feedback.from_dict(data)
    except (TypeError, ValueError, KeyError):
        return Feedback("Your code's run reported a malformed message for this check.")


def _confirmed(exercise: Exercise, check: str, observations: Any,
               flags: list[str]) -> tuple[str, dict[str, Any] | None]:
    """The judge's verdict on a check the child reported as passed."""
    try:
        # The course's own suite file, never the copy the child saw.
        verdict = confirm(exercise.suite_file, check, observations)
    except Flagged as flagged:
        flags.append(f"{check}: {flagged}")
        return "error", None
    if verdict is NO_JUDGE:
        return "error", Feedback(
            "This check has no judge to confirm it outside your code's process, so it "
            "earns nothing.",
            next_step="Tell your instructor: the hidden suite needs a judge for this check.",
        ).to_dict()
    if verdict is not None:
        return "failed", verdict.to_dict()
    return "passed", None


def _apply_requirements(exercise: Exercise, results: list[CheckResult]) -> list[CheckResult]:
    """A passed check counts only if the checks it requires passed too.

    Held back, it is ``blocked`` ("not counted yet", no points), not ``failed``: the code
    does what this check asks, and the message names the check to fix first (the root of
    a chain, with that check's own explanation). Required checks come earlier in the
    metadata, so one pass in order settles chains. Only this function makes the status:
    a child that reports ``blocked`` itself gets ``error``.
    """
    by_name: dict[str, CheckResult] = {}
    root_of: dict[str, CheckResult] = {}  # a blocked check -> the unmet check behind it
    for check, result in zip(exercise.meta.checks, results, strict=True):
        if result.status == "blocked":
            result = dataclasses.replace(result, status="error", points=0)
        unmet = [by_name[r] for r in check.requires if not by_name[r].passed]
        if result.passed and unmet:
            root = root_of.get(unmet[0].name, unmet[0])
            because = root.feedback or Feedback(f"it ended as '{root.label}'.")
            root_of[check.name] = root
            result = dataclasses.replace(
                result, status="blocked", points=0,
                feedback=Feedback(
                    f"Not counted yet: this only means something once \"{root.title}\" "
                    f"passes. {because.what}",
                    misconception=because.misconception,
                    next_step=because.next_step,
                ),
            )
        by_name[check.name] = result
    return [by_name[c.name] for c in exercise.meta.checks]
