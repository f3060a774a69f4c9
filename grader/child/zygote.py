"""The first process inside a grading sandbox: it starts each grading child and clears up.

Started by :class:`grader.supervision.sandbox.Cell` as PID 1 of the sandbox's own PID namespace
(bubblewrap's ``--as-pid-1``). It imports pytest and the grading machinery once, then
for each request writes the job's files into a fresh folder, forks a child that runs
:mod:`grader.child` there, and reports its exit status. After every child it kills
every other process in the namespace and empties the writable folders, so nothing a
submission started or wrote survives into the next grading.

Why student code cannot use it: PID 1 of a namespace ignores every signal sent from
inside that namespace unless it installed a handler (this process installs none, and
turns off Python's own SIGINT handler); it is not dumpable, so processes of the same
user can neither trace it nor open its ``/proc/1/fd``; and a child closes its copy of
the control socket before it imports anything of the student's. The system-call filter
(:mod:`grader.child.syscall_filter`) is loaded here, before the first child, so every child
inherits it.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import dataclasses
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from grader import protocol
from grader.budgets import OUTPUT_TAIL

WORK = Path("/grading")
SCRATCH = (Path("/tmp"), Path("/dev/shm"))
PR_SET_DUMPABLE = 4


def main() -> None:
    sock = socket.socket(fileno=int(sys.argv[1]))
    keep = tuple(Path(p) for p in sys.argv[2:])  # read-only roots: never walked or wiped
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # no Python handler: PID 1 ignores it then
    missing = _harden()
    _warm_imports()
    protocol.send(sock, {"ready": True, "unavailable": missing})
    while True:
        try:
            request = protocol.receive(sock, timeout=None)
            if request is None or "run" not in request:
                break
            results_fd = protocol.receive_fd(sock)
            _serve(sock, request, results_fd, missing, keep)
        except (protocol.ProtocolError, OSError):
            break
    os._exit(0)


def _harden() -> list[str]:
    missing = []
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
            missing.append("undumpable supervisor")
    except OSError:
        missing.append("undumpable supervisor")
    from grader.child.syscall_filter import install

    missing += install()
    return missing


def _warm_imports() -> None:
    """What every child needs, imported once so each fork starts warm."""
    import asyncio  # noqa: F401
    import concurrent.futures  # noqa: F401

    import pytest  # noqa: F401
    import pytest_timeout  # noqa: F401

    import grader.child.entry
    import grader.child.plugin
    import grader.suite  # noqa: F401


def _serve(sock: socket.socket, request: dict[str, Any], results_fd: int,
           missing: list[str], keep: tuple[Path, ...] = ()) -> None:
    job_id = str(request["run"])
    folder = WORK / f"job-{job_id}"
    folder.mkdir(parents=True)
    for relative, encoded in dict(request.get("files") or {}).items():
        path = (folder / relative).resolve()
        if folder not in path.parents:
            raise protocol.ProtocolError(f"file outside the job folder: {relative}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(encoded))
    config = protocol.ChildConfig.from_dict(request.get("config"))
    output = folder / "output.txt"
    pid = os.fork()
    if pid == 0:
        _become_child(sock, folder, output, dataclasses.replace(
            config, results_fd=results_fd, sandboxed=True, missing=tuple(missing)))
    os.close(results_fd)
    protocol.send(sock, {"started": job_id})
    code = _wait(sock, pid, job_id)
    _clear_up(folder, keep)
    tail = b""
    try:
        with open(output, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - OUTPUT_TAIL))
            tail = handle.read()
    except OSError:
        pass
    shutil.rmtree(folder, ignore_errors=True)
    protocol.send(sock, {"exited": job_id, "code": code,
                         "output": tail.decode("utf-8", errors="replace")})


def _become_child(sock: socket.socket, folder: Path, output: Path,
                  config: protocol.ChildConfig) -> None:
    try:
        sock.close()
        os.chdir(folder)
        out = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(out)
        os.close(null)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        from grader.child import entry as child

        child.run(config)
    finally:
        os._exit(70)


def _wait(sock: socket.socket, pid: int, job_id: str) -> int:
    """The child's exit status (negative: killed by that signal), or a kill request."""
    pidfd = os.pidfd_open(pid)
    try:
        while True:
            ready = select.select([pidfd, sock.fileno()], [], [])[0]
            if pidfd in ready:
                _, status = os.waitpid(pid, 0)
                return os.waitstatus_to_exitcode(status)
            message = protocol.receive(sock, timeout=0)
            if message is not None and message.get("kill") == job_id:
                os.kill(pid, signal.SIGKILL)
    finally:
        os.close(pidfd)


def _clear_up(folder: Path, keep: tuple[Path, ...] = ()) -> None:
    """Kill whatever the child left running, reap it, and empty the scratch folders."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(-1, signal.SIGKILL)  # from PID 1: every other process in the namespace
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if pid == 0:
            time.sleep(0.001)
    _remove_ipc_objects()
    for scratch in (*SCRATCH, WORK):
        try:
            entries = list(scratch.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry == folder or any(entry == k or entry in k.parents for k in keep):
                continue
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)


def _remove_ipc_objects() -> None:
    """System V shared memory, semaphores and queues live on in the IPC namespace."""
    try:
        left = any(len(Path(f"/proc/sysvipc/{kind}").read_text().splitlines()) > 1
                   for kind in ("shm", "sem", "msg"))
    except OSError:
        left = True
    if left:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(["ipcrm", "--all"], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=5)


if __name__ == "__main__":
    main()
