"""Messages between the grader and the first process of a grading sandbox.

One Unix stream socket joins them. Each message is a 4-byte length and a JSON object;
a file descriptor (the pipe a grading child reports on) travels alone, as one byte
carrying it. Both sides bound every read: a message over :data:`MAX_MESSAGE` bytes, or
one that is not a JSON object, means the other side is broken, and the reader says so
with :class:`ProtocolError` instead of guessing.
"""

from __future__ import annotations

import contextlib
import json
import select
import socket
import struct
import time
from typing import Any

__all__ = ["MAX_MESSAGE", "ProtocolError", "receive", "receive_fd", "send", "send_fd"]

MAX_MESSAGE = 32 * 1024 * 1024  # a suite, its bytecode and a submission fit many times over
_HEADER = struct.Struct(">I")


class ProtocolError(Exception):
    """The other end sent something that is not a message, or went away."""


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
