"""The student's loop as a new student meets it: naming exercises (or not), messages for
files that are missing, empty or not Python, hints after passing, the record failing,
a closed pipe and a piped layout at 80 and 60 columns."""

from __future__ import annotations

import dataclasses
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from rich.console import Console

from grader.cli import main
from grader.course.course import Course, Exercise
from grader.engine.feedback import Feedback
from grader.render.terminal import print_grade
from grader.state.progress_store import DB_ENV, ProgressStore
from grader.supervision.results import CheckResult, GradeResult
from helpers import REPO
from helpers.progress_samples import tiny_course, tiny_result


@pytest.fixture
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Course:
    course = tiny_course(tmp_path)
    monkeypatch.setenv("GRADER_COURSE", str(course.root))
    monkeypatch.delenv(DB_ENV, raising=False)
    monkeypatch.setenv("COLUMNS", "120")
    monkeypatch.chdir(course.root)
    return course


@pytest.fixture
def graded(tiny: Course, monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """Child-process grading replaced: ``passed`` (None: all) pass; ``calls`` lists files."""
    state: dict[str, object] = {"passed": {"runs"}, "calls": [], "feedback": None}

    def grade_file(exercise: Exercise, module: Path, **options: object) -> GradeResult:
        state["calls"].append(module)  # type: ignore[attr-defined]
        result = tiny_result(tiny, exercise.short_name, state["passed"])  # type: ignore[arg-type]
        checks = result.checks
        if state["feedback"] is not None:
            checks = tuple(dataclasses.replace(c, feedback=state["feedback"])
                           if not c.passed else c for c in checks)
        return GradeResult(result.exercise, result.title, str(module), checks, 0.1)

    monkeypatch.setattr("grader.supervision.runner.grade_file", grade_file)
    return state


def grade(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def _db(course: Course) -> Path:
    return course.root / ".progress" / "progress.db"


# -- naming the exercise ----------------------------------------------------------------


@pytest.mark.parametrize("typed", [
    "exercises/exercise-01-first-steps/first.py",
    "exercises/exercise-01-first-steps/",
    "exercises/exercise-01-first-steps",
])
def test_a_tab_completed_path_names_its_exercise(tiny: Course, graded, typed: str) -> None:
    result = grade(typed)
    assert result.exit_code == 1, result.output
    assert graded["calls"] == [tiny.resolve("1").stub_file]


def test_a_path_from_inside_the_exercise_folder_works(tiny: Course, graded, monkeypatch) -> None:
    monkeypatch.chdir(tiny.resolve("1").folder)
    assert grade("first.py").exit_code == 1
    assert graded["calls"] == [tiny.resolve("1").stub_file]


def test_another_file_in_an_exercise_folder_points_to_file(tiny: Course, graded) -> None:
    other = tiny.resolve("1").folder / "draft.py"
    other.write_text("VALUE = 3\n")
    result = grade("exercises/exercise-01-first-steps/draft.py")
    assert result.exit_code == 2 and graded["calls"] == []
    assert "--file exercises/exercise-01-first-steps/draft.py" in result.output


@pytest.mark.parametrize("command", ["hint", "reset"])
def test_hint_and_reset_default_to_the_current_exercise(tiny: Course, graded, command) -> None:
    grade("2")  # exercise-02 is now in progress: the overview's "Next"
    result = grade(command)
    assert result.exit_code == 0, result.output
    said = [line for line in result.output.splitlines() if "your current exercise" in line]
    assert said == [f"exercise-02  Side by side  (your current exercise; for another: "
                    f"grade {command} NN)"]
    if command == "hint":
        assert "Task one, vague." in result.output


def test_watch_defaults_to_the_current_exercise(tiny: Course, graded, monkeypatch) -> None:
    def no_saves(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise KeyboardInterrupt
        yield

    monkeypatch.setattr("grader.watch.watchfiles.watch", no_saves)
    result = grade("watch")
    assert result.exit_code == 0, result.output
    assert "exercise-01  First steps  (your current exercise" in result.output
    assert "Missing argument" not in result.output


def test_with_every_exercise_done_there_is_no_current_one(tiny: Course, graded) -> None:
    graded["passed"] = None
    for name in ("1", "2", "3"):
        grade(name)
    result = grade("hint")
    assert result.exit_code == 2 and "Every exercise is done" in result.output


# -- messages ---------------------------------------------------------------------------


def _same_failure_everywhere(count: int) -> GradeResult:
    problem = Feedback("Syntax error at fetcher.py, line 36: invalid syntax.",
                       "Python could not parse the file.", "Fix the line shown.")
    checks = tuple(CheckResult(f"c{i}", f"Check {i}", 1 + i // 4, "error", 0, 2, problem,
                               traceback='  File "fetcher.py", line 36')
                   for i in range(count))
    return GradeResult("exercise-03-concurrent-fetch", "Title", "fetcher.py", checks, 0.1)


def _printed(result: GradeResult, width: int = 80) -> str:
    out = io.StringIO()
    print_grade(Console(file=out, width=width, no_color=True), result)
    return out.getvalue()


def test_a_syntax_error_is_said_once_then_one_line(tmp_path: Path) -> None:
    text = _printed(_same_failure_everywhere(7))
    assert text.count("Syntax error at fetcher.py") == 1
    assert "same problem as above" not in text
    (row,) = [line for line in text.splitlines() if "fail the same way" in line]
    assert "6 more checks (tasks 1, 2) fail the same way" in row and row.endswith("0/12")


def test_file_messages_name_the_graded_file_not_the_module(tiny: Course, graded) -> None:
    graded["feedback"] = Feedback("Syntax error at first.py, line 3: invalid syntax.",
                                  next_step="Fix first.py's line 3 (not first.pyc).")
    readme = tiny.root / "README.md"
    readme.write_text("# Not Python\n")
    result = grade("1", "--file", "README.md")
    assert "Syntax error at README.md, line 3" in result.output
    assert "Fix README.md's line 3 (not first.pyc)" in result.output
    assert "first.py," not in result.output


def test_a_missing_file_is_said_without_suggesting_reset(tiny: Course, graded) -> None:
    result = grade("1", "--file", "nothere.py")
    assert result.exit_code == 2 and graded["calls"] == []
    assert "nothere.py does not exist. Check the path." in result.output
    assert "reset" not in result.output


def test_an_empty_file_says_so_and_how_to_start_again(tiny: Course, graded) -> None:
    tiny.resolve("1").stub_file.write_text("\n\n")
    result = grade("1")
    assert result.exit_code == 2 and graded["calls"] == []
    assert ("exercises/exercise-01-first-steps/first.py is empty: there is nothing to "
            "grade. To start again from the original stub: grade reset exercise-01") \
        in result.output
    empty = tiny.root / "empty.py"
    empty.write_text("")
    other = grade("1", "--file", "empty.py")
    assert "empty.py is empty" in other.output and "reset" not in other.output


def test_a_pass_names_the_next_exercise(tiny: Course, graded) -> None:
    graded["passed"] = None
    first = grade("1")
    assert first.exit_code == 0
    assert first.output.rstrip().endswith("All checks pass. Next: grade exercise-02")
    grade("2")
    assert grade("3").output.rstrip().endswith(
        "All checks pass. That was the last one: every exercise is done.")


def test_a_grading_that_was_not_saved_says_so_and_how_to_fix(tiny: Course, graded) -> None:
    graded["passed"] = None
    _db(tiny).parent.mkdir(parents=True)
    _db(tiny).write_bytes(b"\x00garbage" * 512)
    result = grade("1")
    assert result.exit_code == 2
    assert "All checks pass." in result.output
    (line,) = [line for line in result.output.splitlines() if "not saved" in line]
    assert line.startswith("Error: This grading was not saved: Your progress record")
    assert f"mv '{_db(tiny)}'" in line
    assert _db(tiny).read_bytes() == b"\x00garbage" * 512


# -- hints after passing ----------------------------------------------------------------


def _hints_seen(course: Course) -> dict[str, tuple[int, ...]]:
    with ProgressStore.open(_db(course)) as store:
        return store.hints_seen()


def test_a_hint_after_passing_is_asked_for_and_never_counted(tiny: Course, graded) -> None:
    grade("hint", "1")  # before passing: counted
    graded["passed"] = None
    grade("1")
    refused = grade("hint", "1", input="n\n")
    assert "exercise-01 is done" in refused.output and "No hint shown" in refused.output
    assert "Hint two for task one." not in refused.output
    no_answer = grade("hint", "1")  # a script without --yes: nothing shown, nothing counted
    assert "No hint shown" in no_answer.output
    shown = grade("hint", "1", input="y\n")
    assert "Hint two for task one." in shown.output and "Not counted" in shown.output
    scripted = grade("hint", "1", "--yes")
    assert "Hint two for task one." in scripted.output and "done" not in scripted.output
    assert _hints_seen(tiny) == {"exercise-01-first-steps": (0,)}


# -- pristine stubs without git ---------------------------------------------------------


def test_reset_in_a_release_without_git_uses_the_shipped_stub(tiny: Course, graded) -> None:
    exercise = tiny.resolve("1")
    shipped = exercise.stub_file.read_text()
    exercise.original_stub_file.write_text(shipped)  # what grade release ships
    exercise.stub_file.write_text("edited before ever running grade\n")
    snapshot = tiny.root / ".progress" / "stubs" / exercise.name / "first.py"
    snapshot.parent.mkdir(parents=True)
    snapshot.write_text("edited before ever running grade\n")  # a snapshot taken too late
    assert grade("1").exit_code == 1
    result = grade("reset", "1")
    assert result.exit_code == 0, result.output
    assert exercise.stub_file.read_text() == shipped


def test_the_first_grading_snapshots_the_stubs_before_it_runs(tiny: Course, graded) -> None:
    exercise = tiny.resolve("2")
    original = exercise.stub_file.read_text()
    grade("1")  # the first command of all
    exercise.stub_file.write_text("my work\n")
    assert grade("reset", "2").exit_code == 0
    assert exercise.stub_file.read_text() == original


# -- pipes and layout (real processes) ---------------------------------------------------


def _grade_process(*args: str, columns: int, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "COLUMNS": str(columns), "GRADER_COURSE": str(REPO),
           DB_ENV: str(tmp_path / "p.db"), "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "grader.cli", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def test_a_reader_that_stops_early_is_not_a_failure(tmp_path: Path) -> None:
    """`grade 3 --solution | head -0`: the pipe is closed before anything is written."""
    process = _grade_process("3", "--solution", columns=80, tmp_path=tmp_path)
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()
    with process.stderr:
        errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 0
    assert "Error" not in errors and "Traceback" not in errors and "Broken" not in errors


@pytest.mark.parametrize("columns", [80, 60])
def test_piped_output_keeps_paths_whole_and_pads_nothing(tmp_path: Path, columns: int) -> None:
    process = _grade_process("3", columns=columns, tmp_path=tmp_path)
    out, _ = process.communicate(timeout=120)
    assert process.returncode == 1
    lines = out.decode().splitlines()
    assert "graded file: exercises/exercise-03-concurrent-fetch/fetcher.py" in lines
    assert [line for line in lines if line != line.rstrip()] == []
