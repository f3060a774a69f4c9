"""What a hidden test hands out of the grading child: its observations, as plain JSON.

The child runs the student's code, so nothing it decides can be trusted with points: a
pass counts only once the parent, where no student code runs, has judged the same
check again (:mod:`grader.supervision.judging`). A hidden test therefore ends with::

    return observed(results=results, sim=sim, io=io)

and the suite's ``judge_<check>(seen)`` re-asserts what earns the points on the decoded
values. Encoding happens here, beside the student's code, and turns every value into
tagged JSON the parent can rebuild without running anything: plain values stay plain,
containers and records carry a ``"t"`` tag, exceptions travel as their type's name and
message, and anything else becomes the text of its ``repr`` (so a judge never holds a
live object, and an object whose ``__eq__`` always says yes is just text).

Sizes are capped here with the limits :mod:`grader.supervision.judging` enforces, so an honest run
is never rejected there: a container too long or too deep becomes its ``repr``.
"""

from __future__ import annotations

import asyncio
import math
import reprlib
from collections.abc import Callable
from typing import Any

from grader.engine.expectations import CancelOutcome
from grader.engine.fake_io import FakeIO
from grader.engine.observation import Ended
from grader.engine.simulation import Operation, Simulation, task_label
from grader.engine.virtual_loop import Violation

__all__ = [
    "FORMAT", "MAX_CHARS", "MAX_DEPTH", "MAX_ITEMS", "MAX_NODES", "MAX_TEXT", "judged",
    "observed",
]

FORMAT = 1
MAX_ITEMS = 1000  # elements of one list, tuple, set or dict
MAX_TEXT = 10_000  # characters of one string
MAX_DEPTH = 16  # nesting of containers and records
MAX_NODES = 20_000  # values in one check's observations
MAX_CHARS = 1_000_000  # characters of text in one check's observations
MAX_INT = 2**63

_SCALARS = (type(None), bool, int, float, str)
_CONTAINERS: dict[type, str] = {list: "list", tuple: "tuple", set: "set", frozenset: "frozenset"}

_repr = reprlib.Repr()
_repr.maxlevel = 6
_repr.maxstring = _repr.maxother = MAX_TEXT
_repr.maxlist = _repr.maxtuple = _repr.maxset = _repr.maxfrozenset = 100
_repr.maxdict = _repr.maxdeque = _repr.maxarray = 100
_repr.maxlong = 400


def observed(**values: Any) -> dict[str, Any]:
    """Encode a hidden test's observations for its judge; the test returns the result."""
    encoder = _Encoder()
    return {"format": FORMAT,
            "values": {encoder.text(str(name)[:100]): encoder.value(v, 0)
                       for name, v in values.items()}}


def judged(judge: Callable[[dict[str, Any]], None], **values: Any) -> dict[str, Any]:
    """Judge the live ``values`` here (the child's verdict), then hand them out.

    The usual last line of a hidden test whose judge needs nothing else from the
    scenario: ``return judged(judge_fetches_run_concurrently, sim=sim, io=io)``. The
    judge runs again in the parent on the decoded copies; the same code deciding both
    verdicts keeps their feedback identical.
    """
    judge(values)
    return observed(**values)


class _Encoder:
    def __init__(self) -> None:
        self.nodes = 0
        self.chars = 0

    def text(self, text: str) -> str:
        """A string that always passes the parent's checks: valid UTF-8, within budget."""
        text = text[:max(0, min(MAX_TEXT, MAX_CHARS - self.chars))]
        if not _valid_text(text):
            text = text.encode("utf-8", "replace").decode("utf-8")
        self.chars += len(text)
        return text

    def value(self, value: Any, depth: int) -> Any:
        self.nodes += 1
        kind = type(value)
        if kind in _SCALARS:
            return self.scalar(value)
        if depth >= MAX_DEPTH or self.nodes >= MAX_NODES:
            return self.as_repr(value)
        if kind in _CONTAINERS:
            if len(value) > MAX_ITEMS:
                return self.as_repr(value)
            items = value if kind in (list, tuple) else _stable_order(value)
            return {"t": _CONTAINERS[kind], "v": [self.value(v, depth + 1) for v in items]}
        if kind is dict:
            if len(value) > MAX_ITEMS:
                return self.as_repr(value)
            return {"t": "dict", "v": [[self.value(k, depth + 1), self.value(v, depth + 1)]
                                       for k, v in value.items()]}
        if isinstance(value, BaseException):
            return self.error(value, depth)
        if isinstance(value, Simulation):
            return self.simulation(value, depth)
        if isinstance(value, FakeIO):
            return {"t": "fakeio", "peak": self.number(value.peak),
                    "in_flight": self.number(value.in_flight),
                    "default_delay": self.number(value.default_delay),
                    "delays": self.value(dict(value.delays), depth + 1),
                    "operations": self.operations(value.operations)}
        if kind is Operation:
            return self.operation(value)
        if kind is Violation:
            return self.violation(value)
        if isinstance(value, asyncio.Task):
            return self.task(value)
        if kind is Ended:
            return {"t": "ended", "value": self.value(value.value, depth + 1),
                    "error": self.value(value.error, depth + 1),
                    "began": self.number(value.began), "at": self.number(value.at),
                    "ops": self.operations(list(value.ops.values())),
                    "unfinished": [self.task(t) for t in value.unfinished[:MAX_ITEMS]]}
        if kind is CancelOutcome:
            return {"t": "cancel_outcome", "cancelled": bool(value.cancelled),
                    "result": self.value(value.result, depth + 1),
                    "error": self.value(value.error, depth + 1),
                    "finished_at": self.number(value.finished_at)}
        return self.as_repr(value)

    def scalar(self, value: Any) -> Any:
        if isinstance(value, bool) or value is None:
            return value
        if isinstance(value, int):
            return value if -MAX_INT <= value <= MAX_INT else self.as_repr(value)
        if isinstance(value, float):
            return value if math.isfinite(value) else self.as_repr(value)
        if len(value) > min(MAX_TEXT, MAX_CHARS - self.chars) or not _valid_text(value):
            return self.as_repr(value)
        return self.text(value)

    def as_repr(self, value: Any) -> dict[str, Any]:
        try:
            text = _repr.repr(value)
        except Exception as exc:  # a student's __repr__ that raises
            text = f"<{type(value).__name__} object (repr failed: {type(exc).__name__})>"
        return {"t": "repr", "type": self.text(type(value).__qualname__),
                "text": self.text(text)}

    def number(self, value: Any) -> float | int | None:
        if value is None or type(value) is bool:
            return None
        if type(value) is int and -MAX_INT <= value <= MAX_INT:
            return value
        try:
            number = float(value)
        except (TypeError, ValueError, OverflowError):
            return None
        return number if math.isfinite(number) else None

    def error(self, error: BaseException, depth: int) -> dict[str, Any]:
        kind = type(error)
        try:
            message = str(error)
        except Exception:
            message = ""
        encoded: dict[str, Any] = {
            "t": "error", "type": self.text(kind.__qualname__),
            "module": self.text(kind.__module__), "message": self.text(message),
            "bases": [[self.text(c.__module__), self.text(c.__qualname__)]
                      for c in kind.__mro__[1:11] if issubclass(c, BaseException)],
        }
        args = getattr(error, "args", ())
        if (type(args) is tuple and len(args) <= 8
                and all(type(a) in _SCALARS for a in args)):
            encoded["args"] = [self.scalar(a) for a in args]
        if isinstance(error, BaseExceptionGroup):
            encoded["group"] = self.text(str(error.message))
            encoded["exceptions"] = [self.value(e, depth + 1)
                                     for e in error.exceptions[:MAX_ITEMS]]
        return encoded

    def simulation(self, sim: Simulation, depth: int) -> dict[str, Any]:
        loop = sim._loop
        return {
            "t": "simulation",
            "elapsed": self.number(sim.elapsed),
            "started": self.number(sim.started),
            "now": self.number(loop.time() if loop is not None else 0.0),
            "budget": self.number(sim.budget),
            "operations": self.operations(sim.operations),
            "violations": [self.violation(v) for v in sim.violations[:MAX_ITEMS]],
            "pending": [self.task(t) for t in sim.pending_tasks()[:MAX_ITEMS]],
            "never_awaited": [{"name": self.text(u.name), "where": self.text(u.where)}
                              for u in sim.never_awaited()[:MAX_ITEMS]],
        }

    def operations(self, operations: list[Operation]) -> list[dict[str, Any]]:
        self.nodes += min(len(operations), MAX_ITEMS)
        return [self.operation(op) for op in operations[:MAX_ITEMS]]

    def operation(self, op: Operation) -> dict[str, Any]:
        return {"t": "operation", "label": self.text(str(op.label)),
                "start": self.number(op.start), "end": self.number(op.end),
                "outcome": self.text(str(op.outcome)), "task": self.text(str(op.task)),
                "in_main_task": bool(op.in_main_task), "delay": self.number(op.delay)}

    def violation(self, violation: Violation) -> dict[str, Any]:
        return {"t": "violation", "kind": self.text(str(violation.kind)),
                "seconds": self.number(violation.seconds), "at": self.number(violation.at),
                "where": self.text(str(violation.where)),
                "detail": self.text(str(violation.detail))}

    def task(self, task: asyncio.Task) -> dict[str, Any]:
        done = task.done()
        return {"t": "task", "label": self.text(task_label(task)), "done": done,
                "cancelled": done and task.cancelled(), "cancelling": task.cancelling()}


def _stable_order(items: set | frozenset) -> list[Any]:
    """Set elements in a repeatable order, so two runs send the same observations."""
    try:
        return sorted(items)
    except Exception:
        try:
            return sorted(items, key=repr)
        except Exception:
            return list(items)


def _valid_text(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates
        return False
    return True

