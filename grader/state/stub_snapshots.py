"""Pristine copies of the exercise stubs, so ``grade reset`` can restore one.

The student edits ``exercises/<exercise>/<module>`` in place, so the original has to be
kept somewhere else. Where it comes from, in order:

1. **A snapshot** in ``stubs/<exercise>/<module>`` beside the progress record (so
   ``<course>/.progress/stubs/`` by default), taken the first time any progress-keeping
   ``grade`` command runs (``grade``, ``grade exercise-NN``, ``hint``, ``watch``,
   ``report``, ``reset``), for every exercise at once, so usually long before the
   student opens most of them. In a student release (``grade release``) the snapshot
   is copied from the pristine stub the release carries, ``.meta/<module>.orig``.
   Otherwise, if the course is a git checkout and a stub already differs from ``HEAD``
   at that moment (edited before the first ``grade``), the snapshot is taken from
   ``git show HEAD:<path>`` instead of the edited file. A snapshot is never overwritten.
2. **The release's pristine stub**, ``.meta/<module>.orig``, when there is no snapshot:
   a release downloaded as a zip has no git history to fall back on.
3. **git** (``HEAD``'s version), when there is neither.

Why not always ``git show HEAD:<path>``: students commit their work, and then ``HEAD``
is their work, not the stub. Why not the stub as ``pip`` installed it: the course is a
folder the student cloned, not package data. To take a fresh snapshot (say, after the
course fixed a stub and you pulled), delete ``.progress/stubs/<exercise>/``. The
snapshots live with the record because they are part of the student's state: a record
kept elsewhere (``--db``) keeps its own snapshots there, and the course folder is never
written to.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from grader.course.course import Course, Exercise
from grader.errors import MetadataError, MissingFileError

__all__ = ["ensure_snapshots", "pristine_stub", "snapshot_path"]

GIT_TIMEOUT = 10.0  # seconds; git on a local checkout answers in milliseconds


def snapshot_path(exercise: Exercise, state: Path) -> Path:
    """Where ``exercise``'s original stub is kept; ``state`` is the progress record's folder."""
    return _snapshot_dir(exercise, state) / exercise.meta.module


def _snapshot_dir(exercise: Exercise, state: Path) -> Path:
    return state / "stubs" / exercise.name


def ensure_snapshots(course: Course, state: Path) -> None:
    """Snapshot every stub that has no snapshot yet. One ``stat`` per exercise when done.

    Best effort: where we can't write, there are no snapshots, and ``grade reset`` then
    falls back to git (or says it can't find the original).
    """
    missing = [e for e in course.exercises if not _snapshot_dir(e, state).is_dir()]
    if not missing:
        return
    edited = set() if course.is_release else _paths_changed_since_head(course.root)
    for exercise in missing:
        try:
            relative = exercise.stub_file.relative_to(course.root).as_posix()
        except MetadataError:
            continue  # another exercise's broken metadata must not stop this grading
        content: bytes | None
        if exercise.original_stub_file.is_file():
            content = exercise.original_stub_file.read_bytes()
        elif relative in edited or not exercise.stub_file.is_file():
            content = _git_head_version(course.root, relative)
        else:
            content = exercise.stub_file.read_bytes()
        if content is None:
            continue
        try:
            _write_snapshot(_snapshot_dir(exercise, state), exercise.meta.module, content)
        except OSError:
            return


def pristine_stub(exercise: Exercise, state: Path) -> tuple[bytes, str]:
    """The original stub's bytes and where they came from (a path or ``git HEAD``)."""
    snapshot = snapshot_path(exercise, state)
    if snapshot.is_file():
        return snapshot.read_bytes(), str(snapshot)
    original = exercise.original_stub_file
    if original.is_file():
        return original.read_bytes(), str(original)
    relative = exercise.stub_file.relative_to(exercise.course_root).as_posix()
    content = _git_head_version(exercise.course_root, relative)
    if content is not None:
        return content, f"git HEAD:{relative}"
    raise MissingFileError(
        f"Can't find the original {exercise.meta.module} for {exercise.short_name}: there is "
        f"no snapshot at {snapshot} and the course is not a git checkout that has it. "
        "Download the course again and copy the file from there."
    )


def _git(root: Path, *args: str) -> bytes | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, timeout=GIT_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def _paths_changed_since_head(root: Path) -> set[str]:
    """Course-relative paths under exercises/ that differ from git's HEAD (none if no git)."""
    out = _git(root, "diff", "--name-only", "--relative", "HEAD", "--", "exercises")
    if out is None:
        return set()
    return {line for line in out.decode("utf-8", "replace").splitlines() if line}


def _git_head_version(root: Path, relative: str) -> bytes | None:
    return _git(root, "show", f"HEAD:./{relative}")


def _write_snapshot(folder: Path, name: str, content: bytes) -> None:
    """Fill a temporary folder, then rename it into place: a snapshot is whole or absent."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        (temporary / name).write_bytes(content)
        os.rename(temporary, folder)
    except OSError:
        shutil.rmtree(temporary, ignore_errors=True)
        if not folder.is_dir():  # losing the race to another grade command is fine
            raise
