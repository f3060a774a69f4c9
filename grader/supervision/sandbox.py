"""Where student code runs: a bubblewrap sandbox per student, supervised from outside.

A :class:`Cell` is one sandbox. bubblewrap (``bwrap``) starts it with its own user,
PID, IPC, mount, network (loopback only), UTS and cgroup namespaces, every capability
dropped, ``PR_SET_NO_NEW_PRIVS`` set, a uid of its own, a fresh environment, and a
file system that holds only the interpreter and installed packages (read-only) plus
small size-capped scratch folders. The course, its hidden suites and solutions, the
gradebook, other students' files and the instructor's home are simply not there. The
first process inside is :mod:`grader.child.zygote`, which loads the system-call filter and
forks one child per grading. Where the machine allows it (root with a writable
cgroup v1 or v2 tree) the whole cell also sits in a pids cgroup and a memory cgroup,
so a fork bomb or an allocation spread over many processes is capped as one.

Cells are kept per student (:func:`shared_cells`): a student's eighteen exercises pay
the sandbox and interpreter start-up once, and no two students ever share one.

Everything the parent waits for is bounded; a cell that stops answering, answers
nonsense or dies is marked dead and replaced. When bubblewrap cannot run at all,
:func:`sandbox_problem` says why and the caller decides (the single-file ``grade``
falls back to the weaker in-process confinement and says so; ``grade bulk`` refuses
unless told ``--unsafe-no-sandbox``).
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from grader import protocol
from grader.protocol import ChildConfig

__all__ = ["Cell", "CellDead", "SandboxUnavailable", "child_environment", "lease_cell",
           "python_command", "sandbox_problem", "shared_cells"]

_MiB = 1024 * 1024
WORK_SIZE = 64 * _MiB  # the job folder: a suite, a module, captured output
TMP_SIZE = 64 * _MiB  # /tmp and /dev/shm each (multiprocessing needs /dev/shm)
MEMORY_LIMIT = 1536 * _MiB  # every process of one cell together, tmpfs pages included
START_PATIENCE = 20.0  # real seconds for a new cell to import pytest and say it is ready
ANSWER_PATIENCE = 10.0  # real seconds for any other answer of a live cell
FIRST_UID = 61000  # sandbox uids: one per live cell, so per-user limits never cross
CGROUP_ROOT = Path("/sys/fs/cgroup")


class SandboxUnavailable(Exception):
    """bubblewrap is missing or cannot create the sandbox on this machine."""


GRADER_PACKAGE = Path(__file__).resolve().parents[1]
"""The ``grader`` package folder: mounted in every sandbox, and nothing around it."""


class CellDead(Exception):
    """The cell stopped answering or broke the protocol; it has been torn down."""


def child_environment(workdir: Path) -> dict[str, str]:
    """A minimal environment: no secrets of the caller, HOME inside the run's temp dir."""
    package_parent = str(GRADER_PACKAGE.parent)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONPATH": package_parent,
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8:replace",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "NO_COLOR": "1",
    }


def python_command() -> list[str]:
    # -s: no user site-packages; -P: no unsafe sys.path entry for the cwd.
    return [sys.executable, "-s", "-P", "-m", "grader.child"]


_problem: list[str | None] = []


def sandbox_problem() -> str | None:
    """Why no sandbox can be made here (None when it can); probed once per process."""
    if not _problem:
        _problem.append(_probe())
    return _problem[0]


def _cheap_problem() -> str | None:
    """What can be told without starting anything (a cell that fails to start says more)."""
    if sys.platform != "linux":
        return "bubblewrap needs Linux"
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (sudo apt-get install bubblewrap)"
    return None


def _probe() -> str | None:
    if problem := _cheap_problem():
        return problem
    try:
        done = subprocess.run(
            [*_bwrap_base(FIRST_UID - 1), "true"], capture_output=True, timeout=20,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap could not start ({exc})"
    if done.returncode != 0:
        why = done.stderr.decode(errors="replace").strip().splitlines()[-1:] or ["?"]
        return f"bubblewrap could not create a sandbox ({why[0][:160]})"
    return None


def _read_only_roots() -> list[Path]:
    """The interpreter, its standard library and every installed package, nothing else."""
    roots = {Path(sys.base_prefix), Path(sys.prefix), Path(sys.executable).resolve().parent}
    for entry in sys.path:
        path = Path(entry or ".").resolve()
        if path.is_dir() and "-packages" in path.as_posix():
            roots.add(path)
    # The grader package itself (an editable install points into the course checkout:
    # mount only the package, never the checkout around it).
    roots.add(GRADER_PACKAGE)
    kept: list[Path] = []
    for root in sorted(roots, key=lambda p: len(p.parts)):
        if str(root).startswith("/usr/") or root == Path("/usr"):
            continue  # /usr is mounted whole
        if not any(parent in kept for parent in root.parents):
            kept.append(root)
    return kept


def _bwrap_base(uid: int) -> list[str]:
    args = ["bwrap", "--unshare-all", "--unshare-user", "--disable-userns",
            "--die-with-parent", "--new-session", "--cap-drop", "ALL",
            "--uid", str(uid), "--gid", str(uid), "--hostname", "grading",
            "--ro-bind", "/usr", "/usr"]
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    for name in ("/etc/ld.so.cache", "/etc/localtime"):
        args += ["--ro-bind-try", name, name]
    # Scratch folders first, then the read-only roots: an interpreter, venv or checkout
    # under /tmp is bound over the fresh /tmp instead of vanishing under it.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(TMP_SIZE), "--tmpfs", "/dev/shm",
             "--size", str(TMP_SIZE), "--tmpfs", "/tmp",
             "--size", str(WORK_SIZE), "--tmpfs", "/grading"]
    for root in _read_only_roots():
        args += ["--ro-bind", str(root), str(root)]
    args += ["--remount-ro", "/", "--chdir", "/grading", "--clearenv"]
    for key, value in _sandbox_environment().items():
        args += ["--setenv", key, value]
    return args


def _sandbox_environment() -> dict[str, str]:
    # PYTHONPATH: this grader package, the one mounted, wins over whatever another
    # checkout's editable install would point to (only the package itself is mounted).
    return {"PYTHONPATH": str(GRADER_PACKAGE.parent),
        "PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
        "LANG": "C.UTF-8", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8:replace", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "NO_COLOR": "1",
    }


# -- cgroups --------------------------------------------------------------------------


@dataclass
class _Cgroups:
    """The pids and memory cgroups of one cell (either may be missing)."""

    folders: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, processes: int) -> _Cgroups:
        made = cls()
        name = f"async-grader/{uuid.uuid4().hex}"
        if os.geteuid() != 0:
            made.missing = ["process cap for the whole sandbox (needs root for cgroups)",
                            "memory cap for the whole sandbox (needs root for cgroups)"]
            return made
        unified = (CGROUP_ROOT / "cgroup.controllers").exists()
        wanted = ([("", {"pids.max": str(processes), "memory.max": str(MEMORY_LIMIT),
                         "memory.swap.max": "0"})] if unified else
                  [("pids", {"pids.max": str(processes)}),
                   ("memory", {"memory.limit_in_bytes": str(MEMORY_LIMIT)})])
        for controller, settings in wanted:
            folder = CGROUP_ROOT / controller / name
            try:
                folder.mkdir(parents=True)
            except OSError:
                made.missing.append(f"{controller or 'unified'} cgroup for the sandbox")
                continue
            made.folders.append(folder)
            for key, value in settings.items():
                try:
                    (folder / key).write_text(value)
                except OSError:
                    made.missing.append(f"cgroup setting {key}")
        return made

    def wrap(self, command: list[str]) -> list[str]:
        """Start ``command`` already inside the cgroups: no window in which it is outside."""
        if not self.folders:
            return command
        joins = "; ".join(f'echo $$ > "{f}/cgroup.procs"' for f in self.folders)
        return ["/bin/sh", "-c", f'{joins} && exec "$@"', "grading-cell", *command]

    def destroy(self) -> None:
        for folder in self.folders:
            for _ in range(100):
                try:
                    pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                except OSError:
                    pids = []
                if not pids:
                    break
                for pid in pids:
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.kill(pid, signal.SIGKILL)
                time.sleep(0.01)
            with contextlib.suppress(OSError):
                folder.rmdir()


# -- a cell ---------------------------------------------------------------------------

_uids = itertools.count()
_live_uids: set[int] = set()
_uid_lock = threading.Lock()


def _take_uid() -> int:
    with _uid_lock:
        while True:
            uid = FIRST_UID + next(_uids) % 4000
            if uid not in _live_uids:
                _live_uids.add(uid)
                return uid


@dataclass
class ChildExit:
    code: int
    output: str


class Cell:
    """One sandbox, used by one thread at a time, for one student's gradings."""

    def __init__(self, processes: int = 64) -> None:
        problem = _problem[0] if _problem else _cheap_problem()
        if problem:
            raise SandboxUnavailable(problem)
        self.uid = _take_uid()
        self.alive = True
        self._jobs = itertools.count()
        self._cgroups = _Cgroups.create(processes)
        self._sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        command = [*_bwrap_base(self.uid), "--as-pid-1", sys.executable, "-s", "-P",
                   "-m", "grader.child.zygote", str(theirs.fileno()),
                   *(str(root) for root in _read_only_roots())]
        try:
            self._process = subprocess.Popen(
                self._cgroups.wrap(command), pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE, start_new_session=True,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"},
            )
        except OSError as exc:
            theirs.close()
            self._teardown()
            raise SandboxUnavailable(f"bubblewrap could not start ({exc})") from None
        theirs.close()
        try:
            ready = protocol.receive(self._sock, START_PATIENCE)
        except protocol.ProtocolError:
            ready = None
        if not ready or ready.get("ready") is not True:
            why = self._stderr_tail()
            self._teardown()
            raise SandboxUnavailable(f"the sandbox did not start ({why or 'no answer'})")
        self.unavailable = [str(u)[:200] for u in ready.get("unavailable") or []][:20]
        self.unavailable += self._cgroups.missing

    def start(self, files: dict[str, bytes], config: ChildConfig, results_fd: int) -> str:
        """Start one grading child; returns its job id. ``results_fd`` is sent, not kept."""
        job = str(next(self._jobs))
        encoded = {name: base64.b64encode(data).decode() for name, data in files.items()}
        try:
            protocol.send(self._sock, {"run": job, "files": encoded,
                                       "config": config.to_dict()})
            protocol.send_fd(self._sock, results_fd)
            answer = protocol.receive(self._sock, ANSWER_PATIENCE)
        except (protocol.ProtocolError, OSError) as exc:
            self._die()
            raise CellDead(f"the sandbox broke while starting a grading ({exc})") from None
        if not answer or answer.get("started") != job:
            self._die()
            raise CellDead("the sandbox did not start the grading")
        return job

    def running(self) -> bool:
        """Whether the sandbox's process is still there (it can end while idle)."""
        return self._process.poll() is None

    @property
    def control(self) -> socket.socket:
        return self._sock

    def poll_exit(self, job: str) -> ChildExit | None:
        """The child's exit, if the cell has reported it (never blocks)."""
        try:
            message = protocol.receive(self._sock, 0)
        except (protocol.ProtocolError, OSError) as exc:
            self._die()
            raise CellDead(f"the sandbox broke during a grading ({exc})") from None
        if message is None:
            if self._process.poll() is not None:
                self._die()
                raise CellDead("the sandbox ended during a grading")
            return None
        if message.get("exited") != job or not isinstance(message.get("code"), int):
            self._die()
            raise CellDead("the sandbox answered out of turn")
        return ChildExit(code=int(message["code"]), output=str(message.get("output") or ""))

    def kill(self, job: str) -> ChildExit:
        """Stop a running child; if the cell does not confirm in time, tear it down."""
        deadline = time.monotonic() + ANSWER_PATIENCE
        try:
            protocol.send(self._sock, {"kill": job})
            while time.monotonic() < deadline:
                ended = self.poll_exit(job)
                if ended is not None:
                    return ended
                time.sleep(0.005)
        except (protocol.ProtocolError, OSError, CellDead):
            pass
        self._die()
        return ChildExit(code=-signal.SIGKILL, output="")

    def close(self) -> None:
        if not self.alive:
            return
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self._process.wait(timeout=ANSWER_PATIENCE)
        self._die()

    def _die(self) -> None:
        self.alive = False
        self._teardown()

    def _teardown(self) -> None:
        process = getattr(self, "_process", None)
        if process is not None and process.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=ANSWER_PATIENCE)
        if process is not None and process.stderr is not None:
            process.stderr.close()
        self._cgroups.destroy()
        with contextlib.suppress(OSError):
            self._sock.close()
        with _uid_lock:
            _live_uids.discard(self.uid)

    def _stderr_tail(self) -> str:
        process = self._process
        if process.poll() is None:
            return ""
        assert process.stderr is not None
        lines = process.stderr.read(4000).decode(errors="replace").strip().splitlines()
        return lines[-1][:200] if lines else ""


# -- cells kept per student ------------------------------------------------------------


class _CellPool:
    """Idle cells by owner; a cell is never shared between two owners."""

    def __init__(self, keep: int) -> None:
        self._idle: dict[str, list[Cell]] = {}
        self._order: list[str] = []
        self._keep = keep
        self._lock = threading.Lock()

    def take(self, owner: str) -> Cell | None:
        with self._lock:
            cells = self._idle.get(owner) or []
            while cells:
                cell = cells.pop()
                if cell.alive and cell.running():
                    return cell
                cell.close()  # ended while idle: never hand out a cell that is gone
            return None

    def give_back(self, owner: str, cell: Cell) -> None:
        retired: list[Cell] = []
        with self._lock:
            self._idle.setdefault(owner, []).append(cell)
            if owner in self._order:
                self._order.remove(owner)
            self._order.append(owner)
            while sum(len(c) for c in self._idle.values()) > self._keep and self._order:
                oldest = self._order.pop(0)
                retired += self._idle.pop(oldest, [])
        for old in retired:
            old.close()

    def close(self) -> None:
        with self._lock:
            cells = [c for group in self._idle.values() for c in group]
            self._idle.clear()
        for cell in cells:
            cell.close()


_pool: _CellPool | None = None


@contextlib.contextmanager
def shared_cells(keep: int = 4) -> Iterator[None]:
    """Keep each owner's cell warm between gradings while this block runs."""
    global _pool
    if _pool is not None:
        yield
        return
    _pool = _CellPool(keep)
    try:
        yield
    finally:
        pool, _pool = _pool, None
        pool.close()


@contextlib.contextmanager
def lease_cell(owner: str | None, processes: int) -> Iterator[Cell]:
    """A cell for one grading: the owner's warm one if kept, else a new one."""
    pool = _pool if owner is not None else None
    cell = pool.take(owner) if pool is not None and owner is not None else None
    if cell is None:
        cell = Cell(processes)
    try:
        yield cell
    finally:
        if pool is not None and owner is not None and cell.alive:
            pool.give_back(owner, cell)
        else:
            cell.close()

