"""grade release: the student course holds no solution, installs, grades, resets, tests.

The release is made once per module into a temporary folder and driven the way a
student would, with the current interpreter: ``python -m grader.cli`` with the working
directory inside the release (so the release's own grader is imported), no virtual
environment, no git.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from grader.course.course import Course, find_course, load_course_info
from grader.course.release import INSTRUCTOR_ONLY, release_course
from grader.course.solution_lock import lock_solution, unlock_solution
from grader.errors import GraderError
from helpers import REPO

EX03 = "exercise-03-concurrent-fetch"
STUB03 = f"exercises/{EX03}/fetcher.py"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("GRADER_", "PYTEST_", "COV_"))}
    return {**env, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}


def _grade(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd, env=_env(),
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("release") / "class-course"
    release_course(Course(REPO), out, unlock_solutions=False)
    return out


@pytest.fixture(scope="module")
def unlockable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("unlockable") / "class-course"
    release_course(Course(REPO), out, unlock_solutions=True)
    return out


def _distinctive_solution_lines() -> dict[str, list[str]]:
    """Per solution, its lines found nowhere a release may legitimately copy from."""
    known = "\n".join(p.read_text(errors="replace") for p in
                      [*REPO.glob("grader/**/*.py"), *REPO.glob("docs/*.md"),
                       REPO / "README.md", *REPO.glob("exercises/**/*")] if p.is_file())
    found = {}
    for solution in sorted(REPO.glob("solutions/*/*.py")):
        found[solution.parent.name] = [
            line.strip() for line in solution.read_text().splitlines()
            if len(line.strip()) >= 20 and line.strip() not in known]
    return found


def _every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.mark.parametrize("fixture", ["release", "unlockable"])
def test_no_solution_file_or_text_anywhere(fixture: str,
                                           request: pytest.FixtureRequest) -> None:
    root: Path = request.getfixturevalue(fixture)
    distinctive = _distinctive_solution_lines()
    assert len(distinctive) == 18 and all(distinctive.values())
    assert not (root / "solutions").exists()
    contents = {p: p.read_bytes() for p in _every_file(root)}
    for exercise, lines in distinctive.items():
        for line in lines:
            leaks = [p for p, data in contents.items() if line.encode() in data]
            assert not leaks, f"{exercise}: {line!r} found in {leaks}"


def test_instructor_material_is_left_out(release: Path) -> None:
    for path in ("solutions", "benchmarks", ".ci", "tests/fixtures", "tests/conftest.py",
                 "tests/helpers", ".git", *INSTRUCTOR_ONLY):
        assert not (release / path).exists(), path
    assert sorted(p.name for p in (release / "tests").iterdir()) == ["test_student_copy.py"]
    assert not list(release.rglob("__pycache__"))


def test_release_knows_it_is_one_and_keeps_every_exercise(release: Path) -> None:
    info = load_course_info(release / "course.toml")
    assert info.is_release and info.title == Course(REPO).info.title
    course = find_course(release / "exercises")  # walking up from inside it
    assert course.root == release.resolve() and course.is_release
    assert [e.name for e in course.exercises] == [e.name for e in Course(REPO).exercises]
    for exercise in course.exercises:
        original = REPO / exercise.stub_file.relative_to(release)
        assert exercise.stub_file.read_bytes() == original.read_bytes()
        assert exercise.original_stub_file.read_bytes() == original.read_bytes()
        assert exercise.suite_file.is_file()


def test_shipped_grader_imports_nothing_left_out(release: Path) -> None:
    """Only cli.py names the instructor's modules, inside commands that refuse first."""
    stripped = {p.removesuffix(".py").replace("/", ".") for p in INSTRUCTOR_ONLY
                if p.startswith("grader/")}
    for path in (release / "grader").rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert not any(name == s or name.startswith(s + ".") for s in stripped), \
                    f"{path.relative_to(release)} imports {name}"


def test_readme_is_the_students_and_its_links_resolve(release: Path) -> None:
    readme = (release / "README.md").read_text()
    assert "pip install -e . && grade exercise-03" in readme
    assert 'pip install -e ".[test]" && pytest' in readme
    assert "In this student copy, `pytest` runs" in readme
    assert "grade submit" in readme
    assert "(instructors)" not in readme and "## Benchmarks" not in readme
    assert ".ci/run" not in readme
    for target in re.findall(r"\]\(([^)#]+)\)", readme):
        if not target.startswith("http"):
            assert (release / target).exists(), target


def test_grade_grades_the_stub_to_zero_and_the_solution_to_full(release: Path,
                                                                tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(release, work, ignore=shutil.ignore_patterns(".progress"))
    stub = _grade(work, "3", "--json")
    assert stub.returncode == 1, stub.stderr
    graded = json.loads(stub.stdout)
    assert graded["score"] == 0 and graded["max_score"] > 0
    assert Path(graded["graded_file"]).name == "fetcher.py"
    shutil.copy(REPO / "solutions" / EX03 / "fetcher.py", work / STUB03)
    solved = _grade(work, "3", "--json")
    assert solved.returncode == 0, solved.stderr
    result = json.loads(solved.stdout)
    assert result["score"] == result["max_score"] == graded["max_score"]
    assert not (work / "solutions").exists()  # a release made without unlocking


def test_instructor_commands_refuse_in_one_line(release: Path, tmp_path: Path) -> None:
    for args in (["verify"], ["bulk", str(tmp_path), "--out", str(tmp_path / "r")],
                 ["release", str(tmp_path / "again")],
                 ["autograder", "gradescope", "--out", str(tmp_path / "upload.zip")]):
        done = _grade(release, *args)
        assert done.returncode == 2, (args, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "needs the instructor's copy" in lines[0], lines
    # the same refusal through --course, from a folder with no course around it
    done = _grade(tmp_path, "--course", str(release), "verify")
    assert done.returncode == 2 and "needs the instructor's copy" in done.stderr


def test_solution_option_says_there_is_none(release: Path) -> None:
    done = _grade(release, "3", "--solution")
    assert done.returncode == 2
    assert "no reference solution for exercise-03" in done.stderr


def test_reset_restores_the_stub_without_git(release: Path, tmp_path: Path) -> None:
    work = tmp_path / "downloaded"
    shutil.copytree(release, work)
    assert not (work / ".git").exists()
    stub = work / STUB03
    stub.write_text("async def fetch_all(sources):\n    return ['mine']\n")  # before any grade
    done = _grade(work, "reset", "exercise-03")
    assert done.returncode == 0, done.stderr
    assert stub.read_bytes() == (REPO / STUB03).read_bytes()
    backups = list((work / ".progress" / "backups" / EX03).iterdir())
    assert [b.read_text() for b in backups] == ["async def fetch_all(sources):\n"
                                                "    return ['mine']\n"]


def test_pytest_in_the_release_runs_tests_and_passes(release: Path, tmp_path: Path) -> None:
    work = tmp_path / "fresh"
    shutil.copytree(release, work)
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:randomly"],
                          cwd=work, env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:]
    passed = re.search(r"(\d+) passed", done.stdout)
    assert passed and int(passed[1]) >= 19, done.stdout[-500:]  # 18 exercises, and more
    assert f"{work}/grader" in subprocess.run(
        [sys.executable, "-c", "import grader; print(grader.__file__)"], cwd=work,
        env=_env(), capture_output=True, text=True, timeout=60).stdout


def test_a_passing_file_unlocks_its_solution(unlockable: Path, tmp_path: Path) -> None:
    work = tmp_path / "work"
    shutil.copytree(unlockable, work)
    assert load_course_info(work / "course.toml").unlock_solutions
    locked = _grade(work, "3", "--solution")
    assert locked.returncode == 2 and "unlocked once your own file passes" in locked.stderr
    _grade(work, "3")  # the stub fails: nothing unlocked
    assert not (work / "solutions").exists()
    shutil.copy(REPO / "solutions" / EX03 / "fetcher.py", work / STUB03)
    solved = _grade(work, "3")
    assert solved.returncode == 0 and "reference solution is now at" in solved.stdout
    unlocked = work / "solutions" / EX03 / "fetcher.py"
    assert unlocked.read_bytes() == (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()
    assert [p.parent.name for p in (work / "solutions").rglob("*.py")] == [EX03]


def test_a_lock_meets_only_its_own_suite(tmp_path: Path) -> None:
    course_root = tmp_path / "course"
    shutil.copytree(REPO / "exercises" / EX03, course_root / "exercises" / EX03)
    exercise = Course(course_root).resolve("3")
    solution = (REPO / "solutions" / EX03 / "fetcher.py").read_bytes()
    exercise.locked_solution_file.write_bytes(lock_solution(exercise, solution))
    assert solution not in exercise.locked_solution_file.read_bytes()
    with exercise.suite_file.open("a") as suite:
        suite.write("\n# changed after the release\n")
    with pytest.raises(GraderError, match="does not match"):
        unlock_solution(exercise, course_root)
    assert not (course_root / "solutions").exists()


def test_release_refuses_unsafe_destinations(release: Path, tmp_path: Path) -> None:
    course = Course(REPO)
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("keep me")
    with pytest.raises(GraderError, match="not an empty folder"):
        release_course(course, full)
    assert [p.name for p in full.iterdir()] == ["notes.txt"]
    inside = REPO / "build" / "release-test-never-written"
    with pytest.raises(GraderError, match="inside the course"):
        release_course(course, inside)
    assert not inside.exists()
    with pytest.raises(GraderError, match="inside the course"):
        release_course(course, REPO)
    with pytest.raises(GraderError, match="already a student release"):
        release_course(Course(release), tmp_path / "again")
    empty = tmp_path / "empty"
    empty.mkdir()
    outcome = release_course(course, empty)
    assert outcome.out == empty.resolve() and (empty / "course.toml").is_file()
    assert not [p for p in tmp_path.iterdir() if ".partial-" in p.name]
