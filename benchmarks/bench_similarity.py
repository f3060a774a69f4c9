"""Possible copying (grader/bulk/similarity.py): where the threshold comes from, and speed.

Calibration, on the course's own files for every exercise: the reference solution and
every alternative under ``tests/fixtures/`` (written independently of one another)
are compared pairwise, and so are disguised copies of the solution (every assigned
name and function renamed, comments rewritten, blank lines added; then two statements
added too). It prints, per exercise, the highest score between independent files and
the scores of the copies, then the class-wide worst of each: a threshold between the
two separates them. Pairs of fixtures at or above the threshold are listed by name
(exercise 12 keeps two fixtures that differ by one string, on purpose).

Speed, the worst case: a class of N students, each handing in one of the course's
files for every exercise with their own comment line, so every file has hundreds of
near-copies and no comparison can be skipped. Measured on the 2-CPU machine with both
cores busy, N = 300: 7.6 s of CPU (21.8 s wall) for 18 exercises, 200 matches kept per
exercise.

    python benchmarks/bench_similarity.py               # calibration, then N = 300
    python benchmarks/bench_similarity.py --students 1000
"""

from __future__ import annotations

import argparse
import itertools
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from grader.bulk.similarity import THRESHOLD, find_copying, fingerprints  # noqa: E402


def _disguised(source: bytes, extra: bool) -> bytes:
    text = source.decode()
    names = set(re.findall(r"^\s*([a-z_]\w*)\s*=", text, re.M))
    names |= set(re.findall(r"def ([a-z_]\w*)", text))
    for number, name in enumerate(sorted(names)):
        text = re.sub(rf"(?<![.\w]){name}\b", f"zz{number}", text)
    text = re.sub(r"#.*", "# mine", text).replace("\n\n\n", "\n\n\n\n")
    if extra:
        text = text.replace("\n\n\n", "\n\n\nLIMIT = 3\nprint(LIMIT)\n\n\n", 1)
    return text.encode()


def _course_files() -> dict[str, tuple[bytes, dict[str, bytes]]]:
    """exercise -> (stub, {file label: bytes}) for the solution and its alternatives."""
    found = {}
    for folder in sorted((REPO / "exercises").glob("exercise-*")):
        solutions = sorted((REPO / "solutions" / folder.name).glob("*.py"))
        if not solutions:
            continue
        module = solutions[0].name
        files = {"solution": solutions[0].read_bytes()}
        for where in (REPO / "tests/fixtures/exercises" / folder.name / "alternatives",
                      REPO / "tests/fixtures/alternatives" / folder.name):
            files |= {p.stem: p.read_bytes() for p in sorted(where.glob("*.py"))}
        found[folder.name] = ((folder / module).read_bytes(), files)
    return found


def _jaccard(a: frozenset[int], b: frozenset[int]) -> float:
    shared = len(a & b)
    return shared / (len(a) + len(b) - shared) if shared else 0.0


def calibrate() -> None:
    worst_independent, worst_copy, flagged = 0.0, 1.0, []
    for exercise, (stub, files) in _course_files().items():
        handed_out = fingerprints(stub)
        own = {label: fingerprints(source) - handed_out for label, source in files.items()}
        independent = 0.0
        for a, b in itertools.combinations(own, 2):
            score = _jaccard(own[a], own[b])
            if score >= THRESHOLD:
                flagged.append(f"{exercise}: {a} / {b} {score:.2f}")
            else:
                independent = max(independent, score)
        copies = [_jaccard(own["solution"],
                           fingerprints(_disguised(files["solution"], extra)) - handed_out)
                  for extra in (False, True)]
        worst_independent = max(worst_independent, independent)
        worst_copy = min(worst_copy, *copies)
        print(f"{exercise:36} {len(files):2} files  independent max {independent:.2f}  "
              f"disguised copy {copies[0]:.2f}, with two statements added {copies[1]:.2f}")
    print(f"\nhighest score between independent files: {worst_independent:.2f}")
    print(f"lowest score of a disguised copy:        {worst_copy:.2f}")
    print(f"threshold:                               {THRESHOLD:.2f}")
    for line in flagged:
        print(f"  at or above the threshold: {line}")


def speed(students: int) -> None:
    course = _course_files()
    files: dict[str, dict[str, bytes]] = {}
    for exercise, (_stub, sources) in course.items():
        pool = list(sources.values())
        files[exercise] = {f"s{n:04}": pool[n % len(pool)] + f"# s{n}\n".encode()
                           for n in range(students)}
    started = time.perf_counter()
    matches = find_copying(files, {e: [stub] for e, (stub, _) in course.items()})
    seconds = time.perf_counter() - started
    print(f"\n{students} students x {len(files)} exercises: {len(matches)} matches kept "
          f"in {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300,
                        help="class size for the speed measurement (default 300)")
    options = parser.parse_args()
    calibrate()
    speed(options.students)


if __name__ == "__main__":
    main()
