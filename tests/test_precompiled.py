"""Suite copies carry bytecode the import system uses without recompiling."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from grader.supervision.precompiled import copy_with_bytecode


def import_value(folder: Path) -> str:
    done = subprocess.run(
        [sys.executable, "-c", "import test_probe; print(test_probe.VALUE)"],
        cwd=folder, capture_output=True, text=True, check=True, timeout=60)
    return done.stdout.strip()


def test_the_copy_is_imported_from_its_bytecode(tmp_path: Path) -> None:
    original = tmp_path / "original.py"
    original.write_text("VALUE = 'compiled once'\n")
    work = tmp_path / "work"
    work.mkdir()
    copy = work / "test_probe.py"
    copy_with_bytecode(original, copy)
    assert copy.read_bytes() == original.read_bytes()
    # Were the source read, this would change the answer: the bytecode is what loads.
    copy.write_text("VALUE = 'recompiled'\n")
    assert import_value(work) == "compiled once"


def test_a_suite_that_does_not_compile_is_copied_without_bytecode(tmp_path: Path) -> None:
    original = tmp_path / "original.py"
    original.write_text("def broken(:\n")
    copy = tmp_path / "test_probe.py"
    copy_with_bytecode(original, copy)
    assert copy.read_text() == "def broken(:\n"
    assert not (tmp_path / "__pycache__").exists()
