"""The trust boundary holds in the imports: checked with import-linter's contracts.

The contracts live in pyproject.toml ([tool.importlinter]): code that runs beside
student code imports nothing from rendering, storage, bulk grading or the CLI, and the
parent's verdict code (runner, judges, screen, sandbox) renders nothing.
"""

from __future__ import annotations

import shutil
import subprocess

from helpers import REPO


def test_the_import_contracts_are_kept() -> None:
    command = shutil.which("lint-imports")
    assert command, "import-linter is part of the test extra: pip install -e '.[test]'"
    done = subprocess.run([command], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-1000:]
    assert "0 broken" in done.stdout
