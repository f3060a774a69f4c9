"""Refuse, in one line, to grade where the grader was never tested.

The virtual clock leans on private asyncio internals that change between Python
versions, so a Python newer than the newest one CI runs could grade wrongly without
failing loudly; CI runs 3.11 to 3.14 (``.ci/run``). Confinement needs POSIX (rlimits
from ``resource``, process groups), so Windows itself is out: WSL is Linux.
``grade`` calls :func:`check_platform` before it imports anything else of the grader's,
which is also why this module imports only ``sys`` and the error class.
"""

from __future__ import annotations

import sys

from grader.errors import GraderError

__all__ = ["NEWEST_TESTED", "OLDEST_SUPPORTED", "UnsupportedPlatformError", "check_platform"]

OLDEST_SUPPORTED = (3, 11)
NEWEST_TESTED = (3, 14)


class UnsupportedPlatformError(GraderError):
    """Raised when ``grade`` runs on Windows or on a Python newer than any tested."""


def check_platform() -> None:
    """Raise :class:`UnsupportedPlatformError` unless this system and Python were tested."""
    if sys.platform == "win32":
        raise UnsupportedPlatformError(
            "grade runs on Linux, macOS and WSL, not on Windows itself: install WSL "
            "(wsl --install), then the course and grade inside it.")
    version = tuple(sys.version_info[:2])
    if version > NEWEST_TESTED:
        newest = ".".join(map(str, NEWEST_TESTED))
        oldest = ".".join(map(str, OLDEST_SUPPORTED))
        raise UnsupportedPlatformError(
            f"grade was tested on Python {oldest} to {newest}, not on "
            f"{version[0]}.{version[1]}, whose asyncio may grade wrongly: install it "
            f"under Python {oldest} to {newest} (e.g. python{newest} -m venv .venv).")
