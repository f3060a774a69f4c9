"""Forking children from the warm server grades exactly like spawning them, only faster."""

from __future__ import annotations

import os
import signal

from grader import launcher
from grader.course import Exercise
from grader.runner import grade_file
from grader.variants import load_variants
from helpers import FIXTURES


def _verdicts(exercise: Exercise, files):  # type: ignore[no-untyped-def]
    return [[(c.name, c.status, c.points, c.sim_elapsed, c.feedback)
             for c in grade_file(exercise, f, time_limit=1.0).checks] for f in files]


def test_forked_and_spawned_children_give_identical_results(exercise03: Exercise) -> None:
    files = [exercise03.solution_file, exercise03.stub_file,
             *(v.file for v in load_variants(exercise03)),
             FIXTURES / "outcomes" / "os_exit_in_call" / "fetcher.py",
             FIXTURES / "outcomes" / "import_hangs" / "fetcher.py"]
    spawned = _verdicts(exercise03, files)
    with launcher.warm_children():
        assert launcher._server is not None and launcher._server.alive
        forked = _verdicts(exercise03, files)
    assert forked == spawned
    assert launcher._server is None


def test_gradings_fall_back_to_spawning_when_the_server_dies(exercise03: Exercise) -> None:
    with launcher.warm_children():
        server = launcher._server
        assert server is not None
        os.killpg(server._process.pid, signal.SIGKILL)
        server._reader.join(timeout=5)
        assert not server.alive
        result = grade_file(exercise03, exercise03.solution_file)
    assert result.all_passed
