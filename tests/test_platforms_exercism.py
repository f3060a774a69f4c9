"""Exercism's test-runner contract: bin/run.sh SLUG SOLUTION_DIR OUTPUT_DIR, results v3.

Schema (exercism/docs building/tooling/test-runners/interface.md): `version`,
`status` pass/fail/error, `message` required for error and null or absent otherwise,
`tests` in the tests file's order with `name`, `status`, optional `message`,
`output` (at most 500 characters) and `task_id`; exit code 0 whatever the outcome.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grader.course.course import Course
from grader.platforms import exercism
from helpers import FIXTURES, REPO

WRONG_03 = FIXTURES / "exercises/exercise-03-concurrent-fetch/wrong/sequential_awaits.py"
OUTCOMES = FIXTURES / "outcomes"


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Path:
    course = Course(REPO)
    folder = tmp_path_factory.mktemp("test-runner")
    exercism.build(course, [course.resolve("03")]).write_folder(folder)
    return folder


def _run(runner: Path, tmp_path: Path, slug: str, module: Path,
         time_limit: float | None = None) -> dict[str, Any]:
    solution, output = tmp_path / "solution", tmp_path / "output"
    solution.mkdir()
    output.mkdir()
    shutil.copy(module, solution / "fetcher.py")
    env = {**os.environ, "GRADER_PYTHON": sys.executable}
    if time_limit:
        env["AUTOGRADER_TIME_LIMIT"] = str(time_limit)
    done = subprocess.run([str(runner / "bin" / "run.sh"), slug, f"{solution}/", f"{output}/"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    path = output / "results.json"
    assert path.stat().st_size <= 500 * 1024
    results = json.loads(path.read_text())
    _check_schema(results)
    return results


def _check_schema(results: dict[str, Any]) -> None:
    assert results["version"] == 3
    assert results["status"] in ("pass", "fail", "error")
    if results["status"] == "error":
        assert isinstance(results["message"], str) and results["message"]
    else:
        assert results.get("message") is None
        assert results["tests"]
    for test in results.get("tests", []):
        assert set(test) <= {"name", "status", "message", "output", "test_code", "task_id"}
        assert test["status"] in ("pass", "fail", "error")
        assert len(test.get("output") or "") <= 500
        assert isinstance(test.get("task_id", 1), int)


def test_a_partly_wrong_exercise_03_by_its_slug(runner: Path, tmp_path: Path):
    results = _run(runner, tmp_path, "concurrent-fetch", WRONG_03)
    assert results["status"] == "fail"
    tests = results["tests"]
    assert [t["status"] for t in tests] == ["pass", "fail", "fail", "pass", "pass", "pass",
                                            "fail"]
    assert [t["task_id"] for t in tests] == [1, 1, 1, 1, 1, 2, 2]
    assert "ran one after another" in tests[1]["message"]
    assert "test_code" not in tests[1]  # the hidden suite's source is never shown


def test_a_module_that_does_not_import_is_an_error(runner: Path, tmp_path: Path):
    results = _run(runner, tmp_path, "concurrent-fetch", OUTCOMES / "syntax_error" / "fetcher.py")
    assert results["status"] == "error" and results["tests"] == []
    assert "Syntax error at fetcher.py, line 13" in results["message"]


def test_a_module_that_hangs_fails_the_hanging_checks(runner: Path, tmp_path: Path):
    results = _run(runner, tmp_path, "exercise-03", OUTCOMES / "hangs_in_call" / "fetcher.py",
                   time_limit=1.0)
    assert [t["status"] for t in results["tests"]] == ["fail"] * 5 + ["pass"] * 2


def test_an_unknown_slug_is_reported_in_results_with_exit_code_zero(runner: Path,
                                                                    tmp_path: Path):
    results = _run(runner, tmp_path, "two-fer", WRONG_03)
    assert results["status"] == "error" and "No exercise called 'two-fer'" in results["message"]
