"""Shared fixtures for the grader's own tests."""

from __future__ import annotations

import pytest

from grader.course.course import Course, Exercise
from grader.engine.virtual_loop import VirtualClockLoop
from helpers import REPO
from helpers.gradings import CourseGradings


def pytest_asyncio_loop_factories(config, item):  # type: ignore[no-untyped-def]
    """Async tests here run on the grader's virtual clock (the same factory object each time)."""
    return {"virtual": VirtualClockLoop}


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(REPO)


@pytest.fixture(scope="session")
def exercise03(course: Course) -> Exercise:
    return course.resolve("exercise-03")


@pytest.fixture(scope="session")
def course_gradings(tmp_path_factory: pytest.TempPathFactory) -> CourseGradings:
    """Stubs, solutions and variants graded idle, once per session (see helpers.gradings)."""
    return CourseGradings(tmp_path_factory.mktemp("course-gradings"))
