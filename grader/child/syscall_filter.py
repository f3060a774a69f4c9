"""The seccomp filter every process in a grading sandbox runs under.

bubblewrap already gives the sandbox its own namespaces, drops every capability and sets
``PR_SET_NO_NEW_PRIVS``; this filter takes away the system calls that could undo that
from inside (mounting, entering other namespaces, tracing other processes, loading
kernel code) so a kernel bug behind one of them is out of reach too. It is built with
libseccomp (the PyPI ``pyseccomp`` bindings) rather than by hand-assembling BPF.

Denied calls fail with ``EPERM`` instead of killing the process: a student who calls
``os.unshare`` by mistake gets an ordinary ``PermissionError`` in their traceback.
"""

from __future__ import annotations

import contextlib
import errno

__all__ = ["DENIED_SYSCALLS", "install"]

DENIED_SYSCALLS = (
    # Filesystems and namespaces: the sandbox's view of the machine is fixed.
    "mount", "umount2", "pivot_root", "chroot", "setns", "unshare", "mount_setattr",
    "move_mount", "open_tree", "fsopen", "fsconfig", "fsmount", "fspick",
    "open_by_handle_at", "name_to_handle_at",
    # Other processes' memory and the kernel itself.
    "ptrace", "process_vm_readv", "process_vm_writev", "kcmp", "pidfd_getfd",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module",
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "io_uring_setup", "io_uring_enter", "io_uring_register", "fanotify_init",
    "syslog", "acct", "swapon", "swapoff", "reboot", "quotactl", "vhangup",
    "settimeofday", "clock_settime", "clock_adjtime", "adjtimex", "lookup_dcookie",
)

_CLONE_NEW_NAMESPACES = (0x00020000 | 0x02000000 | 0x04000000 | 0x08000000
                         | 0x10000000 | 0x20000000 | 0x40000000 | 0x00000080)


def install() -> list[str]:
    """Load the filter into this process (inherited by every child); return what's missing."""
    try:
        import pyseccomp as seccomp
    except (ImportError, OSError):
        return ["system-call filter (install pyseccomp and libseccomp)"]
    try:
        rules = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
        for name in DENIED_SYSCALLS:
            try:
                rules.add_rule(seccomp.ERRNO(errno.EPERM), name)
            except (ValueError, RuntimeError, OSError):
                continue  # not a system call on this architecture
        # clone() that asks for a new namespace; clone3 hides its flags in memory a filter
        # cannot read, so it reports "not implemented" and the C library falls back to clone.
        for flag in _split_flags(_CLONE_NEW_NAMESPACES):
            rules.add_rule(seccomp.ERRNO(errno.EPERM), "clone",
                           seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
        with contextlib.suppress(ValueError, RuntimeError, OSError):
            rules.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
        rules.load()
    except (RuntimeError, OSError, ValueError) as exc:
        return [f"system-call filter ({exc})"]
    return []


def _split_flags(mask: int) -> list[int]:
    return [1 << bit for bit in range(32) if mask & (1 << bit)]
