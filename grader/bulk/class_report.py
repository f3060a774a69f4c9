"""The class summary an instructor reads after a bulk run, as one self-contained HTML page.

What it answers, in order: how did each exercise go (score distribution), which checks
failed most and which misconceptions were behind them (to plan the next lecture), whose
submission timed out or crashed (to look at by hand), which students handed in the same
or nearly the same file (:mod:`grader.bulk.similarity`), what intake rejected or
flagged, and how long grading took.

"Unchanged stub" means byte-for-byte the stub as the course handed it out
(:mod:`grader.bulk.pristine`), never the working copy's exercise file, which in an
instructor's checkout may be solved; such submissions are left out of the most-failed
checks, as their failures say nothing about misconceptions.

The numbers are computed here as plain data (:func:`summarize`) and the page is a jinja2
template (``grader/render/templates/class_report.html.j2``), so the arithmetic is testable
without parsing HTML.

Failures are grouped by their *misconception* text, which each hidden check writes once
per kind of mistake, rather than by the ``what`` message, which restates the student's
own values and so differs for everybody.

Student folder names and intake's messages are cleaned here (:mod:`grader.supervision.sanitize`),
as the summary is built, and results are clean when built, so the page holds no control
character or escape sequence; the template autoescapes, so none of it becomes markup.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

from grader.bulk.classbook import ClassResults, ExerciseInfo
from grader.bulk.exports import write_atomic
from grader.bulk.similarity import MIN_OWN, THRESHOLD, CopyMatch
from grader.supervision.results import CheckResult
from grader.supervision.sanitize import clean_name, clean_text

__all__ = ["ClassSummary", "render_class_report", "summarize", "write_class_report"]

NOT_WRITTEN = "Not written yet: the stub's NotImplementedError is still there."
TOP_CHECKS = 10
TOP_REASONS = 3


@dataclass(frozen=True)
class Bar:
    label: str
    count: int
    share: float  # of the tallest bar, for drawing


@dataclass(frozen=True)
class ExerciseStats:
    info: ExerciseInfo
    submitted: int
    graded: int
    unchanged_stub: int
    full_marks: int
    zero: int
    mean: float | None
    median: float | None
    distribution: tuple[Bar, ...]


@dataclass(frozen=True)
class FailedCheck:
    exercise: str
    check: str
    title: str
    failed: int
    graded: int
    reasons: tuple[tuple[str, int], ...]  # (misconception or message, how many)

    @property
    def rate(self) -> float:
        return self.failed / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Trouble:
    student: str
    exercise: str
    kind: str  # "timed out" or "crashed"
    checks: int  # how many checks ended that way
    message: str


@dataclass(frozen=True)
class Timing:
    wall_seconds: float
    gradings_run: int
    reused: int
    grading_seconds: float
    median: float | None
    p95: float | None
    slowest: tuple[tuple[str, str, float], ...]  # (student, exercise, seconds)


@dataclass(frozen=True)
class Copying:
    """One match of the "possible copying" section, names cleaned for the page."""

    exercise: str  # short name
    first: tuple[str, ...]
    second: tuple[str, ...]  # empty: ``first`` handed in byte-identical files
    score: float
    own: int  # fingerprints beyond the stub, of the smaller file


@dataclass(frozen=True)
class ClassSummary:
    students: int
    complete: bool
    max_total: int
    totals: tuple[Bar, ...]
    exercises: tuple[ExerciseStats, ...]
    failed_checks: tuple[FailedCheck, ...]
    troubles: tuple[Trouble, ...]
    rejected: tuple[tuple[str, str, str], ...]  # (student, exercise or "", why)
    flagged: tuple[tuple[str, str], ...]  # (student, flag)
    for_review: tuple[tuple[str, str, str], ...]  # (student, exercise, evidence of tampering)
    unprotected: tuple[str, ...]  # protections the machine could not apply, if any
    not_graded: tuple[tuple[str, str, str], ...]  # (student, exercise, why)
    timing: Timing
    links: Mapping[str, str] = field(default_factory=dict)  # student, as shown -> file
    notes: tuple[str, ...] = ()  # roster matching, stray files, LMS import instructions
    copying: tuple[Copying, ...] = ()
    copy_threshold: float = THRESHOLD
    copy_min_own: int = MIN_OWN


def _reason(check: CheckResult) -> str:
    feedback = check.feedback
    if feedback is None:
        return f"Ended as '{check.status}' without a message."
    if feedback.what.startswith("Not written yet"):
        return NOT_WRITTEN
    return feedback.misconception or feedback.what


def _is_crash(check: CheckResult) -> bool:
    return check.status == "error" and _reason(check) != NOT_WRITTEN


def _bars(counts: Mapping[str, int]) -> tuple[Bar, ...]:
    tallest = max(counts.values(), default=0) or 1
    return tuple(Bar(label, n, n / tallest) for label, n in counts.items())


def _distribution(scores: list[int], max_score: int, buckets: int = 12) -> tuple[Bar, ...]:
    if max_score <= buckets:
        counts = {str(s): 0 for s in range(max_score + 1)}
        for score in scores:
            counts[str(score)] += 1
        return _bars(counts)
    width = -(-(max_score + 1) // buckets)
    edges = list(range(0, max_score + 1, width))
    counts = {f"{lo}-{min(lo + width - 1, max_score)}": 0 for lo in edges}
    labels = list(counts)
    for score in scores:
        counts[labels[min(score // width, len(labels) - 1)]] += 1
    return _bars(counts)


def _percentile(values: list[float], fraction: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def _exercise_stats(results: ClassResults, info: ExerciseInfo) -> ExerciseStats:
    outcomes = [s.outcome(info.name) for s in results.students]
    graded = [o for o in outcomes if o.result is not None]
    scores = [o.result.score for o in graded if o.result is not None]
    return ExerciseStats(
        info=info,
        submitted=sum(o.state in ("graded", "not graded") for o in outcomes),
        graded=len(graded),
        unchanged_stub=sum(o.unchanged_stub for o in outcomes),
        full_marks=sum(s == info.max_score for s in scores),
        zero=sum(s == 0 for s in scores),
        mean=statistics.fmean(scores) if scores else None,
        median=statistics.median(scores) if scores else None,
        distribution=_distribution(scores, info.max_score),
    )


def _failed_checks(results: ClassResults) -> list[FailedCheck]:
    found = []
    for info in results.exercises:
        attempted = [o.result for s in results.students
                     if (o := s.outcome(info.name)).result is not None and not o.unchanged_stub]
        for check in info.checks:
            reasons: Counter[str] = Counter()
            for result in attempted:
                mine = next((c for c in result.checks if c.name == check.name), None)
                # A check held back by one it requires is counted at that one, not here.
                if mine is not None and not mine.passed and mine.status != "blocked":
                    reasons[_reason(mine)] += 1
            if reasons:
                found.append(FailedCheck(info.short_name, check.name, check.title,
                                         sum(reasons.values()), len(attempted),
                                         tuple(reasons.most_common(TOP_REASONS))))
    found.sort(key=lambda f: (-f.failed, -f.rate, f.exercise, f.check))
    return found[:TOP_CHECKS]


def _troubles(results: ClassResults) -> list[Trouble]:
    found = []
    for student in results.students:
        for info, outcome in zip(results.exercises, student.outcomes, strict=True):
            if outcome.result is None:
                continue
            checks = outcome.result.checks
            for kind, matches in (("timed out", lambda c: c.status == "timed out"),
                                  ("crashed", _is_crash)):
                hit = [c for c in checks if matches(c)]
                if hit:
                    message = hit[0].feedback.what if hit[0].feedback else hit[0].status
                    found.append(Trouble(clean_name(student.student), info.short_name, kind,
                                         len(hit), clean_text(message)))
    return found


def _timing(results: ClassResults) -> Timing:
    measured: list[tuple[str, str, float]] = []
    reused = 0
    for student in results.students:
        for info, outcome in zip(results.exercises, student.outcomes, strict=True):
            if outcome.result is None:
                continue
            if outcome.reused_from is not None:
                reused += 1
            else:
                measured.append((clean_name(student.student), info.short_name,
                                 outcome.seconds))
    seconds = [m[2] for m in measured]
    return Timing(
        wall_seconds=results.wall_seconds,
        gradings_run=len(measured),
        reused=reused,
        grading_seconds=sum(seconds),
        median=statistics.median(seconds) if seconds else None,
        p95=_percentile(seconds, 0.95),
        slowest=tuple(sorted(measured, key=lambda m: -m[2])[:5]),
    )


def _listed(results: ClassResults, state: str) -> list[tuple[str, str, str]]:
    rows = []
    for student in results.students:
        name = clean_name(student.student)
        if state == "rejected" and student.problems:
            rows.append((name, "", clean_text("; ".join(student.problems))))
            continue
        for info, outcome in zip(results.exercises, student.outcomes, strict=True):
            if outcome.state == state:
                rows.append((name, info.short_name, clean_text(outcome.reason)))
    return rows


def _runner_notes(results: ClassResults, prefix: str) -> list[tuple[str, str, str]]:
    """(student, exercise, note) for the runner's notes starting with ``prefix``."""
    rows = []
    for student in results.students:
        for info, outcome in zip(results.exercises, student.outcomes, strict=True):
            for note in outcome.result.notes if outcome.result else ():
                if note.startswith(prefix):
                    rows.append((clean_name(student.student), info.short_name,
                                 note.removeprefix(prefix)))
    return rows


def _copying(results: ClassResults, matches: Sequence[CopyMatch]) -> tuple[Copying, ...]:
    short = {info.name: info.short_name for info in results.exercises}
    return tuple(
        Copying(short.get(m.exercise, clean_name(m.exercise)),
                tuple(clean_name(s) for s in m.first), tuple(clean_name(s) for s in m.second),
                m.score, m.own)
        for m in matches)


def summarize(results: ClassResults, links: Mapping[str, str] | None = None,
              notes: Sequence[str] = (), copying: Sequence[CopyMatch] = ()) -> ClassSummary:
    """Everything the class page shows, computed; ``notes`` are shown as given (cleaned),
    ``copying`` are :func:`grader.bulk.similarity.find_copying`'s matches."""
    totals = [t for s in results.students if (t := s.total) is not None]
    return ClassSummary(
        students=len(results.students),
        complete=results.complete,
        max_total=results.max_total,
        totals=_distribution(totals, results.max_total),
        exercises=tuple(_exercise_stats(results, info) for info in results.exercises),
        failed_checks=tuple(_failed_checks(results)),
        troubles=tuple(_troubles(results)),
        rejected=tuple(_listed(results, "rejected")),
        flagged=tuple((clean_name(s.student), clean_text(flag))
                      for s in results.students for flag in s.flags),
        for_review=tuple(_runner_notes(results, "flagged for review: ")),
        unprotected=tuple(sorted({note for _, _, note in
                                  _runner_notes(results, "protection not available: ")})),
        not_graded=tuple(_listed(results, "not graded")),
        timing=_timing(results),
        # Keyed by the name as the page shows it; the link itself is a file name we made.
        links={clean_name(student): link for student, link in (links or {}).items()},
        notes=tuple(clean_text(note) for note in notes),
        copying=_copying(results, copying),
    )


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("grader.render", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_class_report(summary: ClassSummary) -> str:
    return _environment().get_template("class_report.html.j2").render(s=summary)


def write_class_report(results: ClassResults, path: Path,
                       links: Mapping[str, str] | None = None,
                       notes: Sequence[str] = (),
                       copying: Sequence[CopyMatch] = ()) -> ClassSummary:
    summary = summarize(results, links, notes, copying)
    write_atomic(path, render_class_report(summary))
    return summary
