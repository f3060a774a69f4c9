"""One HTML feedback report per student, the same page a student gets from ``grade report``.

The page is :func:`grader.report_html.render_report`, fed with what bulk grading knows:
each graded exercise becomes one attempt of the student's own work (so it counts as
"done" when every check passed), no hints seen (the instructor can't know), and only the
exercises this run graded, so ``--exercises 03`` does not list the others as "not
started". Timelines and messages come with each check's result, as in the student's
own report.

Students whose entry could not be graded at all get no page: the class summary lists
them with the reason, and a page saying "nothing graded yet" would mislead.

The student's folder name is shown cleaned (:func:`grader.sanitize.clean_name`), and
file names are made of safe characters only (:func:`report_file_names`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.bulk.classbook import ClassResults, StudentRecord
from grader.course import Course, Exercise
from grader.progress import build_progress
from grader.progress_store import Attempt, AttemptScore
from grader.report_html import render_report, write_report
from grader.sanitize import clean_name

__all__ = ["report_file_names", "write_student_reports"]

FOLDER = "students"


@dataclass(frozen=True)
class _GradedCourse(Course):
    """The course narrowed to the exercises this run graded, for ``build_progress``."""

    graded: tuple[Exercise, ...] = ()

    @property
    def exercises(self) -> tuple[Exercise, ...]:  # type: ignore[override]
        return self.graded


def report_file_names(students: Sequence[str]) -> dict[str, str]:
    """A distinct, safe file name per student (names are folder names students chose)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", student).strip("._-")[:80] or "student"
        name, n = base, 1
        while name.lower() in taken:  # case-insensitive file systems
            n += 1
            name = f"{base}-{n}"
        taken.add(name.lower())
        names[student] = f"{name}.html"
    return names


def _attempts(student: StudentRecord) -> list[Attempt]:
    attempts = []
    for number, outcome in enumerate(student.outcomes, start=1):
        if outcome.result is not None:
            attempts.append(Attempt(number, clean_name(outcome.graded_at, 40), "stub", 0,
                                    outcome.result))
    return attempts


def write_student_reports(results: ClassResults, exercises: Sequence[Exercise],
                          folder: Path, *, generated_at: datetime | None = None
                          ) -> dict[str, str]:
    """Write the reports into ``folder``/students; returns student -> link from ``folder``."""
    course = _GradedCourse(exercises[0].course_root, tuple(exercises)) if exercises else None
    names = report_file_names([s.student for s in results.students])
    links = {}
    for student in results.students:
        attempts = _attempts(student)
        if course is None or not attempts:
            continue
        scores = [AttemptScore(a.id, a.exercise, a.graded_at, a.source, a.result.score,
                               a.result.max_score, a.result.all_passed, a.hint_level)
                  for a in attempts]
        html = render_report(build_progress(course, scores, {}), attempts,
                             title=f"Feedback for {clean_name(student.student)}",
                             generated_at=generated_at)
        write_report(folder / FOLDER / names[student.student], html)
        links[student.student] = f"{FOLDER}/{names[student.student]}"
    return links
