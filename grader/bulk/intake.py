"""Reading a class's submissions: one entry per student, only their module files taken.

``SUBMISSIONS`` holds one entry per student, named after the student: a folder, or a
``.zip``. Inside, the student's version of each exercise's module is found by its file
name (the metadata ``module``, e.g. ``fetcher.py``), in either layout:

* the course layout, ``exercises/exercise-NN-slug/fetcher.py`` (or just
  ``exercise-NN-slug/fetcher.py``), at any depth, so a zip with a wrapping folder works;
* flat, ``fetcher.py`` anywhere outside an exercise folder, when exactly one exercise of
  the course uses that file name.

Why only the module files: hidden tests, conftest files and plugins always come from
the instructor's copy, so nothing else a student hands in can reach the grading. Test
files, ``conftest.py``, ``.pth`` files and the like are ignored *and flagged*, because
handing them in is either a misunderstanding or an attempt worth a look.

Nothing is extracted to disk here: a module's bytes are read (capped) into memory and
the pipeline writes each one into a fresh temporary directory for its grading. A zip is
inspected through its central directory; one with a member that would land outside its
folder (``..``, an absolute path) is rejected whole, since no honest tool writes that.
A malformed entry becomes a :class:`Submission` with ``problems``, never an exception:
the run goes on for everybody else.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from grader.course import Exercise

__all__ = ["IntakeLimits", "ModuleFile", "Submission", "read_submissions"]

_MiB = 1024 * 1024
_EXERCISE_FOLDER = re.compile(r"^exercise-(\d+)(?:-|$)")

IGNORED_FOLDERS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", "__MACOSX", ".venv", "venv", "env",
    "site-packages", "node_modules", ".idea", ".vscode", ".pytest_cache", ".mypy_cache",
    ".ipynb_checkpoints",
})
"""Folders never searched: tooling and environments, where copies of modules, test files
and conftest files are normal and are not the student's work."""


@dataclass(frozen=True)
class IntakeLimits:
    """Caps on what one entry may cost to read; an entry over a cap is reported, not read."""

    module_bytes: int = 1 * _MiB
    entry_files: int = 20_000  # files in a folder or members in a zip


@dataclass(frozen=True)
class ModuleFile:
    """One student's file for one exercise, held in memory."""

    exercise: str  # Exercise.name
    origin: str  # where it came from, for people: "alice.zip/exercises/.../fetcher.py"
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Submission:
    """What one student handed in, as far as grading is concerned."""

    student: str
    source: str  # the entry's name in SUBMISSIONS
    modules: dict[str, ModuleFile] = field(default_factory=dict)  # by Exercise.name
    rejected: dict[str, str] = field(default_factory=dict)  # Exercise.name -> why not graded
    problems: tuple[str, ...] = ()  # why the entry as a whole could not be used
    flags: tuple[str, ...] = ()  # ignored files an instructor should know about


def read_submissions(folder: Path, exercises: Sequence[Exercise], *,
                     course_exercises: Sequence[Exercise] | None = None,
                     limits: IntakeLimits = IntakeLimits()) -> list[Submission]:
    """Every student's submission in ``folder``, sorted by student.

    ``exercises`` are the ones being graded; ``course_exercises`` (default: the same)
    are all the course has, so a flat file name shared by two exercises is recognised
    as ambiguous even when only one of them is graded.
    """
    known = list(course_exercises or exercises)
    wanted = {e.name for e in exercises}
    submissions = []
    for entry in sorted(folder.iterdir(), key=lambda p: p.name):
        if entry.name.startswith("."):
            continue  # .DS_Store, .git: never a student
        submissions.append(_read_entry(entry, known, wanted, limits))
    return _reject_duplicate_students(submissions)


def _student_name(entry: Path) -> str:
    if entry.suffix.lower() == ".zip" and not entry.is_dir():
        return entry.name[: -len(entry.suffix)]
    return entry.name


def _read_entry(entry: Path, known: list[Exercise], wanted: set[str],
                limits: IntakeLimits) -> Submission:
    student = _student_name(entry)
    try:
        if entry.is_dir():
            return _read_folder(entry, student, known, wanted, limits)
        if entry.is_file() and entry.suffix.lower() == ".zip":
            return _read_zip(entry, student, known, wanted, limits)
        return Submission(student, entry.name, problems=(
            "not a folder or a .zip file; hand in one of those",))
    except OSError as exc:
        return Submission(student, entry.name, problems=(
            f"could not be read ({exc.strerror or exc})",))
    except Exception as exc:  # whatever a crafted entry triggers, the run goes on
        return Submission(student, entry.name, problems=(
            f"could not be read ({type(exc).__name__}: {exc})",))


def _reject_duplicate_students(submissions: list[Submission]) -> list[Submission]:
    by_student: dict[str, list[Submission]] = {}
    for submission in submissions:
        by_student.setdefault(submission.student, []).append(submission)
    result = []
    for student, entries in by_student.items():
        if len(entries) == 1:
            result.append(entries[0])
            continue
        sources = ", ".join(e.source for e in entries)
        result.append(Submission(student, sources, problems=(
            f"two entries for the same student ({sources}); keep one and grade again",)))
    return result


# -- reading the two kinds of entry -----------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """One file inside an entry: its path within the entry and how to read it."""

    parts: tuple[str, ...]
    size: int
    read: Callable[[int], bytes]  # read(at_most) -> bytes
    regular: bool = True  # False for symlinks, devices, pipes: never read


def _read_folder(entry: Path, student: str, known: list[Exercise], wanted: set[str],
                 limits: IntakeLimits) -> Submission:
    members: list[_Member] = []
    for root, dirs, files in os.walk(entry, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in IGNORED_FOLDERS)
        relative = Path(root).relative_to(entry).parts
        for name in sorted(files) + [d for d in dirs if os.path.islink(os.path.join(root, d))]:
            path = Path(root, name)
            info = path.lstat()
            members.append(_Member(
                parts=(*relative, name),
                size=info.st_size,
                read=lambda at_most, path=path: _read_capped(path, at_most),
                regular=stat.S_ISREG(info.st_mode),
            ))
            if len(members) > limits.entry_files:
                return Submission(student, entry.name, problems=(
                    f"holds more than {limits.entry_files} files; hand in only the "
                    "exercises folder",))
    return _assemble(student, entry.name, members, known, wanted, limits)


def _read_capped(path: Path, at_most: int) -> bytes:
    # O_NOFOLLOW: the file was a regular file when listed; refuse if it became a link.
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as handle:
        return handle.read(at_most)


def _zip_name_escapes(name: str) -> bool:
    """True when extracting ``name`` would write outside the extraction folder."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return True
    return ".." in normal.split("/")


def _read_zip(entry: Path, student: str, known: list[Exercise], wanted: set[str],
              limits: IntakeLimits) -> Submission:
    try:
        archive = zipfile.ZipFile(entry)
    except (zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
        return Submission(student, entry.name, problems=(
            f"is not a readable zip file ({exc}); zip the folder again",))
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.entry_files:
            return Submission(student, entry.name, problems=(
                f"holds more than {limits.entry_files} files; hand in only the exercises "
                "folder",))
        escaping = [i.filename for i in infos if _zip_name_escapes(i.filename)]
        if escaping:
            return Submission(student, entry.name, problems=(
                f"rejected: the zip holds paths that point outside it ({escaping[0]!r}); "
                "zip the exercises folder again with an ordinary tool",))
        members = []
        for info in infos:
            if info.is_dir():
                continue
            mode = info.external_attr >> 16
            members.append(_Member(
                parts=tuple(p for p in info.filename.replace("\\", "/").split("/") if p),
                size=info.file_size,
                read=lambda at_most, info=info: _read_zip_member(archive, info, at_most),
                # Unix tools store the file type; Windows tools and writestr() store none.
                regular=stat.S_IFMT(mode) in (0, stat.S_IFREG),
            ))
        return _assemble(student, entry.name, members, known, wanted, limits)


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, at_most: int) -> bytes:
    # Read at most ``at_most`` bytes whatever the header claims: a zip bomb lies.
    with archive.open(info) as handle:
        return handle.read(at_most)


# -- finding the modules ----------------------------------------------------------------

_SUSPICIOUS_REASONS = (
    (lambda n: n == "conftest.py", "conftest files always come from the instructor's copy"),
    (lambda n: (n.startswith("test_") and n.endswith(".py")) or n.endswith("_test.py"),
     "tests always come from the instructor's copy"),
    (lambda n: n.endswith(".pth") or n in ("sitecustomize.py", "usercustomize.py"),
     "files that change Python's start-up are never used"),
    (lambda n: n == "pytest.ini", "pytest settings always come from the instructor's copy"),
)


def _suspicious(name: str) -> str | None:
    for matches, reason in _SUSPICIOUS_REASONS:
        if matches(name):
            return reason
    return None


@dataclass(frozen=True)
class _Candidate:
    exercise: str
    rank: tuple[int, int, str]  # course layout first, then shallowest, then by name
    member: _Member

    @property
    def path(self) -> str:
        return str(PurePosixPath(*self.member.parts))


def _assemble(student: str, source: str, members: list[_Member], known: list[Exercise],
              wanted: set[str], limits: IntakeLimits) -> Submission:
    if not members:
        return Submission(student, source, problems=("is empty",))
    flags: list[str] = []
    candidates: dict[str, list[_Candidate]] = {}
    for member in members:
        candidate = _place(member, known, wanted, flags)
        if candidate is not None:
            candidates.setdefault(candidate.exercise, []).append(candidate)
    module_names = {e.meta.module for e in known}
    if not candidates and not any(m.parts[-1] in module_names for m in members):
        names = ", ".join(sorted({e.meta.module for e in known if e.name in wanted}))
        return Submission(student, source, problems=(
            f"holds no module of the graded exercises (looked for {names} in "
            f"{len(members)} files)",), flags=tuple(flags))

    modules: dict[str, ModuleFile] = {}
    rejected: dict[str, str] = {}
    for exercise, found in sorted(candidates.items()):
        found.sort(key=lambda c: c.rank)
        chosen = found[0]
        for other in found[1:]:
            flags.append(f"also found {other.path}; graded {chosen.path} for {exercise}")
        origin = f"{source}/{chosen.path}"
        if chosen.member.size > limits.module_bytes:
            rejected[exercise] = f"{chosen.path} is larger than {limits.module_bytes} bytes"
            continue
        try:
            content = chosen.member.read(limits.module_bytes + 1)
        except Exception as exc:  # any way a member fails to read is the student's problem
            rejected[exercise] = f"{chosen.path} could not be read ({type(exc).__name__}: {exc})"
            continue
        if len(content) > limits.module_bytes:
            rejected[exercise] = f"{chosen.path} is larger than {limits.module_bytes} bytes"
            continue
        modules[exercise] = ModuleFile(exercise, origin, content)
    return Submission(student, source, modules=modules, rejected=rejected, flags=tuple(flags))


def _exercise_folder(parts: Iterable[str]) -> tuple[int, int] | None:
    """(exercise number, index of its folder) for the innermost exercise folder in parts."""
    found = None
    for index, part in enumerate(parts):
        match = _EXERCISE_FOLDER.match(part)
        if match:
            found = (int(match[1]), index)
    return found


def _place(member: _Member, known: list[Exercise], wanted: set[str],
           flags: list[str]) -> _Candidate | None:
    """The exercise ``member`` is the module of, or None; flags what deserves a look."""
    parts = member.parts
    if any(p in IGNORED_FOLDERS for p in parts[:-1]):
        return None
    name = parts[-1]
    path = str(PurePosixPath(*parts))
    owners = [e for e in known if e.meta.module == name]
    if not owners:
        reason = _suspicious(name)
        if reason:
            flags.append(f"ignored {path}: {reason}")
        return None
    if not member.regular:
        flags.append(f"ignored {path}: not a regular file (a link or a device)")
        return None
    folder = _exercise_folder(parts[:-1])
    if folder is not None:
        number, index = folder
        exercise = next((e for e in known if e.number == number), None)
        if exercise is None or exercise.meta.module != name:
            flags.append(f"ignored {path}: {parts[index]} is not the folder of an exercise "
                         f"whose module is {name}")
            return None
        if exercise.name not in wanted:
            return None
        in_course_layout = index > 0 and parts[index - 1] == "exercises"
        return _Candidate(exercise.name, (0 if in_course_layout else 1, len(parts), path), member)
    if len(owners) > 1:
        names = ", ".join(e.short_name for e in owners)
        flags.append(f"ignored {path}: {name} is the module of several exercises ({names}); "
                     f"use the course layout exercises/exercise-NN-slug/{name}")
        return None
    if owners[0].name not in wanted:
        return None
    return _Candidate(owners[0].name, (2, len(parts), path), member)
