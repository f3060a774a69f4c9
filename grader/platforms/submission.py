"""Finding a student's modules in whatever folder a platform hands over.

Platforms differ in what a submission looks like: Gradescope unpacks an upload (single
files, a zip, a GitHub repository) into ``/autograder/submission``, PrairieLearn copies
the files its editor or upload element took into ``/grade/student``, GitHub Classroom
checks out the student's repository, Exercism passes the solution folder. Every one
of them is read with ``grade bulk``'s intake (:mod:`grader.bulk.intake`), so the same
rules apply everywhere: each exercise's module is found by its file name, flat or in
the course layout at any depth, symbolic links, hard links and special files are
refused, sizes are capped, and only module files are taken (test files, conftest
files and the like never reach a grading). A zip that was handed in unopened (a
folder holding nothing but ``work.zip``) is read the same way, without extracting it.

The intake reads a folder of entries, one per student; a platform hands over one
student's folder. So the files the intake could take (each exercise's module, zips)
are first mirrored, with their relative paths, into a fresh folder as its only entry,
and that folder is read with the intake's :func:`~grader.bulk.intake.read_submissions`.
The mirror walk never follows a link and opens nothing but regular files: a link is
recreated as the same link (so the intake refuses the entry as ``grade bulk`` would),
a file with several names or a special file is left out and said so, and the walk
stops at the intake's own caps on entries, folders, depth and bytes.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from grader.bulk.intake import (
    IGNORED_FOLDERS,
    IntakeLimits,
    ModuleFile,
    Submission,
    read_submissions,
)
from grader.course.course import Exercise

__all__ = ["Found", "find_modules"]


@dataclass(frozen=True)
class Found:
    """What a submission holds for the graded exercises."""

    modules: dict[str, ModuleFile] = field(default_factory=dict)  # by Exercise.name
    missing: dict[str, str] = field(default_factory=dict)  # Exercise.name -> why not graded
    remarks: tuple[str, ...] = ()  # about the submission as a whole: problems, ignored files


def find_modules(submission: Path, exercises: Sequence[Exercise], *,
                 course_exercises: Sequence[Exercise] | None = None,
                 limits: IntakeLimits | None = None) -> Found:
    """The student's module for each of ``exercises`` in the folder ``submission``."""
    limits = limits or IntakeLimits()
    known = list(course_exercises or exercises)
    wanted = frozenset(e.meta.module for e in known)
    with tempfile.TemporaryDirectory(prefix="platform-intake-") as tmp:
        entry = Path(tmp) / "submission"
        entry.mkdir()
        mirror = _Mirror(entry, wanted, limits)
        mirror.copy(submission)
        found = _read_one(Path(tmp), exercises, known, limits)
        if not found.modules and not found.rejected:
            # Handed in as a zip left unopened: read each zip at the top as the entry.
            for archive in sorted(entry.glob("*.zip"), key=lambda p: p.name):
                alone = Path(tmp) / "zip" / archive.name
                alone.parent.mkdir(exist_ok=True)
                archive.rename(alone)
                from_zip = _read_one(alone.parent, exercises, known, limits)
                alone.unlink()
                if from_zip.modules or from_zip.rejected:
                    found = from_zip
                    break
    missing = dict(found.rejected)
    for exercise in exercises:
        if exercise.name not in found.modules and exercise.name not in missing:
            missing[exercise.name] = _not_found(exercise)
    problems = [] if found.modules else [f"The submission {p}" for p in found.problems]
    return Found(modules=dict(found.modules), missing=missing,
                 remarks=(*mirror.remarks, *problems, *found.flags))


def _read_one(folder: Path, exercises: Sequence[Exercise], known: list[Exercise],
              limits: IntakeLimits) -> Submission:
    read = read_submissions(folder, exercises, course_exercises=known, limits=limits)
    return read[0] if read else Submission("submission", "submission")


class _Mirror:
    """Copies the files the intake could take from a folder, without following links."""

    def __init__(self, target: Path, modules: frozenset[str], limits: IntakeLimits) -> None:
        self.target, self.modules, self.limits = target, modules, limits
        self.remarks: list[str] = []
        self.entries = self.folders = self.bytes = 0

    def copy(self, source: Path) -> None:
        try:
            fd = os.open(source, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            self.remarks.append(f"The submission folder could not be read ({exc.strerror}).")
            return
        try:
            self._folder(fd, ())
        except _Stop as stop:
            self.remarks.append(str(stop))
        finally:
            os.close(fd)

    def _folder(self, fd: int, parts: tuple[str, ...]) -> None:
        if len(parts) > self.limits.depth:
            raise _Stop(f"The submission is nested more than {self.limits.depth} folders "
                        "deep; only what lies above that was read.")
        with os.scandir(fd) as listing:
            items = sorted(listing, key=lambda item: item.name)
        for item in items:
            self.entries += 1
            if self.entries > self.limits.entries:
                raise _Stop(f"The submission holds more than {self.limits.entries} files; "
                            "only the first were read.")
            here = (*parts, item.name)
            info = item.stat(follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                self._place(here).symlink_to(os.readlink(item.name, dir_fd=fd))
            elif stat.S_ISDIR(info.st_mode):
                if item.name in IGNORED_FOLDERS:
                    continue
                self.folders += 1
                if self.folders > self.limits.folders:
                    raise _Stop(f"The submission holds more than {self.limits.folders} "
                                "folders; only the first were read.")
                child = os.open(item.name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                dir_fd=fd)
                try:
                    self._folder(child, here)
                finally:
                    os.close(child)
            elif self._wanted(item.name):
                self._file(fd, item.name, info, here)

    def _wanted(self, name: str) -> bool:
        return name in self.modules or name.lower().endswith(".zip")

    def _file(self, fd: int, name: str, info: os.stat_result, parts: tuple[str, ...]) -> None:
        shown = "/".join(parts)
        if not stat.S_ISREG(info.st_mode):
            self.remarks.append(f"ignored {shown}: not a regular file")
            return
        if info.st_nlink > 1:
            self.remarks.append(f"ignored {shown}: a file with {info.st_nlink} names (a hard "
                                "link); hand in a plain copy")
            return
        self.bytes += info.st_size
        if self.bytes > self.limits.total_bytes:
            raise _Stop(f"The submission holds more than {self.limits.total_bytes} bytes of "
                        "modules and zips; only the first were read.")
        handle = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=fd)
        try:
            opened = os.fstat(handle)
            if not stat.S_ISREG(opened.st_mode) or opened.st_ino != info.st_ino:
                self.remarks.append(f"ignored {shown}: it changed while it was read")
                return
            with os.fdopen(os.dup(handle), "rb") as reader:
                self._place(parts).write_bytes(reader.read(self.limits.total_bytes + 1))
        finally:
            os.close(handle)

    def _place(self, parts: tuple[str, ...]) -> Path:
        path = self.target.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


class _Stop(Exception):
    """Raised when the submission passes one of the intake's caps; says which."""


def _not_found(exercise: Exercise) -> str:
    module = exercise.meta.module
    return (f"No {module} was found in your submission. Hand in a file named exactly "
            f"{module} (on its own, or at exercises/{exercise.name}/{module}).")
