"""A pre-warmed process that forks one grading child per request.

Starting a grading child costs an interpreter and a pytest import (~0.2 s), several
times the grading itself. When many gradings run (``grade verify``, ``grade bulk``) the
parent starts this server once; it imports everything a child needs and then forks a
child per request. The server stays single-threaded and never runs student code, so
every fork starts from the same pristine state; each child then does exactly what a
freshly spawned ``python -m grader.child`` does (own session, clean environment,
confinement before student code, ``os._exit``).

Protocol, one JSON object per line. Requests on stdin:
``{"id": n, "argv": [...], "cwd": str, "env": {...}, "output": path, "results": path}``.
Replies on stdout: ``{"started": n, "pid": p}`` and, when it ends,
``{"exited": p, "code": c}`` (negative for a signal, as ``Popen.returncode``).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import select
import signal
import sys

PRELOAD = (
    "pytest", "pytest_timeout", "_pytest.config", "_pytest.main", "_pytest.python",
    "_pytest.runner", "_pytest.fixtures", "_pytest.terminal", "_pytest.capture",
    "_pytest.skipping", "_pytest.mark", "_pytest.warnings", "_pytest.monkeypatch",
    "_pytest.tmpdir", "_pytest.nodes", "_pytest.reports", "_pytest.helpconfig",
    "_pytest.assertion", "_pytest.faulthandler", "_pytest.python_path", "_pytest.threadexception",
    "_pytest.unraisableexception", "_pytest.recwarn", "_pytest.unittest", "_pytest.fixtures",
    "grader.child", "grader.plugin", "grader.isolation", "grader.suite", "grader.integrity",
    "asyncio", "concurrent.futures", "multiprocessing", "ctypes", "json", "inspect",
)


def _preload() -> None:
    for name in PRELOAD:
        with contextlib.suppress(ImportError):  # a module another pytest may not have
            importlib.import_module(name)


def _become_child(request: dict) -> None:
    """In the forked child: become a normal grading child. Never returns."""
    code = 70
    try:
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.setsid()
        os.chdir(request["cwd"])
        devnull = os.open(os.devnull, os.O_RDONLY)
        output = os.open(request["output"], os.O_WRONLY | os.O_APPEND)
        os.dup2(devnull, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        results = os.open(request["results"], os.O_WRONLY | os.O_APPEND)
        os.closerange(3, results)
        os.closerange(results + 1, 4096)
        os.environ.clear()
        os.environ.update(request["env"])
        from grader import child

        child.main([*request["argv"], "--results-fd", str(results)])
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def serve() -> None:
    _preload()
    # Everything imported so far lives as long as the server: move it out of the
    # collector's reach, so every gc.collect() in a child skips the inherited heap.
    gc.collect()
    gc.freeze()
    wake_read, wake_write = os.pipe()
    os.set_blocking(wake_write, False)
    signal.set_wakeup_fd(wake_write)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    stdin = sys.stdin.buffer.raw.fileno()  # type: ignore[attr-defined]
    out = sys.stdout.buffer
    pending = b""

    def reply(message: dict) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    while True:
        readable, _, _ = select.select([stdin, wake_read], [], [], 1.0)
        if wake_read in readable:
            os.read(wake_read, 4096)
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            reply({"exited": pid, "code": os.waitstatus_to_exitcode(status)})
        if stdin in readable:
            chunk = os.read(stdin, 65536)
            if not chunk:
                return  # the parent is gone or done: stop serving
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    _become_child(request)
                reply({"started": request["id"], "pid": pid})


if __name__ == "__main__":
    serve()
