"""Verdicts do not depend on machine load, down to the words of the feedback.

Every exercise's reference solution and known-wrong variants are graded on an idle
machine and again while CPU hogs keep every core busy; statuses, points, simulated
times and the complete feedback text must be identical.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from grader.course import Course, Exercise
from grader.runner import grade_file
from grader.sandbox import shared_cells
from grader.variants import load_variants
from helpers.load import cores_busy


def _verdicts(jobs: list[tuple[Exercise, Path]]) -> list[list[tuple]]:
    def grade(job: tuple[Exercise, Path]) -> list[tuple]:
        exercise, path = job
        return [(c.name, c.status, c.points, c.sim_elapsed, c.feedback, c.timeline)
                for c in grade_file(exercise, path, owner="course").checks]

    with shared_cells(), ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        return list(pool.map(grade, jobs))


def test_verdicts_identical_idle_and_under_load(course: Course) -> None:
    jobs = [(e, f) for e in course.exercises
            for f in [e.solution_file, *(v.file for v in load_variants(e))]]
    idle = _verdicts(jobs)
    with cores_busy():
        loaded = _verdicts(jobs)
    differing = [f"{e.short_name} {f.name}: idle {x} / busy {y}"
                 for (e, f), a, b in zip(jobs, idle, loaded, strict=True) if a != b
                 for x, y in zip(a, b, strict=True) if x != y]
    assert differing == []
    statuses = {check[1] for checks in idle for check in checks}
    assert statuses >= {"passed", "failed"}
