"""Re-grading a saved file: warm `grade watch` against a cold `grade exercise-03`.

Three figures, each the median of ``--runs`` re-gradings of exercise 03's file after
an edit (the reference solution with one more comment line each time, so every save
is a new content and really graded), on a throwaway copy of the course:

- cold: the whole ``grade exercise-03`` process (CLI start-up, a new sandbox, pytest
  start-up in it, the judges' suite loaded, the grading, the record);
- warm grading: what ``grade watch`` calls on a save, ``grade_file(..., owner="watch")``
  inside :func:`grader.watch.warm_grading` (one warm sandbox, judges loaded once);
- warm, save to screen: from writing the file to the result being recorded, through
  the real watch loop (watchfiles' debounce included), as a student perceives it.

The machine's load average is printed with the figures: on a shared machine every
number moves with it, the ratio much less.

    python benchmarks/bench_watch.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from grader.course import Course
from grader.results import GradeResult
from grader.watch import warm_grading, watch_exercise

REPO = Path(__file__).resolve().parent.parent
EX03 = "exercise-03-concurrent-fetch"


def course_copy(folder: Path) -> Course:
    root = folder / "course"
    shutil.copytree(REPO / "exercises" / EX03, root / "exercises" / EX03)
    shutil.copy(REPO / "course.toml", root / "course.toml")
    return Course(root)


def edit(stub: Path, number: int) -> None:
    solution = (REPO / "solutions" / EX03 / "fetcher.py").read_text()
    stub.write_text(f"{solution}\n# edit {number}\n")


def cold(course: Course, runs: int, db: Path) -> list[float]:
    stub = course.resolve("3").stub_file
    command = [sys.executable, "-m", "grader.cli", "--course", str(course.root),
               "exercise-03", "--db", str(db)]
    samples = []
    for number in range(runs + 1):
        edit(stub, number)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
    return samples[1:]  # the first warms the OS file cache


def warm(course: Course, runs: int) -> tuple[list[float], GradeResult]:
    exercise = course.resolve("3")
    samples = []
    with warm_grading() as grade:
        result = grade(exercise, exercise.stub_file)  # starts the warm sandbox
        for number in range(runs):
            edit(exercise.stub_file, 1000 + number)
            started = time.perf_counter()
            result = grade(exercise, exercise.stub_file)
            samples.append(time.perf_counter() - started)
    return samples, result


def save_to_screen(course: Course, runs: int) -> list[float]:
    exercise = course.resolve("3")
    recorded = threading.Condition()
    results: list[float] = []
    saved_at = [0.0]

    def record(_result: GradeResult) -> None:
        with recorded:
            results.append(time.perf_counter() - saved_at[0])
            recorded.notify_all()

    stop = threading.Event()
    with warm_grading() as grade:
        thread = threading.Thread(target=watch_exercise, args=(exercise,), kwargs=dict(
            console=Console(file=io.StringIO()), grade=grade, record=record,
            stop_event=stop))
        saved_at[0] = time.perf_counter()
        thread.start()
        with recorded:
            recorded.wait_for(lambda: len(results) >= 1, timeout=60)
        time.sleep(0.5)  # let the watcher settle before the first timed save
        for number in range(runs):
            with recorded:
                wanted = len(results) + 1
                saved_at[0] = time.perf_counter()
                edit(exercise.stub_file, 2000 + number)
                recorded.wait_for(lambda n=wanted: len(results) >= n, timeout=60)
            time.sleep(0.3)
        stop.set()
        thread.join(30)
    return results[1:]


def median_ms(samples: list[float]) -> str:
    return f"{statistics.median(samples) * 1000:6.0f} ms (min {min(samples) * 1000:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as tmp:
        course = course_copy(Path(tmp))
        load_before = os.getloadavg()[0]
        cold_samples = cold(course, args.runs, Path(tmp) / "cold.db")
        warm_samples, result = warm(course, args.runs)
        screen_samples = save_to_screen(course, args.runs)
        load_after = os.getloadavg()[0]
    sandbox = "no sandbox: " + "; ".join(result.notes) if result.notes else "bubblewrap sandbox"
    print(f"exercise 03, edited reference solution, {result.score}/{result.max_score}, "
          f"{sandbox}; median of {args.runs}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {load_before:.1f} -> {load_after:.1f}")
    print(f"  cold `grade exercise-03` (whole process) {median_ms(cold_samples)}")
    print(f"  warm re-grade (grade watch, per save)    {median_ms(warm_samples)}")
    print(f"  warm, save to result (debounce incl.)    {median_ms(screen_samples)}")
    ratio = statistics.median(cold_samples) / statistics.median(warm_samples)
    print(f"  a warm re-grade is {ratio:.1f}x faster than a cold grade")


if __name__ == "__main__":
    main()
