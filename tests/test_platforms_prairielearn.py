"""PrairieLearn: the course files, and the entry point run as a grading container runs it.

Schema (PrairieLearn docs/externalGrading.md): results.json in /grade/results (which
the grader creates), `score` in [0, 1] unless `gradable` is false (then
`format_errors`), `message`, `output`, tests with `name`, `description`, `points`,
`max_points`, `message`, `output`; the file at most 1 MB.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.course.course import Course
from grader.platforms import prairielearn
from helpers import FIXTURES, REPO

WRONG_03 = FIXTURES / "exercises/exercise-03-concurrent-fetch/wrong/sequential_awaits.py"
OUTCOMES = FIXTURES / "outcomes"
QUESTION = "questions/async-grader/exercise-03-concurrent-fetch"


@pytest.fixture(scope="module")
def course_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = Course(REPO)
    folder = tmp_path_factory.mktemp("pl-course")
    prairielearn.build(course, [course.resolve("03")]).write_folder(folder)
    return folder


def _grade(tmp_path: Path, course_files: Path, *, student: Path | None = None,
           data: dict[str, Any] | None = None, time_limit: float | None = None
           ) -> dict[str, Any]:
    """Lay out /grade as PrairieLearn does and run the question's entrypoint."""
    grade = tmp_path / "grade"
    shutil.copytree(course_files / QUESTION / "tests", grade / "tests")
    shutil.copytree(course_files / "serverFilesCourse", grade / "serverFilesCourse")
    (grade / "student").mkdir()
    if student is not None:
        shutil.copy(student, grade / "student" / "fetcher.py")
    (grade / "data").mkdir()
    (grade / "data" / "data.json").write_text(json.dumps(data or {"params": {}}))
    env = {**os.environ, "PRAIRIELEARN_GRADE_ROOT": str(grade), "GRADER_PYTHON": sys.executable}
    if time_limit:
        env["AUTOGRADER_TIME_LIMIT"] = str(time_limit)
    info = json.loads((course_files / QUESTION / "info.json").read_text())
    entrypoint = info["externalGradingOptions"]["entrypoint"].replace("/grade", str(grade), 1)
    assert not (grade / "results").exists()  # PrairieLearn does not make it
    done = subprocess.run([entrypoint], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    path = grade / "results" / "results.json"
    assert path.stat().st_size <= prairielearn.MAX_BYTES
    return json.loads(path.read_text())


def _check_schema(results: dict[str, Any]) -> None:
    if results.get("gradable") is False:
        assert isinstance(results["format_errors"], list | str) and results["format_errors"]
        return
    assert 0.0 <= results["score"] <= 1.0
    assert isinstance(results["message"], str) and isinstance(results["output"], str)
    for test in results["tests"]:
        assert set(test) == {"name", "description", "points", "max_points", "message",
                             "output"}
        assert 0 <= test["points"] <= test["max_points"]


def test_the_course_files_configure_an_external_grader(course_files: Path):
    info = json.loads((course_files / QUESTION / "info.json").read_text())
    assert info["gradingMethod"] == "External" and info["type"] == "v3"
    options = info["externalGradingOptions"]
    assert options["enabled"] is True and options["serverFilesCourse"] == ["async_grader/"]
    assert options["entrypoint"] == "/grade/serverFilesCourse/async_grader/run.sh"
    assert 0 < options["timeout"] <= 600
    assert (course_files / "serverFilesCourse/async_grader/run.sh").stat().st_mode & 0o111
    html = (course_files / QUESTION / "question.html").read_text()
    assert 'file-name="fetcher.py"' in html and "<pl-external-grader-results>" in html
    docker = (course_files / "image" / "Dockerfile").read_text()
    assert "bubblewrap" in docker and "COPY package /opt/async-grader" in docker
    suites = sorted(p.name for p in (course_files / QUESTION / "tests").rglob("*") if p.is_file())
    assert suites == ["exercise.toml", "test_fetcher.py"]
    assert not list(course_files.rglob("solutions"))


def test_a_partly_wrong_exercise_03(tmp_path: Path, course_files: Path):
    results = _grade(tmp_path, course_files, student=WRONG_03)
    _check_schema(results)
    assert results["gradable"] is True
    assert results["score"] == pytest.approx(7 / 11, abs=1e-6)
    tests = results["tests"]
    assert [t["points"] for t in tests] == [2, 0, 0, 2, 1, 2, 0]
    assert tests[1]["max_points"] == 2 and "ran one after another" in tests[1]["message"]
    assert "Why: `await`" in tests[1]["message"]


def test_a_module_that_does_not_import_is_not_gradable(tmp_path: Path, course_files: Path):
    results = _grade(tmp_path, course_files, student=OUTCOMES / "syntax_error" / "fetcher.py")
    _check_schema(results)
    assert results["gradable"] is False and "score" not in results
    assert "Syntax error at fetcher.py, line 13" in results["format_errors"][0]


def test_a_module_that_hangs_is_stopped_and_graded(tmp_path: Path, course_files: Path):
    results = _grade(tmp_path, course_files, student=OUTCOMES / "hangs_in_call" / "fetcher.py",
                     time_limit=1.0)
    _check_schema(results)
    assert results["gradable"] is True
    assert [t["points"] for t in results["tests"]] == [0, 0, 0, 0, 0, 2, 1]
    assert "(timed out)" in results["tests"][0]["description"]


def test_files_given_only_in_data_json_are_graded(tmp_path: Path, course_files: Path):
    encoded = base64.b64encode(WRONG_03.read_bytes()).decode()
    data = {"submitted_answers": {"_files": [{"name": "fetcher.py", "contents": encoded}]}}
    results = _grade(tmp_path, course_files, data=data)
    assert results["score"] == pytest.approx(7 / 11, abs=1e-6)


def test_no_file_at_all_is_not_gradable(tmp_path: Path, course_files: Path):
    results = _grade(tmp_path, course_files)
    assert results["gradable"] is False
    assert "No fetcher.py was found" in results["format_errors"][0]


def test_an_oversized_document_is_trimmed_under_one_megabyte():
    test = {"name": "t", "description": "d", "points": 1, "max_points": 2,
            "message": "m" * 300_000, "output": "o" * 300_000}
    document = {"gradable": True, "score": 0.5, "message": "", "output": "", "tests": [test] * 4}
    fitted = prairielearn.fit(document)
    assert len(json.dumps(fitted).encode()) <= prairielearn.MAX_BYTES
    assert fitted["score"] == 0.5 and [t["points"] for t in fitted["tests"]] == [1] * 4
