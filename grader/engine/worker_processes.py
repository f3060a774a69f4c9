"""Worker processes started from scratch (``spawn``, ``forkserver``) under the grader.

A process pool whose workers are forked inherits every module of the grading child from
memory. A ``spawn`` or ``forkserver`` worker is a fresh interpreter instead: it gets the
parent's ``sys.path`` and then imports, by name, the module of every function it is sent.
Under the grader two kinds of module cannot be found that way:

* the student's module, imported by path under its module name (``offload``) from a
  folder that is not on ``sys.path``: :func:`grader.engine.student.import_student_module` puts
  that folder (which holds the one file) on ``sys.path``, so a fresh worker imports the
  student's code by name exactly as plain Python would from the script's folder;
* the hidden suite, whose file is deleted (or hidden) before any student code runs, so
  no worker can ever import it. Its fakes (a ``count_primes`` that logs where it ran)
  are what a student's pool is handed. Functions and classes of such a module are sent
  *by value* (cloudpickle: code, defaults, closure and the globals they use, as the
  parent holds them), so the suite's instruments behave the same in every start method
  and its source never has to exist again.

Plain pickling by reference stays the rule for everything a fresh interpreter can
import; only modules it provably cannot (their file is gone, or their name finds another
file) are sent by value. :func:`send_unimportable_by_value` installs this on
multiprocessing's pickler for the duration of a check.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import os
import pickle
import sys
import types
from collections.abc import Iterator
from functools import lru_cache
from multiprocessing import reduction
from typing import Any

import cloudpickle

__all__ = ["importable_by_name", "send_unimportable_by_value"]


@lru_cache(maxsize=256)
def _finds(name: str, search_path: tuple[str, ...], expected: str) -> bool:
    """Whether a fresh interpreter with ``search_path`` imports ``name`` from ``expected``."""
    spec = importlib.machinery.PathFinder.find_spec(name, list(search_path))
    if spec is None or spec.origin is None:
        return False
    try:
        return os.path.samefile(spec.origin, expected)
    except OSError:
        return False


def importable_by_name(module_name: str) -> bool:
    """Could a worker started from scratch import ``module_name`` and get the same file?

    Built-in and packaged modules always can; a top-level module loaded from a file can
    when that file is still there and is what ``sys.path`` finds under the name.
    """
    module = sys.modules.get(module_name)
    filename = getattr(module, "__file__", None)
    if module is None or not filename or "." in module_name:
        return True  # not loaded from a file of its own, or inside a package
    if not os.path.exists(filename):
        return False
    return _finds(module_name, tuple(sys.path), os.path.realpath(filename))


def _by_value_if_unimportable(pickler: pickle.Pickler, obj: object) -> Any:
    """``reducer_override`` for multiprocessing's pickler (see the module docstring)."""
    if isinstance(obj, types.FunctionType | type):
        module = getattr(obj, "__module__", None)
        if isinstance(module, str) and module in sys.modules and not importable_by_name(module):
            if module not in _registered:  # else cloudpickle would send it by name too
                cloudpickle.register_pickle_by_value(sys.modules[module])
                _registered.add(module)
            return pickle.loads, (cloudpickle.dumps(obj, protocol=pickle.DEFAULT_PROTOCOL),)
    return NotImplemented


_registered: set[str] = set()

_HOOK = "reducer_override"
"""The pickler's method patched for a block: a class attribute replaced on purpose, which
mypy would refuse as an assignment to a method."""


@contextlib.contextmanager
def send_unimportable_by_value() -> Iterator[None]:
    """While the block runs, pools and queues send unimportable functions by value."""
    pickler = reduction.ForkingPickler
    previous = vars(pickler).get(_HOOK)  # None: inherited, not its own
    setattr(pickler, _HOOK, _by_value_if_unimportable)
    _finds.cache_clear()
    try:
        yield
    finally:
        for name in list(_registered):
            with contextlib.suppress(ValueError):
                cloudpickle.unregister_pickle_by_value(sys.modules[name])
            _registered.discard(name)
        if previous is not None:
            setattr(pickler, _HOOK, previous)
        else:
            delattr(pickler, _HOOK)
