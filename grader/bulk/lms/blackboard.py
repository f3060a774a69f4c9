"""Blackboard Learn: the file Grade Center's "Work Offline > Upload" reads.

As Blackboard's documentation for uploading grades from an external file states:

* each student is found by ``Username``, and only by it: a row without one can't be
  uploaded, so such rows are left out (and listed) instead of written; the name and
  ``Student ID`` columns are for people, Blackboard does not change them;
* each column is found by its column id, written as Grade Center downloads it:
  ``Title [Total Pts: 11 Score] |1234``; a header without an id creates a new column,
  of no points, whose points the instructor sets afterwards (the notes list them), so
  such a header is the bare title, the name the new column will carry;
* a comma-separated file has every value in quotes; a UTF-8 byte order mark lets Excel
  show names as written. Calculated columns (totals) can't be uploaded: there is none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from grader.bulk.lms.columns import (
    GradeColumn,
    LmsFile,
    csv_text,
    grade_cell,
    split_name,
    text_cell,
)

if TYPE_CHECKING:
    from grader.bulk.classbook import ClassResults
    from grader.bulk.roster import Identity

__all__ = ["column_header", "gradebook"]

FILE_NAME = "grades-blackboard.csv"


def column_header(column: GradeColumn) -> str:
    """``Title [Total Pts: N Score] |id`` for an existing column, the title for a new one."""
    if column.lms_id:
        return f"{column.title} [Total Pts: {column.points} Score] |{column.lms_id}"
    return column.title


def gradebook(results: ClassResults, identities: Mapping[str, Identity],
              columns: Sequence[GradeColumn], *, roster: bool) -> LmsFile:
    """The Grade Center upload file for the class, and what to do after uploading it."""
    header = ["Last Name", "First Name", "Username", "Student ID",
              *(text_cell(column_header(c)) for c in columns)]
    rows = [header]
    left_out = []
    from_folders = 0
    for student in results.students:
        person = identities[student.student]
        username = person.username or person.sis_login_id
        if not username and not roster:
            username = person.folder or student.student
            from_folders += 1
        if not username:
            left_out.append(student.student)
            continue
        first, last = split_name(person.name or student.student)
        outcomes = {o.exercise: o for o in student.outcomes}
        rows.append([text_cell(last), text_cell(first), text_cell(username),
                     text_cell(person.sis_user_id),
                     *(grade_cell(outcomes[c.exercise], c) for c in columns)])
    notes = []
    if from_folders:
        notes.append(f"{FILE_NAME}: the Username column holds {from_folders} folder name(s); "
                     "Blackboard matches rows by username only: rename the entries after "
                     "Blackboard usernames, or grade again with --roster")
    if left_out:
        shown = ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else "")
        notes.append(f"{FILE_NAME}: left out {len(left_out)} student(s) with no username on "
                     f"the roster ({shown}); enter their grades by hand")
    new = [c for c in columns if not c.lms_id]
    if new:
        points = ", ".join(f"{c.title!r} {c.points}" for c in new[:3])
        notes.append(f"{FILE_NAME}: {len(new)} column(s) have no Blackboard column id and "
                     f"become new columns of 0 points: set their points after the upload "
                     f"({points}{' ...' if len(new) > 3 else ''}), or give the ids with "
                     "--lms-columns FILE ('exercise-03 = Title (1234)')")
    return LmsFile(FILE_NAME, csv_text(rows, quote_all=True), tuple(notes))
