"""The student's progress record: every graded attempt and every hint seen, in SQLite.

Why SQLite from the standard library: an embedded file database with atomic commits,
no server, nothing to install, and readable later with any ``sqlite3`` shell.

Decisions made here:

- **Where**: ``<course>/.progress/progress.db`` (git ignores ``.progress/``), or the file
  named by ``--db PATH`` / ``$GRADER_PROGRESS_DB`` (see :func:`progress_db_path`).
- **Schema versions**: ``PRAGMA user_version`` holds the version; ``MIGRATIONS[i]`` takes
  a record from version ``i`` to ``i + 1``. All pending migrations run in the same
  transaction that bumps ``user_version``, so a migration that fails (or a crash during
  one) leaves the record at its old version, never half-migrated. A record from a newer
  grader is refused with :class:`~grader.errors.ProgressTooNewError`, not half-read.
- **Two ``grade`` commands at once** (a watch window and a terminal): the journal is in
  WAL mode (readers never wait for the writer) and every write starts with
  ``BEGIN IMMEDIATE``, which takes the write lock up front; the other writer waits (busy
  timeout) instead of failing halfway through with "database is locked".
- **Crash safety**: one attempt is one transaction (the attempt row and all its check
  rows), so ``kill -9`` or a crash mid-write leaves the previous state. ``synchronous =
  NORMAL`` in WAL mode: a power cut may lose the last attempt, never corrupt the file.
- **Damage is never reset silently**: any "not a database" or "malformed" error from
  SQLite becomes :class:`~grader.errors.ProgressCorruptError`, naming the file and how
  to move it aside. Recording a student's history is worth one clear error message.

Recording costs one small transaction (about a millisecond, plus ~2 ms to import
``sqlite3``), so callers import this module lazily, inside the commands that use it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from grader.engine.feedback import Feedback
from grader.errors import ProgressCorruptError, ProgressStoreError, ProgressTooNewError
from grader.supervision.results import CheckResult, GradeResult

__all__ = [
    "DB_ENV",
    "MIGRATIONS",
    "SOURCES",
    "Attempt",
    "AttemptScore",
    "ProgressStore",
    "progress_db_path",
]

DB_ENV = "GRADER_PROGRESS_DB"
BUSY_TIMEOUT = 15.0  # seconds a writer waits for another grade command's transaction
SOURCES = ("stub", "file")  # the student's stub, or a file given with --file

# MIGRATIONS[i] takes the record from schema version i to i + 1. Append, never edit:
# a student's record on disk was made by the statements as they were.
MIGRATIONS: list[tuple[str, ...]] = [
    (
        """CREATE TABLE attempts (
            id          INTEGER PRIMARY KEY,
            exercise    TEXT    NOT NULL,  -- folder name: exercise-03-concurrent-fetch
            title       TEXT    NOT NULL,
            graded_at   TEXT    NOT NULL,  -- ISO 8601, UTC
            source      TEXT    NOT NULL CHECK (source IN ('stub', 'file')),
            graded_file TEXT    NOT NULL,
            score       INTEGER NOT NULL,
            max_score   INTEGER NOT NULL,
            all_passed  INTEGER NOT NULL,
            duration    REAL    NOT NULL,  -- real seconds the grading took
            notes       TEXT    NOT NULL,  -- JSON list of strings
            hint_level  INTEGER NOT NULL   -- hints seen for this exercise when graded
        )""",
        "CREATE INDEX attempts_by_exercise ON attempts (exercise, id)",
        """CREATE TABLE checks (
            attempt_id    INTEGER NOT NULL REFERENCES attempts (id) ON DELETE CASCADE,
            position      INTEGER NOT NULL,
            name          TEXT    NOT NULL,
            title         TEXT    NOT NULL,
            task          INTEGER NOT NULL,
            status        TEXT    NOT NULL,
            points        INTEGER NOT NULL,
            max_points    INTEGER NOT NULL,
            what          TEXT,              -- the message; NULL when there was none
            misconception TEXT,
            next_step     TEXT,
            traceback     TEXT    NOT NULL,
            duration      REAL    NOT NULL,
            sim_elapsed   REAL,
            timeline      TEXT,              -- JSON: {"operations": [...], "budget", "elapsed"}
            PRIMARY KEY (attempt_id, position)
        )""",
        """CREATE TABLE hints_seen (
            exercise   TEXT    NOT NULL,
            hint_index INTEGER NOT NULL,     -- position in the exercise's [[hints]]
            seen_at    TEXT    NOT NULL,
            PRIMARY KEY (exercise, hint_index)
        )""",
    ),
    (
        # What the student's code printed during a check that did not pass (capped,
        # cleaned): the report shows it under the check. Passed checks keep none.
        "ALTER TABLE checks ADD COLUMN output TEXT NOT NULL DEFAULT ''",
    ),
]


def progress_db_path(course_root: Path, override: Path | None = None) -> Path:
    """The record's file: ``override`` (--db), else ``$GRADER_PROGRESS_DB``, else the course's."""
    if override is not None:
        return Path(override).expanduser()
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return course_root / ".progress" / "progress.db"


@dataclass(frozen=True)
class Attempt:
    """One recorded grading: when, of what, from which file, the full result."""

    id: int
    graded_at: str  # ISO 8601, UTC
    source: str  # "stub" or "file"
    hint_level: int  # hints the student had seen for this exercise at the time
    result: GradeResult

    @property
    def exercise(self) -> str:
        return self.result.exercise

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "graded_at": self.graded_at,
            "source": self.source,
            "hint_level": self.hint_level,
            "result": self.result.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Attempt:
        return cls(
            id=int(data["id"]),
            graded_at=str(data["graded_at"]),
            source=str(data["source"]),
            hint_level=int(data.get("hint_level", 0)),
            result=GradeResult.from_dict(data["result"]),
        )


@dataclass(frozen=True)
class AttemptScore:
    """An attempt without its checks: enough for status, best score and history."""

    id: int
    exercise: str
    graded_at: str
    source: str
    score: int
    max_score: int
    all_passed: bool
    hint_level: int


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ProgressStore:
    """An open progress record. Use :meth:`open`; close it (or use ``with``) when done."""

    def __init__(self, path: Path, connection: sqlite3.Connection) -> None:
        self.path = path
        self._db = connection

    # -- opening -----------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, *, create: bool = True) -> ProgressStore:
        """Open (and if needed create or migrate) the record at ``path``.

        With ``create=False`` a missing file is read as an empty record without creating
        it, so looking at progress never leaves files behind.
        """
        path = Path(path)
        if not create and not path.exists():
            store = cls(path, sqlite3.connect(":memory:", isolation_level=None))
        else:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ProgressStoreError(
                    f"Can't create the folder for your progress record {path} "
                    f"({exc.strerror}). Use --db PATH or {DB_ENV} to keep it elsewhere."
                ) from None
            if path.is_dir():
                raise ProgressStoreError(
                    f"{path} is a folder, not a progress record. Use --db PATH or "
                    f"{DB_ENV} to name a file."
                )
            try:
                connection = sqlite3.connect(
                    path, timeout=BUSY_TIMEOUT, isolation_level=None
                )
            except sqlite3.Error as exc:
                raise _translate(path, exc) from None
            store = cls(path, connection)
        try:
            store._prepare()
        except BaseException:
            store.close()
            raise
        return store

    def _prepare(self) -> None:
        """Check the version, switch to WAL, run pending migrations in one transaction."""
        with self._errors():
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            target = len(MIGRATIONS)
            if version > target:
                raise ProgressTooNewError(self.path, version, target)
            if version == 0:
                # Persistent in the file; can't be changed inside a transaction.
                self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            if version < target:
                self._migrate(target)

    def _migrate(self, target: int) -> None:
        with self._transaction():
            # Another grade command may have migrated while we waited for the lock.
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            try:
                for statements in MIGRATIONS[version:target]:
                    for statement in statements:
                        self._db.execute(statement)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorname", "") != "SQLITE_ERROR":
                    raise  # busy, full, damaged...: reported as such by _errors()
                raise ProgressStoreError(
                    f"Couldn't upgrade your progress record {self.path} from format "
                    f"v{version} to v{target} ({exc}); it was left as it was. Please "
                    "report this, and meanwhile use --db PATH or "
                    f"{DB_ENV} to keep a new record elsewhere."
                ) from None
            self._db.execute(f"PRAGMA user_version = {target:d}")

    def check_integrity(self) -> None:
        """Read every page (``PRAGMA quick_check``); raise if any of it is damaged.

        Costs milliseconds per megabyte, so it runs where a student looks at the whole
        record (overview, report), not on every grading.
        """
        with self._errors():
            rows = self._db.execute("PRAGMA quick_check").fetchall()
        problems = [r[0] for r in rows if r[0] != "ok"]
        if problems:
            raise ProgressCorruptError(self.path, "; ".join(problems[:3]))

    @property
    def schema_version(self) -> int:
        with self._errors():
            return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ProgressStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- plumbing ----------------------------------------------------------------------

    @contextmanager
    def _errors(self) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise _translate(self.path, exc) from None

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write: BEGIN IMMEDIATE takes the write lock first, so writers queue."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # -- attempts ----------------------------------------------------------------------

    def record_attempt(
        self, result: GradeResult, *, source: str = "stub", graded_at: str | None = None
    ) -> Attempt:
        """Store one grading and all its checks, atomically; return it as recorded."""
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        graded_at = graded_at or _now()
        with self._errors(), self._transaction():
            hint_level = self._db.execute(
                "SELECT count(*) FROM hints_seen WHERE exercise = ?", (result.exercise,)
            ).fetchone()[0]
            cursor = self._db.execute(
                """INSERT INTO attempts (exercise, title, graded_at, source, graded_file,
                       score, max_score, all_passed, duration, notes, hint_level)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                (result.exercise, result.title, graded_at, source, result.graded_file,
                 result.score, result.max_score, int(result.all_passed), result.duration,
                 json.dumps(list(result.notes)), hint_level),
            )
            attempt_id = cursor.lastrowid
            assert attempt_id is not None
            self._insert_checks(attempt_id, result.checks)
        return Attempt(attempt_id, graded_at, source, hint_level, result)

    def _insert_checks(self, attempt_id: int, checks: Sequence[CheckResult]) -> None:
        self._db.executemany(
            """INSERT INTO checks (attempt_id, position, name, title, task, status, points,
                   max_points, what, misconception, next_step, traceback, duration,
                   sim_elapsed, timeline, output)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            [
                (attempt_id, position, c.name, c.title, c.task, c.status, c.points,
                 c.max_points,
                 c.feedback.what if c.feedback else None,
                 c.feedback.misconception if c.feedback else None,
                 c.feedback.next_step if c.feedback else None,
                 c.traceback, c.duration, c.sim_elapsed,
                 None if c.timeline is None else json.dumps(c.timeline),
                 "" if c.passed else c.output)
                for position, c in enumerate(checks)
            ],
        )

    def attempts(self, exercise: str | None = None) -> list[Attempt]:
        """Every attempt (of one exercise, if given), oldest first, with its checks."""
        where, args = ("WHERE exercise = ?", (exercise,)) if exercise else ("", ())
        with self._errors():
            rows = self._db.execute(
                f"""SELECT id, exercise, title, graded_at, source, graded_file, duration,
                        notes, hint_level
                    FROM attempts {where} ORDER BY id""",
                args,
            ).fetchall()
            check_rows = self._db.execute(
                f"""SELECT attempt_id, name, title, task, status, points, max_points, what,
                        misconception, next_step, traceback, duration, sim_elapsed, timeline,
                        output
                    FROM checks
                    WHERE attempt_id IN (SELECT id FROM attempts {where})
                    ORDER BY attempt_id, position""",
                args,
            ).fetchall()
        checks: dict[int, list[CheckResult]] = {}
        for row in check_rows:
            checks.setdefault(row[0], []).append(_check_from_row(row[1:]))
        return [
            Attempt(
                id=row[0], graded_at=row[3], source=row[4], hint_level=row[8],
                result=GradeResult(
                    exercise=row[1], title=row[2], graded_file=row[5],
                    checks=tuple(checks.get(row[0], ())), duration=row[6],
                    notes=tuple(json.loads(row[7])),
                ),
            )
            for row in rows
        ]

    def latest_attempt(self, exercise: str, *, source: str | None = None) -> Attempt | None:
        """The most recent attempt at ``exercise`` (from ``source``, if given)."""
        # Few attempts per exercise; reading them all keeps one reconstruction path.
        found = [a for a in self.attempts(exercise) if source is None or a.source == source]
        return found[-1] if found else None

    def has_passed(self, exercise: str) -> bool:
        """Whether a grading of the student's own file of ``exercise`` passed every check."""
        with self._errors():
            row = self._db.execute(
                "SELECT 1 FROM attempts WHERE exercise = ? AND source = 'stub' "
                "AND all_passed LIMIT 1", (exercise,)
            ).fetchone()
        return row is not None

    def scores(self) -> list[AttemptScore]:
        """Every attempt's score, without checks: cheap enough for the overview."""
        with self._errors():
            rows = self._db.execute(
                """SELECT id, exercise, graded_at, source, score, max_score, all_passed,
                       hint_level
                   FROM attempts ORDER BY id"""
            ).fetchall()
        return [AttemptScore(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7]) for r in rows]

    # -- hints -------------------------------------------------------------------------

    def hints_seen(self) -> dict[str, tuple[int, ...]]:
        """For each exercise, the indexes of the hints shown, in the order shown."""
        with self._errors():
            rows = self._db.execute(
                "SELECT exercise, hint_index FROM hints_seen ORDER BY seen_at, rowid"
            ).fetchall()
        seen: dict[str, list[int]] = {}
        for exercise, index in rows:
            seen.setdefault(exercise, []).append(index)
        return {exercise: tuple(indexes) for exercise, indexes in seen.items()}

    def mark_hints_seen(self, exercise: str, indexes: Sequence[int]) -> None:
        """Remember that these hints were shown (showing one twice changes nothing)."""
        now = _now()
        with self._errors(), self._transaction():
            self._db.executemany(
                "INSERT OR IGNORE INTO hints_seen (exercise, hint_index, seen_at) "
                "VALUES (?, ?, ?)",
                [(exercise, index, now) for index in indexes],
            )


def _check_from_row(row: Sequence[Any]) -> CheckResult:
    (name, title, task, status, points, max_points, what, misconception, next_step,
     traceback, duration, sim_elapsed, timeline, output) = row
    feedback = None
    if what is not None:
        feedback = Feedback(what, misconception or "", next_step or "")
    return CheckResult(
        name=name, title=title, task=task, status=status, points=points,
        max_points=max_points, feedback=feedback, traceback=traceback, duration=duration,
        sim_elapsed=sim_elapsed, timeline=None if timeline is None else json.loads(timeline),
        output=output or "",
    )


def _translate(path: Path, exc: sqlite3.Error) -> ProgressStoreError:
    """A user error for an SQLite failure: busy, can't write, or damaged."""
    code = getattr(exc, "sqlite_errorname", "")
    if code.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")):
        return ProgressStoreError(
            f"Your progress record {path} is busy: another grade command kept it locked "
            f"for over {BUSY_TIMEOUT:.0f} s. Try again in a moment."
        )
    if code.startswith(("SQLITE_CANTOPEN", "SQLITE_READONLY", "SQLITE_PERM", "SQLITE_FULL")):
        return ProgressStoreError(
            f"Can't write your progress record {path} ({exc}). Check the disk and the "
            f"folder's permissions, or use --db PATH or {DB_ENV} to keep it elsewhere."
        )
    return ProgressCorruptError(path, str(exc))
