"""grader/bulk/student_reports.py: the page a student receives with their grade."""

from __future__ import annotations

import dataclasses
import re
from datetime import datetime
from html import unescape
from pathlib import Path

from grader.bulk.classbook import ClassResults, ExerciseInfo, ExerciseOutcome, StudentRecord
from grader.bulk.roster import Identity
from grader.bulk.student_reports import (
    build_page,
    render_student_page,
    write_student_reports,
)
from grader.course.metadata import Check
from grader.engine.feedback import Feedback
from grader.supervision.results import CheckResult, GradeResult

CHECKS = (Check("order", "Results in order", 1, 2), Check("fast", "Runs concurrently", 1, 3))
E3 = ExerciseInfo("exercise-03-fetch", "exercise-03", "Fetch", "fetcher.py", 5, CHECKS, "h3")
E5 = ExerciseInfo("exercise-05-timeouts", "exercise-05", "Timeouts", "timeouts.py", 5, CHECKS,
                  "h5")
SEQUENTIAL = Feedback("fetch_all took 2.3 s of simulated time (the budget is 1.2 s).",
                      "Awaiting each call in turn is sequential.",
                      "Start every fetch first, then wait.")
STAIRCASE = {"operations": [{"label": "fetch('a')", "start": 0.0, "end": 1.0, "outcome": "ok"},
                            {"label": "fetch('b')", "start": 1.0, "end": 2.3, "outcome": "ok"}],
             "budget": 1.2, "elapsed": 2.3, "dropped": 0}
WHEN = datetime(2026, 1, 5, 10, 0)
ORIGIN = "ana.zip/exercises/exercise-03-fetch/fetcher.py"


def _result(exercise: ExerciseInfo, feedback: Feedback = SEQUENTIAL, traceback: str = "",
            notes: tuple[str, ...] = ()) -> GradeResult:
    order, fast = exercise.checks
    return GradeResult(exercise.name, exercise.title, "fetcher.py", (
        CheckResult(order.name, order.title, order.task, "passed", 2, 2),
        CheckResult(fast.name, fast.title, fast.task, "failed", 0, 3, feedback,
                    traceback=traceback, timeline=STAIRCASE),
    ), 0.3, notes)


def _graded(exercise: ExerciseInfo, result: GradeResult, origin: str = ORIGIN,
            **extra: object) -> ExerciseOutcome:
    return ExerciseOutcome(exercise.name, "graded", result, origin, "f" * 64, 0.3,
                           graded_at="2026-01-05T10:00:00+00:00", **extra)  # type: ignore[arg-type]


def _page(student: StudentRecord, identity: Identity | None = None) -> str:
    results = ClassResults((E3, E5), (student,))
    return render_student_page(build_page(student, results, identity=identity,
                                          course="Learn async", generated_at=WHEN))


def _text(html: str) -> str:
    """The page's words, tags removed and spaces collapsed, for phrase checks."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", html)))


def test_a_graded_students_page_has_identity_scores_files_checks_and_timelines() -> None:
    ana = StudentRecord("Ana Lima", "ana_12345_fetcher.py", (
        _graded(E3, _result(E3)), _graded(E5, _result(E5), origin="ana/timeouts.py")))
    identity = Identity(name="Ana Lima", email="ana@example.edu", sis_user_id="S-77")

    html = _page(ana, identity)
    text = _text(html)

    assert "Feedback for Ana Lima" in text  # the roster's name, as grades.csv has it
    assert "ana@example.edu" in text and "S-77" in text
    assert "Handed in as ana_12345_fetcher.py" in text
    assert "Total 4/10" in text  # 2 of 5 in each exercise
    assert f"File graded: {ORIGIN}" in text and "ana/timeouts.py" in text
    assert "✓ passed Task 1 Results in order 2/2 points" in text
    assert "✗ failed Task 1 Runs concurrently 0/3 points" in text
    assert SEQUENTIAL.what in text
    assert f"Why: {SEQUENTIAL.misconception}" in text
    assert f"Next: {SEQUENTIAL.next_step}" in text
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="timeline"') == 2
    assert "over the 1.2 s budget" in text
    # None of the student's own practice page: no tries, hints or "run grade next".
    for practice in ("grade report", "Next: run", "Tries", "Hints", "not started"):
        assert practice not in text


def test_missing_exercises_read_not_submitted_and_count_zero() -> None:
    bo = StudentRecord("bo", "bo", (_graded(E3, _result(E3)),
                                    ExerciseOutcome(E5.name, "not submitted")))

    text = _text(_page(bo))

    assert "exercise-05 Timeouts not submitted, 0/5" in text
    assert "Not submitted: your hand-in held no file for this exercise." in text
    assert "Total 2/10" in text


def test_a_file_not_graded_has_no_grade_and_says_why() -> None:
    cy = StudentRecord("cy", "cy", (
        ExerciseOutcome(E3.name, "rejected", origin="cy/fetcher.py",
                        reason="fetcher.py is over 1 MiB; it was not graded"),
        ExerciseOutcome(E5.name, "not submitted")))

    text = _text(_page(cy))

    assert "exercise-03 Fetch no grade" in text
    assert "No grade: fetcher.py is over 1 MiB" in text
    assert "Total 0/10" in text  # the rejected file counts nothing, the missing one 0


def test_a_rejected_entry_gets_a_page_saying_why() -> None:
    dee = StudentRecord("dee", "dee.zip", (
        ExerciseOutcome(E3.name, "rejected", reason="x"),
        ExerciseOutcome(E5.name, "rejected", reason="x")),
        problems=("is not a readable zip file (File is not a zip file)",))

    text = _text(_page(dee))

    assert "Your hand-in could not be graded." in text
    assert "is not a readable zip file (File is not a zip file)" in text
    assert "Handed in as dee.zip" in text
    assert "Scores" not in text and "Total" not in text  # no score to show


def test_notes_are_worded_for_the_student() -> None:
    result = _result(E3, notes=("flagged for review: grading code was patched: asyncio.sleep",
                                "protection not available: process limit"))
    eve = StudentRecord("eve", "eve", (
        _graded(E3, result), _graded(E5, _result(E5), unchanged_stub=True)),
        flags=("ignored conftest.py: conftest files always come from the instructor's copy",))

    text = _text(_page(eve))

    assert ("Set aside for your instructor to review (grading code was patched: "
            "asyncio.sleep)") in text
    assert "Graded without one of the grader's protections" in text and "process limit" in text
    assert "the exercise's stub as it was handed out" in text
    assert "Notes on your hand-in" in text and "ignored conftest.py" in text
    assert "flagged for review:" not in text  # the runner's own wording stays internal


def test_hostile_text_is_escaped_and_nothing_loads() -> None:
    hostile = Feedback("<script>alert(1)</script> returned \x1b[2J", "<b>why</b>",
                       '<img src="https://evil.example/x.png">')
    result = _result(E3, hostile, traceback="line 1\x1b]0;owned\x07 <iframe>")
    mallory = StudentRecord("<img src=x onerror=alert(2)>", "m\x1b[31m.zip",
                            (_graded(E3, result, origin="m/<svg onload=alert(3)>/fetcher.py"),
                             ExerciseOutcome(E5.name, "not submitted")),
                            flags=("ignored <script>x</script>",))

    html = _page(mallory)

    for raw in ("<script", "<img", "<iframe", "<b>why", "<svg onload"):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html
    assert "\x1b" not in html and "\x07" not in html
    assert "default-src 'none'" in html
    assert not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", html)  # loads nothing


def test_pages_replace_the_folder_whole_in_the_results_order(tmp_path: Path) -> None:
    (tmp_path / "students").mkdir()
    (tmp_path / "students" / "gone.html").write_text("a student no longer in the class")
    (tmp_path / ".students.killed").mkdir()  # left by a run killed while writing pages
    results = ClassResults((E3,), (
        StudentRecord("adam", "adam", (_graded(E3, _result(E3)),)),
        StudentRecord("Émile", "Émile", (ExerciseOutcome(E3.name, "not submitted"),)),
    ))

    links = write_student_reports(results, [], tmp_path, generated_at=WHEN)

    assert list(links) == ["adam", "Émile"]
    assert sorted(p.name for p in (tmp_path / "students").iterdir()) == ["Emile.html",
                                                                          "adam.html"]
    assert [p.name for p in tmp_path.iterdir()] == ["students"]  # no temporary left over
    assert "Feedback for Émile" in (tmp_path / links["Émile"]).read_text()


def test_a_page_never_names_another_student() -> None:
    shared = _graded(E3, _result(E3))
    ann = StudentRecord("ann", "ann", (dataclasses.replace(shared, reused_from="zelda"),
                                       ExerciseOutcome(E5.name, "not submitted")))
    assert "zelda" not in _page(ann)
