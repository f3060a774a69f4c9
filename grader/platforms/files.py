"""The files an adapter reads and writes inside a platform: its settings, its results.

``grade autograder <platform>`` bakes the instructor's choices (which exercises, their
visibility, a per-check time limit) into a small versioned JSON file beside the
scripts, read back by the entry point that runs on the platform; a newer or malformed
file is refused in one line rather than guessed at. Results documents are written
atomically (a temporary file renamed over the old one), since a platform may read or
kill us at any moment and must never find half a document.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from grader.errors import GraderError

__all__ = ["TIME_LIMIT_ENV", "PlatformConfig", "env_time_limit", "write_json_atomically"]

FORMAT_VERSION = 1
TIME_LIMIT_ENV = "AUTOGRADER_TIME_LIMIT"


@dataclass(frozen=True)
class PlatformConfig:
    """What the instructor chose when building the upload."""

    exercises: tuple[str, ...]  # Exercise.name, in grading order
    visibility: dict[str, str] = field(default_factory=dict)  # Gradescope only
    time_limit: float | None = None  # real seconds per check; None: each exercise's own

    def to_json(self) -> str:
        return json.dumps({"format_version": FORMAT_VERSION, "exercises": list(self.exercises),
                           "visibility": self.visibility, "time_limit": self.time_limit},
                          indent=2) + "\n"

    @classmethod
    def load(cls, path: Path) -> PlatformConfig:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            raise GraderError(f"{path} is missing: rebuild the upload with "
                              "`grade autograder`.") from None
        except (OSError, ValueError) as exc:
            raise GraderError(f"{path} cannot be read ({exc}): rebuild the upload with "
                              "`grade autograder`.") from None
        if not isinstance(data, Mapping) or data.get("format_version") != FORMAT_VERSION:
            raise GraderError(f"{path} is not a format {FORMAT_VERSION} autograder setting "
                              "file: rebuild the upload with this grader's `grade autograder`.")
        exercises = data.get("exercises")
        visibility = data.get("visibility") or {}
        limit = data.get("time_limit")
        if (not isinstance(exercises, list) or not all(isinstance(e, str) for e in exercises)
                or not isinstance(visibility, Mapping)
                or not (limit is None or _positive(limit))):
            raise GraderError(f"{path} has a malformed field (exercises, visibility or "
                              "time_limit): rebuild the upload with `grade autograder`.")
        return cls(tuple(exercises), {str(k): str(v) for k, v in visibility.items()},
                   float(limit) if limit is not None else None)


def _positive(value: Any) -> bool:
    return (isinstance(value, int | float) and not isinstance(value, bool)
            and math.isfinite(value) and value > 0)


def env_time_limit() -> float | None:
    """``$AUTOGRADER_TIME_LIMIT`` (seconds per check), for trying an upload quickly."""
    raw = os.environ.get(TIME_LIMIT_ENV, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not _positive(value):
        raise GraderError(f"{TIME_LIMIT_ENV}={raw} is not a positive number of seconds.")
    return value


def write_json_atomically(path: Path, document: Mapping[str, Any]) -> None:
    """Write ``document`` as strict JSON to ``path`` (folders created) in one rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(document, allow_nan=False, indent=2, ensure_ascii=False)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
