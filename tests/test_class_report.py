"""grade bulk's class-level outputs: unchanged stubs judged against the pristine stub,
possible copying, --students, name order and file modes.

Gradings are faked (``pipeline.grade_file``): these tests are about what the outputs
say, and a real grading is a sandboxed child process per file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.bulk import pipeline
from grader.bulk.class_report import render_class_report, summarize
from grader.bulk.run import BulkOutcome, run_bulk
from grader.bulk.similarity import THRESHOLD, find_copying
from grader.cli import main
from grader.course.course import Course, Exercise
from grader.engine.feedback import Feedback
from grader.errors import SubmissionsError
from grader.supervision.results import CheckResult, GradeResult
from helpers import FIXTURES, REPO

EX03 = "exercise-03-concurrent-fetch"
STUB = (REPO / "exercises" / EX03 / "fetcher.py").read_bytes()
SOLUTION = (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()
ALTERNATIVES = FIXTURES / "exercises" / EX03 / "alternatives"
SEQUENTIAL = (FIXTURES / "exercises" / EX03 / "wrong" / "sequential_awaits.py").read_bytes()
MISCONCEPTION = "Awaiting each call in turn is sequential."


def _disguised(source: bytes) -> bytes:
    """``source`` as a copier hands it in: names renamed, comments reworded, respaced."""
    text = source.decode()
    for number, name in enumerate(sorted(set(re.findall(r"^\s+(\w+) = ", text, re.M)))):
        text = re.sub(rf"(?<![.\w]){name}\b", f"my_value_{number}", text)
    text = re.sub(r"#.*", "# my own comment", text)
    return text.replace("\n\n\n", "\n\n\n\n").encode()


def _fake_grade(exercise: Exercise, module_file: Path, **_: object) -> GradeResult:
    """Full marks for the solution, "not written" for the stub, a named failure else."""
    content = module_file.read_bytes()
    checks = []
    for check in exercise.meta.checks:
        if content == SOLUTION:
            checks.append(CheckResult(check.name, check.title, check.task, "passed",
                                      check.points, check.points))
        elif content == STUB:
            checks.append(CheckResult(check.name, check.title, check.task, "error", 0,
                                      check.points, Feedback("Not written yet: fetch_all")))
        else:
            checks.append(CheckResult(check.name, check.title, check.task, "failed", 0,
                                      check.points, Feedback("took 2.3 s", MISCONCEPTION)))
    return GradeResult(exercise.name, exercise.meta.title, str(module_file), tuple(checks), 0.01)


@pytest.fixture
def graded(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fake gradings; yields the list of graded files' contents' first bytes, per call."""
    calls: list[str] = []

    def fake(exercise: Exercise, module_file: Path, **options: object) -> GradeResult:
        calls.append(module_file.read_bytes().decode(errors="replace"))
        return _fake_grade(exercise, module_file, **options)

    monkeypatch.setattr(pipeline, "grade_file", fake)
    yield calls


def _class(folder: Path, files: dict[str, bytes]) -> Path:
    for student, content in files.items():
        (folder / student).mkdir(parents=True)
        (folder / student / "fetcher.py").write_bytes(content)
    return folder


def _small_course(folder: Path) -> Path:
    """A course of exercise 03 alone, copied from this repository."""
    folder.mkdir()
    shutil.copy(REPO / "course.toml", folder / "course.toml")
    shutil.copytree(REPO / "exercises" / EX03, folder / "exercises" / EX03)
    return folder


def _git(root: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t",
                    *args], check=True, capture_output=True)


def _bulk(course: Path | Course, subs: Path, out: Path, **options: object) -> BulkOutcome:
    return run_bulk(course=course if isinstance(course, Course) else Course(course),
                    submissions=subs, out=out, exercises=["03"], workers=1,
                    unsafe_no_sandbox=True, **options)  # type: ignore[arg-type]


def _unchanged(outcome: BulkOutcome) -> set[str]:
    assert outcome.results is not None
    return {s.student for s in outcome.results.students if s.outcomes[0].unchanged_stub}


# --- Unchanged stubs: judged against the stub as handed out --------------------------

def test_unchanged_stub_is_judged_from_git_head_when_the_working_copy_is_solved(
        tmp_path: Path, graded: list[str]) -> None:
    course = _small_course(tmp_path / "course")
    _git(course, "init", "-q")
    _git(course, "add", ".")
    _git(course, "commit", "-q", "-m", "course")
    (course / "exercises" / EX03 / "fetcher.py").write_bytes(SOLUTION)  # a solved checkout
    subs = _class(tmp_path / "subs", {"ana": SOLUTION, "ben": STUB, "dan": SEQUENTIAL})

    outcome = _bulk(course, subs, tmp_path / "out")

    assert _unchanged(outcome) == {"ben"}
    summary = summarize(outcome.results)  # type: ignore[arg-type]
    assert summary.exercises[0].unchanged_stub == 1
    # ana's full marks count among the submissions that changed the stub, ben's don't.
    assert {f.graded for f in summary.failed_checks} == {2}
    document = json.loads((tmp_path / "out" / "results.json").read_text())
    flags = {s["student"]: s["exercises"][0]["unchanged_stub"] for s in document["students"]}
    assert flags == {"ana": False, "ben": True, "dan": False}


def test_without_git_the_releases_orig_copy_is_the_pristine_stub(
        tmp_path: Path, graded: list[str]) -> None:
    course = _small_course(tmp_path / "course")
    (course / "exercises" / EX03 / ".meta" / "fetcher.py.orig").write_bytes(STUB)
    (course / "exercises" / EX03 / "fetcher.py").write_bytes(SOLUTION)
    subs = _class(tmp_path / "subs", {"ana": SOLUTION, "ben": STUB})

    outcome = _bulk(course, subs, tmp_path / "out")

    assert _unchanged(outcome) == {"ben"}
    assert not any("no pristine stub" in note for note in outcome.notes)


def test_with_no_pristine_stub_nothing_is_unchanged_and_the_run_says_so(
        tmp_path: Path, graded: list[str]) -> None:
    course = _small_course(tmp_path / "course")  # neither git nor .orig
    subs = _class(tmp_path / "subs", {"ben": STUB, "cy": STUB})

    outcome = _bulk(course, subs, tmp_path / "out")

    assert _unchanged(outcome) == set()
    assert any("no pristine stub for exercise-03" in note for note in outcome.notes)
    page = (tmp_path / "out" / "class-summary.html").read_text()
    assert "no pristine stub for exercise-03" in page
    # Two untouched stubs are not "copying", even when the stub can't be recognised.
    assert json.loads((tmp_path / "out" / "results.json").read_text())[
        "possible_copying"]["matches"] == []


# --- Possible copying ----------------------------------------------------------------

def test_identical_and_near_identical_files_are_listed_with_scores() -> None:
    alternative = (ALTERNATIVES / "create_task.py").read_bytes()
    files = {EX03: {"ana": SOLUTION, "ben": SOLUTION, "cy": _disguised(SOLUTION),
                    "dan": alternative, "eve": STUB, "fay": STUB}}

    matches = find_copying(files, {EX03: [STUB]})

    identical = [m for m in matches if m.identical]
    similar = [m for m in matches if not m.identical]
    assert [(m.first, m.score) for m in identical] == [(("ana", "ben"), 1.0)]
    assert [(m.first, m.second) for m in similar] == [(("ana", "ben"), ("cy",))]
    assert similar[0].score >= THRESHOLD and similar[0].own >= 10
    # Written independently, the alternative is not listed; nor are the two stubs.
    assert all("dan" not in m.first + m.second for m in matches)
    assert all("eve" not in m.first + m.second for m in matches)


def test_two_untouched_stubs_or_near_stubs_are_never_listed() -> None:
    touched = STUB.replace(b"# TODO(task 1)", b"# todo later (task 1)")
    files = {EX03: {"eve": STUB, "fay": STUB, "gus": touched, "hal": touched}}

    assert find_copying(files, {EX03: [STUB]}) == []
    # The stub's own tokens are what is removed: without them everything would match.
    assert find_copying(files, {EX03: [b"pass\n"]}) != []


def test_possible_copying_in_the_class_summary_and_results_json(
        tmp_path: Path, graded: list[str]) -> None:
    subs = _class(tmp_path / "subs", {"ana": SOLUTION, "ben": SOLUTION,
                                      "cy<i>": _disguised(SOLUTION), "eve": STUB,
                                      "fay": STUB})
    out = tmp_path / "out"
    course = _small_course(tmp_path / "course")  # the stub from .orig: no git needed
    (course / "exercises" / EX03 / ".meta" / "fetcher.py.orig").write_bytes(STUB)

    _bulk(course, subs, out)

    copying = json.loads((out / "results.json").read_text())["possible_copying"]
    assert copying["threshold"] == THRESHOLD
    kinds = [(m["kind"], m["students"], m["other_students"]) for m in copying["matches"]]
    assert kinds == [("identical", ["ana", "ben"], []),
                     ("similar", ["ana", "ben"], ["cy<i>"])]
    page = (out / "class-summary.html").read_text()
    section = page[page.index("<h2>Possible copying</h2>"):page.index("<h2>Intake</h2>")]
    assert "byte-identical files" in section and "cy&lt;i&gt;" in section
    assert "cy<i>" not in page
    assert f"{copying['matches'][1]['score']:.2f}" in section
    assert ">eve<" not in section and ">fay<" not in section


def test_the_summary_page_says_when_nothing_looks_copied() -> None:
    from grader.bulk.classbook import ClassResults

    page = render_class_report(summarize(ClassResults((), ())))
    assert "<h2>Possible copying</h2>" in page and "None found." in page


# --- --students ------------------------------------------------------------------------

def test_students_regrades_only_those_and_keeps_everyone_elses_verdicts(
        tmp_path: Path, graded: list[str]) -> None:
    subs = _class(tmp_path / "subs", {"ana": SOLUTION, "ben": SEQUENTIAL, "Émile": STUB})
    out = tmp_path / "out"
    _bulk(Course(REPO), subs, out)
    assert len(graded) == 3
    graded.clear()

    outcome = _bulk(Course(REPO), subs, out, students=["ben", "emile"])

    assert sorted(graded) == sorted([SEQUENTIAL.decode(), STUB.decode()])  # graded again
    assert outcome.summary.graded == 2
    rows = (out / "grades.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["ana", "ben", "Émile"]
    assert rows[1].split(",")[1] == rows[1].split(",")[2] != ""  # ana's verdict kept


def test_unknown_students_stop_the_run_with_the_closest_names(
        tmp_path: Path, graded: list[str]) -> None:
    subs = _class(tmp_path / "subs", {"alice": STUB, "alicia": STUB, "bob": STUB})

    with pytest.raises(SubmissionsError) as caught:
        _bulk(Course(REPO), subs, tmp_path / "out", students=["alcie", "bob"])

    message = caught.value.message
    assert "no student named 'alcie' (closest: alice, alicia)" in message
    assert "\n" not in message and graded == []


def test_students_on_the_command_line(tmp_path: Path, graded: list[str]) -> None:
    subs = _class(tmp_path / "subs", {"alice": STUB, "bob": STUB})
    args = ["bulk", str(subs), "--out", str(tmp_path / "out"), "--exercises", "03",
            "--unsafe-no-sandbox", "--workers", "1"]

    wrong = CliRunner().invoke(main, [*args, "--students", "bbo"],
                               env={"GRADER_COURSE": str(REPO)})
    right = CliRunner().invoke(main, [*args, "--students", "bob"],
                               env={"GRADER_COURSE": str(REPO)})

    assert wrong.exit_code == 2
    assert "no student named 'bbo' (closest: bob)" in wrong.output
    assert right.exit_code == 0, right.output
    assert "Graded 1 file(s)" in right.output
    assert (tmp_path / "out" / "grades.csv").read_text().splitlines()[1] == "alice,,"


# --- Name order and file modes ------------------------------------------------------

def test_every_output_lists_students_by_name_ignoring_case_and_accents(
        tmp_path: Path, graded: list[str]) -> None:
    names = ["zoe", "Émile", "adam", "Bob", "emil", "Emma"]
    subs = _class(tmp_path / "subs", {n: SEQUENTIAL + f"# {n}\n".encode() for n in names})
    out = tmp_path / "out"

    _bulk(Course(REPO), subs, out)

    expected = ["adam", "Bob", "emil", "Émile", "Emma", "zoe"]
    rows = (out / "grades.csv").read_text(encoding="utf-8").splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == expected
    document = json.loads((out / "results.json").read_text())
    assert [s["student"] for s in document["students"]] == expected
    page = (out / "class-summary.html").read_text()
    students = page[page.index("<h2>Students</h2>"):]
    assert [students.index(f">{n}</a>") for n in expected] == sorted(
        students.index(f">{n}</a>") for n in expected)


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_get_the_modes_the_umask_gives_new_files(
        tmp_path: Path, graded: list[str], umask: int) -> None:
    subs = _class(tmp_path / "subs", {"ana": SOLUTION, "ben": STUB})
    out = tmp_path / "out"
    old = os.umask(umask)
    try:
        _bulk(Course(REPO), subs, out, lms=["canvas"])
    finally:
        os.umask(old)

    modes = {p.relative_to(out).as_posix(): stat.S_IMODE(p.stat().st_mode)
             for p in [out / "students", *out.rglob("*")]
             if not p.name.startswith((".", "gradebook.sqlite-"))}
    assert {"grades.csv", "grades-canvas.csv", "results.json", "class-summary.html",
            "gradebook.sqlite", "students", "students/ana.html"} <= set(modes)
    for name, mode in modes.items():
        wanted = 0o777 & ~umask if (out / name).is_dir() else 0o666 & ~umask
        assert mode == wanted, f"{name}: {mode:o}, expected {wanted:o}"
