"""Teaching messages as Markdown that a submission cannot put markup into.

Gradescope (``output_format: md``) and GitHub's step summaries render Markdown, and
the suites' messages read better there: code as code, "Why" and "Next" in bold. But
messages quote what the student's code produced (``it returned X``), so a submission
could return a string holding a link, an image that loads from elsewhere when an
instructor opens the page, or raw HTML. Here every character Markdown could turn into
such markup is escaped outside backtick code spans (inside a code span nothing is
interpreted), and tracebacks go in a fence longer than any run of backticks inside
them. The text still reads the same: an escaped character renders as itself.
"""

from __future__ import annotations

import re

from grader.supervision.results import CheckResult

__all__ = ["check_markdown", "fenced", "md_escape"]

_CODE_SPAN = re.compile(r"(?<!`)`[^`\n]+`(?!`)")
_MARKUP = re.compile(r"([\\`*_\[\]<>#|~])")


def md_escape(text: str) -> str:
    """``text`` with everything outside single-backtick code spans escaped.

    A backslash goes before each of ``\\ ` * _ [ ] < > # | ~``: no link, image, HTML,
    heading, table or emphasis can form. A stray backtick is escaped too, so it cannot
    open a span that would swallow escaped text. Line breaks are kept as hard breaks.
    """
    out: list[str] = []
    last = 0
    for span in _CODE_SPAN.finditer(text):
        out.append(_MARKUP.sub(r"\\\1", text[last:span.start()]))
        out.append(span.group())
        last = span.end()
    out.append(_MARKUP.sub(r"\\\1", text[last:]))
    return "".join(out).replace("\n", "  \n")


def fenced(text: str) -> str:
    """``text`` in a code fence no line inside it can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}\n{text.rstrip()}\n{fence}"


def check_markdown(check: CheckResult) -> str:
    """A check's teaching message as Markdown (empty for a pass without a message)."""
    parts: list[str] = []
    feedback = check.feedback
    if feedback is not None:
        if feedback.what:
            parts.append(md_escape(feedback.what))
        if feedback.misconception:
            parts.append(f"**Why:** {md_escape(feedback.misconception)}")
        if feedback.next_step:
            parts.append(f"**Next:** {md_escape(feedback.next_step)}")
    if check.traceback:
        parts.append(fenced(check.traceback))
    return "\n\n".join(parts)
