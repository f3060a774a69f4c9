"""grade watch at a real terminal, driven through tmux: save, re-grade, pass, move on.

The other watch tests call :func:`grader.watch.watch_exercise` in a thread with a fake
grader. This one runs the real command in a tmux pane on a copy of the course, types
and saves as a student would, and reads the screen back with ``tmux capture-pane``: the
real sandbox, the real suites, the screen clearing, the keys read from the terminal.
Set ``WATCH_CAPTURE_DIR`` to keep the screens it saw (the closing note's capture).
"""

from __future__ import annotations

import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from helpers import FIXTURES, REPO

EX03 = "exercise-03-concurrent-fetch"
EX04 = "exercise-04-background-tasks"
TMUX = shutil.which("tmux")
WAIT = 90.0  # real seconds for one grading to show, on a busy shared machine

pytestmark = pytest.mark.skipif(TMUX is None, reason="tmux is not installed "
                                "(apt-get install tmux) to drive grade watch at a terminal")


class Pane:
    """One detached tmux session running a command; its screen read back as text."""

    def __init__(self, command: str, cwd: Path) -> None:
        self.session = f"grade-watch-{uuid.uuid4().hex[:8]}"
        self._tmux("new-session", "-d", "-s", self.session, "-x", "110", "-y", "60",
                   "-c", str(cwd), command)
        self._tmux("set-option", "-t", self.session, "remain-on-exit", "on")

    def _tmux(self, *args: str) -> str:
        return subprocess.run([TMUX, *args], check=True, capture_output=True, text=True,
                              timeout=10).stdout

    def screen(self, *, escapes: bool = False) -> str:
        return self._tmux("capture-pane", "-p", *(["-e"] if escapes else []),
                          "-t", self.session)

    def wait_for(self, wanted: Callable[[str], bool], what: str) -> str:
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            text = self.screen()
            if wanted(text):
                return text
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed {what}:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        self._tmux("send-keys", "-t", self.session, *keys)

    def close(self) -> None:
        subprocess.run([TMUX, "kill-session", "-t", self.session], capture_output=True,
                       timeout=10)


def _course(tmp_path: Path) -> Path:
    root = tmp_path / "course"
    for folder in (EX03, EX04):
        shutil.copytree(REPO / "exercises" / folder, root / "exercises" / folder)
    shutil.copy(REPO / "course.toml", root / "course.toml")
    return root


def _keep(name: str, pane: Pane) -> None:
    folder = os.environ.get("WATCH_CAPTURE_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{name}.txt").write_text(pane.screen())
        (Path(folder) / f"{name}.ansi").write_text(pane.screen(escapes=True))


def _attempts(db: Path) -> list[tuple[str, int]]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT exercise, score FROM attempts ORDER BY id").fetchall()


def test_watch_regrades_on_save_offers_the_next_exercise_and_moves_on(tmp_path: Path) -> None:
    root = _course(tmp_path)
    stub = root / "exercises" / EX03 / "fetcher.py"
    db = tmp_path / "progress.db"
    command = " ".join(shlex.quote(part) for part in [
        sys.executable, "-m", "grader.cli", "--course", str(root), "watch", "exercise-03",
        "--db", str(db)])
    pane = Pane(f"env -u NO_COLOR TERM=xterm-256color {command}", root)
    try:
        pane.wait_for(lambda s: "Watching fetcher.py" in s and "Score:" in s,
                      "the first grading")
        stub.write_text((FIXTURES / "exercises" / EX03 / "wrong" / "sequential_awaits.py")
                        .read_text())
        screen = pane.wait_for(lambda s: "Timeline (simulated)" in s and "Watching" in s,
                               "the re-grade of the sequential file with its timeline")
        _keep("1-sequential", pane)
        assert "FAIL" in screen and "█" in screen and "|" in screen
        assert "Enter: exercise-04" not in screen  # nothing to move on to yet
        stub.write_text((REPO / "solutions" / EX03 / "fetcher.py").read_text())
        screen = pane.wait_for(lambda s: "Next: exercise-04" in s and "Watching" in s,
                               "the offer to move on")
        _keep("2-solved", pane)
        assert "All checks pass" in screen and "Start it now, collect it later" in screen
        assert "Press Enter to watch background.py there" in screen
        pane.keys("Enter")
        screen = pane.wait_for(lambda s: "Watching background.py" in s and "Score:" in s,
                               "exercise 04 being watched")
        _keep("3-moved-on", pane)
        assert "exercise-04-background-tasks" in screen
        stub04 = root / "exercises" / EX04 / "background.py"
        stub04.write_text(stub04.read_text() + "\n# an edit\n")
        before = len(_attempts(db))
        deadline = time.monotonic() + WAIT
        while len(_attempts(db)) == before and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(_attempts(db)) == before + 1, "a save in exercise 04 was not re-graded"
        pane.keys("C-c")
        pane.wait_for(lambda s: "Stopped watching exercise-04." in s, "the goodbye")
    finally:
        pane.close()
    recorded = _attempts(db)
    assert [name for name, _ in recorded] == [EX03] * 3 + [EX04] * 2
    assert recorded[2][1] > recorded[1][1]  # the solution scored more than the staircase
