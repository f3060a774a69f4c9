"""PrairieLearn's external grader: the entry point in the grading container, and the
course files that set it up.

Format (PrairieLearn ``docs/externalGrading.md``): the job finds the student's files in
``/grade/student``, the question's ``tests/`` folder in ``/grade/tests``, the
question's data in ``/grade/data/data.json``, and must write
``/grade/results/results.json`` (creating ``/grade/results``, which does not exist):
``score`` in [0, 1]; ``gradable: false`` with ``format_errors`` when the submission
could not be graded at all (no attempt is used up); ``message``, ``output`` and
``tests`` with ``name``, ``description``, ``points``, ``max_points``, ``message``,
``output``, rendered by ``<pl-external-grader-results>``; the whole file at most 1 MB.

Decisions:

* Each question is one exercise. Its ``tests/`` folder holds the exercise's hidden
  suite in the course layout (``tests/course/exercises/<exercise>/.meta/``), which
  PrairieLearn never shows to students; the entry point grades whatever exercise it
  finds there, so one image serves every question.
* A module that cannot be imported at all (:func:`~grader.platforms.base.import_failed`)
  or is missing is **not gradable**: the student sees why and keeps the attempt.
* The student's files are read from ``/grade/student`` with the same intake as
  ``grade bulk``; if it holds none, from ``data.json``'s ``submitted_answers._files``
  (base64), where PrairieLearn's file elements also put them.
* The document is kept under 1 MB: messages and outputs are trimmed first, then
  tests' outputs dropped, never the scores.
* ``PRAIRIELEARN_GRADE_ROOT`` stands for ``/grade`` (tests run the entry point end to
  end in a temporary folder), ``AUTOGRADER_TIME_LIMIT`` shortens each check's limit.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import os
import re
import sys
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.course.course import Course, Exercise
from grader.errors import GraderError
from grader.platforms.base import Run, import_failed, protection_notes, teaching_text
from grader.platforms.bundle import COURSE_FOLDER, PACKAGE_FOLDER, Bundle, grader_bundle
from grader.platforms.files import env_time_limit, write_json_atomically
from grader.platforms.session import grade_submission
from grader.supervision.results import CheckResult, GradeResult

__all__ = ["MAX_BYTES", "PrairieLearn", "build", "fit", "main"]

MAX_BYTES = 1_000_000
ROOT_ENV = "PRAIRIELEARN_GRADE_ROOT"
SERVER_FILES = "async_grader"
IMAGE = "YOUR-DOCKER-HUB-NAME/async-grader"
DEFAULT_TIMEOUT = 60  # seconds for the whole job; PrairieLearn's default is 30, its maximum 600

RUN_SH = """\
#!/bin/sh
# PrairieLearn runs this in the grading container (externalGradingOptions.entrypoint).
# Written by `grade autograder prairielearn`.
exec "${GRADER_PYTHON:-python3}" -m grader.platforms.prairielearn "$@"
"""

DOCKERFILE = """\
# The grading image for the course's async-grader questions.
# Written by `grade autograder prairielearn`. Build and push it, then name it in each
# question's info.json (externalGradingOptions.image):
#   docker build -t {image} . && docker push {image}
FROM python:3.12-slim
RUN apt-get update \\
    && apt-get install -y --no-install-recommends bubblewrap \\
    && rm -rf /var/lib/apt/lists/*
COPY {package} /opt/async-grader
RUN pip install --no-cache-dir /opt/async-grader
"""


@dataclass(frozen=True)
class PrairieLearn:
    """PrairieLearn's external grading ``results.json``."""

    name: str = "prairielearn"

    def render(self, run: Run) -> dict[str, Any]:
        notes = protection_notes(run)
        unusable = [r for r in run.results if import_failed(r)]
        if run.results and len(unusable) == len(run.results):
            errors = [_why_not_gradable(r) for r in unusable]
            return {"gradable": False, "format_errors": errors,
                    "message": "\n".join([*errors, *notes]), "output": "\n".join(run.remarks)}
        tests = [_test(result, check) for result, _, check in run.checks]
        score = run.score / run.max_score if run.max_score else 0.0
        message = [f"{r.title}: {r.score}/{r.max_score}" for r in run.results]
        return {
            "gradable": True,
            "score": round(min(1.0, max(0.0, score)), 6),
            "message": "\n".join([*message, *notes]),
            "output": "\n".join(run.remarks),
            "tests": tests,
        }


def _why_not_gradable(result: GradeResult) -> str:
    first = result.checks[0]
    return teaching_text(first) or f"{result.title}: your module could not be graded."


def _test(result: GradeResult, check: CheckResult) -> dict[str, Any]:
    status = {"passed": "passed", "failed": "failed", "timed out": "timed out"}.get(
        check.status, "error")
    return {
        "name": check.title or check.name,
        "description": f"{result.title}, task {check.task} ({status})",
        "points": check.points,
        "max_points": check.max_points,
        "message": teaching_text(check, traceback=False),
        "output": check.traceback,
    }


def fit(document: dict[str, Any], limit: int = MAX_BYTES) -> dict[str, Any]:
    """``document`` trimmed until its JSON is at most ``limit`` bytes (scores kept)."""
    def size(doc: dict[str, Any]) -> int:
        return len(json.dumps(doc, ensure_ascii=False, allow_nan=False).encode("utf-8"))

    if size(document) <= limit:
        return document
    trimmed = json.loads(json.dumps(document))
    for cap in (4_000, 1_000, 200):
        for test in trimmed.get("tests", []):
            for key in ("message", "output"):
                if len(test.get(key, "")) > cap:
                    test[key] = test[key][:cap] + " (trimmed)"
        for key in ("message", "output"):
            if len(trimmed.get(key, "")) > cap * 4:
                trimmed[key] = trimmed[key][: cap * 4] + " (trimmed)"
        if size(trimmed) <= limit:
            return trimmed
    for test in trimmed.get("tests", []):
        test["output"] = ""
        test["message"] = test.get("message", "")[:80]
    return trimmed


# -- Course files -----------------------------------------------------------------------


def build(course: Course, exercises: Sequence[Exercise], *,
          time_limit: float | None = None) -> Bundle:
    """``serverFilesCourse/``, one question per exercise, and the grading image."""
    package = grader_bundle(course, exercises, prefix="image")
    bundle = Bundle()
    for name, content in package.files.items():
        if name.startswith(f"image/{PACKAGE_FOLDER}/"):
            bundle.add(name, content)
    bundle.add("image/Dockerfile", DOCKERFILE.format(image=IMAGE, package=PACKAGE_FOLDER))
    bundle.add(f"serverFilesCourse/{SERVER_FILES}/run.sh", RUN_SH, executable=True)
    for exercise in exercises:
        question = f"questions/async-grader/{exercise.name}"
        prefix = f"image/{COURSE_FOLDER}/exercises/{exercise.name}/"
        for name, content in package.files.items():
            if name.startswith(prefix):
                bundle.add(f"{question}/tests/{COURSE_FOLDER}/exercises/{exercise.name}/"
                           f"{name[len(prefix):]}", content)
        bundle.add(f"{question}/info.json", _info(exercise, time_limit))
        bundle.add(f"{question}/question.html", _question(exercise))
        bundle.add(f"{question}/starter/{exercise.meta.module}", exercise.stub_file.read_bytes()
                   if exercise.stub_file.is_file() else b"")
    return bundle


def _info(exercise: Exercise, time_limit: float | None) -> str:
    entrypoint = f"/grade/serverFilesCourse/{SERVER_FILES}/run.sh"
    options: dict[str, Any] = {
        "enabled": True,
        "image": IMAGE,
        "serverFilesCourse": [f"{SERVER_FILES}/"],
        "entrypoint": entrypoint,
        "timeout": DEFAULT_TIMEOUT,
    }
    if time_limit:
        options["environment"] = {"AUTOGRADER_TIME_LIMIT": f"{time_limit:g}"}
    info = {
        # Derived from the exercise's name, so building again keeps the question's identity.
        "uuid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"async-grader:{exercise.name}")),
        "title": f"{exercise.short_name}: {exercise.meta.title}",
        "topic": "Async/await",
        "tags": ["async-grader", exercise.short_name],
        "type": "v3",
        "singleVariant": True,
        "gradingMethod": "External",
        "externalGradingOptions": options,
    }
    return json.dumps(info, indent=2) + "\n"


def _question(exercise: Exercise) -> str:
    module = exercise.meta.module
    return (
        "<pl-question-panel>\n"
        f"  <p>{_html(exercise.meta.title)}: write <code>{_html(module)}</code> as the "
        f"course's {_html(exercise.short_name)} README describes. Each check tells you "
        "what happened, why, and what to try next.</p>\n"
        f'  <pl-file-editor file-name="{_html(module)}" ace-mode="ace/mode/python" '
        f'source-file-name="starter/{_html(module)}"></pl-file-editor>\n'
        "</pl-question-panel>\n\n"
        "<pl-submission-panel>\n"
        "  <pl-external-grader-results></pl-external-grader-results>\n"
        "  <pl-file-preview></pl-file-preview>\n"
        "</pl-submission-panel>\n"
    )


def _html(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


# -- Inside the grading container -------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Grade ``/grade/student`` against the exercise in ``/grade/tests``."""
    parser = argparse.ArgumentParser(prog="python -m grader.platforms.prairielearn")
    parser.add_argument("--root", type=Path,
                        default=Path(os.environ.get(ROOT_ENV, "/grade")))
    args = parser.parse_args(argv)
    root: Path = args.root
    results_file = root / "results" / "results.json"
    platform = PrairieLearn()
    try:
        course = Course(root / "tests" / COURSE_FOLDER)
        if not (course.root / "exercises").is_dir() or not course.exercises:
            raise GraderError(f"{course.root} holds no exercise: copy the question's tests/ "
                              "folder from `grade autograder prairielearn` again.")
        exercises = list(course.exercises)
        time_limit = env_time_limit()
    except (GraderError, OSError) as exc:
        message = getattr(exc, "message", None) or str(exc)
        print(f"grader set-up problem: {message}", file=sys.stderr)
        write_json_atomically(results_file, {"gradable": False, "format_errors": [
            f"The grader is not set up correctly ({message}). Tell your instructor."]})
        return 1
    with tempfile.TemporaryDirectory(prefix="pl-student-") as spare:
        submission = _submission_folder(root, exercises, Path(spare))

        def write(run: Run) -> None:
            write_json_atomically(results_file, fit(platform.render(run)))

        run = grade_submission(exercises, submission, time_limit=time_limit,
                               on_progress=write)
    for note in protection_notes(run):
        print(note)
    print(f"graded: {run.score}/{run.max_score} in {run.elapsed:.1f} s")
    return 0


def _submission_folder(root: Path, exercises: Sequence[Exercise], spare: Path) -> Path:
    """``/grade/student``, or the files of ``data.json`` written into ``spare``."""
    student = root / "student"
    modules = {e.meta.module for e in exercises}
    if student.is_dir() and any(p.name in modules for p in student.rglob("*.py")):
        return student
    files = _data_files(root / "data" / "data.json")
    if not files:
        return student if student.is_dir() else spare
    target = spare / "student"
    target.mkdir()
    for name, content in files.items():
        (target / name).write_bytes(content)
    return target


def _data_files(path: Path) -> dict[str, bytes]:
    """``submitted_answers._files`` of data.json: plain names, base64 contents."""
    try:
        data = json.loads(path.read_text())
        entries = data["submitted_answers"]["_files"]
    except (OSError, ValueError, KeyError, TypeError):
        return {}
    files: dict[str, bytes] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        name = PurePosixPath(str(entry.get("name", ""))).name
        if not re.fullmatch(r"[A-Za-z0-9_.-]+\.py", name):
            continue
        try:
            files[name] = base64.b64decode(str(entry.get("contents", "")), validate=True)
        except (binascii.Error, ValueError):
            continue
    return files


if __name__ == "__main__":
    sys.exit(main())
