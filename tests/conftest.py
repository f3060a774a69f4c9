"""Shared fixtures for the grader's own tests."""

from __future__ import annotations

import pytest

from grader.course import Course, Exercise
from grader.virtual_loop import VirtualClockLoop
from helpers import REPO


def pytest_asyncio_loop_factories(config, item):  # type: ignore[no-untyped-def]
    """Async tests here run on the grader's virtual clock (the same factory object each time)."""
    return {"virtual": VirtualClockLoop}


@pytest.fixture(scope="session")
def course() -> Course:
    return Course(REPO)


@pytest.fixture(scope="session")
def exercise03(course: Course) -> Exercise:
    return course.resolve("exercise-03")
