"""Moodle: the names in an assignment's "Download all submissions", and grade import.

**Download names.** Moodle writes each student's files as
``<Full Name>_<participant id>_assignsubmission_<plugin>_`` followed by the file name,
or, with "Download submissions in folders", as a folder of that name (``file`` for
uploaded files, ``onlinetext`` for online text). The number is the assignment's
participant id (the "Participant N" of its grading worksheet), not the Moodle user id.

**Grade import** ("Import grades from CSV", checked against Moodle's
``gradeimport_csv_load_data`` and ``csv_import_reader``):

* one header row, then one row per student, every row with as many cells as the
  header (else the whole file is refused); a UTF-8 byte order mark is stripped and CRLF
  read as a line end;
* the instructor maps ONE column to the user ("Map from") and chooses the user field it
  holds ("Map to": email address, username, ID number or Moodle user id); a row whose
  user can't be found stops the whole import, so rows without that identifier are left
  out (and listed) rather than written;
* no points-possible row: a grade column mapped to "new grade item" creates an item out
  of 100, so each item's maximum is set in Moodle (the notes say which); a blank or ``-``
  cell is "no grade".
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
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

__all__ = ["MoodleName", "gradebook", "parse_download_name"]

FILE_NAME = "grades-moodle.csv"
_DOWNLOAD = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_"
                       r"(?P<file>.*)$", re.DOTALL)
# (header, Moodle's "Map to" choice, the identity field), in order of preference
_IDENTIFIERS = (("Email address", "Email address", "email"),
                ("Username", "Username", "username"),
                ("ID number", "ID number", "sis_user_id"))


@dataclass(frozen=True)
class MoodleName:
    """What a Moodle download name says."""

    name: str  # the student's full name
    participant: str
    plugin: str  # "file", "onlinetext"
    file: str  # "" for a per-student folder


def parse_download_name(name: str) -> MoodleName | None:
    """The parts of a Moodle download name (file or folder), or None."""
    match = _DOWNLOAD.match(name)
    if not match or not match["name"].strip():
        return None
    return MoodleName(match["name"].strip(), match["participant"], match["plugin"],
                      match["file"])


def gradebook(results: ClassResults, identities: Mapping[str, Identity],
              columns: Sequence[GradeColumn], *, roster: bool) -> LmsFile:
    """The Moodle import file for the class, and how to map it."""
    people = [identities[s.student] for s in results.students]
    coverage = [sum(bool(getattr(p, field)) for p in people) for _, _, field in _IDENTIFIERS]
    best = max(range(len(_IDENTIFIERS)), key=lambda i: (coverage[i], -i))
    if coverage[best]:
        header_name, map_to, field = _IDENTIFIERS[best]
        value = lambda person, student: getattr(person, field)  # noqa: E731
    else:  # no roster, or one without any of the three: the entry's own name
        header_name, map_to = "Username", "Username"
        value = lambda person, student: person.folder or student  # noqa: E731
    header = ["First name", "Last name", header_name, *(text_cell(c.title) for c in columns)]
    rows = [header]
    left_out = []
    for student in results.students:
        person = identities[student.student]
        identifier = value(person, student.student)
        if not identifier:
            left_out.append(student.student)
            continue
        first, last = split_name(person.name or student.student)
        outcomes = {o.exercise: o for o in student.outcomes}
        rows.append([text_cell(first), text_cell(last), text_cell(identifier),
                     *(grade_cell(outcomes[c.exercise], c) for c in columns)])
    notes = [f"{FILE_NAME}: in Moodle's import, set Identify user by: Map from "
             f"'{header_name}', Map to '{map_to}'"
             + ("" if coverage[best] else
                " (it holds folder names: rename the entries after Moodle usernames, or grade "
                "again with --roster)")]
    if left_out:
        shown = ", ".join(left_out[:5]) + (" ..." if len(left_out) > 5 else "")
        notes.append(f"{FILE_NAME}: left out {len(left_out)} student(s) with no "
                     f"{header_name.lower()} ({shown}): Moodle stops the whole import at a "
                     "row it can't match; enter their grades by hand")
    points = ", ".join(f"{c.title!r} {c.points}" for c in columns[:3])
    notes.append(f"{FILE_NAME}: Moodle has no points row; map each column to its grade item, "
                 f"or to a new item and then set its maximum grade ({points}"
                 + (" ..." if len(columns) > 3 else "") + ")")
    return LmsFile(FILE_NAME, csv_text(rows), tuple(notes))
