"""What the grader's own tests share besides fixtures: paths, sample gradings, load.

`tests/` is on `sys.path` through pytest's `pythonpath` option (pyproject.toml), so a
test imports these as `from helpers import REPO` or `from helpers.load import
cores_busy`, under a bare `pytest` as under `python -m pytest`. Fixtures stay in
`tests/conftest.py`.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
