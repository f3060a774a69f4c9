"""Report writing against the size of a timeline: is it linear in the data?

One grading of exercise 03 whose timing check recorded N operations (one after
another and none overlapping, so no early exit helps; each with its own label) goes the
way a verdict goes in ``grade bulk``: into a gradebook, back out of it, then into every
output (``grades.csv``, ``results.json``, the student's HTML report, the class summary).
The same result also renders as a student's own ``grade report``, and the raw timeline
is drawn on its own (``picture``). For each N it prints the seconds each step took
(``result`` is building the result from the raw record, where the timeline is cut to
its first operations) and how many operations the page draws, then the time ratio
between the largest and the smallest N. With the timeline cut to a bounded number of
operations, every ratio stays near 1; a step linear in N shows N_max / N_min, a
quadratic one its square.

Before the cut (and with every pair of operations compared to find overlaps), 12,000
operations took about 14 s per output where 1,000 took about 0.1 s: 114 to 142 times
the time for 12 times the operations.

    python benchmarks/bench_report.py                  # N = 1,000 and 12,000
    python benchmarks/bench_report.py --ops 1000,10000,50000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.bulk.class_report import write_class_report  # noqa: E402
from grader.bulk.classbook import ClassResults, ExerciseInfo, ExerciseOutcome, StudentRecord  # noqa: E402
from grader.bulk.exports import write_grades_csv, write_results_json  # noqa: E402
from grader.bulk.gradebook import Gradebook, GradingKey  # noqa: E402
from grader.bulk.student_reports import write_student_reports  # noqa: E402
from grader.course.course import Course  # noqa: E402
from grader.engine.feedback import Feedback  # noqa: E402
from grader.render.report_html import render_report  # noqa: E402
from grader.render.timeline_svg import timeline_summary, timeline_svg  # noqa: E402
from grader.state.progress import build_progress  # noqa: E402
from grader.state.progress_store import Attempt, AttemptScore  # noqa: E402
from grader.supervision.results import CheckResult, GradeResult  # noqa: E402


def staircase(operations: int) -> dict:
    return {
        "operations": [{"label": f"op{i}", "start": i * 0.001, "end": i * 0.001 + 0.0008,
                        "outcome": "ok"} for i in range(operations)],
        "budget": 1.2,
        "elapsed": operations * 0.001,
    }


def big_result(exercise_name: str, checks: tuple, timeline: dict) -> GradeResult:
    """Every metadata check failed; the first one carries ``timeline``."""
    results = tuple(
        CheckResult(c.name, c.title, c.task, "failed", 0, c.points,
                    Feedback("too slow", "awaited one after another"), duration=0.01,
                    sim_elapsed=timeline["elapsed"], timeline=timeline if i == 0 else None)
        for i, c in enumerate(checks))
    return GradeResult(exercise_name, "T", "fetcher.py", results, 0.5)


def measure(course: Course, operations: int) -> dict[str, float]:
    exercise = course.resolve("exercise-03")
    meta = exercise.meta
    timeline = staircase(operations)
    times: dict[str, float] = {}
    started = time.perf_counter()
    timeline_svg(timeline)  # the picture alone, from the raw record
    timeline_summary(timeline)
    times["picture"] = time.perf_counter() - started
    started = time.perf_counter()
    result = big_result(exercise.name, meta.checks, timeline)  # as the runner builds it
    times["result"] = time.perf_counter() - started
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        started = time.perf_counter()
        key = GradingKey("student", exercise.name, "f" * 64, "s" * 64)
        with Gradebook(out / "gradebook.sqlite") as book:
            book.record(key, result, seconds=0.5)
            recorded = book.find(key)
        assert recorded is not None
        times["gradebook"] = time.perf_counter() - started

        info = ExerciseInfo(exercise.name, exercise.short_name, meta.title, meta.module,
                            meta.max_score, meta.checks, "s" * 64)
        outcome = ExerciseOutcome(exercise.name, "graded", recorded.result, "fetcher.py",
                                  "f" * 64, 0.5, graded_at="2026-01-05T10:00:00+00:00")
        results = ClassResults((info,), (StudentRecord("student", "student", (outcome,)),))
        started = time.perf_counter()
        write_grades_csv(results, out / "grades.csv")
        write_results_json(results, out / "results.json")
        links = write_student_reports(results, [exercise], out)
        write_class_report(results, out / "class-summary.html", links)
        times["bulk outputs"] = time.perf_counter() - started
        page = (out / links["student"]).read_text()
        times["drawn"] = page.count('class="op op-')

    started = time.perf_counter()
    attempt = Attempt(1, "2026-01-05T10:00:00+00:00", "stub", 0, result)
    score = AttemptScore(1, exercise.name, attempt.graded_at, "stub", 0, meta.max_score,
                         False, 0)
    render_report(build_progress(course, [score], {}), [attempt])
    times["grade report"] = time.perf_counter() - started
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", default="1000,12000",
                        help="comma-separated operation counts (default: 1000,12000)")
    args = parser.parse_args()
    counts = [int(n) for n in args.ops.split(",")]
    course = Course(REPO)
    measure(course, 10)  # imports, templates
    rows = {n: measure(course, n) for n in counts}
    steps = ("picture", "result", "gradebook", "bulk outputs", "grade report")
    print(f"{'operations':>10}" + "".join(f"  {step:>12}" for step in steps) + f"  {'drawn':>6}")
    for n, t in rows.items():
        print(f"{n:>10,}" + "".join(f"  {t[step]:>11.3f}s" for step in steps)
              + f"  {int(t['drawn']):>6,}")
    low, high = rows[min(counts)], rows[max(counts)]
    factor = max(counts) / min(counts)
    for step in steps:
        print(f"{step}: {high[step] / low[step]:.1f}x the time for {factor:g}x the operations")


if __name__ == "__main__":
    main()
