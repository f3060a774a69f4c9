"""Verdicts do not depend on machine load, down to the words of the feedback.

Every exercise's stub, reference solution and variants are graded on an idle machine
(once per session, shared with tests/test_exercises.py) and again while CPU hogs keep
every core busy; statuses, points, simulated times and the complete feedback text must
be identical.
"""

from __future__ import annotations

import pytest

from grader.course import Course
from grader.results import GradeResult
from helpers.gradings import CourseGradings, grade_all
from helpers.load import cores_busy


def _verdict(result: GradeResult) -> list[tuple]:
    return [(c.name, c.status, c.points, c.sim_elapsed, c.feedback, c.timeline)
            for c in result.checks]


@pytest.mark.timeout(900)  # the whole course graded again with every core busy
def test_verdicts_identical_idle_and_under_load(course: Course,
                                                course_gradings: CourseGradings) -> None:
    gradings = [pair for e in course.exercises for pair in course_gradings.of(e)[1]]
    idle = [_verdict(result) for _grading, result in gradings]
    with cores_busy():
        busy = [_verdict(r) for r in grade_all([(g.exercise, g.path) for g, _ in gradings])]
    differing = [f"{g.exercise.short_name} {g.label}: idle {x} / busy {y}"
                 for (g, _), a, b in zip(gradings, idle, busy, strict=True) if a != b
                 for x, y in zip(a, b, strict=True) if x != y]
    assert differing == []
    statuses = {check[1] for checks in idle for check in checks}
    assert statuses >= {"passed", "failed"}
