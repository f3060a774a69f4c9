"""grade submit: the zip holds each exercise's module, in a layout grade bulk reads."""

from __future__ import annotations

import getpass
import shutil
import sqlite3
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.bulk.intake import read_submissions
from grader.cli import main
from grader.course.course import Course
from grader.errors import GraderError, MissingFileError
from grader.state.stub_snapshots import ensure_snapshots
from grader.state.submit import default_zip_name, write_submission
from helpers import REPO

EX03 = "exercise-03-concurrent-fetch"
SOLUTION = (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()


@pytest.fixture
def course(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    """A student's copy of every exercise (no git), with exercise 03 solved."""
    monkeypatch.delenv("GRADER_COURSE", raising=False)
    monkeypatch.delenv("GRADER_PROGRESS_DB", raising=False)
    root = tmp_path / "course"
    shutil.copytree(REPO / "exercises", root / "exercises",
                    ignore=shutil.ignore_patterns("__pycache__"))
    (root / "course.toml").write_text(
        'format_version = 1\ntitle = "Async"\nname = "async-course"\nkind = "release"\n')
    course = Course(root)
    ensure_snapshots(course, root / ".progress")  # as the first grade would
    course.resolve("3").stub_file.write_bytes(SOLUTION)
    return course


def test_zip_round_trips_through_bulk_intake(course: Course, tmp_path: Path) -> None:
    submissions = tmp_path / "submissions"
    outcome = write_submission(course, submissions / "alice.zip",
                               state=course.root / ".progress")
    assert len(outcome.packed) == len(course.exercises) == 18
    assert outcome.unchanged == tuple(e.short_name for e in course.exercises
                                      if e.number != 3)
    [alice] = read_submissions(submissions, list(course.exercises))
    assert alice.student == "alice" and not alice.problems and not alice.flags
    assert sorted(alice.modules) == sorted(e.name for e in course.exercises)
    for exercise in course.exercises:
        assert alice.modules[exercise.name].content == exercise.stub_file.read_bytes()
    assert alice.modules[EX03].content == SOLUTION


def test_only_modules_and_a_manifest_are_packed(course: Course, tmp_path: Path) -> None:
    (course.root / "exercises" / EX03 / "notes.txt").write_text("scratch")
    (course.root / "exercises" / EX03 / "test_mine.py").write_text("def test(): pass\n")
    zip_path = tmp_path / "out.zip"
    write_submission(course, zip_path, state=course.root / ".progress")
    names = zipfile.ZipFile(zip_path).namelist()
    modules = [n for n in names if n != "submission.json"]
    assert modules == [e.stub_file.relative_to(course.root).as_posix()
                       for e in course.exercises]


def test_cli_submit_with_progress_lists_what_it_packed(course: Course, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    graded = runner.invoke(main, ["--course", str(course.root), "3"], env={"NO_COLOR": "1"})
    assert graded.exit_code == 0, graded.output
    result = runner.invoke(main, ["--course", str(course.root), "submit", "--with-progress"])
    assert result.exit_code == 0, result.output
    zip_path = tmp_path / default_zip_name(course)
    assert zip_path.name == f"async-course-{getpass.getuser()}.zip"
    assert f"Packed 18 exercise files into {zip_path.name}" in result.output
    assert "exercise-03" in result.output and "changed" in result.output
    assert "Still unchanged from the stub (17): exercise-01, exercise-02, exercise-04" \
        in result.output
    with zipfile.ZipFile(zip_path) as archive:
        (tmp_path / "copy.db").write_bytes(archive.read("progress.db"))
    with sqlite3.connect(tmp_path / "copy.db") as record:
        tables = {row[0] for row in record.execute("select name from sqlite_master")}
        assert tables and "attempts" in " ".join(tables)


def test_never_overwrites_a_file_it_did_not_write(course: Course, tmp_path: Path) -> None:
    precious = tmp_path / "thesis.zip"
    precious.write_bytes(b"not ours")
    with pytest.raises(GraderError, match="not a submission written by grade submit"):
        write_submission(course, precious, state=course.root / ".progress")
    assert precious.read_bytes() == b"not ours"
    ours = tmp_path / "mine.zip"
    write_submission(course, ours, state=course.root / ".progress")
    course.resolve("1").stub_file.write_text("# second try\n")
    again = write_submission(course, ours, state=course.root / ".progress")
    assert "exercise-01" not in again.unchanged
    with pytest.raises(GraderError, match=r"does not end in \.zip"):
        write_submission(course, tmp_path / "mine.tar", state=course.root / ".progress")


def test_with_progress_needs_a_record(course: Course, tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="leave out --with-progress"):
        write_submission(course, tmp_path / "x.zip", state=course.root / ".progress",
                         progress=tmp_path / "none.db")
    assert not (tmp_path / "x.zip").exists()
