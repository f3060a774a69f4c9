"""Every limit a grading runs under, and the rules that tie them together, in one place.

Checks run on simulated time and take milliseconds of real time; these real-time and
CPU-time limits are only the safety net for code that never finishes. They are tuned
together: a check's CPU limit must fire well before its real-time limit (CPU time never
runs ahead of wall time for one spinning thread), so the verdict is worded by the CPU
limit, which does not depend on machine load.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "AFTER_TROUBLE_CPU_LIMIT",
    "AFTER_TROUBLE_TIME_LIMIT",
    "CHECK_GRACE",
    "DEFAULT_CPU_LIMIT",
    "DEFAULT_TIME_LIMIT",
    "GRADING_CPU_COUNT",
    "OUTPUT_TAIL",
    "RESULT_CHANNEL_BUDGET",
    "RESULT_CHANNEL_LIMIT",
    "TIMELINE_OPERATIONS",
    "CpuLimitExceeded",
    "Limits",
    "cpu_limit_for",
]

DEFAULT_TIME_LIMIT = 5.0
"""Real seconds one check may run (metadata ``time_limit``)."""

DEFAULT_CPU_LIMIT = 0.5
"""CPU seconds one check may use (metadata ``cpu_limit``): ten times the 50 ms blocking
budget, far more than any honest check needs."""

AFTER_TROUBLE_TIME_LIMIT = 1.5
"""Real seconds per check once a check of the same grading has hung or crashed.

Checks take milliseconds, so 1.5 s is still a wide margin; without it, code that hangs
in a function every check calls costs the full limit per check before the student sees
anything."""

AFTER_TROUBLE_CPU_LIMIT = 0.5
"""CPU seconds per check once a check of the same grading has timed out."""

OUTPUT_TAIL = 4000
"""Characters of a child's own output kept for diagnostics (a crash before collection)."""

RESULT_CHANNEL_LIMIT = 8 * 1024 * 1024
"""Bytes of records the parent reads from one child; past them the channel has overflowed."""

RESULT_CHANNEL_BUDGET = 6 * 1024 * 1024
"""Bytes of records an honest child sends at most: a result that would pass it is sent
short (an error saying so), so an overflowing channel means someone else wrote on it."""

TIMELINE_OPERATIONS = 500
"""Operations of one check's timeline kept (the first ones); the real suites record ~200."""

GRADING_CPU_COUNT = 8
"""What ``os.cpu_count()`` answers in a grading child. Default pool sizes follow it
(``ProcessPoolExecutor()``, ``ThreadPoolExecutor()``), so a submission that leaves them
to the machine is graded the same on a 2-core CI runner and a 64-core server."""

CHECK_GRACE = 2.0
"""Real seconds past a check's limit before the parent stops the child from outside."""


def cpu_limit_for(cpu_limit: float, time_limit: float) -> float:
    """A check's CPU limit: at most half its real-time limit, so it fires first.

    Unless the machine gives the grading less than a third of a core (0.5 s of CPU in
    1.5 s after trouble), the CPU limit ends a spinning check and words its verdict.
    """
    return min(cpu_limit, time_limit / 2)


class CpuLimitExceeded(BaseException):
    """Raised in a check that used more CPU than its limit (a BaseException, so a
    student's ``except Exception`` cannot swallow it)."""


_MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource limits of one grading child (rlimits, and the sandbox's cgroup)."""

    address_space: int = 4096 * _MiB  # threads reserve stack address space; keep roomy
    file_size: int = 16 * _MiB  # caps captured output and anything the child writes
    open_files: int = 256
    cpu_seconds: int = 60
    processes: int = 64
