"""What an instructor publishes: ``grades.csv`` for the LMS, ``results.json`` in full.

``grades.csv`` is the lowest common denominator every LMS grade import accepts (Moodle,
Canvas, Blackboard, Brightspace, Google Classroom via a sheet): UTF-8, comma separated,
one header row, one row per student, the student identifier in the first column,
numbers only in the grade columns. The columns are documented in docs/bulk-grading.md.

An empty cell means "no grade could be given" (the entry or file was rejected, or the
grading did not happen) rather than 0, so an import never publishes a zero the
instructor did not decide on. A student who handed nothing in for an exercise gets 0.

Files are written to a temporary name and renamed, so an interrupted export never
leaves half a CSV where the previous complete one was.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from grader.bulk.classbook import ClassResults, ExerciseOutcome, StudentRecord

__all__ = ["RESULTS_FORMAT_VERSION", "results_document", "write_atomic", "write_grades_csv",
           "write_results_json"]

RESULTS_FORMAT_VERSION = 1
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so a reader sees the old file or the new one, never half."""
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _cell_text(value: str) -> str:
    # A spreadsheet would run "=HYPERLINK(...)" as a formula; a leading ' keeps it text.
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def grades_csv(results: ClassResults) -> str:
    """The CSV text: ``student``, one column per exercise (short name), ``total``."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(["student", *(e.short_name for e in results.exercises), "total"])
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
        "reason": outcome.reason,
        "file": outcome.origin,
        "file_sha256": outcome.file_hash,
        "unchanged_stub": outcome.unchanged_stub,
        "grading_seconds": round(outcome.seconds, 4),
        "reused_from": outcome.reused_from,
        "result": outcome.result.to_dict() if outcome.result else None,
    }


def _student_dict(student: StudentRecord, results: ClassResults) -> dict[str, Any]:
    return {
        "student": student.student,
        "source": student.source,
        "total": student.total,
        "max_total": results.max_total,
        "problems": list(student.problems),
        "flags": list(student.flags),
        "exercises": [_outcome_dict(o, e.max_score)
                      for o, e in zip(student.outcomes, results.exercises, strict=True)],
    }


def results_document(results: ClassResults) -> dict[str, Any]:
    """Everything, per student, exercise and check, as JSON-ready data."""
    return {
        "format_version": RESULTS_FORMAT_VERSION,
        "complete": results.complete,
        "max_total": results.max_total,
        "wall_seconds": round(results.wall_seconds, 3),
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
    write_atomic(path, json.dumps(results_document(results), indent=2) + "\n")
