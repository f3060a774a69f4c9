"""`grade` refuses Windows and untested Pythons in one line, before the runner is imported."""

from __future__ import annotations

import subprocess
import sys
import tomllib

import pytest
from click.testing import CliRunner

from grader.cli import main
from grader.platform_check import NEWEST_TESTED, OLDEST_SUPPORTED, check_platform
from helpers import REPO


def _one_line_error(args: list[str]) -> str:
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    return lines[0]


def test_windows_is_refused_with_a_pointer_to_wsl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    for args in (["exercise-03"], ["verify"], ["bulk", "subs", "--out", "out"], []):
        line = _one_line_error(args)
        assert "not on Windows" in line and "WSL" in line, line


def test_a_python_newer_than_any_tested_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "version_info", (3, 15, 0, "final", 0))
    line = _one_line_error(["exercise-03"])
    assert "not on 3.15" in line and "3.11 to 3.14" in line, line


@pytest.mark.parametrize("version", [(3, 11, 0), (3, 12, 1), (3, 13, 0), (3, 14, 10)])
def test_every_tested_python_passes(monkeypatch: pytest.MonkeyPatch,
                                    version: tuple[int, int, int]) -> None:
    monkeypatch.setattr(sys, "version_info", (*version, "final", 0))
    for platform in ("linux", "darwin"):
        monkeypatch.setattr(sys, "platform", platform)
        check_platform()


def test_the_refusal_comes_before_anything_posix_only_is_imported() -> None:
    """Where `resource` and friends do not exist, `grade` still says why in one line."""
    script = (
        "import sys\n"
        "for name in ('resource', 'fcntl', 'termios', 'grp'):\n"
        "    sys.modules[name] = None\n"
        "from grader.cli import main\n"
        "sys.platform = 'win32'\n"
        "main(['exercise-03'])\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.count("\n") == 1 and "Windows" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_pyproject_declares_the_tested_range() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    oldest = ".".join(map(str, OLDEST_SUPPORTED))
    assert project["requires-python"] == f">={oldest}"
    versions = [f"3.{minor}" for minor in range(OLDEST_SUPPORTED[1], NEWEST_TESTED[1] + 1)]
    declared = [c.rsplit(" :: ", 1)[1] for c in project["classifiers"]
                if c.startswith("Programming Language :: Python :: 3.")]
    assert declared == versions
