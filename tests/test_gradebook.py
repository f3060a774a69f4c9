"""The bulk gradebook: keys, resume lookups, durability, verdicts apart from timings."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import grader
from grader.bulk.gradebook import SCHEMA_VERSION, Gradebook, GradingKey, suite_hash
from grader.course.course import Course, Exercise
from grader.engine.feedback import Feedback
from grader.errors import GradebookError
from grader.supervision.results import CheckResult, GradeResult
from helpers import REPO


def _result(*, score_first: bool = True, durations: tuple[float, float] = (0.01, 0.02),
            total: float = 0.4) -> GradeResult:
    first = CheckResult("one", "First", 1, "passed" if score_first else "failed",
                        2 if score_first else 0, 2,
                        None if score_first else Feedback("wrong", "a misconception"),
                        duration=durations[0], sim_elapsed=1.0,
                        timeline={"operations": [{"label": "a", "start": 0.0, "end": 1.0}]})
    second = CheckResult("two", "Second", 2, "timed out", 0, 3, Feedback("stopped"),
                         duration=durations[1])
    return GradeResult("exercise-03-x", "Title", "alice/fetcher.py", (first, second), total)


KEY = GradingKey("alice", "exercise-03-x", "f" * 64, "s" * 64)


def test_a_recorded_grading_reads_back_whole(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "g.sqlite") as book:
        assert book.find(KEY) is None
        book.record(KEY, _result(), seconds=0.4)
    with Gradebook(tmp_path / "g.sqlite") as book:
        found = book.find(KEY)
    assert found is not None
    assert found.result == _result()
    assert found.seconds == 0.4
    assert found.reused_from is None


def test_the_resume_key_has_four_parts(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record(KEY, _result(), seconds=0.4)
        for changed in ("student", "exercise", "file_hash", "suite_hash"):
            assert book.find(dataclasses.replace(KEY, **{changed: "other"})) is None
        assert book.find(KEY) is not None


def test_same_file_is_found_for_another_student(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "g.sqlite") as book:
        book.record(KEY, _result(), seconds=0.4)
        same = book.find_same_file(KEY.exercise, KEY.file_hash, KEY.suite_hash)
        assert same is not None and same.key.student == "alice"
        assert book.find_same_file(KEY.exercise, "0" * 64, KEY.suite_hash) is None


def test_timings_do_not_change_the_verdicts_but_wording_does(tmp_path: Path) -> None:
    """An idle and a busy machine differ in real seconds only, kept out of `gradings`;
    the feedback's wording is part of the verdict (it is deterministic)."""
    with Gradebook(tmp_path / "idle.sqlite") as idle, \
            Gradebook(tmp_path / "busy.sqlite") as busy:
        idle.record(KEY, _result(durations=(0.01, 0.02), total=0.4), seconds=0.4)
        busy.record(KEY, _result(durations=(0.5, 1.7), total=3.9), seconds=3.9)
        assert idle.verdict_digest() == busy.verdict_digest()
        reworded = _result(durations=(0.5, 1.7), total=3.9)
        reworded = dataclasses.replace(reworded, checks=(
            reworded.checks[0],
            dataclasses.replace(reworded.checks[1], feedback=Feedback("stopped after 61 ms")),
        ))
        with Gradebook(tmp_path / "reworded.sqlite") as other_words:
            other_words.record(KEY, reworded, seconds=3.9)
            assert other_words.verdict_digest() != idle.verdict_digest()
        other = dataclasses.replace(KEY, student="bob")
        busy.record(other, _result(score_first=False), seconds=0.4)
        idle.record(other, _result(score_first=True), seconds=0.4)
        assert idle.verdict_digest() != busy.verdict_digest()


def test_runs_are_recorded(tmp_path: Path) -> None:
    with Gradebook(tmp_path / "g.sqlite") as book:
        run = book.start_run(workers=2, planned=5)
        book.finish_run(run, status="interrupted", graded=2, reused=1, failed=0)
        [row] = book.runs()
    assert row["status"] == "interrupted" and row["graded"] == 2 and row["planned"] == 5


def test_a_damaged_or_newer_gradebook_is_refused_with_a_fix(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.sqlite"
    damaged.write_bytes(b"not a database at all" * 100)
    with pytest.raises(GradebookError, match="Move it aside"):
        Gradebook(damaged)
    newer = tmp_path / "newer.sqlite"
    Gradebook(newer).close()
    with sqlite3.connect(newer) as db:
        db.execute("UPDATE info SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION + 1),))
    with pytest.raises(GradebookError, match="newer grader"):
        Gradebook(newer)


def test_committed_rows_survive_kill_9(tmp_path: Path) -> None:
    path = tmp_path / "g.sqlite"
    script = textwrap.dedent(f"""
        import os, signal
        from grader.bulk.gradebook import Gradebook, GradingKey
        from test_gradebook import _result
        book = Gradebook({str(path)!r})
        for n in range(3):
            book.record(GradingKey(f"s{{n}}", "e", "f", "h"), _result(), seconds=0.1)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO / "tests")})
    assert done.returncode == -signal.SIGKILL
    with Gradebook(path) as book:
        assert [k.student for k in book.recorded_keys()] == ["s0", "s1", "s2"]


def test_suite_hash_follows_the_hidden_suite_and_the_grader(tmp_path: Path,
                                                           exercise03: Exercise,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(exercise03.folder, tmp_path / "exercises" / exercise03.name)
    copy = Course(tmp_path).resolve("03")
    before = suite_hash(copy)
    assert before == suite_hash(exercise03)
    (copy.suite_file).write_text(copy.suite_file.read_text() + "\n# changed\n")
    after_suite = suite_hash(copy)
    assert after_suite != before
    (copy.meta_dir / "exercise.toml").write_text(
        re.sub(r"points = \d+", "points = 9", (copy.meta_dir / "exercise.toml").read_text(),
               count=1))
    assert suite_hash(copy) != after_suite
    monkeypatch.setattr(grader, "__version__", "99.0")
    assert suite_hash(exercise03) != before
