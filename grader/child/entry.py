"""Entry point of the grading child process: run one hidden suite against one module.

Started by :mod:`grader.supervision.runner` in its own session and temporary directory. It ends
with ``os._exit`` so a non-daemon thread left by student code cannot keep it alive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="grader.child")
    parser.add_argument("--suite", type=Path, required=True)
    parser.add_argument("--student", type=Path, required=True)
    parser.add_argument("--module-name", required=True)
    parser.add_argument("--results-fd", type=int, required=True)
    parser.add_argument("--time-limit", type=float, required=True)
    parser.add_argument("--cpu-limit", type=float, default=None,
                        help="CPU seconds per check (default: the plugin's)")
    parser.add_argument("--only", default="", help="comma-separated check names to run")
    parser.add_argument("--canary", type=Path, default=None, help="a planted check file")
    parser.add_argument("--hide", type=Path, action="append", default=[],
                        help="a folder student code must not see (repeatable)")
    parser.add_argument("--limits", default="{}", help="JSON of grader.child.isolation.Limits")
    parser.add_argument("--sandboxed", action="store_true",
                        help="started inside a grading sandbox (grader.child.zygote)")
    parser.add_argument("--missing", action="append", default=[],
                        help="a protection the sandbox could not apply (repeatable)")
    args = parser.parse_args(argv)
    args.suite, args.student = args.suite.resolve(), args.student.resolve()
    if args.canary is not None:
        args.canary = args.canary.resolve()

    from grader.budgets import Limits
    from grader.child.isolation import confine, confine_in_sandbox

    limits = Limits(**json.loads(args.limits))
    hidden = (args.suite.parent, *args.hide)

    def confine_now() -> list[str]:
        # After collection (the suite is imported), before any student code runs.
        if args.sandboxed:
            return [*args.missing, *confine_in_sandbox(limits, args.suite.parent)]
        return confine(Path.cwd(), limits, hidden)

    import pytest
    import pytest_timeout

    from grader.child import plugin

    plugin.configure(args.student, args.module_name, args.results_fd, args.time_limit,
                     confine_now, cpu_limit=args.cpu_limit or plugin.CPU_LIMIT)
    suite_dir = args.suite.parent
    targets = [f"{args.suite}::test_{name}" for name in args.only.split(",") if name]
    if args.canary is not None:
        targets.append(str(args.canary))
    code = pytest.main(
        [
            *targets,
            "-q",
            "--no-header",
            # We read verdicts from our own channel, so pytest's failure reports (source
            # listings, reprs) are pure cost; skip them and the plugins we never use.
            "--tb=no",
            "--assert=plain",
            "-p", "no:doctest",
            "-p", "no:junitxml",
            "-p", "no:pastebin",
            "-p", "no:legacypath",
            "-p", "no:stepwise",
            "-p", "no:logging",
            "-p", "no:debugging",
            "-p", "no:setupplan",
            "-p", "no:setuponly",
            # Both run gc.collect() several times per session (tens of ms); student
            # exceptions in threads or finalizers do not change a verdict here.
            "-p", "no:unraisableexception",
            "-p", "no:threadexception",
            "-p", "no:cacheprovider",
            "-p", "no:warnings",
            "-p", "no:asyncio",
            f"--timeout={args.time_limit}",
            "--rootdir", str(suite_dir),
            "--confcutdir", str(suite_dir),
            "-o", "python_files=test_*.py",
            "-o", "console_output_style=classic",
        ],
        # Registered as a module: naming it with -p makes pytest scan every installed
        # distribution's entry points first (5-10 ms per grading).
        plugins=[plugin, pytest_timeout],
    )
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(int(code))

