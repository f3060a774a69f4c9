"""grade bulk --shard K/N and grade bulk-merge: a class in slices, joined into one folder.

The slices are plumbing, so most tests grade with a fake grade_file (a verdict that
depends on the file's bytes only, as a real one does); the real gradings through the
sandbox are covered by tests/test_bulk_pipeline.py and tests/test_cluster.py. The
course is a copy of exercise 03, so an edit elsewhere in the checkout cannot change a
suite between two shards of one test.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.bulk import pipeline
from grader.bulk.run import GRADEBOOK_NAME, run_bulk
from grader.bulk.shards import MANIFEST_NAME, merge_shards, parse_shard, read_manifest, shard_of
from grader.cli import main
from grader.course.course import Course, Exercise
from grader.errors import SubmissionsError
from grader.supervision.results import CheckResult, GradeResult
from helpers import REPO

EX03 = "exercise-03-concurrent-fetch"


def _fake_grade_file(exercise: Exercise, module_file: Path, **_: object) -> GradeResult:
    """Full marks for a file containing 'good', none otherwise."""
    good = b"good" in module_file.read_bytes()
    checks = tuple(CheckResult(c.name, c.title, c.task, "passed" if good else "failed",
                               c.points if good else 0, c.points)
                   for c in exercise.meta.checks)
    return GradeResult(exercise.name, exercise.meta.title, str(module_file), checks, 0.01)


@pytest.fixture
def fake_grading(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pipeline, "grade_file", _fake_grade_file)


@pytest.fixture
def course_copy(tmp_path: Path) -> Course:
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "course.toml", root / "course.toml")
    shutil.copytree(REPO / "exercises" / EX03, root / "exercises" / EX03,
                    ignore=shutil.ignore_patterns("__pycache__"))
    return Course(root)


def _class(folder: Path, count: int) -> Path:
    for number in range(count):
        student = f"student-{number:02d}"
        (folder / student).mkdir(parents=True)
        kind = "good" if number % 3 else "bad"
        (folder / student / "fetcher.py").write_text(f"# {kind} work of {student}\n")
    (folder / "notes.pdf").write_bytes(b"%PDF")  # nobody's: listed by every shard
    return folder


def _shards(course: Course, subs: Path, base: Path, count: int,
            skip: tuple[int, ...] = ()) -> list[Path]:
    folders = []
    for index in range(count):
        if index in skip:
            continue
        out = base / f"results-{index}"
        outcome = run_bulk(course=course, submissions=subs, out=out, exercises=["03"],
                           workers=1, shard=parse_shard(f"{index}/{count}"))
        assert outcome.results is not None
        folders.append(out)
    return folders


def test_a_shard_spec_is_k_of_n_from_zero_and_anything_else_says_how() -> None:
    assert (parse_shard("0/4").index, parse_shard("0/4").count) == (0, 4)
    assert str(parse_shard(" 3/4 ")) == "3/4"
    for text, said in [("4/4", "--array=0-3"), ("1", "K/N"), ("a/b", "K/N"), ("-1/3", "K/N"),
                       ("0/0", "K counts from 0"), ("1/2/3", "K/N")]:
        with pytest.raises(SubmissionsError, match="--shard") as refused:
            parse_shard(text)
        assert said in refused.value.format_message()
        assert "\n" not in refused.value.format_message()


def test_every_student_lands_in_exactly_one_stable_slice() -> None:
    names = [f"student-{n}" for n in range(2000)]
    counts = Counter(shard_of(name, 4) for name in names)
    assert set(counts) == {0, 1, 2, 3}
    assert all(400 <= c <= 600 for c in counts.values()), counts  # even enough for a class
    # Pinned: the same name is in the same slice on every machine, run and Python.
    assert [shard_of(n, 10) for n in ("alice", "bob", "Anaïs", "x\udcff")] == [
        shard_of("alice", 10), shard_of("bob", 10), shard_of("Anaïs", 10),
        shard_of("x\udcff", 10)]
    assert shard_of("alice", 10) == int.from_bytes(
        __import__("hashlib").sha256(b"alice").digest()[:8], "big") % 10


def test_shards_merged_give_the_same_outputs_as_one_run(
        tmp_path: Path, course_copy: Course, fake_grading: None) -> None:
    subs = _class(tmp_path / "subs", 12)
    whole = run_bulk(course=course_copy, submissions=subs, out=tmp_path / "whole",
                     exercises=["03"], workers=1)
    assert whole.results is not None

    folders = _shards(course_copy, subs, tmp_path, 3)

    manifests = [read_manifest(f) for f in folders]
    graded = [s for m in manifests for s in m.students]
    assert sorted(graded) == [f"student-{n:02d}" for n in range(12)]  # each exactly once
    assert all(m.shard.count == 3 for m in manifests)
    for manifest in manifests:
        csv = (manifest.folder / "grades.csv").read_text().splitlines()
        assert len(csv) == 1 + len(manifest.students)  # a shard's own outputs, its slice only

    merged = merge_shards(course=course_copy, folders=folders, out=tmp_path / "merged")

    assert merged.conflicts == [] and merged.missing == [] and merged.unfinished == []
    assert merged.rows == 12
    out = tmp_path / "merged"
    assert (out / "grades.csv").read_text() == (tmp_path / "whole" / "grades.csv").read_text()
    one = json.loads((tmp_path / "whole" / "results.json").read_text())
    joined = json.loads((out / "results.json").read_text())
    assert [s["student"] for s in joined["students"]] == [s["student"] for s in one["students"]]
    assert [s["total"] for s in joined["students"]] == [s["total"] for s in one["students"]]
    assert sorted(p.name for p in (out / "students").iterdir()) == sorted(
        p.name for p in (tmp_path / "whole" / "students").iterdir())
    summary_page = (out / "class-summary.html").read_text()
    assert "notes.pdf" in summary_page and "merged 3 of 3 shards" in summary_page
    # The merged folder is an ordinary results folder: grade bulk resumes from it.
    again = run_bulk(course=course_copy, submissions=subs, out=out, exercises=["03"], workers=1)
    assert again.summary.graded == 0 and again.summary.already_recorded == 12


def test_a_missing_shard_is_named_and_its_students_are_not_graded(
        tmp_path: Path, course_copy: Course, fake_grading: None) -> None:
    subs = _class(tmp_path / "subs", 9)
    folders = _shards(course_copy, subs, tmp_path, 3, skip=(1,))
    absent = set(read_manifest(tmp_path / "results-0").students) | set(
        read_manifest(tmp_path / "results-2").students)

    result = CliRunner().invoke(main, ["bulk-merge", *map(str, folders), "--out",
                                       str(tmp_path / "merged")],
                                env={"GRADER_COURSE": str(course_copy.root)})

    assert result.exit_code == 1, result.output
    assert "shards not merged" in result.output and "1/3" in result.output
    document = json.loads((tmp_path / "merged" / "results.json").read_text())
    for student in document["students"]:
        state = student["exercises"][0]["state"]
        assert state == ("graded" if student["student"] in absent else "not graded")


def test_two_shards_with_different_verdicts_for_one_file_are_a_conflict(
        tmp_path: Path, course_copy: Course, fake_grading: None) -> None:
    subs = _class(tmp_path / "subs", 6)
    first, second = _shards(course_copy, subs, tmp_path, 2)
    # The same student-file recorded in both, with another score in the second (as two
    # runs of a nondeterministic submission, or two grader versions, would leave it).
    with sqlite3.connect(first / GRADEBOOK_NAME) as a, \
            sqlite3.connect(second / GRADEBOOK_NAME) as b:
        row = a.execute("SELECT * FROM gradings LIMIT 1").fetchone()
        timing = a.execute("SELECT * FROM timings WHERE student = ?", (row[0],)).fetchone()
        b.execute("INSERT INTO gradings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                  (*row[:4], row[4] + 1, *row[5:]))
        b.execute("INSERT INTO timings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", timing)

    result = CliRunner().invoke(main, ["bulk-merge", str(first), str(second), "--out",
                                       str(tmp_path / "merged")],
                                env={"GRADER_COURSE": str(course_copy.root)})

    assert result.exit_code == 1, result.output
    conflict = next(line for line in result.output.splitlines() if line.startswith("Conflict"))
    assert row[0] in conflict and f"kept {first}'s" in conflict
    assert f"{row[4]} vs {row[4] + 1} points" in conflict
    with sqlite3.connect(tmp_path / "merged" / GRADEBOOK_NAME) as merged:
        kept = merged.execute("SELECT score FROM gradings WHERE student = ?", (row[0],)).fetchall()
    assert kept == [(row[4],)]  # one row, the first folder's


def test_folders_that_are_not_slices_of_one_run_are_refused_in_one_line(
        tmp_path: Path, course_copy: Course, fake_grading: None) -> None:
    subs = _class(tmp_path / "subs", 4)
    halves = _shards(course_copy, subs, tmp_path / "halves", 2)
    thirds = _shards(course_copy, subs, tmp_path / "thirds", 3)
    plain = tmp_path / "plain"
    run_bulk(course=course_copy, submissions=subs, out=plain, exercises=["03"], workers=1)
    env = {"GRADER_COURSE": str(course_copy.root)}
    cases = [([halves[0], thirds[1]], "not slices of the same run"),
             ([halves[0], halves[0]], "given twice"),
             ([halves[0], plain], f"no {MANIFEST_NAME}"),
             ([halves[0], halves[1]], "is one of the shards")]
    for folders, said in cases:
        out = halves[0] if said == "is one of the shards" else tmp_path / "merged"
        result = CliRunner().invoke(main, ["bulk-merge", *map(str, folders), "--out", str(out)],
                                    env=env)
        assert result.exit_code == 2, result.output
        assert said in result.output and len(result.output.strip().splitlines()) == 1
        assert not (tmp_path / "merged").exists()


def test_grade_bulk_refuses_a_bad_shard_before_reading_anything(tmp_path: Path) -> None:
    subs = _class(tmp_path / "subs", 2)
    result = CliRunner().invoke(main, ["bulk", str(subs), "--out", str(tmp_path / "out"),
                                       "--shard", "3/3"], env={"GRADER_COURSE": str(REPO)})
    assert result.exit_code == 2
    assert "--array=0-2" in result.output and len(result.output.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()
