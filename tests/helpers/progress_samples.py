"""Sample gradings and throwaway courses for the progress tests (store, CLI, report).

Results are built directly, shaped like real ``grade exercise-03 --json`` output, so
these tests never spawn a grading child process unless they mean to.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from grader.course.course import Course, Exercise
from grader.engine.feedback import Feedback
from grader.supervision.results import CheckResult, GradeResult
from helpers import REPO

EX03 = "exercise-03-concurrent-fetch"

SEQUENTIAL = [("a", 0.0, 1.0), ("b", 1.0, 1.5), ("c", 1.5, 2.3)]
CONCURRENT = [("a", 0.0, 1.0), ("b", 0.0, 0.5), ("c", 0.0, 0.8)]


def timeline(ops: list[tuple[str, float, float]], budget: float | None = 1.2,
             failing: str = "") -> dict:
    return {
        "operations": [{"label": label, "start": start, "end": end,
                        "outcome": "error" if label == failing else "ok"}
                       for label, start, end in ops],
        "budget": budget,
        "elapsed": max(end for _, _, end in ops),
    }


def exercise03_result(kind: str, *, graded_file: str = "fetcher.py") -> GradeResult:
    """A grading of exercise 03: ``stub`` (0/11), ``sequential`` (7/11), ``concurrent``."""
    titles = [
        ("results_in_input_order", "fetch_all returns results in the order of its sources", 1, 2),
        ("fetches_run_concurrently", "Three fetches (1.0 s, 0.5 s, 0.8 s) finish in under 1.2 s",
         1, 3),
        ("never_blocks_the_loop", "fetch_all never blocks the event loop", 1, 2),
        ("any_number_of_sources", "fetch_all works for no sources and for many", 1, 1),
        ("failing_source_becomes_none", "fetch_all_safe puts None where a source failed", 2, 2),
        ("safe_fetches_run_concurrently",
         "fetch_all_safe is still concurrent and leaves nothing running", 2, 1),
    ]
    checks = []
    for name, title, task, points in titles:
        if kind == "stub":
            checks.append(CheckResult(
                name, title, task, "error", 0, points,
                feedback=Feedback("Not written yet: NotImplementedError: fetch_all is not "
                                  "written yet (at fetcher.py, line 21, in fetch_all).",
                                  next_step="Replace the `raise NotImplementedError` with "
                                  "your implementation."),
                traceback='Traceback (your code only):\n  File "fetcher.py", line 21\n'
                          "NotImplementedError: fetch_all is not written yet",
            ))
            continue
        ops = SEQUENTIAL if kind == "sequential" else CONCURRENT
        timing = "concurrently" in name
        failing = "c" if name == "safe_fetches_run_concurrently" else ""
        line = timeline(ops, 1.2 if timing else None, failing)
        if kind == "sequential" and timing:
            checks.append(CheckResult(
                name, title, task, "failed", 0, points,
                feedback=Feedback(
                    "Your 3 operations ran one after another: 2.3 s of simulated I/O, so "
                    "fetch_all(['a', 'b', 'c']) took 2.3 s of simulated time (the budget is "
                    "1.2 s).",
                    misconception="`await` waits for that one operation to finish before "
                    "the next line runs, so awaiting each call in turn is sequential.",
                    next_step="Start all of them first (asyncio.gather, or create_task for "
                    "each) and only then wait for the results."),
                duration=0.01, sim_elapsed=2.3, timeline=line,
            ))
        else:
            checks.append(CheckResult(name, title, task, "passed", points, points,
                                      duration=0.01, sim_elapsed=line["elapsed"],
                                      timeline=line))
    return GradeResult(EX03, "Three downloads at the price of one",
                       f"/course/exercises/{EX03}/{graded_file}", tuple(checks), 0.41)


def passing_result(exercise: Exercise) -> GradeResult:
    """Full marks for any exercise, from its metadata."""
    checks = tuple(CheckResult(c.name, c.title, c.task, "passed", c.points, c.points)
                   for c in exercise.meta.checks)
    return GradeResult(exercise.name, exercise.meta.title, str(exercise.stub_file), checks, 0.3)


def copy_course(tmp_path: Path, folders: tuple[str, ...] = (EX03,)) -> Course:
    """A throwaway course with copies of some of the repo's exercises (never the repo's own)."""
    root = tmp_path / "course"
    for folder in folders:
        shutil.copytree(REPO / "exercises" / folder, root / "exercises" / folder)
        shutil.copytree(REPO / "solutions" / folder, root / "solutions" / folder)
    return Course(root)


TINY = {
    "exercise-01-first-steps": dict(
        title="First steps", concepts=["await"], module="first.py",
        checks=[("runs", 1, 2), ("returns", 1, 1)],
        hints=[(1, "Hint one for task one."), (1, "Hint two for task one.")]),
    "exercise-02-side-by-side": dict(
        title="Side by side", concepts=["await", "gather"], module="side.py",
        checks=[("in_order", 1, 1), ("concurrently", 1, 2), ("safe", 2, 2)],
        hints=[(1, "Task one, vague."), (1, "Task one, precise."), (2, "Task two.")]),
    "exercise-03-no-hints": dict(
        title="Nothing to hint", concepts=["cancellation"], module="quiet.py",
        checks=[("stops", 1, 1)], hints=[]),
}


def tiny_course(tmp_path: Path) -> Course:
    """A made-up three-exercise course: its metadata never changes under the tests."""
    root = tmp_path / "tiny-course"
    for folder, spec in TINY.items():
        meta = root / "exercises" / folder / ".meta"
        meta.mkdir(parents=True)
        lines = ["format_version = 1", f'title = "{spec["title"]}"',
                 f'module = "{spec["module"]}"', f"concepts = {spec['concepts']!r}".replace(
                     "'", '"'), ""]
        for name, task, points in spec["checks"]:
            lines += ["[[checks]]", f'name = "{name}"', f'title = "Check {name}"',
                      f"task = {task}", f"points = {points}", ""]
        for task, text in spec["hints"]:
            lines += ["[[hints]]", f"task = {task}", f'text = "{text}"', ""]
        (meta / "exercise.toml").write_text("\n".join(lines), encoding="utf-8")
        stem = Path(spec["module"]).stem
        (meta / f"test_{stem}.py").write_text("def test_placeholder():\n    pass\n")
        (root / "exercises" / folder / spec["module"]).write_text(
            "# TODO: write me\nraise NotImplementedError\n")
        solution = root / "solutions" / folder / spec["module"]
        solution.parent.mkdir(parents=True)
        solution.write_text("VALUE = 1\n")
    return Course(root)


def tiny_result(course: Course, short: str, passed: set[str] | None = None) -> GradeResult:
    """A grading of a tiny-course exercise where the checks in ``passed`` pass."""
    exercise = course.resolve(short)
    passed = {c.name for c in exercise.meta.checks} if passed is None else passed
    checks = tuple(
        CheckResult(c.name, c.title, c.task, "passed" if c.name in passed else "failed",
                    c.points if c.name in passed else 0, c.points,
                    feedback=None if c.name in passed else Feedback(f"{c.name} went wrong."))
        for c in exercise.meta.checks)
    return GradeResult(exercise.name, exercise.meta.title, str(exercise.stub_file), checks, 0.2)
