"""Reading a class's submissions: layouts, zips, and everything a student might hand in."""

from __future__ import annotations

import io
import os
import shutil
import stat
import struct
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest

from grader.bulk import intake
from grader.bulk.intake import (
    MAX_DEPTH,
    MAX_ENTRIES,
    MAX_FOLDERS,
    MAX_TOTAL_BYTES,
    IntakeLimits,
    Submission,
    read_submissions,
)
from grader.course.course import Course, Exercise
from helpers import FIXTURES, REPO

EX03 = "exercise-03-concurrent-fetch"
SOLUTION = REPO / "solutions" / EX03 / "fetcher.py"
WRONG = FIXTURES / "exercises" / EX03 / "wrong"


def _read(folder: Path, exercise03: Exercise, **kwargs: object) -> dict[str, Submission]:
    found = read_submissions(folder, [exercise03], course_exercises=[exercise03], **kwargs)
    return {s.student: s for s in found}


def _put(path: Path, source: Path | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(source if isinstance(source, bytes) else source.read_bytes())


def _zip(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def test_course_layout_flat_and_wrapped_zip_are_all_found(tmp_path: Path,
                                                          exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _put(subs / "alice" / "exercises" / EX03 / "fetcher.py", SOLUTION)
    _put(subs / "bob" / "fetcher.py", WRONG / "time_sleep.py")
    _zip(subs / "carol.zip", {f"carol-work/exercises/{EX03}/fetcher.py": SOLUTION.read_bytes()})
    _zip(subs / "dan.zip", {"fetcher.py": b"x = 1\n"})

    found = _read(subs, exercise03)

    assert sorted(found) == ["alice", "bob", "carol", "dan"]
    for student in found.values():
        assert student.problems == ()
        assert list(student.modules) == [EX03]
    assert found["alice"].modules[EX03].origin == f"alice/exercises/{EX03}/fetcher.py"
    assert found["bob"].modules[EX03].content == (WRONG / "time_sleep.py").read_bytes()
    carol = found["carol"].modules[EX03]
    assert carol.origin == f"carol.zip/carol-work/exercises/{EX03}/fetcher.py"
    assert found["dan"].modules[EX03].content == b"x = 1\n"


def test_conftest_and_test_files_are_ignored_and_flagged(tmp_path: Path,
                                                         exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _put(subs / "eve" / "fetcher.py", SOLUTION)
    _put(subs / "eve" / "conftest.py", b"import pytest\n")
    _put(subs / "eve" / "exercises" / EX03 / ".meta" / "test_fetcher.py", b"def test(): pass\n")
    _put(subs / "eve" / "evil.pth", b"import os\n")
    _zip(subs / "zed.zip", {"fetcher.py": SOLUTION.read_bytes(), "conftest.py": b"x = 1\n"})

    found = _read(subs, exercise03)

    eve = found["eve"]
    assert list(eve.modules) == [EX03]
    assert eve.modules[EX03].content == SOLUTION.read_bytes()
    flags = " | ".join(eve.flags)
    assert "conftest.py" in flags and "instructor's copy" in flags
    assert f"exercises/{EX03}/.meta/test_fetcher.py" in flags
    assert "evil.pth" in flags
    assert any("conftest.py" in f for f in found["zed"].flags)


@pytest.mark.parametrize("name", [
    "../../outside/fetcher.py",
    "/etc/fetcher.py",
    "work/../../fetcher.py",
    "..\\..\\fetcher.py",
    "C:/Windows/fetcher.py",
])
def test_zip_with_path_traversal_is_rejected_whole(tmp_path: Path, exercise03: Exercise,
                                                   name: str) -> None:
    subs = tmp_path / "subs"
    _zip(subs / "mallory.zip", {"fetcher.py": SOLUTION.read_bytes(), name: b"x = 1\n"})

    mallory = _read(subs, exercise03)["mallory"]

    assert mallory.modules == {}
    assert "outside it" in mallory.problems[0]
    assert not (tmp_path / "outside").exists()


def test_malformed_entries_are_reported_and_the_rest_still_read(tmp_path: Path,
                                                               exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    (subs / "empty-folder").mkdir(parents=True)
    _zip(subs / "empty-zip.zip", {})
    (subs / "garbage.zip").write_bytes(b"this is not a zip")
    _put(subs / "no-module" / "notes.txt", b"I did my best\n")
    (subs / "report.pdf").write_bytes(b"%PDF")
    (subs / ".DS_Store").write_bytes(b"\0")
    _put(subs / "ok" / "fetcher.py", SOLUTION)

    found = _read(subs, exercise03)

    assert ".DS_Store" not in found
    assert found["empty-folder"].problems == ("is empty",)
    assert found["empty-zip"].problems == ("is empty",)
    assert "not a readable zip" in found["garbage"].problems[0]
    assert "no module" in found["no-module"].problems[0]
    assert "fetcher.py" in found["no-module"].problems[0]
    assert "report.pdf" not in found  # a stray file is nobody's entry: a class-level note
    assert intake.read_class(subs, [exercise03]).notes == (
        "ignored: report.pdf is not a Python file or a student folder",)
    assert found["ok"].problems == () and list(found["ok"].modules) == [EX03]


def test_oversized_module_is_rejected_for_that_exercise(tmp_path: Path,
                                                       exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _put(subs / "big" / "fetcher.py", b"#" * 5000)
    # Highly compressible: the zip is tiny, its member is not.
    _zip(subs / "bomb.zip", {"fetcher.py": b"#" * 5000})

    found = _read(subs, exercise03, limits=IntakeLimits(module_bytes=1000))

    for student in ("big", "bomb"):
        assert found[student].modules == {}
        assert "larger than 1000 bytes" in found[student].rejected[EX03]


def test_two_entries_for_one_student_are_both_refused(tmp_path: Path,
                                                     exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _put(subs / "alice" / "fetcher.py", SOLUTION)
    _zip(subs / "alice.zip", {"fetcher.py": SOLUTION.read_bytes()})

    found = read_submissions(subs, [exercise03], course_exercises=[exercise03])

    assert len(found) == 1
    assert found[0].modules == {}
    assert "two entries" in found[0].problems[0]


def test_course_layout_wins_over_a_stray_copy_and_tool_folders_are_skipped(
        tmp_path: Path, exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _put(subs / "kim" / "fetcher.py", b"# an old draft\n")
    _put(subs / "kim" / "exercises" / EX03 / "fetcher.py", SOLUTION)
    _put(subs / "kim" / ".venv" / "lib" / "site-packages" / "fetcher.py", b"# not hers\n")
    _put(subs / "kim" / ".venv" / "lib" / "conftest.py", b"# a library's\n")

    kim = _read(subs, exercise03)["kim"]

    assert kim.modules[EX03].content == SOLUTION.read_bytes()
    assert kim.flags == (f"also found fetcher.py; graded exercises/{EX03}/fetcher.py for {EX03}",)


def test_a_file_name_shared_by_two_exercises_needs_the_course_layout(tmp_path: Path) -> None:
    course_root = tmp_path / "course"
    for folder in (EX03, "exercise-09-fetch-again"):
        shutil.copytree(REPO / "exercises" / EX03, course_root / "exercises" / folder)
    course = Course(course_root)
    first, second = course.exercises
    subs = tmp_path / "subs"
    _put(subs / "flat" / "fetcher.py", SOLUTION)
    _put(subs / "laid-out" / "exercise-09-fetch-again" / "fetcher.py", SOLUTION)

    found = {s.student: s for s in read_submissions(subs, [first, second])}

    assert found["flat"].modules == {}
    assert "several exercises" in found["flat"].flags[0]
    assert list(found["laid-out"].modules) == [second.name]


# -- hostile entries: each is refused with one line, and the class around it is unchanged --

HONEST = ("alice", "bob", "carol")


def _honest_class(subs: Path) -> None:
    """Three ordinary students: course layout, flat file, zip with a wrapping folder."""
    _put(subs / "alice" / "exercises" / EX03 / "fetcher.py", SOLUTION)
    _put(subs / "bob" / "fetcher.py", WRONG / "time_sleep.py")
    _zip(subs / "carol.zip", {f"carol-work/exercises/{EX03}/fetcher.py": SOLUTION.read_bytes()})


@pytest.fixture
def honest(tmp_path: Path, exercise03: Exercise) -> dict[str, Submission]:
    """What the honest students' entries give when nobody else is in the folder."""
    alone = tmp_path / "alone"
    _honest_class(alone)
    found = _read(alone, exercise03)
    assert all(found[s].problems == () and list(found[s].modules) == [EX03] for s in HONEST)
    return found


def _refused(found: dict[str, Submission], student: str, *words: str) -> str:
    """The one reason ``student`` was refused, checked to name ``words``."""
    submission = found[student]
    assert submission.modules == {} and len(submission.problems) == 1, submission
    reason = submission.problems[0]
    assert "\n" not in reason
    for word in words:
        assert word in reason, reason
    return reason


def _assert_unchanged(found: dict[str, Submission], honest: dict[str, Submission]) -> None:
    for student in HONEST:
        assert found[student] == honest[student]


def _outside(tmp_path: Path) -> Path:
    """A copy of the course's reference solution, outside the submissions folder."""
    target = tmp_path / "course" / "solutions" / EX03 / "fetcher.py"
    _put(target, SOLUTION)
    return target


def test_ordinary_entries_are_read_as_before(honest: dict[str, Submission]) -> None:
    assert honest["alice"].modules[EX03].origin == f"alice/exercises/{EX03}/fetcher.py"
    assert honest["alice"].modules[EX03].content == SOLUTION.read_bytes()
    assert honest["bob"].modules[EX03].origin == "bob/fetcher.py"
    assert honest["bob"].modules[EX03].content == (WRONG / "time_sleep.py").read_bytes()
    carol = honest["carol"].modules[EX03]
    assert carol.origin == f"carol.zip/carol-work/exercises/{EX03}/fetcher.py"
    assert carol.content == SOLUTION.read_bytes()
    assert all(honest[s].flags == () and honest[s].rejected == {} for s in HONEST)


def test_an_entry_that_is_a_symlink_is_refused(tmp_path: Path, exercise03: Exercise,
                                               honest: dict[str, Submission]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    solution = _outside(tmp_path)
    _zip(tmp_path / "course" / "solutions.zip", {"fetcher.py": SOLUTION.read_bytes()})
    os.symlink(tmp_path / "course" / "solutions.zip", subs / "mallory.zip")
    os.symlink(solution.parent, subs / "mel")  # to a folder outside
    os.symlink(subs / "alice", subs / "mimic")  # to another student's folder
    os.symlink("loop", subs / "loop")  # to itself

    found = _read(subs, exercise03)

    assert sorted(found) == ["alice", "bob", "carol", "loop", "mallory", "mel", "mimic"]
    assert "solutions.zip" in _refused(found, "mallory", "is a symbolic link",
                                       "never followed")
    for student in ("mel", "mimic", "loop"):
        _refused(found, student, "is a symbolic link")
    _assert_unchanged(found, honest)


@pytest.mark.parametrize("layout", ["module", "folder", "loop", "dangling", "elsewhere"])
def test_a_symlink_inside_a_folder_refuses_the_entry(tmp_path: Path, exercise03: Exercise,
                                                     honest: dict[str, Submission],
                                                     layout: str) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    solution = _outside(tmp_path)
    sly = subs / "sly"
    _put(sly / "README.md", b"my work\n")
    if layout == "module":  # the module itself links to the reference solution
        (sly / "exercises" / EX03).mkdir(parents=True)
        os.symlink(solution, sly / "exercises" / EX03 / "fetcher.py")
    elif layout == "folder":  # a folder links to the course's solutions
        os.symlink(solution.parent.parent, sly / "exercises")
    elif layout == "loop":
        os.symlink("b", sly / "a")
        os.symlink("a", sly / "b")
    elif layout == "dangling":
        os.symlink("/nonexistent/fetcher.py", sly / "notes.txt")
    else:  # a link that is no module, beside an honest module
        _put(sly / "fetcher.py", WRONG / "time_sleep.py")
        os.symlink("/etc/passwd", sly / "data.txt")

    found = _read(subs, exercise03)

    _refused(found, "sly", "holds a symbolic link", "never followed")
    _assert_unchanged(found, honest)


def test_a_hard_link_to_a_file_outside_is_refused(tmp_path: Path, exercise03: Exercise,
                                                  honest: dict[str, Submission]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    solution = _outside(tmp_path)
    (subs / "harry" / "exercises" / EX03).mkdir(parents=True)
    os.link(solution, subs / "harry" / "exercises" / EX03 / "fetcher.py")
    _zip(tmp_path / "course" / "solutions.zip", {"fetcher.py": SOLUTION.read_bytes()})
    os.link(tmp_path / "course" / "solutions.zip", subs / "hermione.zip")

    found = _read(subs, exercise03)

    assert f"exercises/{EX03}/fetcher.py" in _refused(found, "harry", "holds a hard link",
                                                      "2 names")
    _refused(found, "hermione", "is a hard link")
    _assert_unchanged(found, honest)


@pytest.mark.timeout(10)  # opening a named pipe for reading would block for ever
def test_named_pipes_and_sockets_are_refused_without_blocking(
        tmp_path: Path, exercise03: Exercise, honest: dict[str, Submission]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    os.mkfifo(subs / "pipe.zip")
    os.mkfifo(subs / "piper")
    (subs / "pippa" / "exercises" / EX03).mkdir(parents=True)
    os.mkfifo(subs / "pippa" / "exercises" / EX03 / "fetcher.py")
    (subs / "sockeye").mkdir()
    os.mknod(subs / "sockeye" / "fetcher.py", 0o600 | stat.S_IFSOCK)

    found = _read(subs, exercise03)

    _refused(found, "pipe", "is a named pipe", "not a folder or a .zip")
    _refused(found, "piper", "is a named pipe")
    _refused(found, "pippa", "holds a named pipe", f"exercises/{EX03}/fetcher.py")
    _refused(found, "sockeye", "holds a socket")
    _assert_unchanged(found, honest)


def test_links_inside_folders_never_searched_do_not_count(tmp_path: Path,
                                                          exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _put(subs / "vera" / "fetcher.py", SOLUTION)
    (subs / "vera" / ".venv" / "bin").mkdir(parents=True)
    os.symlink("/usr/bin/python3", subs / "vera" / ".venv" / "bin" / "python")
    os.mkfifo(subs / "vera" / ".venv" / "bin" / "pipe")
    os.symlink("/elsewhere/node_modules", subs / "vera" / "node_modules")
    link = zipfile.ZipInfo("vic/.venv/bin/python")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(subs / "vic.zip", "w") as archive:
        archive.writestr("vic/fetcher.py", SOLUTION.read_bytes())
        archive.writestr(link, "/usr/bin/python3")

    found = _read(subs, exercise03)

    for student in ("vera", "vic"):
        assert found[student].problems == ()
        assert found[student].modules[EX03].content == SOLUTION.read_bytes()


class _CountedScandir:
    """Stands in for os.scandir, counting the listings opened and the names they yielded."""

    def __init__(self) -> None:
        self.real = os.scandir
        self.listings = 0
        self.names = 0

    @contextmanager
    def __call__(self, fd: int) -> Iterator[Iterator[os.DirEntry[str]]]:
        self.listings += 1
        with self.real(fd) as listing:
            yield self._counted(listing)

    def _counted(self, listing: Iterator[os.DirEntry[str]]) -> Iterator[os.DirEntry[str]]:
        for item in listing:
            self.names += 1
            yield item


def test_fifty_thousand_folders_are_refused_after_the_cap(
        tmp_path: Path, exercise03: Exercise, honest: dict[str, Submission],
        monkeypatch: pytest.MonkeyPatch) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    wide = subs / "wanda"
    wide.mkdir()
    for outer in range(250):  # 250 folders of 200 empty folders: 50,250 folders
        os.mkdir(f"{wide}/d{outer:03}")
        for inner in range(200):
            os.mkdir(f"{wide}/d{outer:03}/e{inner:03}")
    counted = _CountedScandir()
    monkeypatch.setattr(os, "scandir", counted)

    found = _read(subs, exercise03)

    _refused(found, "wanda", f"more than {MAX_FOLDERS} folders")
    _assert_unchanged(found, honest)
    # Her walk stopped at the cap: she got her top listing and at most MAX_FOLDERS more,
    # not 50,251, each opened only after being counted. The rest are the class folder's
    # listing (1) and the honest students' folders (alice's 3, bob's 1).
    assert counted.listings - 5 <= 1 + MAX_FOLDERS
    assert counted.names < 250 + 10 * 200


def test_an_entry_over_the_files_and_folders_cap_is_refused(
        tmp_path: Path, exercise03: Exercise, monkeypatch: pytest.MonkeyPatch) -> None:
    subs = tmp_path / "subs"
    _put(subs / "fiona" / "fetcher.py", SOLUTION)
    for index in range(300):
        (subs / "fiona" / f"note{index}.txt").touch()
    _zip(subs / "zoe.zip", {f"note{index}.txt": b"" for index in range(300)})
    counted = _CountedScandir()
    monkeypatch.setattr(os, "scandir", counted)

    found = _read(subs, exercise03, limits=IntakeLimits(entries=100))

    _refused(found, "fiona", "more than 100 files and folders")
    _refused(found, "zoe", "more than 100 files")
    assert counted.names == 2 + 101  # the class folder's two entries, then fiona's cap


def test_a_deep_chain_of_folders_is_refused(tmp_path: Path, exercise03: Exercise,
                                            honest: dict[str, Submission]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    deep = subs / "dora"
    deep = deep.joinpath(*["d"] * (MAX_DEPTH + 1))
    _put(deep / "fetcher.py", SOLUTION)
    _zip(subs / "dirk.zip", {"/".join(["d"] * (MAX_DEPTH + 1) + ["fetcher.py"]): b"x = 1\n"})

    found = _read(subs, exercise03)

    _refused(found, "dora", f"nested more than {MAX_DEPTH} deep")
    _refused(found, "dirk", f"nested more than {MAX_DEPTH} deep")
    _assert_unchanged(found, honest)


def test_an_entry_over_the_total_size_is_refused(tmp_path: Path, exercise03: Exercise,
                                                 honest: dict[str, Submission]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    _put(subs / "hugo" / "fetcher.py", SOLUTION)
    with open(subs / "hugo" / "video.mp4", "wb") as sparse:  # costs no disk
        sparse.truncate(MAX_TOTAL_BYTES + 1)

    found = _read(subs, exercise03)

    _refused(found, "hugo", f"more than {MAX_TOTAL_BYTES // 2**20} MiB")
    _assert_unchanged(found, honest)


def test_a_zip_declaring_more_than_the_total_size_is_refused(tmp_path: Path,
                                                            exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    _zip(subs / "bomb.zip", {"fetcher.py": SOLUTION.read_bytes(), "data.bin": b"\0" * 5000})
    _zip(subs / "fine.zip", {"fetcher.py": SOLUTION.read_bytes()})

    found = _read(subs, exercise03, limits=IntakeLimits(total_bytes=4000))

    _refused(found, "bomb", "MiB of files")
    assert found["fine"].problems == ()


# -- zips whose end record lies ----------------------------------------------------------

_END = struct.Struct("<4s4H2LH")
_ZIP64_END = struct.Struct("<4sQ2H2L4Q")
_ZIP64_LOCATOR = struct.Struct("<4sLQL")


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _claiming(data: bytes, *, entries: int | None = None, directory_bytes: int | None = None,
              zip64: bool = False) -> bytes:
    """``data`` (a zip without a comment) with its end record claiming other counts.

    With ``zip64``, a ZIP64 end record and locator are put before the end record, which
    then holds the "see ZIP64" markers, as a tool writing a huge archive would.
    """
    body, end = data[:-_END.size], data[-_END.size:]
    sig, disk, start, _, total, size, offset, comment = _END.unpack(end)
    entries = total if entries is None else entries
    directory_bytes = size if directory_bytes is None else directory_bytes
    if not zip64:
        return body + _END.pack(sig, disk, start, entries, entries, directory_bytes, offset,
                                comment)
    record_at = len(body)
    record = _ZIP64_END.pack(b"PK\x06\x06", _ZIP64_END.size - 12, 45, 45, 0, 0, entries,
                             entries, directory_bytes, offset)
    locator = _ZIP64_LOCATOR.pack(b"PK\x06\x07", 0, record_at, 1)
    return (body + record + locator
            + _END.pack(sig, disk, start, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, comment))


def test_a_zip_claiming_millions_of_entries_is_refused_before_it_is_parsed(
        tmp_path: Path, exercise03: Exercise, honest: dict[str, Submission],
        monkeypatch: pytest.MonkeyPatch) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    small = _zip_bytes({"fetcher.py": SOLUTION.read_bytes()})
    (subs / "zip64-millions.zip").write_bytes(_claiming(small, entries=5_000_000, zip64=True))
    (subs / "zip64-huge-directory.zip").write_bytes(
        _claiming(small, directory_bytes=2**40, zip64=True))
    (subs / "many.zip").write_bytes(_claiming(small, entries=65_535))
    (subs / "big-directory.zip").write_bytes(_claiming(small, directory_bytes=2**32 - 2))
    comment = _zip_bytes({"fetcher.py": SOLUTION.read_bytes()})  # the record is found
    (subs / "commented.zip").write_bytes(  # behind a comment too
        _claiming(comment, entries=65_535)[:-2] + struct.pack("<H", 5) + b"hello")
    parsed = []
    real = zipfile.ZipFile
    monkeypatch.setattr(zipfile, "ZipFile", lambda *a: parsed.append(a) or real(*a))

    found = _read(subs, exercise03)

    assert "5,000,000" in _refused(found, "zip64-millions", f"more than {MAX_ENTRIES} files")
    _refused(found, "many", f"more than {MAX_ENTRIES} files", "65,535")
    _refused(found, "commented", f"more than {MAX_ENTRIES} files", "65,535")
    _refused(found, "zip64-huge-directory", "zip directory of 1,099,511,627,776 bytes")
    _refused(found, "big-directory", "zip directory of")
    assert len(parsed) == 1  # carol's zip only
    _assert_unchanged(found, honest)


def test_an_honest_zip64_end_record_is_read(tmp_path: Path, exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    data = _zip_bytes({"zed/fetcher.py": SOLUTION.read_bytes()})
    (subs).mkdir()
    (subs / "zed.zip").write_bytes(_claiming(data, zip64=True))

    zed = _read(subs, exercise03)["zed"]

    assert zed.problems == ()
    assert zed.modules[EX03].content == SOLUTION.read_bytes()


def test_a_zip_understating_its_entries_is_still_counted(tmp_path: Path,
                                                        exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    subs.mkdir()
    many = _zip_bytes({f"f{i}.txt": b"" for i in range(11)} | {"fetcher.py": b"x = 1\n"})
    (subs / "liar.zip").write_bytes(_claiming(many, entries=1))

    found = _read(subs, exercise03, limits=IntakeLimits(entries=10))

    _refused(found, "liar", "more than 10 files and folders")


@pytest.mark.parametrize(("kind", "words"), [
    (stat.S_IFLNK, ("holds a symbolic link", "never followed")),
    (stat.S_IFIFO, ("holds a named pipe",)),
    (stat.S_IFCHR, ("holds a device",)),
])
def test_a_zip_with_a_link_or_special_member_is_refused(tmp_path: Path, exercise03: Exercise,
                                                        honest: dict[str, Submission],
                                                        kind: int, words: tuple[str]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    link = zipfile.ZipInfo(f"exercises/{EX03}/fetcher.py")
    link.external_attr = (kind | 0o777) << 16
    with zipfile.ZipFile(subs / "slier.zip", "w") as archive:
        archive.writestr("README.md", b"my work\n")
        archive.writestr(link, str(SOLUTION))

    found = _read(subs, exercise03)

    _refused(found, "slier", *words, f"exercises/{EX03}/fetcher.py")
    _assert_unchanged(found, honest)


@pytest.mark.parametrize("names", [
    ("fetcher.py", "fetcher.py"),
    ("work/fetcher.py", "work//fetcher.py"),
    ("work/fetcher.py", "./work\\fetcher.py"),
])
def test_a_zip_naming_one_path_twice_is_refused(tmp_path: Path, exercise03: Exercise,
                                                honest: dict[str, Submission],
                                                names: tuple[str, str]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    same = names[0] == names[1]
    warned = pytest.warns(UserWarning, match="Duplicate name") if same else nullcontext()
    with warned, zipfile.ZipFile(subs / "dupont.zip", "w") as archive:
        archive.writestr(names[0], b"x = 1\n")
        archive.writestr(names[1], SOLUTION.read_bytes())

    found = _read(subs, exercise03)

    _refused(found, "dupont", "twice")
    _assert_unchanged(found, honest)


def test_zip_with_dotdot_names_leaves_the_class_unchanged(tmp_path: Path, exercise03: Exercise,
                                                          honest: dict[str, Submission]) -> None:
    subs = tmp_path / "subs"
    _honest_class(subs)
    _zip(subs / "mallory.zip", {"fetcher.py": SOLUTION.read_bytes(),
                                "../alice/exercises/fetcher.py": b"x = 1\n"})

    found = _read(subs, exercise03)

    _refused(found, "mallory", "paths that point outside it", "'../alice")
    _assert_unchanged(found, honest)


def test_a_module_swapped_for_a_link_after_the_walk_is_not_read(
        tmp_path: Path, exercise03: Exercise, monkeypatch: pytest.MonkeyPatch) -> None:
    subs = tmp_path / "subs"
    module = subs / "tom" / "fetcher.py"
    _put(module, b"x = 1\n")
    solution = _outside(tmp_path)
    real = intake._assemble

    def swap_then_assemble(*args: object, **kwargs: object) -> Submission:
        module.unlink()
        os.symlink(solution, module)
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(intake, "_assemble", swap_then_assemble)

    found = _read(subs, exercise03)

    _refused(found, "tom", "'fetcher.py' changed while it was being read")
