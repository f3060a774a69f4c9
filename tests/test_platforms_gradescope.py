"""Gradescope: build the zip, unpack it as Gradescope does, run run_autograder end to end.

The schema checked here is Gradescope's "Autograder Specifications"
(gradescope/autograder_samples docs/specs.md): top-level tests, execution_time,
output, output_format, visibility, stdout_visibility; per test name, number, score,
max_score, status, output, output_format, tags, visibility, extra_data.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest

from grader.course.course import Course
from grader.engine.feedback import Feedback
from grader.platforms import gradescope
from grader.platforms.base import Run
from grader.platforms.markdown import md_escape
from grader.platforms.session import grade_submission
from grader.supervision.results import CheckResult, GradeResult
from helpers import FIXTURES, REPO

WRONG_03 = FIXTURES / "exercises/exercise-03-concurrent-fetch/wrong/sequential_awaits.py"
OUTCOMES = FIXTURES / "outcomes"
VISIBILITIES = {"visible", "after_due_date", "after_published", "hidden"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}


@pytest.fixture(scope="module")
def upload() -> bytes:
    course = Course(REPO)
    chosen = [course.resolve("03"), course.resolve("05")]
    visibility = gradescope.parse_visibility("05=after_due_date", chosen, course)
    return gradescope.build(course, chosen, visibility=visibility).zip_bytes()


def _gradescope_root(tmp_path: Path, upload: bytes) -> Path:
    """/autograder as Gradescope lays it out: source/ unpacked, run_autograder copied."""
    root = tmp_path / "autograder"
    with zipfile.ZipFile(io.BytesIO(upload)) as archive:
        archive.extractall(root / "source")
        for info in archive.infolist():  # extractall drops modes; Gradescope keeps them
            mode = info.external_attr >> 16
            if mode:
                (root / "source" / info.filename).chmod(stat.S_IMODE(mode))
    shutil.copy2(root / "source" / "run_autograder", root / "run_autograder")
    (root / "submission").mkdir()
    return root


def _run(root: Path, *, time_limit: float | None = None,
         path: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "AUTOGRADER_ROOT": str(root), "AUTOGRADER_PYTHON": sys.executable}
    if time_limit:
        env["AUTOGRADER_TIME_LIMIT"] = str(time_limit)
    if path is not None:
        env["PATH"] = path
    done = subprocess.run([str(root / "run_autograder")], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text())


def _check_schema(results: dict[str, Any]) -> None:
    assert isinstance(results["execution_time"], int | float)
    assert isinstance(results["output"], str)
    assert results["output_format"] in FORMATS
    assert results["visibility"] in VISIBILITIES
    assert results["stdout_visibility"] in VISIBILITIES
    assert isinstance(results["tests"], list) and results["tests"]
    for test in results["tests"]:
        assert set(test) <= {"score", "max_score", "status", "name", "name_format", "number",
                             "output", "output_format", "tags", "visibility", "extra_data"}
        assert isinstance(test["name"], str) and test["name"]
        assert isinstance(test["number"], str)
        assert 0 <= test["score"] <= test["max_score"]
        assert test["status"] in ("passed", "failed")
        assert test["output_format"] in FORMATS
        assert all(isinstance(tag, str) for tag in test["tags"])
        assert test["visibility"] in VISIBILITIES
        assert isinstance(test["extra_data"], dict)


def test_the_zip_holds_the_scripts_at_its_root_and_only_the_chosen_suites(upload: bytes):
    with zipfile.ZipFile(io.BytesIO(upload)) as archive:
        names = archive.namelist()
        modes = {i.filename: stat.S_IMODE(i.external_attr >> 16) for i in archive.infolist()}
        contents = b"".join(archive.read(n) for n in names)
    assert "setup.sh" in names and "run_autograder" in names
    assert modes["setup.sh"] == modes["run_autograder"] == 0o755
    assert "package/pyproject.toml" in names and "package/grader/supervision/runner.py" in names
    suites = sorted(n for n in names if "/.meta/" in n)
    assert suites == [
        "course/exercises/exercise-03-concurrent-fetch/.meta/exercise.toml",
        "course/exercises/exercise-03-concurrent-fetch/.meta/test_fetcher.py",
        "course/exercises/exercise-05-timeouts/.meta/exercise.toml",
        "course/exercises/exercise-05-timeouts/.meta/test_timeouts.py",
    ]
    assert not any(n.startswith(("solutions/", "tests/")) or "solutions/" in n for n in names)
    for solution in (REPO / "solutions").glob("exercise-0[35]-*/*.py"):
        assert solution.read_bytes() not in contents, f"{solution} leaked into the zip"


def test_the_scripts_are_valid_bash_and_setup_installs_bubblewrap(upload: bytes, tmp_path: Path):
    root = _gradescope_root(tmp_path, upload)
    for script in ("setup.sh", "run_autograder"):
        subprocess.run(["bash", "-n", str(root / "source" / script)], check=True)
    setup = (root / "source" / "setup.sh").read_text()
    assert "apt-get install -y bubblewrap" in setup
    assert '/venv/bin/pip" install --no-cache-dir "$SOURCE/package"' in setup


def test_a_partly_wrong_exercise_03_gets_its_points_and_teaching_messages(
        upload: bytes, tmp_path: Path):
    root = _gradescope_root(tmp_path, upload)
    shutil.copy(WRONG_03, root / "submission" / "fetcher.py")
    results = _run(root)
    _check_schema(results)
    tests = {t["number"]: t for t in results["tests"]}
    assert [n for n in tests if n.startswith("03.")] == [f"03.{i}" for i in range(1, 8)]
    assert sum(t["score"] for n, t in tests.items() if n.startswith("03.")) == 7
    concurrent = tests["03.2"]
    assert concurrent["status"] == "failed" and concurrent["score"] == 0
    assert concurrent["max_score"] == 2 and concurrent["output_format"] == "md"
    assert "ran one after another" in concurrent["output"]
    assert "**Why:** `await` waits" in concurrent["output"]
    assert concurrent["tags"][0] == "exercise-03" and len(concurrent["tags"]) == 2
    assert concurrent["extra_data"]["simulated_seconds"] == pytest.approx(2.3)
    assert len(concurrent["extra_data"]["timeline"]["operations"]) == 3
    assert tests["03.1"]["status"] == "passed" and tests["03.1"]["score"] == 2
    # 05's checks are there, held back until the due date, and no total gives them away.
    assert {t["visibility"] for n, t in tests.items() if n.startswith("05.")} == {
        "after_due_date"}
    assert "Score on the checks you can see now: **7/11**" in results["output"]
    assert "8 more checks (14 points) are shown after the due date" in results["output"]


def test_a_submission_that_does_not_import_scores_zero_and_says_why(
        upload: bytes, tmp_path: Path):
    root = _gradescope_root(tmp_path, upload)
    shutil.copy(OUTCOMES / "syntax_error" / "fetcher.py", root / "submission" / "fetcher.py")
    results = _run(root)
    _check_schema(results)
    ours = [t for t in results["tests"] if t["number"].startswith("03.")]
    assert all(t["score"] == 0 and t["status"] == "failed" for t in ours)
    assert all("Syntax error at fetcher.py, line 13" in t["output"] for t in ours)
    assert "could not be imported" in results["output"]


def test_a_submission_that_hangs_is_stopped_per_check(upload: bytes, tmp_path: Path):
    root = _gradescope_root(tmp_path, upload)
    shutil.copy(OUTCOMES / "hangs_in_call" / "fetcher.py", root / "submission" / "fetcher.py")
    results = _run(root, time_limit=1.0)
    _check_schema(results)
    verdicts = {t["number"]: t["extra_data"]["verdict"] for t in results["tests"]}
    assert [verdicts[f"03.{i}"] for i in range(1, 6)] == ["timed out"] * 5
    assert verdicts["03.6"] == verdicts["03.7"] == "passed"


def test_files_in_the_course_layout_inside_a_zip_are_found(upload: bytes, tmp_path: Path):
    root = _gradescope_root(tmp_path, upload)
    with zipfile.ZipFile(root / "submission" / "my-work.zip", "w") as archive:
        archive.write(WRONG_03, "my-work/exercises/exercise-03-concurrent-fetch/fetcher.py")
    results = _run(root)
    assert sum(t["score"] for t in results["tests"] if t["number"].startswith("03.")) == 7
    assert "my-work.zip/my-work/exercises/exercise-03-concurrent-fetch/fetcher.py" in (
        results["output"].replace("\\", ""))


def test_without_bubblewrap_the_missing_protection_is_shown(upload: bytes, tmp_path: Path):
    root = _gradescope_root(tmp_path, upload)
    shutil.copy(WRONG_03, root / "submission" / "fetcher.py")
    tools = tmp_path / "bin"  # a PATH with bash and nothing else: no bwrap
    tools.mkdir()
    (tools / "bash").symlink_to(shutil.which("bash") or "/bin/bash")
    results = _run(root, path=str(tools))
    assert "protection not available" in results["output"]
    assert "bubblewrap" in results["output"]
    assert any("bubblewrap" in n for n in results["extra_data"]["notes"])
    assert sum(t["score"] for t in results["tests"] if t["number"].startswith("03.")) == 7


def test_results_are_written_before_and_after_every_exercise(tmp_path: Path):
    course = Course(REPO)
    chosen = [course.resolve("03"), course.resolve("05")]
    (tmp_path / "fetcher.py").write_bytes(WRONG_03.read_bytes())
    documents: list[dict[str, Any]] = []
    platform = gradescope.Gradescope()
    grade_submission(chosen, tmp_path, on_progress=lambda run: documents.append(
        platform.render(run)))
    assert len(documents) == 3
    first, middle, last = documents
    assert all(t["score"] == 0 and "Not graded" in t["output"] for t in first["tests"])
    assert "Grading in progress" in first["output"] and first["extra_data"]["finished"] is False
    assert sum(t["score"] for t in middle["tests"]) == 7
    assert any("Not graded" in t["output"] for t in middle["tests"] if t["number"] == "05.1")
    assert last["extra_data"]["finished"] is True and "in progress" not in last["output"]


def test_a_broken_upload_still_writes_results_that_say_so(tmp_path: Path):
    root = tmp_path / "autograder"
    (root / "source").mkdir(parents=True)
    assert gradescope.main(["--root", str(root)]) == 1
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 0 and results["tests"] == []
    assert "not set up correctly" in results["output"]


def test_markdown_from_student_values_cannot_form_links_or_html():
    hostile = "returned '![x](http://evil.example/p.png) <img src=x> [a](b)' and `gather()`"
    escaped = md_escape(hostile)
    prose = escaped.removesuffix("`gather()`")
    assert escaped.endswith(" and `gather()`")  # code spans are left readable
    # Every bracket and angle bracket outside the code span is escaped: no link, no HTML.
    assert re.findall(r"(?<!\\)[\[\]<>]", prose) == []
    assert "\\[x\\](http" in prose and "\\<img src=x\\>" in prose


def test_notes_and_hidden_checks_in_the_summary():
    check = CheckResult("c", "A check", 1, "failed", 0, 2,
                        feedback=Feedback("what", "why", "next"))
    result = GradeResult("exercise-03-concurrent-fetch", "Title", "f.py", (check,), 0.1,
                         notes=("protection not available: sandbox (bubblewrap is missing)",))
    hidden = gradescope.Gradescope(visibility={"exercise-03-concurrent-fetch": "hidden"})
    document = hidden.render(Run((result,)))
    assert document["tests"][0]["visibility"] == "hidden"
    assert "0/2" not in document["output"].split("Score on")[0]
    assert "protection not available" in document["output"]
