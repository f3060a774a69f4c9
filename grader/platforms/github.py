"""GitHub Classroom: a workflow for the classroom autograding actions, and its runner.

Format (classroom-resources/autograding-grading-reporter ``src/``, and the
``result`` output of autograding-command-grader ``src/main.js``): each grading step
sets an output ``result``, the base64 of
``{"version": 1, "status": "pass"|"fail"|"error", "max_score": N, "tests": [{"name",
"status", "score", "message", "test_code", "filename", "line_no", "duration"}]}``.
The reporter step reads it from an environment variable named after the step id
(``EX03_RESULTS`` for step ``ex03``), prints each test, and notifies Classroom of
``Points <sum of every test's score>/<sum of every runner's max_score>``, which is
the grade Classroom records. It fails the job when any runner's status is ``fail`` or
``error``.

Decisions:

* **One step per exercise, one test per check with its points.** The step is our
  command (``python -m grader.platforms.github 03``), not the command grader, which
  could only give all or nothing. Classroom's total is then exactly the course's
  points. (The reporter's console table computes a runner's score as passed tests /
  tests x max_score, which equals the points only when a runner's checks are worth the
  same; the recorded grade does not use that table.)
* ``test_code`` is the command that reproduces the verdict locally (``grade
  exercise-03``), never the hidden test's source.
* Step ids are ``exNN``: letters and digits only, as the reporter's ``runners`` input
  expects.
* The reporter prints a failed test's name but not its message, so each step also
  writes the exercise's teaching messages (Markdown, escaped) to the run's summary
  page (``$GITHUB_STEP_SUMMARY``) and its log. Notes about the sandbox become
  workflow ``::warning::`` annotations on that page too.
* **Hidden suites are not hidden here.** The workflow runs in the student's own
  repository, which holds the suites and the workflow itself: a student can read and
  change both. docs/platforms.md says so and what to use when that matters.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from grader.course.course import Course, Exercise
from grader.errors import GraderError
from grader.platforms.base import Run, import_failed, protection_notes, teaching_text
from grader.platforms.bundle import COURSE_FOLDER, PACKAGE_FOLDER, Bundle, grader_bundle
from grader.platforms.markdown import check_markdown, md_escape
from grader.platforms.session import grade_submission
from grader.supervision.results import CheckResult, GradeResult

__all__ = ["GitHubClassroom", "build", "decode", "encode", "main", "step_id", "step_summary",
           "workflow"]

WORKFLOW = ".github/workflows/classroom.yml"
BUNDLE = ".autograder"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
MESSAGE_LIMIT = 4_000


@dataclass(frozen=True)
class GitHubClassroom:
    """The autograding actions' ``result`` document for one runner step."""

    name: str = "github"

    def render(self, run: Run) -> dict[str, Any]:
        tests = [_test(result, index, check) for result, index, check in run.checks]
        if not tests:
            # The reporter divides by the number of tests: never hand it none.
            tests = [_problem_test("No checks were graded.")]
        if run.results and all(import_failed(r) for r in run.results):
            status = "error"
        elif run.results and all(r.all_passed for r in run.results):
            status = "pass"
        else:
            status = "fail"
        return {"version": 1, "status": status, "max_score": run.max_score, "tests": tests}


def _test(result: GradeResult, index: int, check: CheckResult) -> dict[str, Any]:
    number = _number(result.exercise)
    name = f"{number}.{index} {check.title or check.name}"
    status = {"passed": "pass", "error": "error"}.get(check.status, "fail")
    message = teaching_text(check)
    if status == "error":
        # The reporter prints an errored test's message without its name.
        message = f"{name}: {message}" if message else name
    return {
        "name": name,
        "status": status,
        "score": check.points,
        "message": message[:MESSAGE_LIMIT],
        "test_code": f"grade exercise-{number}",
        "filename": _repository_path(result.graded_file),
        "line_no": 0,
        "duration": round(check.duration * 1000),
    }


def _problem_test(message: str) -> dict[str, Any]:
    return {"name": "Autograder set-up", "status": "error", "score": 0,
            "message": message[:MESSAGE_LIMIT], "test_code": "", "filename": "",
            "line_no": 0, "duration": 0}


def _number(exercise: str) -> str:
    match = re.match(r"exercise-(\d+)", exercise)
    return f"{int(match[1]):02d}" if match else exercise


def _repository_path(origin: str) -> str:
    """``checkout/exercises/.../fetcher.py`` as a path inside the repository."""
    parts = PurePosixPath(origin).parts
    return str(PurePosixPath(*parts[1:])) if len(parts) > 1 else origin


def encode(document: dict[str, Any]) -> str:
    """The ``result`` output: base64 of compact UTF-8 JSON, on one line."""
    text = json.dumps(document, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def decode(encoded: str) -> dict[str, Any]:
    """What the reporter does with a ``result``: base64, then UTF-8 JSON."""
    return json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"))


def step_id(exercise: Exercise) -> str:
    return f"ex{exercise.number:02d}"


# -- The workflow -----------------------------------------------------------------------


def build(course: Course, exercises: Sequence[Exercise], *,
          time_limit: float | None = None) -> Bundle:
    """The workflow and ``.autograder/`` (grader package, hidden suites) for a template
    repository."""
    bundle = grader_bundle(course, exercises, prefix=BUNDLE)
    bundle.add(WORKFLOW, workflow(exercises, time_limit=time_limit))
    return bundle


def workflow(exercises: Sequence[Exercise], *, time_limit: float | None = None) -> str:
    limit = f" --time-limit {time_limit:g}" if time_limit else ""
    lines = [
        "# Written by `grade autograder github`: grades the course's exercises with the",
        "# same hidden suites, sandbox and verdicts as `grade`. See docs/platforms.md.",
        "name: Autograding Tests",
        '"on":',
        "  - push",
        "  - repository_dispatch",
        "  - workflow_dispatch",
        "permissions:",
        "  checks: write",
        "  actions: read",
        "  contents: read",
        "jobs:",
        "  run-autograding-tests:",
        "    runs-on: ubuntu-latest",
        "    timeout-minutes: 15",
        "    if: github.actor != 'github-classroom[bot]'",
        "    steps:",
        "      - name: Checkout code",
        "        uses: actions/checkout@v4",
        "      - name: Set up Python",
        "        uses: actions/setup-python@v5",
        "        with:",
        '          python-version: "3.12"',
        "      - name: Install the grader and its sandbox",
        "        run: |",
        "          sudo apt-get update",
        "          sudo apt-get install -y bubblewrap",
        "          # Ubuntu 24.04 runners refuse the user namespaces bubblewrap needs.",
        "          sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 || true",
        f"          python -m pip install ./{BUNDLE}/{PACKAGE_FOLDER}",
    ]
    for exercise in exercises:
        lines += [
            f"      - name: {json.dumps(f'{exercise.short_name}: {exercise.meta.title}')}",
            f"        id: {step_id(exercise)}",
            "        timeout-minutes: 5",
            f"        run: python -m grader.platforms.github {exercise.number:02d}"
            f" --course {BUNDLE}/{COURSE_FOLDER} --submission .{limit}"
            ' --github-output "$GITHUB_OUTPUT"',
        ]
    lines += [
        "      - name: Autograding Reporter",
        f"        uses: {REPORTER}",
        "        env:",
        *(f'          {step_id(e).upper()}_RESULTS: "${{{{steps.{step_id(e)}.outputs.result}}}}"'
          for e in exercises),
        "        with:",
        f"          runners: {','.join(step_id(e) for e in exercises)}",
    ]
    return "\n".join(lines) + "\n"


# -- Inside the workflow ----------------------------------------------------------------


def _annotation(text: str) -> str:
    """A workflow ``::warning::`` command; its data escaped as the runner requires."""
    data = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return f"::warning title=Grading environment::{data}"


def main(argv: Sequence[str] | None = None) -> int:
    """Grade one exercise and print (or append to ``--github-output``) its ``result``."""
    parser = argparse.ArgumentParser(prog="python -m grader.platforms.github")
    parser.add_argument("exercise")
    parser.add_argument("--course", type=Path, default=Path(BUNDLE) / COURSE_FOLDER)
    parser.add_argument("--submission", type=Path, default=Path("."))
    parser.add_argument("--time-limit", type=float, default=None)
    parser.add_argument("--github-output", type=Path, default=None,
                        help="append result=<base64> to this file ($GITHUB_OUTPUT)")
    parser.add_argument("--json", action="store_true", help="print the decoded document")
    args = parser.parse_args(argv)
    platform = GitHubClassroom()
    try:
        if not (args.course / "exercises").is_dir():
            raise GraderError(f"{args.course} holds no exercises/ folder: point --course at "
                              "the .autograder/course folder `grade autograder github` wrote.")
        exercise = Course(args.course.resolve()).resolve(args.exercise)
        run = grade_submission([exercise], args.submission, time_limit=args.time_limit)
    except GraderError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        document = {"version": 1, "status": "error", "max_score": 0,
                    "tests": [_problem_test(exc.message)]}
        _emit(document, args.github_output, args.json)
        return 2
    document = platform.render(run)
    _emit(document, args.github_output, args.json)
    for note in protection_notes(run):
        print(_annotation(note) if args.github_output else note,
              file=sys.stdout if args.github_output else sys.stderr)
    for remark in run.remarks:
        if f"{BUNDLE}/" not in remark:  # the grader's own copy of the suites, not the student's
            print(f"about the submission: {remark}", file=sys.stderr)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if args.github_output is not None and summary:
        with Path(summary).open("a", encoding="utf-8") as handle:
            handle.write(step_summary(run))
    return 0


def step_summary(run: Run) -> str:
    """The exercise's checks and teaching messages, for the run's summary page."""
    lines: list[str] = []
    for result in run.results:
        lines.append(f"### {md_escape(result.title)}: {result.score}/{result.max_score}\n")
        for index, check in enumerate(result.checks, start=1):
            mark = "passed" if check.passed else check.status
            lines.append(f"**{_number(result.exercise)}.{index} "
                         f"{md_escape(check.title or check.name)}**: {mark}, "
                         f"{check.points}/{check.max_points}\n")
            if not check.passed and (text := check_markdown(check)):
                lines.append(text + "\n")
    for note in protection_notes(run):
        lines.append(f"> {md_escape(note)}\n")
    return "\n".join(lines) + "\n"


def _emit(document: dict[str, Any], github_output: Path | None, as_json: bool) -> None:
    encoded = encode(document)
    if github_output is not None:
        with github_output.open("a", encoding="utf-8") as handle:
            handle.write(f"result={encoded}\n")
        tests = document["tests"]
        score = sum(t["score"] for t in tests)
        print(f"{score}/{document['max_score']} points, status {document['status']}")
        for test in tests:
            print(f"  {test['status']:5} {test['score']:>3}  {test['name']}")
    elif as_json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print(encoded)


if __name__ == "__main__":
    sys.exit(main())
