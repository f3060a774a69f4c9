"""Untrusted text and numbers made safe once, where they enter the grader's data.

Everything a grading reports comes from the student's side: exception messages,
printed output, operation labels, simulated times, even the folder name a student
chose. Printed, stored or exported as it is, one hostile value can

* crash every output: a lone surrogate (``"\\ud800"``) cannot be encoded as UTF-8, a
  NaN or an infinity breaks the timeline's arithmetic and strict JSON, and the
  verdict is already in the gradebook, so every resume crashes again;
* take over the instructor's terminal: ANSI/ECMA-48 escape sequences clear the screen
  (``ESC [2J``), set the window title (``ESC ]0;...BEL``), write the clipboard (OSC 52),
  and a carriage return overprints a line with a fake "Score: 11/11";
* run in a spreadsheet: a CSV cell starting with ``=``, ``+``, ``-`` or ``@`` (or a
  look-alike, or after a space) is read as a formula;
* make report writing quadratic, with a timeline of tens of thousands of operations.

The functions here are the one place that knows those rules. Results call them when
they are built (:mod:`grader.supervision.results`), whether from a grading child's record, the
gradebook or a student's progress record, so stored data written before these rules
is made safe as it is read; outputs call them again on what they show, which costs
little because every function is idempotent (cleaning clean data changes nothing).

Two kinds of text:

* :func:`clean_text` is for prose (messages, tracebacks, notes): lines and tabs are
  kept, escape sequences are removed, every other control character is shown as a
  visible escape (``\\r``, ``\\x07``), lone surrogates become U+FFFD.
* :func:`clean_name` is for one-line identifiers (a student folder, a check name, an
  operation label): nothing is removed, every control character (newline, tab and
  ESC included) and every lone surrogate is shown as a visible escape, so two
  different names never look alike and no name spans two lines.

Both cap the length with a visible "… (N more characters)", so no single value can
make an output unbounded. Numbers go through :func:`clean_number` (finite and of a
sane size, or ``None``), timelines through :func:`clean_timeline` (the first
:data:`OPERATIONS_LIMIT` operations, clean, and how many were dropped), and CSV cells
through :func:`spreadsheet_cell` (OWASP's leading quote for anything a spreadsheet
would evaluate).
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from grader.budgets import TIMELINE_OPERATIONS

__all__ = [
    "LABEL_LIMIT",
    "NAME_LIMIT",
    "NUMBER_LIMIT",
    "OPERATIONS_LIMIT",
    "TEXT_LIMIT",
    "TRACEBACK_LIMIT",
    "clean_name",
    "clean_number",
    "clean_text",
    "clean_timeline",
    "spreadsheet_cell",
]

TEXT_LIMIT = 4_000  # characters of a message, a note, a reason
TRACEBACK_LIMIT = 20_000  # characters of a trimmed traceback
NAME_LIMIT = 300  # characters of a one-line identifier: a student folder, a check, a path
LABEL_LIMIT = 100  # characters of an operation's label on a timeline
OUTCOME_LIMIT = 20  # characters of an operation's outcome ("ok", "error", "cancelled")
OPERATIONS_LIMIT = TIMELINE_OPERATIONS  # operations kept of one timeline (grader.budgets)
NUMBER_LIMIT = 1e9  # seconds (about 32 years): more than any grading can honestly report

# Escape sequences (ECMA-48), in 7-bit (ESC ...) and 8-bit (C1) form:
#   CSI  ESC [ or 0x9b, parameter bytes, intermediate bytes, one final byte;
#   OSC, DCS, SOS, PM, APC  ESC ] P X ^ _ or 0x9d 0x90 0x98 0x9e 0x9f, a payload, then
#        BEL or ST (ESC \ or 0x9c); the payload stops at the next ESC or introducer, so
#        a string of unterminated introducers is still scanned in linear time;
#   any other ESC, intermediate bytes, one final byte (ESC c resets the terminal).
# An ESC that starts none of these is left for _visible, like any control character.
_SEQUENCE = re.compile(
    "(?:\x1b\\[|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    "|(?:\x1b[\\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x90\x98\x9c-\x9f]*(?:\x07|\x1b\\\\|\x9c)"
    "|\x1b[\x20-\x2f]*[\x30-\x7e]"
)
# Shown as visible escapes: C0 and C1 controls, DEL, the bidirectional overrides and
# isolates (they reorder what follows, "Trojan Source"), line and paragraph separators.
_UNSAFE_IN_PROSE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_UNSAFE_IN_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHORT_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Characters skipped before deciding what a spreadsheet cell starts with.
_BLANK_CATEGORIES = {"Cc", "Cf", "Zs", "Zl", "Zp"}
_FORMULA_STARTS = {"=", "+", "-", "@"}
_CELL_SEPARATORS = re.compile("[,;\t\r\n]")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code <= 0xFF else f"\\u{code:04x}"


def _visible_surrogate(match: re.Match[str]) -> str:
    code = ord(match.group())
    # U+DC80..U+DCFF is how Python keeps an undecodable byte of a file name: show the byte.
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


def _as_text(value: object) -> str:
    if type(value) is str:
        return value
    if value is None:
        return ""
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    try:
        return str(value)
    except Exception:  # a value whose __str__ fails still gets shown as something
        return f"<unprintable {type(value).__name__}>"


def _pair_surrogates(text: str) -> str:
    """Join surrogate pairs into the characters they encode; lone halves stay as they are."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _cap(text: str, limit: int, more: int = 0) -> str:
    """``text`` cut to at most ``limit`` characters, saying how many were left out."""
    if len(text) <= limit and not more:
        return text
    total = len(text) + more
    marker = f"… ({total:,} more characters)"  # the longest it can be: sized for the total
    if limit <= len(marker):
        return text[:max(limit - 1, 0)] + "…"
    keep = min(limit - len(marker), len(text))
    return text[:keep] + f"… ({total - keep:,} more characters)"


def _prepare(value: object, limit: int) -> tuple[str, int]:
    """The value as text, cut to a bounded length before any scanning, and what was cut."""
    text = _as_text(value)
    # Cleaning never shortens text by more than escape sequences; reading ten times the
    # limit leaves room for them without letting a huge value cost a huge scan.
    bound = max(limit * 10, 4_096)
    if len(text) > bound:
        return text[:bound], len(text) - bound
    return text, 0


def _plain(text: str, limit: int, more: int) -> bool:
    """Printable ASCII within the limit, the common case: nothing to clean."""
    return not more and len(text) <= limit and text.isascii() and text.isprintable()


def clean_text(value: object, limit: int = TEXT_LIMIT) -> str:
    """Prose safe for any terminal, page, JSON or CSV: a message, a traceback, a note.

    ``value`` may be anything (``None`` is ``""``, bytes are read as UTF-8). The result
    is valid UTF-8 text with no escape sequence (CSI, OSC, DCS and the others, 7-bit
    or 8-bit: removed), no other control character but newline and tab (a carriage
    return, a BEL, a C1 control or a bidirectional override is shown as a visible
    escape such as ``\\r`` or ``\\u202e``), lone surrogates replaced by U+FFFD, and at
    most ``limit`` characters, ending in "… (N more characters)" when it was cut.
    Idempotent: ``clean_text(clean_text(x, n), n) == clean_text(x, n)``.
    """
    text, more = _prepare(value, limit)
    if _plain(text, limit, more):
        return text
    if _SURROGATE.search(text):
        text = _SURROGATE.sub("\ufffd", _pair_surrogates(text))
    text = text.replace("\r\n", "\n")
    text = _SEQUENCE.sub("", text)
    text = _UNSAFE_IN_PROSE.sub(_visible, text)
    return _cap(text, limit, more)


def clean_name(value: object, limit: int = NAME_LIMIT) -> str:
    """A one-line identifier safe to show: a student folder name, a check, a label, a path.

    Like :func:`clean_text`, but nothing is removed: every control character (newline,
    tab and ESC included), bidirectional override and lone surrogate is shown as a
    visible escape (``\\n``, ``\\x1b``, ``\\u202e``; an undecodable byte of a file name
    as ``\\xff``), so the result is one line, starts no escape sequence, and two
    different names (``alice`` and ``alice`` followed by ``ESC [0m``) never look the same.
    """
    text, more = _prepare(value, limit)
    if _plain(text, limit, more):
        return text
    if _SURROGATE.search(text):
        text = _SURROGATE.sub(_visible_surrogate, _pair_surrogates(text))
    text = _UNSAFE_IN_NAME.sub(_visible, text)
    return _cap(text, limit, more)


def clean_number(value: object) -> float | None:
    """``value`` as a float if it is a real, finite number of a sane size, else ``None``.

    ``None`` for NaN, infinities, anything beyond ±:data:`NUMBER_LIMIT` (``1e308``),
    booleans, strings and every other type: a number that cannot be trusted is
    reported as missing rather than drawn, summed or stored.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return float(value) if abs(value) <= NUMBER_LIMIT else None
    if not math.isfinite(value) or abs(value) > NUMBER_LIMIT:
        return None
    return float(value)


def _count(value: object) -> int:
    number = clean_number(value)
    return int(number) if number is not None and number > 0 else 0


def _operation(op: Mapping[str, Any]) -> dict[str, Any]:
    start = clean_number(op.get("start"))
    return {
        "label": clean_name(op.get("label", "?"), LABEL_LIMIT),
        "start": 0.0 if start is None else start,
        "end": clean_number(op.get("end")),  # None: still running when the check ended
        "outcome": clean_name(op.get("outcome", "ok"), OUTCOME_LIMIT),
    }


def clean_timeline(obj: object) -> dict[str, Any] | None:
    """A check's timeline, bounded and clean; ``None`` if ``obj`` is not a mapping.

    The result has exactly ``operations`` (at most :data:`OPERATIONS_LIMIT`, the first
    ones; each ``{"label", "start", "end", "outcome"}`` with a clean one-line label and
    outcome, a finite ``start``, and an ``end`` that is finite or ``None`` for an
    operation still running), ``budget`` and ``elapsed`` (finite or ``None``), plus
    ``dropped``, the number of operations left out, when there were any (entries of
    ``operations`` that are not mappings are left out too). Idempotent: cleaning a cleaned
    timeline keeps its ``dropped`` count.
    """
    if not isinstance(obj, Mapping):
        return None
    operations = obj.get("operations")
    if not isinstance(operations, Sequence) or isinstance(operations, str | bytes):
        operations = ()
    kept = [_operation(op) for op in operations[:OPERATIONS_LIMIT] if isinstance(op, Mapping)]
    dropped = _count(obj.get("dropped")) + len(operations) - len(kept)
    timeline: dict[str, Any] = {
        "operations": kept,
        "budget": clean_number(obj.get("budget")),
        "elapsed": clean_number(obj.get("elapsed")),
    }
    if dropped:
        timeline["dropped"] = dropped
    return timeline


def _leading(text: str) -> str:
    """``text`` without the blanks and invisible characters a spreadsheet skips."""
    for index, char in enumerate(text):
        if not char.isspace() and unicodedata.category(char) not in _BLANK_CATEGORIES:
            return text[index:]
    return ""


def _starts_formula(text: str) -> bool:
    start = _leading(text)
    if not start or _NUMBER.fullmatch(start.strip()):
        return False
    # Full-width and small forms (＝ ＋ － ＠ ﹦ ...) are read as their ASCII twins.
    return unicodedata.normalize("NFKC", start[0])[:1] in _FORMULA_STARTS


def spreadsheet_cell(text: str) -> str:
    """``text`` as a CSV cell no spreadsheet evaluates: OWASP's leading single quote.

    A cell is neutralised when, after skipping leading blanks and control or
    invisible characters, it starts with ``=``, ``+``, ``-`` or ``@`` or a full-width
    or small form of one (``＝1``, `` =1+1``, ``-2+3``), or when it starts with a tab or
    a carriage return. The same holds for every part after a ``,``, ``;``, tab or line
    break, since a spreadsheet set to another separator splits the cell there
    (``a;=1+1`` becomes ``a;'=1+1``). A real number (``-2``, ``1.5e3``) stays a number.
    """
    parts = _CELL_SEPARATORS.split(text)
    if len(parts) > 1:
        separators = _CELL_SEPARATORS.findall(text)
        rebuilt = [parts[0]]
        for separator, part in zip(separators, parts[1:], strict=True):
            rebuilt += [separator, f"'{part}" if _starts_formula(part) else part]
        text = "".join(rebuilt)
    if text[:1] in ("\t", "\r") or _starts_formula(text):
        return f"'{text}"
    return text
