"""Finding the course (course.toml, --course, $GRADER_COURSE) and resolving exercise names."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.course.course import (
    COURSE_ENV,
    Course,
    CourseInfo,
    NoCourseError,
    course_line,
    find_course,
    load_course_info,
)
from grader.errors import GraderError, MetadataError, UnknownExerciseError
from helpers import REPO

EX03 = "exercise-03-concurrent-fetch"


@pytest.mark.parametrize("typed", ["exercise-03", "03", "3", "ex3", "concurrent-fetch",
                                   "exercise-03-concurrent-fetch", "EXERCISE-03",
                                   "exercises/exercise-03-concurrent-fetch/"])
def test_names_for_the_same_exercise(course: Course, typed: str) -> None:
    assert course.resolve(typed).number == 3


def test_unknown_name_suggests_the_closest(course: Course) -> None:
    with pytest.raises(UnknownExerciseError) as info:
        course.resolve("concurent-fetch")
    assert "concurrent-fetch" in info.value.message


def test_exercises_are_numbered_and_sorted(course: Course) -> None:
    numbers = [e.number for e in course.exercises]
    assert numbers == sorted(numbers)
    assert len(set(numbers)) == len(numbers)


# -- finding the course: course.toml, --course, $GRADER_COURSE, nothing else -------------

MARKER_TEXT = 'format_version = 1\ntitle = "A test course"\nkind = "instructor"\n'


def _course_folder(root: Path, marker: str | None = MARKER_TEXT) -> Path:
    """A course with exercise 03 only, and no solutions/ (a release has none)."""
    shutil.copytree(REPO / "exercises" / EX03, root / "exercises" / EX03)
    if marker is not None:
        (root / "course.toml").write_text(marker)
    return root


@pytest.fixture
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(COURSE_ENV, raising=False)


def test_found_by_its_marker_from_any_folder_below(tmp_path: Path, no_env: None) -> None:
    root = _course_folder(tmp_path / "course")
    found = find_course(root / "exercises" / EX03 / ".meta")
    assert found.root == root.resolve()
    assert not (root / "solutions").exists()
    assert found.resolve("3").name == EX03


def test_exercises_and_solutions_without_marker_are_not_a_course(tmp_path: Path,
                                                                 no_env: None) -> None:
    """The old rule (exercises/ and solutions/) no longer picks a folder, nor does the
    checkout the grader is installed from stand in for a missing course."""
    root = _course_folder(tmp_path / "old", marker=None)
    (root / "solutions").mkdir()
    with pytest.raises(NoCourseError) as info:
        find_course(root / "exercises")
    message = info.value.message
    assert "course.toml" in message and "--course PATH" in message
    assert "\n" not in message


def test_nearest_marker_wins_for_nested_checkouts(tmp_path: Path, no_env: None) -> None:
    outer = _course_folder(tmp_path / "outer")
    inner = _course_folder(outer / "copies" / "inner")
    assert find_course(inner / "exercises").root == inner.resolve()
    assert find_course(outer / "copies").root == outer.resolve()


def test_explicit_course_beats_the_variable_which_beats_the_cwd(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here = _course_folder(tmp_path / "here")
    env = _course_folder(tmp_path / "env")
    option = _course_folder(tmp_path / "option")
    monkeypatch.setenv(COURSE_ENV, str(env))
    assert find_course(here).root == env.resolve()
    assert find_course(here).found_by == f"${COURSE_ENV}"
    chosen = find_course(here, explicit=option)
    assert chosen.root == option.resolve() and chosen.found_by == "--course"


def test_explicit_path_must_be_a_course(tmp_path: Path, no_env: None) -> None:
    with pytest.raises(NoCourseError, match=r"--course PATH: .* is not a course"):
        find_course(explicit=tmp_path)
    unmarked = _course_folder(tmp_path / "unmarked", marker=None)
    assert find_course(explicit=unmarked).info == CourseInfo()  # an instructor's copy


@pytest.mark.parametrize(("marker", "field"), [
    ('title = "x"\nkind = "instructor"\n', "format_version"),
    ('format_version = 1\nkind = "instructor"\n', "title"),
    ('format_version = 1\ntitle = "x"\nkind = "teacher"\n', "kind"),
    ('format_version = 1\ntitle = "x"\nname = "Has Spaces"\nkind = "release"\n', "name"),
    ('format_version = 1\ntitle = "x"\nkind = "release"\n[release]\nunlock_solutions = 1\n',
     "release.unlock_solutions"),
])
def test_bad_marker_names_file_and_field(tmp_path: Path, marker: str, field: str) -> None:
    (tmp_path / "course.toml").write_text(marker)
    with pytest.raises(MetadataError) as info:
        load_course_info(tmp_path / "course.toml")
    assert f"field '{field}'" in info.value.message and "course.toml" in info.value.message


def test_newer_marker_is_refused_not_half_read(tmp_path: Path) -> None:
    (tmp_path / "course.toml").write_text('format_version = 99\ntitle = "x"\nkind = "x"\n')
    with pytest.raises(GraderError, match="newer than this grader reads"):
        load_course_info(tmp_path / "course.toml")


def test_this_repository_is_an_instructors_course() -> None:
    info = load_course_info(REPO / "course.toml")
    assert info.kind == "instructor" and not info.is_release and info.name == "async-course"


def test_course_line_names_path_kind_and_how_it_was_chosen(tmp_path: Path,
                                                           no_env: None) -> None:
    root = _course_folder(tmp_path / "course")
    line = course_line(find_course(root))
    assert line == f"Course: {root.resolve()} (A test course, instructor's copy)"
    (root / "course.toml").write_text(MARKER_TEXT.replace("instructor", "release"))
    line = course_line(find_course(explicit=root))
    assert "student copy, chosen by --course" in line


def test_cli_without_a_course_says_how_to_fix_it(tmp_path: Path, no_env: None,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(main, ["3"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "No course here" in lines[0] and "--course" in lines[0]


def test_cli_grades_the_course_around_the_cwd_and_names_it(
        tmp_path: Path, no_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _course_folder(tmp_path / "mine")
    marker_line = "# this copy is mine\n"
    (root / "exercises" / EX03 / "fetcher.py").write_text(
        (REPO / "solutions" / EX03 / "fetcher.py").read_text() + marker_line)
    monkeypatch.chdir(root / "exercises")
    monkeypatch.setattr("grader.cli._stderr_is_terminal", lambda: True)
    result = CliRunner().invoke(main, ["3", "--json", "--db", str(tmp_path / "p.db")])
    assert result.exit_code == 0, result.output
    assert result.stderr.strip() == f"Course: {root.resolve()} (A test course, " \
                                    "instructor's copy)"
    assert json.loads(result.stdout)["graded_file"].endswith("fetcher.py")
    other = _course_folder(tmp_path / "other")
    chosen = CliRunner().invoke(main, ["--course", str(other), "3", "--db",
                                       str(tmp_path / "q.db")])
    assert chosen.exit_code == 1  # the other checkout's untouched stub
    assert f"Course: {other.resolve()}" in chosen.stderr and "--course" in chosen.stderr
