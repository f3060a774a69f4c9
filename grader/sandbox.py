"""How the grading child is started: clean environment, own session, resource limits.

The child runs untrusted code. It gets a fresh temporary directory as cwd and HOME, an
environment with nothing of ours in it, and rlimits so a memory bomb, a runaway loop or
a flood of output hits a wall inside the child instead of taking the grader down. The
parent keeps the real safety net: a wall-clock kill of the child's whole process group.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "child_environment", "limit_child"]

_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    address_space: int = 4096 * _MiB  # threads reserve stack address space; keep roomy
    file_size: int = 16 * _MiB  # caps captured output and anything the child writes
    open_files: int = 256
    cpu_seconds: int = 60


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


def limit_child(limits: Limits) -> Callable[[], None]:
    """A preexec function applying ``limits`` in the child just before it execs."""

    def apply() -> None:
        # Over-long writes then fail with EFBIG inside student code instead of a signal.
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        for name, value in (
            ("RLIMIT_AS", limits.address_space),
            ("RLIMIT_FSIZE", limits.file_size),
            ("RLIMIT_NOFILE", limits.open_files),
            ("RLIMIT_CPU", limits.cpu_seconds),
            ("RLIMIT_CORE", 0),
        ):
            rlimit = getattr(resource, name, None)
            if rlimit is None:
                continue
            try:
                soft, hard = resource.getrlimit(rlimit)
                cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
                resource.setrlimit(rlimit, (cap, cap if name != "RLIMIT_CPU" else hard))
            except (ValueError, OSError):
                pass  # macOS does not enforce RLIMIT_AS; the wall-clock kill still holds

    return apply


def python_command() -> list[str]:
    # -s: no user site-packages; -P: no unsafe sys.path entry for the cwd.
    return [sys.executable, "-s", "-P", "-m", "grader.child"]
