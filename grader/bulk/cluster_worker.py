"""What runs on a Dask worker for ``grade bulk --cluster``: one student's gradings a task.

This side stands alone: it imports the grader, never Dask, and never the coordinator's
module, so a worker needs nothing of the coordinator but the grader package and the
course installed beside it. Dask carries two kinds of call here, both plain functions
taking and returning plain data (pickled by Dask):

* :func:`fingerprint`, through ``Client.run`` on every worker before any work is sent:
  the grader package's hash, each hidden suite's hash and whether a sandbox can start,
  so the coordinator can refuse a worker that would grade differently;
* :func:`grade_batch`, one task per student: every exercise of that student graded
  one after another in the student's own warm sandbox, as a local run does
  (:func:`grader.supervision.sandbox.shared_cells`, ``grade_file(..., owner=student)``).

Submissions arrive as bytes in the task, so workers need not share a file system with
the coordinator. Hidden suites come from the worker's own course, and a task whose
worker holds a different grader or suite than the one the coordinator planned with
grades nothing and says why: a worker that joined after the first check cannot slip
in a verdict from another version.

Dask workers are daemonic processes, and ``multiprocessing`` refuses children of a
daemon; gradings start their sandbox with ``subprocess`` (bubblewrap), which does not
care. Each grading still goes through :func:`grader.supervision.runner.grade_file` with the same
``sandbox`` mode the coordinator was given (``"require"`` unless
``--unsafe-no-sandbox``).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import platform
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import grader
from grader.course.course import Course, find_course

if TYPE_CHECKING:
    from grader.supervision.results import GradeResult

__all__ = ["Assignment", "Batch", "BatchResult", "Fingerprint", "fingerprint", "grade_batch",
           "grader_hash"]


@dataclass(frozen=True)
class Assignment:
    """One grading of a batch: the student's bytes for one exercise."""

    index: int  # the coordinator's number for this grading (its group)
    exercise: str  # Exercise.name, looked up in the worker's own course
    suite_hash: str  # what the coordinator planned with; the worker's must match
    origin: str  # where the file came from, for people
    content: bytes


@dataclass(frozen=True)
class Batch:
    """One student's gradings, sent as one task."""

    student: str
    course_hint: str  # the coordinator's course folder, used if it exists here
    grader_hash: str  # the coordinator's, which the worker's must match
    sandbox: str  # "require" or "off", as grade_file takes it
    assignments: tuple[Assignment, ...]


@dataclass(frozen=True)
class BatchResult:
    """What came back: per assignment index, a verdict or why there is none."""

    results: dict[int, GradeResult]  # imported for mypy only, so this module stays light
    errors: dict[int, str]
    worker_seconds: float  # real time the task took on the worker
    host: str


@dataclass(frozen=True)
class Fingerprint:
    """What a worker would grade with; compared with the coordinator's before work."""

    host: str
    python: str
    version: str
    grader_hash: str
    course: str
    suites: dict[str, str]  # Exercise.name -> suite hash, or "missing: why"
    sandbox_problem: str | None


@functools.cache
def grader_hash() -> str:
    """SHA-256 of the grader package's files as installed here (code and templates)."""
    package = Path(grader.__file__).resolve().parent
    digest = hashlib.sha256(f"grader {grader.__version__}\n".encode())
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            digest.update(f"{path.relative_to(package).as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def worker_course(hint: str) -> Course:
    """The course this worker grades with: $GRADER_COURSE, the coordinator's folder if it
    is a course here too (a local cluster, a shared file system), else around the cwd."""
    if os.environ.get("GRADER_COURSE"):
        return find_course()
    candidate = Path(hint)
    if (candidate / "course.toml").is_file() or (candidate / "exercises").is_dir():
        return find_course(explicit=candidate)
    return find_course()


def fingerprint(course_hint: str, exercises: list[str], sandbox: str) -> Fingerprint:
    """This worker's grader, suites and sandbox, for ``Client.run``."""
    from grader.bulk.gradebook import suite_hash
    from grader.errors import GraderError
    from grader.supervision.sandbox import sandbox_problem

    try:
        course = worker_course(course_hint)
    except GraderError as exc:
        return Fingerprint(platform.node(), platform.python_version(), grader.__version__,
                           grader_hash(), f"none ({exc.format_message()})",
                           {name: "missing: no course" for name in exercises}, None)
    suites = {}
    for name in exercises:
        try:
            suites[name] = suite_hash(course.resolve(name))
        except (GraderError, OSError) as exc:
            suites[name] = f"missing: {exc}"
    problem = sandbox_problem() if sandbox == "require" else None
    return Fingerprint(platform.node(), platform.python_version(), grader.__version__,
                       grader_hash(), str(course.root), suites, problem)


_cells_lock = threading.Lock()
_cells_users = 0
_cells_block: contextlib.AbstractContextManager[None] | None = None


@contextlib.contextmanager
def _warm_cells(keep: int) -> Iterator[None]:
    """One pool of warm sandboxes per worker process while any task runs.

    :func:`grader.supervision.sandbox.shared_cells` is process-wide; a worker runs several tasks at
    once on its threads, so the pool opens with the first and closes with the last
    (closing it under a running task would strand that task's sandbox).
    """
    global _cells_users, _cells_block
    from grader.supervision.sandbox import shared_cells

    with _cells_lock:
        if _cells_users == 0:
            _cells_block = shared_cells(keep=keep)
            _cells_block.__enter__()
        _cells_users += 1
    try:
        yield
    finally:
        with _cells_lock:
            _cells_users -= 1
            if _cells_users == 0 and _cells_block is not None:
                block, _cells_block = _cells_block, None
                block.__exit__(None, None, None)


def _threads_here() -> int:
    try:
        from distributed import get_worker  # present on every Dask worker

        return max(1, int(get_worker().state.nthreads))
    except (ImportError, ValueError, AttributeError):
        return 1


def grade_batch(batch: Batch) -> BatchResult:
    """Grade one student's files here; a grading that fails is named, not raised."""
    from grader.bulk.gradebook import GradingKey, suite_hash
    from grader.bulk.intake import ModuleFile
    from grader.bulk.pipeline import Job, grade_in_fresh_folder
    from grader.errors import GraderError

    started = time.perf_counter()
    results: dict[int, GradeResult] = {}
    errors: dict[int, str] = {}
    host = platform.node()
    if grader_hash() != batch.grader_hash:
        why = (f"worker {host} runs a different grader ({grader.__version__}, package "
               f"{grader_hash()[:12]}); install the coordinator's on every worker")
        return BatchResult({}, {a.index: why for a in batch.assignments},
                           time.perf_counter() - started, host)
    try:
        course = worker_course(batch.course_hint)
    except GraderError as exc:
        why = f"worker {host} has no course: {exc.format_message()}"
        return BatchResult({}, {a.index: why for a in batch.assignments},
                           time.perf_counter() - started, host)
    with _warm_cells(keep=2 * _threads_here()):
        for assignment in batch.assignments:
            try:
                exercise = course.resolve(assignment.exercise)
                here = suite_hash(exercise)
                if here != assignment.suite_hash:
                    errors[assignment.index] = (
                        f"worker {host} has a different hidden suite for {exercise.short_name} "
                        f"({here[:12]}, planned {assignment.suite_hash[:12]})")
                    continue
                module = ModuleFile(exercise.name, assignment.origin, assignment.content)
                job = Job(GradingKey(batch.student, exercise.name, module.sha256, here),
                          exercise, module)
                results[assignment.index] = grade_in_fresh_folder(job, sandbox=batch.sandbox)
            except Exception as exc:  # the grader failed, not the student: named, not recorded
                errors[assignment.index] = f"{type(exc).__name__}: {exc}"
    return BatchResult(results, errors, time.perf_counter() - started, host)
