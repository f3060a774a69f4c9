"""``grade verify``: the content check for every exercise, run by instructors and CI.

For each exercise: metadata loads; the stub has a TODO and scores zero; the reference
solution scores full marks; every known-wrong variant fails exactly its intended checks
with its message; every alternative solution scores full marks; task numbers agree
between README, hints, metadata and hidden tests; the folder holds no unexpected files.
Gradings run in parallel (each is its own child process).
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from grader.course.course import Exercise
from grader.course.variants import Variant, load_variants
from grader.errors import GraderError
from grader.supervision.results import GradeResult
from grader.supervision.runner import grade_file
from grader.supervision.sandbox import shared_cells

__all__ = ["ExerciseReport", "Grading", "plan_verification", "verify_course", "verify_exercise"]

ALLOWED_FILES = {"README.md", ".meta"}
ALLOWED_META = {"exercise.toml"}


@dataclass
class ExerciseReport:
    exercise: Exercise
    problems: list[str] = field(default_factory=list)
    gradings: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


def _static_problems(exercise: Exercise) -> list[str]:
    problems: list[str] = []
    try:
        meta = exercise.meta
    except GraderError as exc:
        return [exc.message]
    expected = ALLOWED_FILES | {meta.module}
    for entry in exercise.folder.iterdir():
        if entry.name in ("__pycache__",):
            continue
        if entry.name not in expected:
            problems.append(f"unexpected file in the exercise folder: {entry.name}")
    for entry in exercise.meta_dir.iterdir():
        if entry.name not in ALLOWED_META | {exercise.suite_file.name, "__pycache__"}:
            problems.append(f"unexpected file in .meta/: {entry.name}")
    for required in (exercise.readme, exercise.stub_file, exercise.suite_file,
                     exercise.solution_file):
        if not required.is_file():
            problems.append(f"missing {required.relative_to(exercise.course_root)}")
    if problems:
        return problems

    if "TODO" not in exercise.stub_file.read_text(encoding="utf-8"):
        problems.append(f"the stub {meta.module} has no TODO")

    readme_tasks = {int(n) for n in re.findall(r"^#+\s*Task\s+(\d+)\b", exercise.readme.read_text(
        encoding="utf-8"), flags=re.MULTILINE)}
    check_tasks = {c.task for c in meta.checks}
    hint_tasks = {h.task for h in meta.hints}
    if not readme_tasks:
        problems.append("README.md has no '## Task N' headings")
    if check_tasks != readme_tasks:
        problems.append(f"tasks in metadata checks {sorted(check_tasks)} != README tasks "
                        f"{sorted(readme_tasks)}")
    if not hint_tasks <= readme_tasks:
        problems.append(f"hints name tasks {sorted(hint_tasks - readme_tasks)} not in README")
    if not 2 <= len(meta.hints) <= 6:
        problems.append(f"expected 2-6 hints, found {len(meta.hints)}")

    suite_tasks = _suite_tasks(exercise.suite_file)
    meta_tasks = {c.name: c.task for c in meta.checks}
    for name in sorted(set(meta_tasks) - set(suite_tasks)):
        problems.append(f"check '{name}' has no test_{name} in the hidden suite")
    for name in sorted(set(suite_tasks) - set(meta_tasks)):
        problems.append(f"hidden test test_{name} is not listed in the metadata checks")
    for name in sorted(set(meta_tasks) & set(suite_tasks)):
        if suite_tasks[name] != meta_tasks[name]:
            problems.append(f"test_{name} is marked task {suite_tasks[name]} but the metadata "
                            f"says task {meta_tasks[name]}")
    return problems


def _suite_tasks(suite: Path) -> dict[str, object]:
    """test name (without test_) -> its @pytest.mark.task number, read statically.

    The marker's argument as written (a constant of any type), so a wrong one is reported.
    """
    tree = ast.parse(suite.read_text(encoding="utf-8"))
    found: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
                "test_"):
            task: object = None
            for deco in node.decorator_list:
                if (isinstance(deco, ast.Call) and isinstance(deco.func, ast.Attribute)
                        and deco.func.attr == "task" and deco.args
                        and isinstance(deco.args[0], ast.Constant)):
                    task = deco.args[0].value
            found[node.name.removeprefix("test_")] = task
    return found


def _grading_problems(exercise: Exercise, label: str, result: GradeResult,
                      variant: Variant | None) -> list[str]:
    failed = {c.name for c in result.checks if not c.passed}
    if variant is None and label == "stub":
        passing = sorted({c.name for c in result.checks} - failed)
        return [] if result.score == 0 else [
            f"stub scores {result.score}, expected 0 (passing: {passing})"
        ]
    if variant is None or variant.expect_full_marks:
        if not failed:
            return []
        first = next(c for c in result.checks if not c.passed)
        why = first.feedback.what if first.feedback else first.status
        return [f"{label} should score full marks but fails {sorted(failed)}: {why}"]
    problems = []
    if failed != set(variant.fails):
        problems.append(f"{label} should fail exactly {sorted(variant.fails)} but fails "
                        f"{sorted(failed)}")
    for check in result.checks:
        if check.name in variant.fails and not check.passed and variant.message:
            said = [check.feedback.what, check.feedback.misconception] if check.feedback else []
            text = " ".join(filter(None, said))
            if variant.message.lower() not in text.lower():
                problems.append(f"{label}: check {check.name} fails without saying "
                                f"'{variant.message}' (it says: {text[:160]})")
    return problems


def verify_exercise(exercise: Exercise, *, workers: int | None = None) -> ExerciseReport:
    return verify_course([exercise], workers=workers)[0]


@dataclass(frozen=True)
class Grading:
    """One file ``grade verify`` grades, and what it expects of the result."""

    exercise: Exercise
    label: str  # "stub", "solution" or the variant's label
    path: Path  # a copy, so a variant can never touch the course's files
    variant: Variant | None = None

    def problems(self, result: GradeResult) -> list[str]:
        return _grading_problems(self.exercise, self.label, result, self.variant)


def plan_verification(exercise: Exercise, copies: Path) -> tuple[list[str], list[Grading]]:
    """The static problems of ``exercise`` and the gradings to run (files copied to
    ``copies``, which must exist and be empty)."""
    problems = _static_problems(exercise)
    if problems:
        return problems, []
    stub = shutil.copy(exercise.stub_file, copies / "stub.py")
    solution = shutil.copy(exercise.solution_file, copies / "solution.py")
    gradings = [Grading(exercise, "stub", Path(stub)),
                Grading(exercise, "solution", Path(solution))]
    try:
        variants = load_variants(exercise)
    except GraderError as exc:
        return [exc.message], gradings
    for n, variant in enumerate(variants):
        if not variant.file.is_file():
            problems.append(f"variant file missing: {variant.file}")
            continue
        copy = shutil.copy(variant.file, copies / f"variant{n}_{variant.file.name}")
        gradings.append(Grading(exercise, variant.label, Path(copy), variant))
    return problems, gradings


def verify_course(exercises: list[Exercise], *,
                  workers: int | None = None) -> list[ExerciseReport]:
    reports = {e.name: ExerciseReport(e) for e in exercises}
    jobs: list[Grading] = []
    with tempfile.TemporaryDirectory(prefix="grade-verify-") as tmp:
        for exercise in exercises:
            copies = Path(tmp) / exercise.name
            copies.mkdir()
            problems, gradings = plan_verification(exercise, copies)
            reports[exercise.name].problems.extend(problems)
            jobs.extend(gradings)

        def run(job: Grading) -> list[str]:
            return job.problems(grade_file(job.exercise, job.path, owner="course"))

        pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2)
        with shared_cells(), pool:
            for job, problems in zip(jobs, pool.map(run, jobs), strict=True):
                reports[job.exercise.name].problems.extend(problems)
                reports[job.exercise.name].gradings += 1
    return list(reports.values())
