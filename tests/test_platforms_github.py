"""GitHub Classroom: the workflow, and the `result` output checked by the reporter's rules.

The rules come from classroom-resources/autograding-grading-reporter (src/main.js,
src/notify-classroom.js, src/helpers/test-helpers.js) and the output the command
grader sets (autograding-command-grader src/main.js): the reporter reads the env var
`<STEP ID upper-cased>_RESULTS`, base64-decodes it to UTF-8 JSON, and tells Classroom
`Points <sum of every test's score>/<sum of max_score>`.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.course.course import Course
from grader.platforms import github
from helpers import FIXTURES, REPO

WRONG_03 = FIXTURES / "exercises/exercise-03-concurrent-fetch/wrong/sequential_awaits.py"
OUTCOMES = FIXTURES / "outcomes"
RUNNERS_INPUT = re.compile(r"^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$")  # the reporter's own check
TEST_KEYS = {"name", "status", "score", "message", "test_code", "filename", "line_no",
             "duration"}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A template repository's checkout with the files `grade autograder github` wrote."""
    course = Course(REPO)
    folder = tmp_path_factory.mktemp("template")
    github.build(course, [course.resolve("03"), course.resolve("05")]).write_folder(folder)
    return folder


def _student_repo(tmp_path: Path, template: Path, module: Path) -> Path:
    repo = tmp_path / "student-repo"
    shutil.copytree(template, repo)
    target = repo / "exercises" / "exercise-03-concurrent-fetch" / "fetcher.py"
    target.parent.mkdir(parents=True)
    shutil.copy(module, target)
    return repo


def _grade_step(repo: Path, exercise: str, *extra: str) -> tuple[str, str, Path]:
    """Run the workflow's grading step as the runner would; (result output, log, summary)."""
    outputs, summary = repo / "github_output", repo / "step_summary.md"
    env = {**os.environ, "GITHUB_STEP_SUMMARY": str(summary)}
    done = subprocess.run(
        [sys.executable, "-m", "grader.platforms.github", exercise, "--course",
         ".autograder/course", "--submission", ".", *extra, "--github-output", str(outputs)],
        cwd=repo, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    lines = outputs.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("result=")
    return lines[0].removeprefix("result="), done.stdout, summary


def _as_the_reporter_reads(step_id: str, encoded: str) -> dict[str, Any]:
    """Decode and check `result` the way the reporter and Classroom use it."""
    env_name = f"{step_id.strip().upper()}_RESULTS"
    assert re.fullmatch(r"[A-Z0-9]+_RESULTS", env_name)
    results = json.loads(base64.b64decode(encoded, validate=True).decode("utf-8"))
    assert results["version"] == 1
    assert results["status"] in ("pass", "fail", "error")
    assert isinstance(results["max_score"], int)
    assert isinstance(results["tests"], list) and results["tests"]  # it divides by len
    for test in results["tests"]:
        assert set(test) == TEST_KEYS
        assert test["status"] in ("pass", "fail", "error")
        assert isinstance(test["score"], int) and test["score"] >= 0
        assert isinstance(test["line_no"], int) and isinstance(test["duration"], int)
        assert all(isinstance(test[k], str) for k in ("name", "message", "test_code",
                                                      "filename"))
    return results


def _classroom_points(results: dict[str, Any]) -> tuple[int, int]:
    """notify-classroom.js: total of tests' scores over max_score (skipped when 0)."""
    if not results["max_score"]:
        return 0, 0
    return sum(t["score"] for t in results["tests"]), results["max_score"]


def test_the_workflow_runs_one_step_per_exercise_and_reports_them_all(template: Path):
    text = (template / ".github" / "workflows" / "classroom.yml").read_text()
    yaml = pytest.importorskip("yaml")
    workflow = yaml.safe_load(text)
    assert workflow["name"] == "Autograding Tests"
    assert set(workflow["on"]) == {"push", "repository_dispatch", "workflow_dispatch"}
    job = workflow["jobs"]["run-autograding-tests"]
    steps = {step.get("id"): step for step in job["steps"]}
    assert "sudo apt-get install -y bubblewrap" in job["steps"][2]["run"]
    for step_id in ("ex03", "ex05"):
        assert f"python -m grader.platforms.github {step_id[2:]}" in steps[step_id]["run"]
        assert '--github-output "$GITHUB_OUTPUT"' in steps[step_id]["run"]
    reporter = job["steps"][-1]
    assert reporter["uses"] == "classroom-resources/autograding-grading-reporter@v1"
    assert RUNNERS_INPUT.match(reporter["with"]["runners"])
    assert reporter["with"]["runners"] == "ex03,ex05"
    assert reporter["env"] == {"EX03_RESULTS": "${{steps.ex03.outputs.result}}",
                               "EX05_RESULTS": "${{steps.ex05.outputs.result}}"}
    assert (template / ".autograder" / "package" / "pyproject.toml").is_file()
    assert not list(template.rglob("solutions"))


def test_a_partly_wrong_exercise_03_reports_each_check_with_its_points(
        template: Path, tmp_path: Path):
    repo = _student_repo(tmp_path, template, WRONG_03)
    encoded, log, summary = _grade_step(repo, "03")
    results = _as_the_reporter_reads("ex03", encoded)
    assert results["status"] == "fail"
    assert _classroom_points(results) == (7, 11)
    assert [t["status"] for t in results["tests"]] == ["pass", "fail", "fail", "pass", "pass",
                                                      "pass", "fail"]
    failed = results["tests"][1]
    assert failed["name"].startswith("03.2 Three fetches")
    assert "ran one after another" in failed["message"] and "Why: " in failed["message"]
    assert failed["filename"] == "exercises/exercise-03-concurrent-fetch/fetcher.py"
    assert failed["test_code"] == "grade exercise-03"  # never the hidden test's source
    assert "7/11 points" in log
    # The reporter prints no message for a failed test: the summary page carries them.
    page = summary.read_text()
    assert "03.2 Three fetches" in page and "**Why:**" in page


def test_a_submission_that_does_not_import_is_an_error_runner(template: Path, tmp_path: Path):
    repo = _student_repo(tmp_path, template, OUTCOMES / "syntax_error" / "fetcher.py")
    results = _as_the_reporter_reads("ex03", _grade_step(repo, "03")[0])
    assert results["status"] == "error"
    assert _classroom_points(results) == (0, 11)
    # An errored test is printed by its message alone, so the message names the check.
    assert all(t["status"] == "error" and t["message"].startswith(t["name"])
               for t in results["tests"])


def test_a_submission_that_hangs_fails_the_hanging_checks_only(template: Path, tmp_path: Path):
    repo = _student_repo(tmp_path, template, OUTCOMES / "hangs_in_call" / "fetcher.py")
    results = _as_the_reporter_reads("ex03", _grade_step(repo, "03", "--time-limit", "1")[0])
    assert [t["status"] for t in results["tests"]] == ["fail"] * 5 + ["pass"] * 2
    assert _classroom_points(results) == (3, 11)


def test_a_missing_exercise_file_and_a_wrong_course_still_give_the_reporter_a_result(
        template: Path, tmp_path: Path):
    repo = _student_repo(tmp_path, template, WRONG_03)
    results = _as_the_reporter_reads("ex05", _grade_step(repo, "05")[0])
    assert results["status"] == "error"
    assert "No timeouts.py was found" in results["tests"][0]["message"]
    outputs = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader.platforms.github", "03", "--course",
                           str(tmp_path / "nowhere"), "--github-output", str(outputs)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "holds no exercises/ folder" in done.stderr
    broken = _as_the_reporter_reads("ex03", outputs.read_text().strip().removeprefix("result="))
    assert broken["status"] == "error"


def test_notes_become_workflow_warnings():
    assert github._annotation("protection not available: 100% gone\nnext") == (
        "::warning title=Grading environment::protection not available: 100%25 gone%0Anext")
