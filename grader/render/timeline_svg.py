"""A timing check's simulated timeline as a small inline SVG: one bar per operation.

Each operation (a fetch, a sleep) is a bar from its start to its end in simulated
seconds, one row each, so a sequential solution draws a staircase and a concurrent one
draws bars that overlap from the same start; the time budget is a dashed line with the
time past it shaded. This is the picture students look at, so it must also work
without colour (failed operations are hatched and labelled in words, the budget is
labelled), in print (no dark backgrounds) and for screen readers (``role="img"`` with
a one-sentence summary).

Input is the plain ``CheckResult.timeline`` dict ``{"operations": [{"label", "start",
"end", "outcome"}], "budget": float | None, "elapsed": float, "dropped": int}``; output
is an SVG string with no external references, usable in any HTML page. Whatever it is
given goes through :func:`grader.supervision.sanitize.clean_timeline` first (a no-op on a result's
timeline, already clean), so at most ``OPERATIONS_LIMIT`` rows are drawn and the work is
linear in the operations: the picture of a 12,000-operation timeline is as bounded as
its data, and says how many operations it leaves out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from html import escape
from typing import Any

from grader.supervision.sanitize import clean_timeline

__all__ = ["nice_step", "timeline_summary", "timeline_svg"]

ROW = 24  # px per operation
BAR = 14  # px bar height
TOP = 26  # px above the first row, for the budget label
AXIS = 34  # px below the last row, for ticks and the axis title
RIGHT = 92  # px right of the axis end, for "0.8 s, raised" labels
CHAR = 7.2  # px per character at 12 px, for sizing the label column
LABEL_GAP = 3  # px kept clear between a duration label and the budget line
LABEL_SHOWN = 24  # characters of a label written beside its bar; the tooltip has it all

COLOURS = {
    "ok": "#2f6fb0",
    "error": "#b8322a",
    "budget": "#8a1c14",
    "over": "#fbe3e1",
    "axis": "#444444",
    "grid": "#dddddd",
}


def nice_step(span: float, max_ticks: int = 8) -> float:
    """A round tick spacing (1, 2, 2.5 or 5 times a power of ten) giving few ticks."""
    if span <= 0:
        return 1.0
    raw = span / max_ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _seconds(value: float) -> str:
    """'1.0 s', '2.3 s', '0.25 s', '0.001 s': as many decimals as the value needs, up to 3."""
    text = f"{value:.3f}".rstrip("0")
    return (text + "0" if text.endswith(".") else text) + " s"


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_SHOWN else label[:LABEL_SHOWN - 1] + "…"


def _tick_label(value: float, step: float) -> str:
    decimals = 0
    while decimals < 4 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-9:
        decimals += 1
    return f"{value:.{decimals}f}"


def _clean(timeline: Mapping[str, Any]) -> tuple[list[dict[str, Any]], float, float | None, int]:
    """(operations with an end, elapsed, budget, operations left out), all finite.

    An operation still running when the check ended (no ``end``) is drawn up to the
    time the check finished.
    """
    clean = clean_timeline(timeline) or {"operations": [], "budget": None, "elapsed": None}
    ops = clean["operations"]
    elapsed = clean["elapsed"]
    if not elapsed:
        elapsed = max((t for o in ops for t in (o["start"], o["end"]) if t is not None),
                      default=0.0)
    drawn = [{**o, "end": max(o["start"], elapsed if o["end"] is None else o["end"])}
             for o in ops]
    return drawn, elapsed, clean["budget"], clean.get("dropped", 0)


def _overlapping(ops: list[dict[str, Any]]) -> bool:
    """Whether two operations ran at the same time (``a.start < b.end and b.start <
    a.end``), in one sweep in start order rather than by comparing every pair.

    Only operations that took time move the sweep's latest end: an instant one overlaps
    nothing that starts when it happens, and in (start, end) order it comes before any
    operation starting at the same time that lasts.
    """
    latest_end = -math.inf
    for op in sorted(ops, key=lambda o: (o["start"], o["end"])):
        if op["start"] < latest_end:
            return True
        if op["end"] > op["start"]:
            latest_end = max(latest_end, op["end"])
    return False


def timeline_summary(timeline: Mapping[str, Any]) -> str:
    """One sentence saying what the picture shows, for captions and screen readers."""
    ops, elapsed, budget, dropped = _clean(timeline)
    shape = ("some ran at the same time" if _overlapping(ops)
             else "one after another" if len(ops) > 1 else "")
    count = len(ops) + dropped
    words = f"{count:,} operation{'s' if count != 1 else ''}"
    if dropped:
        words += f" (the first {len(ops):,} are shown)"
    if shape:
        words += f", {shape}"
    words += f"; finished after {_seconds(elapsed)} of simulated time"
    if budget is not None:
        if elapsed > budget:
            words += f", {_seconds(elapsed - budget)} over the {_seconds(budget)} budget"
        else:
            words += f", within the {_seconds(budget)} budget"
    return words + "."


def _note_x(at: float, note: str, budget_x: float | None) -> float:
    """Where a bar's duration label starts: after the bar, unless the dashed budget line
    would run through its text; then just past the line, so both stay readable."""
    if budget_x is None:
        return at
    if at - LABEL_GAP < budget_x < at + CHAR * len(note) + LABEL_GAP:
        return round(budget_x + 5, 2)
    return at


def timeline_svg(timeline: Mapping[str, Any], *, id_prefix: str = "tl", width: int = 640) -> str:
    """Draw ``timeline``; ``id_prefix`` keeps pattern ids unique when a page has several."""
    ops, elapsed, budget, dropped = _clean(timeline)
    latest = max([elapsed, budget or 0.0, *(o["end"] for o in ops)])
    step = nice_step(latest * 1.05 or 1.0)
    axis_end = step * math.ceil(latest * 1.05 / step) if latest else step
    shown = [_shorten(o["label"]) for o in ops]
    label_width = max(48.0, CHAR * max(map(len, shown), default=4) + 14)
    plot_width = width - label_width - RIGHT
    rows = len(ops) + (1 if dropped else 0)
    height = TOP + ROW * max(rows, 1) + AXIS
    bottom = TOP + ROW * max(rows, 1)

    def x(t: float) -> float:
        return round(label_width + plot_width * t / axis_end, 2)

    summary = timeline_summary(timeline)
    hatch = f"{id_prefix}-hatch"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="timeline" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="{escape(summary)}" font-family="system-ui, sans-serif" font-size="12">',
        f"<title>{escape(summary)}</title>",
        f'<defs><pattern id="{hatch}" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="{COLOURS["error"]}" stroke-width="3"/>'
        f"</pattern></defs>",
    ]
    if budget is not None and budget < axis_end:
        parts.append(
            f'<rect class="over-budget" x="{x(budget)}" y="{TOP - 4}" '
            f'width="{round(x(axis_end) - x(budget), 2)}" height="{bottom - TOP + 8}" '
            f'fill="{COLOURS["over"]}"/>'
        )
    for index in range(round(axis_end / step) + 1):
        tick = index * step
        parts.append(
            f'<line x1="{x(tick)}" y1="{TOP - 4}" x2="{x(tick)}" y2="{bottom + 4}" '
            f'stroke="{COLOURS["grid"]}" stroke-width="1"/>'
            f'<text x="{x(tick)}" y="{bottom + 17}" text-anchor="middle" '
            f'fill="{COLOURS["axis"]}">{_tick_label(tick, step)}</text>'
        )
    parts.append(
        f'<line x1="{x(0)}" y1="{bottom + 4}" x2="{x(axis_end)}" y2="{bottom + 4}" '
        f'stroke="{COLOURS["axis"]}" stroke-width="1"/>'
        f'<text x="{x(axis_end)}" y="{bottom + 31}" text-anchor="end" '
        f'fill="{COLOURS["axis"]}">simulated seconds</text>'
    )
    budget_x = x(budget) if budget is not None else None
    for row, op in enumerate(ops):
        top = TOP + row * ROW + (ROW - BAR) / 2
        start, end = op["start"], max(op["end"], op["start"])
        failed = op["outcome"] != "ok"
        fill = f"url(#{hatch})" if failed else COLOURS["ok"]
        stroke = COLOURS["error"] if failed else COLOURS["ok"]
        note = _seconds(end - start) + ("" if not failed else
                                        ", raised" if op["outcome"] == "error"
                                        else f", {op['outcome']}")
        label = escape(op["label"])
        parts.append(
            f'<text x="{label_width - 8}" y="{top + BAR - 3}" text-anchor="end" '
            f'fill="#111111">{escape(shown[row])}</text>'
            f'<rect class="op op-{escape(op["outcome"])}" data-label="{label}" '
            f'data-start="{start}" data-end="{end}" x="{x(start)}" y="{top}" '
            f'width="{max(round(x(end) - x(start), 2), 2)}" height="{BAR}" rx="2" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="1">'
            f"<title>{label}: {_seconds(start)} to {_seconds(end)}"
            f"{' (raised)' if failed else ''}</title></rect>"
            f'<text class="note" x="{_note_x(x(end) + 5, note, budget_x)}" y="{top + BAR - 3}" '
            f'fill="#333333">{escape(note)}</text>'
        )
    if dropped:
        parts.append(f'<text class="dropped" x="{x(0)}" y="{bottom - ROW + 14}" '
                     f'fill="#333333">… and {dropped:,} more operations, not drawn.</text>')
    if not ops:
        parts.append(f'<text x="{x(0)}" y="{TOP + 14}" fill="#333333">'
                     "No operations were recorded.</text>")
    if budget is not None:
        parts.append(
            f'<line class="budget" data-budget="{budget}" x1="{x(budget)}" y1="{TOP - 8}" '
            f'x2="{x(budget)}" y2="{bottom + 4}" stroke="{COLOURS["budget"]}" '
            f'stroke-width="2" stroke-dasharray="5 3"/>'
            f'<text x="{x(budget)}" y="{TOP - 12}" text-anchor="middle" font-weight="bold" '
            f'fill="{COLOURS["budget"]}">budget {_seconds(budget)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)
