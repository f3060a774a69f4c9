"""A check held back by a ``requires`` chain is "not counted yet", never "failed".

Stored as ``blocked`` (grader/supervision/results.py ``STATUSES``), it earns nothing, says
which check
to fix first, and reads "not counted yet" wherever a person sees it: the terminal, the
``label`` of ``--json`` and ``results.json``, the HTML report, the progress record.
"""

from __future__ import annotations

import ast
import io
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from grader.course.course import Course
from grader.course.metadata import Check
from grader.engine.feedback import Feedback
from grader.render.terminal import print_grade
from grader.supervision.results import STATUSES, CheckResult, GradeResult
from grader.supervision.runner import _apply_requirements, grade_file

NEEDS_FIX = Feedback("open_dashboard returned None.", misconception="A coroutine must return.",
                     next_step="Return the report and the steps.")


def _exercise(*checks: Check) -> SimpleNamespace:
    return SimpleNamespace(meta=SimpleNamespace(checks=checks))


def _result(name: str, status: str, feedback: Feedback | None = None) -> CheckResult:
    return CheckResult(name, f"Check {name}", 1, status, 2 if status == "passed" else 0, 2,
                       feedback)


CHAIN = _exercise(Check("a", "Check a", 1, 2), Check("b", "Check b", 1, 2, requires=("a",)),
                  Check("c", "Check c", 1, 2, requires=("b",)))


def test_a_pass_held_back_by_a_failed_requirement_is_blocked_with_no_points() -> None:
    results = _apply_requirements(CHAIN, [_result("a", "failed", NEEDS_FIX),
                                          _result("b", "passed"), _result("c", "passed")])
    assert [(r.status, r.points) for r in results] == [("failed", 0), ("blocked", 0),
                                                        ("blocked", 0)]
    for held in results[1:]:  # a chain names its root, with the root's own explanation
        assert held.feedback is not None
        assert held.feedback.what == ('Not counted yet: this only means something once '
                                      '"Check a" passes. open_dashboard returned None.')
        assert held.feedback.next_step == NEEDS_FIX.next_step
        assert held.label == "not counted yet"


def test_requirements_met_or_a_failure_of_its_own_leave_a_check_as_it_is() -> None:
    results = _apply_requirements(CHAIN, [_result("a", "passed"), _result("b", "passed"),
                                          _result("c", "failed", NEEDS_FIX)])
    assert [r.status for r in results] == ["passed", "passed", "failed"]


def test_a_child_cannot_report_blocked_itself() -> None:
    results = _apply_requirements(CHAIN, [_result("a", "blocked", NEEDS_FIX),
                                          _result("b", "failed"), _result("c", "failed")])
    assert results[0].status == "error" and results[0].points == 0


def test_blocked_is_a_status_of_its_own() -> None:
    assert "blocked" in STATUSES
    check = _result("b", "blocked", NEEDS_FIX)
    assert not check.passed
    data = check.to_dict()
    assert (data["status"], data["label"]) == ("blocked", "not counted yet")
    assert CheckResult.from_dict(data) == check


def _grading(*checks: CheckResult) -> GradeResult:
    return GradeResult("exercise-04-background-tasks", "Start it now", "background.py",
                       checks, 0.5)


def test_the_terminal_says_not_counted_yet() -> None:
    out = io.StringIO()
    result = _grading(_result("a", "failed", NEEDS_FIX), _apply_requirements(
        CHAIN, [_result("a", "failed", NEEDS_FIX), _result("b", "passed"),
                _result("c", "failed")])[1])
    print_grade(Console(file=out, width=120, no_color=True), result)
    text = out.getvalue()
    assert "◌ NOT COUNTED YET" in text
    assert "FAIL" in text.split("NOT COUNTED YET")[0]  # the root still fails
    assert "(0 of 2 checks passed, 1 not counted yet)" in text


def test_the_html_report_says_not_counted_yet(tmp_path: Path) -> None:
    from grader.render.report_html import render_report
    from grader.state.progress import build_progress
    from grader.state.progress_store import AttemptScore, ProgressStore
    from helpers.progress_samples import copy_course

    course = copy_course(tmp_path)
    grading = GradeResult("exercise-03-concurrent-fetch", "Three downloads", "fetcher.py",
                          (_result("a", "failed", NEEDS_FIX), _result("b", "blocked", NEEDS_FIX)),
                          0.5)
    store = ProgressStore.open(tmp_path / "progress.db")
    store.record_attempt(grading, source="stub")
    (attempt,) = store.attempts()
    assert [c.status for c in attempt.result.checks] == ["failed", "blocked"]
    scores = [AttemptScore(a.id, a.exercise, a.graded_at, a.source, a.result.score,
                           a.result.max_score, a.result.all_passed, a.hint_level)
              for a in [attempt]]
    html = render_report(build_progress(course, scores, {}), [attempt])
    assert 'class="check check-blocked"' in html
    assert "◌ NOT COUNTED YET" in html


def _returning_none(source: str) -> str:
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and "NotImplementedError" in ast.unparse(node)):
            node.body = [ast.Return(value=ast.Constant(None))]
    return ast.unparse(tree)


def test_a_real_grading_holds_back_a_check_whose_requirement_fails(
        course: Course, tmp_path: Path) -> None:
    exercise = course.resolve("exercise-04")
    module = tmp_path / exercise.meta.module
    module.write_text(_returning_none(exercise.stub_file.read_text()))
    checks = {c.name: c for c in grade_file(exercise, module, time_limit=2.0).checks}
    held = checks["total_is_max_not_sum"]  # fast because it does nothing at all
    assert (held.status, held.points, held.label) == ("blocked", 0, "not counted yet")
    assert checks["returns_report_and_steps"].status == "failed"
    assert held.feedback is not None and held.feedback.what.startswith("Not counted yet")


@pytest.mark.parametrize("status", sorted(STATUSES))
def test_every_status_has_a_mark_in_the_terminal_and_the_report(status: str) -> None:
    from grader.render.report_html import CHECK_MARKS
    from grader.render.terminal import MARKS

    assert status in MARKS and status in CHECK_MARKS
