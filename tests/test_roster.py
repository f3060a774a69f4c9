"""Rosters, LMS download layouts and column titles: reading them, and every way they fail."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from grader.bulk.intake import Submission, read_class
from grader.bulk.lms import canvas, moodle
from grader.bulk.lms.columns import ColumnsError, grade_columns, parse_columns
from grader.bulk.roster import Roster, RosterError, identify, load_roster
from grader.course.course import Course, Exercise
from helpers import FIXTURES, REPO

EX03 = "exercise-03-concurrent-fetch"
SOLUTION = (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()
SEQUENTIAL = (FIXTURES / "exercises" / EX03 / "wrong" / "sequential_awaits.py").read_bytes()


def _roster(tmp_path: Path, text: str | bytes, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def _error(tmp_path: Path, text: str | bytes) -> str:
    with pytest.raises(RosterError) as caught:
        load_roster(_roster(tmp_path, text))
    message = caught.value.message
    assert "\n" not in message
    return message


# -- reading a roster -------------------------------------------------------------------


def test_header_aliases_bom_and_semicolons_are_read(tmp_path: Path) -> None:
    path = _roster(tmp_path, "\ufeffFull_Name;E-Mail;Canvas User ID;SIS-Login-ID;Section\r\n"
                             "Anaïs Dupré;ad@x.edu;101;adupre;A\r\n"
                             '"Roe; Jane";jr@x.edu;102;jroe;B\r\n\r\n')
    roster = load_roster(path)
    assert [(p.name, p.email, p.lms_id, p.sis_login_id, p.section, p.line)
            for p in roster.students] == [
        ("Anaïs Dupré", "ad@x.edu", "101", "adupre", "A", 2),
        ("Roe; Jane", "jr@x.edu", "102", "jroe", "B", 3)]
    assert {"email", "lms_id", "sis_login_id", "section"} <= roster.fields


def test_an_lms_export_serves_as_roster(tmp_path: Path) -> None:
    canvas_export = ("Student,ID,SIS User ID,SIS Login ID,Section,Quiz 1 (55)\n"
                     "    Points Possible,,,,,10\n"
                     '"Smith, John",12345,S1,jsmith,Sec 1,9\n')
    assert [(p.name, p.lms_id, p.sis_user_id) for p in
            load_roster(_roster(tmp_path, canvas_export)).students] == [
        ("Smith, John", "12345", "S1")]
    moodle_export = ("First name,Last name,ID number,Institution,Email address\n"
                     "Jane,Roe,A7,Uni,jr@x.edu\n")
    assert [(p.name, p.sis_user_id, p.email) for p in
            load_roster(_roster(tmp_path, moodle_export, "m.csv")).students] == [
        ("Jane Roe", "A7", "jr@x.edu")]


@pytest.mark.parametrize(("text", "expected"), [
    ("email,section\na@x,1\n", "line 1: no column for the student's name"),
    ("name,section\nAnn,1\n", "line 1: no identifier column"),
    ("name,email,e-mail\nAnn,a@x,a@x\n", "line 1: columns 'email' and 'e-mail' both give"),
    ("name,email\nAnn,a@x\nBo,b@x\nCy,A@X\n", "line 4: email 'A@X' is also on line 2"),
    ("name,email,id\nAnn,a@x,1\nBo,,\n", "line 3: 'Bo' has no email, LMS user id"),
    ("name,email\nAnn,a@x\n\"Bo,b@x\n", "not valid CSV"),
    ("", "is empty"),
])
def test_a_malformed_roster_is_one_line_with_the_line_number(tmp_path: Path, text: str,
                                                             expected: str) -> None:
    message = _error(tmp_path, text)
    assert expected in message and "roster.csv" in message


def test_a_roster_that_is_not_utf8_names_the_line(tmp_path: Path) -> None:
    message = _error(tmp_path, "name,email\nAnn,a@x\nZo\xeb,z@x\n".encode("latin-1"))
    assert "line 3 is not UTF-8 (byte 0xeb)" in message and "CSV UTF-8" in message


def test_bad_roster_stops_grade_bulk_before_grading(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from grader.cli import main

    (tmp_path / "subs" / "ann").mkdir(parents=True)
    path = _roster(tmp_path, "name,email\nAnn,a@x\nBo,a@x\n")
    result = CliRunner().invoke(main, ["bulk", str(tmp_path / "subs"), "--out",
                                       str(tmp_path / "out"), "--roster", str(path),
                                       "--unsafe-no-sandbox"],
                                env={"GRADER_COURSE": str(REPO)})
    assert result.exit_code == 2
    assert "line 3: email 'a@x' is also on line 2" in result.output
    assert not (tmp_path / "out" / "gradebook.sqlite").exists()


# -- matching ---------------------------------------------------------------------------


def _sub(student: str, **lms: str) -> Submission:
    return Submission(student, student, **lms)


def _people(tmp_path: Path) -> Roster:
    return load_roster(_roster(tmp_path, (
        "name,email,username,id\n"
        "John Smith,js@x.edu,jsmith,12345\n"
        '"Roe, Jane",jane.roe@x.edu,jroe,Participant 33333\n'
        "Ann Nobody,an@x.edu,anob,999\n")))


def test_entries_match_by_identifier_name_or_lms_id(tmp_path: Path) -> None:
    roster = _people(tmp_path)
    matched = identify([_sub("JSMITH"), _sub("jane.roe"), _sub("zed")], roster)
    by_source = {s.source: s for s in matched.submissions}
    assert by_source["JSMITH"].student == "John Smith"  # username, any case
    assert by_source["jane.roe"].student == "Roe, Jane"  # the email's local part
    assert by_source["zed"].student == "zed" and "matches nobody" in by_source["zed"].flags[0]
    absent = by_source[""]
    assert absent.student == "Ann Nobody" and absent.modules == {}
    assert "handed in nothing" in absent.flags[0]
    assert matched.notes[0] == "1 student(s) on the roster handed in nothing: Ann Nobody"
    assert any(n.startswith("zed: matches nobody") for n in matched.notes)
    assert matched.identities["Roe, Jane"].username == "jroe"
    assert matched.identities["zed"].folder == "zed"


def test_a_roster_row_matched_by_two_entries_grades_neither(tmp_path: Path) -> None:
    # Canvas id 1 is nobody's, but the name Canvas wrote is John Smith's, as is jsmith/
    matched = identify([_sub("jsmith"), _sub("smithjohn_1", lms="canvas", lms_user="1",
                                             lms_name="smithjohn")], _people(tmp_path))
    john = next(s for s in matched.submissions if s.student == "John Smith")
    assert john.source == "jsmith, smithjohn_1"
    assert "two entries for the same student" in john.problems[0]
    assert any("line 2 (John Smith) matches 2 entries" in n for n in matched.notes)


def test_lms_downloads_match_by_their_ids(tmp_path: Path) -> None:
    roster = _people(tmp_path)
    matched = identify([_sub("x_12345", lms="canvas", lms_user="12345", lms_name="x"),
                        _sub("Jane R", lms="moodle", lms_user="33333", lms_name="Jane R")],
                       roster)
    assert {s.source: s.student for s in matched.submissions if s.source} == {
        "x_12345": "John Smith", "Jane R": "Roe, Jane"}
    assert matched.identities["John Smith"].folder == "x_12345"


def test_without_a_roster_identities_come_from_the_entries() -> None:
    matched = identify([_sub("alice"), _sub("smithjohn_7", lms="canvas", lms_user="7",
                                            lms_name="smithjohn")], None)
    assert matched.identities["alice"].folder == "alice"
    assert matched.identities["smithjohn_7"].lms_id == "7"
    assert matched.notes == []


# -- LMS download layouts ---------------------------------------------------------------


def test_canvas_names_are_parsed_with_late_and_resubmissions() -> None:
    late = canvas.parse_download_name("smithjohn_LATE_12345_67890_fetcher-2.py")
    assert late is not None and (late.user_id, late.submission_id, late.late) == (
        "12345", 67890, True)
    assert late.named(frozenset({"fetcher.py"})) == ("fetcher.py", 2)
    own = canvas.parse_download_name("roejane_5_6_exercise-03.py")
    assert own is not None and own.named(frozenset({"fetcher.py"})) == ("exercise-03.py", 0)
    assert canvas.parse_download_name("alice") is None
    assert canvas.parse_download_name("report_final.pdf") is None
    folder = moodle.parse_download_name("Jane Roe_33333_assignsubmission_file_")
    assert folder == moodle.MoodleName("Jane Roe", "33333", "file", "")


def test_canvas_flat_files_and_their_zip_become_one_entry_per_user(
        tmp_path: Path, exercise03: Exercise) -> None:
    flat = tmp_path / "flat"
    flat.mkdir()
    files = {"smithjohn_12345_100_fetcher.py": SEQUENTIAL,
             "smithjohn_LATE_12345_101_fetcher-1.py": SOLUTION,
             "roejane_222_300_fetcher.py": SOLUTION,
             "roejane_222_300_notes.txt": b"hi"}
    for name, data in files.items():
        (flat / name).write_bytes(data)
    (flat / "heidi-report.pdf").write_bytes(b"%PDF")
    (flat / "loose.py").write_bytes(b"x = 1\n")
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    with zipfile.ZipFile(bundle / "submissions.zip", "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)

    for folder in (flat, bundle):
        read = read_class(folder, [exercise03])
        found = {s.student: s for s in read.submissions}
        assert sorted(found) == ["roejane_222", "smithjohn_12345"]
        john = found["smithjohn_12345"]
        assert john.modules[EX03].content == SOLUTION  # the latest resubmission
        assert (john.lms, john.lms_user, john.lms_name) == ("canvas", "12345", "smithjohn")
        assert "Canvas marked this submission LATE" in john.flags
        assert any("older version of fetcher.py" in f for f in john.flags)
        assert found["roejane_222"].modules[EX03].content == SOLUTION
    assert read_class(flat, [exercise03]).notes == (
        "ignored: heidi-report.pdf is not a Python file or a student folder",
        "ignored: loose.py is a Python file outside any student folder; put it in a folder "
        "named after its student")


def test_moodle_folders_become_one_entry_per_participant(tmp_path: Path,
                                                         exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    files = {"Jane Roe_33333_assignsubmission_file_/fetcher.py": SOLUTION,
             "Jane Roe_33333_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
             "Bo Li_44444_assignsubmission_file_/fetcher.py": SEQUENTIAL,
             "Cy Ng_55555_assignsubmission_file_fetcher.py": SOLUTION}
    for name, data in files.items():
        (subs / name).parent.mkdir(parents=True, exist_ok=True)
        (subs / name).write_bytes(data)

    found = {s.student: s for s in read_class(subs, [exercise03]).submissions}

    assert sorted(found) == ["Bo Li", "Cy Ng", "Jane Roe"]
    assert found["Jane Roe"].modules[EX03].content == SOLUTION
    assert (found["Jane Roe"].lms, found["Jane Roe"].lms_user) == ("moodle", "33333")
    assert found["Cy Ng"].modules[EX03].content == SOLUTION  # flat file, without folders
    assert found["Bo Li"].problems == ()


def test_an_lms_entry_holding_a_link_is_refused(tmp_path: Path, exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    folder = subs / "Jane Roe_33333_assignsubmission_file_"
    folder.mkdir(parents=True)
    (folder / "fetcher.py").symlink_to(REPO / "solutions" / EX03 / "fetcher.py")
    found = {s.student: s for s in read_class(subs, [exercise03]).submissions}
    assert found["Jane Roe"].modules == {}
    assert "symbolic link" in found["Jane Roe"].problems[0]


# -- column titles ----------------------------------------------------------------------


def _results(course: Course):  # type: ignore[no-untyped-def]
    from grader.bulk.classbook import ClassResults, ExerciseInfo

    e = course.resolve("03")
    info = ExerciseInfo(e.name, e.short_name, e.meta.title, e.meta.module, e.meta.max_score,
                        e.meta.checks, "h")
    return ClassResults((info,), ())


def test_columns_from_a_template_or_a_mapping_file(tmp_path: Path, course: Course) -> None:
    chosen = [course.resolve("03")]
    spec = parse_columns("Ex {n} ({points} pts) {slug}", course, chosen)
    assert [c.title for c in grade_columns(_results(course), spec)] == [
        "Ex 3 (11 pts) concurrent-fetch"]
    mapping = tmp_path / "columns.txt"
    mapping.write_text("# course ids\n03 = Concurrent fetch (1234)\n")
    spec = parse_columns(str(mapping), course, chosen)
    columns = grade_columns(_results(course), spec, per_task=True)
    assert (columns[0].title, columns[0].lms_id, columns[0].points) == (
        "Concurrent fetch", "1234", 11)
    tasks = columns[1:]
    assert [c.task for c in tasks] == sorted({c.task for c in chosen[0].meta.checks})
    assert sum(c.points for c in tasks) == 11 and all(not c.lms_id for c in tasks)


@pytest.mark.parametrize(("value", "expected"), [
    ("Ex {nmber}", "unknown placeholder {nmber}"),
    ("Ex {number", "is not valid"),
    ("missing.txt", "no such file"),
])
def test_bad_column_titles_are_refused(course: Course, value: str, expected: str) -> None:
    with pytest.raises(ColumnsError) as caught:
        parse_columns(value, course, [course.resolve("03")])
    assert expected in caught.value.message


def test_a_bad_mapping_line_is_named(tmp_path: Path, course: Course) -> None:
    mapping = tmp_path / "columns.txt"
    mapping.write_text("03 = A (1)\nexercise-99 = B\n")
    with pytest.raises(ColumnsError) as caught:
        parse_columns(str(mapping), course, [course.resolve("03")])
    assert "columns.txt line 2: no exercise called 'exercise-99'" in caught.value.message
