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
    verdicts = []
    for c in result.checks:
        timeline = _finished(c.timeline)
        elapsed = c.sim_elapsed
        if timeline is not None and not timeline["operations"] and timeline["budget"] is None:
            timeline, elapsed = None, None  # only stopped operations: nothing to compare
        verdicts.append((c.name, c.status, c.points, elapsed, c.feedback, timeline))
    return verdicts


def _finished(timeline: dict | None) -> dict | None:
    """The timeline without operations still running when a check was stopped.

    Code stopped mid-busy-wait leaves operations that real threads had started by then:
    how many is up to the machine. The verdict, message and every finished operation
    must still be identical.
    """
    if timeline is None:
        return None
    done = [op for op in timeline.get("operations", []) if op.get("end") is not None]
    return {**timeline, "operations": done}


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
