"""Grading results as plain data: what the CLI prints, --json emits and reports store.

A submission that cannot run is a result state (every check errored or timed out with
the reason), never an exception escaping to the caller.

Results are clean by construction: every text field, number and timeline goes through
:mod:`grader.supervision.sanitize` when a result is built, whether from a grading child's record,
the bulk gradebook or a student's progress record. So data stored before those rules
existed (a NaN, a lone surrogate, an escape sequence, a timeline of 12,000 operations)
is made safe as it is read, and no output has to trust what it is given. Cleaning is
idempotent, so building a result from a clean one (``dataclasses.replace``) changes
nothing. :meth:`GradeResult.to_json` is strict JSON (no NaN can be written).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from grader.engine.feedback import Feedback
from grader.supervision.sanitize import (
    NAME_LIMIT,
    TEXT_LIMIT,
    TRACEBACK_LIMIT,
    clean_name,
    clean_number,
    clean_text,
    clean_timeline,
)

__all__ = ["OUTPUT_LIMIT", "OUTPUT_LINES", "STATUSES", "STATUS_LABELS", "CheckResult",
           "GradeResult", "clean_output"]

STATUSES = ("passed", "failed", "error", "timed out", "blocked")
"""How a check ended. ``blocked``: the code satisfies the check, but a check it requires
(metadata ``requires``) has not passed, so it is not counted yet and earns nothing."""

STATUS_LABELS = {"passed": "passed", "failed": "failed", "error": "error",
                 "timed out": "timed out", "blocked": "not counted yet"}
"""How each stored status reads to a person (terminal, JSON ``label``, reports)."""


OUTPUT_LIMIT = 2_000  # characters of one check's printed output kept in a result
OUTPUT_LINES = 30  # lines of it: a print in a loop must not bury the feedback


def clean_output(value: object, lines: object = None) -> str:
    """What a check printed, safe and short: at most OUTPUT_LINES lines of OUTPUT_LIMIT
    characters in all, saying what was cut. Idempotent, like every cleaning here.

    ``lines`` is how many lines were printed in all, when the grading child kept only
    the start of them (it says so); a count that is not a sane number is ignored, and
    a forged one only misleads its forger. Lines are cut first, so the count given is
    of lines printed; the character cap then bounds one very long line too.
    """
    text = clean_text(value, OUTPUT_LIMIT * 4).rstrip("\n")  # print's last newline
    shown = text.split("\n")
    if len(shown) > OUTPUT_LINES:
        total = max(len(shown), _whole(lines))
        rest = total - (OUTPUT_LINES - 1)
        text = "\n".join([*shown[:OUTPUT_LINES - 1], f"… ({rest:,} more lines)"])
    return clean_text(text, OUTPUT_LIMIT)


def _whole(value: object) -> int:
    """A count or a number of points: a finite number as an int, anything else 0."""
    number = clean_number(value)
    return 0 if number is None else int(number)


def _clean_feedback(feedback: Feedback | None) -> Feedback | None:
    if feedback is None:
        return None
    return Feedback(clean_text(feedback.what), clean_text(feedback.misconception),
                    clean_text(feedback.next_step))


def _set(instance: object, **values: object) -> None:
    """Assign fields of a frozen dataclass instance during ``__post_init__``."""
    for name, value in values.items():
        object.__setattr__(instance, name, value)


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    task: int
    status: str
    points: int
    max_points: int
    feedback: Feedback | None = None
    traceback: str = ""
    duration: float = 0.0
    sim_elapsed: float | None = None
    timeline: dict[str, Any] | None = None
    output: str = ""  # what the student's code printed during the check (stdout, stderr)

    def __post_init__(self) -> None:
        duration = clean_number(self.duration)
        _set(self, name=clean_name(self.name), title=clean_name(self.title),
             task=_whole(self.task), status=clean_name(self.status, 20),
             points=_whole(self.points), max_points=_whole(self.max_points),
             feedback=_clean_feedback(self.feedback),
             traceback=clean_text(self.traceback, TRACEBACK_LIMIT),
             duration=0.0 if duration is None else duration,
             sim_elapsed=clean_number(self.sim_elapsed), timeline=clean_timeline(self.timeline),
             output=clean_output(self.output))

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def label(self) -> str:
        """The status as a person reads it: ``blocked`` is "not counted yet"."""
        return STATUS_LABELS.get(self.status, self.status)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["feedback"] = self.feedback.to_dict() if self.feedback else None
        data["label"] = self.label
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CheckResult:
        """Read one stored check; fields this version does not know are ignored."""
        feedback = data.get("feedback")
        return cls(
            name=data.get("name", "?"), title=data.get("title", ""), task=data.get("task", 0),
            status=data.get("status", "error"), points=data.get("points", 0),
            max_points=data.get("max_points", 0),
            feedback=Feedback.from_dict(feedback) if isinstance(feedback, Mapping) and feedback
            else None,
            traceback=data.get("traceback") or "", duration=data.get("duration", 0.0),
            sim_elapsed=data.get("sim_elapsed"), timeline=data.get("timeline"),
            output=data.get("output") or "",
        )


@dataclass(frozen=True)
class GradeResult:
    exercise: str
    title: str
    graded_file: str
    checks: tuple[CheckResult, ...]
    duration: float
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        duration = clean_number(self.duration)
        _set(self, exercise=clean_name(self.exercise), title=clean_name(self.title),
             graded_file=clean_name(self.graded_file, NAME_LIMIT * 2),
             checks=tuple(self.checks), duration=0.0 if duration is None else duration,
             notes=tuple(clean_text(note, TEXT_LIMIT) for note in self.notes))

    @property
    def score(self) -> int:
        return sum(c.points for c in self.checks)

    @property
    def max_score(self) -> int:
        return sum(c.max_points for c in self.checks)

    @property
    def all_passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def to_dict(self) -> dict[str, Any]:
        return {
            "exercise": self.exercise,
            "title": self.title,
            "graded_file": self.graded_file,
            "score": self.score,
            "max_score": self.max_score,
            "all_passed": self.all_passed,
            "duration": round(self.duration, 4),
            "notes": list(self.notes),
            "checks": [c.to_dict() for c in self.checks],
        }

    def naming_file(self, graded_as: str, name: str) -> GradeResult:
        """This result with its messages naming ``name`` where they name ``graded_as``.

        A file given with ``--file`` is graded as a copy under the module's own name
        (the name the hidden suite imports), so the messages and tracebacks written
        in the child name that copy ("Syntax error at fetcher.py"); the student knows
        the file by its own name. Only the whole file name is replaced.
        """
        name = clean_name(name)
        if graded_as == name:
            return self
        pattern = re.compile(rf"(?<![\w.-]){re.escape(graded_as)}(?![\w-])")

        def swap(text: str) -> str:
            return pattern.sub(lambda _: name, text)

        checks = tuple(
            replace(check, traceback=swap(check.traceback),
                    feedback=None if check.feedback is None else Feedback(
                        swap(check.feedback.what), swap(check.feedback.misconception),
                        swap(check.feedback.next_step)))
            for check in self.checks)
        return replace(self, checks=checks)

    def to_json(self, **options: Any) -> str:
        """:meth:`to_dict` as strict JSON (``allow_nan=False``); ``options`` go to json.dumps."""
        return json.dumps(self.to_dict(), allow_nan=False, **options)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GradeResult:
        """Read a stored result (``--json`` output, a gradebook verdict), cleaning it."""
        notes = data.get("notes") or ()
        return cls(
            exercise=data["exercise"],
            title=data.get("title", ""),
            graded_file=data.get("graded_file", ""),
            checks=tuple(CheckResult.from_dict(c) for c in data.get("checks") or ()
                         if isinstance(c, Mapping)),
            duration=data.get("duration", 0.0),
            notes=tuple(notes) if isinstance(notes, list | tuple) else (),
        )
