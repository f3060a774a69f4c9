"""Canvas: the names in a "Download Submissions" zip, and the gradebook "Import" reads.

**Download names.** Canvas writes every student's files flat, renamed
``<name>_<user id>_<submission id>_<file name>``, with ``LATE_`` before the user id for
a late submission and ``-N`` before the extension when the student uploaded a file of
that name before (``smithjohn_LATE_12345_67890_fetcher-1.py``). The user id is the
student's Canvas id, the ``ID`` column of the gradebook, so it identifies the student
without a roster.

**Gradebook import** (checked against Canvas's own importer, ``GradebookImporter``):

* the header starts ``Student``, ``ID``; then ``SIS Login ID``, or ``SIS User ID`` and
  ``SIS Login ID``, or neither; then ``Section``, which must be the last student column;
* each assignment column is ``Title (assignment id)``; a title without an id creates a
  new assignment, and so would an extra "total" column, so there is none;
* a row whose first cell contains ``Points Possible`` gives each column's points;
* a student is found by ``ID`` (Canvas user id), else by SIS User ID, then SIS Login ID,
  then by name; a blank grade changes nothing;
* a byte order mark is harmless (the header is matched by substring, and Canvas's own
  export writes one on request); line ends may be CRLF or LF.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from grader.bulk.lms.columns import GradeColumn, LmsFile, csv_text, grade_cell, text_cell

if TYPE_CHECKING:
    from grader.bulk.classbook import ClassResults
    from grader.bulk.roster import Identity

__all__ = ["CanvasFile", "gradebook", "parse_download_name"]

FILE_NAME = "grades-canvas.csv"
_DOWNLOAD = re.compile(r"^(?P<name>[^_]+)_(?P<late>LATE_)?(?P<user>\d+)_(?P<submission>\d+)_"
                       r"(?P<file>.+)$")
_RESUBMITTED = re.compile(r"^(?P<stem>.+)-(?P<number>\d+)(?P<suffix>\.[^.]+)?$")


@dataclass(frozen=True)
class CanvasFile:
    """What a file name from a Canvas download says."""

    name: str  # "smithjohn": Canvas's compact form of the student's name
    user_id: str
    submission_id: int
    late: bool
    file: str  # the file's name as Canvas wrote it after the ids: "fetcher-1.py"
    original: str  # without Canvas's "-N": "fetcher.py"
    resubmission: int  # N, 0 when the name has none

    def named(self, modules: frozenset[str]) -> tuple[str, int]:
        """(the file's own name, its resubmission number), knowing the course's modules:
        a "-N" is Canvas's only when the name without it is a module and with it is not."""
        if self.file not in modules and self.original in modules:
            return self.original, self.resubmission
        return self.file, 0


def parse_download_name(name: str) -> CanvasFile | None:
    """The parts of a Canvas download file name, or None when ``name`` is not one."""
    match = _DOWNLOAD.match(name)
    if not match:
        return None
    file = match["file"]
    resubmitted = _RESUBMITTED.match(file)
    original, number = file, 0
    if resubmitted:
        original = resubmitted["stem"] + (resubmitted["suffix"] or "")
        number = int(resubmitted["number"])
    return CanvasFile(match["name"], match["user"], int(match["submission"]),
                      bool(match["late"]), file, original, number)


def gradebook(results: ClassResults, identities: Mapping[str, Identity],
              columns: Sequence[GradeColumn], *, roster: bool) -> LmsFile:
    """The Canvas import file for the class, and what to check when importing it."""
    people = [identities[s.student] for s in results.students]
    sis_user = any(p.sis_user_id for p in people)
    sis_login = sis_user or any(p.sis_login_id or p.username for p in people)
    header = ["Student", "ID"]
    if sis_user:
        header.append("SIS User ID")
    if sis_login:
        header.append("SIS Login ID")
    header.append("Section")
    identity_width = len(header)
    header += [text_cell(f"{c.title} ({c.lms_id})" if c.lms_id else c.title) for c in columns]
    rows = [header, ["Points Possible", *[""] * (identity_width - 1),
                     *(str(c.points) for c in columns)]]
    with_id = 0
    for student, person in zip(results.students, people, strict=True):
        # Canvas user ids are numbers; a Moodle participant id or "Participant 7" is not one
        canvas_id = person.lms_id if person.lms in ("", "canvas") else ""
        canvas_id = canvas_id if canvas_id.isdigit() else ""
        with_id += bool(canvas_id)
        row = [text_cell(person.name or student.student), canvas_id]
        if sis_user:
            row.append(text_cell(person.sis_user_id))
        if sis_login:
            row.append(text_cell(person.sis_login_id or person.username))
        row.append(text_cell(person.section))
        outcomes = {o.exercise: o for o in student.outcomes}
        row += [grade_cell(outcomes[c.exercise], c) for c in columns]
        rows.append(row)
    notes = []
    if with_id < len(people):
        source = "the roster" if roster else "Canvas file names"
        notes.append(
            f"{FILE_NAME}: {len(people) - with_id} of {len(people)} rows have no Canvas user "
            f"ID ({source} gave none); Canvas matches those by SIS id, then by the name in "
            "the Student column: check the students its import preview lists as unknown"
            + ("" if roster else ", or grade again with --roster"))
    new = [c.title for c in columns if not c.lms_id]
    if new:
        notes.append(f"{FILE_NAME}: {len(new)} column(s) without a Canvas assignment id "
                     f"(such as {new[0]!r}) become new assignments on import; give ids with "
                     "--lms-columns FILE ('exercise-03 = Title (1234)') to fill existing ones")
    return LmsFile(FILE_NAME, csv_text(rows), tuple(notes))
