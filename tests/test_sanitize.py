"""Untrusted text and numbers: what grader.supervision.sanitize lets through, and every
output after it.

The first part feeds each function the forms an attacker would use; the second builds
results, terminal output, pictures and the whole set of ``grade bulk`` outputs from a
hostile grading (and from a hostile verdict stored by an older grader) and checks that
nothing crashes, no control character or escape sequence reaches any output, and no
CSV cell is a formula under any separator a spreadsheet might pick.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import sqlite3
import unicodedata
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from grader.bulk import pipeline
from grader.bulk.gradebook import Gradebook, GradingKey
from grader.bulk.progress import print_outcome
from grader.bulk.run import GRADEBOOK_NAME, run_bulk
from grader.course.course import Course, Exercise
from grader.engine.feedback import Feedback
from grader.render.overview import exercise_table
from grader.render.terminal import print_grade
from grader.render.timeline_svg import timeline_summary, timeline_svg
from grader.state.progress import CourseProgress, ExerciseProgress
from grader.supervision.results import CheckResult, GradeResult
from grader.supervision.sanitize import (
    LABEL_LIMIT,
    NAME_LIMIT,
    OPERATIONS_LIMIT,
    TEXT_LIMIT,
    clean_name,
    clean_number,
    clean_text,
    clean_timeline,
    spreadsheet_cell,
)

# Every control character but newline and tab, C1 included: none may reach an output.
CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
SVG = "{http://www.w3.org/2000/svg}"

ESCAPES = {
    "CSI clear screen": "\x1b[2J",
    "CSI colour": "\x1b[1;31m",
    "CSI private mode": "\x1b[?1049h",
    "OSC window title, BEL": "\x1b]0;owned\x07",
    "OSC window title, ST": "\x1b]2;owned\x1b\\",
    "OSC 52 clipboard": "\x1b]52;c;cm0gLXJmIH4=\x07",
    "OSC 8 hyperlink": "\x1b]8;;http://evil.example\x1b\\",
    "8-bit CSI": "\x9b2J",
    "8-bit OSC": "\x9d0;owned\x9c",
    "DCS": "\x1bPq#0;2;0;0;0\x1b\\",
    "reset terminal": "\x1bc",
    "charset": "\x1b(0",
}


def _no_control(text: str) -> bool:
    return CONTROL.search(text) is None


# -- clean_text ---------------------------------------------------------------------------


@pytest.mark.parametrize("sequence", ESCAPES.values(), ids=ESCAPES.keys())
def test_clean_text_removes_every_escape_sequence_and_keeps_the_text(sequence: str) -> None:
    assert clean_text(f"before{sequence}after") == "beforeafter"


def test_escape_sequences_hidden_inside_each_other_leave_no_escape_byte() -> None:
    # Removing the inner CSI would rebuild an outer one out of what surrounds it.
    for text in ("\x1b\x1b[2J[2J", "\x1b]0;a\x1b[2Jb\x07", "\x1b]0;never terminated",
                 "\x9b\x9b\x9b", "end\x1b"):
        cleaned = clean_text(text)
        assert "\x1b" not in cleaned and _no_control(cleaned), repr(cleaned)


def test_a_carriage_return_cannot_overprint_a_fake_score() -> None:
    cleaned = clean_text("0/11\rScore: 11/11 (all checks passed)")
    assert cleaned == "0/11\\rScore: 11/11 (all checks passed)"
    assert clean_text("line one\r\nline two") == "line one\nline two"  # Windows line ends


def test_other_controls_are_shown_lines_and_tabs_kept() -> None:
    assert clean_text("bell\x07 nul\x00 del\x7f c1\x85") == "bell\\x07 nul\\x00 del\\x7f c1\\x85"
    assert clean_text("a\n\tb") == "a\n\tb"
    # Bidirectional overrides reorder what is shown after them ("Trojan Source").
    assert clean_text("score \u202e11/0") == "score \\u202e11/0"


def test_lone_surrogates_are_replaced_and_pairs_joined() -> None:
    cleaned = clean_text("lone \ud800 and \udcff, pair \ud83d\ude00")
    assert cleaned == "lone \ufffd and \ufffd, pair \U0001f600"
    cleaned.encode("utf-8")  # valid UTF-8: this would raise on a surrogate


def test_clean_text_caps_the_length_visibly() -> None:
    cleaned = clean_text("x" * 10_000, 1_000)
    assert len(cleaned) <= 1_000
    shape = re.fullmatch(r"(x+)… \(([\d,]+) more characters\)", cleaned)
    assert shape is not None and len(shape[1]) > 950
    assert len(shape[1]) + int(shape[2].replace(",", "")) == 10_000
    huge = clean_text("\x9d" * 300_000)  # unterminated 8-bit OSCs: scanned once, bounded
    assert len(huge) <= TEXT_LIMIT and _no_control(huge)


def test_clean_text_takes_any_value() -> None:
    assert clean_text(None) == ""
    assert clean_text(b"caf\xc3\xa9 \xff") == "café \ufffd"
    assert clean_text(42) == "42"

    class Hostile:
        def __str__(self) -> str:
            raise RuntimeError("no")

    assert clean_text(Hostile()) == "<unprintable Hostile>"


ADVERSARIAL = [*ESCAPES.values(), "\x1b\x1b[2J[2J", "a\r\nb\rc", "\ud800\udc00\ud800",
               "\u202e\u2066x\u2069", "[bold red]x[/]", "y" * 5_000, "\x9d" * 50_000,
               "tab\tnew\nline", "\x00\x01\x7f\x80\x9f"]


@pytest.mark.parametrize("text", ADVERSARIAL, ids=range(len(ADVERSARIAL)))
def test_cleaning_is_idempotent_and_always_safe(text: str) -> None:
    for clean, limit in ((clean_text, TEXT_LIMIT), (clean_name, NAME_LIMIT), (clean_text, 40)):
        once = clean(text, limit)
        assert clean(once, limit) == once
        assert len(once) <= limit and _no_control(once)
        once.encode("utf-8")


# -- clean_name ---------------------------------------------------------------------------


def test_clean_name_is_one_line_and_never_looks_like_another_name() -> None:
    assert clean_name("alice\x1b[0m") == "alice\\x1b[0m" != clean_name("alice")
    assert clean_name("bob\nScore: 11/11") == "bob\\nScore: 11/11"
    assert clean_name("tab\there") == "tab\\there"
    # An undecodable byte of a folder name (os.fsdecode's surrogateescape) shows as itself.
    assert clean_name(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert clean_name(os.fsdecode(b"a\xff")) != clean_name(os.fsdecode(b"a\xfe"))
    assert clean_name("\ud800") == "\\ud800"


# -- clean_number -------------------------------------------------------------------------


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, 1e308, -1e308, 10**400,
                                   True, False, "3", None, [1.0], 1e10])
def test_clean_number_refuses_what_is_not_a_sane_finite_number(value: object) -> None:
    assert clean_number(value) is None


def test_clean_number_keeps_real_numbers() -> None:
    assert clean_number(0) == 0.0 and isinstance(clean_number(0), float)
    assert clean_number(-2.5) == -2.5
    assert clean_number(1.2) == 1.2
    assert clean_number(3600 * 24 * 365) == 31_536_000.0


# -- clean_timeline -----------------------------------------------------------------------


def _staircase(count: int, **extra: object) -> dict:
    """``count`` operations one after another, none overlapping."""
    return {"operations": [{"label": f"op{i}", "start": float(i), "end": i + 0.5,
                            "outcome": "ok"} for i in range(count)],
            "budget": 1.2, "elapsed": count - 0.5, **extra}


def test_a_huge_timeline_keeps_its_first_operations_and_says_how_many_went() -> None:
    cleaned = clean_timeline(_staircase(12_000))
    assert cleaned is not None
    assert len(cleaned["operations"]) == OPERATIONS_LIMIT
    assert cleaned["operations"][0]["label"] == "op0"
    assert cleaned["dropped"] == 12_000 - OPERATIONS_LIMIT
    assert clean_timeline(cleaned) == cleaned  # cleaning again keeps the count


def test_timeline_numbers_are_finite_and_labels_clean() -> None:
    cleaned = clean_timeline({
        "operations": [
            {"label": "\x1b]0;owned\x07" + "L" * 500, "start": math.nan, "end": math.inf,
             "outcome": "ok\r"},
            {"label": 7, "start": 1, "end": None, "outcome": "running"},
            "not an operation",
        ],
        "budget": math.nan, "elapsed": 1e308, "extra": "ignored",
    })
    assert cleaned is not None
    first, second = cleaned["operations"]
    assert first["start"] == 0.0 and first["end"] is None
    assert first["label"].startswith("\\x1b]0;owned\\x07LLL") and len(first["label"]) <= LABEL_LIMIT
    assert first["outcome"] == "ok\\r"
    assert second == {"label": "7", "start": 1.0, "end": None, "outcome": "running"}
    assert cleaned["budget"] is None and cleaned["elapsed"] is None
    assert cleaned["dropped"] == 1 and "extra" not in cleaned
    json.dumps(cleaned, allow_nan=False)
    assert clean_timeline("not a timeline") is None and clean_timeline(None) is None


def test_an_ordinary_timeline_is_left_as_it_is() -> None:
    timeline = _staircase(3)
    assert clean_timeline(timeline) == timeline


# -- spreadsheet_cell ---------------------------------------------------------------------

FORMULAS = ["=1+1", "+1+1", "-2+3", "@SUM(A1:A2)", " =1+1", "\u00a0=1", "\u3000=1",
            "\u200b=1", "\t=1", "\r=1", "\tplain", "＝1+1", "＋1", "－2+3", "＠SUM(A1)",
            "﹦1", '=HYPERLINK("http://x","y")', "-1;=2"]
SEPARATED = ["alice;=1+1", "bob; =cmd|' /C calc'!A0", "carl,-2+3", "dan\t@SUM(1)",
             "eve\n=1", "fay;＝1"]


def _spreadsheet_would_evaluate(cell: str) -> bool:
    """How a spreadsheet decides, independently of grader.supervision.sanitize: a formula start
    after leading blanks, or a leading tab / CR, unless the cell is a plain number."""
    if cell[:1] in ("\t", "\r"):
        return True
    start = cell.lstrip(" \t\r\n\x0b\x0c\u00a0\u3000\u200b\ufeff\"")
    if not start or re.fullmatch(r"[+-]?\d+(\.\d+)?([eE][+-]?\d+)?", start.strip()):
        return False
    return unicodedata.normalize("NFKC", start[0])[:1] in ("=", "+", "-", "@")


@pytest.mark.parametrize("text", FORMULAS)
def test_every_formula_start_is_quoted(text: str) -> None:
    cell = spreadsheet_cell(text)
    assert cell.startswith("'") and cell.endswith(text[-1])
    assert _spreadsheet_would_evaluate(text) and not _spreadsheet_would_evaluate(cell)


@pytest.mark.parametrize("text", SEPARATED)
def test_a_formula_after_a_separator_is_quoted_too(text: str) -> None:
    # A spreadsheet set to ';' (or tab) splits the cell there: each part must be text.
    cell = spreadsheet_cell(text)
    parts = re.split("[,;\t\r\n]", cell)
    assert any(_spreadsheet_would_evaluate(p) for p in re.split("[,;\t\r\n]", text))
    assert not any(_spreadsheet_would_evaluate(p) for p in parts), parts


@pytest.mark.parametrize("text", ["-2", "3.5", "+4", "1e3", "-0.25", "alice", "O'Brien",
                                  "anne-marie", "1;-2", "", "x=1"])
def test_numbers_and_plain_text_are_left_alone(text: str) -> None:
    assert spreadsheet_cell(text) == text


# -- results ------------------------------------------------------------------------------

HOSTILE_MESSAGE = ("You raised \x1b[2J\x1b]0;owned\x07\x1b]52;c;cm0gLXJmIH4=\x07[bold]boom[/bold]"
                   "\ud800\n0/11\rScore: 11/11")


def _hostile_check(name: str, title: str, task: int, points: int, *,
                   operations: int = 12_000) -> CheckResult:
    timeline = _staircase(operations)
    timeline["operations"][1]["start"] = math.nan
    timeline["operations"][2]["label"] = "\x1b[31mred\x1b[0m\ud800"
    timeline["elapsed"] = math.inf
    return CheckResult(name, title, task, "failed", 0, points,
                       Feedback(HOSTILE_MESSAGE, "why \x9b2J", "next \udcff"),
                       traceback="Traceback\n  \x1b]0;t\x07line 3\n", duration=math.nan,
                       sim_elapsed=math.nan, timeline=timeline)


def test_a_result_is_clean_however_it_is_built() -> None:
    check = _hostile_check("c", "T\x1b[2J", 1, 2)
    result = GradeResult("exercise-03\x1b[2J", "T", "a/\udcfffetcher.py", (check,), math.inf,
                         notes=("note \x07",))
    assert check.sim_elapsed is None and check.duration == 0.0 and result.duration == 0.0
    assert check.feedback is not None and _no_control(check.feedback.what)
    assert "\x1b" not in check.title and result.graded_file == "a/\\xfffetcher.py"
    assert result.notes == ("note \\x07",)
    assert check.timeline is not None and check.timeline["dropped"] == 12_000 - 500
    text = result.to_json()  # strict JSON: raises on NaN, infinities
    assert _no_control(text.replace("\\n", "")) and "\\u001b" not in text
    text.encode("utf-8")
    assert GradeResult.from_dict(json.loads(text)) == result


def test_a_stored_hostile_verdict_reads_back_clean() -> None:
    # What an older grader stored: json.dumps allows NaN; lone surrogates are escaped.
    stored = json.dumps({
        "exercise": "exercise-03", "title": "T", "graded_file": "f.py", "duration": math.nan,
        "notes": ["\x1b[2J"], "a field from the future": 1,
        "checks": [{"name": "c", "title": "T", "task": 1, "status": "failed", "points": 0,
                    "max_points": math.nan, "feedback": {"what": "\ud800\x1b[2J"},
                    "traceback": None, "duration": math.inf, "sim_elapsed": math.nan,
                    "timeline": _staircase(600), "unknown": True}],
    })
    result = GradeResult.from_dict(json.loads(stored))
    check = result.checks[0]
    assert check.max_points == 0 and check.traceback == "" and check.sim_elapsed is None
    assert check.feedback == Feedback("\ufffd")
    assert result.notes == ("",) and result.duration == 0.0
    json.dumps(result.to_dict(), allow_nan=False)


# -- terminal -----------------------------------------------------------------------------


def _terminal() -> Console:
    # A terminal without colour: rich writes no escape of its own, so any ESC is the data's.
    return Console(file=io.StringIO(), force_terminal=True, color_system=None, width=120)


def test_the_terminal_report_shows_student_text_literally() -> None:
    console = _terminal()
    result = GradeResult("exercise-03-x", "T", "fetcher.py",
                         (_hostile_check("c", "[bold]Title[/bold]", 1, 2, operations=3),), 0.1)
    print_grade(console, result)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in shown and "\r" not in shown and _no_control(shown)
    assert "[bold]boom[/bold]" in shown and "[bold]Title[/bold]" in shown  # not markup
    assert "0/11\\rScore: 11/11" in shown  # on one line, visibly, after the real 0/11


def test_the_overview_table_reads_no_markup_from_names() -> None:
    exercise = ExerciseProgress("exercise-03-x", "exercise-03", "[red]Fetch\x1b]0;owned\x07",
                                ("asyncio.gather",), "in progress", 1, 2, 1, None, (), 0)
    console = _terminal()
    console.print(exercise_table(CourseProgress((exercise,), ())))
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "[red]Fetch\\x1b]0;owned\\x07" in shown and "\x1b" not in shown


# -- pictures -----------------------------------------------------------------------------


def test_a_12000_operation_timeline_draws_a_bounded_picture() -> None:
    svg = timeline_svg(_staircase(12_000))
    root = ET.fromstring(svg)
    bars = [r for r in root.iter(f"{SVG}rect") if "op" in (r.get("class") or "").split()]
    assert len(bars) == OPERATIONS_LIMIT
    assert "11,500 more operations, not drawn" in svg
    assert len(svg) < 600 * OPERATIONS_LIMIT  # a few hundred characters a row, no more
    assert timeline_summary(_staircase(12_000)).startswith(
        "12,000 operations (the first 500 are shown), one after another;")


def test_the_summary_finds_overlaps_without_comparing_every_pair() -> None:
    def shape(*spans: tuple[float, float]) -> str:
        ops = [{"label": str(i), "start": s, "end": e} for i, (s, e) in enumerate(spans)]
        return timeline_summary({"operations": ops, "budget": None, "elapsed": 3.0})

    assert "one after another" in shape((0, 1), (1, 2), (2, 3))  # touching is not overlapping
    assert "same time" in shape((0, 3), (1, 1.5))  # inside a longer one
    assert "same time" in shape((0, 1), (2, 3), (0.5, 2.5))  # order of the list is irrelevant
    assert "same time" in shape((0, 2), (1, 1))  # an instant one, during another
    assert "one after another" in shape((1, 1), (1, 2))  # an instant one, at the start


def test_a_hostile_timeline_draws_valid_svg() -> None:
    check = _hostile_check("c", "T", 1, 2, operations=5)
    assert check.timeline is not None
    raw = {"operations": [{"label": "<b>\x1b[2J", "start": math.nan, "end": 1e308}],
           "budget": math.inf, "elapsed": math.nan}
    for timeline in (check.timeline, raw):
        svg = timeline_svg(timeline)
        ET.fromstring(svg)  # would raise on a control character
        assert _no_control(svg) and "<b>" not in svg


# -- grade bulk, end to end ---------------------------------------------------------------

STUDENTS = {
    "ana": b"# ana\n",
    "=HYPERLINK(\"http:x\";\"y\")": b"# 1\n",
    " =1+1": b"# 2\n",
    "\t=1": b"# 3\n",
    "＝SUM(A1)": b"# 4\n",
    "x;=1+1;-2+3": b"# 5\n",
    "eve\x1b[2J\x1b]52;c;cm0=\x07\x1b]0;owned\x07": b"# 6\n",
    "bob\rScore 11": b"# 7\n",
    "<img src=x onerror=alert(1)>": b"# 8\n",
    "[bold red]mallory": b"# 9\n",
    os.fsdecode(b"bad\xff\xfe"): b"# 10\n",
    "failing\x1b[2J": b"# 11\n",
}


def _hostile_result(exercise: Exercise, path: Path) -> GradeResult:
    checks = [_hostile_check(c.name, c.title, c.task, c.points) for c in exercise.meta.checks]
    return GradeResult(exercise.name, exercise.meta.title, str(path), tuple(checks), math.nan,
                       notes=("flagged for review: \x1b[2Jpatched",))


def _fake_grade_file(exercise: Exercise, module_file: Path, **_: object) -> GradeResult:
    if module_file.read_bytes() == STUDENTS["failing\x1b[2J"]:
        raise OSError("disk \x1b[2J\x1b]0;owned\x07full\rGraded 99 file(s)")
    return _hostile_result(exercise, module_file)


def _old_verdict(exercise: Exercise) -> str:
    """A verdict as an older grader stored it: NaN, a lone surrogate, escapes, 12,000 ops."""
    result = {
        "exercise": exercise.name, "title": exercise.meta.title, "graded_file": "ana/fetcher.py",
        "score": 0, "max_score": exercise.meta.max_score, "all_passed": False,
        "duration": 0.0, "notes": ["\x1b]0;owned\x07"],
        "checks": [{
            "name": c.name, "title": c.title, "task": c.task, "status": "failed", "points": 0,
            "max_points": c.points, "traceback": "\x1b[2J\rtrace\ud800",
            "feedback": {"what": HOSTILE_MESSAGE, "misconception": "\x9b2J",
                         "next_step": "\udcff"},
            "sim_elapsed": math.nan, "timeline": _staircase(12_000, elapsed=math.nan),
        } for c in exercise.meta.checks],
    }
    return json.dumps(result)  # NaN allowed, surrogates escaped: what used to be written


def _check_outputs(out: Path) -> None:
    files = [p for p in out.rglob("*") if p.is_file() and p.suffix in (".csv", ".json", ".html")]
    assert {p.name for p in files} >= {"grades.csv", "results.json", "class-summary.html",
                                        "ana.html"}
    for path in files:
        text = path.read_text(encoding="utf-8")  # strict: a surrogate could not be here
        if path.suffix == ".csv":
            text = text.replace("\r\n", "\n")
        assert _no_control(text) and "\r" not in text, path
        assert path.suffix != ".html" or "<img" not in text, path
    grades = (out / "grades.csv").read_text(encoding="utf-8")
    for delimiter in (",", ";", "\t"):  # however a spreadsheet splits it
        for row in csv.reader(io.StringIO(grades), delimiter=delimiter):
            for cell in row:
                assert not _spreadsheet_would_evaluate(cell), (delimiter, cell)
    json.loads((out / "results.json").read_text(), parse_constant=pytest.fail)  # no NaN


def test_a_hostile_class_writes_every_bulk_output_and_resumes(
        tmp_path: Path, course: Course, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "grade_file", _fake_grade_file)
    subs = tmp_path / "subs"
    for student, content in STUDENTS.items():
        (subs / student).mkdir(parents=True)
        (subs / student / "fetcher.py").write_bytes(content)
    out = tmp_path / "out"

    first = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=2,
                     unsafe_no_sandbox=True)

    assert first.results is not None and len(first.summary.failed) == 1
    _check_outputs(out)
    ana = (out / "students" / "ana.html").read_text()
    assert "11,500 more operations, not drawn" in ana and "0/11\\rScore: 11/11" in ana

    # An older grader stored ana's verdict with NaN, surrogates and escapes in it.
    exercise = course.resolve("03")
    with sqlite3.connect(out / GRADEBOOK_NAME) as db:
        db.execute("UPDATE gradings SET verdict = ? WHERE student = 'ana'",
                   (_old_verdict(exercise),))
        db.execute("UPDATE timings SET checks = ? WHERE student = 'ana'",
                   (f'{{"{exercise.meta.checks[0].name}": NaN}}',))
    with Gradebook(out / GRADEBOOK_NAME) as book:
        key = next(k for k in book.recorded_keys() if k.student == "ana")
        recorded = book.find(key)
        assert recorded is not None and recorded.result.checks[0].sim_elapsed is None

    resumed = run_bulk(course=course, submissions=subs, out=out, exercises=["03"], workers=2,
                       unsafe_no_sandbox=True)

    assert resumed.summary.already_recorded == len(STUDENTS) - 1  # the failed one is retried
    _check_outputs(out)
    assert "11,500 more operations, not drawn" in (out / "students" / "ana.html").read_text()
    console = _terminal()
    print_outcome(console, resumed, out=out, resume="grade bulk subs --out out")
    said = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in said and "\r" not in said and _no_control(said)
    assert "Grader failure for failing\\x1b[2J" in said


def test_an_unreadable_stored_verdict_is_graded_again(tmp_path: Path) -> None:
    key = GradingKey("ana", "exercise-03-x", "f" * 64, "s" * 64)
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        book.record(key, GradeResult("exercise-03-x", "T", "f.py", (), 0.1), seconds=math.nan)
        assert book.find(key) is not None
    with sqlite3.connect(tmp_path / "gradebook.sqlite") as db:
        db.execute("UPDATE gradings SET verdict = 'not json'")
    with Gradebook(tmp_path / "gradebook.sqlite") as book:
        assert book.find(key) is None
