"""grade bulk --cluster: a real Dask scheduler and two workers, as separate processes.

The scheduler and workers are started with Dask's own command-line tools on 127.0.0.1
(random free ports, every wait bounded, always torn down), exactly as an instructor
would start them on a cluster, and grade a small class whose verdicts are compared with
a local run of the same class. Their course is a copy of exercises 03 and 07 made for
this module, so nothing else editing the checkout can change a suite mid-test.

Skipped, with the reason, where Dask is not installed (pip install -e ".[cluster]");
the tests of what happens without it run everywhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.bulk.cluster import ClusterError, _check_workers, parse_cluster
from grader.bulk.cluster_worker import Fingerprint, grader_hash
from grader.bulk.gradebook import Gradebook, suite_hash
from grader.bulk.run import GRADEBOOK_NAME, run_bulk
from grader.cli import main
from grader.course.course import Course
from grader.supervision.results import GradeResult
from helpers import FIXTURES, REPO

needs_dask = pytest.mark.skipif(find_spec("distributed") is None,
                                reason='Dask is not installed (pip install -e ".[cluster]")')

EXERCISES = ("exercise-03-concurrent-fetch", "exercise-07-cancellation")
SOLUTION_03 = (REPO / "solutions" / EXERCISES[0] / "fetcher.py").read_bytes()
WRONG_03 = (FIXTURES / "exercises" / EXERCISES[0] / "wrong" / "sequential_awaits.py").read_bytes()
SOLUTION_07 = (REPO / "solutions" / EXERCISES[1] / "shutdown.py").read_bytes()
WRONG_07 = (FIXTURES / "exercises" / EXERCISES[1] / "wrong" / "keeps_going.py").read_bytes()
PATIENCE = 90.0  # seconds for a scheduler or worker to come up on a busy machine


def _class(folder: Path, count: int) -> Path:
    """``count`` students, each with their own copy (a comment line) of 03 and 07."""
    for number in range(count):
        student = f"s{number:02d}"
        for exercise, good, bad in ((EXERCISES[0], SOLUTION_03, WRONG_03),
                                    (EXERCISES[1], SOLUTION_07, WRONG_07)):
            module = "fetcher.py" if exercise == EXERCISES[0] else "shutdown.py"
            target = folder / student / "exercises" / exercise / module
            target.parent.mkdir(parents=True)
            target.write_bytes((good if number % 2 == 0 else bad) + f"\n# {student}\n".encode())
    return folder


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class LocalDask:
    """A scheduler and its workers, each a process started by Dask's CLI."""

    address: str
    course: Course
    folder: Path
    processes: list[subprocess.Popen] = field(default_factory=list)

    def worker_pids(self) -> dict[str, int]:
        """Each worker process's pid (the nanny's child), by worker address."""
        from distributed import Client

        with Client(self.address, timeout=PATIENCE, set_as_default=False) as client:
            return client.run(os.getpid)

    def wait_for(self, workers: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=PATIENCE, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=PATIENCE)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=20)


@pytest.fixture(scope="module")
def course_copy(tmp_path_factory: pytest.TempPathFactory) -> Course:
    root = tmp_path_factory.mktemp("course")
    shutil.copy(REPO / "course.toml", root / "course.toml")
    for name in EXERCISES:
        shutil.copytree(REPO / "exercises" / name, root / "exercises" / name,
                        ignore=shutil.ignore_patterns("__pycache__"))
    return Course(root)


@pytest.fixture(scope="module")
def dask_cluster(course_copy: Course, tmp_path_factory: pytest.TempPathFactory
                 ) -> Iterator[LocalDask]:
    pytest.importorskip("distributed", reason='Dask is not installed (pip install -e ".[cluster]")')
    folder = tmp_path_factory.mktemp("dask")
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "GRADER_COURSE": str(course_copy.root), "TMPDIR": str(folder)}
    bin_dir = Path(sys.executable).parent
    dask = str(bin_dir / "dask") if (bin_dir / "dask").exists() else "dask"
    cluster = LocalDask(address, course_copy, folder)
    try:
        with open(folder / "scheduler.log", "wb") as log:
            cluster.processes.append(subprocess.Popen(
                [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--no-dashboard"], cwd=folder, env=env, stdout=log, stderr=log,
                stdin=subprocess.DEVNULL))
        for number in (1, 2):
            with open(folder / f"worker-{number}.log", "wb") as log:
                cluster.processes.append(subprocess.Popen(
                    [dask, "worker", address, "--nthreads", "1", "--nanny", "--no-dashboard",
                     "--name", f"worker-{number}", "--local-directory", str(folder),
                     "--host", "127.0.0.1", "--death-timeout", "60"],
                    cwd=folder, env=env, stdout=log, stderr=log, stdin=subprocess.DEVNULL))
        cluster.wait_for(2)
        yield cluster
    finally:
        for process in reversed(cluster.processes):
            _stop(process)


class _WatchForBubblewrap:
    """Polls the workers' descendants during a run for bubblewrap processes."""

    def __init__(self, pids: list[int]) -> None:
        self.seen: set[str] = set()
        self._pids = pids
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def _poll(self) -> None:
        import psutil

        while not self._stop.wait(0.05):
            for pid in self._pids:
                with contextlib.suppress(psutil.Error):
                    for child in psutil.Process(pid).children(recursive=True):
                        with contextlib.suppress(psutil.Error):
                            self.seen.add(child.name())

    def __enter__(self) -> _WatchForBubblewrap:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _rows(out: Path) -> list[tuple]:
    with Gradebook(out / GRADEBOOK_NAME) as book:
        return [(k.student, k.exercise, k.file_hash, k.suite_hash)
                for k in book.recorded_keys()]


def _digest(out: Path) -> str:
    with Gradebook(out / GRADEBOOK_NAME) as book:
        return book.verdict_digest()


@pytest.fixture(scope="module")
def local_run(course_copy: Course, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The class graded on this machine's threads: what the cluster must reproduce."""
    base = tmp_path_factory.mktemp("local")
    subs = _class(base / "subs", 4)
    # One thread: Python 3.11.7's ast.parse can fail spuriously when two threads parse at
    # once (CPython gh-106905), which the screen does; a Dask worker here has one thread.
    outcome = run_bulk(course=course_copy, submissions=subs, out=base / "out", workers=1)
    assert outcome.results is not None and not outcome.summary.failed
    return base


@needs_dask
def test_a_class_graded_on_two_dask_workers_matches_the_local_run(
        dask_cluster: LocalDask, local_run: Path, tmp_path: Path) -> None:
    from distributed import Client

    with Client(dask_cluster.address, timeout=PATIENCE, set_as_default=False) as client:
        daemonic = client.run(lambda: __import__("multiprocessing").current_process().daemon)
    assert list(daemonic.values()) == [True, True]  # what multiprocessing refuses children of
    out = tmp_path / "out"

    with _WatchForBubblewrap(list(dask_cluster.worker_pids().values())) as watch:
        outcome = run_bulk(course=dask_cluster.course, submissions=local_run / "subs", out=out,
                           cluster=dask_cluster.address)

    assert not outcome.summary.failed and not outcome.summary.interrupted
    assert outcome.summary.graded == 8 and outcome.summary.recorded == 8
    assert "bwrap" in watch.seen  # each worker's gradings ran in bubblewrap sandboxes
    assert _digest(out) == _digest(local_run / "out")  # every verdict, word for word
    for name in ("grades.csv",):
        assert (out / name).read_text() == (local_run / "out" / name).read_text()
    assert (out / "class-summary.html").is_file() and (out / "students" / "s00.html").is_file()
    notes = [n for s in outcome.results.students for o in s.outcomes
             for n in (o.result.notes if o.result else ())]
    assert not any("sandbox" in n for n in notes), notes
    with Gradebook(out / GRADEBOOK_NAME) as book:
        assert book.runs()[-1]["workers"] == 2


@needs_dask
def test_a_worker_killed_mid_batch_loses_and_doubles_nothing(
        dask_cluster: LocalDask, local_run: Path, tmp_path: Path) -> None:
    from distributed import Client

    subs = _class(tmp_path / "subs", 8)
    out = tmp_path / "out"
    pids = dask_cluster.worker_pids()
    killed: dict[str, object] = {}

    class KillOnFirstVerdict:
        def start(self, total: int) -> None:
            pass

        def recorded(self, result: GradeResult | None, count: int) -> None:
            if killed:
                return
            with Client(dask_cluster.address, timeout=PATIENCE,
                        set_as_default=False) as client:
                busy = {w: tasks for w, tasks in client.processing().items() if tasks}
            victim = next((w for w in busy if w in pids), None)
            if victim is not None:
                os.kill(pids[victim], signal.SIGKILL)
                killed.update(worker=victim, tasks=busy[victim])

        def stopping(self, running: int) -> None:
            pass

    outcome = run_bulk(course=dask_cluster.course, submissions=subs, out=out,
                       cluster=dask_cluster.address, listener=KillOnFirstVerdict())

    assert killed, "no worker was busy when the first verdict came back"
    assert killed["tasks"]  # it was in the middle of a student's batch
    assert outcome.summary.failed == []  # its batch was graded again elsewhere
    assert outcome.summary.recorded == 16 and outcome.summary.graded == 16
    rows = _rows(out)
    assert len(rows) == len(set(rows)) == 16
    with Gradebook(out / GRADEBOOK_NAME) as book:
        timings = book._db.execute("SELECT count(*) FROM timings").fetchone()[0]
    assert timings == 16
    # The same verdicts as four of them graded locally (s00-s03 are byte-identical).
    local = {r[:3] for r in _rows(local_run / "out")}
    assert local <= {r[:3] for r in rows}
    dask_cluster.wait_for(2)  # the nanny restarts the worker for the next test


@needs_dask
def test_a_ctrl_c_on_the_cluster_keeps_what_finished_and_resumes(
        dask_cluster: LocalDask, tmp_path: Path) -> None:
    subs = _class(tmp_path / "subs", 6)
    out = tmp_path / "out"

    class InterruptAfterFirst:
        fired = False

        def start(self, total: int) -> None:
            pass

        def recorded(self, result: GradeResult | None, count: int) -> None:
            if not self.fired:
                self.fired = True
                raise KeyboardInterrupt

        def stopping(self, running: int) -> None:
            self.running = running

    listener = InterruptAfterFirst()
    stopped = run_bulk(course=dask_cluster.course, submissions=subs, out=out,
                       cluster=dask_cluster.address, listener=listener)

    assert stopped.summary.interrupted and stopped.results is None
    kept = len(_rows(out))
    assert 1 <= kept < 12
    resumed = run_bulk(course=dask_cluster.course, submissions=subs, out=out,
                       cluster=dask_cluster.address)
    assert resumed.summary.already_recorded == kept
    assert resumed.summary.graded == 12 - kept and len(_rows(out)) == 12


@needs_dask
def test_kill_9_of_the_coordinator_loses_no_committed_row(
        dask_cluster: LocalDask, tmp_path: Path) -> None:
    subs = _class(tmp_path / "subs", 10)
    out = tmp_path / "out"
    (tmp_path / "tmp").mkdir()
    env = {**os.environ, "GRADER_COURSE": str(dask_cluster.course.root),
           "TMPDIR": str(tmp_path / "tmp")}
    command = [sys.executable, "-c", "from grader.cli import main; main()", "bulk", str(subs),
               "--out", str(out), "--cluster", dask_cluster.address]
    process = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + PATIENCE
        while time.monotonic() < deadline and process.poll() is None:
            if (out / GRADEBOOK_NAME).exists() and len(_rows(out)) >= 2:
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    before = set(_rows(out))
    assert 2 <= len(before) < 20

    rerun = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                           timeout=300)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    after = set(_rows(out))
    assert before <= after and len(after) == 20
    assert f"{len(before)} were already in the gradebook" in rerun.stdout


@needs_dask
def test_grading_in_a_worker_requires_and_gets_the_sandbox(
        dask_cluster: LocalDask) -> None:
    from distributed import Client

    from grader.bulk.cluster_worker import Assignment, Batch, grade_batch

    exercise = dask_cluster.course.resolve("03")
    batch = Batch("solo", str(dask_cluster.course.root), grader_hash(), "require", (
        Assignment(0, exercise.name, suite_hash(exercise), "solo/fetcher.py", SOLUTION_03),))
    with Client(dask_cluster.address, timeout=PATIENCE, set_as_default=False) as client:
        answer = client.submit(grade_batch, batch, pure=False).result(timeout=PATIENCE)
    assert answer.errors == {}
    result = answer.results[0]
    assert result.all_passed and not any("sandbox" in n for n in result.notes)


def _report(**changes: object) -> Fingerprint:
    base = {"host": "node7", "python": "3.11.7", "version": "0.2.0",
            "grader_hash": grader_hash(), "course": "/srv/course",
            "suites": {"exercise-03-concurrent-fetch": "a" * 64}, "sandbox_problem": None}
    return Fingerprint(**{**base, **changes})


class _FakeClient:
    def __init__(self, reports: dict[str, object]) -> None:
        self.reports = reports

    def run(self, function: object, *args: object, on_error: str) -> dict[str, object]:
        return self.reports


@pytest.mark.parametrize(("report", "said"), [
    (_report(grader_hash="b" * 64, version="0.1.9"), "runs grader 0.1.9"),
    (_report(suites={"exercise-03-concurrent-fetch": "c" * 64}),
     "different hidden suite for exercise-03"),
    (_report(suites={"exercise-03-concurrent-fetch": "missing: no course"}),
     "different hidden suite for exercise-03"),
    (_report(sandbox_problem="bubblewrap is not installed"), "can't make a grading sandbox"),
    (ModuleNotFoundError("No module named 'grader'"), "could not report its grader"),
])
def test_a_worker_that_would_grade_differently_is_refused_in_one_line(
        course: Course, report: object, said: str) -> None:
    exercise = course.resolve("03")
    client = _FakeClient({"tcp://10.0.0.1:4000": _report(), "tcp://10.0.0.2:4000": report})
    with pytest.raises(ClusterError) as refused:
        _check_workers(client, "tcp://sched:8786", course, [exercise],
                       {exercise.name: "a" * 64}, "require")
    message = refused.value.format_message()
    assert said in message and "tcp://10.0.0.2:4000" in message and "\n" not in message
    _check_workers(_FakeClient({"tcp://10.0.0.1:4000": _report()}), "tcp://sched:8786",
                   course, [exercise], {exercise.name: "a" * 64}, "require")  # the same: fine


@pytest.mark.parametrize("text", ["", "local:0", "local:x", "host:8786", "tcp://host",
                                  "http://host:8786", "local:9999"])
def test_a_bad_cluster_address_says_what_to_write(text: str) -> None:
    with pytest.raises(ClusterError, match=r"tcp://host:8786|local:N"):
        parse_cluster(text)
    assert parse_cluster("local:3").local_workers == 3
    assert parse_cluster(" tcp://10.1.2.3:8786 ").address == "tcp://10.1.2.3:8786"


def test_without_dask_cluster_says_how_to_install_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed fails
    subs = _class(tmp_path / "subs", 1)
    result = CliRunner().invoke(main, ["bulk", str(subs), "--out", str(tmp_path / "out"),
                                       "--cluster", "local:2"],
                                env={"GRADER_COURSE": str(REPO)})
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and 'pip install -e ".[cluster]"' in lines[0]
    assert not (tmp_path / "out").exists()
