"""Permissions of what ``grade bulk`` writes: those of your umask, for every file alike.

The outputs were written by three mechanisms with three results: ``grades.csv``,
``results.json`` and the class summary through ``tempfile.mkstemp`` (always 0600, so a
teaching assistant in the same group could not read them), the per-student pages with
a fixed 0644 (readable by everyone on the machine, whatever the umask said), and the
gradebook by SQLite (0644 minus the umask).

The rule now: every file ``grade bulk`` writes into RESULTS gets ``0666`` minus the
umask and every folder it makes ``0777`` minus the umask, the permissions any new file
of yours gets (0644 and 0755 with the usual umask 022; 0600 and 0700 with 077). The
umask is respected rather than overridden because the outputs hold grades: a course
that set ``umask 077`` to keep them private must not find them world-readable, and
one that shares them with a group sets ``umask 007``. RESULTS itself, when it already
existed, is the instructor's folder and is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

__all__ = ["apply_umask", "current_umask", "file_mode", "folder_mode"]


def current_umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere (macOS) the only way is to set it and put it back; this runs after the
    # gradings, when no other thread creates files.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    return 0o666 & ~current_umask()


def folder_mode() -> int:
    return 0o777 & ~current_umask()


def apply_umask(paths: Iterable[Path]) -> None:
    """Give each path, and everything under a folder, the modes the umask gives new files.

    Symbolic links are skipped (``grade bulk`` writes none; one here is not ours).
    """
    files, folders = file_mode(), folder_mode()
    for path in paths:
        if path.is_symlink() or not path.exists():
            continue
        if path.is_dir():
            os.chmod(path, folders)
            for root, dirs, names in os.walk(path):
                for name in dirs:
                    if not (Path(root) / name).is_symlink():
                        os.chmod(Path(root) / name, folders)
                for name in names:
                    if not (Path(root) / name).is_symlink():
                        os.chmod(Path(root) / name, files)
        else:
            os.chmod(path, files)
