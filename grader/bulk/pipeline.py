"""Running a class's gradings in parallel, recording each verdict as soon as it lands.

Threads, not processes: :func:`grader.supervision.runner.grade_file` already runs each
grading in its
own child process, so a thread here only waits on a child. The main thread is the only
one that touches the gradebook, so every row is committed in the order gradings finish
and a kill at any moment loses at most the gradings still running.

Identical files are graded once. A student who hands in the untouched stub, or a file
byte-for-byte equal to one already graded against the same suite, gets that verdict
(recorded with ``reused_from``): the virtual clock makes a verdict a function of the
file and the suite alone, so grading the same bytes twice could only waste time.

Ctrl-C: the first one stops starting gradings, lets the running ones finish (they are
recorded) and returns with ``interrupted`` set; a second one abandons the running ones.

Where the gradings run is pluggable: by default threads of this process, or an
:class:`Executor` such as :class:`grader.bulk.cluster.ClusterExecutor` (Dask workers).
Either way the outcomes come back to the main thread, which alone records them through
the same code (:func:`_settle`), so resume, ``kill -9`` and Ctrl-C keep their meaning.
"""

from __future__ import annotations

import dataclasses
import signal
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from grader.bulk.gradebook import Gradebook, GradingKey, Recorded, suite_hash
from grader.bulk.intake import ModuleFile, Submission
from grader.course.course import Exercise
from grader.supervision.results import GradeResult
from grader.supervision.runner import grade_file
from grader.supervision.sandbox import shared_cells

__all__ = ["Executor", "Job", "Listener", "Plan", "RunSummary", "Settle", "grade_jobs",
           "interrupts_deferred", "plan_gradings"]


@dataclass(frozen=True)
class Job:
    """One student's file for one exercise, to be graded."""

    key: GradingKey
    exercise: Exercise
    module: ModuleFile


@dataclass
class Plan:
    """What a run will do; ``groups`` share identical bytes and are graded once."""

    groups: list[list[Job]] = field(default_factory=list)
    reuse: list[tuple[Job, Recorded]] = field(default_factory=list)
    already_recorded: int = 0
    suite_hashes: dict[str, str] = field(default_factory=dict)  # by Exercise.name

    @property
    def gradings(self) -> int:
        """Student-exercises this run will record (graded or reused)."""
        return sum(len(g) for g in self.groups) + len(self.reuse)


@dataclass
class RunSummary:
    """What a run did, as plain data."""

    planned: int
    graded: int = 0  # gradings actually run
    recorded: int = 0  # rows written (graded + copies of identical files)
    reused: int = 0  # rows written from an identical file's verdict
    already_recorded: int = 0  # skipped: the gradebook had them
    failed: list[tuple[str, str, str]] = field(default_factory=list)  # (student, exercise, why)
    interrupted: bool = False
    late_interrupt: bool = False  # Ctrl-C after the last grading: taken once all is written
    seconds: float = 0.0
    run_id: int = 0


class Listener(Protocol):
    """What the progress display is told; every call comes from the main thread."""

    def start(self, total: int) -> None: ...

    def recorded(self, result: GradeResult | None, count: int) -> None: ...

    def stopping(self, running: int) -> None: ...


Settle = Callable[[list[Job], GradeResult | BaseException | str], None]
"""Records one group's outcome: a verdict, or the exception the grader raised (or its
text, for a failure reported from elsewhere)."""


class Executor(Protocol):
    """Runs groups of identical files somewhere else and settles each on the main thread.

    ``grade`` calls ``settle`` once per group that finished, from the thread that called
    it, and handles Ctrl-C as the local path does: the first stops starting work, waits
    for what runs and sets ``summary.interrupted``; a second abandons what runs.
    """

    workers: int  # gradings at once, for the gradebook's runs table

    def grade(self, groups: list[list[Job]], settle: Settle, listener: Listener,
              summary: RunSummary) -> None: ...


class _Silent:
    def start(self, total: int) -> None:
        pass

    def recorded(self, result: GradeResult | None, count: int) -> None:
        pass

    def stopping(self, running: int) -> None:
        pass


def plan_gradings(submissions: Sequence[Submission], exercises: Sequence[Exercise],
                  gradebook: Gradebook, *, regrade: bool = False) -> Plan:
    """Resume rule: skip a student-exercise whose four-part key is already recorded."""
    by_name = {e.name: e for e in exercises}
    hashes = {e.name: suite_hash(e) for e in exercises}
    plan = Plan(suite_hashes=hashes)
    groups: dict[tuple[str, str], list[Job]] = {}
    for submission in submissions:
        for name, module in sorted(submission.modules.items()):
            if name not in by_name:
                continue
            key = GradingKey(submission.student, name, module.sha256, hashes[name])
            if not regrade and gradebook.find(key) is not None:
                plan.already_recorded += 1
                continue
            groups.setdefault((name, module.sha256), []).append(Job(key, by_name[name], module))
    for (name, file_hash), jobs in groups.items():
        earlier = None if regrade else gradebook.find_same_file(name, file_hash, hashes[name])
        if earlier is not None:
            plan.reuse.extend((job, earlier) for job in jobs)
        else:
            plan.groups.append(jobs)
    return plan


def grade_in_fresh_folder(job: Job, cancel: threading.Event | None = None,
                          sandbox: str = "require") -> GradeResult:
    """Grade a copy of the student's bytes in a new temporary folder, never in the course.

    Each student's gradings run in that student's own sandbox, never in another's.
    """
    with tempfile.TemporaryDirectory(prefix="grade-bulk-") as tmp:
        copy = Path(tmp) / job.exercise.meta.module
        copy.write_bytes(job.module.content)
        result = grade_file(job.exercise, copy, cancel=cancel, sandbox=sandbox,
                            owner=job.key.student)
    return dataclasses.replace(result, graded_file=job.module.origin)


def grade_jobs(plan: Plan, gradebook: Gradebook, *, workers: int,
               listener: Listener | None = None, sandbox: str = "require",
               executor: Executor | None = None) -> RunSummary:
    """Grade ``plan`` with ``workers`` gradings at once, recording each as it finishes.

    With an ``executor`` the gradings run there instead (``workers`` is then unused).
    """
    listener = listener or _Silent()
    summary = RunSummary(planned=plan.gradings, already_recorded=plan.already_recorded)
    started = time.perf_counter()
    summary.run_id = gradebook.start_run(workers=executor.workers if executor else workers,
                                         planned=plan.gradings)
    listener.start(plan.gradings)
    try:
        for job, earlier in plan.reuse:
            _record(gradebook, summary, job, earlier.result, seconds=0.0,
                    reused_from=earlier.key.student)
            listener.recorded(earlier.result, 1)
        if executor is not None:
            def settle(group: list[Job], outcome: GradeResult | BaseException | str) -> None:
                _settle(gradebook, summary, listener, group, outcome)

            executor.grade(plan.groups, settle, listener, summary)
        else:
            with shared_cells(keep=2 * workers):  # a warm sandbox per student
                _grade_groups(plan.groups, gradebook, summary, workers, listener, sandbox)
    except KeyboardInterrupt:
        summary.interrupted = True  # a Ctrl-C while recording the reused verdicts
    summary.seconds = time.perf_counter() - started
    with interrupts_deferred(summary):
        gradebook.finish_run(
            summary.run_id, status="interrupted" if summary.interrupted else "finished",
            graded=summary.graded, reused=summary.reused, failed=len(summary.failed))
    return summary


@contextmanager
def interrupts_deferred(summary: RunSummary) -> Iterator[None]:
    """A Ctrl-C once every grading is done waits for the block (writing up) to finish.

    Stopping then would only leave a half-written results folder; the run is complete,
    so the writing goes on and the Ctrl-C is noted. A second Ctrl-C stops at once.
    Only the main thread can take signals; elsewhere this changes nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def note(signum: int, frame: object) -> None:
        if summary.late_interrupt:
            raise KeyboardInterrupt
        summary.late_interrupt = True

    previous = signal.signal(signal.SIGINT, note)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _record(gradebook: Gradebook, summary: RunSummary, job: Job, result: GradeResult, *,
            seconds: float, reused_from: str | None = None) -> None:
    result = dataclasses.replace(result, graded_file=job.module.origin)
    if reused_from is not None:
        result = dataclasses.replace(result, duration=0.0)
    gradebook.record(job.key, result, seconds=seconds, run_id=summary.run_id,
                     reused_from=reused_from)
    summary.recorded += 1
    summary.reused += reused_from is not None


def _settle(gradebook: Gradebook, summary: RunSummary, listener: Listener, group: list[Job],
            outcome: GradeResult | BaseException | str) -> None:
    """Record one group's verdict (its first job graded, the twins reuse it), or its failure."""
    if isinstance(outcome, BaseException | str):
        why = outcome if isinstance(outcome, str) else f"{type(outcome).__name__}: {outcome}"
        summary.failed.extend((job.key.student, job.key.exercise, why) for job in group)
        listener.recorded(None, len(group))
        return
    summary.graded += 1
    _record(gradebook, summary, group[0], outcome, seconds=outcome.duration)
    for twin in group[1:]:
        _record(gradebook, summary, twin, outcome, seconds=0.0,
                reused_from=group[0].key.student)
    listener.recorded(outcome, len(group))


def _grade_groups(groups: list[list[Job]], gradebook: Gradebook, summary: RunSummary,
                  workers: int, listener: Listener, sandbox: str) -> None:
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grade-bulk")
    cancel = threading.Event()
    futures: dict[Future[GradeResult], list[Job]] = {
        pool.submit(grade_in_fresh_folder, group[0], cancel, sandbox): group
        for group in groups
    }

    def settle(future: Future[GradeResult]) -> None:
        try:
            outcome: GradeResult | BaseException = future.result()
        except Exception as exc:  # the grader failed, not the student: nothing recorded
            outcome = exc
        _settle(gradebook, summary, listener, futures[future], outcome)

    abandon = False
    try:
        for future in as_completed(futures):
            settle(future)
    except KeyboardInterrupt:
        summary.interrupted = True
        for future in futures:
            future.cancel()
        running = [f for f in futures if not f.done()]
        listener.stopping(len(running))
        try:
            for future in as_completed(running):
                settle(future)
        except KeyboardInterrupt:
            abandon = True
            cancel.set()  # every running grading kills its child and raises; none is recorded
            wait(running, timeout=10.0)
    finally:
        pool.shutdown(wait=not abandon, cancel_futures=True)
