"""``grade submit``: pack the student's exercise files into one zip to hand in.

Only the module of each exercise goes in, at its course path
(``exercises/exercise-03-concurrent-fetch/fetcher.py``): the course layout that ``grade
bulk`` reads first (grader/bulk/intake.py), so the instructor's grading finds every file
whatever else the student's folder holds, and nothing the grader would flag (test files,
``conftest.py``) can come along. ``--with-progress`` adds the progress record as
``progress.db`` (a consistent copy made with SQLite's backup API, since the live record
may be mid-write in WAL mode); intake ignores it, an instructor can open it. A short
``submission.json`` says what was packed, when, and each file's SHA-256.

The zip is written beside its destination and renamed into place. An existing file is
replaced only if it is a zip this command wrote (its comment says so): anything else of
the student's is never overwritten.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
import re
import sqlite3
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from grader import __version__
from grader.course.course import Course
from grader.errors import GraderError, MissingFileError
from grader.state.stub_snapshots import pristine_stub

__all__ = ["PackedFile", "SubmitOutcome", "default_zip_name", "write_submission"]

ZIP_COMMENT = b"async-grader submission (grade submit)"
PROGRESS_NAME = "progress.db"


class SubmitError(GraderError):
    """Raised when the submission zip can't be written where asked."""


@dataclass(frozen=True)
class PackedFile:
    exercise: str  # short name, exercise-03
    path: str  # inside the zip
    state: str  # "changed", "unchanged from the stub", "original unknown"


@dataclass(frozen=True)
class SubmitOutcome:
    zip_path: Path
    packed: tuple[PackedFile, ...]
    unchanged: tuple[str, ...]  # short names whose file is still the stub
    missing: tuple[str, ...]  # short names with no file to pack
    progress: str | None  # the record's name in the zip, if packed


def default_zip_name(course: Course) -> str:
    """``<course name>-<login>.zip``; ``submission.zip`` if the login can't be found."""
    try:
        user = re.sub(r"[^A-Za-z0-9._-]+", "-", getpass.getuser()).strip("-.")
    except (OSError, KeyError):
        user = ""
    return f"{course.info.name}-{user}.zip" if user else "submission.zip"


def write_submission(course: Course, out: Path, *, state: Path,
                     progress: Path | None = None,
                     now: datetime | None = None) -> SubmitOutcome:
    """Write the zip; ``state`` is the progress record's folder (for the stubs' originals)."""
    target = out.expanduser().absolute()
    if target.suffix.lower() != ".zip":
        raise SubmitError(f"{out} does not end in .zip; name the file NAME.zip.")
    if target.exists() and not _written_by_us(target):
        raise SubmitError(f"{out} already exists and is not a submission written by grade "
                          "submit; move it away or choose another name with --out NAME.zip.")
    if progress is not None and not progress.is_file():
        raise MissingFileError(f"There is no progress record at {progress} yet. Grade an "
                               "exercise first, or leave out --with-progress.")
    packed: list[PackedFile] = []
    contents: dict[str, bytes] = {}
    unchanged: list[str] = []
    missing: list[str] = []
    for exercise in course.exercises:
        stub = exercise.stub_file
        if not stub.is_file():
            missing.append(exercise.short_name)
            continue
        content = stub.read_bytes()
        try:
            original, _ = pristine_stub(exercise, state)
            state_text = "unchanged from the stub" if content == original else "changed"
        except MissingFileError:
            state_text = "original unknown"
        if state_text == "unchanged from the stub":
            unchanged.append(exercise.short_name)
        relative = stub.relative_to(course.root).as_posix()
        contents[relative] = content
        packed.append(PackedFile(exercise.short_name, relative, state_text))
    if not packed:
        raise MissingFileError(f"No exercise file found in {course.root / 'exercises'}; "
                               "nothing to hand in.")
    manifest = {
        "course": course.info.title, "grader": __version__,
        "created": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "files": {path: hashlib.sha256(data).hexdigest() for path, data in contents.items()},
        "unchanged_from_stub": unchanged,
    }
    _write_zip(target, contents, manifest, progress)
    return SubmitOutcome(target, tuple(packed), tuple(unchanged), tuple(missing),
                         PROGRESS_NAME if progress is not None else None)


def _written_by_us(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.comment == ZIP_COMMENT
    except (OSError, zipfile.BadZipFile):
        return False


def _write_zip(target: Path, contents: dict[str, bytes], manifest: Mapping[str, object],
               progress: Path | None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                     suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(temporary, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.comment = ZIP_COMMENT
            for relative, data in contents.items():
                archive.writestr(relative, data)
            if progress is not None:
                archive.writestr(PROGRESS_NAME, _consistent_copy(progress))
            archive.writestr("submission.json", json.dumps(manifest, indent=2) + "\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _consistent_copy(record: Path) -> bytes:
    """The record's bytes as of one moment, WAL included, without writing to it."""
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / PROGRESS_NAME
        source = sqlite3.connect(f"{record.resolve().as_uri()}?mode=ro", uri=True)
        try:
            destination = sqlite3.connect(copy)
            try:
                source.backup(destination)
            finally:
                destination.close()
        except sqlite3.Error as exc:
            raise SubmitError(f"Can't copy your progress record {record} ({exc}); leave out "
                              "--with-progress, or run grade progress to check it.") from None
        finally:
            source.close()
        return copy.read_bytes()
