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
wall-clock number moves with it. So each mode's CPU time per re-grade is printed too
(this process, its threads and every process it started, the sandbox's included, read
with ``getrusage`` once they have exited): a load-independent figure, and about what a
re-grade takes on an idle machine, where the grading's steps run one after another.

    python benchmarks/bench_watch.py [--runs 15]
"""

from __future__ import annotations

import argparse
import io
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from rich.console import Console

from grader.course.course import Course
from grader.supervision.results import GradeResult
from grader.watch import warm_grading, watch_exercise

REPO = Path(__file__).resolve().parent.parent
EX03 = "exercise-03-concurrent-fetch"


def cpu_seconds() -> float:
    """CPU time of this process and of every child it has reaped, user plus system."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def course_copy(folder: Path) -> Course:
    root = folder / "course"
    shutil.copytree(REPO / "exercises" / EX03, root / "exercises" / EX03)
    shutil.copy(REPO / "course.toml", root / "course.toml")
    return Course(root)


def edit(stub: Path, number: int) -> None:
    solution = (REPO / "solutions" / EX03 / "fetcher.py").read_text()
    stub.write_text(f"{solution}\n# edit {number}\n")


def cold(course: Course, runs: int, db: Path) -> tuple[list[float], float]:
    """Wall seconds of each whole `grade exercise-03`, and CPU seconds per run."""
    stub = course.resolve("3").stub_file
    command = [sys.executable, "-m", "grader.cli", "--course", str(course.root),
               "exercise-03", "--db", str(db)]
    samples = []
    edit(stub, 0)
    subprocess.run(command, capture_output=True, check=False)  # warms the OS file cache
    cpu = cpu_seconds()
    for number in range(1, runs + 1):
        edit(stub, number)
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        samples.append(time.perf_counter() - started)
    return samples, (cpu_seconds() - cpu) / runs


def warm_session(course: Course, runs: int) -> tuple[list[float], GradeResult, float]:
    """One warm sandbox: a first grading, then ``runs`` timed re-gradings of new edits.

    Returns the re-gradings' wall seconds, the last result, and the CPU seconds of the
    whole session, counted once the sandbox has exited.
    """
    exercise = course.resolve("3")
    samples = []
    cpu = cpu_seconds()
    with warm_grading() as grade:
        result = grade(exercise, exercise.stub_file)  # starts the warm sandbox
        for number in range(runs):
            edit(exercise.stub_file, 1000 + number)
            started = time.perf_counter()
            result = grade(exercise, exercise.stub_file)
            samples.append(time.perf_counter() - started)
    return samples, result, cpu_seconds() - cpu


def warm(course: Course, runs: int) -> tuple[list[float], GradeResult, float]:
    """Wall seconds per warm re-grade, and its CPU seconds: the difference between a
    session of ``runs`` re-gradings and one of none, so start-up is not counted."""
    warm_session(course, 0)  # the judges' suite and imports, loaded once per process
    _, _, start_only = warm_session(course, 0)
    samples, result, total = warm_session(course, runs)
    return samples, result, (total - start_only) / runs


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
        cold_samples, cold_cpu = cold(course, args.runs, Path(tmp) / "cold.db")
        warm_samples, result, warm_cpu = warm(course, args.runs)
        screen_samples = save_to_screen(course, args.runs)
        load_after = os.getloadavg()[0]
    sandbox = "no sandbox: " + "; ".join(result.notes) if result.notes else "bubblewrap sandbox"
    print(f"exercise 03, edited reference solution, {result.score}/{result.max_score}, "
          f"{sandbox}; median of {args.runs}, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cores, load average {load_before:.1f} -> {load_after:.1f}")
    print("                                           wall (median)          CPU per run")
    print(f"  cold `grade exercise-03` (whole process) {median_ms(cold_samples)}"
          f"  {cold_cpu * 1000:6.0f} ms")
    print(f"  warm re-grade (grade watch, per save)    {median_ms(warm_samples)}"
          f"  {warm_cpu * 1000:6.0f} ms")
    print(f"  warm, save to result (debounce incl.)    {median_ms(screen_samples)}")
    ratio = statistics.median(cold_samples) / statistics.median(warm_samples)
    print(f"  a warm re-grade is {ratio:.1f}x faster than a cold grade (wall), "
          f"{cold_cpu / warm_cpu:.1f}x less CPU")

if __name__ == "__main__":
    main()
