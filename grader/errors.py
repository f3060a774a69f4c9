"""User-facing errors: one line saying what is wrong, where, and what to do.

Each is a ``click.ClickException`` so the CLI prints it without a traceback and exits
with status 2 (a usage problem, distinct from "some checks failed").
"""

from __future__ import annotations

import click

__all__ = [
    "GraderError",
    "MetadataError",
    "MissingFileError",
    "UnknownExerciseError",
]


class GraderError(click.ClickException):
    """Raised when the grader cannot do what was asked, for a reason the user can fix."""

    exit_code = 2


class UnknownExerciseError(GraderError):
    """Raised when a name matches no exercise; suggests the closest ones."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f" Did you mean {', '.join(suggestions)}?" if suggestions else ""
        super().__init__(f"No exercise called '{name}'.{hint} Run 'grade list' to see them all.")


class MissingFileError(GraderError):
    """Raised when a file the grader needs (stub, solution, suite) is not there."""


class MetadataError(GraderError):
    """Raised when an exercise's metadata file is malformed; names the file and field."""

    def __init__(self, path: object, field: str, problem: str) -> None:
        super().__init__(f"{path}: field '{field}' {problem}. Fix the file and try again.")
