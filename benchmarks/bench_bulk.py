"""Bulk grading throughput: a synthetic class graded by `grade bulk`'s own code.

The class is generated from what the course has *when this runs* (other exercises are
added all the time, so nothing is hard-coded): for every exercise with metadata and a
reference solution, each student hands in one of

    correct          the reference solution or an alternative from variants.toml
    partly wrong     a known-wrong variant from tests/fixtures/exercises/<exercise>/wrong
    blocking         a wrong variant that calls time.sleep, or the solution made to
    hanging          the solution with one task function made to spin forever
    crashing         the solution ending in sys.exit at import, a syntax error, or
                     os._exit inside a task function
    unchanged stub   the stub as handed out (byte-identical between students)
    missing          nothing for this exercise

in the proportions of KINDS. Every file except the untouched stub carries the student's
own comment line, as real submissions differ, so identical-file reuse only applies to
the stubs. Entries are folders (course layout or flat) or zips with a wrapping folder,
plus one empty folder and one corrupt zip.

It prints submissions per minute, seconds per student-exercise, and the comparison with
running the same suites on real `asyncio.sleep` delays: the floor for that is the sum of
the simulated seconds the results record (what real sleeping would cost at minimum),
and one suite is also run for real, on a loop whose clock is the wall clock.

    python benchmarks/bench_bulk.py                    # 100 students, all exercises
    python benchmarks/bench_bulk.py --students 20 --exercises 03,07 --workers 2
    python benchmarks/bench_bulk.py --busy-check       # also grade again with all cores busy
    python benchmarks/bench_bulk.py --students 30 --cluster local:2 --repeats 3
                                  # the same class locally and on a 2-worker Dask cluster

With --cluster, the class is graded locally and on the cluster back to back, --repeats
times (alternating, so both see the same load), and the medians are compared: the
cluster path's overhead, the scheduler's round trip per task and per grading, and a
projection for a MOOC (10,000 students x 18 exercises) on N cores from the measured
cost per grading. local:N starts the cluster once, before the first timed run, so its
start-up is reported apart (a real cluster is already running).
"""

from __future__ import annotations

import argparse
import ast
import json
import multiprocessing
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
_WALL_CLOCK = time.monotonic  # taken before the grader swaps the clock functions

KINDS = {
    "correct": 0.50,
    "partly wrong": 0.24,
    "blocking": 0.07,
    "unchanged stub": 0.08,
    "crashing": 0.05,
    "hanging": 0.03,
    "missing": 0.03,
}
LAYOUTS = {"course folder": 0.60, "zipped course layout": 0.25, "flat folder": 0.15}


# -- what the course offers -------------------------------------------------------------


@dataclass
class Pools:
    """Source files per kind for one exercise."""

    exercise: object  # grader.course.course.Exercise
    correct: list[bytes] = field(default_factory=list)
    wrong: list[bytes] = field(default_factory=list)
    blocking: list[bytes] = field(default_factory=list)
    hanging: list[bytes] = field(default_factory=list)
    crashing: list[bytes] = field(default_factory=list)
    stub: bytes = b""


def _todo_functions(stub: str) -> list[tuple[str | None, ast.FunctionDef | ast.AsyncFunctionDef]]:
    """(class name or None, function) for each function the stub leaves to the student."""
    def unwritten(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Raise) and "NotImplementedError" in ast.unparse(n)
                   for n in ast.walk(node))

    found: list[tuple[str | None, ast.FunctionDef | ast.AsyncFunctionDef]] = []
    for node in ast.parse(stub).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and unwritten(node):
            found.append((None, node))
        elif isinstance(node, ast.ClassDef):
            found.extend((node.name, item) for item in node.body
                         if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                         and unwritten(item))
    return found


def _replace_first_todo(solution: bytes, stub: str, body: str) -> bytes | None:
    """The solution with the stub's first task function replaced by ``body``."""
    todo = _todo_functions(stub)
    if not todo:
        return None
    owner, function = todo[0]
    target = f"{owner}.{function.name}" if owner else function.name
    patch = (f"\n\ndef _bench_replacement(*args, **kwargs):\n{body}\n\n"
             f"{target} = _bench_replacement\n")
    return solution + patch.encode()


def _blocking_solution(solution: bytes, stub: str) -> bytes | None:
    """The solution with time.sleep at the start of its first task coroutine."""
    for owner, function in _todo_functions(stub):
        is_generator = any(isinstance(n, ast.Yield | ast.YieldFrom) for n in ast.walk(function))
        if owner is None and isinstance(function, ast.AsyncFunctionDef) and not is_generator:
            name = function.name
            return solution + (
                f"\n\nimport time as _bench_time\n_bench_original = {name}\n\n\n"
                f"async def {name}(*args, **kwargs):\n    _bench_time.sleep(0.2)\n"
                f"    return await _bench_original(*args, **kwargs)\n").encode()
    return None


def discover(course: object, wanted: list[str]) -> list[Pools]:
    from grader.course.variants import load_variants
    from grader.errors import GraderError

    chosen = [course.resolve(n) for n in wanted] if wanted else list(course.exercises)
    pools = []
    for exercise in chosen:
        try:
            meta = exercise.meta
        except GraderError:
            continue  # an exercise still being written
        if not exercise.solution_file.is_file() or not exercise.suite_file.is_file():
            continue
        solution = exercise.solution_file.read_bytes()
        stub = exercise.stub_file.read_text(encoding="utf-8")
        pool = Pools(exercise, correct=[solution], stub=stub.encode())
        try:
            variants = load_variants(exercise)
        except GraderError:
            variants = []
        for variant in variants:
            if not variant.file.is_file():
                continue
            source = variant.file.read_bytes()
            if variant.expect_full_marks:
                pool.correct.append(source)
            elif b"time.sleep(" in source:
                pool.blocking.append(source)
            else:
                pool.wrong.append(source)
        if not pool.blocking and (made := _blocking_solution(solution, stub)):
            pool.blocking.append(made)
        if made := _replace_first_todo(solution, stub, "    while True:\n        pass"):
            pool.hanging.append(made)
        pool.crashing.append(solution + b"\n\nimport sys\nsys.exit(1)\n")
        pool.crashing.append(solution + b"\n\ndef unfinished(:\n")
        if made := _replace_first_todo(solution, stub, "    import os\n    os._exit(3)"):
            pool.crashing.append(made)
        _ = meta
        pools.append(pool)
    return pools


# -- the synthetic class ----------------------------------------------------------------


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def build_class(folder: Path, pools: list[Pools], students: int,
                seed: int) -> dict[tuple[str, str], str]:
    """Write the class into ``folder``; returns (student, exercise name) -> kind."""
    rng = random.Random(seed)
    kinds: dict[tuple[str, str], str] = {}
    module_names = Counter(p.exercise.meta.module for p in pools)
    folder.mkdir(parents=True)
    for number in range(1, students + 1):
        student = f"student-{number:03d}"
        layout = _pick(rng, LAYOUTS)
        files: dict[str, bytes] = {}
        for pool in pools:
            exercise = pool.exercise
            kind = _pick(rng, KINDS)
            choices = {"correct": pool.correct, "partly wrong": pool.wrong or pool.correct,
                       "blocking": pool.blocking or pool.wrong or pool.correct,
                       "hanging": pool.hanging or pool.correct,
                       "crashing": pool.crashing, "unchanged stub": [pool.stub]}
            if kind == "missing":
                kinds[student, exercise.name] = kind
                continue
            content = rng.choice(choices[kind])
            if kind != "unchanged stub":
                content += f"\n# {student}\n".encode()
            kinds[student, exercise.name] = kind
            flat_ok = layout == "flat folder" and module_names[exercise.meta.module] == 1
            path = (exercise.meta.module if flat_ok
                    else f"exercises/{exercise.name}/{exercise.meta.module}")
            files[path] = content
        if number % 25 == 7:
            files["conftest.py"] = b"import pytest\n"  # flagged and ignored
        if layout == "zipped course layout":
            with zipfile.ZipFile(folder / f"{student}.zip", "w", zipfile.ZIP_DEFLATED) as z:
                for path, content in files.items():
                    z.writestr(f"{student}-work/{path}", content)
        else:
            for path, content in files.items():
                target = folder / student / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(content)
            (folder / student).mkdir(exist_ok=True)
    (folder / "student-empty").mkdir()
    (folder / "student-corrupt.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    return kinds


# -- real-time baseline -----------------------------------------------------------------


def realtime_child(suite: Path, student: Path, module_name: str) -> None:
    """Run one hidden suite with the grader's plugin on a wall-clock loop; print JSON.

    The loop is the virtual-clock loop with its clock replaced by the wall clock and its
    time jumps removed, so `asyncio.sleep(1.0)` really waits a second: what a grader
    without simulated time pays.
    """
    import asyncio

    import pytest

    from grader.budgets import DEFAULT_CPU_LIMIT
    from grader.child import plugin
    from grader.engine import simulation
    from grader.engine.virtual_loop import VirtualClockLoop
    from grader.protocol import ChildConfig

    class WallClockLoop(VirtualClockLoop):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self._started = _WALL_CLOCK()

        def time(self) -> float:
            return _WALL_CLOCK() - self._started

        def _run_once(self) -> None:
            asyncio.base_events.BaseEventLoop._run_once(self)

    simulation.VirtualClockLoop = WallClockLoop
    with tempfile.TemporaryFile() as channel:
        # The plugin's set-up grows with the runner's isolation; this harness confines
        # nothing (it only measures time), so any confinement hook is a no-op.
        config = ChildConfig(suite=str(suite), student=str(student), module_name=module_name,
                             time_limit=120.0, cpu_limit=DEFAULT_CPU_LIMIT,
                             results_fd=channel.fileno())
        plugin.configure(config, Path(student), confine=lambda: [])
        started = _WALL_CLOCK()
        pytest.main([str(suite), "-q", "--no-header", "--tb=no", "-p", "no:cacheprovider",
                     "-p", "no:asyncio", "--rootdir", str(suite.parent), "--confcutdir",
                     str(suite.parent), "-o", "python_files=test_*.py"], plugins=[plugin])
        wall = _WALL_CLOCK() - started
        channel.seek(0)
        records = [json.loads(line) for line in channel.read().splitlines() if line.strip()]
    statuses = {r["check"]: r["status"] for r in records if r.get("event") == "result"}
    sys.stdout.flush()
    print("REALTIME " + json.dumps({"wall": wall, "statuses": statuses}))
    sys.stdout.flush()
    os._exit(0)


def realtime_sample(pool: Pools) -> dict[str, object] | None:
    """Grade the exercise's solution virtually and for real; both wall times."""
    from grader.supervision.runner import grade_file

    exercise = pool.exercise
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / exercise.meta.module
        copy.write_bytes(exercise.solution_file.read_bytes())
        # Outside the repository, as the runner does, so no pytest settings of ours apply.
        suite = Path(tmp) / "suite" / exercise.suite_file.name
        suite.parent.mkdir()
        suite.write_bytes(exercise.suite_file.read_bytes())
        virtual = grade_file(exercise, copy)
        simulated = sum(c.sim_elapsed or 0.0 for c in virtual.checks)
        if simulated > 60:
            return None
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, __file__, "--realtime-child", str(suite), str(copy),
             Path(exercise.meta.module).stem],
            capture_output=True, text=True, cwd=tmp, timeout=300)
        process_wall = time.perf_counter() - started
    line = next((x for x in done.stdout.splitlines() if x.startswith("REALTIME ")), None)
    if line is None:
        return {"error": (done.stdout + done.stderr)[-800:]}
    real = json.loads(line.removeprefix("REALTIME "))
    virtual_statuses = {c.name: c.status for c in virtual.checks}
    return {
        "exercise": exercise.short_name,
        "virtual_seconds": virtual.duration,
        "simulated_seconds": simulated,
        "real_suite_seconds": real["wall"],
        "real_process_seconds": process_wall,
        "same_verdicts": real["statuses"] == virtual_statuses,
        "real_statuses": real["statuses"],
    }


# -- running ----------------------------------------------------------------------------


def _hog() -> None:
    while True:
        pass


def _reworded_rows(first: Path, second: Path) -> list[str]:
    """Rows whose full verdict JSON (messages, timelines) differs between two gradebooks."""
    import sqlite3

    rows = []
    for path in (first, second):
        with sqlite3.connect(path) as db:
            rows.append(dict(((s, e), v) for s, e, v in
                             db.execute("SELECT student, exercise, verdict FROM gradings")))
    return [f"{s}/{e.split('-', 2)[1]}" for (s, e), v in rows[0].items()
            if rows[1].get((s, e)) != v]


def _grade(course: object, subs: Path, out: Path, names: list[str], workers: int) -> tuple:
    from rich.console import Console

    from grader.bulk.progress import BulkProgress
    from grader.bulk.run import run_bulk

    started = time.perf_counter()
    with BulkProgress(Console(stderr=True)) as progress:
        outcome = run_bulk(course=course, submissions=subs, out=out, exercises=names,
                           workers=workers, listener=progress)
    return outcome, time.perf_counter() - started


def _noop() -> None:
    return None


def _timed_bulk(course: object, subs: Path, out: Path, names: list[str], *,
                workers: int | None = None, cluster: str | None = None) -> tuple:
    """One quiet run of grade bulk's own code: (wall seconds, outcome, cluster stats)."""
    import grader.bulk.cluster as cluster_module
    from grader.bulk.run import run_bulk

    seen: list[object] = []
    opened = cluster_module.open_cluster

    def keeping_executor(*args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        import contextlib

        @contextlib.contextmanager
        def block():  # type: ignore[no-untyped-def]
            with opened(*args, **kwargs) as executor:
                seen.append(executor)
                yield executor
        return block()

    cluster_module.open_cluster = keeping_executor
    try:
        started = time.perf_counter()
        outcome = run_bulk(course=course, submissions=subs, out=out, exercises=names,
                           workers=workers, cluster=cluster)
        wall = time.perf_counter() - started
    finally:
        cluster_module.open_cluster = opened
    return wall, outcome, (seen[0].stats if seen else None)


def cluster_comparison(course: object, subs: Path, base: Path, names: list[str],
                       spec: str, workers: int, repeats: int) -> None:
    """The same class locally and on a Dask cluster, back to back; medians compared."""
    import logging

    from distributed import Client, LocalCluster

    from grader.bulk.cluster import parse_cluster
    from grader.bulk.gradebook import Gradebook
    from grader.bulk.run import GRADEBOOK_NAME

    parsed = parse_cluster(spec)
    local_cluster = None
    started = time.perf_counter()
    if parsed.local_workers:
        local_cluster = LocalCluster(n_workers=parsed.local_workers, threads_per_worker=1,
                                     processes=True, host="127.0.0.1", dashboard_address=None,
                                     silence_logs=logging.ERROR)
        address = local_cluster.scheduler_address
    else:
        address = parsed.address
    client = Client(address, set_as_default=False)
    client.wait_for_workers(1, timeout=120)
    startup = time.perf_counter() - started
    threads = sum(client.nthreads().values())
    try:
        # The scheduler's own cost: an empty task's round trip, many times.
        trips = []
        for _ in range(200):
            began = time.perf_counter()
            client.submit(_noop, pure=False).result()
            trips.append(time.perf_counter() - began)
        local_walls, cluster_walls, digests, stats = [], [], set(), []
        graded = 0
        for number in range(repeats):
            for path in ("local", "cluster"):  # back to back: both see the same load
                out = base / f"results-{path}-{number}"
                wall, outcome, stat = _timed_bulk(
                    course, subs, out, names,
                    workers=workers if path == "local" else None,
                    cluster=address if path == "cluster" else None)
                if outcome.summary.failed:  # say so; a failed grading is not a verdict
                    print(f"  WARNING: {len(outcome.summary.failed)} grader failure(s) in the "
                          f"{path} run: {outcome.summary.failed[:2]}")
                graded = outcome.summary.graded
                (local_walls if path == "local" else cluster_walls).append(wall)
                if stat is not None:
                    stats.append(stat)
                with Gradebook(out / GRADEBOOK_NAME) as book:
                    digests.add(book.verdict_digest())
                print(f"  run {number + 1} {path:7} {wall:6.1f} s  load {os.getloadavg()[0]:.1f}",
                      flush=True)
    finally:
        client.close()
        if local_cluster is not None:
            local_cluster.close()
    local, remote = statistics.median(local_walls), statistics.median(cluster_walls)
    trip = statistics.median(trips)
    per_task = statistics.median(s.gradings / max(s.tasks, 1) for s in stats)
    print()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; class "
          f"{graded} gradings ({', '.join(names) or 'all exercises'}), {repeats} repeats")
    print(f"cluster {spec}: {threads} worker threads, started in {startup:.1f} s (not timed "
          f"below); local path: {workers} threads")
    print(f"median wall: local {local:.1f} s, cluster {remote:.1f} s -> cluster overhead "
          f"{(remote - local) / local:+.1%} (target: under 15% on the same cores); "
          f"per run: local {[round(w, 1) for w in local_walls]}, cluster "
          f"{[round(w, 1) for w in cluster_walls]}")
    print(f"scheduler: an empty task's round trip {trip * 1000:.1f} ms (median of 200); "
          f"{per_task:.1f} gradings per task -> {trip / per_task * 1000:.2f} ms per grading; "
          f"measured difference per grading {(remote - local) / graded * 1000:+.1f} ms")
    print(f"identical verdicts in every run (gradebook digests): {len(digests) == 1}")
    cost = local * workers / graded  # core-seconds per grading, as measured here
    mooc = 10_000 * 18
    print(f"projection for {mooc:,} gradings at {cost:.3f} core-s each (+"
          f"{trip / per_task * 1000:.2f} ms scheduling): " + ", ".join(
              f"{cores} cores {(mooc * (cost + trip / per_task) / cores) / 60:.0f} min"
              for cores in (2, 16, 64, 256)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--exercises", default="", help="e.g. 03,07 (default: all)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--keep", type=Path, default=None,
                        help="keep the class and results in this folder")
    parser.add_argument("--busy-check", action="store_true",
                        help="grade the class again with every core busy; compare gradebooks")
    parser.add_argument("--no-realtime", action="store_true",
                        help="skip the real-time run of one suite")
    parser.add_argument("--cluster", default=None, metavar="ADDRESS|local:N",
                        help="compare the local path with this Dask cluster, back to back")
    parser.add_argument("--repeats", type=int, default=3,
                        help="with --cluster: runs of each path (medians are reported)")
    parser.add_argument("--realtime-child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.realtime_child:
        suite, student, module = args.realtime_child
        realtime_child(Path(suite), Path(student), module)
        return

    from grader.bulk.gradebook import Gradebook
    from grader.bulk.run import GRADEBOOK_NAME
    from grader.course.course import Course

    course = Course(REPO)
    pools = discover(course, [n for n in args.exercises.split(",") if n])
    names = [p.exercise.short_name for p in pools]
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-bulk-"))
    subs, out = base / "submissions", base / "results"
    kinds = build_class(subs, pools, args.students, args.seed)
    load = os.getloadavg()[0]
    if args.cluster:
        cluster_comparison(course, subs, base, names, args.cluster, args.workers, args.repeats)
        print(f"class and results in {base}")
        return

    outcome, wall = _grade(course, subs, out, names, args.workers)
    results = outcome.results
    summary = outcome.summary
    assert results is not None

    handed_in = sum(o.state in ("graded", "not graded") for s in results.students
                    for o in s.outcomes)
    run = [(s.student, o) for s in results.students for o in s.outcomes
           if o.result is not None and o.reused_from is None]
    seconds = [o.seconds for _, o in run]
    limits = {p.exercise.name: p.exercise.meta.time_limit for p in pools}
    # A real-time grader sleeps what the virtual clock skipped, but no check longer than
    # its real-time limit (a check stuck for 3600 simulated seconds would be killed).
    sleeping = sum(min(c.sim_elapsed or 0.0, limits[o.exercise])
                   for _, o in run for c in o.result.checks)
    per_kind: dict[str, list[float]] = {}
    for student, o in run:
        per_kind.setdefault(kinds.get((student, o.exercise), "?"), []).append(o.seconds)

    print()
    print(f"machine: {os.cpu_count()} CPUs, Python {platform.python_version()}, load average "
          f"{load:.1f} before the run, {os.getloadavg()[0]:.1f} after")
    print(f"class: {args.students} students (+2 malformed entries) x {len(pools)} exercises "
          f"({', '.join(names)})")
    print(f"handed in: {handed_in} student-exercises "
          f"({', '.join(f'{k} {n}' for k, n in Counter(kinds.values()).most_common())})")
    print(f"gradings run: {summary.graded} (one child process each; {summary.reused} verdicts "
          f"reused for byte-identical files) with {args.workers} workers")
    if not results.complete or outcome.suites_changed:
        print(f"WARNING: incomplete results; suites edited during the run: "
              f"{outcome.suites_changed}")
    print(f"wall time: {wall:.1f} s  ->  {handed_in / wall * 60:.0f} submissions/minute "
          f"(student-exercises), {args.students / wall * 60:.1f} students/minute")
    print(f"per student-exercise: median {statistics.median(seconds):.2f} s, "
          f"p95 {sorted(seconds)[int(0.95 * (len(seconds) - 1))]:.2f} s, "
          f"max {max(seconds):.2f} s (one grading, real time); "
          f"{wall / handed_in:.3f} s of wall time each on average")
    for kind, values in sorted(per_kind.items(), key=lambda kv: -len(kv[1])):
        print(f"  {kind:15} {len(values):5} gradings, median {statistics.median(values):.2f} s,"
              f" max {max(values):.2f} s, {sum(values) / sum(seconds):4.0%} of grading time")
    print(f"real-time floor: {sleeping:.0f} s of simulated waiting in the gradings run "
          f"(each check capped at its real-time limit): {sleeping / 60:.1f} min serially, "
          f"{sleeping / args.workers / 60:.1f} min on {args.workers} workers")
    print(f"virtual clock vs that floor: {sleeping / sum(seconds):.1f}x per grading "
          f"(sleeping alone vs our whole grading), {sleeping / args.workers / wall:.1f}x "
          f"for the class with the same {args.workers} workers; "
          f"{(sleeping + sum(seconds)) / sum(seconds):.1f}x counting the same per-grading "
          "process cost on both sides")
    finishing = [(o, sum(min(c.sim_elapsed or 0.0, limits[o.exercise])
                          for c in o.result.checks))
                 for _, o in run if all(c.status != "timed out" for c in o.result.checks)]
    if finishing:
        cost = sum(o.seconds for o, _ in finishing)
        print(f"  without the {len(run) - len(finishing)} gradings that hit a real-time limit "
              f"(a real-time grader waits those out too): "
              f"{sum(w for _, w in finishing) / cost:.1f}x per grading")
    if args.students >= 100 and not args.exercises:
        verdict = "met" if wall < 120 else "NOT met"
        print(f"target (100 students x all exercises in < 120 s on 2 cores): {verdict} "
              f"({wall:.0f} s on {os.cpu_count()} CPUs)")

    if not args.no_realtime and pools:
        sample_pool = next((p for p in pools if p.exercise.number == 3), pools[0])
        sample = realtime_sample(sample_pool)
        if sample and "error" not in sample:
            print(f"real-time run of {sample['exercise']}'s suite on its solution: "
                  f"{sample['real_suite_seconds']:.2f} s of suite "
                  f"({sample['real_process_seconds']:.2f} s with process start) vs "
                  f"{sample['virtual_seconds']:.2f} s graded on the virtual clock "
                  f"({sample['real_process_seconds'] / sample['virtual_seconds']:.1f}x); "
                  f"simulated {sample['simulated_seconds']:.2f} s; same verdicts: "
                  f"{sample['same_verdicts']}")
        elif sample:
            print(f"real-time run failed: {sample['error']}")

    if args.busy_check:
        hogs = [multiprocessing.get_context("fork").Process(target=_hog, daemon=True)
                for _ in range(os.cpu_count() or 2)]
        for hog in hogs:
            hog.start()
        try:
            _, busy_wall = _grade(course, subs, base / "results-busy", names, args.workers)
        finally:
            for hog in hogs:
                hog.kill()
        with Gradebook(out / GRADEBOOK_NAME) as idle, \
                Gradebook(base / "results-busy" / GRADEBOOK_NAME) as busy:
            same = idle.verdict_digest() == busy.verdict_digest()
        reworded = _reworded_rows(out / GRADEBOOK_NAME, base / "results-busy" / GRADEBOOK_NAME)
        print(f"every core busy: graded again in {busy_wall:.1f} s; identical decisions "
              f"(statuses, points, simulated seconds) for every row: {same}; rows whose "
              f"feedback wording differs: {len(reworded)} {reworded[:5]}")
    print(f"class and results in {base}")


if __name__ == "__main__":
    main()
