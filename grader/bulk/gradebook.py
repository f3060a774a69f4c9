"""The bulk gradebook: a SQLite file that records each verdict the moment it is known.

Why SQLite, one row per grading, committed one by one: a class takes minutes to grade,
and an instructor's laptop sleeps, a terminal closes, someone presses Ctrl-C or the
process is killed. Every committed row survives all of that (WAL journal; a transaction
is durable once ``commit`` returns, even after ``kill -9`` of this process), so a re-run
grades only what is missing.

A row is keyed by (student, exercise, file hash, suite hash). The file hash is the
SHA-256 of the bytes the student handed in; the suite hash covers every file of the
exercise's ``.meta/`` folder (hidden tests and metadata, so changed points or checks
count) plus the grader's version. The resume rule: a grading is skipped when a row with
all four parts equal exists. Rows for older versions of a file stay as history and are
simply not exported.

Decisions, feedback and measurements are kept apart on purpose. ``gradings.checks``
holds what was decided per check (status, points, simulated seconds), which the virtual
clock makes independent of machine load: the same class graded on an idle and on a busy
machine gives identical decisions (compare :meth:`Gradebook.verdict_digest`).
``gradings.verdict`` adds the feedback (messages, tracebacks, timelines); its wording can
differ between two runs where a message quotes something the run measured or the
student's code made nondeterministic (an order taken from a set). ``timings`` holds the
real seconds each grading took, which can never be identical.

Verdicts are written as strict JSON (``allow_nan=False``) from results that are clean
by construction (:mod:`grader.supervision.results`), and read back through the same constructors,
so a verdict stored before those rules (a NaN, a lone surrogate, an escape sequence, a
timeline of 12,000 operations) is cleaned as it is read instead of crashing the outputs
of every resume. A row whose verdict cannot be read at all counts as not recorded, so
the next run grades that file again and replaces it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grader
from grader.course.course import Exercise
from grader.errors import GradebookError
from grader.supervision.results import GradeResult
from grader.supervision.sanitize import clean_name, clean_number

__all__ = ["SCHEMA_VERSION", "Gradebook", "GradingKey", "Recorded", "suite_hash"]

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS info (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS gradings (
    student    TEXT NOT NULL,
    exercise   TEXT NOT NULL,      -- the exercise folder name, exercise-03-concurrent-fetch
    file_hash  TEXT NOT NULL,      -- sha256 of the submitted module
    suite_hash TEXT NOT NULL,      -- sha256 of the exercise's .meta/ files + grader version
    score      INTEGER NOT NULL,
    max_score  INTEGER NOT NULL,
    checks     TEXT NOT NULL,      -- JSON [[check, status, points, simulated seconds], ...]
    verdict    TEXT NOT NULL,      -- GradeResult as JSON, real-time measurements removed
    PRIMARY KEY (student, exercise, file_hash, suite_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS timings (
    student     TEXT NOT NULL,
    exercise    TEXT NOT NULL,
    file_hash   TEXT NOT NULL,
    suite_hash  TEXT NOT NULL,
    seconds     REAL NOT NULL,     -- real time of the whole grading (0 when reused)
    checks      TEXT NOT NULL,     -- JSON {check name: real seconds}
    graded_at   TEXT NOT NULL,     -- UTC, ISO 8601
    run_id      INTEGER,
    reused_from TEXT,              -- student whose identical file's verdict was reused
    PRIMARY KEY (student, exercise, file_hash, suite_hash)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    workers     INTEGER NOT NULL,
    planned     INTEGER NOT NULL,  -- gradings this run set out to do
    graded      INTEGER NOT NULL DEFAULT 0,
    reused      INTEGER NOT NULL DEFAULT 0,
    failed      INTEGER NOT NULL DEFAULT 0,
    status      TEXT NOT NULL      -- running / finished / interrupted
);
"""


@dataclass(frozen=True)
class GradingKey:
    student: str
    exercise: str
    file_hash: str
    suite_hash: str


@dataclass(frozen=True)
class Recorded:
    """One gradebook row, with its measurements merged back into the result."""

    key: GradingKey
    result: GradeResult
    seconds: float
    graded_at: str
    reused_from: str | None


def suite_hash(exercise: Exercise) -> str:
    """What a verdict depends on besides the student's file: ``.meta/`` and the grader."""
    digest = hashlib.sha256(f"grader {grader.__version__}\n".encode())
    for path in sorted(exercise.meta_dir.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(f"{path.relative_to(exercise.meta_dir).as_posix()}\n".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _storable(name: str) -> str:
    """``name`` as SQLite can store it (valid UTF-8), unchanged unless it can't be.

    A folder name holding bytes that are not UTF-8 reaches us with lone surrogates
    (``os.fsdecode``), which SQLite refuses; those bytes are written as ``\\xff``, as
    :func:`grader.supervision.sanitize.clean_name` shows them. Two names can only meet this way if
    one is spelled with a literal backslash, and the key also holds the file's hash, so
    they would share a verdict only for byte-identical files, which get the same verdict.
    """
    try:
        name.encode("utf-8")
        return name
    except UnicodeEncodeError:
        try:
            raw = name.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:
            raw = name.encode("utf-8", "surrogatepass")
        return raw.decode("utf-8", "backslashreplace")


def _stored(key: GradingKey) -> tuple[str, str, str, str]:
    return (_storable(key.student), key.exercise, key.file_hash, key.suite_hash)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _decisions(result: GradeResult) -> str:
    return json.dumps([[c.name, c.status, c.points, c.sim_elapsed] for c in result.checks],
                      allow_nan=False)


def _split(result: GradeResult) -> tuple[str, dict[str, Any]]:
    """(verdict JSON without real-time measurements, those measurements)."""
    verdict = result.to_dict()
    verdict["duration"] = 0.0
    check_seconds = {}
    for check in verdict["checks"]:
        check_seconds[check["name"]] = check.pop("duration", 0.0)
    return json.dumps(verdict, sort_keys=True, allow_nan=False), check_seconds


def _seconds(value: object) -> float:
    number = clean_number(value)
    return 0.0 if number is None else number


def _join(verdict: str, seconds: float, check_seconds: str) -> GradeResult:
    result = GradeResult.from_dict(json.loads(verdict))
    durations = json.loads(check_seconds)
    if not isinstance(durations, dict):
        durations = {}
    checks = tuple(dataclasses.replace(c, duration=_seconds(durations.get(c.name)))
                   for c in result.checks)
    return dataclasses.replace(result, checks=checks, duration=seconds)


def _recorded(key: GradingKey, row: tuple) -> Recorded | None:
    """The row as a :class:`Recorded`, cleaned; ``None`` if its verdict can't be read."""
    verdict, seconds, checks, graded_at, reused_from = row
    seconds = _seconds(seconds)
    try:
        result = _join(verdict, seconds, checks or "{}")
    except (ValueError, KeyError, TypeError):  # not JSON, or not a verdict: grade it again
        return None
    return Recorded(key, result, seconds, clean_name(graded_at or "", 40),
                    None if reused_from is None else clean_name(reused_from))


class Gradebook:
    """The gradebook file; use from one thread (the pipeline's main thread)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA busy_timeout = 10000")
            self._db.execute("PRAGMA journal_mode = WAL")
            # NORMAL in WAL mode: a committed row survives the process being killed;
            # only a power cut may lose the last few, which a re-run grades again.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.executescript(_SCHEMA)
            row = self._db.execute("SELECT value FROM info WHERE key = 'schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise GradebookError(path, f"not a readable gradebook: {exc}") from None
        if row is None:
            self._db.execute("INSERT INTO info VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise GradebookError(path, f"written by a newer grader (schema {row[0]})")

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Gradebook:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading ------------------------------------------------------------------------

    def find(self, key: GradingKey) -> Recorded | None:
        row = self._db.execute(
            "SELECT g.verdict, t.seconds, t.checks, t.graded_at, t.reused_from "
            "FROM gradings g LEFT JOIN timings t USING (student, exercise, file_hash, suite_hash) "
            "WHERE student = ? AND exercise = ? AND file_hash = ? AND suite_hash = ?",
            _stored(key),
        ).fetchone()
        return None if row is None else _recorded(key, row)

    def find_same_file(self, exercise: str, file_hash: str, suite_hash: str) -> Recorded | None:
        """A verdict for these exact bytes against this exact suite, for any student."""
        row = self._db.execute(
            "SELECT g.student, g.verdict, t.seconds, t.checks, t.graded_at, t.reused_from "
            "FROM gradings g LEFT JOIN timings t USING (student, exercise, file_hash, suite_hash) "
            "WHERE exercise = ? AND file_hash = ? AND suite_hash = ? "
            "ORDER BY t.reused_from IS NOT NULL, g.student LIMIT 1",
            (exercise, file_hash, suite_hash),
        ).fetchone()
        if row is None:
            return None
        return _recorded(GradingKey(row[0], exercise, file_hash, suite_hash), row[1:])

    def recorded_keys(self) -> Iterator[GradingKey]:
        for row in self._db.execute("SELECT student, exercise, file_hash, suite_hash "
                                    "FROM gradings ORDER BY 1, 2, 3, 4"):
            yield GradingKey(*row)

    def verdict_digest(self) -> str:
        """SHA-256 of every row (key, score, decisions and the full verdict with its
        feedback text and timelines; real-time measurements live in ``timings``)."""
        digest = hashlib.sha256()
        for row in self._db.execute("SELECT student, exercise, file_hash, suite_hash, score, "
                                    "max_score, checks, verdict FROM gradings "
                                    "ORDER BY 1, 2, 3, 4"):
            digest.update(json.dumps(row).encode())
        return digest.hexdigest()

    # -- writing ------------------------------------------------------------------------

    def record(self, key: GradingKey, result: GradeResult, *, seconds: float,
               run_id: int | None = None, reused_from: str | None = None) -> None:
        """Store one grading, committed before this returns."""
        verdict, check_seconds = _split(result)
        with self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO gradings VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*_stored(key), result.score, result.max_score, _decisions(result), verdict),
            )
            self._db.execute(
                "INSERT OR REPLACE INTO timings VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_stored(key), _seconds(seconds), json.dumps(check_seconds, allow_nan=False),
                 _now(), run_id, None if reused_from is None else _storable(reused_from)),
            )

    def start_run(self, *, workers: int, planned: int) -> int:
        with self._transaction():
            cursor = self._db.execute(
                "INSERT INTO runs (started_at, workers, planned, status) "
                "VALUES (?, ?, ?, 'running')", (_now(), workers, planned))
        return int(cursor.lastrowid or 0)

    def finish_run(self, run_id: int, *, status: str, graded: int, reused: int,
                   failed: int) -> None:
        with self._transaction():
            self._db.execute(
                "UPDATE runs SET finished_at = ?, status = ?, graded = ?, reused = ?, "
                "failed = ? WHERE id = ?", (_now(), status, graded, reused, failed, run_id))

    def runs(self) -> list[dict[str, Any]]:
        cursor = self._db.execute("SELECT * FROM runs ORDER BY id")
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor]

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on anything (Ctrl-C included)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
