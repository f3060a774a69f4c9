"""Every exercise passes the content check: stub 0, solution full, variants as declared.

This is `grade verify`, one exercise per test so a failure names the exercise; the idle
gradings are shared with tests/test_determinism.py (helpers.gradings).
"""

from __future__ import annotations

import pytest

from grader.course.course import Course
from helpers import REPO
from helpers.gradings import CourseGradings

EXERCISES = [e.name for e in Course(REPO).exercises]


def test_the_course_has_exercises() -> None:
    assert len(EXERCISES) >= 1


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_content(name: str, course: Course, course_gradings: CourseGradings) -> None:
    problems, gradings = course_gradings.of(course.resolve(name))
    problems += [p for grading, result in gradings for p in grading.problems(result)]
    assert problems == []
    assert len(gradings) >= 2


def _do_nothing(stub_source: str) -> str:
    """The stub with every unwritten function returning None at once."""
    import ast

    tree = ast.parse(stub_source)
    for node in ast.walk(tree):
        if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and "NotImplementedError" in ast.unparse(node)):
            node.body = [ast.Return(value=ast.Constant(None))]
    return ast.unparse(tree)


def test_code_that_does_nothing_earns_nothing(course: Course, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Doing no work is fast, never blocks and leaves nothing running: no check may
    reward that (checks about such properties declare `requires` in their metadata)."""
    from concurrent.futures import ThreadPoolExecutor

    from grader.supervision.runner import grade_file
    from grader.supervision.sandbox import shared_cells

    jobs = []
    for exercise in course.exercises:
        module = tmp_path / exercise.name / exercise.meta.module
        module.parent.mkdir()
        module.write_text(_do_nothing(exercise.stub_file.read_text()))
        jobs.append((exercise, module))
    with shared_cells(), ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda job: grade_file(*job, time_limit=2.0, owner="course"), jobs))
    rewarded = {r.exercise: [c.name for c in r.checks if c.passed] for r in results if r.score}
    assert rewarded == {}
