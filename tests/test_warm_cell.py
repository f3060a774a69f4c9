"""A warm cell waits for its next grading however long the student takes to save.

``grade watch`` keeps one sandbox warm between saves, which can be minutes apart. The
cell's first process waits for the next request with no time limit; only a message
that has started must finish within a few seconds.
"""

from __future__ import annotations

import functools
import signal
import socket
import threading
import time

import pytest

from grader import protocol as cell_protocol
from grader.supervision.sandbox import lease_cell, sandbox_problem, shared_cells


def test_waiting_for_a_message_has_no_limit_once_one_starts_it_has(monkeypatch) -> None:
    # A message's patience shortened to 50 ms: waiting 300 ms for one must still work.
    monkeypatch.setattr(cell_protocol, "_exactly",
                        functools.partial(cell_protocol._exactly, patience=0.05))
    ours, theirs = socket.socketpair()
    with ours, theirs:
        box: dict = {}
        reader = threading.Thread(
            target=lambda: box.setdefault("got", cell_protocol.receive(theirs, None)))
        reader.start()
        time.sleep(0.3)
        cell_protocol.send(ours, {"run": "1"})
        reader.join(5)
        assert box.get("got") == {"run": "1"}
        ours.sendall(b"\x00\x00")  # half a header, then nothing: that is still an error
        with pytest.raises(cell_protocol.ProtocolError, match="cut short"):
            cell_protocol.receive(theirs, None)


@pytest.mark.skipif(sandbox_problem() is not None, reason=f"no sandbox: {sandbox_problem()}")
def test_a_kept_cell_that_ended_while_idle_is_replaced_not_handed_out() -> None:
    with shared_cells(keep=1):
        with lease_cell("student", 64) as first:
            pass
        assert first.running()
        first._process.send_signal(signal.SIGKILL)  # the cell dies between two gradings
        first._process.wait(10)
        with lease_cell("student", 64) as second:
            assert second is not first and second.running()
        assert not first.alive
