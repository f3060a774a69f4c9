"""An exercise's score history as a small inline SVG: one column per graded attempt.

Column height is the score as a fraction of the maximum; a full-marks column is marked
with a tick. Attempts of another file (``--file``) are drawn as outlines and labelled
"f", so the chart reads without colour; each column has a tooltip title with its date
and score. Input is plain data, output an SVG string with no external references.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from grader.supervision.sanitize import clean_name

__all__ = ["HistoryPoint", "history_summary", "history_svg"]

HEIGHT = 96  # px of plot
TOP = 14
BOTTOM = 22
LEFT = 34
MAX_COLUMN = 28  # px
MAX_LABELS = 24  # column numbers shown; with more attempts, every n-th is labelled


@dataclass(frozen=True)
class HistoryPoint:
    label: str  # "3": the attempt's number for this exercise
    when: str  # how to show its time, e.g. "2024-05-02 14:03"
    score: int
    max_score: int
    own_stub: bool  # False for a --file grading

    @property
    def fraction(self) -> float:
        # Clamped, so a stored score outside 0..max can't draw outside the chart.
        return min(max(self.score / self.max_score, 0.0), 1.0) if self.max_score > 0 else 0.0


def history_summary(points: Sequence[HistoryPoint]) -> str:
    if not points:
        return "No attempts yet."
    scores = ", ".join(f"{p.score}/{p.max_score}" for p in points)
    plural = "s" if len(points) != 1 else ""
    return f"Scores of {len(points)} attempt{plural}, oldest first: {scores}."


def history_svg(points: Sequence[HistoryPoint], *, width: int = 640) -> str:
    count = max(len(points), 1)
    plot = width - LEFT - 8
    slot = plot / count
    column = min(MAX_COLUMN, slot * 0.7)
    height = TOP + HEIGHT + BOTTOM
    summary = history_summary(points)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="history" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(summary)}" font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(summary)}</title>",
    ]
    for fraction, text in ((0.0, "0%"), (0.5, "50%"), (1.0, "100%")):
        y = round(TOP + HEIGHT * (1 - fraction), 2)
        parts.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{width - 8}" y2="{y}" stroke="#dddddd"/>'
            f'<text x="{LEFT - 4}" y="{y + 4}" text-anchor="end" fill="#555555">{text}</text>'
        )
    every = math.ceil(len(points) / MAX_LABELS) if points else 1  # label every n-th column
    for i, point in enumerate(points):
        centre = LEFT + slot * (i + 0.5)
        top = round(TOP + HEIGHT * (1 - point.fraction), 2)
        tall = max(round(HEIGHT * point.fraction, 2), 1.5)
        own = point.own_stub
        label = clean_name(point.label, 12)
        title = (f"Attempt {label}, {clean_name(point.when, 40)}: {point.score}/{point.max_score}"
                 + ("" if own else " (another file, --file)"))
        parts.append(
            f'<rect class="attempt{"" if own else " other-file"}" '
            f'x="{round(centre - column / 2, 2)}" y="{min(top, TOP + HEIGHT - tall)}" '
            f'width="{round(column, 2)}" height="{tall}" '
            f'fill="{"#2e7d4f" if point.fraction >= 1 else "#2f6fb0" if own else "#ffffff"}" '
            f'stroke="{"#2e7d4f" if point.fraction >= 1 else "#2f6fb0"}" stroke-width="1.5">'
            f"<title>{escape(title)}</title></rect>"
        )
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{round(centre, 2)}" y="{TOP + HEIGHT + 15}" text-anchor="middle" '
                f'fill="#333333">{escape(label)}{"" if own else "f"}</text>'
            )
        if point.fraction >= 1 and every == 1:
            parts.append(f'<text x="{round(centre, 2)}" y="{top - 3}" text-anchor="middle" '
                         f'fill="#2e7d4f" font-weight="bold">✓</text>')
    parts.append("</svg>")
    return "".join(parts)
