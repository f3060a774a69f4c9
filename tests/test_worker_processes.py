"""Process pools whose workers start from scratch (spawn, forkserver) under the grader.

Such a worker imports the module of every function it is sent by name. The student's
module must be found on ``sys.path``; the hidden suite's fakes, whose file is gone before
student code runs, travel by value.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from grader.course.course import Course
from grader.engine.worker_processes import importable_by_name, send_unimportable_by_value
from grader.supervision.runner import grade_file
from grader.supervision.sandbox import sandbox_problem
from helpers import REPO

ALTERNATIVES = REPO / "tests/fixtures/exercises/exercise-12-executors/alternatives"
CONTEXTS = {"spawn": "spawn_context_pool.py", "forkserver": "forkserver_context_pool.py"}
SANDBOXES = ["off", pytest.param("require", marks=pytest.mark.skipif(
    sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}"))]


@pytest.mark.parametrize("sandbox", SANDBOXES)
@pytest.mark.parametrize("context", sorted(CONTEXTS))
def test_a_correct_pool_of_either_start_method_earns_full_marks(
        course: Course, context: str, sandbox: str) -> None:
    result = grade_file(course.resolve("exercise-12"), ALTERNATIVES / CONTEXTS[context],
                        sandbox=sandbox)
    wrong = {c.name: (c.status, c.feedback.what if c.feedback else "")
             for c in result.checks if not c.passed}
    assert wrong == {}
    assert result.score == result.max_score


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


HIDDEN = '''
import os

LOADED_IN = os.getpid()


def where(x):
    return x, LOADED_IN, os.getpid()
'''


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_function_from_a_deleted_file_reaches_a_fresh_worker_by_value(
        tmp_path: Path, method: str) -> None:
    path = tmp_path / "hidden_fakes.py"
    path.write_text(HIDDEN)
    module = _load(path, "hidden_fakes")
    path.unlink()
    try:
        assert not importable_by_name("hidden_fakes")
        with send_unimportable_by_value(), ProcessPoolExecutor(
                1, mp_context=multiprocessing.get_context(method)) as pool:
            value, loaded_in, ran_in = pool.submit(module.where, 7).result(timeout=60)
    finally:
        sys.modules.pop("hidden_fakes", None)
    # The worker used the parent's globals (not a re-import), in a process of its own.
    assert (value, loaded_in) == (7, os.getpid())
    assert ran_in != os.getpid()


def test_modules_a_fresh_interpreter_finds_are_left_to_plain_pickling(tmp_path: Path) -> None:
    path = tmp_path / "on_the_path.py"
    path.write_text("def f():\n    return 1\n")
    _load(path, "on_the_path")
    sys.path.insert(0, str(tmp_path))
    try:
        assert importable_by_name("on_the_path")
        assert importable_by_name("os") and importable_by_name("grader.supervision.runner")
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("on_the_path", None)
    assert importable_by_name("not_loaded_at_all")


def test_the_pickler_is_left_as_it_was() -> None:
    from multiprocessing import reduction

    with send_unimportable_by_value():
        assert "reducer_override" in vars(reduction.ForkingPickler)
    assert "reducer_override" not in vars(reduction.ForkingPickler)


def test_the_student_s_folder_is_on_the_path_after_import(tmp_path: Path) -> None:
    from grader.engine.student import import_student_module

    path = tmp_path / "pooled_student.py"
    path.write_text("def f():\n    return 1\n")
    try:
        import_student_module(path, "pooled_student")
        assert importable_by_name("pooled_student")
    finally:
        sys.modules.pop("pooled_student", None)
        if str(tmp_path) in sys.path:
            sys.path.remove(str(tmp_path))
