"""The grade command through click's CliRunner: exit codes, output, bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from helpers import REPO


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> CliRunner:
    monkeypatch.setenv("GRADER_COURSE", str(REPO))
    monkeypatch.setenv("GRADER_PROGRESS_DB", str(tmp_path / "progress.db"))
    monkeypatch.setenv("NO_COLOR", "1")
    return CliRunner()


@pytest.fixture
def course_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A course with only exercise 03, safe to break."""
    root = tmp_path / "course"
    name = "exercise-03-concurrent-fetch"
    shutil.copytree(REPO / "exercises" / name, root / "exercises" / name)
    shutil.copytree(REPO / "solutions" / name, root / "solutions" / name)
    monkeypatch.setenv("GRADER_COURSE", str(root))
    return root


@pytest.mark.parametrize("name", ["exercise-03", "03", "3", "concurrent-fetch",
                                  "exercise-03-concurrent-fetch"])
def test_solution_passes_with_exit_0(runner: CliRunner, name: str) -> None:
    result = runner.invoke(main, [name, "--solution"])
    assert result.exit_code == 0, result.output
    assert "Score: 11/11" in result.output
    assert "PASS" in result.output


def test_stub_fails_with_exit_1_and_points_to_the_hint(runner: CliRunner) -> None:
    result = runner.invoke(main, ["exercise-03"])
    assert result.exit_code == 1
    assert "Score: 0/11" in result.output
    assert "grade hint exercise-03" in result.output
    assert "Not written yet" in result.output


def test_wrong_variant_shows_the_misconception(runner: CliRunner) -> None:
    wrong = (REPO / "tests/fixtures/exercises/exercise-03-concurrent-fetch/wrong"
             / "sequential_awaits.py")
    result = runner.invoke(main, ["3", "--file", str(wrong)])
    assert result.exit_code == 1
    assert "ran one after another" in result.output
    assert "Why:" in result.output and "Next:" in result.output
    assert "def test_" not in result.output  # never the hidden test source


def test_json_output_is_the_full_result(runner: CliRunner) -> None:
    result = runner.invoke(main, ["3", "--solution", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["score"] == data["max_score"] == 11
    timing = next(c for c in data["checks"] if c["name"] == "fetches_run_concurrently")
    assert timing["sim_elapsed"] == pytest.approx(1.0)
    assert {op["label"] for op in timing["timeline"]["operations"]} == {"a", "b", "c"}
    assert timing["timeline"]["budget"] == 1.2


def test_unknown_exercise_suggests_and_exits_2(runner: CliRunner) -> None:
    result = runner.invoke(main, ["exercise-3x"])
    assert result.exit_code == 2
    assert "No exercise called 'exercise-3x'" in result.output
    assert "exercise-03" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_solution_and_file_together_is_a_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(main, ["3", "--solution", "--file", "x.py"])
    assert result.exit_code == 2


def test_list_shows_titles_and_concepts(runner: CliRunner) -> None:
    result = runner.invoke(main, ["list"])
    assert result.exit_code == 0
    assert "exercise-03" in result.output
    assert "Three downloads" in result.output
    assert "gather" in result.output


def test_missing_stub_is_one_clear_line(runner: CliRunner, course_copy: Path) -> None:
    (course_copy / "exercises/exercise-03-concurrent-fetch/fetcher.py").unlink()
    result = runner.invoke(main, ["3"])
    assert result.exit_code == 2
    assert "fetcher.py does not exist" in result.output
    assert "Traceback" not in result.output


def test_malformed_metadata_names_file_and_field(runner: CliRunner, course_copy: Path) -> None:
    meta = course_copy / "exercises/exercise-03-concurrent-fetch/.meta/exercise.toml"
    meta.write_text(meta.read_text().replace('points = 2', 'points = "two"', 1))
    result = runner.invoke(main, ["3"])
    assert result.exit_code == 2
    assert "exercise.toml" in result.output
    assert "checks[0].points" in result.output


def test_no_course_found_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_COURSE", str(tmp_path))
    result = CliRunner().invoke(main, ["3"])
    assert result.exit_code == 2
    assert "GRADER_COURSE" in result.output
