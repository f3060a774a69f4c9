"""Gradescope's code autograder: the upload zip, and the grading run inside its container.

Format (Gradescope's "Autograder Specifications", gradescope/autograder_samples
``docs/specs.md``): the zip has ``setup.sh`` and ``run_autograder`` at its root and is
unpacked into ``/autograder/source``; the student's files are in
``/autograder/submission``; ``run_autograder`` must leave
``/autograder/results/results.json`` with top-level ``tests``, ``execution_time``
(seconds), ``output``/``output_format``, ``visibility`` and ``stdout_visibility``, and
per test ``name``, ``number``, ``score``, ``max_score``, ``status`` (``passed`` or
``failed``), ``output``/``output_format``, ``tags``, ``visibility`` and
``extra_data``.

Decisions:

* **Partial results.** ``results.json`` is written before the first exercise (every
  check "not graded yet") and again after each one, atomically, so Gradescope's
  overall time-out (10 minutes by default) still leaves what was graded.
* **Visibility per exercise**, as the instructor chose it (``--visibility
  03=after_due_date``). Gradescope hides the total score from students when any test
  is not visible, so the top-level output gives the total *of the visible checks* and
  says how many checks (and points) are held back, never their results.
* **Markdown, safely.** Messages render as Markdown (``output_format: md``) so code
  reads as code; :mod:`grader.platforms.markdown` escapes what a submission could
  turn into markup in anyone's browser.
* **The sandbox's absence is shown to students and instructors** (top-level output
  and stdout): setup.sh installs bubblewrap, but a container may still refuse user
  namespaces, and then grading runs with the lighter confinement and says so.
* ``run_autograder`` honours ``AUTOGRADER_ROOT`` (instead of ``/autograder``),
  ``AUTOGRADER_PYTHON`` and ``AUTOGRADER_TIME_LIMIT``, so the same scripts run end to
  end outside Gradescope (``tests/test_platforms_gradescope.py``).
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.course.course import Course, Exercise
from grader.errors import GraderError
from grader.platforms.base import Run, import_failed, one_line, protection_notes
from grader.platforms.bundle import COURSE_FOLDER, Bundle, grader_bundle
from grader.platforms.files import PlatformConfig, env_time_limit, write_json_atomically
from grader.platforms.markdown import check_markdown, md_escape
from grader.platforms.session import grade_submission
from grader.supervision.results import CheckResult, GradeResult

__all__ = ["VISIBILITIES", "Gradescope", "build", "main", "parse_visibility"]

VISIBILITIES = ("visible", "after_due_date", "after_published", "hidden")
CONFIG_FILE = "autograder.json"

SETUP_SH = """\
#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# Written by `grade autograder gradescope`.
set -euo pipefail
SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"

export DEBIAN_FRONTEND=noninteractive
apt-get update
# The sandbox every grading runs in (see docs/security.md).
apt-get install -y bubblewrap

# The grader needs Python 3.11 or newer: use one the image has, else install 3.11.
PYTHON=""
for version in 3.14 3.13 3.12 3.11; do
    if command -v "python$version" >/dev/null 2>&1; then PYTHON="python$version"; break; fi
done
if [ -z "$PYTHON" ]; then
    apt-get install -y python3.11 python3.11-venv
    PYTHON=python3.11
fi
if ! "$PYTHON" -m venv "$ROOT/venv"; then
    apt-get install -y "$PYTHON-venv"
    "$PYTHON" -m venv "$ROOT/venv"
fi
"$ROOT/venv/bin/pip" install --no-cache-dir "$SOURCE/package"
"""

RUN_AUTOGRADER = """\
#!/usr/bin/env bash
# Gradescope runs this for every submission; it writes results/results.json.
# Written by `grade autograder gradescope`. AUTOGRADER_ROOT, AUTOGRADER_PYTHON and
# AUTOGRADER_TIME_LIMIT override the defaults (for trying it outside Gradescope).
ROOT="${AUTOGRADER_ROOT:-/autograder}"
PYTHON="${AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}"
cd "$ROOT" || exit 1
exec "$PYTHON" -m grader.platforms.gradescope --root "$ROOT"
"""


@dataclass(frozen=True)
class Gradescope:
    """Gradescope's ``results.json``; ``visibility`` by exercise name (default visible)."""

    visibility: Mapping[str, str] = field(default_factory=dict)
    name: str = "gradescope"

    def render(self, run: Run) -> dict[str, Any]:
        tests = [self._test(result, index, check) for result, index, check in run.checks]
        return {
            "execution_time": round(run.elapsed, 2),
            "output": self._summary(run),
            "output_format": "md",
            "visibility": "visible",
            "stdout_visibility": "hidden",
            "tests": tests,
            "extra_data": {"finished": run.finished, "notes": protection_notes(run),
                           "remarks": list(run.remarks)},
        }

    def _visibility(self, result: GradeResult) -> str:
        return self.visibility.get(result.exercise, "visible")

    def _test(self, result: GradeResult, index: int, check: CheckResult) -> dict[str, Any]:
        tags = [_short(result.exercise)]
        if check.feedback is not None and check.feedback.misconception and not check.passed:
            tags.append(one_line(check.feedback.misconception))
        return {
            "name": check.title or check.name,
            "number": f"{_number(result.exercise)}.{index}",
            "score": check.points,
            "max_score": check.max_points,
            "status": "passed" if check.passed else "failed",
            "output": check_markdown(check),
            "output_format": "md",
            "tags": tags,
            "visibility": self._visibility(result),
            "extra_data": {
                "exercise": result.exercise, "check": check.name, "task": check.task,
                "verdict": check.status, "simulated_seconds": check.sim_elapsed,
                "timeline": check.timeline,
            },
        }

    def _summary(self, run: Run) -> str:
        lines: list[str] = []
        if not run.finished:
            lines.append("**Grading in progress.** Exercises not reached yet show as not "
                         "graded; if this stays, the grading ran out of time.")
        held: dict[str, list[GradeResult]] = {}
        for result in run.results:
            title = f"{_short(result.exercise)}: {md_escape(result.title)}"
            visibility = self._visibility(result)
            if visibility != "visible":
                held.setdefault(visibility, []).append(result)
                lines.append(f"- {title}: results shown {_when(visibility)}")
                continue
            where = f" (graded {md_escape(result.graded_file)})" if result.graded_file else ""
            state = " (your module could not be imported)" if import_failed(result) else ""
            lines.append(f"- {title}: **{result.score}/{result.max_score}**{state}{where}")
        if held:
            shown = [r for r in run.results if self._visibility(r) == "visible"]
            lines.append("")
            lines.append(f"Score on the checks you can see now: "
                         f"**{sum(r.score for r in shown)}/{sum(r.max_score for r in shown)}**.")
            for visibility, results in held.items():
                count = sum(len(r.checks) for r in results)
                points = sum(r.max_score for r in results)
                lines.append(f"{count} more checks ({points} points) are shown "
                             f"{_when(visibility)}.")
        notes = protection_notes(run)
        if notes:
            lines.append("")
            lines.append("**Grading environment:**")
            lines.extend(f"- {md_escape(note)}" for note in notes)
        if run.remarks:
            lines.append("")
            lines.append("**About your submission:**")
            lines.extend(f"- {md_escape(remark)}" for remark in run.remarks)
        return "\n".join(lines)


def _when(visibility: str) -> str:
    return {"after_due_date": "after the due date",
            "after_published": "when grades are published",
            "hidden": "to instructors only"}.get(visibility, "now")


def _short(exercise: str) -> str:
    return f"exercise-{_number(exercise)}"


def _number(exercise: str) -> str:
    match = re.match(r"exercise-(\d+)", exercise)
    return f"{int(match[1]):02d}" if match else exercise


# -- Options and files ------------------------------------------------------------------


def parse_visibility(text: str, exercises: Sequence[Exercise], course: Course) -> dict[str, str]:
    """``03=visible,05=after_due_date`` as {exercise name: visibility}."""
    chosen = {e.name for e in exercises}
    visibility: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or value.strip() not in VISIBILITIES:
            raise GraderError(f"--visibility: '{item}' is not EXERCISE=VALUE with VALUE one "
                              f"of {', '.join(VISIBILITIES)} (e.g. 03=after_due_date).")
        exercise = course.resolve(name.strip())
        if exercise.name not in chosen:
            raise GraderError(f"--visibility names {exercise.short_name}, which is not in "
                              "--exercises. Add it there or drop it here.")
        visibility[exercise.name] = value.strip()
    return visibility


def build(course: Course, exercises: Sequence[Exercise], *,
          visibility: Mapping[str, str] | None = None,
          time_limit: float | None = None) -> Bundle:
    """The autograder zip's contents: scripts, config, grader package, hidden suites."""
    bundle = grader_bundle(course, exercises)
    bundle.add("setup.sh", SETUP_SH, executable=True)
    bundle.add("run_autograder", RUN_AUTOGRADER, executable=True)
    config = PlatformConfig(exercises=tuple(e.name for e in exercises),
                            visibility=dict(visibility or {}), time_limit=time_limit)
    bundle.add(CONFIG_FILE, config.to_json())
    return bundle


# -- Inside Gradescope ------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Grade ``ROOT/submission`` into ``ROOT/results/results.json``."""
    parser = argparse.ArgumentParser(prog="python -m grader.platforms.gradescope")
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get("AUTOGRADER_ROOT", "/autograder")))
    args = parser.parse_args(argv)
    root: Path = args.root
    results_file = root / "results" / "results.json"
    source = root / "source"
    try:
        config = PlatformConfig.load(source / CONFIG_FILE)
        course = Course(source / COURSE_FOLDER)
        exercises = [course.resolve(name) for name in config.exercises]
        time_limit = env_time_limit() or config.time_limit
    except (GraderError, OSError, ValueError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        write_json_atomically(results_file, _broken(message))
        print(f"autograder set-up problem: {message}", file=sys.stderr)
        return 1
    platform = Gradescope(visibility=config.visibility)

    def write(run: Run) -> None:
        write_json_atomically(results_file, platform.render(run))

    run = grade_submission(exercises, root / "submission", time_limit=time_limit,
                           on_progress=write)
    for note in protection_notes(run):
        print(note)
    print(f"graded {len(run.results)} exercises: {run.score}/{run.max_score} "
          f"in {run.elapsed:.1f} s")
    return 0


def _broken(message: str) -> dict[str, Any]:
    output = (f"The autograder is not set up correctly: {md_escape(message)}. Please tell "
              "your instructor; your submission is kept and can be graded again once this "
              "is fixed.")
    return {"score": 0, "output": output, "output_format": "md", "visibility": "visible",
            "tests": []}


if __name__ == "__main__":
    sys.exit(main())
