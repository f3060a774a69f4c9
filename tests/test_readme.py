"""The README's course overview and commands stay true."""

from __future__ import annotations

from grader.course import Course
from helpers import REPO

README = (REPO / "README.md").read_text()


def test_every_exercise_is_listed_with_its_concepts(course: Course) -> None:
    for exercise in course.exercises:
        row = next((line for line in README.splitlines()
                    if line.startswith(f"| {exercise.number:02d} |")), None)
        assert row is not None, exercise.name
        assert exercise.meta.title in row
        for concept in exercise.meta.concepts:
            assert concept in row, (exercise.name, concept)


def test_the_two_commands_are_there() -> None:
    assert "pip install -e . && grade exercise-03" in README
    assert 'pip install -e ".[test]" && pytest' in README


def test_ci_runs_the_readme_test_command() -> None:
    ci = (REPO / ".ci" / "run").read_text()
    assert 'pip install -q -e ".[test]"' in ci and "-m pytest" in ci
