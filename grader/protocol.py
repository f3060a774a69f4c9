"""The contract between the grading parent and the child: configuration, reports, framing.

Everything that crosses the trust boundary is defined here, so neither side guesses:

* :class:`ChildConfig`, what one grading child is asked to do, as one JSON object: the
  ``--config`` of ``python -m grader.child`` (no sandbox) or the ``config`` of a ``run``
  message to a sandbox's first process (:mod:`grader.child.zygote`).
* The child's reports: one JSON object per line on a pipe made for that child, each
  naming its :class:`Event`. The child writes them, but so can student code: the parent
  reads each as a claim (:func:`event_of` answers None for anything unknown) and decides
  nothing on a child's word alone (:mod:`grader.supervision.judging`).
* Messages between the parent and a sandbox's first process: a 4-byte length and a JSON
  object, or a file descriptor (the pipe a grading child reports on) travelling alone as
  one byte carrying it. Both sides bound every read: a message over :data:`MAX_MESSAGE`
  bytes, or one that is not a JSON object, means the other side is broken, and the reader
  says so with :class:`ProtocolError` instead of guessing.

Both sides import this module, so it imports nothing of the grader but the budgets.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import select
import socket
import struct
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from grader.budgets import Limits

__all__ = ["MAX_MESSAGE", "ChildConfig", "Event", "ProtocolError", "event_of", "receive",
           "receive_fd", "send", "send_fd"]


class ProtocolError(Exception):
    """The other end sent something that is not a message, or went away."""


# -- what the child is asked to do ---------------------------------------------------------


@dataclass(frozen=True)
class ChildConfig:
    """One grading child's whole configuration.

    Paths are as the child sees them: absolute without a sandbox, relative to the job's
    folder inside one. ``results_fd``, ``sandboxed`` and ``missing`` are filled in by
    whoever starts the child (the launcher, or the sandbox's first process).
    """

    suite: str  # the copy of the hidden suite to run
    student: str  # the submission's module file
    module_name: str  # the name the student's module is imported under
    time_limit: float  # real seconds per check (pytest-timeout)
    cpu_limit: float  # CPU seconds per check, already capped by budgets.cpu_limit_for
    checks: tuple[str, ...] = ()  # check names to run (test_<name> in the suite)
    canary: str | None = None  # a planted check that must fail after the others
    hide: tuple[str, ...] = ()  # folders student code must not see (no-sandbox fallback)
    limits: Limits = field(default_factory=Limits)
    results_fd: int = -1  # the pipe the child reports on
    sandboxed: bool = False  # started inside a grading sandbox
    missing: tuple[str, ...] = ()  # protections the sandbox could not apply

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)

    @classmethod
    def from_dict(cls, data: object) -> ChildConfig:
        """Rebuild a configuration, refusing any field of the wrong shape."""
        if not isinstance(data, Mapping):
            raise ProtocolError("a child configuration must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        if unknown := sorted(set(data) - known):
            raise ProtocolError(f"unknown child configuration fields: {', '.join(unknown)}")
        values = dict(data)
        try:
            values["limits"] = Limits(**dict(values.get("limits") or {}))
            for name in ("checks", "hide", "missing"):
                values[name] = tuple(_strings(values.get(name, ()), name))
            config = cls(**values)
        except (TypeError, ValueError) as exc:
            raise ProtocolError(f"bad child configuration: {exc}") from None
        _check_types(config)
        return config

    @classmethod
    def from_json(cls, text: str) -> ChildConfig:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise ProtocolError(f"child configuration is not JSON: {exc}") from None
        return cls.from_dict(data)


def _strings(value: object, name: str) -> list[str]:
    if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
        raise ProtocolError(f"child configuration field {name} must be a list of strings")
    return list(value)


def _check_types(config: ChildConfig) -> None:
    expected: dict[str, tuple[type, ...]] = {
        "suite": (str,), "student": (str,), "module_name": (str,),
        "time_limit": (int, float), "cpu_limit": (int, float), "canary": (str, type(None)),
        "results_fd": (int,), "sandboxed": (bool,),
    }
    for name, types in expected.items():
        value = getattr(config, name)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ProtocolError(f"child configuration field {name} has the wrong type")


# -- what the child reports ------------------------------------------------------------------


class Event(StrEnum):
    """The kinds of record a grading child writes on its results pipe, in order."""

    COLLECTED = "collected"  # checks: the suite's check names, as pytest collected them
    ISOLATION = "isolation"  # unavailable: the protections the child could not apply
    IMPORTING = "importing"  # the student's module is being imported (the clock starts)
    IMPORTED = "imported"  # ... and was
    START = "start"  # check: a check begins
    RESULT = "result"  # check, status, feedback, observed, ...: a check ended
    END = "end"  # exitstatus, tampered: the session ended


def event_of(record: Mapping[str, object]) -> Event | None:
    """The record's event, or None when it names none the child may send."""
    value = record.get("event")
    if not isinstance(value, str):
        return None
    try:
        return Event(value)
    except ValueError:
        return None


# -- framing between the parent and a sandbox's first process ------------------------------

MAX_MESSAGE = 32 * 1024 * 1024  # a suite, its bytecode and a submission fit many times over
_HEADER = struct.Struct(">I")


def send(sock: socket.socket, message: dict[str, Any]) -> None:
    data = json.dumps(message, allow_nan=False).encode()
    if len(data) > MAX_MESSAGE:
        raise ProtocolError(f"message of {len(data)} bytes is over the limit")
    sock.sendall(_HEADER.pack(len(data)) + data)


def send_fd(sock: socket.socket, fd: int) -> None:
    socket.send_fds(sock, [b"F"], [fd])


def receive(sock: socket.socket, timeout: float | None) -> dict[str, Any] | None:
    """The next message; None if none started within ``timeout`` (None waits forever).

    Once a message has started, the rest must follow within a few seconds.
    """
    if not select.select([sock], [], [], timeout)[0]:  # None: wait as long as it takes,
        return None  # not the few seconds a message already started gets (a warm cell idles)
    header = _exactly(sock, _HEADER.size)
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ProtocolError(f"message of {size} bytes announced")
    try:
        message = json.loads(_exactly(sock, size))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ProtocolError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise ProtocolError("not a JSON object")
    return message


def receive_fd(sock: socket.socket) -> int:
    data, fds, _flags, _addr = socket.recv_fds(sock, 1, 1)
    if data != b"F" or len(fds) != 1:
        for fd in fds:
            _close(fd)
        raise ProtocolError("expected one file descriptor")
    return fds[0]


def _exactly(sock: socket.socket, size: int, patience: float = 5.0) -> bytes:
    chunks, got = [], 0
    deadline = time.monotonic() + patience
    while got < size:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            raise ProtocolError("message cut short")
        chunk = sock.recv(min(size - got, 1 << 20))
        if not chunk:
            raise ProtocolError("connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _close(fd: int) -> None:
    import os

    with contextlib.suppress(OSError):
        os.close(fd)
