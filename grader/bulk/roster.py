"""Who the students are: a class roster, and matching each submission to one of them.

``grade bulk --roster roster.csv`` reads a CSV with a header line. Accepted columns
(header names are matched ignoring case, spaces, ``_`` and ``-``; unknown columns are
ignored, so an LMS's own export can serve as the roster):

=================  ======================================================================
field              header names
=================  ======================================================================
name               ``name``, ``student``, ``full name``, ``student name``; or
                   ``first name`` + ``last name``
email              ``email``, ``e-mail``, ``email address``
username           ``username``, ``login``, ``user``, ``netid``
LMS user id        ``id``, ``lms id``, ``lms user id``, ``user id``, ``canvas user id``,
                   ``participant id``, ``identifier``
SIS user id        ``sis user id``, ``sis id``, ``student id``, ``student number``,
                   ``id number``
SIS login id       ``sis login id``, ``login id``
section            ``section``, ``group``
=================  ======================================================================

A name column and at least one identifier column (email, username or an id) are
required; every row needs a name or an identifier, and no identifier may appear twice.
UTF-8 with or without a byte order mark; comma, semicolon or tab separated. Anything
wrong stops the run before grading with one line naming the file and line.

Matching (:func:`identify`), for each entry of the submissions folder:

* a Canvas download (``smithjohn_12345_...``): the LMS user id; a Moodle download
  (``Jane Roe_33333_assignsubmission_file_``): the LMS user id as the participant id
  (the grading worksheet's "Participant 33333"); either falls back to the name;
* any other entry: its name (without ``.zip``) against username, email, the ids and
  then the name, ignoring case.

A submission that matches nobody keeps its own name and is flagged; a roster student
who handed in nothing gets a row of "not submitted"; a roster row matched by two
entries grades neither (as two entries for one student always do). All of it is said in
the class summary and the terminal.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.bulk.intake import Submission
from grader.errors import GraderError
from grader.supervision.sanitize import clean_name

__all__ = ["IDENTIFIERS", "Identity", "Matched", "Roster", "RosterError", "identify",
           "load_roster"]

MAX_ROSTER_BYTES = 10 * 1024 * 1024  # a class of 100,000 students is about 10 MiB
IDENTIFIERS = ("email", "username", "lms_id", "sis_user_id", "sis_login_id")
_ALIASES = {
    "name": ("name", "student", "student name", "full name", "fullname", "display name"),
    "first_name": ("first name", "firstname", "given name"),
    "last_name": ("last name", "lastname", "surname", "family name"),
    "email": ("email", "e mail", "email address", "e mail address", "mail"),
    "username": ("username", "user name", "login", "user", "netid"),
    "lms_id": ("id", "lms id", "lms user id", "user id", "canvas id", "canvas user id",
               "moodle id", "participant id", "participant", "identifier"),
    "sis_user_id": ("sis user id", "sis id", "student id", "student number", "id number",
                    "idnumber"),
    "sis_login_id": ("sis login id", "login id"),
    "section": ("section", "sections", "group"),
}
_HEADER_FIELD = {alias: name for name, aliases in _ALIASES.items() for alias in aliases}
_SHOWN = {"email": "email", "username": "username", "lms_id": "LMS user id",
          "sis_user_id": "SIS user id", "sis_login_id": "SIS login id"}


class RosterError(GraderError):
    """Raised when the roster file can't be used; names the file, the line and the fix."""


@dataclass(frozen=True)
class Identity:
    """One student as the LMS knows them; empty strings for what isn't known."""

    name: str = ""
    email: str = ""
    username: str = ""
    lms_id: str = ""
    sis_user_id: str = ""
    sis_login_id: str = ""
    section: str = ""
    line: int = 0  # the roster line, 0 when not from a roster
    lms: str = ""  # "canvas" or "moodle" when lms_id came from that LMS's file names
    folder: str = ""  # the entry's own name in the submissions folder, "" if none

    def ids(self) -> dict[str, str]:
        return {f: getattr(self, f) for f in IDENTIFIERS if getattr(self, f)}

    def label(self) -> str:
        """How a message names this roster row."""
        shown = self.name or next(iter(self.ids().values()), "?")
        return f"line {self.line} ({clean_name(shown, 80)})"


@dataclass(frozen=True)
class Roster:
    path: Path
    students: tuple[Identity, ...]
    fields: frozenset[str]  # the identity fields the file has columns for


@dataclass
class Matched:
    """Submissions named after their roster identity, and what the instructor must know."""

    submissions: list[Submission]
    identities: dict[str, Identity]  # by Submission.student
    notes: list[str] = field(default_factory=list)


# -- reading the roster -----------------------------------------------------------------


def _header_key(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\ufeff", "").casefold()
    return " ".join(re.sub(r"[_\-.]+", " ", text).split())


def _delimiter(first_line: str) -> str:
    counts = {d: len(next(csv.reader([first_line], delimiter=d), [])) for d in ",;\t"}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _decode(path: Path) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_ROSTER_BYTES + 1)
    except OSError as exc:
        raise RosterError(f"Can't read the roster {path} ({exc.strerror}); give the path "
                          "of a CSV file.") from None
    if len(data) > MAX_ROSTER_BYTES:
        raise RosterError(f"{path} is larger than {MAX_ROSTER_BYTES // 1024 // 1024} MiB; is "
                          "it the class roster?")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise RosterError(f"{path} line {line} is not UTF-8 (byte 0x{data[exc.start]:02x}); "
                          "save the roster as 'CSV UTF-8' and try again") from None


def _columns(path: Path, header: Sequence[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, title in enumerate(header):
        key = _HEADER_FIELD.get(_header_key(title))
        if key is None:
            continue
        if key in columns:
            first = header[columns[key]]
            raise RosterError(f"{path} line 1: columns {clean_name(first, 40)!r} and "
                              f"{clean_name(title, 40)!r} both give the {key.replace('_', ' ')}; "
                              "keep one")
        columns[key] = index
    if "name" not in columns and "last_name" not in columns:
        raise RosterError(f"{path} line 1: no column for the student's name (looked for "
                          "'name', 'student', 'full name', or 'first name' and 'last name'); "
                          "add one to the header line")
    if not any(f in columns for f in IDENTIFIERS):
        raise RosterError(f"{path} line 1: no identifier column (looked for 'email', "
                          "'username', 'id', 'sis user id', 'sis login id'); add one so "
                          "submissions and LMS rows can be matched")
    return columns


def load_roster(path: Path) -> Roster:
    """The roster at ``path``; raises :class:`RosterError` naming what to fix."""
    text = _decode(path)
    first = next((line for line in text.splitlines() if line.strip()), None)
    if first is None:
        raise RosterError(f"{path} is empty; a roster has a header line, then one line per "
                          "student")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first),
                        strict=True)
    try:
        header = next(reader)
        while not any(cell.strip() for cell in header):
            header = next(reader)
        columns = _columns(path, header)
        students = []
        seen: dict[tuple[str, str], int] = {}
        for row in reader:
            line = reader.line_num
            cell = {key: (row[i].strip() if i < len(row) else "") for key, i in columns.items()}
            if not any(cell.values()):
                continue
            name = cell.get("name") or " ".join(
                p for p in (cell.get("first_name", ""), cell.get("last_name", "")) if p)
            if name.casefold().startswith("points possible"):
                continue  # the second row of a Canvas gradebook export
            person = Identity(name=name, line=line, **{
                k: cell[k] for k in (*IDENTIFIERS, "section") if k in cell})
            if not person.ids():
                raise RosterError(f"{path} line {line}: {clean_name(name, 80)!r} has no "
                                  f"{', '.join(_SHOWN[f] for f in IDENTIFIERS if f in columns)}; "
                                  "fill one in or delete the row")
            for key, value in person.ids().items():
                folded = (key, value.casefold())
                if folded in seen:
                    raise RosterError(f"{path} line {line}: {_SHOWN[key]} "
                                      f"{clean_name(value, 80)!r} is also on line "
                                      f"{seen[folded]}; each student must appear once")
                seen[folded] = line
            students.append(person)
    except csv.Error as exc:
        raise RosterError(f"{path} line {reader.line_num}: not valid CSV ({exc}); check the "
                          "quotes on that line") from None
    except StopIteration:
        raise RosterError(f"{path} has no header line") from None
    fields = frozenset(k for k in columns if k in (*IDENTIFIERS, "section"))
    return Roster(path, tuple(students), fields | ({"name"}))


# -- matching ---------------------------------------------------------------------------


def _folded(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def _letters(text: str) -> str:
    """Letters and digits only, accents dropped: how Canvas writes a name into file names."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


def _name_forms(person: Identity) -> set[str]:
    """The ways an LMS may have written this person's name."""
    name = " ".join(person.name.split())
    if not name:
        return set()
    if "," in name:
        last, _, first = name.partition(",")
    else:
        first, _, last = name.rpartition(" ")
    forms = {_folded(name), _folded(f"{first} {last}"), _folded(f"{last} {first}")}
    forms |= {_letters(f"{last}{first}"), _letters(f"{first}{last}"), _letters(name)}
    return {f for f in forms if f}


def _participant(value: str) -> str:
    return re.sub(r"(?i)^participant\s*", "", value.strip())


def _candidates(submission: Submission, roster: Roster) -> list[Identity]:
    people = roster.students
    if submission.lms in ("canvas", "moodle"):
        wanted = submission.lms_user
        found = [p for p in people if p.lms_id and _participant(p.lms_id) == wanted]
        if found:
            return found
        name = submission.lms_name
        forms = {_folded(name), _letters(name)}
        return [p for p in people if forms & _name_forms(p)]
    key = _folded(submission.student)
    found = [p for p in people
             if key in {_folded(v) for v in p.ids().values()}
             or (p.email and key == _folded(p.email.partition("@")[0]))]
    if found:
        return found
    return [p for p in people if {key, _letters(key)} & _name_forms(p)]


def _display_names(roster: Roster) -> dict[int, str]:
    """A unique display name per roster line: the name, with an identifier if shared."""
    names = [p.name or next(iter(p.ids().values())) for p in roster.students]
    shown = {}
    for person, name in zip(roster.students, names, strict=True):
        if names.count(name) > 1:
            name = f"{name} ({next(iter(person.ids().values()))})"
        shown[person.line] = name
    return shown


def _own_identity(submission: Submission) -> Identity:
    if submission.lms:
        return Identity(name=submission.lms_name, lms_id=submission.lms_user,
                        lms=submission.lms, folder=submission.source)
    return Identity(name=submission.student, folder=submission.student)


def identify(submissions: Iterable[Submission], roster: Roster | None) -> Matched:
    """Each submission named after its roster identity, plus the roster's absentees."""
    submissions = list(submissions)
    if roster is None:
        return Matched(submissions, {s.student: _own_identity(s) for s in submissions})
    shown = _display_names(roster)
    by_line: dict[int, list[Submission]] = {}
    unmatched: list[Submission] = []
    notes: list[str] = []
    for submission in submissions:
        found = _candidates(submission, roster)
        if len(found) == 1:
            by_line.setdefault(found[0].line, []).append(submission)
            continue
        if found:
            lines = ", ".join(str(p.line) for p in found)
            why = f"matches several roster rows (lines {lines}); graded under its own name"
        else:
            why = (f"matches nobody on the roster {roster.path.name}: add a row for them, or "
                   "rename the entry after their username or email")
        notes.append(f"{clean_name(submission.source)}: {why}")
        unmatched.append(dataclasses.replace(submission, flags=(*submission.flags, why)))

    result: list[Submission] = []
    identities: dict[str, Identity] = {}
    absent = []
    for person in roster.students:
        name = shown[person.line]
        entries = by_line.get(person.line, [])
        if len(entries) > 1:
            sources = ", ".join(e.source for e in entries)
            notes.append(f"roster {person.label()} matches {len(entries)} entries ({sources}); "
                         "neither is graded: keep one and grade again")
            result.append(Submission(name, sources, problems=(
                f"two entries for the same student ({sources}); keep one and grade again",)))
        elif entries:
            result.append(dataclasses.replace(entries[0], student=name))
        else:
            absent.append(name)
            result.append(Submission(name, "", flags=(
                f"on the roster ({roster.path.name} line {person.line}) but handed in "
                "nothing",)))
        folder = entries[0].source if len(entries) == 1 else ""
        identities[name] = dataclasses.replace(person, name=person.name or name, folder=folder)
    for submission in unmatched:
        student = submission.student
        while student in identities:  # an entry named like a roster student it isn't
            student = f"{student} (entry)"
        result.append(dataclasses.replace(submission, student=student))
        identities[student] = _own_identity(submission)
    if absent:
        listed = ", ".join(absent[:10]) + (" ..." if len(absent) > 10 else "")
        notes.insert(0, f"{len(absent)} student(s) on the roster handed in nothing: {listed}")
    result.sort(key=lambda s: s.student.casefold())
    return Matched(result, identities, notes)
