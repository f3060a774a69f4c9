"""Hidden suites travel with their bytecode, compiled once per suite and run.

Every grading gets a fresh copy of the suite, so the child would compile it again
each time (2-4 ms of a ~50 ms grading). The copy gets an unchecked-hash ``.pyc``
beside it instead: the import system then loads the bytecode without reading the
source's timestamp. Both files are written by the parent before the child starts and
are hidden from student code, so nothing can make them disagree.
"""

from __future__ import annotations

import functools
import importlib.util
import py_compile
import tempfile
from pathlib import Path

__all__ = ["copy_with_bytecode"]


def copy_with_bytecode(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target``, with the bytecode the import system will look for."""
    data = source.read_bytes()
    target.write_bytes(data)
    bytecode = _bytecode(data)
    if bytecode is None:
        return  # the child compiles it and reports the error as usual
    cached = Path(importlib.util.cache_from_source(str(target)))
    cached.parent.mkdir(exist_ok=True)
    cached.write_bytes(bytecode)


@functools.lru_cache(maxsize=64)
def _bytecode(source: bytes) -> bytes | None:
    with tempfile.TemporaryDirectory(prefix="grade-pyc-") as tmp:
        path, compiled = Path(tmp) / "suite.py", Path(tmp) / "suite.pyc"
        path.write_bytes(source)
        try:
            py_compile.compile(str(path), cfile=str(compiled), doraise=True,
                               invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
        except py_compile.PyCompileError:
            return None
        return compiled.read_bytes()
