"""Verdicts do not depend on machine load, down to the words of the feedback.

Every exercise's stub, reference solution and variants are graded on an idle machine
(once per session, shared with tests/test_exercises.py) and again while CPU hogs keep
every core busy; statuses, points, simulated times and the complete feedback text must
be identical.
"""

from __future__ import annotations

import pytest

from grader.course.course import Course
from grader.supervision.results import GradeResult
from helpers.gradings import CourseGradings, grade_all
from helpers.load import cores_busy

ADDRESS_ORDERED = {
    "exercise-15-semaphores-locks/bounded_semaphore_as_completed.py":
        "asyncio.as_completed starts its tasks in the order of a set of coroutines, which "
        "follows memory addresses; behind a semaphore, that order decides which fetches "
        "get the first slots. Its verdict is fixed; its timeline is the program's own.",
}
"""Programs whose schedule follows memory addresses, by label: their statuses, points
and feedback are compared, not their timelines. A warm sandbox forks each child from a
process whose heap has served earlier gradings, so addresses differ between runs."""


def _verdict(result: GradeResult, *, with_timing: bool = True) -> list[tuple]:
    verdicts = []
    for c in result.checks:
        if not with_timing:
            verdicts.append((c.name, c.status, c.points, c.feedback))
            continue
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
    timed = [g.label not in ADDRESS_ORDERED for g, _ in gradings]
    assert sum(not t for t in timed) == len(ADDRESS_ORDERED)  # each still graded here
    idle = [_verdict(result, with_timing=t) for (_g, result), t in zip(gradings, timed,
                                                                         strict=True)]
    with cores_busy():
        again = grade_all([(g.exercise, g.path) for g, _ in gradings])
        busy = [_verdict(r, with_timing=t) for r, t in zip(again, timed, strict=True)]
    differing = [f"{g.exercise.short_name} {g.label}: idle {x} / busy {y}"
                 for (g, _), a, b in zip(gradings, idle, busy, strict=True) if a != b
                 for x, y in zip(a, b, strict=True) if x != y]
    assert differing == []
    statuses = {check[1] for checks in idle for check in checks}
    assert statuses >= {"passed", "failed"}
