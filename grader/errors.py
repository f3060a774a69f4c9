"""User-facing errors: one line saying what is wrong, where, and what to do.

Plain exceptions, so the engine, the runner and bulk grading depend on no CLI library;
``grader.cli`` turns each into one line on stderr and exit status 2 (a usage problem,
distinct from "some checks failed").
"""

from __future__ import annotations

__all__ = [
    "GradebookError",
    "GraderError",
    "MetadataError",
    "MissingFileError",
    "ProgressCorruptError",
    "ProgressStoreError",
    "ProgressTooNewError",
    "SubmissionsError",
    "UnknownExerciseError",
]


class GraderError(Exception):
    """Raised when the grader cannot do what was asked, for a reason the user can fix."""

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def format_message(self) -> str:
        return self.message


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


class ProgressStoreError(GraderError):
    """Raised when the progress record can't be read or written; names the file and a fix."""


class ProgressCorruptError(ProgressStoreError):
    """Raised when the progress record is not a readable database; never reset silently."""

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(
            f"Your progress record {path} is damaged ({detail}). Your exercise files are "
            f"fine. To start a fresh record, move the damaged one aside: "
            f"mv '{path}' '{path}.broken' and run grade again (keep the .broken file if "
            f"you want to try `sqlite3 '{path}.broken' .recover`)."
        )


class ProgressTooNewError(ProgressStoreError):
    """Raised when the progress record was written by a newer grader than this one."""

    def __init__(self, path: object, found: int, supported: int) -> None:
        super().__init__(
            f"Your progress record {path} was written by a newer grader (record format "
            f"v{found}; this grader reads up to v{supported}). Update the course (git "
            f"pull, or download its new release) and run pip install -e . in it again, or "
            f"use --db PATH / GRADER_PROGRESS_DB to keep this run's record in another file."
        )


class SubmissionsError(GraderError):
    """Raised when ``grade bulk`` is given a submissions or results folder it cannot use."""


class GradebookError(GraderError):
    """Raised when a bulk gradebook can't be opened: damaged, or from a newer grader."""

    def __init__(self, path: object, detail: str) -> None:
        super().__init__(
            f"The gradebook {path} can't be used ({detail}). Move it aside "
            f"(mv '{path}' '{path}.old') and run grade bulk again: everything is regraded."
        )
