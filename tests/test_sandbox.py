"""The grading sandbox: what student code sees, and a supervisor that cannot be turned.

These tests run real bubblewrap sandboxes (CI installs bubblewrap); each probe is a
submission for exercise 03 that reports what it found through an exception message,
the one channel every grading shows.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import threading
import time
from pathlib import Path

import pytest

from grader import protocol
from grader.course.course import Exercise
from grader.errors import GraderError
from grader.supervision.runner import grade_file
from grader.supervision.sandbox import Cell, sandbox_problem, shared_cells
from helpers import REPO

needs_sandbox = pytest.mark.skipif(sandbox_problem() is not None,
                                   reason=f"no sandbox here: {sandbox_problem()}")

PROBE = '''
import errno, os, socket

def probe():
    seen = {}
    for path in ("{repo}/solutions", "{repo}/exercises", "{repo}/tests", "/root/.ssh",
                 "/proc/1/environ", "/proc/1/fd/3", "/proc/1/mem"):
        try:
            if os.path.isdir(path):
                os.listdir(path)
            else:
                open(path, "rb").read(1)
            seen[path] = "readable"
        except OSError as exc:
            seen[path] = errno.errorcode.get(exc.errno, "?")
    try:
        open("/usr/lib/planted.pth", "w")
        seen["write /usr"] = "ok"
    except OSError as exc:
        seen["write /usr"] = errno.errorcode.get(exc.errno, "?")
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)

    def unshare():
        if libc.unshare(0x00020000) != 0:  # CLONE_NEWNS
            raise OSError(ctypes.get_errno(), "unshare")

    def setns():
        fd = os.open("/proc/self/ns/net", os.O_RDONLY)
        if libc.setns(fd, 0) != 0:
            raise OSError(ctypes.get_errno(), "setns")

    for name, call in (("unshare", unshare), ("setns", setns),
                       ("kill pid 1", lambda: os.kill(1, 9))):
        try:
            call()
            seen[name] = "ok"
        except (OSError, AttributeError) as exc:
            seen[name] = errno.errorcode.get(getattr(exc, "errno", 0) or 0, "denied")
    try:
        socket.create_connection(("192.0.2.1", 9), timeout=0.5)
        seen["network"] = "ok"
    except OSError as exc:
        seen["network"] = errno.errorcode.get(exc.errno or 0, "timeout")
    seen["uid"] = os.getuid()
    seen["pid"] = os.getpid()
    seen["env"] = sorted(os.environ)
    return seen


async def fetch_all(sources):
    raise RuntimeError("PROBE " + repr(probe()))


async def fetch_all_safe(sources):
    return []
'''


def _probe(exercise03: Exercise, tmp_path: Path) -> dict:
    module = tmp_path / "fetcher.py"
    module.write_text(PROBE.replace("{repo}", str(REPO)))
    # The screen would refuse the probe before it runs: this tests the sandbox alone.
    result = grade_file(exercise03, module, time_limit=2.0, sandbox="require", screen=False)
    assert result.score == 0
    text = result.checks[0].feedback.what
    start = text.index("PROBE ") + len("PROBE ")
    return eval(text[start:text.index("}", start) + 1])  # our own probe's repr


@needs_sandbox
def test_student_code_sees_nothing_of_the_course_or_the_machine(exercise03: Exercise,
                                                                 tmp_path: Path) -> None:
    seen = _probe(exercise03, tmp_path)
    for hidden in ("solutions", "exercises", "tests"):
        assert seen[f"{REPO}/{hidden}"] == "ENOENT", seen
    assert seen["/root/.ssh"] in ("ENOENT", "EACCES")
    # PID 1 is the undumpable supervisor: its environment and fds are out of reach.
    assert seen["/proc/1/environ"] == "EACCES"
    assert seen["/proc/1/fd/3"] == "EACCES"  # the control socket
    assert seen["/proc/1/mem"] == "EACCES"
    assert seen["write /usr"] in ("EROFS", "EACCES")
    assert seen["unshare"] == "EPERM"
    assert seen["setns"] == "EPERM"
    assert seen["network"] in ("ENETUNREACH", "timeout")
    assert 61000 <= seen["uid"] < 65000
    assert seen["pid"] > 1
    assert "GRADER_TEST_SECRET" not in seen["env"] and "SSH_AUTH_SOCK" not in seen["env"]


@needs_sandbox
def test_pid_1_survives_signals_from_inside(exercise03: Exercise, tmp_path: Path) -> None:
    module = tmp_path / "fetcher.py"
    module.write_text(
        "import os, signal\n"
        "for sig in (signal.SIGKILL, signal.SIGSTOP, signal.SIGINT, signal.SIGTERM):\n"
        "    try:\n        os.kill(1, sig)\n    except OSError:\n        pass\n"
        "async def fetch_all(sources):\n    return []\n"
        "async def fetch_all_safe(sources):\n    return []\n")
    with shared_cells():
        first = grade_file(exercise03, module, time_limit=2.0, sandbox="require", owner="x",
                           screen=False)
        again = grade_file(exercise03, exercise03.solution_file, sandbox="require", owner="x")
    assert first.score == 0
    assert again.score == again.max_score, [(c.name, c.status) for c in again.checks]
    assert not again.notes


def test_a_message_over_the_limit_is_refused_before_it_is_read() -> None:
    mine, theirs = socket.socketpair()
    with mine, theirs:
        theirs.sendall(struct.pack(">I", protocol.MAX_MESSAGE + 1))
        with pytest.raises(protocol.ProtocolError, match="announced"):
            protocol.receive(mine, 1.0)


@pytest.mark.parametrize("payload", [b"not json", b"[1, 2]", b"\xff\xfe"])
def test_garbage_is_a_protocol_error(payload: bytes) -> None:
    mine, theirs = socket.socketpair()
    with mine, theirs:
        theirs.sendall(struct.pack(">I", len(payload)) + payload)
        with pytest.raises(protocol.ProtocolError):
            protocol.receive(mine, 1.0)


def test_a_message_cut_short_does_not_hang() -> None:
    mine, theirs = socket.socketpair()
    with mine, theirs:
        theirs.sendall(struct.pack(">I", 100) + b"{")
        started = time.monotonic()
        with pytest.raises(protocol.ProtocolError, match="cut short"):
            protocol.receive(mine, 1.0)
        assert time.monotonic() - started < 10


def _descendants(pid: int) -> list[int]:
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                children = (task / "children").read_text().split()
            except OSError:
                continue
            found += [int(c) for c in children]
            queue += [int(c) for c in children]
    return found


@needs_sandbox
def test_a_stopped_supervisor_costs_a_bounded_wait(exercise03: Exercise,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Even a supervisor frozen from outside cannot hang the grader."""
    monkeypatch.setattr("grader.supervision.sandbox.ANSWER_PATIENCE", 1.0)
    cell = Cell()
    try:
        for pid in _descendants(cell._process.pid):
            os.kill(pid, signal.SIGSTOP)
        outcome: list[object] = []

        def grade() -> None:
            import grader.supervision.sandbox as sandbox

            monkeypatch.setattr(sandbox, "_pool", sandbox._CellPool(keep=1))
            sandbox._pool.give_back("frozen", cell)
            try:
                outcome.append(grade_file(exercise03, exercise03.solution_file,
                                          sandbox="require", owner="frozen"))
            except GraderError as exc:
                outcome.append(exc)

        worker = threading.Thread(target=grade)
        worker.start()
        worker.join(timeout=30)
        assert not worker.is_alive(), "the grader hung on a frozen sandbox"
        assert isinstance(outcome[0], GraderError)
        assert not cell.alive
    finally:
        cell.close()


def test_the_result_channel_survives_hostile_lines() -> None:
    """Lines a child could write: deep nesting, garbage, floods; none may crash the parent."""
    from grader.supervision.runner import _Channel

    read, write = os.pipe()
    channel = _Channel(read)
    lines = (b"[" * 100_000 + b"]" * 100_000, b"\xff\xfe garbage", b"{\"event\": 1}",
             b"\n" * 100_000, b'{"event": "result", "check": "x"}')
    writer = threading.Thread(target=lambda: [os.write(write, line + b"\n") for line in lines])
    writer.start()
    try:
        while writer.is_alive():
            channel.drain()
            time.sleep(0.001)
        channel.drain()
        assert channel.new_events() == ["result"]  # {"event": 1} names no event
        assert channel.records() == [{"event": 1}, {"event": "result", "check": "x"}]
    finally:
        writer.join()
        os.close(write)
        os.close(read)
