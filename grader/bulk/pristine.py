"""The stubs as the course handed them out, for judging what students handed in.

``grade bulk`` runs in the instructor's copy, and there ``exercises/<exercise>/<module>``
is a working file like any other: an instructor who tried the exercises, or copied the
solutions over to check them, has solved stubs there. Comparing submissions with that
file called full-mark solutions "unchanged stubs" and left them out of the class
summary's most-failed checks. So the working copy is never used. The pristine stub is,
in this order (the first that exists; both when both do, as an edit to a stub that was
released but not committed leaves the two different):

1. git's ``HEAD`` version of the stub, when the course is a git checkout;
2. the release's ``.meta/<module>.orig``, the copy ``grade release`` writes
   (:mod:`grader.course.release`), for a course that is not under git.

With neither, nothing counts as an unchanged stub for that exercise, copying is not
looked for there (two untouched stubs would look copied), and the run says so
(:func:`missing_note`). :mod:`grader.state.stub_snapshots` answers a different question
(what ``grade reset`` restores for one student) and prefers the student's snapshot.
"""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from grader.course.course import Exercise

__all__ = ["PristineStub", "missing_note", "pristine_stubs"]

GIT_TIMEOUT = 10.0  # seconds; git on a local checkout answers in milliseconds


@dataclass(frozen=True)
class PristineStub:
    """Every known pristine version of one exercise's stub, and where each came from."""

    exercise: str  # Exercise.name
    versions: tuple[bytes, ...]
    sources: tuple[str, ...]  # "git HEAD:exercises/.../fetcher.py", ".meta/fetcher.py.orig"

    @property
    def hashes(self) -> frozenset[str]:
        return frozenset(hashlib.sha256(v).hexdigest() for v in self.versions)


def _git_head(exercise: Exercise) -> bytes | None:
    relative = exercise.stub_file.relative_to(exercise.course_root).as_posix()
    try:
        done = subprocess.run(
            ["git", "-C", str(exercise.course_root), "show", f"HEAD:./{relative}"],
            capture_output=True, timeout=GIT_TIMEOUT, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def pristine_stub(exercise: Exercise) -> PristineStub:
    """``exercise``'s pristine stub versions (none when neither source has one)."""
    versions: list[bytes] = []
    sources: list[str] = []
    head = _git_head(exercise)
    if head is not None:
        versions.append(head)
        sources.append(f"git HEAD:{exercise.stub_file.relative_to(exercise.course_root)}")
    original = exercise.original_stub_file
    if original.is_file():
        content = original.read_bytes()
        if content not in versions:
            versions.append(content)
            sources.append(str(original.relative_to(exercise.course_root)))
    return PristineStub(exercise.name, tuple(versions), tuple(sources))


def pristine_stubs(exercises: Sequence[Exercise]) -> dict[str, PristineStub]:
    """By ``Exercise.name``."""
    return {e.name: pristine_stub(e) for e in exercises}


def missing_note(stubs: dict[str, PristineStub], short_names: dict[str, str]) -> str | None:
    """One line naming the exercises with no pristine stub, or None when all have one."""
    missing = [short_names.get(name, name) for name, stub in stubs.items() if not stub.versions]
    if not missing:
        return None
    return (f"no pristine stub for {', '.join(missing)} (the course is not a git checkout "
            "holding it, and there is no .meta/<module>.orig): untouched stubs are not "
            "recognised there (they count in the most-failed checks) and copying is not "
            "looked for; run grade bulk from a git checkout of the course")
