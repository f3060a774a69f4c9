"""LMS gradebooks from real `grade bulk` runs, read back the way each importer reads them.

Each validator below encodes the importer's documented rules, not our writer's choices:

* Canvas (its ``GradebookImporter``): ``Student``, ``ID``, optional ``SIS User ID`` /
  ``SIS Login ID``, then ``Section`` as the last student column; assignment columns
  ``Title (id)`` or a bare title (a new assignment), none of Canvas's read-only total
  columns and no "total" that would become an assignment; a ``Points Possible`` row;
  an ID that is a Canvas user id (digits) or blank; numeric or blank grades.
* Blackboard (Grade Center upload): every value of a comma file in quotes; ``Username``
  present and filled on every row; grade headers ``Title [Total Pts: N Score] |id`` or
  a bare title; no total.
* Moodle (``csv_import_reader`` + ``gradeimport_csv``): every row as long as the header,
  exactly one user identifier column, filled and distinct on every row (Moodle stops
  the import at a row it can't match), no points row, numeric or blank grades.

The class is tiny (3-4 students, exercise 03, files that differ in a comment only where
a distinct grading is wanted) and graded inside the sandbox: this is the path a real
class takes.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.supervision.sandbox import sandbox_problem
from helpers import FIXTURES, REPO

EX03 = "exercise-03-concurrent-fetch"
SOLUTION = (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()
STUB = (REPO / "exercises" / EX03 / "fetcher.py").read_bytes()
SEQUENTIAL = (FIXTURES / "exercises" / EX03 / "wrong" / "sequential_awaits.py").read_bytes()
BOM = b"\xef\xbb\xbf"
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
FORMULA_STARTS = ("=", "+", "-", "@")

pytestmark = pytest.mark.skipif(sandbox_problem() is not None,
                                reason=f"no grading sandbox: {sandbox_problem()}")


# -- the importers' rules ---------------------------------------------------------------


@dataclass
class Parsed:
    header: list[str]
    rows: list[list[str]]
    grades: dict[str, dict[str, str]]  # identifier -> column -> cell


def _rows(data: bytes) -> list[list[str]]:
    assert data.startswith(BOM), "no byte order mark: Excel would show accents as mojibake"
    text = data[len(BOM):].decode("utf-8")
    assert "\n" not in text.replace("\r\n", ""), "line ends must be CRLF"
    return list(csv.reader(io.StringIO(text, newline=""), strict=True))


def _no_formulas(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert NUMBER.match(cell) or not cell.lstrip().startswith(FORMULA_STARTS), cell


def _grade_cells(cells: list[str]) -> None:
    for cell in cells:
        assert cell == "" or NUMBER.match(cell), f"grade cell {cell!r} is not a number"


def validate_canvas(data: bytes) -> Parsed:
    rows = _rows(data)
    header, rest = rows[0], rows[1:]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1]
    width = 3
    if re.search(r"SIS\s+Login\s+ID", header[2]):
        width = 4
    elif re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        width = 5
    assert "Section" in header[width - 1], "Section must close the student columns"
    assignments = header[width:]
    read_only = ("Current Score", "Current Points", "Current Grade", "Final Score",
                 "Final Points", "Final Grade", "Override Score")
    for title in assignments:
        assert not any(r in title for r in read_only)
        assert title.strip().casefold() not in ("total", "totals"), "a total becomes an assignment"
    assert rest and "Points Possible" in rest[0][0]
    _grade_cells(rest[0][width:])
    assert all(rest[0][width:]), "every column has its points"
    grades = {}
    for row in rest[1:]:
        assert len(row) == len(header)
        assert row[1] == "" or row[1].isdigit(), "ID is a Canvas user id"
        _grade_cells(row[width:])
        grades[row[0]] = dict(zip(assignments, row[width:], strict=True))
    _no_formulas(rows)
    return Parsed(header, rest, grades)


BLACKBOARD_COLUMN = re.compile(r"^(?P<title>.+) \[Total Pts: (?P<points>\d+) Score\] "
                               r"\|(?P<id>\d+)$")


def validate_blackboard(data: bytes) -> Parsed:
    rows = _rows(data)
    quoted = re.compile(r'^"(?:[^"]|"")*"(?:,"(?:[^"]|"")*")*$')
    for line in data[len(BOM):].decode().split("\r\n")[:-1]:
        assert quoted.match(line), f"every value must be in quotes: {line!r}"
    header = rows[0]
    user = header.index("Username")
    grade_columns = [i for i, h in enumerate(header)
                     if h not in ("Last Name", "First Name", "Username", "Student ID")]
    for i in grade_columns:
        title = header[i]
        assert BLACKBOARD_COLUMN.match(title) or ("[" not in title and "|" not in title)
        assert title.casefold() not in ("total", "weighted total")
    grades = {}
    for row in rows[1:]:
        assert len(row) == len(header) and row[user], "every row needs its Username"
        assert row[user] not in grades
        _grade_cells([row[i] for i in grade_columns])
        grades[row[user]] = {header[i]: row[i] for i in grade_columns}
    _no_formulas(rows)
    return Parsed(header, rows[1:], grades)


def validate_moodle(data: bytes) -> Parsed:
    rows = _rows(data)
    header = rows[0]
    assert all(len(r) == len(header) for r in rows), "csvweirdcolumns: a row of another length"
    identifiers = [i for i, h in enumerate(header)
                   if h in ("Email address", "Username", "ID number")]
    assert len(identifiers) == 1, "map one column to the user"
    key = identifiers[0]
    grade_columns = [i for i, h in enumerate(header)
                     if i != key and h not in ("First name", "Last name")]
    grades = {}
    for row in rows[1:]:
        assert not row[0].casefold().startswith("points possible"), "no points row in Moodle"
        assert row[key] and row[key] not in grades, "every user filled in, once"
        _grade_cells([row[i] for i in grade_columns])
        grades[row[key]] = {header[i]: row[i] for i in grade_columns}
    _no_formulas(rows)
    return Parsed(header, rows[1:], grades)


def validate_plain(data: bytes) -> Parsed:
    rows = _rows(data)
    header = rows[0]
    assert header[0] == "Student" and rows[1][0] == "Points possible"
    first_grade = next(i for i, cell in enumerate(rows[1]) if i and cell)
    assert "total" not in [h.casefold() for h in header]
    grades = {}
    for row in rows[2:]:
        assert len(row) == len(header)
        _grade_cells(row[first_grade:])
        grades[row[0]] = dict(zip(header[first_grade:], row[first_grade:], strict=True))
    _no_formulas(rows)
    return Parsed(header, rows[2:], grades)


VALIDATORS = {"canvas": validate_canvas, "blackboard": validate_blackboard,
              "moodle": validate_moodle, "plain": validate_plain}


# -- real runs ----------------------------------------------------------------------------


@dataclass
class Run:
    out: Path
    output: str

    def file(self, lms: str) -> bytes:
        return (self.out / f"grades-{lms}.csv").read_bytes()

    def parsed(self, lms: str) -> Parsed:
        return VALIDATORS[lms](self.file(lms))


def _grade(tmp: Path, subs: Path, *extra: str) -> Run:
    out = tmp / "out"
    args = ["bulk", str(subs), "--out", str(out), "--exercises", "03", "--workers", "2",
            *(w for lms in VALIDATORS for w in ("--lms", lms)), *extra]
    result = CliRunner().invoke(main, args, env={"GRADER_COURSE": str(REPO)})
    assert result.exit_code == 0, result.output
    return Run(out, result.output)


def _put(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture(scope="module")
def canvas_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Canvas's download, a roster with one absentee, one file matching nobody, a pdf."""
    tmp = tmp_path_factory.mktemp("canvas")
    subs = tmp / "subs"
    _put(subs / "smithjohn_12345_100_fetcher.py", SEQUENTIAL)
    _put(subs / "smithjohn_LATE_12345_101_fetcher-1.py", SOLUTION)  # the latest: graded
    _put(subs / "roejane_222_300_fetcher.py", SEQUENTIAL + b"\n# jane\n")
    _put(subs / "zedzoe_777_400_fetcher.py", SOLUTION + b"\n# zoe\n")  # not on the roster
    _put(subs / "heidi-report.pdf", b"%PDF-1.4")
    roster = tmp / "roster.csv"
    roster.write_text("\ufeffName;Email;Canvas User ID;SIS User ID;SIS Login ID;Section\n"
                      "John Smith;js@x.edu;12345;S-1;jsmith;A\n"
                      "\"Roe, Jane\";jr@x.edu;222;S-2;jroe;B\n"
                      "Anaïs Dupré;ad@x.edu;999;S-3;adupre;A\n", encoding="utf-8")
    mapping = tmp / "columns.txt"
    mapping.write_text("exercise-03 = Concurrent fetch (5678)\n")
    return _grade(tmp, subs, "--roster", str(roster), "--lms-columns", str(mapping),
                  "--per-task")


@pytest.fixture(scope="module")
def moodle_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Moodle's download in folders, a roster by participant id and email."""
    tmp = tmp_path_factory.mktemp("moodle")
    subs = tmp / "subs"
    _put(subs / "Jane Roe_33333_assignsubmission_file_" / "fetcher.py", SOLUTION)
    _put(subs / "Jane Roe_33333_assignsubmission_onlinetext_" / "onlinetext.html", b"<p>hi</p>")
    _put(subs / "Bo Li_44444_assignsubmission_file_" / "fetcher.py", SEQUENTIAL)
    _put(subs / "Cy Ng_55555_assignsubmission_file_" / "notes.txt", b"no code")
    roster = tmp / "roster.csv"
    roster.write_text("First name,Last name,Identifier,Email address\n"
                      "Jane,Roe,Participant 33333,jane@x.edu\n"
                      "Bo,Li,Participant 44444,bo@x.edu\n"
                      "Cy,Ng,Participant 55555,cy@x.edu\n"
                      "Dee,Absent,Participant 66666,\n")
    return _grade(tmp, subs, "--roster", str(roster))


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One folder or zip per student and no roster: folder names identify everyone."""
    tmp = tmp_path_factory.mktemp("plain")
    subs = tmp / "subs"
    _put(subs / "alice" / "fetcher.py", SOLUTION)
    _put(subs / "zoë" / "exercises" / EX03 / "fetcher.py", STUB)
    _put(subs / "=1+1" / "fetcher.py", SEQUENTIAL)
    (subs / "eve").mkdir()
    _put(subs / "heidi-report.pdf", b"%PDF-1.4")
    return _grade(tmp, subs)


def test_every_lms_file_follows_its_importers_rules(canvas_run: Run, moodle_run: Run,
                                                   plain_run: Run) -> None:
    for run in (canvas_run, moodle_run, plain_run):
        for lms in VALIDATORS:
            run.parsed(lms)  # each validator asserts its importer's rules


def test_canvas_download_with_a_roster(canvas_run: Run) -> None:
    canvas = canvas_run.parsed("canvas")
    assert canvas.header[:5] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert canvas.header[5] == "Concurrent fetch (5678)"  # fills the existing assignment
    assert canvas.header[6].startswith("Concurrent fetch - Task ")  # --per-task
    assert canvas.rows[0][5] == "11"
    rows = {r[0]: r[:5] for r in canvas.rows[1:]}
    assert rows["John Smith"] == ["John Smith", "12345", "S-1", "jsmith", "A"]
    assert rows["zedzoe"][1] == "777"  # nobody on the roster, but Canvas's own id is known
    main = "Concurrent fetch (5678)"
    assert canvas.grades["John Smith"][main] == "11"  # the LATE resubmission, not the first
    assert canvas.grades["Roe, Jane"][main] == "7"
    assert canvas.grades["zedzoe"][main] == "11"
    assert canvas.grades["Anaïs Dupré"][main] == ""  # handed in nothing: blank, not 0
    task_sum = sum(int(v) for k, v in canvas.grades["Roe, Jane"].items() if k != main)
    assert task_sum == 7
    assert "Anaïs Dupré".encode() in canvas_run.file("canvas")
    assert b"heidi" not in (canvas_run.out / "grades.csv").read_bytes()

    blackboard = canvas_run.parsed("blackboard")
    assert blackboard.header[4] == "Concurrent fetch [Total Pts: 11 Score] |5678"
    assert set(blackboard.grades) == {"jsmith", "jroe", "adupre"}  # zedzoe has no username
    moodle = canvas_run.parsed("moodle")
    assert set(moodle.grades) == {"js@x.edu", "jr@x.edu", "ad@x.edu"}

    output = " ".join(canvas_run.output.split())
    assert "ignored: heidi-report.pdf is not a Python file or a student folder" in output
    assert "handed in nothing: Anaïs Dupré" in output
    assert "zedzoe_777_*: matches nobody on the roster roster.csv" in output
    assert "left out 1 student(s) with no username on the roster (zedzoe_777)" in output
    summary = (canvas_run.out / "class-summary.html").read_text()
    assert "heidi-report.pdf is not a Python file" in summary
    assert "Map from &#39;Email address&#39;" in summary or "Map from 'Email address'" in summary


def test_moodle_download_with_a_roster(moodle_run: Run) -> None:
    moodle = moodle_run.parsed("moodle")
    assert moodle.header[:3] == ["First name", "Last name", "Email address"]
    column = moodle.header[3]
    assert moodle.grades["jane@x.edu"][column] == "11"
    assert moodle.grades["bo@x.edu"][column] == "7"
    assert moodle.grades["cy@x.edu"][column] == ""  # rejected (no module): blank
    assert len(moodle.rows) == 3  # Dee has no email: left out, or Moodle stops the import
    output = " ".join(moodle_run.output.split())
    assert "left out 1 student(s) with no email address (Dee Absent)" in output
    assert "Map from 'Email address', Map to 'Email address'" in output
    grades = (moodle_run.out / "grades.csv").read_text()
    assert "assignsubmission" not in grades and "Jane Roe" in grades


def test_plain_folders_without_a_roster(plain_run: Run) -> None:
    canvas = plain_run.parsed("canvas")
    assert canvas.header[:3] == ["Student", "ID", "Section"]
    column = canvas.header[3]
    assert {name: g[column] for name, g in canvas.grades.items()} == {
        "alice": "11", "zoë": "0", "'=1+1": "7", "eve": ""}
    moodle = plain_run.parsed("moodle")
    assert moodle.header[2] == "Username" and set(moodle.grades) == {
        "alice", "zoë", "'=1+1", "eve"}
    blackboard = plain_run.parsed("blackboard")
    assert set(blackboard.grades) == {"alice", "zoë", "'=1+1", "eve"}
    output = " ".join(plain_run.output.split())
    assert "the Username column holds 4 folder name(s)" in output
    assert "Map from 'Username', Map to 'Username' (it holds folder names" in output
    assert "have no Canvas user ID" in output
    assert "heidi-report.pdf" not in (plain_run.out / "grades.csv").read_text()


def test_the_validators_catch_what_importers_refuse() -> None:
    """The rules above can fail: files each importer would refuse or misread."""
    with pytest.raises(AssertionError):  # a total column becomes an assignment in Canvas
        validate_canvas(BOM + b"Student,ID,Section,Ex (1),total\r\nPoints Possible,,,1,1\r\n")
    with pytest.raises(AssertionError):  # the SIS column after Section
        validate_canvas(BOM + b"Student,ID,Section,SIS Login ID,Ex\r\nPoints Possible,,,,1\r\n")
    with pytest.raises(AssertionError):  # no byte order mark
        validate_canvas(b"Student,ID,Section,Ex\r\nPoints Possible,,,1\r\n")
    with pytest.raises(AssertionError):  # unquoted values
        validate_blackboard(BOM + b'"Username","Ex"\r\nann,1\r\n')
    with pytest.raises(AssertionError):  # a points row is a user Moodle can't find
        validate_moodle(BOM + b"First name,Last name,Username,Ex\r\nPoints Possible,,x,1\r\n")
    with pytest.raises(AssertionError):  # a formula
        validate_plain(BOM + b"Student,Ex\r\nPoints possible,1\r\n=1+1,1\r\n")
