"""One student's progress as a single self-contained HTML file (``grade report``).

Everything is inline (CSS in a ``<style>``, charts as inline SVG, no scripts, fonts or
images to fetch), so the file opens offline, can be mailed or archived, and prints.
A Content-Security-Policy of ``default-src 'none'`` makes that a promise: if anything
ever tried to load, the browser would refuse and the browser test would see it.

:func:`render_report` takes plain data only (a :class:`~grader.state.progress.CourseProgress`
and the student's :class:`~grader.state.progress_store.Attempt` list), so an instructor's
tool can render one report per student from their records without a course checkout
beyond the metadata. Results are clean by construction (:mod:`grader.supervision.results`) and the
template autoescapes, so nothing a student wrote becomes markup or a control character.
Pictures come from :mod:`grader.render.timeline_svg` and :mod:`grader.render.history_svg`; the page
layout is ``templates/report.html.j2``.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from grader.render.history_svg import HistoryPoint, history_summary, history_svg
from grader.render.timeline_svg import timeline_summary, timeline_svg
from grader.state.progress import CourseProgress, ExerciseProgress
from grader.state.progress_store import Attempt
from grader.supervision.sanitize import clean_name

__all__ = ["render_report", "write_report"]

CHECK_MARKS = {
    "passed": ("✓", "PASS"),
    "failed": ("✗", "FAIL"),
    "error": ("!", "ERROR"),
    "timed out": ("⏱", "TIMEOUT"),
    "blocked": ("◌", "NOT COUNTED YET"),  # passes, held back by a check it requires
}
STATUS_MARKS = {"done": "✓", "in progress": "…", "not started": "·"}
ATTEMPTS_LISTED = 12  # rows in an exercise's attempts table; the chart shows every one


@dataclass(frozen=True)
class _ExerciseView:
    progress: ExerciseProgress
    rows: list[dict[str, Any]]  # the attempts table, oldest first
    history: Markup
    history_text: str
    latest: Attempt | None
    latest_number: int
    checks: list[dict[str, Any]]  # the latest attempt's checks, ready to lay out


def local_time(iso: str | None) -> str:
    """An ISO 8601 UTC time as the reader's local 'YYYY-MM-DD HH:MM'."""
    if not iso:
        return "–"
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _last_failing_timelines(earlier: Sequence[Attempt]) -> dict[str, tuple[int, dict[str, Any]]]:
    """For each timing check, (attempt number, timeline) of the last attempt it failed in.

    A student who fixed a timing check learns most from the two pictures side by side:
    the staircase that ran past the budget, and the overlapping bars that fit.
    """
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for number, attempt in enumerate(earlier, start=1):
        for check in attempt.result.checks:
            if (check.status in ("failed", "timed out") and check.timeline is not None
                    and check.timeline.get("budget") is not None):
                found[check.name] = (number, check.timeline)
    return found


def _exercise_view(progress: ExerciseProgress, attempts: Sequence[Attempt]) -> _ExerciseView:
    rows = []
    points = []
    for number, attempt in enumerate(attempts, start=1):
        result = attempt.result
        own = attempt.source == "stub"
        rows.append({
            "number": number,
            "when": local_time(attempt.graded_at),
            "score": result.score,
            "max_score": result.max_score,
            "passed": sum(c.passed for c in result.checks),
            "checks": len(result.checks),
            "hint_level": attempt.hint_level,
            "own": own,
            "file": result.graded_file,
        })
        points.append(HistoryPoint(str(number), local_time(attempt.graded_at), result.score,
                                   result.max_score, own))
    latest = attempts[-1] if attempts else None
    checks = []
    seen_problems = set()
    if latest is not None:
        before = _last_failing_timelines(attempts[:-1])
        for position, check in enumerate(latest.result.checks):
            mark, word = CHECK_MARKS.get(check.status, ("?", check.status.upper()))
            timing = check.timeline is not None and check.timeline.get("budget") is not None
            fixed = before.get(check.name) if check.passed and timing else None
            # Same failure as an earlier check (a stub, an import error): say it once.
            problem = (check.feedback.what if check.feedback else None, check.traceback)
            same = not check.passed and check.feedback is not None and problem in seen_problems
            seen_problems.add(problem)
            checks.append({
                "check": check,
                "mark": mark,
                "word": word,
                "same_as_above": same,
                "timeline": Markup(timeline_svg(
                    check.timeline, id_prefix=f"{progress.short_name}-{position}"))
                if timing and check.timeline else None,
                "timeline_text": timeline_summary(check.timeline)
                if timing and check.timeline else "",
                # Fixed since: the last failing attempt's picture beside this one.
                "before": None if fixed is None else {
                    "number": fixed[0],
                    "timeline": Markup(timeline_svg(
                        fixed[1], id_prefix=f"{progress.short_name}-{position}-before")),
                    "timeline_text": timeline_summary(fixed[1]),
                },
            })
    return _ExerciseView(
        progress=progress,
        rows=rows,
        history=Markup(history_svg(points)),
        history_text=history_summary(points),
        latest=latest,
        latest_number=len(attempts),
        checks=checks,
    )


def render_report(
    progress: CourseProgress,
    attempts: Sequence[Attempt],
    *,
    title: str = "Your progress",
    generated_at: datetime | None = None,
) -> str:
    """The whole report as one HTML string, from plain data only."""
    by_exercise: dict[str, list[Attempt]] = {}
    for attempt in sorted(attempts, key=lambda a: (a.graded_at, a.id)):
        by_exercise.setdefault(attempt.exercise, []).append(attempt)
    views = [
        _exercise_view(exercise, by_exercise.get(exercise.exercise, []))
        for exercise in progress.exercises
    ]
    template = _environment().get_template("report.html.j2")
    return template.render(
        title=clean_name(title),
        generated=(generated_at or datetime.now().astimezone()).strftime("%Y-%m-%d %H:%M"),
        progress=progress,
        percent=round(100 * progress.done / progress.total) if progress.total else 0,
        views=views,
        # In course order, as the overview lists them: a report read (or printed) twice
        # keeps its place, and each exercise follows the one it builds on.
        attempted=[v for v in views if v.rows],
        status_marks=STATUS_MARKS,
        attempts_listed=ATTEMPTS_LISTED,
        local_time=local_time,
    )


def write_report(path: Path, html: str) -> Path:
    """Write ``html`` to ``path`` atomically (a half-written report never replaces one)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(html)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path
