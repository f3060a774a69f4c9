"""Confining the grading child before it imports any student code.

The child is trusted until the plugin imports the student's module, so it confines
itself first, in this order:

1. resource limits (address space, CPU time, file size, open files, and process count
   where the OS enforces it);
2. on Linux, new mount and network namespaces: every mount becomes read-only except the
   run's own temporary directory and a fresh ``/dev/shm``, so student code cannot
   rewrite the hidden tests, plant a ``conftest.py`` or ``.pth`` file for the next
   student, or write anywhere else; the network namespace has no usable interface;

This is the fallback for machines where the bubblewrap sandbox (:mod:`grader.supervision.sandbox`)
cannot run; there, :func:`confine_in_sandbox` is all the child does itself.

Doing this in the child rather than in a ``preexec_fn`` keeps process creation safe
when the parent grades from several threads. Each protection that is not available
(macOS, no root and no user namespaces, no cgroup) is reported, never faked.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
import shutil
import signal
import sys
from pathlib import Path

from grader.budgets import Limits

__all__ = ["confine", "confine_in_sandbox"]


CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND = 32, 1024, 2048, 4096
MS_REC, MS_PRIVATE, MS_RELATIME, MS_STRICTATIME = 16384, 1 << 18, 1 << 21, 1 << 24
_KEEP_FLAGS = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC,
               "noatime": MS_NOATIME, "nodiratime": MS_NODIRATIME,
               "relatime": MS_RELATIME, "strictatime": MS_STRICTATIME}


def confine(workdir: Path, limits: Limits,
            hidden: tuple[Path, ...] = ()) -> list[str]:
    """Apply every available protection; return the ones that could not be applied.

    ``hidden`` paths (the suite copy, every exercise's ``.meta``, the solutions) are
    covered by an empty read-only tmpfs: called after pytest collected the suite and
    before the first check imports student code, so the student can neither read nor
    change the hidden tests.
    """
    missing: list[str] = []
    _set_rlimits(limits, missing)
    if os.geteuid() == 0:
        missing.append("process limit (root ignores RLIMIT_NPROC; the sandbox's cgroup "
                       "would cap it)")
    if sys.platform != "linux":
        missing.append("read-only filesystem and no network (need Linux namespaces)")
        return missing
    try:
        _enter_namespaces(workdir, hidden)
    except OSError as exc:
        missing.append(f"read-only filesystem and no network ({exc.strerror or exc})")
    return missing


def confine_in_sandbox(limits: Limits, suite_folder: Path) -> list[str]:
    """Inside a bubblewrap sandbox: per-process limits, and the suite copy deleted.

    The sandbox already hides the course and makes everything but scratch folders
    read-only; what is left is the suite this child just imported, which must not be
    readable by the student's code that runs next.
    """
    missing: list[str] = []
    _set_rlimits(limits, missing)
    shutil.rmtree(suite_folder, ignore_errors=True)
    if suite_folder.exists():
        missing.append("hidden suite removal")
    return missing


def _set_rlimits(limits: Limits, missing: list[str]) -> None:
    # Over-long writes then fail with EFBIG inside student code instead of a signal.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    wanted = [
        ("RLIMIT_AS", limits.address_space, "memory limit"),
        ("RLIMIT_FSIZE", limits.file_size, "file size limit"),
        ("RLIMIT_NOFILE", limits.open_files, "open files limit"),
        ("RLIMIT_CPU", limits.cpu_seconds, "CPU time limit"),
        ("RLIMIT_CORE", 0, "core dump limit"),
    ]
    if os.geteuid() != 0:  # ignored for root; the pids cgroup covers root instead
        wanted.append(("RLIMIT_NPROC", limits.processes, "process limit"))
    for name, value, label in wanted:
        rlimit = getattr(resource, name, None)
        try:
            if rlimit is None:
                raise ValueError(name)
            _soft, hard = resource.getrlimit(rlimit)
            cap = value if hard == resource.RLIM_INFINITY else min(value, hard)
            resource.setrlimit(rlimit, (cap, hard if name == "RLIMIT_CPU" else cap))
        except (ValueError, OSError):
            missing.append(label)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _enter_namespaces(workdir: Path, hidden: tuple[Path, ...]) -> None:
    libc = _libc()
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWNET
    if uid != 0:
        flags |= CLONE_NEWUSER  # lets an ordinary user make its own mounts
    _check(libc.unshare(flags), "unshare")
    if uid != 0:
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")

    def mount(source: str | None, target: str, fstype: str | None, flags: int,
              data: str | None = None) -> None:
        def enc(text: str | None) -> bytes | None:
            return text.encode() if text is not None else None

        _check(libc.mount(enc(source), enc(target), enc(fstype), flags, enc(data)),
               f"mount {target}")

    mount(None, "/", None, MS_REC | MS_PRIVATE)
    work = str(workdir.resolve())
    mount(work, work, None, MS_BIND | MS_REC)
    covered = set()
    for path in hidden:
        if path.is_dir():
            target = str(path.resolve())
            mount("tmpfs", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, "size=4k")
            covered.add(target)
    writable = {work} | covered
    try:
        mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV, "size=64m")
        writable.add("/dev/shm")
    except OSError:
        pass  # no /dev/shm: multiprocessing falls back or fails inside student code
    for target, options in _mounts():
        if target in writable or target.startswith(work + "/"):
            continue
        keep = sum(flag for name, flag in _KEEP_FLAGS.items() if name in options)
        try:
            mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | keep)
        except OSError:
            if target == "/":
                raise
    # The cwd still names the directory *under* the new mounts; re-enter it through them.
    os.chdir(work)


def _mounts() -> list[tuple[str, set[str]]]:
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        target = fields[4].replace("\\040", " ")
        found.append((target, set(fields[5].split(","))))
    return found
