"""Confirming a check in the parent, where no student code runs.

A check the grading child reports as passed has only been judged beside the student's
code, which can patch the assertions or forge the report. It earns points only when
:func:`confirm` agrees: it decodes the plain observations the hidden test returned
(:mod:`grader.engine.observed`), rejects anything malformed or impossible, and runs the
suite's own ``judge_<check>(seen)`` on them. A failure the child reports needs no
confirmation: forging one only costs the student.

This module MUST NOT import or run student code. Observations arrive as parsed JSON and
are rebuilt only into this module's records, grader dataclasses and exception classes
of the standard library or the grader; anything else stays text (:class:`Repr`). The
hidden suite is imported here from the course's own file, never from the child's copy.
"""

from __future__ import annotations

import asyncio
import builtins
import concurrent.futures
import contextlib
import hashlib
import math
import sys
import threading
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, overload

from grader.engine.expectations import CancelOutcome
from grader.engine.feedback import CheckFailed, Feedback
from grader.engine.observation import Ended
from grader.engine.observed import (
    FORMAT,
    MAX_CHARS,
    MAX_DEPTH,
    MAX_INT,
    MAX_ITEMS,
    MAX_NODES,
    MAX_TEXT,
)
from grader.engine.records import FakeIORecord, Repr, SimulationRecord, TaskRecord
from grader.engine.simulation import Operation, _Unawaited
from grader.engine.virtual_loop import Violation

__all__ = [
    "NO_JUDGE",
    "FakeIORecord",
    "Flagged",
    "Malformed",
    "Repr",
    "SimulationRecord",
    "TaskRecord",
    "confirm",
    "consistency_problems",
    "decode",
]

EPSILON = 1e-6  # simulated seconds of rounding allowed when comparing times
OUTCOMES = ("ok", "error", "cancelled", "running")
VIOLATION_KINDS = ("sleep", "cpu", "wait")
MAX_NAMES = 100  # observations per check


class Malformed(ValueError):
    """Raised when observations are not what :func:`grader.engine.observed.observed` sends."""


class Flagged(Exception):
    """Raised when a check passed in the child but its observations cannot be trusted.

    Malformed or impossible observations, or a judge that broke on them: the check gets
    no points and the reason goes to a human reviewer.
    """


class _NoJudge:
    def __repr__(self) -> str:
        return "NO_JUDGE"


NO_JUDGE: Any = _NoJudge()
"""What :func:`confirm` returns for a check whose suite defines no judge: not confirmed."""


# -- decoding -------------------------------------------------------------------------


def decode(data: Any) -> dict[str, Any]:
    """Rebuild the values a hidden test returned with ``observed(...)``.

    Raises :class:`Malformed`, naming what, for anything an honest child cannot send:
    non-finite numbers, invalid text, lists, strings or nesting over the limits, unknown
    tags or fields.
    """
    return _Decoder().observations(data)


class _Decoder:
    def __init__(self) -> None:
        self.nodes = 0
        self.chars = 0
        self.records: list[Any] = []

    def observations(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or set(data) != {"format", "values"}:
            raise Malformed("observations are not an observed(...) record")
        if data["format"] != FORMAT or type(data["format"]) is not int:
            raise Malformed(f"unknown observations format {str(data['format'])[:20]}")
        values = data["values"]
        if not isinstance(values, dict) or len(values) > MAX_NAMES:
            raise Malformed("observations' values are not a small mapping")
        return {self.text(name, "a name"): self.value(v, 0, name) for name, v in values.items()}

    def count(self, where: str) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES + MAX_ITEMS:
            raise Malformed(f"more than {MAX_NODES} values (at {where})")

    def value(self, data: Any, depth: int, where: str) -> Any:
        self.count(where)
        if depth > MAX_DEPTH + 1:
            raise Malformed(f"nested deeper than {MAX_DEPTH} (at {where})")
        if data is None or type(data) is bool:
            return data
        if type(data) in (int, float):
            return self.number(data, where)
        if type(data) is str:
            return self.text(data, where)
        if type(data) is not dict:
            raise Malformed(f"untagged {type(data).__name__} (at {where})")
        tag = data.get("t")
        decoder = _TAGGED.get(tag) if isinstance(tag, str) else None
        if decoder is None:
            raise Malformed(f"unknown tag {str(tag)[:40]!r} (at {where})")
        return decoder(self, data, depth, f"{where}.{tag}")

    # -- leaves

    def number(self, data: Any, where: str, *, optional: bool = False) -> Any:
        if data is None and optional:
            return None
        if type(data) is int:
            if not -MAX_INT <= data <= MAX_INT:
                raise Malformed(f"integer out of range (at {where})")
            return data
        if type(data) is float:
            if not math.isfinite(data):
                raise Malformed(f"a number that is not finite (at {where})")
            return data
        raise Malformed(f"expected a number, got {type(data).__name__} (at {where})")

    @overload
    def time(self, data: Any, where: str, *, optional: Literal[False] = False) -> float: ...

    @overload
    def time(self, data: Any, where: str, *, optional: bool) -> float | None: ...

    def time(self, data: Any, where: str, *, optional: bool = False) -> float | None:
        number = self.number(data, where, optional=optional)
        if number is not None and number < 0:
            raise Malformed(f"a negative time (at {where})")
        return None if number is None else float(number)

    def text(self, data: Any, where: str) -> str:
        if type(data) is not str:
            raise Malformed(f"expected text, got {type(data).__name__} (at {where})")
        if len(data) > MAX_TEXT:
            raise Malformed(f"text longer than {MAX_TEXT} characters (at {where})")
        self.chars += len(data)
        if self.chars > MAX_CHARS:
            raise Malformed(f"more than {MAX_CHARS} characters of text (at {where})")
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            raise Malformed(f"text that is not valid Unicode (at {where})") from None
        return data

    def flag(self, data: Any, where: str) -> bool:
        if type(data) is not bool:
            raise Malformed(f"expected true or false (at {where})")
        return data

    def items(self, data: Any, where: str) -> list[Any]:
        if type(data) is not list:
            raise Malformed(f"expected a list (at {where})")
        if len(data) > MAX_ITEMS:
            raise Malformed(f"a list of more than {MAX_ITEMS} items (at {where})")
        return data

    def fields(self, data: dict[str, Any], names: set[str], where: str,
               optional: frozenset[str] = frozenset()) -> None:
        keys = set(data) - {"t"}
        missing = names - keys - optional
        unknown = keys - names
        if missing or unknown:
            problem = f"missing {sorted(missing)}" if missing else f"unknown {sorted(unknown)}"
            raise Malformed(f"fields {problem[:200]} (at {where})")

    # -- tagged values

    def container(self, data: dict, depth: int, where: str) -> Any:
        self.fields(data, {"v"}, where)
        values = [self.value(v, depth + 1, where)
                  for v in self.items(data["v"], where)]
        tag = data["t"]
        if tag == "list":
            return values
        if tag == "tuple":
            return tuple(values)
        built = set(values) if _all_hashable(values) else None
        if built is None or len(built) != len(values):
            raise Malformed(f"a set with unhashable or repeated elements (at {where})")
        return built if tag == "set" else frozenset(built)

    def mapping(self, data: dict, depth: int, where: str) -> dict[Any, Any]:
        self.fields(data, {"v"}, where)
        result: dict[Any, Any] = {}
        for pair in self.items(data["v"], where):
            if type(pair) is not list or len(pair) != 2:
                raise Malformed(f"a dict entry that is not a pair (at {where})")
            key = self.value(pair[0], depth + 1, where)
            if not _all_hashable([key]) or key in result:
                raise Malformed(f"a dict with unhashable or repeated keys (at {where})")
            result[key] = self.value(pair[1], depth + 1, where)
        return result

    def repr_(self, data: dict, depth: int, where: str) -> Repr:
        self.fields(data, {"type", "text"}, where)
        return Repr(self.text(data["type"], where), self.text(data["text"], where))

    def error(self, data: dict, depth: int, where: str) -> BaseException:
        self.fields(data, {"type", "module", "message", "bases", "args", "group",
                           "exceptions"}, where,
                    optional=frozenset({"args", "group", "exceptions"}))
        name = self.text(data["type"], where)
        module = self.text(data["module"], where)
        message = self.text(data["message"], where)
        bases = []
        for base in self.items(data["bases"], where):
            if type(base) is not list or len(base) != 2:
                raise Malformed(f"an exception base that is not [module, name] (at {where})")
            bases.append((self.text(base[0], where), self.text(base[1], where)))
        args = None
        if "args" in data:
            args = tuple(self.value(a, depth + 1, where) for a in self.items(data["args"], where))
            if not all(a is None or type(a) in (bool, int, float, str) for a in args):
                raise Malformed(f"exception arguments that are not plain values (at {where})")
        group = None
        if ("group" in data) != ("exceptions" in data):
            raise Malformed(f"an exception group without its exceptions (at {where})")
        if "group" in data:
            inner = [self.value(e, depth + 1, where)
                     for e in self.items(data["exceptions"], where)]
            if not inner or not all(isinstance(e, BaseException) for e in inner):
                raise Malformed(f"an exception group of non-exceptions (at {where})")
            group = (self.text(data["group"], where), inner)
        return _rebuild_error(module, name, message, bases, args, group)

    def operation(self, data: dict, depth: int, where: str) -> Operation:
        op = self.bare_operation(data, where)
        self.records.append(op)  # on its own; a record's operations are checked with it
        return op

    def bare_operation(self, data: dict, where: str) -> Operation:
        self.fields(data, {"label", "start", "end", "outcome", "task", "in_main_task",
                           "delay"}, where)
        op = Operation(
            label=self.text(data["label"], where),
            start=self.time(data["start"], where),
            end=self.time(data["end"], where, optional=True),
            outcome=self.text(data["outcome"], where),
            task=self.text(data["task"], where),
            in_main_task=self.flag(data["in_main_task"], where),
            delay=self.time(data["delay"], where, optional=True),
        )
        return op

    def operations(self, data: Any, depth: int, where: str) -> list[Operation]:
        ops = []
        for item in self.items(data, where):
            self.count(where)
            if type(item) is not dict or item.get("t") != "operation":
                raise Malformed(f"an operation that is not one (at {where})")
            ops.append(self.bare_operation(item, f"{where}.operation"))
        return ops

    def violation(self, data: dict, depth: int, where: str) -> Violation:
        self.fields(data, {"kind", "seconds", "at", "where", "detail"}, where)
        kind = self.text(data["kind"], where)
        if kind not in VIOLATION_KINDS:
            raise Malformed(f"an unknown violation kind {kind[:20]!r} (at {where})")
        return Violation(kind, self.time(data["seconds"], where), self.time(data["at"], where),
                         self.text(data["where"], where), self.text(data["detail"], where))

    def task(self, data: Any, depth: int, where: str) -> TaskRecord:
        if type(data) is not dict or data.get("t") != "task":
            raise Malformed(f"a task that is not one (at {where})")
        self.count(where)
        self.fields(data, {"label", "done", "cancelled", "cancelling"}, where)
        cancelling = self.number(data["cancelling"], where)
        if type(cancelling) is not int or cancelling < 0:
            raise Malformed(f"a task's cancel count that is not a count (at {where})")
        return TaskRecord(self.text(data["label"], where), self.flag(data["done"], where),
                          self.flag(data["cancelled"], where), cancelling)

    def tasks(self, data: Any, depth: int, where: str) -> list[TaskRecord]:
        return [self.task(t, depth + 1, where) for t in self.items(data, where)]

    def simulation(self, data: dict, depth: int, where: str) -> SimulationRecord:
        self.fields(data, {"elapsed", "started", "now", "budget", "operations",
                           "violations", "pending", "never_awaited"}, where)
        violations = []
        for item in self.items(data["violations"], where):
            self.count(where)
            if type(item) is not dict or item.get("t") != "violation":
                raise Malformed(f"a violation that is not one (at {where})")
            violations.append(self.violation(item, depth + 1, where))
        unawaited = []
        for item in self.items(data["never_awaited"], where):
            self.count(where)
            if type(item) is not dict or set(item) != {"name", "where"}:
                raise Malformed(f"a never-awaited coroutine that is not one (at {where})")
            unawaited.append(_Unawaited(self.text(item["name"], where),
                                        self.text(item["where"], where)))
        record = SimulationRecord(
            elapsed=self.time(data["elapsed"], where),
            started=self.time(data["started"], where),
            now=self.time(data["now"], where),
            budget=self.time(data["budget"], where, optional=True),
            operations=self.operations(data["operations"], depth, where),
            violations=violations,
            pending=self.tasks(data["pending"], depth, where),
            unawaited=unawaited,
        )
        self.records.append(record)
        return record

    def fakeio(self, data: dict, depth: int, where: str) -> FakeIORecord:
        self.fields(data, {"peak", "in_flight", "default_delay", "delays", "operations"}, where)
        peak, in_flight = (self.number(data[k], where) for k in ("peak", "in_flight"))
        if type(peak) is not int or type(in_flight) is not int or min(peak, in_flight) < 0:
            raise Malformed(f"an in-flight count that is not a count (at {where})")
        delays = self.value(data["delays"], depth + 1, where)
        if type(delays) is not dict:
            raise Malformed(f"delays that are not a dict (at {where})")
        record = FakeIORecord(
            operations=self.operations(data["operations"], depth, where),
            peak=peak, in_flight=in_flight, delays=delays,
            default_delay=self.time(data["default_delay"], where),
        )
        self.records.append(record)
        return record

    def ended(self, data: dict, depth: int, where: str) -> Ended:
        self.fields(data, {"value", "error", "began", "at", "ops", "unfinished"}, where)
        error = self.value(data["error"], depth + 1, where)
        if error is not None and not isinstance(error, BaseException):
            raise Malformed(f"an error that is not an exception (at {where})")
        ops = self.operations(data["ops"], depth, where)
        if len({op.label for op in ops}) != len(ops):
            raise Malformed(f"two operations with one label (at {where})")
        record = Ended(value=self.value(data["value"], depth + 1, where), error=error,
                       began=self.time(data["began"], where), at=self.time(data["at"], where),
                       ops={op.label: op for op in ops})
        # The judge's TaskRecords stand in for the child's Tasks (same label/done/...).
        record.unfinished = self.tasks(data["unfinished"], depth, where)  # type: ignore[assignment]
        self.records.append(record)
        return record

    def cancel_outcome(self, data: dict, depth: int, where: str) -> CancelOutcome:
        self.fields(data, {"cancelled", "result", "error", "finished_at"}, where)
        error = self.value(data["error"], depth + 1, where)
        if error is not None and not isinstance(error, BaseException):
            raise Malformed(f"an error that is not an exception (at {where})")
        return CancelOutcome(cancelled=self.flag(data["cancelled"], where),
                             result=self.value(data["result"], depth + 1, where), error=error,
                             finished_at=self.time(data["finished_at"], where))


_TAGGED: dict[str, Callable[[_Decoder, dict, int, str], Any]] = {
    "list": _Decoder.container,
    "tuple": _Decoder.container,
    "set": _Decoder.container,
    "frozenset": _Decoder.container,
    "dict": _Decoder.mapping,
    "repr": _Decoder.repr_,
    "error": _Decoder.error,
    "operation": _Decoder.operation,
    "violation": _Decoder.violation,
    "task": _Decoder.task,
    "simulation": _Decoder.simulation,
    "fakeio": _Decoder.fakeio,
    "ended": _Decoder.ended,
    "cancel_outcome": _Decoder.cancel_outcome,
}


def _all_hashable(values: list[Any]) -> bool:
    try:
        for value in values:
            hash(value)
    except TypeError:
        return False
    return True


# -- exceptions -----------------------------------------------------------------------

_known_errors: dict[tuple[str, str], type[BaseException]] = {}
_stand_ins: dict[tuple[str, str, type[BaseException]], type[BaseException]] = {}


def _known(module: str, name: str) -> type[BaseException] | None:
    """Exception classes a judge may meet as themselves: the standard ones and ours."""
    if not _known_errors:
        import grader.suite

        for namespace in (builtins, asyncio, concurrent.futures, grader.suite):
            for value in vars(namespace).values():
                if isinstance(value, type) and issubclass(value, BaseException):
                    _known_errors[(value.__module__, value.__qualname__)] = value
    return _known_errors.get((module, name))


def _rebuild_error(module: str, name: str, message: str, bases: list[tuple[str, str]],
                   args: tuple | None, group: tuple[str, list] | None) -> BaseException:
    """The same exception when its class is known, else a stand-in of the same name.

    A stand-in derives from the nearest known class in the original's MRO, so
    ``isinstance(error, TimeoutError)`` answers as it did in the child.
    """
    cls = _known(module, name)
    call_args: tuple = (group[0], group[1]) if group else (
        args if args is not None else ((message,) if message else ()))
    if cls is not None:
        try:
            error = cls(*call_args)
            if str(error) == message:
                return error
        except Exception:
            pass
    known_bases = [k for k in (_known(m, n) for m, n in bases) if k is not None]
    base = cls or (known_bases[0] if known_bases else Exception)
    for candidate in (base, Exception):
        stand_in = _stand_in(module, name, candidate)
        try:
            error = stand_in.__new__(stand_in, *call_args)
            BaseException.__init__(error, *call_args)
        except Exception:
            continue
        # An attribute of our own on the rebuilt exception, for the judge's messages.
        error.recorded_message = message  # type: ignore[attr-defined]
        return error
    raise Malformed(f"an exception that cannot be rebuilt ({name[:60]})")


def _stand_in(module: str, name: str, base: type[BaseException]) -> type[BaseException]:
    key = (module, name, base)
    if key not in _stand_ins:
        _stand_ins[key] = types.new_class(
            name.rpartition(".")[2] or "Error", (base,),
            exec_body=lambda ns: ns.update({
                "__module__": module, "__qualname__": name, "stand_in": True,
                "__str__": lambda self: self.recorded_message,
            }),
        )
    return _stand_ins[key]


# -- consistency ----------------------------------------------------------------------


def consistency_problems(records: list[Any]) -> list[str]:
    """What makes decoded records impossible for an honest run; empty when consistent.

    The timeline must agree with what the fakes were told: every operation that finished
    normally took at least its delay, starts come in the order the clock gave them, no
    time lies after the observation, an operation started in the last run ended within
    it (so that run lasted as long as its longest operation), and the peak concurrency
    matches the intervals. A fake's operations must be among the
    simulation's, since every fake records into it.
    """
    problems: list[str] = []
    sims = [r for r in records if isinstance(r, SimulationRecord)]
    for record in records:
        if isinstance(record, SimulationRecord):
            problems += _simulation_problems(record)
        elif isinstance(record, FakeIORecord):
            problems += _fake_problems(record)
        elif isinstance(record, Ended):
            problems += _ended_problems(record)
        elif isinstance(record, Operation):
            problems += _operation_problems(record, None, "an operation")
    if len(sims) == 1:
        known = {_identity(op) for op in sims[0].operations}
        for record in records:
            if isinstance(record, FakeIORecord):
                extra = [op.label for op in record.operations if _identity(op) not in known]
                if extra:
                    problems.append(f"fake operations the simulation never saw: {extra[:3]}")
    return problems


def _identity(op: Operation) -> tuple:
    return (op.label, op.start, op.end, op.outcome, op.task, op.delay)


def _operation_problems(op: Operation, now: float | None, where: str) -> list[str]:
    name = f"{where} {op.label[:40]!r}"
    problems = []
    if op.outcome not in OUTCOMES:
        problems.append(f"{name} has an unknown outcome {op.outcome[:20]!r}")
    if (op.end is None) != (op.outcome == "running"):
        problems.append(f"{name} is '{op.outcome[:20]}' with end {op.end}")
    if op.end is not None:
        if op.end < op.start:
            problems.append(f"{name} ends at {op.end:g} before it starts at {op.start:g}")
        if op.outcome == "ok" and op.delay is not None and op.end - op.start < op.delay - 1e-9:
            problems.append(f"{name} took {op.end - op.start:g} s but was told {op.delay:g} s")
    if now is not None and max(op.start, op.end or 0.0) > now + EPSILON:
        problems.append(f"{name} lies after the observation at {now:g}")
    return problems


def _simulation_problems(sim: SimulationRecord) -> list[str]:
    problems = []
    if sim.started + sim.elapsed > sim.now + EPSILON:
        problems.append(f"the run ({sim.started:g} + {sim.elapsed:g} s) ends after the "
                        f"clock's {sim.now:g}")
    previous = 0.0
    for op in sim.operations:
        problems += _operation_problems(op, sim.now, "operation")
        if op.start < previous - EPSILON:
            problems.append(f"operation {op.label[:40]!r} starts at {op.start:g}, before "
                            f"the one recorded ahead of it ({previous:g}): time went back")
        previous = max(previous, op.start)
        end = op.end if op.start >= sim.started - EPSILON else None  # finished, in this run
        if end is not None and end - op.start > sim.elapsed + EPSILON:
            problems.append(f"operation {op.label[:40]!r} took {end - op.start:g} s, "
                            f"longer than the whole run ({sim.elapsed:g} s)")
        elif end is not None and end > sim.started + sim.elapsed + EPSILON:
            problems.append(f"operation {op.label[:40]!r} ends at {end:g}, after the "
                            f"run that started it ended ({sim.started + sim.elapsed:g})")
    for violation in sim.violations:
        if violation.at > sim.now + EPSILON:
            problems.append(f"a {violation.kind} violation lies after the observation")
    return problems


def _fake_problems(io: FakeIORecord) -> list[str]:
    problems = []
    for op in io.operations:
        problems += _operation_problems(op, None, "fake operation")
    at_least = at_most = 0
    for op in io.operations:
        moment = op.start
        at_least = max(at_least, sum(
            1 for o in io.operations
            if o.start <= moment + EPSILON and (o.end is None or o.end > moment + EPSILON)))
        at_most = max(at_most, sum(
            1 for o in io.operations
            if o.start <= moment + EPSILON and (o.end is None or o.end >= moment - EPSILON)))
    if not at_least <= io.peak <= at_most:
        problems.append(f"a peak of {io.peak} in flight, but the operations' times allow "
                        f"{at_least} to {at_most}")
    running = sum(1 for op in io.operations if op.end is None)
    if io.in_flight != running:
        problems.append(f"{io.in_flight} in flight, but {running} operations never ended")
    return problems


def _ended_problems(ended: Ended) -> list[str]:
    problems = []
    for op in ended.ops.values():
        problems += _operation_problems(op, ended.began + ended.at, "observed operation")
    return problems


# -- confirming -----------------------------------------------------------------------

_suites: dict[tuple[str, int, int], types.ModuleType] = {}
_loading = threading.Lock()


def preload_suite(suite_file: Path) -> None:
    """Load a suite's judges ahead of time (from another thread); errors surface later."""
    with contextlib.suppress(Exception):
        _suite_module(suite_file)


def _suite_module(suite_file: Path) -> types.ModuleType:
    """The hidden suite, imported here under a private name (once per file version).

    Compiled from source by hand: no bytecode is written beside the course's files,
    and the name never collides with the child's copy or another exercise's suite.
    """
    path = suite_file.resolve()
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    with _loading:
        if key not in _suites:
            _suites[key] = _load_suite(path)
    return _suites[key]


def _load_suite(path: Path) -> types.ModuleType:
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    name = f"_grader_judges_{digest}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    code = compile(path.read_bytes(), str(path), "exec", dont_inherit=True)
    sys.modules[name] = module  # dataclasses in the suite look themselves up here
    try:
        with warnings.catch_warnings():
            # `@pytest.mark.task` is registered by the child's plugin, not here.
            warnings.filterwarnings("ignore", message="Unknown pytest.mark")
            exec(code, module.__dict__)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def confirm(suite_file: Path, check: str, observations: Any) -> Feedback | None:
    """Judge one check the child reported as passed, here in the trusted parent.

    Returns None when the judge agrees, the judge's Feedback when it does not, and
    :data:`NO_JUDGE` when the suite has no ``judge_<check>`` (not confirmed). Raises
    :class:`Flagged` with the reason when the observations are malformed or
    inconsistent or the judge breaks on them.
    """
    judge = getattr(_suite_module(suite_file), f"judge_{check}", None)
    if not callable(judge):
        return NO_JUDGE
    try:
        decoder = _Decoder()
        seen = decoder.observations(observations)
    except Malformed as exc:
        raise Flagged(f"malformed observations for {check}: {exc}") from None
    problems = consistency_problems(decoder.records)
    if problems:
        raise Flagged(f"inconsistent observations for {check}: " + "; ".join(problems[:3]))
    try:
        judge(seen)
    except CheckFailed as failed:
        return failed.feedback
    except Exception as exc:
        raise Flagged(f"judge_{check} could not judge the observations: "
                      f"{type(exc).__name__}: {str(exc)[:200]}") from None
    return None
