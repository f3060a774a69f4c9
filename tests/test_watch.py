"""Watch mode: grade on start and on each save, debounced; status line; Ctrl-C; errors."""

from __future__ import annotations

import io
import threading
import time
from datetime import datetime
from pathlib import Path

import pytest
from rich.console import Console

from grader.course import Course, Exercise
from grader.errors import MissingFileError, ProgressStoreError
from grader.results import GradeResult
from grader.watch import status_line, watch_exercise
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
