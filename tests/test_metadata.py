"""Metadata loading refuses bad files with the file and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.course.metadata import FORMAT_VERSION, load_metadata
from grader.errors import MetadataError

GOOD = """
format_version = 1
title = "T"
module = "m.py"
concepts = ["await"]

[[checks]]
name = "a"
title = "A"
task = 1
points = 2

[[hints]]
task = 1
text = "h"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "exercise.toml"
    path.write_text(text)
    return path


def test_good_file_loads_into_frozen_data(tmp_path: Path) -> None:
    meta = load_metadata(write(tmp_path, GOOD))
    assert meta.module == "m.py" and meta.max_score == 2
    assert meta.checks[0].task == 1 and meta.hints[0].text == "h"
    with pytest.raises(AttributeError):
        meta.title = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (("format_version = 1", f"format_version = {FORMAT_VERSION + 1}"), "format_version"),
        (('title = "T"', ""), "title"),
        (('module = "m.py"', 'module = "m.txt"'), "module"),
        (('concepts = ["await"]', "concepts = []"), "concepts"),
        (("points = 2", 'points = "2"'), "checks[0].points"),
        (("points = 2", "points = 0"), "checks[0].points"),
        (('text = "h"', ""), "hints[0].text"),
        (('module = "m.py"', 'module = "m.py"\ntime_limit = "5"'), "time_limit"),
        (('module = "m.py"', 'module = "m.py"\ncpu_limit = 3.0'), "cpu_limit"),
        (('module = "m.py"', 'module = "m.py"\ncpu_limit = 0'), "cpu_limit"),
    ],
)
def test_bad_field_is_named(tmp_path: Path, change: tuple[str, str], field: str) -> None:
    path = write(tmp_path, GOOD.replace(*change))
    with pytest.raises(MetadataError) as info:
        load_metadata(path)
    assert f"field '{field}'" in info.value.message
    assert str(path) in info.value.message


def test_invalid_toml_is_named(tmp_path: Path) -> None:
    with pytest.raises(MetadataError, match="not valid TOML"):
        load_metadata(write(tmp_path, "title = ["))


def test_every_exercise_metadata_loads(course) -> None:  # type: ignore[no-untyped-def]
    for exercise in course.exercises:
        assert exercise.meta.checks, exercise.name


def test_missing_file_says_how_to_restore_it(tmp_path: Path) -> None:
    from grader.errors import GraderError

    with pytest.raises(GraderError, match=r"is missing.*Restore it"):
        load_metadata(tmp_path / "exercise.toml")


def test_requires_names_earlier_checks(tmp_path: Path) -> None:
    two = GOOD.replace('[[hints]]', '[[checks]]\nname = "b"\ntitle = "B"\ntask = 1\npoints = 1\n'
                       'requires = ["a"]\n\n[[hints]]')
    assert load_metadata(write(tmp_path, two)).checks[1].requires == ("a",)
    backwards = two.replace('requires = ["a"]', 'requires = ["b"]')
    with pytest.raises(MetadataError, match=r"checks\[1\]\.requires"):
        load_metadata(write(tmp_path, backwards))


def test_screen_policy_is_the_course_default_without_a_table(tmp_path: Path) -> None:
    from grader.course.metadata import DEFAULT_SCREEN_POLICY

    assert load_metadata(write(tmp_path, GOOD)).screen == DEFAULT_SCREEN_POLICY


def test_screen_table_adds_modules_and_capabilities(tmp_path: Path) -> None:
    from grader.course.metadata import DEFAULT_ALLOWED_IMPORTS

    text = GOOD.replace("[[checks]]", '[screen]\nallow_imports = ["inspect"]\n'
                                      'allow = ["processes"]\n\n[[checks]]', 1)
    screen = load_metadata(write(tmp_path, text)).screen
    assert screen.allow_imports == DEFAULT_ALLOWED_IMPORTS | {"inspect"}
    assert screen.allow == {"processes"}
    assert screen.allows_module("multiprocessing") and screen.allows_module("asyncio")
    assert not screen.allows_module("gc")


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ("screen = 3", "screen"),
        ('[screen]\nallow = "processes"', "screen.allow"),
        ('[screen]\nallow = ["procesess"]', "screen.allow"),
        ("[screen]\nallow_imports = [3]", "screen.allow_imports"),
        ('[screen]\nallow_imports = ["os; rm"]', "screen.allow_imports"),
        ('[screen]\nallow_import = ["inspect"]', "screen.allow_import"),
    ],
)
def test_bad_screen_field_is_named(tmp_path: Path, table: str, field: str) -> None:
    text = GOOD.replace("[[checks]]", f"{table}\n\n[[checks]]", 1)
    with pytest.raises(MetadataError) as info:
        load_metadata(write(tmp_path, text))
    assert f"field '{field}'" in info.value.message


def test_exercises_widen_the_screen_only_where_they_teach_it(course) -> None:  # type: ignore[no-untyped-def]
    from grader.course.metadata import DEFAULT_SCREEN_POLICY

    widened = {e.name[:11]: e.meta.screen for e in course.exercises
               if e.meta.screen != DEFAULT_SCREEN_POLICY}
    assert set(widened) == {"exercise-01", "exercise-12", "exercise-17"}
    assert widened["exercise-01"].allows_module("inspect")
    assert widened["exercise-12"].allow == {"processes"}
    assert widened["exercise-17"].allow == {"generator-internals"}
    for exercise in course.exercises:
        assert exercise.meta.screen.stub == exercise.stub_file
        assert exercise.meta.screen.suite == exercise.suite_file
