"""Launching a grading child: spawned afresh, or forked from a warm server.

One grading from the CLI spawns ``python -m grader.child`` (a server would only add its
own start-up). Many gradings (``grade verify``, ``grade bulk``) run inside
:func:`warm_children`, which starts :mod:`grader.forkserver` once and forks each child
from it, saving the interpreter and pytest start-up per grading. Either way the runner
gets a handle with ``pid``, ``wait(timeout)`` and ``returncode``; the child is the
leader of its own session, so killing its process group works the same.

If the server cannot be started or dies, gradings fall back to spawning.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from grader.sandbox import child_environment, python_command

__all__ = ["ChildHandle", "launch", "warm_children"]


class ChildHandle(Protocol):
    pid: int

    @property
    def returncode(self) -> int | None: ...

    def wait(self, timeout: float | None = None) -> int: ...


def _spawn(argv: list[str], cwd: Path, output: Path, results_fd: int) -> subprocess.Popen:
    with open(output, "ab") as out:
        return subprocess.Popen(
            [*python_command(), *argv, "--results-fd", str(results_fd)],
            cwd=cwd,
            env=child_environment(cwd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(results_fd,),
            start_new_session=True,
        )


class _ServedChild:
    """A child forked by the server; its exit status arrives through the server."""

    def __init__(self) -> None:
        self.pid = 0
        self._code: int | None = None
        self._done = threading.Event()

    @property
    def returncode(self) -> int | None:
        return self._code

    def finish(self, code: int) -> None:
        self._code = code
        self._done.set()

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired("grader.child", timeout or 0)
        assert self._code is not None
        return self._code


class _ForkServer:
    def __init__(self) -> None:
        workdir = Path(os.environ.get("TMPDIR", "/tmp"))
        self._process = subprocess.Popen(
            [sys.executable, "-s", "-P", "-m", "grader.forkserver"],
            env=child_environment(workdir),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._starting: dict[int, tuple[_ServedChild, threading.Event]] = {}
        self._running: dict[int, _ServedChild] = {}
        self._early_exits: dict[int, int] = {}
        self.alive = True
        self._reader = threading.Thread(target=self._read_replies, name="forkserver-replies",
                                        daemon=True)
        self._reader.start()

    def launch(self, argv: list[str], cwd: Path, output: Path, results: Path) -> _ServedChild:
        child, started = _ServedChild(), threading.Event()
        request_id = next(self._ids)
        request = {"id": request_id, "argv": argv, "cwd": str(cwd), "output": str(output),
                   "results": str(results), "env": child_environment(cwd)}
        with self._lock:
            if not self.alive:
                raise OSError("the fork server has stopped")
            self._starting[request_id] = (child, started)
            assert self._process.stdin is not None
            self._process.stdin.write(json.dumps(request).encode() + b"\n")
            self._process.stdin.flush()
        if not started.wait(10.0):
            raise OSError("the fork server did not answer")
        return child

    def _read_replies(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            reply = json.loads(line)
            with self._lock:
                if "started" in reply:
                    child, started = self._starting.pop(reply["started"])
                    child.pid = reply["pid"]
                    if child.pid in self._early_exits:
                        child.finish(self._early_exits.pop(child.pid))
                    else:
                        self._running[child.pid] = child
                    started.set()
                elif "exited" in reply:
                    child = self._running.pop(reply["exited"], None)
                    if child is None:  # it ended before we heard it started
                        self._early_exits[reply["exited"]] = reply["code"]
                    else:
                        child.finish(reply["code"])
        with self._lock:  # the server is gone: nobody will report these children
            self.alive = False
            for child in self._running.values():
                child.finish(-9)
            self._running.clear()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            assert self._process.stdin is not None
            self._process.stdin.close()
        try:
            self._process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._reader.join(timeout=5)
        assert self._process.stdout is not None
        self._process.stdout.close()


_server: _ForkServer | None = None


@contextlib.contextmanager
def warm_children() -> Iterator[None]:
    """Fork grading children from one warm server while this block runs."""
    global _server
    if _server is not None or not hasattr(os, "fork"):
        yield
        return
    try:
        _server = _ForkServer()
    except OSError:
        yield
        return
    try:
        yield
    finally:
        server, _server = _server, None
        server.close()


def launch(argv: list[str], cwd: Path, output: Path, results: Path,
           results_fd: int) -> ChildHandle:
    """Start one grading child; through the warm server when there is one."""
    server = _server
    if server is not None and server.alive:
        with contextlib.suppress(OSError):
            return server.launch(argv, cwd, output, results)
    return _spawn(argv, cwd, output, results_fd)
