"""The package type-checks, and private standard-library names stay in one module.

mypy runs with the configuration in pyproject.toml ([tool.mypy]) and must report zero
errors. Its cache is the repository's ``.mypy_cache`` (mypy writes a ``.gitignore``
into it), so a warm run takes seconds; a cold one takes up to a minute.

The virtual clock needs private parts of asyncio, ``concurrent.futures`` and
``threading``; grader/engine/asyncio_internals.py is the one module that may name them, so
a change in a new Python shows up there alone.
"""

from __future__ import annotations

import ast
import asyncio
import concurrent.futures
import importlib.util
import re
import subprocess
import sys
import threading

import pytest

from helpers import REPO

ADAPTER = REPO / "grader" / "engine" / "asyncio_internals.py"
_ERROR_LINE = re.compile(r"^(?P<path>[^:\s]+\.py):\d+: error: ")


@pytest.mark.timeout(600)  # mypy on the whole package: up to a minute cold, on a busy machine
def test_mypy_reports_no_errors() -> None:
    assert importlib.util.find_spec("mypy"), "mypy is in the test extra: pip install -e '.[test]'"
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(REPO / ".mypy_cache")],
        cwd=REPO, capture_output=True, text=True, timeout=540,
    )
    errors = [line for line in done.stdout.splitlines() if _ERROR_LINE.match(line)]
    assert errors == [], "\n".join(errors[:50])
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def _stdlib_private_names() -> set[str]:
    """Private (single-underscore) names of the objects the virtual clock works with."""
    loop = asyncio.SelectorEventLoop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        timer = loop.call_later(1.0, print)
        objects: list[object] = [
            loop, timer, loop.create_future(), asyncio.Lock(), asyncio, asyncio.events,
            concurrent.futures.Future(), pool, threading.Condition(),
        ]
        names = {n for obj in objects for n in dir(obj)}
    finally:
        loop.close()
        pool.shutdown()
    return {n for n in names if n.startswith("_") and not n.startswith("__")}


def _defined_here(tree: ast.AST) -> set[str]:
    """Attributes a module's own classes set (``self._lock = ...``, dataclass fields)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                and isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            names.add(node.attr)
        elif isinstance(node, ast.ClassDef):
            names.update(item.target.id for item in node.body
                         if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name))
    return names


def _grader_imports(tree: ast.AST) -> set[str]:
    """The grader modules a module imports from (``grader.engine.simulation``)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("grader"):
            found.add(node.module or "")
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("grader."))
    return found


def _uses(tree: ast.AST, names: set[str]) -> list[str]:
    """Where ``tree`` reads, writes, overrides or getattr()s one of ``names``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif isinstance(node, ast.ClassDef):
            found += [f"line {item.lineno}: def {item.name}" for item in node.body
                      if isinstance(item, ast.FunctionDef) and item.name in names]
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr", "delattr")
              and len(node.args) > 1 and isinstance(node.args[1], ast.Constant)
              and node.args[1].value in names):
            found.append(f"line {node.lineno}: {node.func.id}(..., {node.args[1].value!r})")
    return found


def test_private_names_of_asyncio_and_its_pools_are_used_in_the_adapter_only() -> None:
    private = _stdlib_private_names()
    # What the adapter exists for must be in the set, or this test could not fail.
    assert {"_run_once", "_call_soon", "_ready", "_scheduled", "_when", "_thread_id",
            "_default_executor", "_get_running_loop", "_threads", "_max_workers",
            "_done_callbacks", "_waiters", "_release_save", "_exception"} <= private
    planted = ast.parse("class Loop:\n    def _run_once(self):\n        self._ready.clear()")
    assert _uses(planted, private) == ["line 2: def _run_once", "line 3: ._ready"]
    trees = {path: ast.parse(path.read_text(encoding="utf-8"))
             for path in sorted((REPO / "grader").rglob("*.py")) if path != ADAPTER}
    defined = {".".join(path.relative_to(REPO).with_suffix("").parts): _defined_here(tree)
               for path, tree in trees.items()}
    offenders = {}
    for path, tree in trees.items():
        # A name the grader's own classes define (Simulation._loop) is theirs to use.
        own = _defined_here(tree).union(
            *(defined.get(module, set()) for module in _grader_imports(tree)))
        if uses := _uses(tree, private - own):
            offenders[str(path.relative_to(REPO))] = uses
    assert offenders == {}, "use grader/engine/asyncio_internals.py for these"
