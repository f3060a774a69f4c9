"""A plain gradebook for any other LMS or a spreadsheet: identities, then grades.

For importers with no format of their own to follow (Brightspace's or a Google Sheet's
column mapping, a department's script): the student as every other output names them,
each identifier the roster gave, one column per grade column, and a ``Points possible``
row under the header. No total: an LMS computes its own, and a total column would be
imported as one more assignment. UTF-8 with a byte order mark, CRLF.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from grader.bulk.lms.columns import GradeColumn, LmsFile, csv_text, grade_cell, text_cell

if TYPE_CHECKING:
    from grader.bulk.classbook import ClassResults
    from grader.bulk.roster import Identity

__all__ = ["gradebook"]

FILE_NAME = "grades-plain.csv"
_FIELDS = (("Name", "name"), ("Email", "email"), ("Username", "username"),
           ("LMS ID", "lms_id"), ("SIS User ID", "sis_user_id"),
           ("SIS Login ID", "sis_login_id"), ("Section", "section"))


def gradebook(results: ClassResults, identities: Mapping[str, Identity],
              columns: Sequence[GradeColumn], *, roster: bool) -> LmsFile:
    """The plain gradebook: ``Student``, the identity columns that hold anything, grades."""
    people = [identities[s.student] for s in results.students]
    fields = [(h, f) for h, f in _FIELDS if any(getattr(p, f) for p in people)]
    header = ["Student", *(h for h, _ in fields), *(text_cell(c.title) for c in columns)]
    rows = [header, ["Points possible", *[""] * len(fields), *(str(c.points) for c in columns)]]
    for student, person in zip(results.students, people, strict=True):
        outcomes = {o.exercise: o for o in student.outcomes}
        rows.append([text_cell(student.student),
                     *(text_cell(getattr(person, f)) for _, f in fields),
                     *(grade_cell(outcomes[c.exercise], c) for c in columns)])
    notes = () if roster else (f"{FILE_NAME}: no roster, so students are named by their "
                               "entries; map the Student column to your LMS's identifier",)
    return LmsFile(FILE_NAME, csv_text(rows), notes)
