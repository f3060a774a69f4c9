"""Loading the student's module and reaching into it with friendly errors.

Import problems (syntax errors, exceptions, ``sys.exit`` at import) become a
:class:`StudentImportError` once, and every check then reports it, rather than each
hidden test guessing. A missing name is one message produced here, not in every suite.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import sys
import types
from pathlib import Path
from typing import Any

from grader.budgets import CpuLimitExceeded
from grader.engine.exceptions import MissingName, StudentImportError
from grader.engine.feedback import Feedback
from grader.engine.tracebacks import describe_exception, explain_syntax_error

__all__ = ["MissingName", "StudentImportError", "StudentModule", "import_student_module"]


def import_student_module(path: Path, module_name: str) -> types.ModuleType:
    """Import ``path`` as ``module_name``; any failure becomes StudentImportError."""
    filename = path.name
    try:
        source = path.read_bytes()
    except OSError as exc:
        raise StudentImportError(
            Feedback(f"Could not read {filename}: {exc.strerror}.", next_step="Check the file.")
        ) from None
    try:
        source.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise StudentImportError(
            Feedback(
                f"{filename} is not valid UTF-8 text (byte {exc.start}).",
                misconception="Python source files are read as UTF-8.",
                next_step="Re-save the file as UTF-8 in your editor.",
            )
        ) from None
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise StudentImportError(explain_syntax_error(exc, filename)) from None
    except BaseException as exc:
        sys.modules.pop(module_name, None)
        if ((type(exc).__name__ == "Failed" and str(exc).startswith("Timeout"))
                or isinstance(exc, CpuLimitExceeded)):
            raise StudentImportError(
                Feedback(
                    f"Importing {filename} did not finish in time: the top level of your "
                    "module never stopped running.",
                    misconception="Code at the top level of a module runs on import; an "
                    "endless loop there means your functions are never even defined.",
                    next_step="Move that code into a function or under "
                    "`if __name__ == \"__main__\":`.",
                ),
                timed_out=True,
            ) from None
        what, trace = describe_exception(exc, path)
        if isinstance(exc, SystemExit):
            what = f"{filename} called sys.exit({exc.code!r}) while being imported."
        raise StudentImportError(
            Feedback(
                f"Your module could not be imported: {what}",
                misconception="Code at the top level of a module runs as soon as it is "
                "imported, before any of your functions are called.",
                next_step="Move experiments under `if __name__ == \"__main__\":`, "
                "or fix the error shown.",
            ),
            trace,
        ) from None
    _importable_by_name(path)
    return module


def _importable_by_name(path: Path) -> None:
    """Put the module's folder on ``sys.path``, as plain Python does for a script's folder.

    A process pool started with ``spawn`` or ``forkserver`` gets this process's
    ``sys.path`` and imports the student's functions by module name: without the folder
    there, every worker dies on ``ModuleNotFoundError`` and the pool breaks. The grader
    grades a copy that sits alone in its folder, so nothing else becomes importable.
    """
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)


class StudentModule:
    """The student's module as hidden tests see it: attributes, plus safe patching."""

    def __init__(self, module: types.ModuleType, path: Path) -> None:
        object.__setattr__(self, "_module", module)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_patches", [])

    @property
    def module(self) -> types.ModuleType:
        return self._module

    @property
    def path(self) -> Path:
        return self._path

    def __getattr__(self, name: str) -> Any:
        try:
            return getattr(self._module, name)
        except AttributeError:
            raise MissingName(name, self._path.name) from None

    def has(self, name: str) -> bool:
        return hasattr(self._module, name)

    def uses(self, *names: str) -> dict[str, bool]:
        """Whether the student's source mentions each name (as a name, attribute or import).

        Feedback may name a construct only when the student wrote it: a check passes
        ``uses=student.uses("TaskGroup", "gather")`` to its judge and words the
        misconception accordingly, instead of blaming gather on a TaskGroup user.
        """
        written = _names_in(self._path)
        return {name: name in written for name in names}

    def replace(self, name: str, value: Any) -> None:
        """Swap a module global (e.g. the provided ``fetch``) for this check only."""
        missing = object()
        self._patches.append((name, self._module.__dict__.get(name, missing), missing))
        setattr(self._module, name, value)

    def restore(self) -> None:
        for name, old, missing in reversed(self._patches):
            if old is missing:
                self._module.__dict__.pop(name, None)
            else:
                setattr(self._module, name, old)
        self._patches.clear()


@functools.lru_cache(maxsize=8)
def _names_in(path: Path) -> frozenset[str]:
    """Every identifier, attribute name and imported name in a source file (its text only)."""
    try:
        tree = ast.parse(path.read_bytes())
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            found.add(node.id)
        elif isinstance(node, ast.Attribute):
            found.add(node.attr)
        elif isinstance(node, ast.alias):
            found.update(node.name.split("."))
            if node.asname:
                found.add(node.asname)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            found.add(node.name)
    return frozenset(found)
