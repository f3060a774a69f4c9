"""Grade all reference solutions; compare real time with the simulated time they cover.

Every timing check runs on the virtual clock, so a course's worth of "seconds of I/O"
should cost a fraction of that in real time. Reports per-exercise wall time, the sum of
simulated seconds the checks covered, and totals for a sequential and a parallel run.

    python benchmarks/bench_course.py [--workers 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from grader.course.course import find_course
from grader.supervision.runner import grade_file


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    exercises = list(find_course().exercises)

    def grade(exercise):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        result = grade_file(exercise, exercise.solution_file)
        simulated = sum(c.sim_elapsed or 0.0 for c in result.checks)
        return exercise.short_name, time.perf_counter() - started, simulated, result

    started = time.perf_counter()
    rows = [grade(e) for e in exercises]
    sequential = time.perf_counter() - started
    for name, wall, simulated, result in rows:
        print(f"  {name}  {wall:6.2f} s real  {simulated:7.1f} s simulated  "
              f"{result.score}/{result.max_score}")
    full = all(r.all_passed for *_, r in rows)
    simulated_total = sum(s for _, _, s, _ in rows)
    started = time.perf_counter()
    with ThreadPoolExecutor(args.workers) as pool:
        list(pool.map(grade, exercises))
    parallel = time.perf_counter() - started
    print(f"{len(rows)} reference solutions, all full marks: {full}")
    print(f"median per exercise: {statistics.median(w for _, w, _, _ in rows):.2f} s real")
    print(f"sequential: {sequential:.1f} s real for {simulated_total:.0f} s of simulated time "
          f"({simulated_total / sequential:.0f}x)")
    print(f"{args.workers} workers: {parallel:.1f} s real")


if __name__ == "__main__":
    main()
