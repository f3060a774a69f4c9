"""Exercise metadata: one small versioned TOML file per exercise, loaded into frozen data.

Kept beside the exercise (``.meta/exercise.toml``) rather than in one course-wide file,
so an exercise folder is self-contained. A file with a newer ``format_version`` than
this grader understands is refused, not half-read.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.budgets import DEFAULT_CPU_LIMIT, cpu_limit_for
from grader.errors import GraderError, MetadataError

__all__ = [
    "DEFAULT_SCREEN_POLICY",
    "FORMAT_VERSION",
    "SCREEN_CAPABILITIES",
    "Check",
    "ExerciseMeta",
    "Hint",
    "ScreenPolicy",
    "load_metadata",
]

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Check:
    name: str  # the hidden test is test_<name>
    title: str
    task: int
    points: int
    # Checks that must also pass for this one to count: a property such as "never blocks"
    # or "finishes fast" proves nothing about code that does no work at all.
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Hint:
    task: int
    text: str




SCREEN_CAPABILITIES = {
    "processes": "worker processes: ProcessPoolExecutor and the multiprocessing module",
    "generator-internals": "a generator's or coroutine's state attributes (gi_running, "
                           "gi_yieldfrom, cr_await, ...), never its frame",
}
"""What an exercise's ``[screen] allow`` may switch on, beyond the course-wide default."""

DEFAULT_ALLOWED_IMPORTS = frozenset({
    # asyncio and the standard tools its exercises build on
    "__future__", "asyncio", "contextlib", "time", "typing", "types", "dataclasses", "enum",
    "abc", "functools", "itertools", "operator", "collections", "collections.abc", "heapq",
    "bisect", "queue", "weakref", "copy",
    # threads: to_thread and run_in_executor are taught in 11, 12, 13 and 18, and
    # threading.Lock / queue.Queue in a coroutine are classic mistakes that must reach
    # the grading (which explains them), not stop at the screen
    "threading", "concurrent.futures",
    # pure computation and text
    "math", "random", "statistics", "decimal", "fractions", "numbers", "string", "re",
    "textwrap", "json", "csv", "io", "datetime", "hashlib", "pprint", "logging",
    # only their harmless names (grader/supervision/screen.py's _ONLY): printing to stderr, a
    # version check, counting cores for a pool
    "sys", "os",
})
"""Modules any submission may import (grader.supervision.screen restricts some of their names).

Left out on purpose: the ones that reach the interpreter or the machine (sys, os, gc,
inspect, ctypes, signal, importlib, builtins, pickle, marshal, subprocess, socket,
atexit, faulthandler, resource, traceback, warnings, ...). An exercise adds modules in
its ``[screen]`` table (``inspect`` for exercise 01) and capabilities such as
``processes`` (exercise 12).
"""


@dataclass(frozen=True)
class ScreenPolicy:
    """What the static screen (grader.supervision.screen) lets a submission use, per exercise."""

    allow_imports: frozenset[str] = DEFAULT_ALLOWED_IMPORTS  # the default plus the extras
    allow: frozenset[str] = frozenset()  # names from SCREEN_CAPABILITIES
    # Where the screen reads which attributes the suite's stand-ins carry beyond the
    # stub's documented ones (their records: ``conn.sent``, ``cursor.io``). Not part of
    # what the policy allows, so not part of its equality.
    stub: Path | None = field(default=None, compare=False)
    suite: Path | None = field(default=None, compare=False)

    def allows_module(self, module: str) -> bool:
        return module in self.allow_imports or (
            module == "multiprocessing" and "processes" in self.allow)


DEFAULT_SCREEN_POLICY = ScreenPolicy()


@dataclass(frozen=True)
class ExerciseMeta:
    title: str
    module: str  # the stub's file name, e.g. "fetcher.py"
    concepts: tuple[str, ...]
    checks: tuple[Check, ...]
    hints: tuple[Hint, ...]
    time_limit: float  # real seconds per check: a safety net, never a verdict on speed
    cpu_limit: float = DEFAULT_CPU_LIMIT
    screen: ScreenPolicy = DEFAULT_SCREEN_POLICY  # the [screen] table

    @property
    def max_score(self) -> int:
        return sum(c.points for c in self.checks)

    def check(self, name: str) -> Check | None:
        return next((c for c in self.checks if c.name == name), None)


def _seconds(data: dict, key: str, default: float, path: Path) -> float:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MetadataError(path, key, "must be a number of seconds")
    return float(value)


def _require(data: dict, key: str, kind: type | tuple[type, ...], path: Path,
             where: str = "") -> Any:
    field = f"{where}{key}"
    if key not in data:
        raise MetadataError(path, field, "is missing")
    value = data[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise MetadataError(path, field, f"must be a {names}, not {type(value).__name__}")
    return value


_MODULE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _strings(table: dict, key: str, path: Path) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MetadataError(path, f"screen.{key}", "must be a list of strings")
    return value


def _screen_policy(data: dict, path: Path, module: str) -> ScreenPolicy:
    table = data.get("screen", {})
    if not isinstance(table, dict):
        raise MetadataError(path, "screen", "must be a table")
    unknown = sorted(set(table) - {"allow_imports", "allow"})
    if unknown:
        raise MetadataError(path, f"screen.{unknown[0]}",
                            "is not a screen setting (use allow_imports or allow)")
    modules = _strings(table, "allow_imports", path)
    for name in modules:
        if not _MODULE_NAME.fullmatch(name):
            raise MetadataError(path, "screen.allow_imports",
                                f"has {name!r}, which is not a module name such as 'inspect'")
    capabilities = _strings(table, "allow", path)
    for capability in capabilities:
        if capability not in SCREEN_CAPABILITIES:
            raise MetadataError(path, "screen.allow",
                                f"has {capability!r}; the choices are "
                                + ", ".join(sorted(SCREEN_CAPABILITIES)))
    return ScreenPolicy(allow_imports=DEFAULT_ALLOWED_IMPORTS | frozenset(modules),
                        allow=frozenset(capabilities), stub=path.parent.parent / module,
                        suite=path.parent / f"test_{Path(module).stem}.py")


def load_metadata(path: Path) -> ExerciseMeta:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GraderError(
            f"{path} is missing, so this exercise can't be loaded. Restore it from the "
            "course (for a git checkout: git checkout -- <that path>)."
        ) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise MetadataError(path, "(file)", f"is not valid TOML ({exc})") from None

    version = _require(data, "format_version", int, path)
    if version > FORMAT_VERSION:
        raise MetadataError(
            path, "format_version",
            f"is {version}, newer than this grader understands ({FORMAT_VERSION}); "
            "upgrade the grader",
        )
    title = _require(data, "title", str, path)
    module = _require(data, "module", str, path)
    if not module.endswith(".py") or "/" in module:
        raise MetadataError(path, "module", "must be a bare file name ending in .py")
    concepts = _require(data, "concepts", list, path)
    if not concepts or not all(isinstance(c, str) for c in concepts):
        raise MetadataError(path, "concepts", "must be a non-empty list of strings")
    time_limit = _seconds(data, "time_limit", 5.0, path)
    if not 0 < time_limit <= 120:
        raise MetadataError(path, "time_limit", "must be between 0 and 120 seconds")
    cpu_limit = _seconds(data, "cpu_limit", DEFAULT_CPU_LIMIT, path)
    if not cpu_limit > 0 or cpu_limit_for(cpu_limit, time_limit) != cpu_limit:
        raise MetadataError(path, "cpu_limit",
                            "must be above 0 and at most half of time_limit seconds")

    checks: list[Check] = []
    for i, raw in enumerate(_require(data, "checks", list, path)):
        where = f"checks[{i}]."
        if not isinstance(raw, dict):
            raise MetadataError(path, f"checks[{i}]", "must be a table")
        points = _require(raw, "points", int, path, where)
        if points <= 0:
            raise MetadataError(path, f"{where}points", "must be positive")
        requires = raw.get("requires", [])
        earlier = {c.name for c in checks}
        if not isinstance(requires, list) or not all(r in earlier for r in requires):
            raise MetadataError(path, f"{where}requires",
                                "must list names of checks that come before it")
        checks.append(
            Check(
                name=_require(raw, "name", str, path, where),
                title=_require(raw, "title", str, path, where),
                task=_require(raw, "task", int, path, where),
                points=points,
                requires=tuple(requires),
            )
        )
    if not checks:
        raise MetadataError(path, "checks", "must list at least one check")
    names = [c.name for c in checks]
    if len(set(names)) != len(names):
        raise MetadataError(path, "checks", "has a duplicate name")

    hints = []
    for i, raw in enumerate(data.get("hints", [])):
        where = f"hints[{i}]."
        if not isinstance(raw, dict):
            raise MetadataError(path, f"hints[{i}]", "must be a table")
        hints.append(Hint(task=_require(raw, "task", int, path, where),
                          text=_require(raw, "text", str, path, where)))

    return ExerciseMeta(
        title=title,
        module=module,
        concepts=tuple(concepts),
        checks=tuple(checks),
        hints=tuple(hints),
        time_limit=time_limit,
        cpu_limit=cpu_limit,
        screen=_screen_policy(data, path, module),
    )
