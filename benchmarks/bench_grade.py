"""Time `grade exercise-03 --solution` as a whole process against the pytest start-up floor.

The floor is `python -c "import pytest, pytest_asyncio"`: any pytest-based grading pays
at least that. We report medians over repeated runs and the ratio to the floor (target:
at most 2.5x), plus where the time goes (parent CLI vs child suite run).

    python benchmarks/bench_grade.py [--runs 15]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def median_seconds(command: list[str], runs: int) -> float:
    subprocess.run(command, capture_output=True, cwd=REPO)  # warm the OS file cache
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(command, capture_output=True, cwd=REPO)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    grade = shutil.which("grade") or sys.exit("`grade` is not on PATH: pip install -e . first")

    rows = {
        "floor: python -c 'import pytest, pytest_asyncio'":
            [sys.executable, "-c", "import pytest, pytest_asyncio"],
        "python -c pass": [sys.executable, "-c", "pass"],
        "grade --help (CLI start-up)": [grade, "--help"],
        "grade list": [grade, "list"],
        "grade exercise-03 --solution": [grade, "exercise-03", "--solution"],
        "grade exercise-03 (stub, all checks fail)": [grade, "exercise-03"],
    }
    results = {label: median_seconds(cmd, args.runs) for label, cmd in rows.items()}
    floor = results["floor: python -c 'import pytest, pytest_asyncio'"]
    print(f"median of {args.runs} runs, {sys.version.split()[0]}")
    for label, seconds in results.items():
        print(f"  {seconds * 1000:7.0f} ms  {seconds / floor:5.2f}x floor  {label}")
    ratio = results["grade exercise-03 --solution"] / floor
    verdict = "OK" if ratio <= 2.5 else "OVER TARGET"
    print(f"grade exercise-03 --solution = {ratio:.2f}x the floor (target <= 2.5x): {verdict}")


if __name__ == "__main__":
    main()
