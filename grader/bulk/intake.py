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
the pipeline writes each one into a fresh temporary directory for its grading. A
malformed entry becomes a :class:`Submission` with ``problems``, never an exception:
the run goes on for everybody else.

Entries are written by students who may have read this file, so every rule is about
what the entry *is*, checked before it costs anything:

* **Nothing resolves outside the entry.** A symbolic link (the entry itself, anything
  in a folder, a zip member marked as one) refuses the whole entry, since a link to the
  course's ``solutions/`` would otherwise be graded as the student's work; so does a
  hard link (a file with more than one name, which may be that same solution file) and
  a named pipe, socket or device (opening a pipe would block intake for ever). Folders
  are walked through file descriptors, each name opened with ``O_NOFOLLOW`` relative to
  its checked parent, and a module's bytes are read from the descriptor whose type,
  link count and identity were checked, so swapping a file after the walk gains nothing.
  Folders that are never searched (:data:`IGNORED_FOLDERS`) are never opened, so what
  lies inside them (a virtual environment's links) does not count.
* **Caps come before the work.** A folder is listed with :func:`os.scandir`, counting
  names and folders as they come and stopping at a cap, never listing everything first;
  depth and total size are capped the same way. A zip's end-of-central-directory record (ZIP64
  included) is read from the file's tail here, and an entry count or central directory
  size over its cap refuses the zip before :class:`zipfile.ZipFile` parses a byte of
  the directory; then the members are counted, and a member that would land outside its
  folder (``..``, an absolute path), a name given twice, a link or a special file
  refuses the zip whole, since no honest tool writes those. A member's bytes are read
  capped whatever its header claims, so a zip bomb costs at most one module's cap.

A refused entry carries one line saying what was found and what to do instead.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import os
import re
import stat
import struct
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from grader.bulk.lms import canvas, moodle
from grader.course.course import Exercise
from grader.supervision.sanitize import clean_name

__all__ = [
    "MAX_CENTRAL_DIRECTORY_BYTES", "MAX_DEPTH", "MAX_ENTRIES", "MAX_FOLDERS",
    "MAX_MODULE_BYTES", "MAX_TOTAL_BYTES", "ClassIntake", "IntakeLimits", "ModuleFile",
    "Submission", "read_class", "read_submissions",
]

_MiB = 1024 * 1024
_EXERCISE_FOLDER = re.compile(r"^exercise-(\d+)(?:-|$)")

MAX_MODULE_BYTES = 1 * _MiB
"""Bytes read of one module. The course's largest solution is a few KiB; a module of a
mebibyte is generated or pasted data, and reading more than this is all a zip bomb can
make us do."""

MAX_ENTRIES = 20_000
"""Files and folders in a folder entry (outside the folders never searched), members in
a zip (all of them: the zip's directory lists them all). The whole course repository is
about 600 and its ``exercises/`` about 110; a student who zipped a project with its
``.git`` stays well under. Counting stops at the cap, and a name costs a fraction of a
system call (they come in batches), so reaching it takes a few milliseconds."""

MAX_FOLDERS = 2_000
"""Folders in a folder entry (outside the folders never searched). Each one is opened
and listed, several system calls where a name costs a fraction of one, so folders have
their own, lower cap: the repository has about 160 and its ``exercises/`` 36. A folder
is counted when its name is listed, before it is opened, so an entry of 50,000 empty
folders costs at most 2,000 listings."""

MAX_DEPTH = 32
"""Folders nested below the entry (a zip member's folders likewise). The course layout
is 2 deep and a zip of a home-folder path about 10; deeper is a chain made to keep us
walking, and the walk holds one descriptor per level, so this also bounds those."""

MAX_TOTAL_BYTES = 256 * _MiB
"""Bytes of all files in a folder entry, or all members of a zip as its directory
declares them, outside the folders never searched. The repository is under 2 MiB;
256 MiB leaves room for data files and notebooks, and more means the wrong folder (a
home folder, a disk image) was handed in."""

MAX_CENTRAL_DIRECTORY_BYTES = 4 * _MiB
"""Size of a zip's central directory, checked from its end record before
:class:`zipfile.ZipFile` reads it. That parse costs about 4 µs per member whatever the
record's entry count says, and a member takes at least 46 bytes, so this caps a hostile
zip at about 90,000 parsed members (0.4 s) before the member cap refuses it; an honest
zip of :data:`MAX_ENTRIES` members with 200-byte paths fits."""

IGNORED_FOLDERS = frozenset({
    ".git", ".hg", ".svn", "__pycache__", "__MACOSX", ".venv", "venv", "env",
    "site-packages", "node_modules", ".idea", ".vscode", ".pytest_cache", ".mypy_cache",
    ".ipynb_checkpoints",
})
"""Folders never searched: tooling and environments, where copies of modules, test files
and conftest files are normal and are not the student's work. They are never opened
either, so the links a virtual environment or ``node_modules`` holds do not count."""

# Every name below an entry is opened relative to its checked parent and never followed
# if it is a link; O_NONBLOCK so that a file swapped for a named pipe cannot block open.
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_NOCTTY
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY


@dataclass(frozen=True)
class IntakeLimits:
    """Caps on what one entry may cost to read; an entry over a cap is refused, not read.

    The defaults are the module's ``MAX_*`` constants, where each value is explained.
    """

    module_bytes: int = MAX_MODULE_BYTES
    entries: int = MAX_ENTRIES  # files and folders in a folder, members in a zip
    folders: int = MAX_FOLDERS
    depth: int = MAX_DEPTH
    total_bytes: int = MAX_TOTAL_BYTES
    central_directory_bytes: int = MAX_CENTRAL_DIRECTORY_BYTES


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
    lms: str = ""  # "canvas" or "moodle" when the entry came from that LMS's download
    lms_user: str = ""  # the LMS's id in the download's names (Canvas user, Moodle participant)
    lms_name: str = ""  # the student's name as the download wrote it


@dataclass(frozen=True)
class ClassIntake:
    """Every submission, and what the submissions folder held that is nobody's."""

    submissions: list[Submission]
    notes: tuple[str, ...] = ()  # "ignored: heidi-report.pdf is not ...", for the instructor


class _Refused(Exception):
    """Raised when an entry breaks an intake rule; the message is the one-line reason."""


def read_submissions(folder: Path, exercises: Sequence[Exercise], *,
                     course_exercises: Sequence[Exercise] | None = None,
                     limits: IntakeLimits = IntakeLimits()) -> list[Submission]:
    """Every student's submission in ``folder``, sorted by student (see :func:`read_class`)."""
    return read_class(folder, exercises, course_exercises=course_exercises,
                      limits=limits).submissions


def read_class(folder: Path, exercises: Sequence[Exercise], *,
               course_exercises: Sequence[Exercise] | None = None,
               limits: IntakeLimits = IntakeLimits()) -> ClassIntake:
    """Every student's submission in ``folder``, sorted by student, and notes on the rest.

    ``exercises`` are the ones being graded; ``course_exercises`` (default: the same)
    are all the course has, so a flat file name shared by two exercises is recognised
    as ambiguous even when only one of them is graded.

    Besides one folder or zip per student, ``folder`` may hold an LMS download: Canvas's
    flat files (``smithjohn_12345_67890_fetcher.py``), or the zip of them Canvas hands
    out, and Moodle's per-student folders or files (``Jane Roe_33333_assignsubmission_
    file_``); each becomes one entry per student. Any other file at the top is reported
    in the notes and never becomes a student.
    """
    known = list(course_exercises or exercises)
    wanted = {e.name for e in exercises}
    modules = frozenset(e.meta.module for e in known)
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(folder_fd) as listing:
            # .DS_Store, .git: never a student
            names = sorted(e.name for e in listing if not e.name.startswith("."))
        sorted_out = _sort_top_level(folder_fd, names, modules, limits)
        submissions = [submission for name in sorted_out.entries
                       for submission in _read_entry(folder_fd, name, modules, known, wanted,
                                                     limits)]
        for files in sorted_out.canvas.values():
            submissions.append(_read_lms_group(
                folder_fd, "canvas", [(n, None) for n in files], modules, known, wanted, limits))
        moodle_names = [moodle.parse_download_name(n) for n in sorted_out.moodle_names()]
        for participant, group in sorted_out.moodle.items():
            submissions.append(_read_moodle_group(folder_fd, participant, group, moodle_names,
                                                  known, wanted, limits))
    finally:
        os.close(folder_fd)
    ordered = sorted(_reject_duplicate_students(submissions), key=lambda s: s.student)
    return ClassIntake(ordered, tuple(sorted_out.notes))


# -- the top of the submissions folder ---------------------------------------------------


@dataclass
class _TopLevel:
    """The names at the top of the submissions folder, sorted by what they are."""

    entries: list[str] = field(default_factory=list)  # one student's folder or zip each
    canvas: dict[str, list[str]] = field(default_factory=dict)  # user id -> flat files
    moodle: dict[str, list[tuple[str, bool]]] = field(default_factory=dict)  # id -> names
    notes: list[str] = field(default_factory=list)

    def moodle_names(self) -> list[str]:
        return [name for group in self.moodle.values() for name, _ in group]


def _sort_top_level(folder_fd: int, names: list[str], modules: frozenset[str],
                    limits: IntakeLimits) -> _TopLevel:
    found = _TopLevel()
    for name in names:
        try:
            mode = os.stat(name, dir_fd=folder_fd, follow_symlinks=False).st_mode
        except OSError:
            found.entries.append(name)  # reported when read, as before
            continue
        from_moodle = moodle.parse_download_name(name)
        if from_moodle is not None and (stat.S_ISDIR(mode) or stat.S_ISREG(mode)):
            found.moodle.setdefault(from_moodle.participant, []).append(
                (name, stat.S_ISDIR(mode)))
            continue
        if not stat.S_ISREG(mode):
            found.entries.append(name)  # folders; links, pipes are refused when read
            continue
        from_canvas = canvas.parse_download_name(name)
        if from_canvas is not None:
            found.canvas.setdefault(from_canvas.user_id, []).append(name)
        elif name.lower().endswith(".zip"):
            found.entries.append(name)  # a student's zip, or a zip of Canvas flat files
        elif name.lower().endswith(".py"):
            found.notes.append(f"ignored: {clean_name(name)} is a Python file outside any "
                               "student folder; put it in a folder named after its student")
        else:
            found.notes.append(f"ignored: {clean_name(name)} is not a Python file or a "
                               "student folder")
    return found


def _read_canvas_bundle(folder_fd: int, name: str, members: list[_Member],
                        modules: frozenset[str], known: list[Exercise], wanted: set[str],
                        limits: IntakeLimits) -> list[Submission]:
    """One submission per student of a zip of Canvas flat files (Canvas's own download)."""
    by_user: dict[str, list[tuple[str, _Member | None]]] = {}
    for member in members:
        parsed = canvas.parse_download_name(member.parts[0])
        assert parsed is not None  # the caller checked every member
        by_user.setdefault(parsed.user_id, []).append((member.parts[0], member))
    return [_read_lms_group(folder_fd, "canvas", files, modules, known, wanted, limits,
                            inside=name)
            for files in by_user.values()]


def _canvas_file(name: str) -> canvas.CanvasFile:
    parsed = canvas.parse_download_name(name)
    assert parsed is not None
    return parsed


def _read_lms_group(folder_fd: int, lms: str, files: list[tuple[str, _Member | None]],
                    modules: frozenset[str], known: list[Exercise], wanted: set[str],
                    limits: IntakeLimits, inside: str = "") -> Submission:
    """One Canvas student's flat files (each a module, another file, or a zip of theirs).

    Canvas keeps every file a student ever uploaded under the same name with ``-N``
    added, so for each file name only the latest is taken: the highest submission id,
    then the highest N; the others are flagged as older versions.
    """
    parsed = [(_canvas_file(name), name, member) for name, member in files]
    first = parsed[0][0]
    student = f"{first.name}_{first.user_id}"
    source = f"{inside}/" if inside else ""
    source += f"{first.name}_{'LATE_' if any(p.late for p, _, _ in parsed) else ''}" \
              f"{first.user_id}_*"
    flags = []
    if any(p.late for p, _, _ in parsed):
        flags.append("Canvas marked this submission LATE")
    latest: dict[str, tuple[tuple[int, int], str, _Member | None]] = {}
    for file, name, member in parsed:
        own, number = file.named(modules)
        rank = (file.submission_id, number)
        held = latest.get(own)
        if held is not None:
            older, newer = (name, held[1]) if rank < held[0] else (held[1], name)
            flags.append(f"also found {clean_name(older)}, an older version of {own}; graded "
                         f"{clean_name(newer)}")
            if rank < held[0]:
                continue
        latest[own] = (rank, name, member)
    try:
        with ExitStack() as stack:
            members: list[_Member] = []
            for own, (_, name, member) in sorted(latest.items()):
                if member is not None:  # inside a bundle: a zip in it is not opened
                    members.append(_Member((own,), member.size, member.read))
                    continue
                info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
                if own.lower().endswith(".zip"):
                    zipped = stack.enter_context(_opened_zip(folder_fd, name, info, limits))
                    members += zipped
                    continue
                _check_file(info, (name,))
                identity = (info.st_dev, info.st_ino)
                members.append(_Member((own,), info.st_size, functools.partial(
                    _read_beneath, folder_fd, (name,), identity)))
            found = _assemble(student, source, members, known, wanted, limits)
    except _Refused as refusal:
        found = Submission(student, source, problems=(str(refusal),))
    except OSError as exc:
        found = Submission(student, source, problems=(
            f"could not be read ({exc.strerror or exc})",))
    except Exception as exc:  # whatever a crafted entry triggers, the run goes on
        found = Submission(student, source, problems=(
            f"could not be read ({type(exc).__name__}: {exc})",))
    return dataclasses.replace(found, flags=(*flags, *found.flags), lms=lms,
                               lms_user=first.user_id, lms_name=first.name)


def _read_moodle_group(folder_fd: int, participant: str, group: list[tuple[str, bool]],
                       all_names: list[moodle.MoodleName | None], known: list[Exercise],
                       wanted: set[str], limits: IntakeLimits) -> Submission:
    """One Moodle participant's folders (``..._assignsubmission_file_``) and files."""
    parsed = [(moodle.parse_download_name(name), name, is_folder) for name, is_folder in group]
    first = parsed[0][0]
    assert first is not None
    same_name = sum(1 for n in all_names if n is not None and n.name == first.name
                    and n.participant != participant)
    student = first.name if not same_name else f"{first.name}_{participant}"
    source = group[0][0] if len(group) == 1 else f"{first.name}_{participant}_*"
    try:
        with ExitStack() as stack:
            members: list[_Member] = []
            for info_name, name, is_folder in parsed:
                assert info_name is not None
                info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
                if is_folder:
                    root = os.open(name, _DIR_FLAGS, dir_fd=folder_fd)
                    stack.callback(os.close, root)
                    opened = os.fstat(root)
                    if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
                        raise _Refused("changed while it was being read; grade again once it "
                                       "is still")
                    walk = _FolderWalk(root, limits)
                    walk.folder(root, ())
                    members += walk.members
                    continue
                _check_file(info, (name,))
                identity = (info.st_dev, info.st_ino)
                members.append(_Member((info_name.file,), info.st_size, functools.partial(
                    _read_beneath, folder_fd, (name,), identity)))
            found = _assemble(student, source, members, known, wanted, limits)
    except _Refused as refusal:
        found = Submission(student, source, problems=(str(refusal),))
    except OSError as exc:
        found = Submission(student, source, problems=(
            f"could not be read ({exc.strerror or exc})",))
    except Exception as exc:  # whatever a crafted entry triggers, the run goes on
        found = Submission(student, source, problems=(
            f"could not be read ({type(exc).__name__}: {exc})",))
    return dataclasses.replace(found, lms="moodle", lms_user=participant, lms_name=first.name)


def _student_name(name: str, mode: int) -> str:
    suffix = PurePosixPath(name).suffix
    if suffix.lower() == ".zip" and not stat.S_ISDIR(mode):
        return name[: -len(suffix)]
    return name


def _read_entry(folder_fd: int, name: str, modules: frozenset[str], known: list[Exercise],
                wanted: set[str], limits: IntakeLimits) -> list[Submission]:
    """The entry's submission: one, or one per student for a zip of Canvas's flat files."""
    student = name
    try:
        info = os.stat(name, dir_fd=folder_fd, follow_symlinks=False)
        student = _student_name(name, info.st_mode)
        if stat.S_ISDIR(info.st_mode):
            return [_read_folder(folder_fd, name, info, student, known, wanted, limits)]
        if stat.S_ISREG(info.st_mode) and name.lower().endswith(".zip"):
            return _read_zip(folder_fd, name, info, student, modules, known, wanted, limits)
        if stat.S_ISLNK(info.st_mode):
            raise _Refused(f"is a symbolic link (to {_link_target(name, folder_fd)}); links "
                           "are never followed: hand in the folder or .zip file itself")
        if stat.S_ISREG(info.st_mode):
            raise _Refused("not a folder or a .zip file; hand in one of those")
        raise _Refused(f"is {_kind(info.st_mode)}, not a folder or a .zip file; hand in one "
                       "of those")
    except _Refused as refusal:
        return [Submission(student, name, problems=(str(refusal),))]
    except OSError as exc:
        return [Submission(student, name, problems=(
            f"could not be read ({exc.strerror or exc})",))]
    except Exception as exc:  # whatever a crafted entry triggers, the run goes on
        return [Submission(student, name, problems=(
            f"could not be read ({type(exc).__name__}: {exc})",))]


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


# -- what refusals say ------------------------------------------------------------------


def _shown(path: str | Iterable[str]) -> str:
    """A student-chosen name, quoted and kept to one short line whatever it holds."""
    text = path if isinstance(path, str) else "/".join(path)
    if len(text) > 100:
        text = text[:97] + "..."
    return repr(text)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISDIR(mode):
        return "a folder"
    return "a special file"


def _link_target(name: str, dir_fd: int) -> str:
    try:
        return _shown(os.readlink(name, dir_fd=dir_fd))
    except OSError:
        return "somewhere"


def _too_many(limits: IntakeLimits) -> _Refused:
    return _Refused(f"holds more than {limits.entries} files and folders; hand in only the "
                    "exercises folder")


def _too_many_folders(limits: IntakeLimits) -> _Refused:
    return _Refused(f"holds more than {limits.folders} folders; hand in only the exercises "
                    "folder")


def _too_deep(limits: IntakeLimits, parts: Iterable[str]) -> _Refused:
    return _Refused(f"has folders nested more than {limits.depth} deep ({_shown(parts)}); "
                    "hand in only the exercises folder")


def _too_big(limits: IntakeLimits) -> _Refused:
    return _Refused(f"holds more than {limits.total_bytes // _MiB} MiB of files; hand in "
                    "only the exercises folder")


def _check_file(info: os.stat_result, parts: Iterable[str]) -> None:
    """Refuses a file that is not one plain file with one name (links are refused before)."""
    if not stat.S_ISREG(info.st_mode):
        raise _Refused(f"holds {_kind(info.st_mode)}, {_shown(parts)}; hand in only ordinary "
                       "files and folders")
    if info.st_nlink > 1:
        raise _Refused(f"holds a hard link, {_shown(parts)} (one file with {info.st_nlink} "
                       "names, maybe outside the submission); hand in plain copies")


# -- reading the two kinds of entry -----------------------------------------------------


@dataclass(frozen=True)
class _Member:
    """One file inside an entry: its path within the entry and how to read it."""

    parts: tuple[str, ...]
    size: int
    read: Callable[[int], bytes]  # read(at_most) -> bytes; may raise _Refused


def _read_folder(folder_fd: int, name: str, info: os.stat_result, student: str,
                 known: list[Exercise], wanted: set[str], limits: IntakeLimits) -> Submission:
    root = os.open(name, _DIR_FLAGS, dir_fd=folder_fd)
    try:
        opened = os.fstat(root)
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise _Refused("changed while it was being read; grade again once it is still")
        walk = _FolderWalk(root, limits)
        walk.folder(root, ())
        return _assemble(student, name, walk.members, known, wanted, limits)
    finally:
        os.close(root)


class _FolderWalk:
    """Lists a folder entry through descriptors, refusing it at the first broken rule.

    Names and folders are counted as :func:`os.scandir` yields them, so a cap is
    reached after listing that many names however many there are, and a folder is
    counted before it is opened. Files of a folder come before its subfolders, each
    sorted, as ``os.walk`` would give them.
    """

    def __init__(self, root: int, limits: IntakeLimits) -> None:
        self.root = root
        self.limits = limits
        self.members: list[_Member] = []
        self.names = 0
        self.folders = 0
        self.bytes = 0

    def folder(self, fd: int, parts: tuple[str, ...]) -> None:
        files: list[tuple[str, os.stat_result]] = []
        folders: list[str] = []
        with os.scandir(fd) as listing:
            for item in listing:
                self.names += 1
                if self.names > self.limits.entries:
                    raise _too_many(self.limits)
                if item.name in IGNORED_FOLDERS:
                    continue  # never searched, so never opened
                if item.is_symlink():
                    raise _Refused(
                        f"holds a symbolic link, {_shown((*parts, item.name))} (to "
                        f"{_link_target(item.name, fd)}); links are never followed: hand in "
                        "the files themselves")
                if item.is_dir(follow_symlinks=False):
                    self.folders += 1
                    if self.folders > self.limits.folders:
                        raise _too_many_folders(self.limits)
                    folders.append(item.name)
                    continue
                info = item.stat(follow_symlinks=False)
                _check_file(info, (*parts, item.name))
                self.bytes += info.st_size
                if self.bytes > self.limits.total_bytes:
                    raise _too_big(self.limits)
                files.append((item.name, info))
        for name, info in sorted(files, key=lambda f: f[0]):
            path = (*parts, name)
            identity = (info.st_dev, info.st_ino)
            self.members.append(_Member(
                parts=path, size=info.st_size,
                read=functools.partial(_read_beneath, self.root, path, identity)))
        if folders and len(parts) >= self.limits.depth:
            raise _too_deep(self.limits, (*parts, min(folders)))
        for name in sorted(folders):
            child = os.open(name, _DIR_FLAGS, dir_fd=fd)
            try:
                self.folder(child, (*parts, name))
            finally:
                os.close(child)


def _read_beneath(root: int, parts: tuple[str, ...], identity: tuple[int, int],
                  at_most: int) -> bytes:
    """At most ``at_most`` bytes of the file the walk checked, reached without a link."""
    opened: list[int] = []
    try:
        parent = root
        try:
            for name in parts[:-1]:
                parent = os.open(name, _DIR_FLAGS, dir_fd=parent)
                opened.append(parent)
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=parent)
            opened.append(fd)
        except OSError as exc:  # the walk opened the same names: something was swapped
            raise _Refused(f"{_shown(parts)} changed while it was being read "
                           f"({exc.strerror or exc}); grade again once the folder is "
                           "still") from None
        info = os.fstat(fd)
        _check_file(info, parts)
        if (info.st_dev, info.st_ino) != identity:
            raise _Refused(f"{_shown(parts)} changed while it was being read; grade again "
                           "once the folder is still")
        chunks = []
        while at_most > 0:
            chunk = os.read(fd, min(at_most, _MiB))
            if not chunk:
                break
            chunks.append(chunk)
            at_most -= len(chunk)
        return b"".join(chunks)
    finally:
        for fd in reversed(opened):
            os.close(fd)


def _zip_name_escapes(name: str) -> bool:
    """True when extracting ``name`` would write outside the extraction folder."""
    normal = name.replace("\\", "/")
    if normal.startswith("/") or re.match(r"^[A-Za-z]:", normal):
        return True
    return ".." in normal.split("/")


def _zip_parts(name: str) -> tuple[str, ...]:
    return tuple(p for p in name.replace("\\", "/").split("/") if p not in ("", "."))


def _read_zip(folder_fd: int, name: str, info: os.stat_result, student: str,
              modules: frozenset[str], known: list[Exercise], wanted: set[str],
              limits: IntakeLimits) -> list[Submission]:
    with _opened_zip(folder_fd, name, info, limits) as members:
        if members and all(len(m.parts) == 1 and canvas.parse_download_name(m.parts[0])
                           for m in members):  # Canvas's "Download Submissions" zip
            return _read_canvas_bundle(folder_fd, name, members, modules, known, wanted,
                                       limits)
        return [_assemble(student, name, members, known, wanted, limits)]


@contextmanager
def _opened_zip(folder_fd: int, name: str, info: os.stat_result,
                limits: IntakeLimits) -> Iterator[list[_Member]]:
    """The members of the zip ``name``, readable until the context ends; every check of
    the zip's claims happens before :class:`zipfile.ZipFile` parses its directory."""
    if info.st_nlink > 1:
        raise _Refused(f"is a hard link (one file with {info.st_nlink} names, maybe outside "
                       "the submissions); hand in a plain copy")
    with os.fdopen(os.open(name, _FILE_FLAGS, dir_fd=folder_fd), "rb") as handle:
        opened = os.fstat(handle.fileno())
        _check_file(opened, (name,))
        if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
            raise _Refused("changed while it was being read; grade again once it is still")
        claims = _directory_claims(handle, opened.st_size)
        if claims is None:
            raise _Refused("is not a readable zip file (it has no end of central directory); "
                           "zip the folder again")
        for entries, directory_bytes in claims:
            if entries > limits.entries:
                raise _Refused(f"holds more than {limits.entries} files (its directory "
                               f"claims {entries:,}); hand in only the exercises folder")
            if directory_bytes > limits.central_directory_bytes:
                raise _Refused(f"has a zip directory of {directory_bytes:,} bytes, more than "
                               f"the {limits.central_directory_bytes:,} allowed; hand in only "
                               "the exercises folder")
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, ValueError, NotImplementedError, EOFError) as exc:
            raise _Refused(f"is not a readable zip file ({exc}); zip the folder again") from None
        with archive:
            yield _zip_members(archive, limits)


def _zip_members(archive: zipfile.ZipFile, limits: IntakeLimits) -> list[_Member]:
    infos = archive.infolist()
    if len(infos) > limits.entries:
        raise _too_many(limits)
    seen: set[tuple[str, ...]] = set()
    members = []
    total = 0
    for info in infos:
        if _zip_name_escapes(info.filename):
            raise _Refused(f"rejected: the zip holds paths that point outside it "
                           f"({_shown(info.filename)}); zip the exercises folder again with "
                           "an ordinary tool")
        parts = _zip_parts(info.filename)
        if parts in seen:
            raise _Refused(f"rejected: the zip holds {_shown(parts)} twice; zip the exercises "
                           "folder again with an ordinary tool")
        seen.add(parts)
        mode = info.external_attr >> 16  # Unix tools store the type; others store none (0)
        folder = info.is_dir() or stat.S_ISDIR(mode)
        if not parts or any(p in IGNORED_FOLDERS for p in parts):
            continue  # never searched, so never read
        if len(parts) - (0 if folder else 1) > limits.depth:
            raise _too_deep(limits, parts)
        if stat.S_ISLNK(mode):
            raise _Refused(f"holds a symbolic link, {_shown(parts)}; links are never "
                           "followed: zip the files themselves")
        if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
            raise _Refused(f"holds {_kind(mode)}, {_shown(parts)}; hand in only ordinary "
                           "files and folders")
        if folder:
            continue
        total += info.file_size
        if total > limits.total_bytes:
            raise _too_big(limits)
        members.append(_Member(
            parts=parts, size=info.file_size,
            read=functools.partial(_read_zip_member, archive, info)))
    return members


def _read_zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, at_most: int) -> bytes:
    # Read at most ``at_most`` bytes whatever the header claims: a zip bomb lies.
    with archive.open(info) as handle:
        return handle.read(at_most)


# The zip's end records (APPNOTE 4.3.14-16), read here so their claims are checked
# before zipfile parses the central directory they describe.
_END = struct.Struct("<4s4H2LH")  # signature, disks, entries here, entries, size, offset, comment
_END_SIGNATURE = b"PK\x05\x06"
_ZIP64_LOCATOR = struct.Struct("<4sLQL")  # signature, disk, offset of the ZIP64 end, disks
_ZIP64_LOCATOR_SIGNATURE = b"PK\x06\x07"
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")  # ..., entries here, entries, size, offset
_ZIP64_END_SIGNATURE = b"PK\x06\x06"


def _directory_claims(handle: BinaryIO, size: int) -> list[tuple[int, int]] | None:
    """(entries, central directory bytes) as each end record zipfile may use states them.

    None when the file has no end record, which zipfile would reject too. The record is
    found as zipfile finds it: the last 22 bytes when they are one without a comment,
    else the last signature in the final 64 KiB. A ZIP64 record overrides it in zipfile;
    it is looked for both just before its locator (where zipfile 3.11-3.13 reads it) and
    where the locator points (where later versions do), and every claim found counts.
    """
    tail_start = max(size - (1 << 16) - _END.size, 0)
    handle.seek(tail_start)
    tail = handle.read()
    at = len(tail) - _END.size
    if not (at >= 0 and tail.startswith(_END_SIGNATURE, at) and tail.endswith(b"\0\0")):
        at = tail.rfind(_END_SIGNATURE)
        if at < 0 or at + _END.size > len(tail):
            return None
    _, _, _, here, total, directory_bytes, _, _ = _END.unpack_from(tail, at)
    zip64 = _zip64_claims(handle, tail_start + at, size)
    claims = list(zip64)
    # Without a ZIP64 record zipfile takes these as they are, the 0xFFFF and 0xFFFFFFFF
    # that mean "see the ZIP64 record" included; with one, only real values matter.
    if not zip64 or here != 0xFFFF:
        claims.append((here, 0))
    if not zip64 or total != 0xFFFF:
        claims.append((total, 0))
    if not zip64 or directory_bytes != 0xFFFFFFFF:
        claims.append((0, directory_bytes))
    return claims


def _zip64_claims(handle: BinaryIO, end_at: int, size: int) -> list[tuple[int, int]]:
    locator_at = end_at - _ZIP64_LOCATOR.size
    if locator_at < 0:
        return []
    handle.seek(locator_at)
    locator = handle.read(_ZIP64_LOCATOR.size)
    if len(locator) != _ZIP64_LOCATOR.size or not locator.startswith(_ZIP64_LOCATOR_SIGNATURE):
        return []
    pointed = _ZIP64_LOCATOR.unpack(locator)[2]
    claims = []
    for record_at in sorted({locator_at - _ZIP64_END.size, pointed}):
        if not 0 <= record_at <= size - _ZIP64_END.size:
            continue
        handle.seek(record_at)
        record = _ZIP64_END.unpack(handle.read(_ZIP64_END.size))
        if record[0] == _ZIP64_END_SIGNATURE:
            here, total, directory_bytes = record[6:9]
            claims.append((max(here, total), directory_bytes))
    return claims


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
        except _Refused:
            raise  # the file was swapped for a link or a pipe: the entry is refused
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
