"""What an instructor publishes: ``grades.csv``, ``results.json``, and LMS gradebooks.

``grades.csv`` is the lowest common denominator every LMS grade import accepts (Moodle,
Canvas, Blackboard, Brightspace, Google Classroom via a sheet): UTF-8, comma separated,
one header row, one row per student, the student identifier in the first column,
numbers only in the grade columns. The columns are documented in docs/bulk-grading.md.

An empty cell means "no grade could be given" (the entry or file was rejected, or the
grading did not happen) rather than 0, so an import never publishes a zero the
instructor did not decide on. A student who handed nothing in for an exercise gets 0.

Files are written to a temporary name and renamed, so an interrupted export never
leaves half a CSV where the previous complete one was.

``grade bulk --lms canvas`` (and ``moodle``, ``blackboard``, ``plain``) also writes
``grades-<lms>.csv``, the file that LMS's grade importer reads, built by
:mod:`grader.bulk.lms` from the same results and the students' identities
(:mod:`grader.bulk.roster`); :func:`write_lms_gradebooks` writes them and collects what
the instructor must know to import each.

What students control (their folder names, the paths inside their entries, intake's
messages about them) goes through :mod:`grader.supervision.sanitize` here; results are clean when
built. In ``grades.csv`` every text cell is also a
:func:`~grader.supervision.sanitize.spreadsheet_cell`,
so no spreadsheet or LMS evaluates it as a formula; ``results.json`` is strict JSON.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from grader.bulk.classbook import ClassResults, ExerciseOutcome, StudentRecord
from grader.bulk.lms.columns import ColumnSpec, grade_columns
from grader.supervision.sanitize import clean_name, clean_number, clean_text, spreadsheet_cell

if TYPE_CHECKING:
    from grader.bulk.roster import Identity

__all__ = ["RESULTS_FORMAT_VERSION", "results_document", "write_atomic", "write_grades_csv",
           "write_lms_gradebooks", "write_results_json"]

RESULTS_FORMAT_VERSION = 1


def write_atomic(path: Path, text: str | bytes) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8") if isinstance(text, str) else text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _cell_text(value: str) -> str:
    # A spreadsheet would run "=HYPERLINK(...)" as a formula; a leading ' keeps it text.
    return spreadsheet_cell(clean_name(value))


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def _seconds(value: float, digits: int) -> float:
    number = clean_number(value)
    return 0.0 if number is None else round(number, digits)


def grades_csv(results: ClassResults) -> str:
    """The CSV text: ``student``, one column per exercise (short name), ``total``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["student", *(_cell_text(e.short_name) for e in results.exercises),
                     "total"])
    for student in results.students:
        writer.writerow([
            _cell_text(student.student),
            *(_number(o.score) for o in student.outcomes),
            _number(student.total),
        ])
    return out.getvalue()


def write_grades_csv(results: ClassResults, path: Path) -> None:
    write_atomic(path, grades_csv(results))


def _outcome_dict(outcome: ExerciseOutcome, max_score: int) -> dict[str, Any]:
    return {
        "exercise": outcome.exercise,
        "state": outcome.state,
        "score": outcome.score,
        "max_score": max_score,
        "reason": clean_text(outcome.reason),
        "file": clean_name(outcome.origin),
        "file_sha256": outcome.file_hash,
        "unchanged_stub": outcome.unchanged_stub,
        "grading_seconds": _seconds(outcome.seconds, 4),
        "reused_from": None if outcome.reused_from is None else clean_name(outcome.reused_from),
        "result": outcome.result.to_dict() if outcome.result else None,
    }


def _student_dict(student: StudentRecord, results: ClassResults) -> dict[str, Any]:
    return {
        "student": clean_name(student.student),
        "source": clean_name(student.source),
        "total": student.total,
        "max_total": results.max_total,
        "problems": [clean_text(p) for p in student.problems],
        "flags": [clean_text(f) for f in student.flags],
        "exercises": [_outcome_dict(o, e.max_score)
                      for o, e in zip(student.outcomes, results.exercises, strict=True)],
    }


def results_document(results: ClassResults) -> dict[str, Any]:
    """Everything, per student, exercise and check, as JSON-ready data."""
    return {
        "format_version": RESULTS_FORMAT_VERSION,
        "complete": results.complete,
        "max_total": results.max_total,
        "wall_seconds": _seconds(results.wall_seconds, 3),
        "exercises": [
            {
                "name": e.name,
                "short_name": e.short_name,
                "title": e.title,
                "module": e.module,
                "max_score": e.max_score,
                "suite_sha256": e.suite_hash,
                "checks": [{"name": c.name, "title": c.title, "task": c.task,
                            "points": c.points} for c in e.checks],
            }
            for e in results.exercises
        ],
        "students": [_student_dict(s, results) for s in results.students],
    }


def write_results_json(results: ClassResults, path: Path) -> None:
    write_atomic(path, json.dumps(results_document(results), indent=2, allow_nan=False) + "\n")


def write_lms_gradebooks(results: ClassResults, identities: Mapping[str, Identity], *,
                         formats: Sequence[str], spec: ColumnSpec, out: Path,
                         per_task: bool = False, roster: bool = False
                         ) -> tuple[list[Path], list[str]]:
    """Write ``grades-<lms>.csv`` for each of ``formats``; (files written, notes).

    The notes say what the instructor must do or check to import each file (which
    column identifies the student, which columns become new assignments, which rows
    were left out), and which cells are blank and why.
    """
    from grader.bulk.lms import blackboard, canvas, moodle, plain

    writers = {"canvas": canvas.gradebook, "moodle": moodle.gradebook,
               "blackboard": blackboard.gradebook, "plain": plain.gradebook}
    if not formats:
        return [], []
    columns = grade_columns(results, spec, per_task=per_task)
    written: list[Path] = []
    notes: list[str] = []
    for name in dict.fromkeys(formats):
        made = writers[name](results, identities, columns, roster=roster)
        write_atomic(out / made.file_name, made.data)
        written.append(out / made.file_name)
        notes += made.notes
    blank: dict[str, int] = {}
    for student in results.students:
        for outcome in student.outcomes:
            if outcome.state != "graded":
                blank[outcome.state] = blank.get(outcome.state, 0) + 1
    if blank:
        counts = ", ".join(f"{n} {state}" for state, n in sorted(blank.items()))
        notes.append(f"LMS files: cells are blank, not 0, where there is no grade ({counts}); "
                     "the class summary lists them: enter those grades by hand")
    return written, notes
