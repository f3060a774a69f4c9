"""The grade columns of an LMS gradebook, and the CSV text every LMS writer shares.

An LMS matches an uploaded column to one of its assignments by the assignment's id,
which only the instructor knows (Canvas shows it in the assignment's address, Blackboard
in "Quick Column Information"). Without one, the importer creates a new assignment named
after the column. So the instructor chooses each column's title, and may give the id:

* ``--lms-columns 'Exercise {number}: {title}'``, a template for every exercise
  (placeholders below), or
* ``--lms-columns columns.txt``, a mapping file, one ``exercise = Title (id)`` per line
  (``exercise-03 = Concurrent fetch (1234)``); exercises it doesn't name use the default
  template. The exercise may be written any way ``grade`` accepts (``03``, ``3``, the
  slug); ``#`` starts a comment.

Bad input stops the run before any grading, with the file and line named.
"""

from __future__ import annotations

import csv
import io
import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from grader.errors import GraderError
from grader.supervision.sanitize import clean_name, spreadsheet_cell

if TYPE_CHECKING:
    from grader.bulk.classbook import ClassResults, ExerciseInfo, ExerciseOutcome
    from grader.course.course import Course, Exercise

__all__ = ["DEFAULT_TEMPLATE", "ColumnSpec", "ColumnsError", "GradeColumn", "LmsFile",
           "csv_text", "grade_cell", "grade_columns", "parse_columns", "split_name",
           "text_cell"]

DEFAULT_TEMPLATE = "Exercise {number}: {title}"
PLACEHOLDERS = ("number", "n", "name", "short_name", "slug", "title", "points")
_TITLE_AND_ID = re.compile(r"^(?P<title>.*\S)\s*\((?P<id>\d+)\)$")
_MAX_MAPPING_BYTES = 1024 * 1024


class ColumnsError(GraderError):
    """Raised when ``--lms-columns`` is a template or mapping file that can't be used."""


@dataclass(frozen=True)
class GradeColumn:
    """One grade column: an exercise's score, or one task's part of it."""

    exercise: str  # ExerciseInfo.name
    title: str  # as the instructor named it
    points: int  # points possible
    lms_id: str = ""  # the LMS's assignment or column id, when the instructor gave one
    task: int | None = None  # None: the whole exercise


@dataclass(frozen=True)
class ColumnSpec:
    """How to title each exercise's column: a template, and per-exercise overrides."""

    template: str = DEFAULT_TEMPLATE
    mapped: Mapping[str, tuple[str, str]] = field(default_factory=dict)  # name -> (title, id)
    source: str = ""  # the mapping file, for messages


@dataclass(frozen=True)
class LmsFile:
    """A gradebook ready to write, and what the instructor must know to import it."""

    file_name: str
    data: bytes
    notes: tuple[str, ...] = ()


def _check_template(template: str, where: str) -> None:
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:
        raise ColumnsError(f"{where}: the template {template!r} is not valid ({exc}); write "
                           "placeholders as {number} or {title}, and braces as {{ }}") from None
    for name in fields:
        if name not in PLACEHOLDERS:
            raise ColumnsError(
                f"{where}: unknown placeholder {{{name}}} in {template!r}; use "
                + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS))
    if not template.strip():
        raise ColumnsError(f"{where}: the column template is empty; give one such as "
                           f"{DEFAULT_TEMPLATE!r}")


def parse_columns(value: str | None, course: Course, exercises: Sequence[Exercise]) -> ColumnSpec:
    """The column spec from ``--lms-columns``: a mapping file if one exists there, else a
    template. Raises :class:`ColumnsError` naming the line to fix."""
    if not value:
        return ColumnSpec()
    path = Path(value)
    if not path.is_file():
        if "{" not in value and ("=" in value or value.endswith((".txt", ".csv", ".map"))):
            raise ColumnsError(f"--lms-columns {value}: no such file; give a mapping file "
                               "that exists, or a template such as "
                               f"{DEFAULT_TEMPLATE!r}")
        _check_template(value, "--lms-columns")
        return ColumnSpec(template=value)
    return _read_mapping(path, course, exercises)


def _read_mapping(path: Path, course: Course, exercises: Sequence[Exercise]) -> ColumnSpec:
    try:
        data = path.read_bytes()[: _MAX_MAPPING_BYTES + 1]
    except OSError as exc:
        raise ColumnsError(f"Can't read the column mapping {path} ({exc.strerror}).") from None
    if len(data) > _MAX_MAPPING_BYTES:
        raise ColumnsError(f"{path} is larger than 1 MiB; a column mapping has one short "
                           "line per exercise")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_number = data[: exc.start].count(b"\n") + 1
        raise ColumnsError(f"{path} line {line_number} is not UTF-8 text; save the file as UTF-8"
                           ) from None
    graded = {e.name for e in exercises}
    mapped: dict[str, tuple[str, str]] = {}
    seen: dict[str, int] = {}
    template = DEFAULT_TEMPLATE
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        key, sep, value = line.partition("=")
        key, value = key.strip(), value.strip()
        where = f"{path} line {number}"
        if not sep or not key or not value:
            raise ColumnsError(f"{where}: expected 'exercise-03 = Title (assignment id)', "
                               f"found {clean_name(raw, 80)!r}")
        if key == "*":  # a template for the exercises not named
            _check_template(value, where)
            template = value
            continue
        try:
            exercise = course.resolve(key)
        except GraderError:
            raise ColumnsError(f"{where}: no exercise called {clean_name(key, 80)!r}; write it "
                               "as exercise-03, 03 or its slug") from None
        if exercise.name in seen:
            raise ColumnsError(f"{where}: {exercise.short_name} is already mapped on line "
                               f"{seen[exercise.name]}; keep one")
        seen[exercise.name] = number
        match = _TITLE_AND_ID.match(value)
        title, lms_id = (match["title"], match["id"]) if match else (value, "")
        if exercise.name in graded:
            mapped[exercise.name] = (title, lms_id)
    return ColumnSpec(template=template, mapped=mapped, source=str(path))


def _template_title(template: str, info: ExerciseInfo) -> str:
    number = info.short_name.rsplit("-", 1)[-1]
    slug = info.name.split("-", 2)[-1]
    return template.format(number=number, n=int(number), name=info.name,
                           short_name=info.short_name, slug=slug, title=info.title,
                           points=info.max_score)


def grade_columns(results: ClassResults, spec: ColumnSpec, *, per_task: bool = False
                  ) -> list[GradeColumn]:
    """One column per exercise, then (``per_task``) one per task of it, in course order."""
    columns: list[GradeColumn] = []
    for info in results.exercises:
        title, lms_id = spec.mapped.get(info.name) or (_template_title(spec.template, info), "")
        title = " ".join(title.split())  # one line, single spaces: a header is one cell
        columns.append(GradeColumn(info.name, title, info.max_score, lms_id))
        if per_task:
            tasks = sorted({c.task for c in info.checks})
            for task in tasks:
                points = sum(c.points for c in info.checks if c.task == task)
                columns.append(GradeColumn(info.name, f"{title} - Task {task}", points,
                                           task=task))
    titles = [c.title for c in columns]
    twice = sorted({t for t in titles if titles.count(t) > 1})
    if twice:
        raise ColumnsError(f"--lms-columns gives several columns the same title ({twice[0]!r}); "
                           "include {number} in the template or name each exercise")
    return columns


def grade_cell(outcome: ExerciseOutcome, column: GradeColumn) -> str:
    """Points as a number, or blank when there is no grade to give.

    Blank, never 0, for a student who handed nothing in or whose entry was rejected:
    every importer reads a blank cell as "no grade" and leaves the LMS's own value alone,
    while a 0 would be published as a grade nobody decided on.
    """
    if outcome.state != "graded" or outcome.result is None:
        return ""
    if column.task is None:
        return str(outcome.result.score)
    return str(sum(c.points for c in outcome.result.checks if c.task == column.task))


def text_cell(value: str) -> str:
    """A text cell no spreadsheet evaluates and that holds no control character."""
    return spreadsheet_cell(clean_name(value))


def split_name(name: str) -> tuple[str, str]:
    """(first, last) of a display name: "Roe, Jane" and "Jane Roe" both give (Jane, Roe)."""
    name = " ".join(name.split())
    if "," in name:
        last, _, first = name.partition(",")
        return first.strip(), last.strip()
    first, _, last = name.rpartition(" ")
    return (first, last) if first else ("", last)


def csv_text(rows: Iterable[Sequence[str]], *, bom: bool = True, quote_all: bool = False) -> bytes:
    """UTF-8 CSV with CRLF line ends (RFC 4180), and a byte order mark when ``bom``.

    The mark is what makes Excel read the file as UTF-8 (without it, "Zoë" shows as
    "ZoÃ«"); every importer written for here skips it (Moodle's reader strips it, Canvas
    matches its header by substring, Blackboard reads UTF-8 with it).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n",
                        quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode("utf-8")
