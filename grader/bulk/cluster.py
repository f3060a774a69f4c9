"""``grade bulk --cluster``: the class's gradings on a Dask cluster, recorded here.

Why Dask (``distributed``) rather than a scheduler of our own: it already places work
on whichever worker is free, notices a lost worker and runs its tasks elsewhere, and
is what university clusters can start under SLURM, PBS or Kubernetes (dask-jobqueue,
dask-kubernetes). It is an optional extra, ``pip install -e ".[cluster]"``, imported
only when ``--cluster`` is given.

The coordinator (this process) stays the only writer of the gradebook: each task's
verdicts come back here and go through :mod:`grader.bulk.pipeline`'s own recording,
one committed row each, so resume, ``kill -9`` and Ctrl-C mean what they mean locally.
A task is one student (every exercise of theirs, in their own warm sandbox on the
worker, see :mod:`grader.bulk.cluster_worker`): ~18 gradings of 0.05-0.3 s each is a
task of a second or more, so the scheduler's few milliseconds per task stay small, and
the student's sandbox starts once. Only a bounded window of tasks is submitted at a
time (twice the workers' threads), so a first Ctrl-C has little to wait for and the
scheduler never holds a MOOC's worth of submissions in memory.

A worker lost mid-task: Dask runs the task again on another worker (up to its
``distributed.scheduler.allowed-failures``); the coordinator records a task's verdicts
only once, when its one result arrives, and the gradebook's key makes a second write
of the same verdict replace the first, never add a row. A task that fails every try is
reported as a grader failure for its gradings (not recorded; the next run retries).

Before any work is sent, every worker reports (``Client.run``) a hash of its grader
package, of each hidden suite and whether it can start a sandbox; any difference from
this process refuses the run in one line. A worker that joins later is checked by each
task it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import grader
from grader.bulk.cluster_worker import Assignment, Batch, BatchResult, fingerprint, grader_hash
from grader.bulk.pipeline import Job, Listener, RunSummary, Settle
from grader.course.course import Course, Exercise
from grader.errors import GraderError

__all__ = ["INSTALL_HINT", "ClusterError", "ClusterExecutor", "ClusterSpec", "ClusterStats",
           "open_cluster", "parse_cluster", "require_dask"]

INSTALL_HINT = ('grade bulk --cluster needs Dask: pip install -e ".[cluster]" in the course '
                "folder (or pip install dask distributed).")
CONNECT_PATIENCE = 30.0  # seconds to reach the scheduler
WORKER_PATIENCE = 60.0  # seconds for the first worker to join
MAX_LOCAL_WORKERS = 256
_SCHEMES = ("tcp", "tls", "ucx", "ws", "wss", "inproc")


class ClusterError(GraderError):
    """Raised when the cluster can't be used: bad address, no Dask, no worker, a worker
    whose grader, suites or sandbox differ from this machine's."""


@dataclass(frozen=True)
class ClusterSpec:
    """Where to grade: a running scheduler's address, or a local cluster of N workers."""

    address: str = ""
    local_workers: int = 0

    def __str__(self) -> str:
        return f"local:{self.local_workers}" if self.local_workers else self.address


def parse_cluster(text: str) -> ClusterSpec:
    """``tcp://host:8786`` (any Dask scheme) or ``local:N``; anything else, one line why."""
    text = text.strip()
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise ClusterError(f"--cluster {text}: local:N takes a number of worker processes "
                               f"from 1 to {MAX_LOCAL_WORKERS}, e.g. local:4.")
        return ClusterSpec(local_workers=int(count))
    scheme, _, rest = text.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in _SCHEMES or not host or not port.isdigit():
        raise ClusterError(f"--cluster {text!r} is not a Dask scheduler address: give one like "
                           "tcp://host:8786 (as 'dask scheduler' prints it), or local:N to "
                           "start N worker processes here.")
    return ClusterSpec(address=text)


def require_dask() -> ModuleType:
    """The ``distributed`` package, or a one-line :class:`ClusterError` saying how to get it."""
    try:
        import distributed
    except ImportError:
        raise ClusterError(INSTALL_HINT) from None
    return distributed


@dataclass
class ClusterStats:
    """What the cluster path cost, for the benchmark: tasks, worker time, round trips."""

    tasks: int = 0
    gradings: int = 0
    retried_or_lost: int = 0  # tasks whose result never came (after Dask's own retries)
    worker_seconds: float = 0.0  # sum over tasks of their real time on a worker
    round_trip_seconds: float = 0.0  # sum over tasks of submit -> result seen here
    hosts: set[str] = field(default_factory=set)


@dataclass
class _Sent:
    indexes: list[int]
    at: float


class ClusterExecutor:
    """A :class:`grader.bulk.pipeline.Executor` that grades one student per Dask task."""

    def __init__(self, client: Any, *, course: Course, sandbox: str, threads: int) -> None:
        self._client = client
        self._course_hint = str(course.root)
        self._sandbox = sandbox
        self._threads = threads
        self._threads_read = time.monotonic()
        self._token = uuid.uuid4().hex[:8]
        self.workers = threads
        self.stats = ClusterStats()

    def _window(self) -> int:
        """Tasks in flight: twice the cluster's threads (re-read every few seconds, as
        workers come and go), so none idles between tasks and a Ctrl-C waits for little."""
        if time.monotonic() - self._threads_read > 2.0:
            self._threads_read = time.monotonic()
            with contextlib.suppress(Exception):  # a slow answer keeps the last count
                self._threads = max(1, sum(self._client.nthreads().values()))
        return max(2, 2 * self._threads)

    def grade(self, groups: list[list[Job]], settle: Settle, listener: Listener,
              summary: RunSummary) -> None:
        from distributed import as_completed

        from grader.bulk.cluster_worker import grade_batch

        batches = list(self._batches(groups))
        waiting = iter(batches)
        sent: dict[Any, _Sent] = {}
        finished = as_completed(loop=self._client.loop)

        def top_up() -> None:
            while len(sent) < self._window():
                batch = next(waiting, None)
                if batch is None:
                    return
                number = self.stats.tasks
                self.stats.tasks += 1
                future = self._client.submit(grade_batch, batch, pure=False,
                                             key=f"grade-{self._token}-{number}")
                sent[future] = _Sent([a.index for a in batch.assignments], time.perf_counter())
                finished.add(future)

        def take(future: Any) -> None:
            entry = sent.pop(future)
            self.stats.round_trip_seconds += time.perf_counter() - entry.at
            try:
                answer: BatchResult = future.result()
            except (Exception, asyncio.CancelledError) as exc:  # lost for good, or cancelled
                self.stats.retried_or_lost += 1
                why = f"the cluster lost this grading ({type(exc).__name__}: {exc}); run again"
                for index in entry.indexes:
                    settle(groups[index], why)
                return
            self.stats.worker_seconds += answer.worker_seconds
            self.stats.hosts.add(answer.host)
            for index in entry.indexes:
                self.stats.gradings += 1
                outcome = answer.results.get(index)
                settle(groups[index], outcome if outcome is not None else
                       answer.errors.get(index, "the worker sent no verdict"))

        top_up()
        try:
            for future in finished:
                take(future)
                top_up()
        except KeyboardInterrupt:
            summary.interrupted = True
            listener.stopping(len(sent))
            try:
                for future in finished:
                    take(future)
            except KeyboardInterrupt:
                self._client.cancel(list(sent))  # abandoned: none of them is recorded

    def _batches(self, groups: list[list[Job]]) -> Iterator[Batch]:
        """One batch per student (the student of each group's first job), in plan order."""
        by_student: dict[str, list[Assignment]] = {}
        for index, group in enumerate(groups):
            job = group[0]
            by_student.setdefault(job.key.student, []).append(Assignment(
                index, job.exercise.name, job.key.suite_hash, job.module.origin,
                job.module.content))
        mine = grader_hash()
        for student, assignments in by_student.items():
            yield Batch(student, self._course_hint, mine, self._sandbox, tuple(assignments))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Dask's own log lines (a busy event loop, a worker lost) would tear the progress
    bar; keep errors only, on this side, while the run lasts."""
    logger = logging.getLogger("distributed")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def open_cluster(text: str, *, course: Course, exercises: Sequence[Exercise],
                 suite_hashes: dict[str, str], sandbox: str) -> Iterator[ClusterExecutor]:
    """Connect (or start ``local:N``), check every worker, yield the executor; always
    closes what it opened."""
    spec = parse_cluster(text)
    distributed = require_dask()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet())
        address = spec.address
        if spec.local_workers:
            cluster = distributed.LocalCluster(
                n_workers=spec.local_workers, threads_per_worker=1, processes=True,
                host="127.0.0.1", dashboard_address=None, silence_logs=logging.ERROR)
            stack.callback(cluster.close)
            address = cluster.scheduler_address
        try:
            client = distributed.Client(address, timeout=CONNECT_PATIENCE,
                                        set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"Can't reach the Dask scheduler at {address} ({exc}). Start it "
                               f"('dask scheduler') and its workers ('dask worker {address}'), "
                               "or check the address.") from None
        stack.callback(client.close)
        try:
            client.wait_for_workers(1, timeout=WORKER_PATIENCE)
        except TimeoutError:
            raise ClusterError(f"No Dask worker joined {address} within {WORKER_PATIENCE:.0f} "
                               f"s. Start some: dask worker {address}") from None
        _check_workers(client, str(spec), course, exercises, suite_hashes, sandbox)
        threads = max(1, sum(client.nthreads().values()))
        yield ClusterExecutor(client, course=course, sandbox=sandbox, threads=threads)


def _check_workers(client: Any, where: str, course: Course, exercises: Sequence[Exercise],
                   suite_hashes: dict[str, str], sandbox: str) -> None:
    """Refuse, in one line, unless every worker grades exactly as this machine would."""
    reports = client.run(fingerprint, str(course.root), [e.name for e in exercises], sandbox,
                         on_error="return")
    mine = grader_hash()
    short = {e.name: e.short_name for e in exercises}
    problems: list[str] = []
    for address, report in sorted(reports.items()):
        if isinstance(report, BaseException):
            problems.append(f"worker {address} could not report its grader "
                            f"({type(report).__name__}: {report}); install the grader there")
            continue
        who = f"worker {address} ({report.host})"
        if report.grader_hash != mine:
            problems.append(f"{who} runs grader {report.version} (package "
                            f"{report.grader_hash[:12]}), this machine {grader.__version__} "
                            f"({mine[:12]}); install the same grader on every worker")
            continue
        for name, expected in suite_hashes.items():
            theirs = report.suites.get(name, "missing")
            if theirs != expected:
                problems.append(f"{who} has a different hidden suite for {short.get(name, name)} "
                                f"in {report.course} ({theirs[:40]}); install the same course "
                                "there, or set GRADER_COURSE on the worker")
                break
        if report.sandbox_problem:
            problems.append(f"{who} can't make a grading sandbox: {report.sandbox_problem}; "
                            "install bubblewrap there, or pass --unsafe-no-sandbox")
    if problems:
        more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
        raise ClusterError(f"Not grading on {where}: {problems[0]}{more}.")
