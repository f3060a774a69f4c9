"""What instructors publish: grades.csv, results.json and the class summary page."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from grader.bulk.class_report import NOT_WRITTEN, render_class_report, summarize
from grader.bulk.classbook import ClassResults, ExerciseInfo, ExerciseOutcome, StudentRecord
from grader.bulk.exports import grades_csv, write_grades_csv, write_results_json
from grader.bulk.student_reports import report_file_names, write_student_reports
from grader.course.course import Exercise
from grader.course.metadata import Check
from grader.engine.feedback import Feedback
from grader.supervision.results import CheckResult, GradeResult

CHECKS = (Check("order", "Results in order", 1, 2), Check("fast", "Runs concurrently", 1, 3))
EXERCISES = (
    ExerciseInfo("exercise-03-fetch", "exercise-03", "Fetch", "fetcher.py", 5, CHECKS, "h3"),
    ExerciseInfo("exercise-05-timeouts", "exercise-05", "Timeouts", "timeouts.py", 5, CHECKS,
                 "h5"),
)
SEQUENTIAL = Feedback("took 2.3 s", "Awaiting each call in turn is sequential.")


def _graded(exercise: str, *statuses: str, feedback: Feedback | None = SEQUENTIAL,
            seconds: float = 0.4, stub: bool = False) -> ExerciseOutcome:
    checks = tuple(
        CheckResult(c.name, c.title, c.task, status, c.points if status == "passed" else 0,
                    c.points, None if status == "passed" else feedback, duration=0.01,
                    sim_elapsed=1.0)
        for c, status in zip(CHECKS, statuses, strict=True)
    )
    result = GradeResult(exercise, "T", f"x/{exercise}.py", checks, seconds)
    return ExerciseOutcome(exercise, "graded", result, f"x/{exercise}.py", "f" * 64, seconds,
                           unchanged_stub=stub)


def _class() -> ClassResults:
    e3, e5 = (e.name for e in EXERCISES)
    not_written = Feedback("Not written yet: NotImplementedError: fetch_all (line 3).")
    return ClassResults(EXERCISES, (
        StudentRecord("alice", "alice.zip", (_graded(e3, "passed", "passed"),
                                             _graded(e5, "passed", "failed"))),
        StudentRecord("bob", "bob", (_graded(e3, "passed", "failed", seconds=0.6),
                                     ExerciseOutcome(e5, "not submitted")),
                      flags=("ignored conftest.py: conftest files always come from the "
                             "instructor's copy",)),
        StudentRecord("=cmd()", "=cmd()", (
            _graded(e3, "error", "error", feedback=not_written, stub=True),
            _graded(e5, "timed out", "passed", feedback=Feedback("did not finish"),
                    seconds=9.0))),
        StudentRecord("<b>mallory</b>", "mallory.zip", (
            ExerciseOutcome(e3, "rejected", reason="paths outside it"),
            ExerciseOutcome(e5, "rejected", reason="paths outside it")),
            problems=("rejected: the zip holds paths that point outside it",)),
        StudentRecord("zoe", "zoe", (
            _graded(e3, "error", "passed", feedback=Feedback("Your code raised ValueError.")),
            ExerciseOutcome(e5, "not graded", reason="not graded yet"))),
    ), wall_seconds=3.5)


def test_grades_csv_one_row_per_student_one_column_per_exercise() -> None:
    rows = list(csv.reader(io.StringIO(grades_csv(_class()))))
    assert rows == [
        ["student", "exercise-03", "exercise-05", "total"],
        ["alice", "5", "2", "7"],
        ["bob", "2", "0", "2"],  # nothing handed in for exercise-05: 0
        ["'=cmd()", "0", "3", "3"],  # a formula-looking name is kept as text
        ["<b>mallory</b>", "", "", ""],  # rejected: no grade, the instructor decides
        ["zoe", "3", "", "3"],  # not graded yet: empty, never a silent 0
    ]
    assert grades_csv(_class()).endswith("\r\n")


def test_results_json_holds_every_check(tmp_path: Path) -> None:
    write_results_json(_class(), tmp_path / "results.json")
    document = json.loads((tmp_path / "results.json").read_text())
    assert document["format_version"] == 1
    assert [e["short_name"] for e in document["exercises"]] == ["exercise-03", "exercise-05"]
    alice = document["students"][0]
    assert alice["total"] == 7 and alice["max_total"] == 10
    fast = alice["exercises"][1]["result"]["checks"][1]
    assert fast["status"] == "failed" and fast["points"] == 0
    assert fast["feedback"]["misconception"] == SEQUENTIAL.misconception
    assert fast["sim_elapsed"] == 1.0 and fast["duration"] == 0.01
    mallory = document["students"][3]
    assert mallory["exercises"][0]["state"] == "rejected" and mallory["total"] is None


def test_exports_replace_files_whole(tmp_path: Path) -> None:
    path = tmp_path / "grades.csv"
    path.write_text("old")
    write_grades_csv(_class(), path)
    assert path.read_text().startswith("student,")
    assert [p.name for p in tmp_path.iterdir()] == ["grades.csv"]  # no temporary left


def test_class_summary_numbers() -> None:
    summary = summarize(_class())
    e3 = summary.exercises[0]
    assert (e3.graded, e3.full_marks, e3.zero, e3.unchanged_stub) == (4, 1, 1, 1)
    assert [(b.label, b.count) for b in e3.distribution] == [
        ("0", 1), ("1", 0), ("2", 1), ("3", 1), ("4", 0), ("5", 1)]
    failed = {(f.exercise, f.check): f for f in summary.failed_checks}
    # The unchanged stub is not counted: its failures say nothing about misconceptions.
    fast = failed["exercise-03", "fast"]
    assert (fast.failed, fast.graded) == (1, 3)
    assert fast.reasons == ((SEQUENTIAL.misconception, 1),)
    # Highest failure rate first.
    assert [f.rate for f in summary.failed_checks] == [0.5, 0.5, 1 / 3, 1 / 3]
    assert all(NOT_WRITTEN not in r for f in summary.failed_checks for r, _ in f.reasons)
    troubles = {(t.student, t.exercise, t.kind) for t in summary.troubles}
    assert troubles == {("=cmd()", "exercise-05", "timed out"), ("zoe", "exercise-03", "crashed")}
    assert summary.rejected == (("<b>mallory</b>", "", "rejected: the zip holds paths that "
                                                        "point outside it"),)
    assert summary.not_graded == (("zoe", "exercise-05", "not graded yet"),)
    assert summary.timing.gradings_run == 6 and summary.timing.slowest[0] == (
        "=cmd()", "exercise-05", 9.0)


def test_class_summary_page_escapes_what_students_control() -> None:
    page = render_class_report(summarize(_class(), links={"alice": "students/alice.html"}))
    assert "<b>mallory</b>" not in page and "&lt;b&gt;mallory&lt;/b&gt;" in page
    assert "Not every submission has been graded yet" in page
    assert 'href="students/alice.html"' in page
    assert SEQUENTIAL.misconception in page


def test_report_file_names_are_safe_and_distinct() -> None:
    names = report_file_names(["alice", "Alice", "../../etc/passwd", "<b>", "a b"])
    assert names == {"alice": "alice.html", "Alice": "Alice-2.html",
                     "../../etc/passwd": "etc_passwd.html", "<b>": "b.html", "a b": "a_b.html"}


def test_one_feedback_page_per_student(tmp_path: Path, exercise03: Exercise) -> None:
    graded = _graded(exercise03.name, "passed", "failed")
    outcome = ExerciseOutcome(exercise03.name, "graded", graded.result, "a/fetcher.py", "f",
                              0.4, graded_at="2026-01-05T10:00:00+00:00")
    results = ClassResults(
        (EXERCISES[0],),
        (StudentRecord("<i>ann</i>", "ann", (outcome,)),
         StudentRecord("bo", "bo.zip", (ExerciseOutcome(exercise03.name, "rejected"),),
                       problems=("is empty",))),
    )

    links = write_student_reports(results, [exercise03], tmp_path)

    # A rejected entry gets a page too, saying why (tests/test_student_reports.py).
    assert links == {"<i>ann</i>": "students/i_ann_i.html", "bo": "students/bo.html"}
    page = (tmp_path / links["<i>ann</i>"]).read_text()
    assert "Feedback for &lt;i&gt;ann&lt;/i&gt;" in page
    assert SEQUENTIAL.misconception in page and "Runs concurrently" in page
    assert sorted(p.name for p in (tmp_path / "students").iterdir()) == ["bo.html",
                                                                          "i_ann_i.html"]


def test_class_summary_lists_runs_flagged_for_review_and_missing_protections() -> None:
    import dataclasses

    e3, e5 = (e.name for e in EXERCISES)
    tampered = _graded(e3, "error", "error")
    tampered = dataclasses.replace(tampered, result=dataclasses.replace(
        tampered.result, notes=("flagged for review: grading code was patched: asyncio.sleep",
                                "protection not available: process limit")))
    results = ClassResults(EXERCISES, (
        StudentRecord("trent", "trent", (tampered, ExerciseOutcome(e5, "not submitted"))),
        StudentRecord("alice", "alice", (_graded(e3, "passed", "passed"),
                                         _graded(e5, "passed", "passed"))),
    ))
    summary = summarize(results)
    assert summary.for_review == (("trent", "exercise-03",
                                   "grading code was patched: asyncio.sleep"),)
    assert summary.unprotected == ("process limit",)
    page = render_class_report(summary)
    assert "Flagged for review" in page and "asyncio.sleep" in page
    assert "Protections not available on this machine" in page
