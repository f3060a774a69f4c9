"""Grading outcomes for code that hangs, exits, crashes, floods output or won't import.

Golden fixtures: tests/fixtures/outcomes/<case>/fetcher.py graded against exercise 03's
hidden suite, with the expected status per check and message in expected.json.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from grader.course.course import Exercise
from grader.supervision.runner import grade_file
from helpers import FIXTURES

CASES = sorted(p.name for p in (FIXTURES / "outcomes").iterdir() if p.is_dir())


@pytest.mark.parametrize("case", CASES)
def test_outcome(case: str, exercise03: Exercise) -> None:
    folder = FIXTURES / "outcomes" / case
    expected = json.loads((folder / "expected.json").read_text())
    started = time.perf_counter()
    # The runtime outcomes themselves: the screen would refuse some of these files first.
    result = grade_file(exercise03, folder / "fetcher.py", time_limit=1.0, screen=False)
    elapsed = time.perf_counter() - started

    statuses = {c.name: c.status for c in result.checks}
    assert statuses == expected["statuses"]
    assert result.score == sum(c.max_points for c in result.checks if c.status == "passed")
    messages = " ".join(f"{c.feedback.what} {c.feedback.misconception}"
                        for c in result.checks if c.feedback)
    assert expected["message"] in messages
    # Within the time limits: never the full hard limit, never a hang.
    assert elapsed < 15


def test_only_passed_checks_earn_points(exercise03: Exercise) -> None:
    result = grade_file(exercise03, FIXTURES / "outcomes" / "missing_function" / "fetcher.py")
    for check in result.checks:
        assert check.points == (check.max_points if check.passed else 0)
    assert 0 < result.score < result.max_score


def test_missing_module_file_is_a_clear_error(exercise03: Exercise, tmp_path: Path) -> None:
    from grader.errors import MissingFileError

    with pytest.raises(MissingFileError, match="does not exist"):
        grade_file(exercise03, tmp_path / "nope.py")


def test_traceback_is_trimmed_to_the_student_file(exercise03: Exercise) -> None:
    result = grade_file(exercise03, exercise03.stub_file)
    first = result.checks[0]
    assert first.status == "error"
    assert 'File "fetcher.py"' in first.traceback
    assert "asyncio" not in first.traceback and "pytest" not in first.traceback
    assert "NotImplementedError" in first.feedback.what


def test_hidden_test_source_never_reaches_the_student(exercise03: Exercise) -> None:
    suite_source = exercise03.suite_file.read_text()
    for fixture in ("stub", "wrong"):
        path = (exercise03.stub_file if fixture == "stub" else
                FIXTURES / "exercises" / exercise03.name / "wrong" / "sequential_awaits.py")
        text = json.dumps(grade_file(exercise03, path).to_dict())
        assert "expect_elapsed_at_most(" not in text
        assert "def test_" not in text
        assert suite_source[:200] not in text


def test_a_broken_hidden_suite_is_the_graders_error_not_the_students(
        exercise03: Exercise, tmp_path: Path) -> None:
    import dataclasses
    import shutil

    from grader.errors import GraderError

    copy = tmp_path / "exercises" / exercise03.name
    shutil.copytree(exercise03.folder, copy)
    (copy / ".meta" / exercise03.suite_file.name).write_text("import no_such_module\n")
    broken = dataclasses.replace(exercise03, folder=copy, course_root=tmp_path)
    with pytest.raises(GraderError, match="not your code's fault"):
        grade_file(broken, exercise03.solution_file)
