"""Verdicts never depend on the hash seed of the process that runs ``grade``.

Iterating over a set of strings follows their hashes, which Python salts per process.
The grading child pins ``PYTHONHASHSEED=0`` (grader/supervision/sandbox.py: ``_sandbox_environment``
for the sandbox, where bubblewrap starts from an empty environment, and
``child_environment`` without it), so a submission whose output follows a set's order
gets the same verdict whatever seed the parent was started with.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.supervision.sandbox import sandbox_problem
from helpers import REPO

PARENT_SEEDS = ("1", "2", "random")

# Exercise 12, with the two task-3 functions fed through sets of names: what they return
# follows the set's order, so it differs from one hash seed to the next.
SET_ORDER_SUBMISSION = (REPO / "solutions/exercise-12-executors/offload.py").read_text() + '''

def download_in_order(pool, names):
    return list(pool.map(download, set(names)))


def download_as_ready(pool, names):
    futures = {pool.submit(download, name) for name in set(names)}
    return [future.result() for future in as_completed(futures)]
'''

GRADE = '''
import json, sys
from pathlib import Path
from grader.course.course import Course
from grader.supervision.runner import grade_file
result = grade_file(Course(Path(sys.argv[1])).resolve("exercise-12"), Path(sys.argv[2]),
                    sandbox=sys.argv[3])
print(json.dumps([[c.name, c.status, c.points, c.feedback.what if c.feedback else None]
                  for c in result.checks] + [list(result.notes)]))
'''


def _set_orders(seeds: tuple[str, ...]) -> set[str]:
    names = "['cat', 'dog', 'owl', 'fox', 'elk']"
    return {subprocess.run([sys.executable, "-c", f"print(list(set({names})))"],
                           env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
                           text=True, check=True).stdout for seed in seeds}


def _grade_with_parent_seed(seed: str, submission: Path, sandbox: str) -> list:
    done = subprocess.run([sys.executable, "-c", GRADE, str(REPO), str(submission), sandbox],
                          env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.splitlines()[-1])


@pytest.mark.parametrize("sandbox", ["off", pytest.param("require", marks=pytest.mark.skipif(
    sandbox_problem() is not None, reason=f"no sandbox here: {sandbox_problem()}"))])
def test_a_set_order_submission_gets_one_verdict_whatever_the_parent_s_seed(
        tmp_path: Path, sandbox: str) -> None:
    assert len(_set_orders(PARENT_SEEDS)) > 1  # the submission really is order-sensitive
    submission = tmp_path / "offload.py"
    submission.write_text(SET_ORDER_SUBMISSION)
    verdicts = [_grade_with_parent_seed(seed, submission, sandbox) for seed in PARENT_SEEDS]
    assert all(v == verdicts[0] for v in verdicts[1:]), verdicts
    assert any(status != "passed" for _name, status, *_ in verdicts[0][:-1])


def test_the_child_environment_pins_the_seed(tmp_path: Path) -> None:
    from grader.supervision.sandbox import _sandbox_environment, child_environment

    assert child_environment(tmp_path)["PYTHONHASHSEED"] == "0"
    assert _sandbox_environment()["PYTHONHASHSEED"] == "0"
