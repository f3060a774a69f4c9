"""The parent/child contract (grader/protocol.py): one configuration, one set of events.

The child's configuration crosses as JSON and must come back as it left, or be refused
with a ProtocolError; the events are one enumeration that both sides name, so a record
naming anything else is no event at all.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import pytest

from grader.budgets import Limits
from grader.protocol import ChildConfig, Event, ProtocolError, event_of
from helpers import REPO

FULL = ChildConfig(suite="suite/test_x.py", student="submission/work.py", module_name="work",
                   time_limit=5.0, cpu_limit=0.5, checks=("a", "b"), canary="suite/test_c.py",
                   hide=("/hidden",), limits=Limits(processes=8), results_fd=7,
                   sandboxed=True, missing=("cgroup",))


def test_a_configuration_survives_the_trip_as_json() -> None:
    assert ChildConfig.from_json(FULL.to_json()) == FULL
    minimal = ChildConfig(suite="s.py", student="w.py", module_name="w", time_limit=1,
                          cpu_limit=0.5)
    assert ChildConfig.from_json(minimal.to_json()) == minimal


@pytest.mark.parametrize(("change", "complaint"), [
    ({"surprise": 1}, "unknown child configuration fields: surprise"),
    ({"checks": "a,b"}, "checks must be a list of strings"),
    ({"checks": ["a", 3]}, "checks must be a list of strings"),
    ({"limits": {"processes": 8, "forks": 1}}, "bad child configuration"),
    ({"time_limit": "5"}, "time_limit has the wrong type"),
    ({"sandboxed": 1}, "sandboxed has the wrong type"),
    ({"results_fd": True}, "results_fd has the wrong type"),
    ({"canary": 0}, "canary has the wrong type"),
])
def test_a_malformed_configuration_is_refused_by_name(change: dict, complaint: str) -> None:
    data = {**FULL.to_dict(), **change}
    with pytest.raises(ProtocolError, match=complaint):
        ChildConfig.from_dict(data)


@pytest.mark.parametrize("data", [None, [], "config", {"suite": "s.py"}])
def test_what_is_not_a_whole_configuration_is_refused(data: object) -> None:
    with pytest.raises(ProtocolError):
        ChildConfig.from_dict(data)


def test_the_child_refuses_a_bad_configuration_in_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "grader.child", "--config", "{"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith(
        "grader.child: error: child configuration is not JSON")


def test_only_the_named_events_are_events() -> None:
    assert event_of({"event": "result"}) is Event.RESULT
    assert event_of(json.loads(json.dumps({"event": Event.START}))) is Event.START
    for record in ({}, {"event": None}, {"event": "RESULT"}, {"event": ["result"]},
                   {"event": "verdict"}):
        assert event_of(record) is None


def _event_strings(path: str) -> list[str]:
    """String constants in a module that spell an event's value (they should name it)."""
    tree = ast.parse((REPO / path).read_text(encoding="utf-8"))
    values = {e.value for e in Event}
    return [f"line {node.lineno}: {node.value!r}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and node.value in values]


@pytest.mark.parametrize("path", ["grader/child/plugin.py", "grader/supervision/runner.py"])
def test_both_sides_name_events_through_the_enumeration(path: str) -> None:
    assert _event_strings(path) == []


def test_the_event_check_can_fail() -> None:
    # The scan above must see a bare event name when there is one.
    planted = REPO / "grader" / "protocol.py"
    assert _event_strings(str(planted.relative_to(REPO)))  # Event's own definitions
