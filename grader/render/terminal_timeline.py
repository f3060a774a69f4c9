"""A failing timing check's simulated timeline drawn in the terminal, under its message.

The HTML report draws the staircase as SVG (:mod:`grader.render.timeline_svg`); a student in
the terminal, or in ``grade watch``, should see the same shape without opening a page.
One row per operation, its span as a bar scaled to the width, the budget as a ``|``
column through every row, and the end times on an axis line::

    Timeline (simulated): one row per operation, | = the 1.2 s budget
    fetch('a')  ████████████████         |                  1.0 s
    fetch('b')                  ████████ |                  0.5 s
    fetch('c')                          █|███████████       0.8 s
                0                    1.2 s             2.3 s

Why two renderings: on a colour terminal the bars are ``█`` and the part past the
budget is red; with ``NO_COLOR``, in a pipe or a log (not a terminal), or where the
output cannot encode ``█``, bars are ``#`` so the picture survives any viewer. The
shape carries the meaning in both, colour only repeats it.

The input is a result's timeline, cleaned again here (idempotent) so the drawing is
bounded whatever it is given: at most :data:`ROWS_SHOWN` rows, then a count of the
rest.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from rich.text import Text

from grader.supervision.sanitize import clean_timeline

__all__ = ["MIN_WIDTH", "ROWS_SHOWN", "timeline_text"]

ROWS_SHOWN = 12  # operations drawn; a timeline of 200 fetches is summarised, not scrolled
LABEL_MAX = 18  # characters of an operation's label; longer ones end with "…"
MIN_WIDTH = 36  # below this there is no room for a useful bar: draw nothing
NOTE_WIDTH = 16  # "  0.8 s, raised" after each bar


def _seconds(value: float) -> str:
    text = f"{value:.3f}".rstrip("0")
    return (text + "0" if text.endswith(".") else text) + " s"


def _shorten(label: str) -> str:
    return label if len(label) <= LABEL_MAX else label[:LABEL_MAX - 1] + "…"


def _edge(t: float, axis_end: float, cells: int) -> int:
    """The cell boundary nearest to time ``t``: spans are drawn between boundaries, so a
    span ending where the next begins never shares a cell with it (a staircase stays a
    staircase, not a false overlap)."""
    return min(cells, max(0, math.floor(t / axis_end * cells + 0.5))) if axis_end > 0 else 0


def _cells_of(start: float, end: float, axis_end: float, cells: int) -> tuple[int, int]:
    """(first, last) cell of a span, at least one cell wide."""
    first = min(cells - 1, _edge(start, axis_end, cells))
    return first, max(first, _edge(end, axis_end, cells) - 1)


def timeline_text(timeline: Mapping[str, Any] | None, width: int, *,
                  plain: bool = False) -> Text | None:
    """The timeline as lines at most ``width`` wide; None if there is nothing to draw.

    Only timelines with a budget are drawn: they belong to timing checks, where the
    shape against the budget is the explanation. ``plain`` draws ASCII (``#``) bars with
    no styles, for NO_COLOR, pipes and logs.
    """
    clean = clean_timeline(timeline)
    if clean is None or clean["budget"] is None or not clean["operations"] or width < MIN_WIDTH:
        return None
    budget: float = clean["budget"]
    ops = clean["operations"]
    elapsed = clean["elapsed"] or max(
        (t for o in ops for t in (o["start"], o["end"]) if t is not None), default=0.0)
    spans = [(o, o["start"], max(o["start"], elapsed if o["end"] is None else o["end"]))
             for o in ops]
    axis_end = max([budget, elapsed, *(end for _, _, end in spans)]) or 1.0
    shown = spans[:ROWS_SHOWN]
    hidden = len(spans) - len(shown) + clean.get("dropped", 0)
    label_width = max(len(_shorten(o["label"])) for o, _, _ in shown)
    cells = width - label_width - 2 - NOTE_WIDTH
    if cells < 10:  # a narrow terminal: shorter labels before shorter bars
        label_width = max(4, label_width - (10 - cells))
        cells = width - label_width - 2 - NOTE_WIDTH
        if cells < 10:
            return None
    budget_at = min(cells - 1, _edge(budget, axis_end, cells))
    bar_char = "#" if plain else "█"
    out = Text()
    out.append(f"Timeline (simulated): one row per operation, | = the {_seconds(budget)} budget",
               style="" if plain else "dim")
    for op, start, end in shown:
        first, last = _cells_of(start, end, axis_end, cells)
        failed = op["outcome"] != "ok"
        label = _shorten(op["label"])
        if len(label) > label_width:
            label = label[:label_width - 1] + "…"
        out.append("\n" + label.ljust(label_width) + "  ")
        row: list[tuple[str, str]] = []
        for cell in range(cells):
            if cell == budget_at:
                row.append(("|", "bold red"))
            elif first <= cell <= last:
                row.append((bar_char, "red" if cell > budget_at or failed else "blue"))
            else:
                row.append((" ", ""))
        for char, style, count in _runs(row):
            out.append(char * count, style="" if plain else style)
        note = _seconds(end - start)
        if failed:
            note += ", raised" if op["outcome"] == "error" else f", {op['outcome']}"
        out.append("  " + note[:NOTE_WIDTH - 2], style="" if plain else "dim")
    if hidden:
        out.append(f"\n… and {hidden:,} more operation{'s' * (hidden != 1)}, not drawn",
                   style="" if plain else "dim")
    out.append("\n" + _axis(label_width + 2, cells, budget_at, budget, axis_end),
               style="" if plain else "dim")
    return out


def _runs(cells: list[tuple[str, str]]) -> list[tuple[str, str, int]]:
    """Equal neighbouring cells merged, so a bar is one styled span, not one per cell."""
    runs: list[tuple[str, str, int]] = []
    for char, style in cells:
        if runs and runs[-1][:2] == (char, style):
            runs[-1] = (char, style, runs[-1][2] + 1)
        else:
            runs.append((char, style, 1))
    return runs


def _axis(indent: int, cells: int, budget_at: int, budget: float, axis_end: float) -> str:
    """'0', the budget under its ``|`` and the end time, without overwriting each other."""
    line = [" "] * (indent + cells + NOTE_WIDTH)
    line[indent] = "0"

    def put(text: str, at: int) -> bool:
        at = max(indent + 2, min(at, len(line) - len(text)))
        if any(ch != " " for ch in line[at - 1:at + len(text) + 1]):
            return False
        line[at:at + len(text)] = text
        return True

    put(_seconds(budget), indent + budget_at - len(_seconds(budget)) // 2)
    if axis_end > budget:
        put(_seconds(axis_end), indent + cells - len(_seconds(axis_end)) // 2)
    return "".join(line).rstrip()
