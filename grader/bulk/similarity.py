"""Possible copying: byte-identical and near-identical submissions, per exercise.

What it answers: which students handed in the same file, or nearly the same file, for
an exercise, so the instructor can look at those pairs by hand. It decides nothing:
small exercises have few ways to be written, and two students can reach the same
ten lines on their own. Each match therefore says how much of the file is the
students' own work (fingerprints beyond the stub), so a long shared solution stands
out from a shared one-liner.

How files are compared (a small form of the fingerprinting MOSS made well known):

1. Each file is split into Python tokens with :mod:`tokenize` (a regular expression
   when the file does not tokenize). Comments and blank lines are dropped, every
   string becomes ``S``, and every name the student chose becomes ``V``; keywords,
   builtins, names the stub already uses, imported modules and attribute names are
   kept. So renaming variables, rewording comments or reformatting hides nothing,
   while a different API (``gather`` versus ``TaskGroup``) still counts.
2. Every run of :data:`K` consecutive tokens is a fingerprint (all of them, not a
   winnowed sample: a module is a few hundred tokens).
3. Fingerprints that occur in the pristine stub are removed, so what the course
   handed out never counts as shared work, and two untouched stubs have nothing to
   compare. A file with fewer than :data:`MIN_OWN` fingerprints of its own is too close
   to the stub to say anything about, and is left out.
4. The score of two files is the Jaccard index of what remains: shared fingerprints
   over all fingerprints of either file. Pairs at or above :data:`THRESHOLD` are listed.

Byte-identical files (same SHA-256) are one group, listed once with every student
who handed them in, and compared with other files once. A file byte-identical to a
pristine stub is never listed.

Why not a library: ``copydetect`` (PyPI) installs and works offline here and gives
the same kind of answer, but it brings matplotlib, numpy and pillow (about 200 MB,
1.8 s to import) into an install students share, and declares Pythons up to 3.12;
the comparison itself is the few dozen lines below, on the standard library.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import keyword
import re
import token
import tokenize
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "MIN_OWN",
    "THRESHOLD",
    "CopyMatch",
    "K",
    "find_copying",
    "fingerprints",
    "normalized_tokens",
]

K = 8
"""Tokens per fingerprint: long enough that ``) ) NEWLINE`` is not evidence, short
enough that one shared statement is."""

MIN_OWN = 10
"""Fingerprints of its own (beyond the stub) a file needs to be compared at all."""

THRESHOLD = 0.75
"""Listed from this score up. Measured on the course's own files (``python
benchmarks/bench_similarity.py``): the reference solution and the alternatives written
independently of it score at most 0.54 against each other in any of the 18
exercises (two exercise-12 fixtures made as near-copies of others score 0.86 and 1.0,
and are listed); a copy with every variable and function renamed and every comment
rewritten scores 1.0, and with two statements added at least 0.80."""

MAX_LISTED = 200
"""Matches kept per exercise (highest scores first), so a class that all handed in the
same file does not make the page quadratic."""

_KEPT = frozenset(dir(builtins)) | frozenset(keyword.kwlist) | frozenset(keyword.softkwlist)
_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
_STRING_PARTS = {getattr(token, name) for name in dir(token)
                 if name.startswith(("FSTRING_", "TSTRING_"))}
_STRING_START = {getattr(token, name) for name in ("FSTRING_START", "TSTRING_START")
                 if hasattr(token, name)}
_FALLBACK = re.compile(r"[A-Za-z_]\w*|\d[\w.]*|\S")


@dataclass(frozen=True)
class CopyMatch:
    """Students whose files for one exercise are the same or nearly the same.

    ``first`` holds every student who handed in one file; for a byte-identical group
    ``second`` is empty and ``score`` is 1.0, otherwise ``second`` holds the students
    of the other file. ``own`` is the smaller of the two files' fingerprint counts
    beyond the stub: how much work the match is about.
    """

    exercise: str
    first: tuple[str, ...]
    second: tuple[str, ...]
    score: float
    own: int

    @property
    def identical(self) -> bool:
        return not self.second


def _tokens(source: bytes) -> list[tuple[int, str]]:
    try:
        return [(t.type, t.string) for t in tokenize.tokenize(io.BytesIO(source).readline)]
    except (tokenize.TokenError, SyntaxError, UnicodeDecodeError, LookupError):
        text = source.decode("utf-8", "replace")
        return [(tokenize.NAME if m.group()[0].isalpha() or m.group()[0] == "_"
                 else tokenize.OP, m.group()) for m in _FALLBACK.finditer(text)]


def normalized_tokens(source: bytes) -> list[str]:
    """The file as comparable tokens: chosen names are ``V``, strings ``S``; see above."""
    out: list[str] = []
    previous = ""
    for kind, string in _tokens(source):
        if kind in _SKIPPED:
            continue
        if kind in _STRING_PARTS:
            if kind in _STRING_START:
                out.append("S")
            continue
        if kind == tokenize.STRING:
            out.append("S")
        elif kind == tokenize.NAME:
            own = not (string in _KEPT or previous in (".", "import", "from"))
            out.append("V" if own else string)
        elif kind == tokenize.NEWLINE:
            out.append(";")
        elif kind == tokenize.INDENT:
            out.append("{")
        elif kind == tokenize.DEDENT:
            out.append("}")
        else:
            out.append(string)
        previous = string
    return out


def fingerprints(source: bytes) -> frozenset[int]:
    """Every run of :data:`K` normalized tokens, hashed (stable across runs)."""
    tokens = normalized_tokens(source)
    found = set()
    for start in range(max(len(tokens) - K + 1, 0)):
        gram = "\x00".join(tokens[start:start + K]).encode("utf-8", "surrogatepass")
        found.add(int.from_bytes(hashlib.blake2b(gram, digest_size=8).digest(), "big"))
    return frozenset(found)


def _jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if shared else 0.0


def _exercise_matches(exercise: str, files: Mapping[str, bytes], stubs: Sequence[bytes],
                      threshold: float) -> list[CopyMatch]:
    stub_hashes = {hashlib.sha256(s).hexdigest() for s in stubs}
    by_hash: dict[str, list[str]] = {}
    content: dict[str, bytes] = {}
    for student, source in files.items():
        digest = hashlib.sha256(source).hexdigest()
        if digest in stub_hashes:
            continue  # the untouched stub: handing it in is not copying
        by_hash.setdefault(digest, []).append(student)
        content[digest] = source
    handed_out: frozenset[int] = frozenset().union(*map(fingerprints, stubs))
    own = {digest: fingerprints(source) - handed_out for digest, source in content.items()}
    # In the order of the students (``files`` is), so matches list them in that order.
    compared = [d for d in own if len(own[d]) >= MIN_OWN]
    position = {d: n for n, d in enumerate(compared)}
    found: list[tuple[float, int, int, int, CopyMatch]] = [
        (-1.0, -len(own[d]), position[d], -1, CopyMatch(exercise, tuple(by_hash[d]), (), 1.0,
                                                         len(own[d])))
        for d in compared if len(by_hash[d]) > 1]
    # Jaccard >= t needs the smaller set to hold at least t times the larger one's
    # fingerprints, so in order of size each file meets only the next few: a class of
    # very different files costs far fewer than n*(n-1)/2 comparisons.
    by_size = sorted(compared, key=lambda d: len(own[d]))
    for i, small in enumerate(by_size):
        for large in by_size[i + 1:]:
            if len(own[small]) < threshold * len(own[large]):
                break
            score = round(_jaccard(own[small], own[large]), 3)
            if score >= threshold:
                a, b = sorted((small, large), key=position.__getitem__)
                mine = min(len(own[a]), len(own[b]))
                found.append((-score, -mine, position[a], position[b],
                              CopyMatch(exercise, tuple(by_hash[a]), tuple(by_hash[b]),
                                        score, mine)))
    # Highest score first, then the most own work; ties in the order of the students.
    found.sort(key=lambda item: item[:4])
    matches = [item[4] for item in found]
    return matches[:MAX_LISTED]


def find_copying(files: Mapping[str, Mapping[str, bytes]],
                 stubs: Mapping[str, Iterable[bytes]], *,
                 threshold: float = THRESHOLD,
                 order: Mapping[str, int] | None = None) -> list[CopyMatch]:
    """Matches per exercise: ``files`` is exercise -> student -> bytes handed in,
    ``stubs`` exercise -> the pristine stub's versions. An exercise with no known
    pristine stub is skipped: two untouched stubs would look copied.

    ``order`` ranks students (default: as given in ``files``), so each match lists its
    students in the same order as every other output.
    """
    matches = []
    for exercise, handed_in in files.items():
        pristine = list(stubs.get(exercise, ()))
        if not pristine:
            continue
        rank = order or {s: n for n, s in enumerate(handed_in)}
        ordered = dict(sorted(handed_in.items(), key=lambda item: rank.get(item[0], 0)))
        matches += _exercise_matches(exercise, ordered, pristine, threshold)
    return matches
