"""What every platform adapter shares: notes shown, import failures read alike, the CLI."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.engine.feedback import Feedback
from grader.platforms import exercism, github, gradescope, prairielearn
from grader.platforms.base import Run, import_failed
from grader.supervision.results import CheckResult, GradeResult
from helpers import REPO

NOTE = "protection not available: sandbox (bubblewrap is not installed)"


def _result(statuses: list[str], whats: list[str], notes: tuple[str, ...] = ()) -> GradeResult:
    checks = tuple(
        CheckResult(f"check_{i}", f"Check {i}", 1, status, 2 if status == "passed" else 0, 2,
                    feedback=None if status == "passed" else Feedback(what, "why", "next"))
        for i, (status, what) in enumerate(zip(statuses, whats, strict=True)))
    return GradeResult("exercise-03-concurrent-fetch", "Title", "fetcher.py", checks, 0.2,
                       notes=notes)


@pytest.mark.parametrize("platform", [gradescope.Gradescope(), prairielearn.PrairieLearn(),
                                      exercism.Exercism()], ids=lambda p: p.name)
def test_every_platform_shows_missing_protections(platform):
    run = Run((_result(["passed", "failed"], ["", "slow"], notes=(NOTE,)),))
    assert NOTE in json.dumps(platform.render(run))


def test_github_shows_missing_protections_on_the_summary_page():
    run = Run((_result(["passed", "failed"], ["", "slow"], notes=(NOTE,)),))
    assert NOTE in github.step_summary(run)


def test_an_import_failure_is_the_same_error_on_every_check():
    assert import_failed(_result(["error"] * 3, ["Syntax error at x"] * 3))
    assert import_failed(_result(["timed out"] * 2, ["Importing x did not finish"] * 2))
    assert not import_failed(_result(["error", "error"], ["no fetch_all", "no fetch_one"]))
    assert not import_failed(_result(["error", "passed"], ["boom", ""]))
    assert not import_failed(_result(["error"], ["only one check"]))


def test_grade_autograder_writes_each_platform(tmp_path: Path):
    runner = CliRunner()
    base = ["--course", str(REPO), "autograder"]
    zip_path = tmp_path / "autograder.zip"
    done = runner.invoke(main, [*base, "gradescope", "--exercises", "03,05", "--visibility",
                                "03=visible,05=after_due_date", "--out", str(zip_path)])
    assert done.exit_code == 0, done.output
    with zipfile.ZipFile(zip_path) as archive:
        config = json.loads(archive.read("autograder.json"))
    assert config["exercises"] == ["exercise-03-concurrent-fetch", "exercise-05-timeouts"]
    assert config["visibility"]["exercise-05-timeouts"] == "after_due_date"
    for platform, marker in (("github", ".github/workflows/classroom.yml"),
                             ("prairielearn", "serverFilesCourse/async_grader/run.sh"),
                             ("exercism", "bin/run.sh")):
        out = tmp_path / platform
        done = runner.invoke(main, [*base, platform, "--exercises", "3", "--out", str(out)])
        assert done.exit_code == 0, done.output
        assert (out / marker).is_file()


def test_bad_options_and_existing_files_are_refused_in_one_line(tmp_path: Path):
    runner = CliRunner()
    base = ["--course", str(REPO), "autograder"]
    done = runner.invoke(main, [*base, "gradescope", "--exercises", "03", "--visibility",
                                "03=soon", "--out", str(tmp_path / "a.zip")])
    assert done.exit_code == 2 and "after_due_date" in done.output
    assert not (tmp_path / "a.zip").exists()
    workflow = tmp_path / "repo" / ".github" / "workflows" / "classroom.yml"
    workflow.parent.mkdir(parents=True)
    workflow.write_text("name: the instructor's own\n")
    done = runner.invoke(main, [*base, "github", "--exercises", "03", "--out",
                                str(tmp_path / "repo")])
    assert done.exit_code == 2 and "--force" in done.output
    assert workflow.read_text() == "name: the instructor's own\n"
    done = runner.invoke(main, [*base, "github", "--exercises", "03", "--out",
                                str(tmp_path / "repo"), "--force"])
    assert done.exit_code == 0 and "autograding-grading-reporter" in workflow.read_text()
