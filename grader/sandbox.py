"""How the grading child is started and cleaned up after.

The child gets a fresh temporary directory as cwd and HOME, an environment with nothing
of the caller's in it (no secrets in ``os.environ``), its own session, and, where the
machine allows it, a pids cgroup: the cap on processes stops a fork bomb, and killing
every process in the cgroup afterwards catches what ``killpg`` misses (a double-forked
``setsid`` daemon). The limits themselves are applied by the child, see
:mod:`grader.isolation`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

__all__ = ["child_environment", "join_cgroup", "pids_cgroup", "python_command"]

CGROUP_ROOT = Path("/sys/fs/cgroup/pids")


def child_environment(workdir: Path) -> dict[str, str]:
    """A minimal environment: no secrets of the caller, HOME inside the run's temp dir."""
    package_parent = str(Path(__file__).resolve().parent.parent)
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


@contextlib.contextmanager
def pids_cgroup(max_processes: int) -> Iterator[Path | None]:
    """A fresh pids cgroup for one child (None where cgroups v1 isn't writable)."""
    group = CGROUP_ROOT / "async-grader" / uuid.uuid4().hex
    try:
        group.mkdir(parents=True)
        (group / "pids.max").write_text(str(max_processes))
    except OSError:
        yield None
        return
    try:
        yield group
    finally:
        _kill_all_in(group)


def join_cgroup(group: Path, pid: int) -> None:
    """Move ``pid`` into ``group`` from outside; the child joins by itself if this fails."""
    with contextlib.suppress(OSError):  # e.g. the child has already exited
        (group / "cgroup.procs").write_text(str(pid))


def _kill_all_in(group: Path) -> None:
    for _ in range(50):
        try:
            pids = [int(p) for p in (group / "cgroup.procs").read_text().split()]
        except OSError:
            pids = []
        if not pids:
            break
        for pid in pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)
    with contextlib.suppress(OSError):
        group.rmdir()
