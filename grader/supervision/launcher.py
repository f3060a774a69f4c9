"""Starting a grading child without a sandbox: the fallback where bubblewrap cannot run.

The child confines itself as well as it can (:mod:`grader.child.isolation`: rlimits, and
read-only mounts with no network where user namespaces allow), and every grading that
ran this way says so in its notes. ``grade bulk`` refuses to use it unless told
``--unsafe-no-sandbox``. The runner sees this child and a sandboxed one
(:class:`grader.supervision.runner._CellChild`) through the same small :class:`ChildHandle`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Protocol

from grader.budgets import OUTPUT_TAIL
from grader.protocol import ChildConfig
from grader.supervision.sandbox import child_environment, python_command

__all__ = ["ChildHandle", "launch"]



class ChildHandle(Protocol):
    """What the runner needs of a running grading child."""

    @property
    def returncode(self) -> int | None: ...

    def poll(self) -> int | None: ...

    def wait_readable(self) -> list[int]: ...

    def stop(self) -> None: ...

    def output_tail(self) -> str: ...


class _SpawnedChild:
    def __init__(self, process: subprocess.Popen[bytes], output: Path) -> None:
        self._process = process
        self._output = output

    @property
    def returncode(self) -> int | None:
        return self._process.returncode

    def poll(self) -> int | None:
        return self._process.poll()

    def wait_readable(self) -> list[int]:
        return []

    def stop(self) -> None:
        """Kill the child's whole process group (it leads its own session)."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signal.SIGKILL)
        self._process.wait()

    def output_tail(self) -> str:
        try:
            data = self._output.read_bytes()[-OUTPUT_TAIL:]
        except OSError:
            return ""
        return data.decode("utf-8", errors="replace")


def launch(config: ChildConfig, cwd: Path, output: Path) -> ChildHandle:
    """Spawn ``python -m grader.child`` in its own session, reporting on ``config.results_fd``."""
    with open(output, "ab") as out:
        process = subprocess.Popen(
            [*python_command(), "--config", config.to_json()],
            cwd=cwd,
            env=child_environment(cwd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            pass_fds=(config.results_fd,),
            start_new_session=True,
        )
    return _SpawnedChild(process, output)
