"""The progress record: round trips, migrations, concurrent writers, crashes, damage."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from grader.errors import ProgressCorruptError, ProgressStoreError, ProgressTooNewError
from grader.state import progress_store
from grader.state.progress_store import DB_ENV, MIGRATIONS, ProgressStore, progress_db_path
from helpers.progress_samples import EX03, exercise03_result

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / ".progress" / "progress.db"


def _child(code: str) -> subprocess.Popen:
    """A separate Python process running ``code`` with the grader and samples importable."""
    prelude = f"import sys; sys.path.insert(0, {str(TESTS)!r})\n"
    return subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(code)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_an_attempt_round_trips_exactly(db: Path) -> None:
    with ProgressStore.open(db) as store:
        for kind in ("stub", "sequential", "concurrent"):
            store.record_attempt(exercise03_result(kind))
        store.record_attempt(exercise03_result("concurrent", graded_file="mine.py"),
                             source="file")
    with ProgressStore.open(db) as store:
        attempts = store.attempts()
    assert [a.result for a in attempts[:3]] == [
        exercise03_result(k) for k in ("stub", "sequential", "concurrent")]
    assert [a.source for a in attempts] == ["stub", "stub", "stub", "file"]
    assert attempts[3].result.graded_file.endswith("mine.py")
    assert [a.id for a in attempts] == sorted(a.id for a in attempts)
    sequential = attempts[1].result.checks[1]
    assert sequential.timeline is not None
    assert sequential.timeline["operations"][1] == {
        "label": "b", "start": 1.0, "end": 1.5, "outcome": "ok"}
    assert sequential.feedback is not None
    assert sequential.feedback.misconception.startswith("`await` waits")


def test_attempts_can_be_read_per_exercise_and_as_scores(db: Path) -> None:
    with ProgressStore.open(db) as store:
        store.record_attempt(exercise03_result("stub"))
        store.record_attempt(exercise03_result("sequential"))
        assert store.attempts("exercise-01-other") == []
        assert len(store.attempts(EX03)) == 2
        assert store.latest_attempt(EX03).result.score == 7
        assert [(s.score, s.max_score, s.all_passed) for s in store.scores()] == [
            (0, 11, False), (7, 11, False)]


def test_attempt_data_is_plain_and_serialisable(db: Path) -> None:
    with ProgressStore.open(db) as store:
        attempt = store.record_attempt(exercise03_result("sequential"))
    assert progress_store.Attempt.from_dict(attempt.to_dict()) == attempt


def test_hints_are_remembered_in_order_and_counted_on_attempts(db: Path) -> None:
    with ProgressStore.open(db) as store:
        assert store.record_attempt(exercise03_result("stub")).hint_level == 0
        store.mark_hints_seen(EX03, [2])
        store.mark_hints_seen(EX03, [0, 2])  # showing one again changes nothing
        assert store.hints_seen() == {EX03: (2, 0)}
        assert store.record_attempt(exercise03_result("stub")).hint_level == 2


def test_a_new_record_is_at_the_current_version_in_wal_mode(db: Path) -> None:
    with ProgressStore.open(db) as store:
        assert store.schema_version == len(MIGRATIONS)
    with sqlite3.connect(db) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    raw.close()


def test_looking_without_create_leaves_no_file(db: Path) -> None:
    with ProgressStore.open(db, create=False) as store:
        assert store.attempts() == []
        assert store.hints_seen() == {}
    assert not db.exists() and not db.parent.exists()


def test_pending_migrations_run_and_keep_the_data(db: Path, monkeypatch) -> None:
    with ProgressStore.open(db) as store:
        store.record_attempt(exercise03_result("sequential"))
    monkeypatch.setattr(progress_store, "MIGRATIONS", [
        *MIGRATIONS,
        ("ALTER TABLE attempts ADD COLUMN note TEXT NOT NULL DEFAULT ''",
         "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)"),
    ])
    with ProgressStore.open(db) as store:
        assert store.schema_version == len(MIGRATIONS) + 1
        assert store.attempts()[0].result == exercise03_result("sequential")
    with sqlite3.connect(db) as raw:
        assert raw.execute("SELECT note FROM attempts").fetchall() == [("",)]
    raw.close()


def test_a_failing_migration_leaves_the_old_version_and_data(db: Path, monkeypatch) -> None:
    with ProgressStore.open(db) as store:
        store.record_attempt(exercise03_result("stub"))
    monkeypatch.setattr(progress_store, "MIGRATIONS", [
        *MIGRATIONS,
        ("CREATE TABLE half_done (x)", "THIS IS NOT SQL"),
    ])
    with pytest.raises(ProgressStoreError, match=r"Couldn't upgrade .* left as it was") as info:
        ProgressStore.open(db)
    assert str(db) in info.value.format_message()
    monkeypatch.setattr(progress_store, "MIGRATIONS", MIGRATIONS)
    with ProgressStore.open(db) as store:
        assert store.schema_version == len(MIGRATIONS)
        assert len(store.attempts()) == 1
    with sqlite3.connect(db) as raw:
        tables = {r[0] for r in raw.execute("SELECT name FROM sqlite_master")}
    raw.close()
    assert "half_done" not in tables


def test_a_record_from_a_newer_grader_is_refused_untouched(db: Path) -> None:
    with ProgressStore.open(db) as store:
        store.record_attempt(exercise03_result("stub"))
    raw = sqlite3.connect(db)
    raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 5}")
    raw.close()
    before = db.read_bytes()
    with pytest.raises(ProgressTooNewError) as info:
        ProgressStore.open(db)
    message = info.value.format_message()
    assert str(db) in message and "newer grader" in message
    assert "git pull" in message and "pip install -U" not in message  # a course, not PyPI
    assert db.read_bytes() == before


def test_a_file_that_is_not_a_database_is_reported_not_reset(db: Path) -> None:
    db.parent.mkdir(parents=True)
    db.write_bytes(b"these are not the bytes you are looking for" * 200)
    before = db.read_bytes()
    with pytest.raises(ProgressCorruptError) as info:
        ProgressStore.open(db)
    message = info.value.format_message()
    assert str(db) in message and "mv " in message and ".broken" in message
    assert info.value.exit_code == 2
    assert db.read_bytes() == before


def test_damaged_pages_are_found_by_the_integrity_check(db: Path) -> None:
    with ProgressStore.open(db) as store:
        for _ in range(60):
            store.record_attempt(exercise03_result("sequential"))
    # Closing checkpointed the WAL into the main file; now scribble over its middle.
    size = db.stat().st_size
    assert size > 8 * 4096
    with open(db, "r+b") as handle:
        handle.seek(3 * 4096)
        handle.write(b"\xa5" * (size // 2))
    with pytest.raises(ProgressCorruptError, match="damaged"), ProgressStore.open(db) as store:
        store.check_integrity()
        store.attempts()


def test_a_busy_record_says_so(db: Path, monkeypatch) -> None:
    ProgressStore.open(db).close()
    monkeypatch.setattr(progress_store, "BUSY_TIMEOUT", 0.05)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        with ProgressStore.open(db) as store, pytest.raises(ProgressStoreError, match="busy"):
            store.record_attempt(exercise03_result("stub"))
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_record_that_cannot_be_created_says_where_and_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(ProgressStoreError, match="--db PATH"):
        ProgressStore.open(tmp_path / "a-file" / "progress.db")
    with pytest.raises(ProgressStoreError, match="is a folder"):
        ProgressStore.open(tmp_path)


def test_the_location_is_option_then_environment_then_course(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv(DB_ENV, raising=False)
    assert progress_db_path(tmp_path) == tmp_path / ".progress" / "progress.db"
    monkeypatch.setenv(DB_ENV, str(tmp_path / "env.db"))
    assert progress_db_path(tmp_path) == tmp_path / "env.db"
    assert progress_db_path(tmp_path, tmp_path / "opt.db") == tmp_path / "opt.db"


def test_concurrent_writers_all_land(db: Path) -> None:
    """Several grade commands at once, each opening the record per attempt, from scratch."""
    writers, each = 4, 15
    code = f"""
        from pathlib import Path
        from grader.state.progress_store import ProgressStore
        from helpers.progress_samples import exercise03_result
        result = exercise03_result("sequential")
        for _ in range({each}):
            with ProgressStore.open(Path({str(db)!r})) as store:
                store.record_attempt(result)
    """
    children = [_child(code) for _ in range(writers)]
    try:
        for child in children:
            _, err = child.communicate(timeout=60)
            assert child.returncode == 0, err
    finally:  # one writer failing must not leave the others running into the next test
        for child in children:
            if child.returncode is None:
                child.kill()
                child.communicate()
    with ProgressStore.open(db) as store:
        store.check_integrity()
        attempts = store.attempts()
    assert len(attempts) == writers * each
    assert len({a.id for a in attempts}) == writers * each
    assert all(len(a.result.checks) == 6 for a in attempts)


def test_a_crash_mid_write_leaves_the_previous_state(db: Path) -> None:
    with ProgressStore.open(db) as store:
        store.record_attempt(exercise03_result("stub"))
    # The child dies after inserting the attempt row but before its checks and COMMIT.
    code = f"""
        import os
        from pathlib import Path
        from grader.state.progress_store import ProgressStore
        from helpers.progress_samples import exercise03_result
        ProgressStore._insert_checks = lambda self, attempt_id, checks: os._exit(3)
        with ProgressStore.open(Path({str(db)!r})) as store:
            store.record_attempt(exercise03_result("sequential"))
    """
    child = _child(code)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 3, err
    with ProgressStore.open(db) as store:
        store.check_integrity()
        attempts = store.attempts()
    assert [a.result for a in attempts] == [exercise03_result("stub")]


def test_a_kill_at_any_moment_never_leaves_half_an_attempt(db: Path) -> None:
    code = f"""
        from pathlib import Path
        from grader.state.progress_store import ProgressStore
        from helpers.progress_samples import exercise03_result
        result = exercise03_result("sequential")
        print("ready", flush=True)
        with ProgressStore.open(Path({str(db)!r})) as store:
            while True:
                store.record_attempt(result)
    """
    child = _child(code)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # let it write for a while, then pull the plug
        time.sleep(0.05)
        if db.exists() and db.stat().st_size > 64 * 1024:
            break
    os.kill(child.pid, signal.SIGKILL)
    child.communicate(timeout=10)
    with ProgressStore.open(db) as store:
        store.check_integrity()
        attempts = store.attempts()
    assert attempts, "the writer should have committed some attempts before the kill"
    assert all(a.result == exercise03_result("sequential") for a in attempts)
