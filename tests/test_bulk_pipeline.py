"""Bulk grading end to end: resume, interruption, kill -9, isolation of graded copies.

Each real grading is a ~0.3-0.5 s child process, so every test grades a handful at most;
tests about plumbing replace grade_file with a fake.
"""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from rich.console import Console

from grader.bulk import pipeline
from grader.bulk.gradebook import Gradebook
from grader.bulk.progress import print_outcome
from grader.bulk.run import GRADEBOOK_NAME, resume_command, run_bulk
from grader.cli import main
from grader.course.course import Course, Exercise
from grader.supervision.results import CheckResult, GradeResult
from helpers import FIXTURES, REPO
from helpers.load import cores_busy

EX03 = "exercise-03-concurrent-fetch"
SOLUTION = (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()
STUB = (REPO / "exercises" / EX03 / "fetcher.py").read_bytes()
WRONG = FIXTURES / "exercises" / EX03 / "wrong"
SEQUENTIAL = (WRONG / "sequential_awaits.py").read_bytes()
TIME_SLEEP = (WRONG / "time_sleep.py").read_bytes()


def _class(folder: Path, files: dict[str, bytes | None]) -> Path:
    """One folder per student holding fetcher.py (None: an empty folder)."""
    for student, content in files.items():
        (folder / student).mkdir(parents=True)
        if content is not None:
            (folder / student / "fetcher.py").write_bytes(content)
    return folder


def _own(content: bytes, student: str) -> bytes:
    """The same program with the student's own comment, as real submissions differ."""
    return content + f"\n# {student}\n".encode()


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-c", "from grader.cli import main; main()", *args]


def _env(tmp_path: Path) -> dict[str, str]:
    # A killed run can't remove its temporary folders: keep them inside tmp_path.
    (tmp_path / "tmp").mkdir(exist_ok=True)
    return {**os.environ, "GRADER_COURSE": str(REPO), "TMPDIR": str(tmp_path / "tmp")}


def test_grade_bulk_grades_a_class_and_resumes_only_what_changed(tmp_path: Path) -> None:
    subs = _class(tmp_path / "subs", {
        "ana": SOLUTION, "ben": SEQUENTIAL, "cat": STUB, "dov": STUB, "eli": None,
        "fay": SOLUTION,
    })
    (subs / "fay" / "conftest.py").write_text("import pytest\n")
    out = tmp_path / "results"
    runner = CliRunner()
    args = ["bulk", str(subs), "--out", str(out), "--exercises", "03", "--workers", "2"]

    first = runner.invoke(main, args, env={"GRADER_COURSE": str(REPO)})

    assert first.exit_code == 0, first.output
    assert "Graded 3 file(s)" in first.output  # ana, ben, cat; dov and fay are identical
    assert (out / "grades.csv").read_text().splitlines() == [
        "student,exercise-03,total", "ana,11,11", "ben,7,7", "cat,0,0", "dov,0,0", "eli,,",
        "fay,11,11",
    ]
    document = json.loads((out / "results.json").read_text())
    students = {s["student"]: s for s in document["students"]}
    assert students["dov"]["exercises"][0]["reused_from"] == "cat"
    assert students["dov"]["exercises"][0]["unchanged_stub"] is True
    assert students["eli"]["problems"] == ["is empty"]
    assert any("conftest.py" in flag for flag in students["fay"]["flags"])
    summary_page = (out / "class-summary.html").read_text()
    assert "Most-failed checks" in summary_page and 'href="students/ana.html"' in summary_page
    assert "Feedback for ben" in (out / "students" / "ben.html").read_text()
    assert "is empty" in (out / "students" / "eli.html").read_text()  # why nothing was graded

    again = runner.invoke(main, args, env={"GRADER_COURSE": str(REPO)})
    assert again.exit_code == 0, again.output
    assert "Graded 0 file(s)" in again.output and "5 were already" in again.output

    (subs / "ben" / "fetcher.py").write_bytes(_own(SOLUTION, "ben"))
    changed = runner.invoke(main, args, env={"GRADER_COURSE": str(REPO)})
    assert changed.exit_code == 0, changed.output
    assert "Graded 1 file(s)" in changed.output
    assert "ben,11,11" in (out / "grades.csv").read_text()


class _InterruptAfterFirst:
    """A progress listener whose first recorded grading is followed by a Ctrl-C."""

    def __init__(self) -> None:
        self.fired = False

    def start(self, total: int) -> None:
        pass

    def recorded(self, result: GradeResult | None, count: int) -> None:
        if not self.fired:
            self.fired = True
            raise KeyboardInterrupt

    def stopping(self, running: int) -> None:
        pass


def test_interrupted_run_keeps_what_finished_and_resumes(tmp_path: Path, course: Course) -> None:
    subs = _class(tmp_path / "subs", {n: _own(SOLUTION, n) for n in ("a", "b", "c", "d")})
    out = tmp_path / "results"

    stopped = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=1,
                       listener=_InterruptAfterFirst())

    assert stopped.summary.interrupted
    assert stopped.results is None and not (out / "grades.csv").exists()
    with Gradebook(out / GRADEBOOK_NAME) as book:
        kept = len(list(book.recorded_keys()))
    assert 1 <= kept < 4
    console = Console(file=io.StringIO(), width=200)
    resume = resume_command(subs, out, ["03"])
    print_outcome(console, stopped, out=out, resume=resume)
    said = console.file.getvalue()  # type: ignore[attr-defined]
    assert "Interrupted" in said and f"Resume with:\n  {resume}" in said

    finished = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=2)

    assert not finished.summary.interrupted
    assert finished.summary.already_recorded == kept
    assert finished.summary.graded == 4 - kept
    assert finished.results is not None
    assert [s.total for s in finished.results.students] == [11, 11, 11, 11]


def _recorded_rows(database: Path) -> list[tuple]:
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            return db.execute("SELECT * FROM gradings ORDER BY student").fetchall()
    except sqlite3.OperationalError:  # not created yet
        return []


def _wait_for_rows(database: Path, count: int, process: subprocess.Popen) -> list[tuple]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        rows = _recorded_rows(database)
        if len(rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"never saw {count} rows; grade bulk exited with {process.poll()}")


def test_kill_9_mid_run_loses_no_committed_row(tmp_path: Path) -> None:
    students = ["s1", "s2", "s3", "s4", "s5", "s6"]
    subs = _class(tmp_path / "subs", {n: _own(SOLUTION if i % 2 else SEQUENTIAL, n)
                                      for i, n in enumerate(students)})
    out = tmp_path / "results"
    command = _cli("bulk", str(subs), "--out", str(out), "--exercises", "03", "--workers", "1")
    process = subprocess.Popen(command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        _wait_for_rows(out / GRADEBOOK_NAME, 2, process)
        process.send_signal(signal.SIGKILL)
    finally:
        process.kill()
        process.wait()
    before = _recorded_rows(out / GRADEBOOK_NAME)
    assert 2 <= len(before) < len(students)

    rerun = subprocess.run(command, cwd=tmp_path, env=_env(tmp_path), capture_output=True,
                           text=True, timeout=120)

    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    after = _recorded_rows(out / GRADEBOOK_NAME)
    assert set(before) <= set(after)  # every committed verdict kept, unchanged
    assert len(after) == len(students)
    assert f"Graded {len(students) - len(before)} file(s)" in rerun.stdout


def test_ctrl_c_stops_cleanly_and_says_how_to_resume(tmp_path: Path) -> None:
    # One worker grades in name order: s0 is recorded, then s1 holds the only worker
    # until its time limit (its import never returns), so the Ctrl-C sent once s0's row
    # exists always lands mid-run, however slowly this test gets to send it.
    hangs = SOLUTION + b"\nimport time\ntime.sleep(3600)\n"
    subs = _class(tmp_path / "subs", {"s0": _own(SOLUTION, "s0"), "s1": _own(hangs, "s1"),
                                      "s2": _own(SOLUTION, "s2")})
    out = tmp_path / "results"
    command = _cli("bulk", str(subs), "--out", str(out), "--exercises", "03", "--workers", "1")
    process = subprocess.Popen(command, cwd=tmp_path, env=_env(tmp_path), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        rows = _wait_for_rows(out / GRADEBOOK_NAME, 1, process)
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
        process.wait()

    assert [row[0] for row in rows] == ["s0"]
    assert process.returncode == 130, stdout + stderr
    assert "Interrupted" in stdout and "Resume with" in stdout
    assert f"\n  grade bulk {subs} --out {out} --exercises 03\n" in stdout
    with Gradebook(out / GRADEBOOK_NAME) as book:
        assert book.runs()[-1]["status"] == "interrupted"
    # The running grading finished and was recorded; the queued one was never started.
    assert sorted(row[0] for row in _recorded_rows(out / GRADEBOOK_NAME)) == ["s0", "s1"]


def _fake_result(exercise: Exercise, path: Path) -> GradeResult:
    checks = tuple(CheckResult(c.name, c.title, c.task, "passed", c.points, c.points)
                   for c in exercise.meta.checks)
    return GradeResult(exercise.name, exercise.meta.title, str(path), checks, 0.01)


def test_the_graded_copy_lives_in_a_fresh_temporary_folder(
        tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[Path, bytes]] = []

    def fake_grade_file(exercise: Exercise, module_file: Path, **_: object) -> GradeResult:
        seen.append((module_file, module_file.read_bytes()))
        return _fake_result(exercise, module_file)

    monkeypatch.setattr(pipeline, "grade_file", fake_grade_file)
    subs = _class(tmp_path / "subs", {"a": b"# a\n", "b": b"# b\n"})

    outcome = run_bulk(course=course, submissions=subs, out=tmp_path / "out",
                       exercises=["03"], workers=2)

    assert sorted(content for _, content in seen) == [b"# a\n", b"# b\n"]
    folders = {path.parent for path, _ in seen}
    assert len(folders) == 2  # one fresh folder per grading
    for path, _ in seen:
        assert path.name == "fetcher.py"
        assert REPO not in path.parents and tmp_path not in path.parents
        assert not path.exists()  # removed after grading
    assert outcome.results is not None
    assert outcome.results.students[0].outcomes[0].result.graded_file == "a/fetcher.py"


def test_a_grader_failure_is_reported_not_recorded(
        tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken_grade_file(exercise: Exercise, module_file: Path, **_: object) -> GradeResult:
        raise OSError("disk full")

    monkeypatch.setattr(pipeline, "grade_file", broken_grade_file)
    subs = _class(tmp_path / "subs", {"a": b"# a\n"})
    out = tmp_path / "out"

    outcome = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=1)

    assert outcome.summary.failed == [("a", EX03, "OSError: disk full")]
    assert outcome.results is not None
    state = outcome.results.students[0].outcomes[0]
    assert state.state == "not graded" and "disk full" in state.reason
    assert (out / "grades.csv").read_text().splitlines()[1] == "a,,"
    with Gradebook(out / GRADEBOOK_NAME) as book:
        assert list(book.recorded_keys()) == []

    monkeypatch.setattr(pipeline, "grade_file",
                        lambda exercise, module_file, **_: _fake_result(exercise, module_file))
    retried = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=1)
    assert retried.summary.graded == 1 and retried.summary.failed == []


def test_same_class_idle_and_with_every_core_busy_gives_the_same_gradebook(
        tmp_path: Path, course: Course) -> None:
    subs = _class(tmp_path / "subs", {"fast": SOLUTION, "blocks": TIME_SLEEP})
    run_bulk(course=course, submissions=subs, out=tmp_path / "idle", exercises=["03"],
             workers=2)
    with cores_busy():
        run_bulk(course=course, submissions=subs, out=tmp_path / "busy", exercises=["03"],
                 workers=2)
    with Gradebook(tmp_path / "idle" / GRADEBOOK_NAME) as idle, \
            Gradebook(tmp_path / "busy" / GRADEBOOK_NAME) as busy:
        assert idle.verdict_digest() == busy.verdict_digest()
        assert len(list(idle.recorded_keys())) == 2


def test_results_inside_the_submissions_folder_is_refused(tmp_path: Path) -> None:
    subs = _class(tmp_path / "subs", {"a": SOLUTION})
    result = CliRunner().invoke(main, ["bulk", str(subs), "--out", str(subs / "results")],
                                env={"GRADER_COURSE": str(REPO)})
    assert result.exit_code == 2
    assert "inside the submissions folder" in result.output
    assert not (subs / "results").exists()


def test_a_suite_edited_during_the_run_is_reported_and_regraded_next_time(
        tmp_path: Path, exercise03: Exercise, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    shutil.copytree(exercise03.folder, tmp_path / "course" / "exercises" / exercise03.name)
    course = Course(tmp_path / "course")
    suite = course.resolve("03").suite_file

    def grade_while_editing(exercise: Exercise, module_file: Path, **_: object) -> GradeResult:
        suite.write_text(suite.read_text() + "\n# edited\n")
        return _fake_result(exercise, module_file)

    monkeypatch.setattr(pipeline, "grade_file", grade_while_editing)
    subs = _class(tmp_path / "subs", {"a": b"# a\n"})
    out = tmp_path / "out"

    first = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=1)

    assert first.suites_changed == ["exercise-03"]
    assert first.results is not None
    assert first.results.students[0].outcomes[0].state == "graded"  # the run's own verdict
    monkeypatch.setattr(pipeline, "grade_file",
                        lambda exercise, module_file, **_: _fake_result(exercise, module_file))
    second = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=1)
    assert second.summary.graded == 1 and second.suites_changed == []


def test_a_ctrl_c_after_the_last_grading_waits_for_the_outputs() -> None:
    """Writing up a complete run goes on; a second Ctrl-C still stops at once."""
    from grader.bulk.pipeline import RunSummary, interrupts_deferred

    summary = RunSummary(planned=1)
    before = signal.getsignal(signal.SIGINT)
    with interrupts_deferred(summary):
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the handler runs here, and does not raise
        assert summary.late_interrupt
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1.0)
    assert signal.getsignal(signal.SIGINT) is before


def test_without_a_sandbox_bulk_refuses_unless_told_it_is_unsafe(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from grader.supervision import sandbox

    monkeypatch.setattr(sandbox, "_problem", ["bubblewrap is not installed"])
    subs = _class(tmp_path / "subs", {"ana": SOLUTION, "ben": STUB})
    out = tmp_path / "results"
    args = ["bulk", str(subs), "--out", str(out), "--exercises", "03"]
    refused = CliRunner().invoke(main, args, env={"GRADER_COURSE": str(REPO)})
    assert refused.exit_code == 2
    assert "No grading sandbox" in refused.output and "--unsafe-no-sandbox" in refused.output
    assert len(refused.output.strip().splitlines()) == 1
    assert not out.exists()

    unsafe = CliRunner().invoke(main, [*args, "--unsafe-no-sandbox"],
                                env={"GRADER_COURSE": str(REPO)})
    assert unsafe.exit_code == 0, unsafe.output
    summary = json.loads((out / "results.json").read_text())
    assert "sandbox (turned off)" in json.dumps(summary)
