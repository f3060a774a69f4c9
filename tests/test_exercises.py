"""Every exercise passes the content check: stub 0, solution full, variants as declared.

This is `grade verify`, one exercise per test so a failure names the exercise.
"""

from __future__ import annotations

import pytest

from grader.course import Course
from grader.verify import verify_exercise
from tests.conftest import REPO

EXERCISES = [e.name for e in Course(REPO).exercises]


def test_the_course_has_exercises() -> None:
    assert len(EXERCISES) >= 1


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_content(name: str, course: Course) -> None:
    report = verify_exercise(course.resolve(name), workers=2)
    assert report.problems == []
    assert report.gradings >= 2
