"""Exercism's test-runner contract: ``run.sh SLUG SOLUTION_DIR OUTPUT_DIR``.

Format (exercism/docs ``building/tooling/test-runners/interface.md``): the runner gets
the exercise's slug, a solution folder (read-only) and an output folder, writes
``OUTPUT_DIR/results.json`` and exits 0 whatever the tests' outcome. Version 3:
``version``, ``status`` (``pass``, ``fail``, or ``error`` when no test ran, with a
``message`` saying why), ``tests`` in the order of the tests file, each with
``name``, ``status`` (``pass``/``fail``/``error``), ``message`` and ``task_id``.

Decisions:

* The slug is any name ``grade`` accepts: ``concurrent-fetch``, ``exercise-03``, ``03``.
* ``task_id`` is the check's task, the same number as the README's ``## Task N``.
* ``test_code`` is left out: the contract requires it only for concept exercises,
  and these suites are hidden by design. ``output`` (what the student's own code
  printed, at most 500 characters) is left out too: the engine does not keep a
  check's printed output, and the contract forbids putting the runner's own text
  there. The teaching message and trimmed traceback go in ``message``.
* ``results.json`` stays under Exercism's 500 KB cap. Notes about the sandbox are
  printed and added to each failing test's message: the top-level message must stay
  empty unless no test ran.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grader.course.course import Course, Exercise
from grader.errors import GraderError
from grader.platforms.base import Run, import_failed, protection_notes, teaching_text
from grader.platforms.bundle import COURSE_FOLDER, Bundle, grader_bundle
from grader.platforms.files import env_time_limit, write_json_atomically
from grader.platforms.session import grade_submission
from grader.supervision.results import CheckResult

__all__ = ["Exercism", "build", "main"]

MESSAGE_LIMIT = 8_000  # per test; 18 checks stay far below the 500 KB file cap

RUN_SH = """\
#!/usr/bin/env sh
# Exercism's test-runner interface: run.sh SLUG SOLUTION_DIR OUTPUT_DIR.
# Written by `grade autograder exercism`.
HERE="$(cd "$(dirname "$0")/.." && pwd)"
exec "${GRADER_PYTHON:-python3}" -m grader.platforms.exercism "$1" "$2" "$3" \\
    --course "$HERE/course"
"""

DOCKERFILE = """\
# A test-runner image for Exercism's tooling. Written by `grade autograder exercism`.
FROM python:3.12-slim
RUN apt-get update \\
    && apt-get install -y --no-install-recommends bubblewrap \\
    && rm -rf /var/lib/apt/lists/*
COPY . /opt/test-runner
RUN pip install --no-cache-dir /opt/test-runner/package
WORKDIR /opt/test-runner
ENTRYPOINT ["/opt/test-runner/bin/run.sh"]
"""


@dataclass(frozen=True)
class Exercism:
    """Exercism's ``results.json``, version 3."""

    name: str = "exercism"

    def render(self, run: Run) -> dict[str, Any]:
        notes = protection_notes(run)
        if not run.results or all(import_failed(r) for r in run.results):
            reasons = [teaching_text(r.checks[0]) for r in run.results if r.checks]
            message = "\n\n".join([*reasons, *notes]) or "No test ran."
            return {"version": 3, "status": "error", "message": message, "tests": []}
        tests = [_test(check, notes) for _, _, check in run.checks]
        status = "pass" if all(t["status"] == "pass" for t in tests) else "fail"
        return {"version": 3, "status": status, "message": None, "tests": tests}


def _test(check: CheckResult, notes: list[str]) -> dict[str, Any]:
    status = {"passed": "pass", "error": "error"}.get(check.status, "fail")
    text = teaching_text(check)
    if notes and status != "pass":
        # The top-level message must stay empty unless nothing ran; a failing test's
        # message is what a student reads, so the sandbox's absence is said there.
        text = "\n\n".join([text, "Grading environment: " + "; ".join(notes)])
    test: dict[str, Any] = {"name": check.title or check.name, "status": status,
                            "message": text[:MESSAGE_LIMIT] or None}
    if check.task:
        test["task_id"] = check.task
    return test


def build(course: Course, exercises: Sequence[Exercise], *,
          time_limit: float | None = None) -> Bundle:
    """``bin/run.sh``, a Dockerfile, the grader package and the hidden suites."""
    bundle = grader_bundle(course, exercises)
    script = RUN_SH
    if time_limit:
        script = script.replace("exec ", f"AUTOGRADER_TIME_LIMIT={time_limit:g} exec ", 1)
    bundle.add("bin/run.sh", script, executable=True)
    bundle.add("Dockerfile", DOCKERFILE)
    return bundle


def main(argv: Sequence[str] | None = None) -> int:
    """Grade SOLUTION_DIR's module for SLUG into OUTPUT_DIR/results.json."""
    parser = argparse.ArgumentParser(prog="python -m grader.platforms.exercism")
    parser.add_argument("slug")
    parser.add_argument("solution", type=Path)
    parser.add_argument("output", type=Path)
    parser.add_argument("--course", type=Path, default=Path(COURSE_FOLDER))
    args = parser.parse_args(argv)
    results_file = args.output / "results.json"
    try:
        exercise = Course(args.course.resolve()).resolve(args.slug)
        time_limit = env_time_limit()
    except (GraderError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        print(f"test runner set-up problem: {message}", file=sys.stderr)
        write_json_atomically(results_file, {"version": 3, "status": "error",
                                             "message": message, "tests": []})
        return 0  # the runner ran; the results say what went wrong
    run = grade_submission([exercise], args.solution, time_limit=time_limit)
    write_json_atomically(results_file, Exercism().render(run))
    for note in protection_notes(run):
        print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
