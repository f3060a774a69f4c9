"""Timing verdicts do not depend on machine load.

Exercise 03's solution and every known-wrong variant are graded on an idle machine and
again while CPU hogs keep both cores busy; statuses and simulated times must be equal.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from contextlib import contextmanager

from grader.course import Exercise
from grader.runner import grade_file
from grader.variants import load_variants


def _hog() -> None:
    while True:
        pass


@contextmanager
def cores_busy() -> Iterator[None]:
    hogs = [multiprocessing.get_context("fork").Process(target=_hog, daemon=True)
            for _ in range((os.cpu_count() or 2) * 2)]
    for hog in hogs:
        hog.start()
    try:
        yield
    finally:
        for hog in hogs:
            hog.kill()
            hog.join()


def _verdicts(exercise: Exercise) -> dict[str, list[tuple[str, str, float | None]]]:
    files = [exercise.solution_file] + [v.file for v in load_variants(exercise)]
    return {
        f.name: [(c.name, c.status, c.sim_elapsed) for c in grade_file(exercise, f).checks]
        for f in files
    }


def test_verdicts_identical_idle_and_under_load(exercise03: Exercise) -> None:
    idle = _verdicts(exercise03)
    with cores_busy():
        loaded = _verdicts(exercise03)
    assert loaded == idle
    # And the verdicts are the interesting ones, not all-pass or all-fail.
    statuses = {s for checks in idle.values() for _, s, _ in checks}
    assert statuses >= {"passed", "failed"}
