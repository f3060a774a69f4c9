"""One feedback page per student, written for the student receiving the grade.

``grade report`` is a student's page about their own practice (tries, hints, "Next: run
grade exercise-03"); none of that is true of a graded hand-in, so this page is its
own (``grader/render/templates/student_feedback.html.j2``) and says what a grade needs:

* who: the student's name (the roster's, when a roster matched them), the identifiers
  the roster gives, and the entry it was read from;
* the total and every graded exercise's score, "not submitted" (0 points) for an
  exercise the entry held no file for, "no grade" for a file that was rejected or not
  graded yet, with the reason;
* per exercise, the file that was graded, as it sits in the hand-in
  (``alice.zip/exercises/exercise-03-concurrent-fetch/fetcher.py``), and per check its
  status, points and teaching message, with the simulated timeline of timing checks
  (:mod:`grader.render.timeline_svg`) and the traceback trimmed to the student's file;
* notes in words for the student: a grading set aside for review, a protection the
  grading machine lacked, files of the entry that were ignored;
* a rejected entry gets a page too, saying why nothing could be graded and what to do.

Nothing here names another student (not even a reused verdict's owner): pages are
meant to be handed out. The class summary has the instructor's view.

Safety: results are clean when built and names and intake's messages are cleaned here
(:mod:`grader.supervision.sanitize`); the template autoescapes, and the page loads nothing (inline
CSS and SVG, a ``default-src 'none'`` Content-Security-Policy). File names are made of
safe characters only (:func:`report_file_names`). The pages are written into a fresh
folder that replaces ``students/`` whole, so a page of a student no longer in the
class does not linger beside the new ones.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import jinja2
from markupsafe import Markup

from grader.bulk.classbook import ClassResults, ExerciseInfo, ExerciseOutcome, StudentRecord
from grader.course.course import Course, Exercise
from grader.errors import GraderError
from grader.render.timeline_svg import timeline_summary, timeline_svg
from grader.supervision.results import CheckResult
from grader.supervision.sanitize import clean_name, clean_text

if TYPE_CHECKING:
    from grader.bulk.roster import Identity

__all__ = ["FOLDER", "StudentPage", "build_page", "render_student_page", "report_file_names",
           "write_student_reports"]

FOLDER = "students"

CHECK_WORDS = {
    "passed": ("✓", "passed"),
    "failed": ("✗", "failed"),
    "error": ("!", "error"),
    "timed out": ("⏱", "timed out"),
    "blocked": ("◌", "not counted yet"),  # passes, but a check it requires did not
}

_REVIEW = "flagged for review: "
_UNPROTECTED = "protection not available: "
_IDENTITY_FIELDS = (("email", "Email"), ("username", "Username"), ("sis_user_id", "Student ID"),
                    ("section", "Section"))


@dataclass(frozen=True)
class CheckView:
    title: str
    task: int
    status: str  # as stored: a CSS class and the key of CHECK_WORDS
    mark: str
    word: str
    points: int
    max_points: int
    what: str
    why: str
    next_step: str
    traceback: str
    same_as_above: bool  # the same failure as an earlier check: said once
    timeline: Markup | None
    timeline_text: str


@dataclass(frozen=True)
class ExerciseView:
    anchor: str
    short_name: str
    title: str
    state: str  # one of grader.bulk.classbook.STATES
    score: int | None  # None: no grade (rejected, not graded yet)
    max_score: int
    file: str  # as handed in, "" when nothing was
    reason: str  # why rejected or not graded
    checks: tuple[CheckView, ...]
    notes: tuple[str, ...]

    @property
    def heading_status(self) -> str:
        if self.state == "graded":
            return f"{self.score}/{self.max_score} points"
        if self.state == "not submitted":
            return f"not submitted, 0/{self.max_score} points"
        return "no grade"


@dataclass(frozen=True)
class StudentPage:
    name: str
    details: tuple[tuple[str, str], ...]  # (label, value): identifiers, the entry
    total: int | None
    max_total: int
    exercises: tuple[ExerciseView, ...]
    problems: tuple[str, ...]  # why the whole entry was rejected
    flags: tuple[str, ...]
    course: str
    generated: str

    @property
    def rejected(self) -> bool:
        return bool(self.problems)


def report_file_names(students: Sequence[str]) -> dict[str, str]:
    """A distinct, safe file name per student (names are folder names students chose)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for student in students:
        # Accents dropped first, so "Émile" is Emile.html rather than mile.html.
        plain = "".join(c for c in unicodedata.normalize("NFKD", student)
                        if not unicodedata.combining(c))
        base = re.sub(r"[^A-Za-z0-9._-]+", "_", plain).strip("._-")[:80] or "student"
        name, n = base, 1
        while name.lower() in taken:  # case-insensitive file systems
            n += 1
            name = f"{base}-{n}"
        taken.add(name.lower())
        names[student] = f"{name}.html"
    return names


def _note_for_student(note: str) -> str:
    """A runner's note (written for the instructor's terminal) in words for the student."""
    if note.startswith(_REVIEW):
        return (f"Set aside for your instructor to review ({note.removeprefix(_REVIEW)}). "
                "The checks it affected earn no points until your instructor has looked "
                "at your file.")
    if note.startswith(_UNPROTECTED):
        return ("Graded without one of the grader's protections, which the grading "
                f"machine lacked ({note.removeprefix(_UNPROTECTED)}). Your score does not "
                "depend on it.")
    return note


def _check_views(short_name: str, checks: Sequence[CheckResult]) -> tuple[CheckView, ...]:
    views = []
    seen: set[tuple[str | None, str]] = set()
    for position, check in enumerate(checks):
        mark, word = CHECK_WORDS.get(check.status, ("?", check.status))
        feedback = None if check.passed else check.feedback
        problem = (feedback.what if feedback else None, check.traceback)
        same = feedback is not None and problem in seen
        seen.add(problem)
        drawn = check.timeline is not None and check.timeline.get("budget") is not None
        views.append(CheckView(
            title=check.title, task=check.task, status=check.status, mark=mark, word=word,
            points=check.points, max_points=check.max_points,
            what=feedback.what if feedback else "",
            why=feedback.misconception if feedback else "",
            next_step=feedback.next_step if feedback else "",
            traceback="" if check.passed else check.traceback,
            same_as_above=same,
            timeline=Markup(timeline_svg(check.timeline, id_prefix=f"{short_name}-{position}"))
            if drawn and check.timeline else None,
            timeline_text=timeline_summary(check.timeline) if drawn and check.timeline else "",
        ))
    return tuple(views)


def _exercise_view(info: ExerciseInfo, outcome: ExerciseOutcome) -> ExerciseView:
    result = outcome.result
    notes = [_note_for_student(n) for n in result.notes] if result else []
    if outcome.unchanged_stub:
        notes.insert(0, "This is the exercise's stub as it was handed out: nothing of it "
                        "was written yet.")
    reason = clean_text(outcome.reason)
    if outcome.state == "not graded":
        reason = "not graded yet; your instructor will grade it again."
    return ExerciseView(
        anchor=clean_name(info.short_name), short_name=clean_name(info.short_name),
        title=clean_name(info.title), state=outcome.state, score=outcome.score,
        max_score=info.max_score, file=clean_name(outcome.origin, 400), reason=reason,
        checks=_check_views(info.short_name, result.checks) if result else (),
        notes=tuple(clean_text(n) for n in notes),
    )


def _details(student: StudentRecord, identity: Identity | None) -> tuple[tuple[str, str], ...]:
    rows = []
    if identity is not None:
        rows += [(label, clean_name(getattr(identity, field)))
                 for field, label in _IDENTITY_FIELDS if getattr(identity, field)]
    if student.source:
        rows.append(("Handed in as", clean_name(student.source, 400)))
    return tuple(rows)


def build_page(student: StudentRecord, results: ClassResults, *,
               identity: Identity | None = None, course: str = "",
               generated_at: datetime | None = None) -> StudentPage:
    """Everything one student's page shows, as plain data (testable without HTML)."""
    when = generated_at or datetime.now().astimezone()
    return StudentPage(
        # The name as every other output shows it: with a roster, the roster's.
        name=clean_name(student.student),
        details=_details(student, identity),
        total=None if student.problems else student.total,
        max_total=results.max_total,
        exercises=() if student.problems else tuple(
            _exercise_view(info, outcome)
            for info, outcome in zip(results.exercises, student.outcomes, strict=True)),
        problems=tuple(clean_text(p) for p in student.problems),
        flags=tuple(clean_text(f) for f in student.flags),
        course=clean_name(course),
        generated=when.strftime("%Y-%m-%d %H:%M"),
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_student_page(page: StudentPage) -> str:
    return _environment().get_template("student_feedback.html.j2").render(p=page)


def _course_title(exercises: Sequence[Exercise]) -> str:
    if not exercises:
        return ""
    try:
        return Course(exercises[0].course_root).info.title
    except GraderError:
        return ""


def write_student_reports(results: ClassResults, exercises: Sequence[Exercise],
                          folder: Path, *, identities: Mapping[str, Identity] | None = None,
                          generated_at: datetime | None = None) -> dict[str, str]:
    """Write every student's page into ``folder``/students, replacing that folder whole.

    Returns student -> link from ``folder``, in the order of ``results``. ``exercises``
    are the graded ones (for the course's title); ``identities`` come from the roster.
    """
    names = report_file_names([s.student for s in results.students])
    course = _course_title(exercises)
    for leftover in folder.glob(f".{FOLDER}.*"):  # from a run killed while writing
        shutil.rmtree(leftover, ignore_errors=True)
    fresh = Path(tempfile.mkdtemp(prefix=f".{FOLDER}.", dir=folder))
    links = {}
    try:
        for student in results.students:
            page = build_page(student, results, course=course, generated_at=generated_at,
                              identity=(identities or {}).get(student.student))
            (fresh / names[student.student]).write_text(render_student_page(page),
                                                        encoding="utf-8")
            links[student.student] = f"{FOLDER}/{names[student.student]}"
        _replace_folder(fresh, folder / FOLDER)
    except BaseException:
        shutil.rmtree(fresh, ignore_errors=True)
        raise
    return links


def _replace_folder(fresh: Path, target: Path) -> None:
    """Put ``fresh`` where ``target`` is: two renames, so readers see old or new pages."""
    if not target.exists():
        os.rename(fresh, target)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.rename(target, old / target.name)
    os.rename(fresh, target)
    shutil.rmtree(old, ignore_errors=True)
