"""The one order students are listed in: by name, ignoring case and accents.

Every output of ``grade bulk`` (``grades.csv``, the LMS files, ``results.json``, the
class summary, the per-student pages) lists students in this order, so an instructor
finds ``Émile`` between ``emil`` and ``Emma`` everywhere, not after ``zoe`` as a sort
by code point puts it. Python's default ``sorted`` also puts every capital letter
before every small one (``Zoe`` before ``adam``).

Accents are compared only when the names are otherwise equal (``Elise`` before
``Élise``), then case, then the name as it is, so the order is total and the same on
every machine. The system locale is not used: it differs between machines and
``locale.strxfrm`` depends on process-wide state. This is not full Unicode collation
(a library such as PyICU would be, at the cost of a compiled dependency for a sort
order); it is the part of it that class lists need.
"""

from __future__ import annotations

import dataclasses
import difflib
import unicodedata
from collections.abc import Iterable, Sequence

from grader.bulk.classbook import ClassResults
from grader.errors import SubmissionsError
from grader.supervision.sanitize import clean_name

__all__ = ["by_name", "name_key", "pick_students", "sorted_names"]


def _base(name: str) -> str:
    """``name`` without accents or case: ``Émile`` -> ``emile``, ``Straße`` -> ``strasse``."""
    decomposed = unicodedata.normalize("NFKD", name)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def name_key(name: str) -> tuple[str, str, str, str]:
    """Sort key: letters, then accents, then case, then the exact text."""
    return (_base(name), unicodedata.normalize("NFKD", name).casefold(),
            unicodedata.normalize("NFC", name).swapcase(), name)


def sorted_names(names: Iterable[str]) -> list[str]:
    return sorted(names, key=name_key)


def by_name(results: ClassResults) -> ClassResults:
    """``results`` with its students in name order."""
    return dataclasses.replace(
        results, students=tuple(sorted(results.students, key=lambda s: name_key(s.student))))


def pick_students(known: Sequence[str], asked: Sequence[str]) -> list[str]:
    """The students of ``known`` that ``asked`` names (``--students alice,bob``).

    A name matches exactly, or else ignoring case and accents when that picks one
    student (``emile`` finds ``Émile``). Every name that matches nobody, or several,
    is reported in one line with the closest names, before anything is graded.
    """
    by_base: dict[str, list[str]] = {}
    for name in known:
        by_base.setdefault(_base(name), []).append(name)
    picked: list[str] = []
    problems: list[str] = []
    for name in asked:
        if name in known:
            picked.append(name)
            continue
        same = by_base.get(_base(name), [])
        if len(same) == 1:
            picked.append(same[0])
        elif same:
            problems.append(f"'{clean_name(name, 80)}' could be "
                            + " or ".join(f"'{clean_name(n, 80)}'" for n in sorted_names(same)))
        else:
            close = difflib.get_close_matches(_base(name), list(by_base), n=3, cutoff=0.6)
            nearest = [n for base in close for n in by_base[base]]
            hint = (f" (closest: {', '.join(clean_name(n, 80) for n in nearest)})"
                    if nearest else "")
            problems.append(f"no student named '{clean_name(name, 80)}'{hint}")
    if problems:
        raise SubmissionsError(
            f"--students: {'; '.join(problems)}. Give names as grades.csv lists them, "
            "separated by commas.")
    return list(dict.fromkeys(picked))
