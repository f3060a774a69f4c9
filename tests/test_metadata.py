"""Metadata loading refuses bad files with the file and field named."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import MetadataError
from grader.metadata import FORMAT_VERSION, load_metadata

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
