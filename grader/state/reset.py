"""``grade reset``: put an exercise's original stub back, keeping the student's work.

The student's file is copied to ``backups/<exercise>/`` beside the progress record
(``<course>/.progress/backups/`` by default) under a timestamped name before the stub
replaces it, so a reset is never a loss; the backup is outside the exercise folder so it
is not graded, listed or committed by accident. The
original comes from :mod:`grader.state.stub_snapshots`, which explains where it is kept.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from grader.course.course import Exercise
from grader.state.stub_snapshots import pristine_stub

__all__ = ["ResetOutcome", "backup_folder", "reset_exercise"]


@dataclass(frozen=True)
class ResetOutcome:
    stub: Path  # the file put back
    original_from: str  # the snapshot's path, or "git HEAD:<path>"
    backup: Path | None  # where the student's version went; None if nothing to keep
    changed: bool  # False when the file already was the original stub


def backup_folder(exercise: Exercise, state: Path) -> Path:
    return state / "backups" / exercise.name


def reset_exercise(exercise: Exercise, *, state: Path, now: datetime | None = None) -> ResetOutcome:
    """Back up the student's file (if any, and if edited), then restore the original.

    ``state`` is the progress record's folder, where snapshots and backups are kept.
    """
    original, origin = _original(exercise, state)
    stub = exercise.stub_file
    current = stub.read_bytes() if stub.is_file() else None
    if current == original:
        return ResetOutcome(stub, origin, None, changed=False)
    backup = None
    if current is not None:
        backup = _free_name(backup_folder(exercise, state), Path(exercise.meta.module),
                            (now or datetime.now()).strftime("%Y%m%d-%H%M%S"))
        backup.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(stub, backup)
    _replace_contents(stub, original)
    return ResetOutcome(stub, origin, backup, changed=True)


def _original(exercise: Exercise, state: Path) -> tuple[bytes, str]:
    """The release's own pristine stub first, then a snapshot or git.

    A release carries ``.meta/<module>.orig``, the stub exactly as shipped: better than
    any snapshot, which is only as pristine as the file was when first seen (a copy
    without git, edited before its first ``grade``, was snapshotted edited), and it
    follows the course when a new release fixes a stub.
    """
    shipped = exercise.original_stub_file
    if shipped.is_file():
        return shipped.read_bytes(), str(shipped)
    return pristine_stub(exercise, state)


def _free_name(folder: Path, module: Path, stamp: str) -> Path:
    candidate = folder / f"{module.stem}-{stamp}{module.suffix}"
    counter = 2
    while candidate.exists():
        candidate = folder / f"{module.stem}-{stamp}-{counter}{module.suffix}"
        counter += 1
    return candidate


def _replace_contents(path: Path, content: bytes) -> None:
    """Write beside ``path`` and rename over it: the stub is never half-written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, mode)  # mkstemp makes 0600 files; keep the stub's own permissions
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
