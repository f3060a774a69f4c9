"""What a student's ``pytest`` checks: the course is complete and grading works here.

A student release (``grade release``) ships this file as its only test
(grader/course/release.py), so the README's ``pip install -e ".[test]" && pytest`` runs real
checks in a student's copy too. The instructor's copy runs it with the rest. So it
needs nothing a release leaves out (no solutions, no fixtures, no ``helpers``), and
never grades the student's own files: a student who solved everything must still see
these pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course.course import Course, find_course
from grader.state.progress_store import progress_db_path
from grader.state.stub_snapshots import pristine_stub
from grader.supervision.runner import grade_file

COURSE = find_course(explicit=Path(__file__).resolve().parents[1])


@pytest.fixture(scope="module")
def course() -> Course:
    return COURSE


@pytest.mark.parametrize("exercise", COURSE.exercises, ids=lambda e: e.short_name)
def test_exercise_has_its_files(exercise) -> None:  # type: ignore[no-untyped-def]
    assert exercise.readme.is_file()
    assert exercise.suite_file.is_file(), "the hidden tests are missing: download it again"
    assert exercise.meta.checks, "the exercise's metadata lists no checks"


def test_an_untouched_stub_is_graded_and_fails_every_check(course: Course,
                                                           tmp_path: Path) -> None:
    """The whole grading path runs on this machine: sandbox, child, suite, judges."""
    exercise = course.exercises[0]
    original, _ = pristine_stub(exercise, progress_db_path(course.root).parent)
    copy = tmp_path / exercise.meta.module
    copy.write_bytes(original)
    result = grade_file(exercise, copy)
    assert [c.name for c in result.checks] == [c.name for c in exercise.meta.checks]
    assert result.score == 0 and not any(c.passed for c in result.checks)
    assert all(c.feedback is not None for c in result.checks), "every check explains itself"


def test_grade_list_shows_every_exercise(course: Course, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["--course", str(course.root), "list",
                                       "--db", str(tmp_path / "progress.db")],
                                env={"NO_COLOR": "1", "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for exercise in course.exercises:
        assert exercise.short_name in result.output
