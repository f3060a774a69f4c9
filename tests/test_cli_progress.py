"""The progress commands end to end through click: grade, progress, list, hint, watch,
reset, report, and what gradings record. Courses and records live in tmp_path only."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from grader.cli import main
from grader.course.course import Course, Exercise
from grader.errors import MissingFileError
from grader.state.progress_store import DB_ENV, ProgressStore
from grader.state.stub_snapshots import pristine_stub, snapshot_path
from grader.supervision.results import GradeResult
from helpers.progress_samples import EX03, copy_course, tiny_course, tiny_result


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    course = tiny_course(tmp_path)
    monkeypatch.setenv("GRADER_COURSE", str(course.root))
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    return course


@pytest.fixture
def fake_grading(tiny: Course, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Replace the child-process grading: everything but check 'runs' fails. Returns calls."""
    calls: list[Path] = []

    def grade_file(exercise: Exercise, module: Path, **options: object) -> GradeResult:
        calls.append(module)
        result = tiny_result(tiny, exercise.short_name, {"runs", "in_order"})
        return GradeResult(result.exercise, result.title, str(module), result.checks, 0.1)

    monkeypatch.setattr("grader.supervision.runner.grade_file", grade_file)
    return calls


def grade(*args: str) -> Result:
    return CliRunner().invoke(main, list(args))


def _db(course: Course) -> Path:
    return course.root / ".progress" / "progress.db"


def _state(course: Course) -> Path:
    return course.root / ".progress"


def _recorded(course: Course) -> list[tuple[str, str, int]]:
    with ProgressStore.open(_db(course), create=False) as store:
        return [(a.exercise, a.source, a.result.score) for a in store.attempts()]


def test_grade_alone_shows_the_course_at_a_glance(tiny: Course) -> None:
    result = grade()
    assert result.exit_code == 0, result.output
    assert "0 of 3 exercises done" in result.output
    assert "Next: exercise-01  First steps" in result.output
    assert not _db(tiny).exists()  # looking leaves no record behind
    assert grade("progress").output == result.output


def test_progress_as_json(tiny: Course, fake_grading) -> None:
    grade("1")
    data = json.loads(grade("progress", "--json").output)
    assert data["total"] == 3 and data["next_exercise"] == "exercise-01"
    assert data["exercises"][0]["status"] == "in progress"
    assert data["exercises"][0]["best_score"] == 2


def test_gradings_of_the_stub_and_of_other_files_are_recorded(tiny, fake_grading, tmp_path):
    result = grade("1")
    assert result.exit_code == 1  # some checks failed
    assert "Score: 2/3" in result.output
    other = tmp_path / "other.py"
    other.write_text("VALUE = 2\n")
    assert grade("1", "--file", str(other)).exit_code == 1
    assert grade("1", "--solution").exit_code == 1
    json_run = grade("2", "--json")
    assert json.loads(json_run.output)["exercise"] == "exercise-02-side-by-side"
    assert _recorded(tiny) == [
        ("exercise-01-first-steps", "stub", 2),
        ("exercise-01-first-steps", "file", 2),  # tagged with the file...
        ("exercise-02-side-by-side", "stub", 1),  # ...and --solution is not recorded
    ]
    with ProgressStore.open(_db(tiny)) as store:
        assert store.attempts()[1].result.graded_file == str(other)


def test_the_record_location_follows_the_environment_and_the_option(tiny, fake_grading,
                                                                      tmp_path, monkeypatch):
    monkeypatch.setenv(DB_ENV, str(tmp_path / "env.db"))
    grade("1")
    grade("1", "--db", str(tmp_path / "option.db"))
    assert not _db(tiny).exists()
    for name in ("env.db", "option.db"):
        with ProgressStore.open(tmp_path / name) as store:
            assert len(store.attempts()) == 1
    assert "in progress" in grade("list", "--db", str(tmp_path / "option.db")).output
    assert "in progress" in grade("progress", "--db", str(tmp_path / "option.db")).output
    monkeypatch.delenv(DB_ENV)
    assert "0 of 3 exercises done" in grade().output


def test_another_exercises_broken_metadata_does_not_stop_a_grading(tiny, fake_grading):
    (tiny.root / "exercises" / "exercise-03-no-hints" / ".meta" / "exercise.toml").write_text(
        "format_version = 1\n")
    result = grade("1")
    assert result.exit_code == 1 and "Score: 2/3" in result.output
    assert _recorded(tiny) == [("exercise-01-first-steps", "stub", 2)]


def test_list_shows_each_exercises_status(tiny: Course, fake_grading) -> None:
    grade("2")
    output = grade("list").output
    assert "exercise-02  Side by side" in output
    lines = {line.split()[0]: line for line in output.splitlines() if line.startswith("exer")}
    assert "in progress" in lines["exercise-02"] and "not started" in lines["exercise-01"]


def test_a_damaged_record_is_a_clear_error_never_a_traceback(tiny, fake_grading) -> None:
    _db(tiny).parent.mkdir(parents=True)
    _db(tiny).write_bytes(b"\x00garbage" * 512)
    for args in ((), ("report",), ("hint", "1")):
        result = grade(*args)
        assert result.exit_code == 2, args
        assert f"Your progress record {_db(tiny)} is damaged" in result.output
        assert "mv " in result.output and "Traceback" not in result.output
    graded = grade("1")  # the grade is still shown, then why it was not kept
    assert "Score: 2/3" in graded.output and "is damaged" in graded.output
    assert graded.exit_code == 2
    assert _db(tiny).read_bytes() == b"\x00garbage" * 512


def test_hints_one_at_a_time_remembered_then_all(tiny: Course) -> None:
    first = grade("hint", "exercise-02")
    assert first.exit_code == 0
    assert "Hint 1 of 3 (task 1)" in first.output and "Task one, vague." in first.output
    second = grade("hint", "2").output
    assert "Hint 2 of 3" in second and "Task one, precise." in second
    everything = grade("hint", "2", "--all").output
    assert "Hint 3 of 3" in everything and "That was the last hint." in everything
    overview = grade().output
    assert re.search(r"exercise-02\s+Side by side\s+· not started\s+–\s+0\s+3/3", overview)


def test_hint_for_an_unknown_exercise_suggests_names(tiny: Course) -> None:
    result = grade("hint", "exercise-9")
    assert result.exit_code == 2 and "No exercise called 'exercise-9'" in result.output


def test_reset_restores_the_snapshot_and_backs_up_the_work(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    original = exercise.stub_file.read_text()
    grade()  # first use: the stubs are snapshotted
    exercise.stub_file.write_text("my precious work\n")
    result = grade("reset", "exercise-01")
    assert result.exit_code == 0, result.output
    assert exercise.stub_file.read_text() == original
    (backup,) = (tiny.root / ".progress" / "backups" / exercise.name).iterdir()
    assert backup.read_text() == "my precious work\n"
    assert backup.name.startswith("first-") and backup.suffix == ".py"
    said = result.output.replace("\n", "")
    assert "Your version is saved as" in said
    assert str(snapshot_path(exercise, _state(tiny))) in said
    again = grade("reset", "1")
    assert "already is the original" in again.output


def test_a_record_kept_elsewhere_keeps_snapshots_and_backups_with_it(tiny, tmp_path,
                                                                      monkeypatch) -> None:
    elsewhere = tmp_path / "elsewhere"
    monkeypatch.setenv(DB_ENV, str(elsewhere / "mine.db"))
    exercise = tiny.resolve("2")
    grade("hint", "2")
    exercise.stub_file.write_text("work\n")
    assert grade("reset", "2").exit_code == 0
    assert not _state(tiny).exists()  # the course folder was not written to
    assert snapshot_path(exercise, elsewhere).is_file()
    (backup,) = (elsewhere / "backups" / exercise.name).iterdir()
    assert backup.read_text() == "work\n"


def test_reset_brings_back_a_deleted_stub(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    original = exercise.stub_file.read_text()
    grade()
    exercise.stub_file.unlink()
    result = grade("reset", "1")
    assert result.exit_code == 0 and exercise.stub_file.read_text() == original
    assert "saved as" not in result.output


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


def test_a_stub_edited_before_first_use_is_snapshotted_from_git(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    original = exercise.stub_file.read_text()
    _git(tiny.root, "init", "-q")
    _git(tiny.root, "add", ".")
    _git(tiny.root, "commit", "-q", "-m", "course")
    exercise.stub_file.write_text("edited before ever running grade\n")
    grade()
    assert snapshot_path(exercise, _state(tiny)).read_text() == original
    _git(tiny.root, "commit", "-q", "-am", "my work")  # committing work changes nothing
    grade("reset", "1")
    assert exercise.stub_file.read_text() == original


def test_without_a_snapshot_git_head_is_the_original(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    with pytest.raises(MissingFileError, match=r"Can't find the original first\.py"):
        pristine_stub(exercise, _state(tiny))
    _git(tiny.root, "init", "-q")
    _git(tiny.root, "add", ".")
    _git(tiny.root, "commit", "-q", "-m", "course")
    content, origin = pristine_stub(exercise, _state(tiny))
    assert content == exercise.stub_file.read_bytes()
    assert origin == "git HEAD:exercises/exercise-01-first-steps/first.py"


def test_report_writes_one_html_file(tiny: Course, fake_grading, tmp_path: Path) -> None:
    grade("1")
    grade("hint", "1")
    out = tmp_path / "mine.html"
    result = grade("report", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>") and 'id="exercise-01"' in html
    assert "Hint one for task one." in html
    assert out.resolve().as_uri() in result.output.replace("\n", "")
    default = grade("report")
    assert default.exit_code == 0
    assert (tiny.root / ".progress" / "report.html").is_file()


def test_report_to_an_impossible_place_says_so(tiny: Course, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = grade("report", "--out", str(tmp_path / "file" / "r.html"))
    assert result.exit_code == 2 and "--out PATH" in result.output


def test_watch_grades_records_and_stops_on_ctrl_c(tiny, fake_grading, monkeypatch) -> None:
    stub = tiny.resolve("1").stub_file

    def one_save_then_ctrl_c(*args, **kwargs):  # type: ignore[no-untyped-def]
        stub.write_text(stub.read_text() + "# saved\n")  # unchanged files are not re-graded
        yield {("modified", "first.py")}
        raise KeyboardInterrupt

    monkeypatch.setattr("grader.watch.watchfiles.watch", one_save_then_ctrl_c)
    result = grade("watch", "1")
    assert result.exit_code == 0, result.output
    assert "Stopped watching exercise-01." in result.output
    assert "Watching first.py" in result.output
    assert len(fake_grading) == 2
    assert _recorded(tiny) == [("exercise-01-first-steps", "stub", 2)] * 2


def test_a_real_grading_is_recorded_with_its_timelines(tmp_path, monkeypatch) -> None:
    """One real child-process grading of exercise 03's stub, end to end."""
    course = copy_course(tmp_path)
    monkeypatch.setenv("GRADER_COURSE", str(course.root))
    monkeypatch.delenv(DB_ENV, raising=False)
    exercise = course.resolve("3")
    solution = exercise.solution_file.read_text()
    exercise.stub_file.write_text(solution)
    assert grade("3").exit_code == 0
    with ProgressStore.open(_db(course)) as store:
        (attempt,) = store.attempts()
    assert attempt.exercise == EX03 and attempt.result.all_passed
    timing = [c for c in attempt.result.checks if c.timeline and c.timeline.get("budget")]
    assert timing and all(len(c.timeline["operations"]) == 3 for c in timing)
    assert "✓ done" in grade().output


def test_starting_grade_stays_light() -> None:
    """The progress machinery is imported by the commands that use it, not at start-up."""
    code = ("import sys, grader.cli; "
            "print(sorted(m for m in ('sqlite3', 'jinja2', 'watchfiles', 'rich') "
            "if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
