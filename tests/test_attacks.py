"""The attack corpus: submissions that try to cheat, crash or escape earn nothing.

Each module in tests/fixtures/attacks/ wraps a wrong solution of exercise 03 (wrong
order, sequential, blocking) around one attack. Every one must score zero with a clear
reason, leave nothing behind (files, processes, network traffic), and never hang or
crash the grader.
"""

from __future__ import annotations

import hashlib
import os
import site
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from grader.course import Exercise
from grader.runner import grade_file
from grader.sandbox import shared_cells
from helpers import FIXTURES, REPO

ATTACKS = FIXTURES / "attacks"

REASONS = {
    "os_exit_at_import": "exit status 0",
    "sys_exit_in_check": "SystemExit",
    "base_exception_subclass": "Escape",
    "sleep_forever_at_import": "did not finish",
    "blocks_the_timeout_signal": "stopped",
    "memory_bomb": "MemoryError",
    "fork_bomb": "",
    "writes_outside": "",
    "tampers_with_tests": "",
    "plants_pth": "",
    "patches_pytest": "Flagged for review",
    "patches_grader": "Flagged for review",
    "forges_result_channel": "Flagged for review",
    "always_equal": "returned",
    "fakes_time": "Flagged for review",
    "leaves_threads_and_processes": "",
    "reads_environment": "secret=no secret",
}


def grade_attack(exercise: Exercise, path: Path):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = grade_file(exercise, path, time_limit=1.0)
    assert time.perf_counter() - started < 60, "the grader must never hang"
    return result


def assert_zero_with_reasons(result, reason: str) -> None:  # type: ignore[no-untyped-def]
    assert result.score == 0, [(c.name, c.status) for c in result.checks]
    for check in result.checks:
        assert check.status != "passed"
        assert check.feedback is not None and check.feedback.what
    everything = " ".join(f"{c.feedback.what} {c.traceback}" for c in result.checks)
    assert reason in everything


def test_every_attack_has_an_expected_reason() -> None:
    files = {p.stem for p in ATTACKS.glob("*.py")}
    assert files == set(REASONS)


@pytest.fixture(scope="module", autouse=True)
def _forked_like_bulk_grading():  # type: ignore[no-untyped-def]
    """Grade the corpus the way `grade bulk` does: children forked from the warm server."""
    with shared_cells():
        yield


@pytest.mark.parametrize("attack", sorted(REASONS))
def test_attack_earns_nothing(attack: str, exercise03: Exercise,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADER_TEST_SECRET", "hunter2")  # must never reach student code
    suite_hash = hashlib.sha256(exercise03.suite_file.read_bytes()).hexdigest()
    result = grade_attack(exercise03, ATTACKS / f"{attack}.py")
    assert_zero_with_reasons(result, REASONS[attack])
    # Nothing persisted for the next student.
    assert hashlib.sha256(exercise03.suite_file.read_bytes()).hexdigest() == suite_hash
    assert not (exercise03.suite_file.parent / "conftest.py").exists()
    for folder in site.getsitepackages():
        assert not Path(folder, "zz_attack.pth").exists()
    for marker in ("/tmp/async-grader-attack-marker", "/root/async-grader-attack-marker",
                   str(REPO.parent / "async-grader-attack-marker")):
        assert not Path(marker).exists()


def test_no_process_outlives_the_grading(exercise03: Exercise) -> None:
    grade_attack(exercise03, ATTACKS / "leaves_threads_and_processes.py")
    left = subprocess.run(["pgrep", "-f", "sleep 987654"], capture_output=True, text=True)
    assert left.stdout.strip() == ""


def test_network_is_unreachable(exercise03: Exercise, tmp_path: Path) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections: list[bytes] = []

    def accept() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            connections.append(conn.recv(100))
            conn.close()

    stop = threading.Event()
    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    attack = tmp_path / "fetcher.py"
    template = (ATTACKS / "network.py.template").read_text().replace("PORT", str(port))
    base = (ATTACKS / "writes_outside.py").read_text().split("\nfor target")[0]
    attack.write_text(base + "\n" + template)
    try:
        result = grade_attack(exercise03, attack)
    finally:
        stop.set()
        listener.join()
        server.close()
    if any("no network" in note for note in result.notes):
        pytest.skip("network isolation is not available on this machine: " + str(result.notes))
    assert connections == []
    assert result.score == 0


def test_protections_are_all_active_here(exercise03: Exercise) -> None:
    """On Linux as root (CI), no protection may be silently missing."""
    if os.geteuid() != 0 or not Path("/sys/fs/cgroup/pids").is_dir():
        pytest.skip("needs root and cgroup v1 pids, as on CI")
    result = grade_file(exercise03, exercise03.solution_file)
    assert result.notes == ()


def test_a_replacement_without_a_reference_to_the_original_is_caught() -> None:
    """The original may be freed once replaced; its id must not vouch for the impostor."""
    import gc

    import grader.plugin
    from grader.integrity import Watchlist

    watch = Watchlist()
    original = grader.plugin._record_for
    try:
        def impostor(item, phases):  # type: ignore[no-untyped-def]
            return {}

        grader.plugin._record_for = impostor
        gc.collect()
        assert "grader.plugin._record_for" in watch.changed()
    finally:
        grader.plugin._record_for = original
    assert watch.changed() == []
