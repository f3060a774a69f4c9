"""Feedback detail: course.toml's [feedback] detail and --feedback choose full or terse."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course.course import Course, load_course_info
from grader.course.release import _release_marker
from grader.errors import MetadataError
from grader.render.feedback_detail import with_detail
from helpers import REPO
from helpers.progress_samples import EX03, exercise03_result

MARKER = 'format_version = 1\ntitle = "A test course"\nkind = "instructor"\n'
SEQUENTIAL_FILE = (REPO / "tests" / "fixtures" / "exercises" / EX03 / "wrong"
                   / "sequential_awaits.py")


def test_terse_keeps_only_what_failed_and_full_changes_nothing() -> None:
    result = exercise03_result("sequential")
    assert with_detail(result, "full") is result
    terse = with_detail(result, "terse")
    failed = [c for c in terse.checks if not c.passed]
    assert failed and all(c.feedback is not None and c.feedback.what for c in failed)
    assert all(not c.feedback.misconception and not c.feedback.next_step
               for c in failed if c.feedback)
    assert [c.timeline for c in terse.checks] == [c.timeline for c in result.checks]
    assert terse.score == result.score
    with pytest.raises(ValueError, match="detail must be one of"):
        with_detail(result, "chatty")


def test_course_toml_sets_it_and_a_bad_value_is_named(tmp_path: Path) -> None:
    marker = tmp_path / "course.toml"
    marker.write_text(MARKER)
    assert load_course_info(marker).feedback == "full"
    marker.write_text(MARKER + '[feedback]\ndetail = "terse"\n')
    assert load_course_info(marker).feedback == "terse"
    marker.write_text(MARKER + '[feedback]\ndetail = "short"\n')
    with pytest.raises(MetadataError) as info:
        load_course_info(marker)
    assert "field 'feedback.detail'" in info.value.message
    assert load_course_info(REPO / "course.toml").feedback == "full"


def test_a_release_carries_the_setting(tmp_path: Path) -> None:
    root = tmp_path / "course"
    root.mkdir()
    (root / "course.toml").write_text(MARKER + '[feedback]\ndetail = "terse"\n')
    released = tmp_path / "released.toml"
    released.write_text(_release_marker(Course(root), unlock=False, now=datetime(2026, 1, 1)))
    info = load_course_info(released)
    assert info.is_release and info.feedback == "terse"


def _course(tmp_path: Path, extra: str = "") -> Path:
    root = tmp_path / "course"
    shutil.copytree(REPO / "exercises" / EX03, root / "exercises" / EX03)
    (root / "course.toml").write_text(MARKER + extra)
    shutil.copy(SEQUENTIAL_FILE, root / "exercises" / EX03 / "fetcher.py")
    return root


def _failed_feedback(root: Path, *options: str) -> list[dict]:
    outcome = CliRunner().invoke(main, ["--course", str(root), "exercise-03", "--json",
                                        "--db", str(root / "p.db"), *options])
    assert outcome.exit_code == 1, outcome.output
    result = json.loads(outcome.output)
    return [c["feedback"] for c in result["checks"] if c["status"] != "passed"]


def test_grade_follows_course_toml_and_the_option_overrides_it(tmp_path: Path) -> None:
    root = _course(tmp_path, '[feedback]\ndetail = "terse"\n')
    terse = _failed_feedback(root)
    assert terse and all(f["what"] and not f["next_step"] and not f["misconception"]
                         for f in terse)
    full = _failed_feedback(root, "--feedback", "full")
    assert any(f["next_step"] for f in full)
