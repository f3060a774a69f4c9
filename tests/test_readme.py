"""The README's course overview and commands stay true."""

from __future__ import annotations

import subprocess

from grader.course.course import Course
from grader.platform_check import NEWEST_TESTED, OLDEST_SUPPORTED
from helpers import REPO

README = (REPO / "README.md").read_text()
CI = REPO / ".ci" / "run"


def test_every_exercise_is_listed_with_its_concepts(course: Course) -> None:
    for exercise in course.exercises:
        row = next((line for line in README.splitlines()
                    if line.startswith(f"| {exercise.number:02d} |")), None)
        assert row is not None, exercise.name
        assert exercise.meta.title in row
        for concept in exercise.meta.concepts:
            assert concept in row, (exercise.name, concept)


def _quick_start_blocks() -> list[str]:
    """The fenced blocks of the README's "Quick start" section, as a student copies them."""
    section = README.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    return [block.split("\n", 1)[1].rstrip("\n") for block in section.split("```")[1::2]]


def test_quick_start_has_the_two_commands() -> None:
    assert _quick_start_blocks() == [
        "pip install -e . && grade exercise-03",
        'pip install -e ".[test]" && pytest',
    ]


def test_ci_runs_the_readme_commands_verbatim() -> None:
    """.ci/run reads both commands out of the README instead of spelling them again."""
    grade_command, test_command = _quick_start_blocks()
    for name, command in (("grade-command", grade_command), ("test-command", test_command)):
        printed = subprocess.run(["bash", str(CI), "--print-readme-command", name],
                                 capture_output=True, text=True, timeout=30, check=True)
        assert printed.stdout == command + "\n"
    ci = CI.read_text()
    assert grade_command not in ci and test_command not in ci
    assert 'bash -c "$grade_command"' in ci
    assert 'run_pytest bash -c "$test_command"' in ci


def test_ci_fails_when_a_marked_block_is_missing() -> None:
    done = subprocess.run(["bash", str(CI), "--print-readme-command", "no-such-block"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode != 0 and "no-such-block" in done.stderr


def test_supported_pythons_and_systems_are_stated() -> None:
    oldest, newest = (".".join(map(str, v)) for v in (OLDEST_SUPPORTED, NEWEST_TESTED))
    assert f"Python {oldest} to {newest}, on Linux, macOS or WSL" in README
    assert f"on Python {oldest}-{newest})" in README  # where grade verify runs in CI
    assert "sudo apt-get install bubblewrap" in README
