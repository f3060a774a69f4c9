"""Reading a class's submissions: layouts, zips, and everything a student might hand in."""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
from pathlib import Path

import pytest

from grader.bulk.intake import IntakeLimits, Submission, read_submissions
from grader.course import Course, Exercise
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
    assert "not a folder or a .zip" in found["report.pdf"].problems[0]
    assert found["ok"].problems == () and list(found["ok"].modules) == [EX03]


def test_symlinked_module_is_not_followed(tmp_path: Path, exercise03: Exercise) -> None:
    subs = tmp_path / "subs"
    (subs / "sly").mkdir(parents=True)
    os.symlink(SOLUTION, subs / "sly" / "fetcher.py")
    link = zipfile.ZipInfo("fetcher.py")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(subs / "slier.zip", "w") as archive:
        archive.writestr(link, str(SOLUTION))

    found = _read(subs, exercise03)

    for student in ("sly", "slier"):
        assert found[student].modules == {}
        assert any("not a regular file" in f for f in found[student].flags)


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
