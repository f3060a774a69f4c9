"""Resolving what a student typed to an exercise."""

from __future__ import annotations

import pytest

from grader.course import Course
from grader.errors import UnknownExerciseError


@pytest.mark.parametrize("typed", ["exercise-03", "03", "3", "ex3", "concurrent-fetch",
                                   "exercise-03-concurrent-fetch", "EXERCISE-03",
                                   "exercises/exercise-03-concurrent-fetch/"])
def test_names_for_the_same_exercise(course: Course, typed: str) -> None:
    assert course.resolve(typed).number == 3


def test_unknown_name_suggests_the_closest(course: Course) -> None:
    with pytest.raises(UnknownExerciseError) as info:
        course.resolve("concurent-fetch")
    assert "concurrent-fetch" in info.value.message


def test_exercises_are_numbered_and_sorted(course: Course) -> None:
    numbers = [e.number for e in course.exercises]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)
