"""``grade bulk --shard K/N`` and ``grade bulk-merge``: a class in slices, for batch queues.

Where there is a batch scheduler (SLURM, PBS) but no Dask, a job array grades the class
in N independent jobs: job K runs ``grade bulk SUBMISSIONS --out results-K --shard K/N``
and grades only the students whose stable hash falls in slice K, into its own results
folder. Nothing is shared between the jobs while they run (no lock, no network), so a
job that fails is simply run again, and resumes like any ``grade bulk``.

The slice is ``sha256(student name) mod N``: the same student lands in the same slice on
every machine and every run, whatever the other students are, and slices come out even
for any real class. K counts from 0, like SLURM's ``--array=0-(N-1)``, so
``--shard $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`` works as it is.

Each shard writes ``shard.json`` beside its gradebook: which slice, which students, the
exercises, the hidden suites' hashes it planned with, and the options that shape the
outputs (submissions folder, roster, LMS formats). ``grade bulk-merge`` reads those,
refuses shards that do not belong together, copies every gradebook row into one new
gradebook (a row two shards both hold with different decisions is a conflict: the first
folder given wins and each conflict is named), then reads the class again and writes
every usual output from the merged gradebook, with the same code as a single run. The
merged folder is an ordinary results folder: ``grade bulk SUBMISSIONS --out MERGED``
resumes from it.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import grader
from grader.bulk.gradebook import SCHEMA_VERSION, Gradebook, suite_hash
from grader.errors import GraderError, SubmissionsError

__all__ = ["MANIFEST_NAME", "Conflict", "Manifest", "MergeOutcome", "Shard", "merge_shards",
           "parse_shard", "read_manifest", "shard_of", "write_manifest"]

MANIFEST_NAME = "shard.json"
MANIFEST_FORMAT = 1
MAX_SHARDS = 100_000


@dataclass(frozen=True)
class Shard:
    """Slice ``index`` of ``count`` (``index`` from 0)."""

    index: int
    count: int

    def holds(self, student: str) -> bool:
        return shard_of(student, self.count) == self.index

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def shard_of(student: str, count: int) -> int:
    """The slice a student belongs to: stable across machines, runs and Python versions
    (``hash()`` is salted per process; SHA-256 is not)."""
    digest = hashlib.sha256(student.encode("utf-8", "surrogateescape")).digest()
    return int.from_bytes(digest[:8], "big") % count


def parse_shard(text: str) -> Shard:
    """``K/N`` with 0 <= K < N; anything else, one line saying what to write."""
    index, slash, count = text.strip().partition("/")
    if not slash or not index.isdigit() or not count.isdigit():
        raise SubmissionsError(f"--shard {text!r}: write K/N, slice K of N counted from 0, "
                               "e.g. --shard 0/10 ... --shard 9/10.")
    k, n = int(index), int(count)
    if not 1 <= n <= MAX_SHARDS or k >= n:
        raise SubmissionsError(f"--shard {text}: K counts from 0 to N-1 (N at most "
                               f"{MAX_SHARDS}); for SLURM use --array=0-{max(n - 1, 0)}.")
    return Shard(k, n)


@dataclass(frozen=True)
class Manifest:
    """What one shard's results folder says about itself (``shard.json``)."""

    folder: Path
    shard: Shard
    submissions: str
    exercises: tuple[str, ...]  # Exercise.name, in the order graded
    suite_hashes: dict[str, str]
    students: tuple[str, ...]
    roster: str | None = None
    lms: tuple[str, ...] = ()
    lms_columns: str | None = None
    per_task: bool = False
    grader_version: str = ""

    def options(self) -> tuple[object, ...]:
        """Everything that must be equal for two shards to make one class."""
        return (self.shard.count, self.exercises, self.roster, self.lms, self.lms_columns,
                self.per_task)


def write_manifest(out: Path, shard: Shard, *, submissions: Path, exercises: Sequence[str],
                   suite_hashes: dict[str, str], students: Sequence[str],
                   roster: Path | None, lms: Sequence[str], lms_columns: str | None,
                   per_task: bool) -> Path:
    """Write ``out/shard.json`` whole or not at all (written beside it, then renamed)."""
    document = {
        "format": MANIFEST_FORMAT, "shard": [shard.index, shard.count],
        "grader": grader.__version__, "submissions": str(submissions.resolve()),
        "exercises": list(exercises), "suite_hashes": dict(suite_hashes),
        "students": list(students), "roster": str(roster.resolve()) if roster else None,
        "lms": list(lms), "lms_columns": lms_columns, "per_task": per_task,
    }
    target = out / MANIFEST_NAME
    partial = out / f".{MANIFEST_NAME}.partial"
    partial.write_text(json.dumps(document, indent=1, ensure_ascii=False,
                                  allow_nan=False) + "\n", encoding="utf-8",
                       errors="surrogateescape")
    os.replace(partial, target)
    return target


def read_manifest(folder: Path) -> Manifest:
    """The shard's manifest, or a one-line error naming the folder and what to do."""
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise SubmissionsError(f"{folder} has no {MANIFEST_NAME}: it is not the results folder "
                               "of a grade bulk --shard K/N run.")
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="surrogateescape"))
        if data.get("format") != MANIFEST_FORMAT:
            raise SubmissionsError(f"{path}: written by another grader (format "
                                   f"{data.get('format')!r}); grade the shard again.")
        k, n = data["shard"]
        return Manifest(
            folder, Shard(int(k), int(n)), str(data["submissions"]),
            tuple(str(e) for e in data["exercises"]),
            {str(a): str(b) for a, b in data["suite_hashes"].items()},
            tuple(str(s) for s in data["students"]), data.get("roster"),
            tuple(data.get("lms") or ()), data.get("lms_columns"),
            bool(data.get("per_task")), str(data.get("grader") or ""))
    except SubmissionsError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SubmissionsError(f"{path} is damaged ({type(exc).__name__}: {exc}); grade the "
                               "shard again.") from None


@dataclass(frozen=True)
class Conflict:
    """Two shards recorded different decisions for the same student, file and suite."""

    student: str
    exercise: str
    kept: str  # folder whose row was kept
    other: str
    kept_score: int
    other_score: int

    def describe(self) -> str:
        return (f"{self.student} / {self.exercise}: {self.kept} and {self.other} recorded "
                f"different verdicts for the same file ({self.kept_score} vs "
                f"{self.other_score} points); kept {self.kept}'s")


@dataclass
class MergeOutcome:
    """What ``grade bulk-merge`` did."""

    manifests: list[Manifest]
    rows: int = 0  # gradebook rows copied
    conflicts: list[Conflict] = field(default_factory=list)
    missing: list[int] = field(default_factory=list)  # slices no folder was given for
    unfinished: list[str] = field(default_factory=list)  # shards whose last run did not end
    bulk: object = None  # grader.bulk.run.BulkOutcome, with the results and files written


def _consistent(manifests: list[Manifest], submissions: Path | None) -> None:
    first = manifests[0]
    seen: dict[int, Path] = {}
    for manifest in manifests:
        if manifest.options() != first.options():
            raise SubmissionsError(
                f"{manifest.folder} and {first.folder} are not slices of the same run (their "
                "shard count, exercises, roster or LMS options differ); merge shards of one "
                "run only.")
        if submissions is None and manifest.submissions != first.submissions:
            raise SubmissionsError(
                f"{manifest.folder} graded {manifest.submissions}, {first.folder} graded "
                f"{first.submissions}; give the class folder with --submissions.")
        if manifest.suite_hashes != first.suite_hashes:
            raise SubmissionsError(
                f"{manifest.folder} and {first.folder} were graded against different hidden "
                "suites (one was edited in between); grade the older shard again.")
        if manifest.shard.index in seen:
            raise SubmissionsError(
                f"shard {manifest.shard} is given twice ({seen[manifest.shard.index]} and "
                f"{manifest.folder}); give each slice once.")
        seen[manifest.shard.index] = manifest.folder


def _copy_rows(target: Path, manifest: Manifest, conflicts: list[Conflict],
               owner: dict[tuple[str, ...], str]) -> int:
    """Add one shard's gradebook rows to ``target``; returns how many were new."""
    source = manifest.folder / "gradebook.sqlite"
    if not source.is_file():
        raise SubmissionsError(f"{manifest.folder} has no gradebook.sqlite; grade the shard "
                               "again.")
    db = sqlite3.connect(target, isolation_level=None)
    try:
        db.execute("PRAGMA busy_timeout = 10000")
        db.execute("ATTACH DATABASE ? AS shard", (str(source),))
        schema = db.execute("SELECT value FROM shard.info WHERE key = 'schema'").fetchone()
        if schema is None or int(schema[0]) != SCHEMA_VERSION:
            raise SubmissionsError(f"{source} has gradebook schema {schema and schema[0]}, this "
                                   f"grader {SCHEMA_VERSION}; merge with the grader that "
                                   "graded the shards.")
        for row in db.execute(
                "SELECT s.student, s.exercise, s.file_hash, s.suite_hash, m.score, s.score "
                "FROM shard.gradings s JOIN main.gradings m "
                "USING (student, exercise, file_hash, suite_hash) "
                "WHERE s.score != m.score OR s.checks != m.checks"):
            kept = owner.get(row[:4], "the merged gradebook")
            conflicts.append(Conflict(row[0], row[1], kept, str(manifest.folder), row[4],
                                      row[5]))
        db.execute("BEGIN IMMEDIATE")
        before = db.execute("SELECT count(*) FROM main.gradings").fetchone()[0]
        for key in db.execute("SELECT student, exercise, file_hash, suite_hash "
                              "FROM shard.gradings").fetchall():
            owner.setdefault(tuple(key), str(manifest.folder))
        db.execute("INSERT OR IGNORE INTO main.gradings SELECT * FROM shard.gradings")
        db.execute("INSERT OR IGNORE INTO main.timings SELECT student, exercise, file_hash, "
                   "suite_hash, seconds, checks, graded_at, NULL, reused_from FROM shard.timings")
        after = db.execute("SELECT count(*) FROM main.gradings").fetchone()[0]
        db.execute("COMMIT")
        return int(after - before)
    except sqlite3.DatabaseError as exc:
        raise SubmissionsError(f"{source} can't be read ({exc}); grade the shard again.") from None
    finally:
        db.close()


def _last_run(folder: Path) -> tuple[str, float]:
    """(status, seconds) of the shard's last run, from its gradebook."""
    with Gradebook(folder / "gradebook.sqlite") as book:
        runs = book.runs()
    if not runs:
        return "never ran", 0.0
    last = runs[-1]
    try:
        seconds = (datetime.fromisoformat(last["finished_at"])
                   - datetime.fromisoformat(last["started_at"])).total_seconds()
    except (TypeError, ValueError):
        seconds = 0.0
    return str(last["status"]), seconds


def merge_shards(*, course: object, folders: Sequence[Path], out: Path,
                 submissions: Path | None = None) -> MergeOutcome:
    """Join shard results folders into ``out``, with every output a single run writes."""
    # The same helpers grade bulk uses, so a merged folder is written as one run's would be.
    from grader.bulk.classbook import collect_results
    from grader.bulk.intake import IntakeLimits, read_class
    from grader.bulk.lms.columns import parse_columns
    from grader.bulk.pipeline import RunSummary
    from grader.bulk.roster import identify, load_roster
    from grader.bulk.run import (
        GRADEBOOK_NAME,
        BulkOutcome,
        _check_folders,
        _choose_exercises,
        _LmsRequest,
        _only_run,
        _write_outputs,
    )

    if not folders:
        raise SubmissionsError("Give the shards' results folders to merge.")
    manifests = [read_manifest(folder) for folder in folders]
    _consistent(manifests, submissions)
    first = manifests[0]
    resolved_out = out.resolve()
    if any(m.folder.resolve() == resolved_out for m in manifests):
        raise SubmissionsError(f"--out {out} is one of the shards; merge into a new folder.")
    class_folder = submissions or Path(first.submissions)
    _check_folders(class_folder, out)
    merged = MergeOutcome(manifests)
    merged.missing = sorted(set(range(first.shard.count)) - {m.shard.index for m in manifests})
    try:
        chosen, known = _choose_exercises(course, list(first.exercises))  # type: ignore[arg-type]
    except GraderError as exc:
        raise SubmissionsError(f"The shards graded exercises this course lacks: "
                               f"{exc.format_message()}") from None
    roster = load_roster(Path(first.roster)) if first.roster else None
    spec = parse_columns(first.lms_columns, course, chosen)  # type: ignore[arg-type]
    wall = 0.0
    with _only_run(out):
        target = out / GRADEBOOK_NAME
        Gradebook(target).close()  # the schema, as grade bulk creates it
        owner: dict[tuple[str, ...], str] = {}
        for manifest in manifests:
            merged.rows += _copy_rows(target, manifest, merged.conflicts, owner)
            status, seconds = _last_run(manifest.folder)
            wall = max(wall, seconds)
            if status != "finished":
                merged.unfinished.append(f"{manifest.folder} ({status})")
        intake = read_class(class_folder, chosen, course_exercises=known, limits=IntakeLimits())
        matched = identify(intake.submissions, roster)
        notes = [*intake.notes, *matched.notes]
        notes += [f"merged {len(manifests)} of {first.shard.count} shards"]
        if merged.missing:
            notes.append("shards not merged (their students show as not graded): "
                         + ", ".join(f"{k}/{first.shard.count}" for k in merged.missing))
        notes += [f"shard {u} did not finish: run it again, then merge" for u in merged.unfinished]
        notes += [c.describe() for c in merged.conflicts]
        if any(suite_hash(e) != first.suite_hashes.get(e.name) for e in chosen):
            notes.append("the hidden suites changed since the shards were graded: these are "
                         "the shards' verdicts; grade bulk on the merged folder regrades")
        with Gradebook(target) as gradebook:
            outcome = BulkOutcome(RunSummary(planned=0), matched.submissions, notes=notes,
                                  identities=matched.identities)
            outcome.results = collect_results(matched.submissions, chosen, gradebook,
                                              suite_hashes=first.suite_hashes,
                                              wall_seconds=wall)
            _write_outputs(outcome, chosen, out,
                           _LmsRequest(first.lms, spec, first.per_task, roster))
        merged.bulk = outcome
    return merged
