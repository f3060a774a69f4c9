"""Every exercise passes the content check: stub 0, solution full, variants as declared.

This is `grade verify`, one exercise per test so a failure names the exercise.
"""

from __future__ import annotations

import pytest

from grader.course import Course
from grader.verify import verify_exercise
from helpers import REPO

EXERCISES = [e.name for e in Course(REPO).exercises]


def test_the_course_has_exercises() -> None:
    assert len(EXERCISES) >= 1


@pytest.mark.parametrize("name", EXERCISES)
def test_exercise_content(name: str, course: Course) -> None:
    report = verify_exercise(course.resolve(name), workers=2)
    assert report.problems == []
    assert report.gradings >= 2


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

    from grader.runner import grade_file
    from grader.sandbox import shared_cells

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
