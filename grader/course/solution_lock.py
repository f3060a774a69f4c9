"""Reference solutions a student release carries locked, unlocked once an exercise passes.

``grade release --unlock-solutions`` writes each exercise's reference solution as
``.meta/solution.locked``; the first full-marks grading of the student's own file
writes it out as ``solutions/<exercise>/<module>`` (the instructor's layout, path for
path) and says so. rustlings shows its solutions the same way, after the exercise.

This is a convenience, not a secret, and it says so everywhere it is mentioned: the key
is computed from the exercise's hidden suite, which is on the student's machine, and
the cipher is a SHA-256 keystream written here in a dozen lines. What it does is keep
the answer out of sight of ``grep``, an editor's search and a glance at the folder
until the student has solved the exercise. Anyone who wants to read it early can. Keying
it to the suite has one honest use: a locked file meets only the suite it was released
with, so a course whose suite changed says "release again" instead of showing garbage.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zlib
from pathlib import Path

from grader.course.course import Exercise
from grader.errors import GraderError

__all__ = ["lock_solution", "unlock_solution"]

_MAGIC = b"async-grader locked solution v1\n"


def _key(exercise: Exercise) -> bytes:
    suite = exercise.suite_file.read_bytes()
    return hashlib.sha256(_MAGIC + exercise.name.encode() + b"\0" + suite).digest()


def _keystream_xor(key: bytes, data: bytes) -> bytes:
    blocks = bytearray()
    for counter in range(0, len(data) // 32 + 1):
        blocks += hashlib.sha256(key + counter.to_bytes(8, "big")).digest()
    return bytes(a ^ b for a, b in zip(data, blocks, strict=False))


def lock_solution(exercise: Exercise, solution: bytes) -> bytes:
    """The locked form of ``solution``: magic, a digest to check unlocking by, the body."""
    digest = hashlib.sha256(solution).hexdigest().encode()
    return _MAGIC + digest + b"\n" + _keystream_xor(_key(exercise), zlib.compress(solution, 9))


def unlock_solution(exercise: Exercise, course_root: Path) -> Path | None:
    """Write out ``exercise``'s reference solution if the release carries it locked.

    Returns the written path, or None when there is nothing to unlock (no locked file) or
    it was unlocked before. Raises :class:`GraderError` when the locked file does not
    belong to this hidden suite.
    """
    locked = exercise.locked_solution_file
    target = course_root / "solutions" / exercise.name / exercise.meta.module
    if not locked.is_file() or target.exists():
        return None
    blob = locked.read_bytes()
    header, _, body = blob[len(_MAGIC):].partition(b"\n")
    try:
        solution = zlib.decompress(_keystream_xor(_key(exercise), body))
    except zlib.error:
        solution = b""
    if not blob.startswith(_MAGIC) or hashlib.sha256(solution).hexdigest().encode() != header:
        raise GraderError(
            f"{locked} does not match {exercise.name}'s hidden tests (they changed since "
            "the release). Ask your instructor for the current release.")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.fchmod(fd, 0o644)  # mkstemp makes 0600 files; this is an ordinary course file
    with os.fdopen(fd, "wb") as handle:
        handle.write(solution)
    os.replace(temporary, target)
    return target
