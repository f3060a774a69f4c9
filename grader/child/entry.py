"""Entry point of the grading child process: run one hidden suite against one module.

Started by :mod:`grader.supervision.runner`, either as ``python -m grader.child --config
JSON`` in its own session and temporary directory, or forked by a sandbox's first process
(:mod:`grader.child.zygote`), which calls :func:`run`. Either way its whole configuration
is one :class:`~grader.protocol.ChildConfig`. It ends with ``os._exit`` so a non-daemon
thread left by student code cannot keep it alive.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import NoReturn

from grader.budgets import GRADING_CPU_COUNT
from grader.protocol import ChildConfig, ProtocolError


def main(argv: list[str] | None = None) -> NoReturn:
    parser = argparse.ArgumentParser(prog="grader.child")
    parser.add_argument("--config", required=True,
                        help="the child's configuration: JSON of grader.protocol.ChildConfig")
    args = parser.parse_args(argv)
    try:
        config = ChildConfig.from_json(args.config)
    except ProtocolError as exc:
        parser.error(str(exc))
    run(config)


def run(config: ChildConfig) -> NoReturn:
    """Run the configured checks; exit with pytest's status."""
    suite, student = Path(config.suite).resolve(), Path(config.student).resolve()
    canary = Path(config.canary).resolve() if config.canary else None

    from grader.child.isolation import confine, confine_in_sandbox

    _pin_cpu_count(GRADING_CPU_COUNT)

    hidden = (suite.parent, *map(Path, config.hide))

    def confine_now() -> list[str]:
        # After collection (the suite is imported), before any student code runs.
        if config.sandboxed:
            return [*config.missing, *confine_in_sandbox(config.limits, suite.parent)]
        return confine(Path.cwd(), config.limits, hidden)

    import pytest
    import pytest_timeout

    from grader.child import plugin

    plugin.configure(config, student, confine_now)
    suite_dir = suite.parent
    targets = [f"{suite}::test_{name}" for name in config.checks]
    if canary is not None:
        targets.append(str(canary))
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
            f"--timeout={config.time_limit}",
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


def _pin_cpu_count(count: int) -> None:
    """Every way the standard library counts cores answers ``count`` in this process.

    Before student code runs: a pool left at its default size must not be graded by the
    machine it happens to run on.
    """
    def counted() -> int:
        return count

    os.cpu_count = counted
    if hasattr(os, "process_cpu_count"):  # 3.13+: what pools use by default
        os.process_cpu_count = counted
