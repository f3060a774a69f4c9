"""Watch mode: grade on start and on each save, debounced; status line; Ctrl-C; errors;
a try per distinct content; the offer to move on once every check passes."""

from __future__ import annotations

import io
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from rich.console import Console

from grader.course.course import Course, Exercise
from grader.errors import MissingFileError, ProgressStoreError
from grader.state.progress_store import Attempt
from grader.supervision.results import GradeResult
from grader.watch import Commands, pick_next, status_line, unchanged_since, watch_exercise
from helpers.progress_samples import tiny_course, tiny_result


@pytest.fixture
def tiny(tmp_path: Path) -> Course:
    return tiny_course(tmp_path)


class FakeGrader:
    """Stands in for grade_file: records calls, lets the test wait for the n-th one."""

    def __init__(self, course: Course, *, fail_with: BaseException | None = None) -> None:
        self.course = course
        self.calls: list[str] = []
        self.fail_with = fail_with
        self._changed = threading.Condition()

    def __call__(self, exercise: Exercise, module: Path) -> GradeResult:
        if self.fail_with is not None:
            raise self.fail_with
        with self._changed:
            self.calls.append(module.read_text())
            self._changed.notify_all()
        return tiny_result(self.course, exercise.short_name, {"runs"})

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: len(self.calls) >= count, timeout)


def _watch_in_thread(exercise, grader, **kwargs):  # type: ignore[no-untyped-def]
    out = io.StringIO()
    stop = threading.Event()
    box: dict = {}
    thread = threading.Thread(target=lambda: box.setdefault("n", watch_exercise(
        exercise, console=Console(file=out, width=120), grade=grader, stop_event=stop,
        **kwargs)))
    thread.start()
    return thread, stop, out, box


def test_the_status_line_says_what_and_how_to_go_on(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    line = status_line(exercise, tiny_result(tiny, "1", {"runs"}),
                       now=datetime(2024, 5, 2, 14, 3, 5)).plain
    assert line == "Watching first.py · 14:03:05 · 2/3 (1 of 2 checks) · Ctrl-C to stop"
    assert "\n" not in line


def test_grades_at_start_and_after_each_save_debounced(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    grader = FakeGrader(tiny)
    thread, stop, out, box = _watch_in_thread(exercise, grader)
    try:
        assert grader.wait_for(1), "no grading at start"
        (exercise.folder / "notes.txt").write_text("not the stub")
        for _ in range(20):  # save until the watcher (starting in its thread) sees it
            exercise.stub_file.write_text("VALUE = 1\n")
            if grader.wait_for(2, timeout=0.5):
                break
        assert grader.wait_for(2), "no grading after a save"
        time.sleep(0.3)  # let any save still being debounced land before the burst
        settled = len(grader.calls)
        assert set(grader.calls[1:]) == {"VALUE = 1\n"}
        for i in range(5):  # an editor writing in several steps
            exercise.stub_file.write_text(f"VALUE = {i}\n")
        assert grader.wait_for(settled + 1)
        time.sleep(0.6)
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive()
    assert 1 <= len(grader.calls) - settled < 5  # the burst of five saves: once or twice
    assert grader.calls[-1] == "VALUE = 4\n"
    assert box["n"] == len(grader.calls)
    assert "Watching first.py" in out.getvalue()


def test_ctrl_c_during_a_grading_ends_cleanly(tiny: Course) -> None:
    out = io.StringIO()
    grader = FakeGrader(tiny, fail_with=KeyboardInterrupt())
    gradings = watch_exercise(tiny.resolve("1"), console=Console(file=out), grade=grader)
    assert gradings == 0
    assert "Stopped watching exercise-01." in out.getvalue()


def test_every_grading_is_recorded_and_a_failed_record_does_not_stop_it(tiny) -> None:
    out = io.StringIO()
    recorded: list[GradeResult] = []
    grader = FakeGrader(tiny)

    def record(result: GradeResult) -> None:
        recorded.append(result)
        raise ProgressStoreError("the record is busy")

    stop = threading.Event()
    stop.set()  # grade once at start, then stop before waiting for saves
    watch_exercise(tiny.resolve("1"), console=Console(file=out, width=120), grade=grader,
                   record=record, stop_event=stop)
    assert len(recorded) == 1
    text = out.getvalue()
    assert "the record is busy" in text and "attempt not recorded" in text


def test_a_missing_stub_or_a_grading_error_is_shown_not_raised(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    stop = threading.Event()
    stop.set()
    out = io.StringIO()
    broken = FakeGrader(tiny, fail_with=MissingFileError("The hidden tests are missing."))
    assert watch_exercise(exercise, console=Console(file=out, width=120), grade=broken,
                          stop_event=stop) == 0
    assert "The hidden tests are missing." in out.getvalue()
    exercise.stub_file.unlink()
    out = io.StringIO()
    watch_exercise(exercise, console=Console(file=out, width=120), grade=FakeGrader(tiny),
                   stop_event=stop)
    text = " ".join(out.getvalue().split())
    assert "first.py is missing from" in text and "grade reset exercise-01" in text


def test_the_status_stays_one_line_on_a_narrow_terminal(tiny: Course) -> None:
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    watch_exercise(tiny.resolve("1"), console=Console(file=out, width=40),
                   grade=FakeGrader(tiny), stop_event=stop)
    (status,) = [line for line in out.getvalue().splitlines() if "Watching" in line]
    assert status.startswith("Watching first.py") and status.endswith("…")
    assert len(status) <= 40


# -- a try per distinct content, and moving on at the finish line ---------------------


class PassWhenSolved(FakeGrader):
    """Every check passes once the file says SOLVED; records which exercise was graded."""

    def __init__(self, course: Course) -> None:
        super().__init__(course)
        self.exercises: list[str] = []

    def __call__(self, exercise: Exercise, module: Path) -> GradeResult:
        text = module.read_text()
        with self._changed:
            self.calls.append(text)
            self.exercises.append(exercise.short_name)
            self._changed.notify_all()
        return tiny_result(self.course, exercise.short_name,
                           None if "SOLVED" in text else set())


def _save_until_graded(grader: FakeGrader, stub: Path, text: str, count: int) -> None:
    """Save until the watcher (starting in its thread) has seen it: ``count`` gradings."""
    for _ in range(20):
        stub.write_text(text)
        if grader.wait_for(count, timeout=0.5):
            return
    raise AssertionError(f"no grading number {count} after saving {text!r}")


def test_a_save_with_the_same_content_is_neither_graded_nor_recorded(tiny: Course) -> None:
    exercise = tiny.resolve("1")
    grader = FakeGrader(tiny)
    recorded: list[GradeResult] = []
    thread, stop, _out, _box = _watch_in_thread(exercise, grader, record=recorded.append)
    try:
        assert grader.wait_for(1)
        _save_until_graded(grader, exercise.stub_file, "VALUE = 2\n", 2)
        time.sleep(0.3)
        settled = len(grader.calls)
        for _ in range(3):  # an editor saving an unchanged buffer, a touch
            exercise.stub_file.write_text("VALUE = 2\n")
            time.sleep(0.2)
        exercise.stub_file.touch()
        time.sleep(0.4)
        assert len(grader.calls) == settled
        exercise.stub_file.write_text("VALUE = 3\n")
        assert grader.wait_for(settled + 1)
    finally:
        stop.set()
        thread.join(10)
    assert grader.calls == ["# TODO: write me\nraise NotImplementedError\n",
                                         *["VALUE = 2\n"] * (settled - 1), "VALUE = 3\n"]
    assert len(recorded) == len(grader.calls)


def test_starting_on_a_file_unchanged_since_its_last_grading_records_nothing(tiny) -> None:
    exercise = tiny.resolve("1")
    graded_at = datetime.now(UTC) + timedelta(seconds=5)  # after the file was written
    attempt = Attempt(1, graded_at.isoformat(), "stub", 0, tiny_result(tiny, "1", set()))
    recorded: list[GradeResult] = []
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    assert watch_exercise(exercise, console=Console(file=out, width=200),
                          grade=FakeGrader(tiny), record=recorded.append, stop_event=stop,
                          latest_attempt=lambda _e: attempt) == 1
    assert recorded == []
    assert "unchanged since your last grading: not counted again" in out.getvalue()
    earlier = Attempt(1, (datetime.now(UTC) - timedelta(hours=1)).isoformat(), "stub", 0,
                      tiny_result(tiny, "1", set()))
    watch_exercise(exercise, console=Console(file=io.StringIO()), grade=FakeGrader(tiny),
                   record=recorded.append, stop_event=stop, latest_attempt=lambda _e: earlier)
    assert len(recorded) == 1  # edited since that grading: a new try


def test_unchanged_since_needs_the_file_older_than_the_grading_read_it(tmp_path) -> None:
    stub = tmp_path / "f.py"
    stub.write_text("x = 1\n")
    modified = datetime.fromtimestamp(stub.stat().st_mtime, UTC)

    def attempt(at: datetime, duration: float = 0.5, source: str = "stub") -> Attempt:
        result = GradeResult("exercise-01-x", "X", str(stub), (), duration)
        return Attempt(1, at.isoformat(), source, 0, result)

    assert unchanged_since(stub, attempt(modified + timedelta(seconds=2)))
    # Saved while that grading ran (recorded 0.3 s after the save, the grading took 0.5 s)
    assert not unchanged_since(stub, attempt(modified + timedelta(seconds=0.3)))
    assert not unchanged_since(stub, attempt(modified + timedelta(seconds=2), source="file"))
    assert not unchanged_since(stub, None)
    assert not unchanged_since(tmp_path / "gone.py", attempt(modified + timedelta(seconds=2)))


def test_the_next_exercise_is_the_next_not_done_wrapping_round(tiny: Course) -> None:
    one, two, three = tiny.exercises
    assert pick_next(tiny.exercises, one, set()) == two
    assert pick_next(tiny.exercises, one, {two.name}) == three
    assert pick_next(tiny.exercises, three, set()) == one  # skipped earlier: back to it
    assert pick_next(tiny.exercises, two, {one.name, three.name}) is None


def test_once_every_check_passes_enter_moves_on_and_watches_the_next(tiny: Course) -> None:
    one, two = tiny.resolve("1"), tiny.resolve("2")
    grader = PassWhenSolved(tiny)
    commands = Commands(interactive=True)
    out = io.StringIO()
    thread, stop, out, _box = _watch_in_thread(
        one, grader, commands=commands, next_exercise=lambda e: two if e == one else None)
    try:
        assert grader.wait_for(1)
        commands.put("")  # Enter before the exercise passes: nothing to move on to
        _save_until_graded(grader, one.stub_file, "SOLVED = True\n", 2)
        time.sleep(0.3)
        assert grader.exercises[-1] == "exercise-01"
        commands.put("\n")
        for _ in range(50):
            if "exercise-02" in grader.exercises:
                break
            time.sleep(0.1)
        assert "exercise-02" in grader.exercises, "Enter did not move the watch on"
        settled = len(grader.calls)
        _save_until_graded(grader, two.stub_file, "VALUE = 5\n", settled + 1)
        assert grader.exercises[-1] == "exercise-02"  # the new file is the one watched
    finally:
        stop.set()
        thread.join(10)
    text = out.getvalue()
    assert "Next: exercise-02  Side by side" in text
    assert "Press Enter to watch side.py there" in text
    assert "Enter: exercise-02" in text  # the status line says it too


def test_q_stops_the_watch_and_a_pipe_gets_the_command_instead(tiny: Course) -> None:
    one, two = tiny.resolve("1"), tiny.resolve("2")
    one.stub_file.write_text("SOLVED = True\n")
    commands = Commands(interactive=True)
    commands.put("q")
    out = io.StringIO()
    watch_exercise(one, console=Console(file=out, width=200), grade=PassWhenSolved(tiny),
                   commands=commands, next_exercise=lambda _e: two)
    assert "Stopped watching exercise-01." in out.getvalue()
    out = io.StringIO()
    stop = threading.Event()
    stop.set()
    watch_exercise(one, console=Console(file=out, width=200), grade=PassWhenSolved(tiny),
                   stop_event=stop, next_exercise=lambda _e: two)
    text = out.getvalue()
    assert "Run `grade watch exercise-02` to go on." in text and "Press Enter" not in text
    out = io.StringIO()
    watch_exercise(one, console=Console(file=out, width=200), grade=PassWhenSolved(tiny),
                   stop_event=stop, next_exercise=lambda _e: None)
    assert "every one is done" in out.getvalue()


def test_commands_from_a_pipe_are_not_read(tmp_path: Path) -> None:
    with (tmp_path / "input.txt").open("w+") as stream:
        assert Commands.from_stdin(stream).interactive is False
