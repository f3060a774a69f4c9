"""The static screen: what a submission may use, read from its source before it is graded.

The grading runs the student's module in the same process as the checks, so a student
who has read the grader could try to forge a grade from inside it: walk ``gc`` to the
result channel, swap a function's ``__code__``, rewind the virtual loop's ``_now``,
install a trace hook, import ``ctypes``. The trusted parent therefore reads the source
first (``ast`` only: nothing of it ever runs here) and refuses the constructs that make
those attacks possible. None of them is needed by any exercise; each finding says so in
one sentence the student can act on.

Allow-lists where they can be had, because an attacker only needs the one thing a
deny-list forgot:

- imports: a module only if the exercise's ``ScreenPolicy`` lists it; from some modules
  only some names (``inspect``: the ``is*`` predicates; ``io``: ``StringIO``/``BytesIO``).
- attributes starting with ``_``: only through ``self``/``cls`` inside a plain method of
  the student's own class. A method whose ``self`` could be a foreign object (decorated
  with something unknown, ``self`` rebound) loses that right. Once a method relies on
  its ``self``, the student's classes can't be passed around as values and such methods
  can't be taken from their class, so ``Snoop.peek(loop)`` can't point ``self`` at the
  grader's loop.
- dunders: the protocol ones (``__aenter__``, ``__name__``, ...) and those the student's
  classes define, never the introspection ones (``__globals__``, ``__code__``,
  ``__subclasses__``, ``__dict__``, ``__self__``, ...).
- ``getattr``/``setattr``/``hasattr``/``delattr`` and ``operator.attrgetter``/
  ``methodcaller``: called directly, with the name written out, checked like ``obj.name``.
- reading ``obj.name`` on anything but ``self``: only names the standard library's
  public API has, or the student's file defines. The fakes a suite hands over keep
  their records in public attributes (``conn.sent``, ``cursor.io.sim``) that checks
  read. Those names (the suite's classes' attributes that the stub doesn't document,
  read from the files the policy names) are refused even when the student's own file
  declares them, so a decoy class can't unlock them.
- writing ``obj.name = ...``: on the student's own objects (``self``, or a name the
  student's classes declare), never on a module or an object that came from one.

Then deny-lists for what an allow-list can't express: the builtins that run text as
code or read namespaces (``eval``, ``vars``, ``globals``, ``open``, ...), frame and
traceback attributes, event-loop hooks, and the public extras of the grader's own loop
(read from ``virtual_loop.py``, so they stay in step with it).

Identifiers reach ``ast`` NFKC-normalised, as Python itself sees them (``ｇｃ`` is
``gc``); strings used as names are normalised the same way before they are judged. Pass
the file's bytes when you have them: they are decoded as ``import`` decodes them,
honouring a coding cookie, so the screen reads the same text that would run.

This is one layer beside the sandbox and the parent's judges (docs/security.md), not a
proof: the screen blocks the routes it knows, and this docstring is the list of them.
"""

from __future__ import annotations

# The str.format field-name parser, so templates are read as format() reads them (a
# private C module: typeshed has no stub for it).
import _string  # type: ignore[import-not-found]
import ast
import asyncio
import builtins
import codecs
import contextlib
import importlib
import importlib.util
import re
import string
import threading
import types
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from grader.course.metadata import DEFAULT_SCREEN_POLICY, ScreenPolicy

__all__ = ["DEFAULT_SCREEN_POLICY", "Finding", "ScreenPolicy", "screen_source"]

_PARSING = threading.Lock()


def _parse(source: str | bytes, filename: str = "<unknown>", mode: str = "exec") -> Any:
    """``ast.parse`` one file at a time: on Python 3.11 two threads parsing at once can
    fail with "AST constructor recursion depth mismatch" (CPython gh-106905), and the
    bulk pipeline screens from several threads."""
    with _PARSING:
        return ast.parse(source, filename=filename, mode=mode)


@dataclass(frozen=True)
class Finding:
    line: int  # 1-based
    col: int  # 1-based, as editors count
    construct: str  # the code as written, shortened: "loop._now", "import gc"
    why: str  # one plain sentence for the student


# -- what may be imported, and which names of it ------------------------------------------

_ONLY: dict[str, frozenset[str]] = {
    "io": frozenset({"StringIO", "BytesIO", "SEEK_SET", "SEEK_CUR", "SEEK_END",
                     "UnsupportedOperation"}),
    "logging": frozenset({
        "getLogger", "Logger", "LoggerAdapter", "basicConfig", "debug", "info", "warning",
        "error", "exception", "critical", "log", "Formatter", "Handler", "StreamHandler",
        "NullHandler", "LogRecord", "getLevelName", "DEBUG", "INFO", "WARNING", "ERROR",
        "CRITICAL", "NOTSET"}),
    "multiprocessing": frozenset({
        "cpu_count", "Pool", "Process", "Queue", "SimpleQueue", "get_context",
        "current_process", "Lock", "RLock", "Event", "Semaphore", "Barrier", "Condition",
        "TimeoutError", "ProcessError"}),
    "sys": frozenset({"version_info", "platform", "maxsize", "stdout", "stderr", "float_info",
                      "exit", "getsizeof"}),
    "os": frozenset({"cpu_count", "getpid", "getppid", "sep", "linesep"}),
}
"""Modules of which only these names may be used (the rest reach files, frames or hooks)."""

_NEVER: dict[str, frozenset[str]] = {
    "asyncio": frozenset({
        "create_subprocess_exec", "create_subprocess_shell", "get_event_loop_policy",
        "set_event_loop_policy", "AbstractEventLoopPolicy", "DefaultEventLoopPolicy",
        "get_child_watcher", "set_child_watcher", "AbstractChildWatcher", "SafeChildWatcher",
        "FastChildWatcher", "PidfdChildWatcher", "MultiLoopChildWatcher",
        "ThreadedChildWatcher", "open_connection", "start_server", "open_unix_connection",
        "start_unix_server"}),
    "threading": frozenset({"settrace", "setprofile", "settrace_all_threads",
                            "setprofile_all_threads", "gettrace", "getprofile"}),
    "types": frozenset({"CodeType", "FrameType", "TracebackType", "CellType", "MethodType"}),
    # these turn annotation text into code, or hand annotations (and the classes in
    # them) back as values
    "typing": frozenset({"get_type_hints", "ForwardRef", "evaluate_forward_ref", "get_args",
                         "get_origin"}),
    "functools": frozenset({"singledispatch", "singledispatchmethod"}),
    "dataclasses": frozenset({"fields"}),
    "string": frozenset({"Formatter"}),
}
"""Names never taken from a module that is otherwise allowed."""

_ALSO: dict[str, frozenset[str]] = {"asyncio": frozenset({"TaskGroup"})}
"""Public names a module's ``__all__`` forgets (asyncio 3.11 leaves out TaskGroup)."""

_PROCESS_NAMES = {("concurrent.futures", "ProcessPoolExecutor")}
"""Names that need the ``processes`` capability."""


def _inspect_names() -> frozenset[str]:
    import inspect

    states = {"getgeneratorstate", "getcoroutinestate", "getasyncgenstate",
              "markcoroutinefunction"}
    return frozenset(n for n in dir(inspect)
                     if n.startswith("is") or n in states
                     or re.fullmatch(r"(GEN|CORO|AGEN)_[A-Z]+", n))


@cache
def _public_names(module: str) -> frozenset[str] | None:
    """The names a module offers: its ``__all__``, else its public non-module names.

    Not ``dir()`` when there is an ``__all__``: modules keep helpers they imported
    (``contextlib.MethodType`` is ``types.MethodType``), which would slip past ``_NEVER``.
    """
    if module == "inspect":
        return _inspect_names()
    if module in _ONLY:
        return _ONLY[module]
    try:
        mod = importlib.import_module(module)  # standard library, named by the instructor
    except ImportError:
        return None
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in dir(mod) if not isinstance(getattr(mod, n, None), types.ModuleType)]
    return frozenset(n for n in names if not n.startswith("_")) | _ALSO.get(module, frozenset())


# -- attribute names ----------------------------------------------------------------------

_SAFE_DUNDERS = frozenset({
    "__name__", "__qualname__", "__module__", "__doc__", "__class__", "__cause__",
    "__context__", "__notes__", "__suppress_context__", "__await__", "__aiter__",
    "__anext__", "__aenter__", "__aexit__", "__enter__", "__exit__", "__iter__", "__next__",
    "__reversed__", "__call__", "__len__", "__length_hint__", "__contains__", "__getitem__",
    "__setitem__", "__delitem__", "__missing__", "__bool__", "__eq__", "__ne__", "__lt__",
    "__le__", "__gt__", "__ge__", "__hash__", "__repr__", "__str__", "__format__",
    "__index__", "__int__", "__float__", "__post_init__", "__match_args__", "__slots__",
    "__new__", "__copy__", "__deepcopy__",
})
"""Protocol dunders: reading them on any object reaches nothing the grader keeps."""

_DENIED_DUNDERS = frozenset({
    "__globals__", "__builtins__", "__code__", "__closure__", "__dict__", "__subclasses__",
    "__bases__", "__base__", "__mro__", "__getattribute__", "__getattr__", "__setattr__",
    "__delattr__", "__self__", "__func__", "__wrapped__", "__reduce__", "__reduce_ex__",
    "__getstate__", "__setstate__", "__import__", "__loader__", "__spec__", "__file__",
    "__defaults__", "__kwdefaults__", "__traceback__", "__objclass__", "__get__", "__set__",
    "__delete__", "__set_name__", "__init_subclass__", "__subclasshook__",
    "__instancecheck__", "__subclasscheck__", "__annotations__", "__weakref__", "__dir__",
    "__signature__", "__text_signature__", "__class_getitem__", "__prepare__",
    "__mro_entries__", "__dataclass_fields__", "__origin__", "__args__", "__parameters__",
    "__orig_bases__", "__orig_class__", "__type_params__", "__build_class__", "__cached__",
    "__path__", "__package__", "__del__",
})
"""Introspection dunders: the ways to functions' globals, code, closures and subclasses."""

_HOOK_DEFINITIONS = frozenset({
    "__set_name__", "__get__", "__set__", "__delete__", "__mro_entries__", "__prepare__",
    "__instancecheck__", "__subclasscheck__", "__getattribute__",
})
"""Dunders a class may not define: each hands it classes or foreign objects to work on."""

_FRAME_NAMES = frozenset({
    "f_back", "f_globals", "f_locals", "f_builtins", "f_code", "f_lasti", "f_lineno",
    "f_trace", "f_trace_lines", "f_trace_opcodes", "f_generator", "tb_frame", "tb_next",
    "tb_lasti", "tb_lineno", "gi_frame", "gi_code", "cr_frame", "cr_code", "cr_origin",
    "ag_frame", "ag_code", "get_stack", "print_stack",
})

_GENERATOR_STATE = frozenset({
    "gi_running", "gi_suspended", "gi_yieldfrom", "cr_running", "cr_suspended", "cr_await",
    "ag_running", "ag_await", "ag_suspended",
})
"""Needs the ``generator-internals`` capability."""

_LOOP_HOOKS = frozenset({
    "set_task_factory", "get_task_factory", "set_exception_handler", "add_signal_handler",
    "remove_signal_handler", "set_debug", "slow_callback_duration",
})
"""Loop methods that change how the loop itself works."""

_LOOP_OUTSIDE = frozenset({
    "add_reader", "add_writer", "remove_reader", "remove_writer", "subprocess_exec",
    "subprocess_shell", "connect_read_pipe", "connect_write_pipe", "connect_accepted_socket",
    "create_connection", "create_server", "create_unix_connection", "create_unix_server",
    "create_datagram_endpoint", "sendfile", "getaddrinfo", "getnameinfo", "start_tls",
})
"""Loop methods that reach files, sockets or processes (also every ``sock_*``)."""


@cache
def _grader_private_names() -> frozenset[str]:
    """Private names of what a verdict rests on: the grader's own code and pytest's,
    asyncio's loop, tasks, futures, handles and the primitives a suite may share, the
    pools and threads they use.

    A student's own class may use a private name (``self._lock``) and reach it on an
    instance passed in (``account._lock``), unless the name is one of these: then the
    same code could reach the grader's objects instead.
    """
    import _pytest

    names: set[str] = set()
    grader = Path(__file__).resolve().parents[1]  # what runs beside student code, only
    beside = [*sorted((grader / "engine").glob("*.py")), *sorted((grader / "child").glob("*.py")),
              grader / "suite.py", grader / "protocol.py", grader / "budgets.py"]
    for path in [*beside, *sorted(Path(_pytest.__file__).parent.rglob("*.py"))]:
        for node in ast.walk(_parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute):
                names.add(node.attr)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    import concurrent.futures

    loop = asyncio.SelectorEventLoop()
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    try:
        timer = loop.call_later(1.0, print)
        objects: list[object] = [
            loop, timer, loop.create_future(), asyncio.Task, asyncio.TaskGroup(),
            asyncio.Timeout(None), concurrent.futures.Future(), pool, threading.Thread(),
            asyncio.Lock(), asyncio.Event(), asyncio.Semaphore(), asyncio.Queue(),
        ]  # modules' own private names are refused as module members already
        names.update(name for obj in objects for name in dir(obj))
        timer.cancel()
    finally:
        loop.close()
        pool.shutdown()
    return frozenset(n for n in names if _is_private(n) and not _is_dunder(n))


@cache
def _grader_loop_names() -> frozenset[str]:
    """The public names the grader's VirtualClockLoop adds to asyncio's selector loop."""
    source = (Path(__file__).resolve().parents[1] / "engine" / "virtual_loop.py").read_text(
        encoding="utf-8")
    names: set[str] = set()
    for node in _parse(source).body:
        if isinstance(node, ast.ClassDef) and node.name == "VirtualClockLoop":
            names.update(m.name for m in node.body
                         if isinstance(m, ast.FunctionDef | ast.AsyncFunctionDef))
            names.update(inner.attr for inner in ast.walk(node)
                         if isinstance(inner, ast.Attribute) and isinstance(inner.ctx, ast.Store)
                         and isinstance(inner.value, ast.Name) and inner.value.id == "self")
    standard = set(dir(asyncio.SelectorEventLoop))
    return frozenset(n for n in names if not n.startswith("_") and n not in standard)


def _place_at(child: Any, string: ast.Constant) -> None:
    """Give a node parsed from an annotation string the string's place in the file.

    Every node, contexts and operators too (``Any``: typeshed declares no position on
    those), so whatever is flagged inside the string points at it.
    """
    child.lineno, child.col_offset = string.lineno, string.col_offset


def _class_attributes(tree: ast.AST) -> set[str]:
    """Public names the classes in ``tree`` define: methods, class attributes, ``self.x``."""
    names: set[str] = set()
    for cls in ast.walk(tree):
        if not isinstance(cls, ast.ClassDef):
            continue
        for item in cls.body:
            if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                names.add(item.name)
            elif isinstance(item, ast.AnnAssign):
                names.update(_target_names(item.target))
            elif isinstance(item, ast.Assign):
                for target in item.targets:
                    names.update(_target_names(target))
        for node in ast.walk(cls):
            if (isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name) and node.value.id == "self"):
                names.add(node.attr)
    return {_nfkc(n) for n in names if not n.startswith("_")}


def _defined_names(tree: ast.AST) -> set[str]:
    """Every name a file defines anywhere: the interface a stub documents."""
    names = _class_attributes(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(_nfkc(node.name))
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(_nfkc(node.id))
    return names


@cache
def _stand_in_names(stub: Path | None, suite: Path | None,
                    modules: frozenset[str]) -> frozenset[str]:
    """What the suite's stand-ins (fake connections, cursors, ...) carry beyond the stub.

    Their records live in these public attributes, and the checks read them; no student
    code has a reason to use these names on an object it did not create.
    """
    try:
        suite_tree = _parse(suite.read_bytes()) if suite else None
        stub_tree = _parse(stub.read_bytes()) if stub else None
    except (OSError, SyntaxError, ValueError):
        return frozenset()
    if suite_tree is None:
        return frozenset()
    documented = _defined_names(stub_tree) if stub_tree else set()
    return frozenset(_class_attributes(suite_tree) - documented
                     - _standard_attributes(modules))


@cache
def _store_denied() -> frozenset[str]:
    """Attributes never written on an object the student did not create: the loop's
    methods, and the executor, thread and condition methods the grader patches."""
    loop = {n for n in dir(asyncio.BaseEventLoop) if not n.startswith("_")}
    return frozenset(loop | {"submit", "map", "shutdown", "join", "wait", "wait_for"}
                     | _grader_loop_names())


def _samples() -> list[object]:
    """Objects whose attributes live on the instance, not on a class ``dir()`` reaches."""
    import csv
    import functools
    import hashlib
    import io
    import json
    import logging
    import queue
    import threading

    return [functools.lru_cache(maxsize=None)(len), csv.writer(io.StringIO()),
            csv.reader([]), csv.DictWriter(io.StringIO(), ["a"]),
            csv.DictReader(io.StringIO("")), re.compile(""), re.match("", ""), {}.keys(),
            {}.values(), {}.items(), logging.LogRecord("n", 10, "p", 1, "m", (), None),
            json.JSONDecodeError("m", "d", 0), queue.Queue(), string.Template(""),
            hashlib.sha256(), threading.local(), io.StringIO(), memoryview(b"")]


@cache
def _standard_attributes(modules: frozenset[str]) -> frozenset[str]:
    """Every public attribute name of the builtins and of what ``modules`` offer.

    Reading an attribute on an object the student did not create is allowed only for
    these names and the student's own: the grader's fakes carry records the checks read
    (operations, timelines, the simulation itself), and none of their names is here.
    """
    names: set[str] = set()

    def add(obj: object) -> None:
        with contextlib.suppress(Exception):  # an object whose dir() fails offers nothing
            names.update(n for n in dir(obj) if not n.startswith("_"))

    for name in dir(builtins):
        add(getattr(builtins, name))
    for module in sorted(modules | {"inspect", "multiprocessing"}):
        public = _public_names(module)
        if public is None:
            continue
        mod = importlib.import_module(module)
        for name in public:
            add(getattr(mod, name, None))
    for sample in _samples():
        add(sample)
    return frozenset(names)


# -- builtins -----------------------------------------------------------------------------

_DENIED_NAMES = {
    "eval": "runs code built from text, which no exercise needs",
    "exec": "runs code built from text, which no exercise needs",
    "compile": "turns text into code, which no exercise needs",
    "__import__": "imports a module by name at run time; write an import line instead",
    "__builtins__": "reaches Python's built-in namespace directly, which no exercise needs",
    "__build_class__": "builds classes through Python's internals, which no exercise needs",
    "__loader__": "reaches the import machinery, which no exercise needs",
    "__spec__": "reaches the import machinery, which no exercise needs",
    "globals": "reads a namespace as a dictionary, which no exercise needs",
    "locals": "reads a namespace as a dictionary, which no exercise needs",
    "vars": "reads an object's attributes as a dictionary; use `obj.name` instead",
    "breakpoint": "starts the debugger, which can't run while your code is graded",
    "help": "starts the interactive help, which can't run while your code is graded",
    "open": "opens a file, and no exercise reads or writes files: work on the values "
            "you are given",
}

_CALL_ONLY = frozenset({"getattr", "setattr", "hasattr", "delattr"})
_STREAM_INTERNALS = frozenset({"raw", "buffer", "fileno", "detach"})
"""What lies behind a text stream (``sys.stdout.buffer.raw`` is an ``io.FileIO``): refused
on any object but the student's own ``self``, whatever the student's classes declare."""
_CLASS_NAME_PARTS = frozenset({"__name__", "__qualname__", "__module__"})
_ATTRGETTERS = frozenset({"operator.attrgetter", "operator.methodcaller"})
_OPENS_FILES = {"logging.basicConfig": frozenset({"filename", "filemode", "handlers"})}
"""Allowed functions that open a file by name when given these keywords: called directly,
without them and without ``**``, they only set up logging to the console."""
_PROCESS_PATHS = re.compile(r"(?:^|/)(?:proc|sys)(?:/|$)|/dev/(?:fd|std|tty|pts)")
"""Text naming the process's own files (/proc/self/fd/3, /dev/fd/3): no exercise needs
them, and they reach the grader's channels."""

_METHOD_DECORATORS = frozenset({
    "property", "classmethod", "staticmethod", "functools.cached_property",
    "abc.abstractmethod", "typing.override", "typing.overload", "typing.final",
    "contextlib.asynccontextmanager", "contextlib.contextmanager",
})
_CLASS_DECORATORS = frozenset({
    "dataclasses.dataclass", "functools.total_ordering", "typing.final", "enum.unique",
    "typing.runtime_checkable",
})
_METACLASSES = frozenset({"abc.ABCMeta", "enum.EnumMeta", "enum.EnumType"})
_IMPLICIT_CLASSMETHODS = frozenset({"__init_subclass__", "__class_getitem__"})
_PRINTERS = frozenset({"print", "str", "repr", "format", "id", "hash"})
_SAFE_ENCODINGS = frozenset({"utf-8", "ascii", "latin-1", "iso8859-1"})
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)", re.ASCII)


def _nfkc(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def _is_dunder(name: str) -> bool:
    return len(name) > 4 and name.startswith("__") and name.endswith("__")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not _is_dunder(name)


def _short(node: ast.AST) -> str:
    try:
        text = ast.unparse(node)
    except Exception:  # an unusual node: the line number still says where
        text = type(node).__name__
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:57] + "..."


def _root(expr: ast.AST | None) -> str | None:
    """The name an expression is reached from: ``a`` for ``a.b(c)[0].d``."""
    while expr is not None:
        if isinstance(expr, ast.Name):
            return _nfkc(expr.id)
        if isinstance(expr, ast.Attribute | ast.Subscript | ast.Await | ast.Starred
                      | ast.NamedExpr):
            expr = expr.value
        elif isinstance(expr, ast.Call):
            expr = expr.func
        else:
            return None
    return None


def _target_names(target: ast.AST) -> Iterator[str]:
    for node in ast.walk(target):
        if isinstance(node, ast.Name):
            yield _nfkc(node.id)


def _decode(source: str | bytes) -> str:
    if isinstance(source, bytes):
        return importlib.util.decode_source(source)
    return source


def _coding_findings(source: str | bytes) -> list[Finding]:
    raw = source if isinstance(source, bytes) else source.encode("utf-8", "surrogatepass")
    found = []
    for number, line in enumerate(raw.splitlines()[:2], start=1):
        match = _COOKIE.match(line)
        if not match:
            continue
        declared = match.group(1).decode("ascii")
        try:
            name = codecs.lookup(declared).name
        except LookupError:
            name = declared
        if name not in _SAFE_ENCODINGS:
            found.append(Finding(number, 1, f"coding: {declared}",
                                 f"declares the text encoding {declared!r}; save the file "
                                 "as UTF-8 and remove that line"))
        break
    return found


def screen_source(source: str | bytes, filename: str,
                  policy: ScreenPolicy = DEFAULT_SCREEN_POLICY) -> list[Finding]:
    """Every construct in ``source`` that ``policy`` doesn't allow, in source order.

    Never runs the source. Source that doesn't parse gives no findings: the grading
    reports the syntax error itself. ``filename`` is only used in parse errors.
    """
    findings = _coding_findings(source)
    too_deep = Finding(1, 1, "(whole file)", "nests expressions too deeply to be checked; "
                                             "split them into smaller steps")
    try:
        tree = _parse(_decode(source), filename=filename)
    except (SyntaxError, ValueError, UnicodeDecodeError):
        return findings
    except RecursionError:  # never a pass: what can't be read can't be trusted
        return [*findings, too_deep]
    try:
        findings += _Screen(tree, policy).run()
    except RecursionError:
        findings.append(too_deep)
    unique = {(f.line, f.col, f.construct, f.why): f for f in findings}
    return sorted(unique.values(), key=lambda f: (f.line, f.col, f.construct))


class _Screen:
    """One pass of collection (imports, classes, methods), then one of judgement."""

    def __init__(self, tree: ast.Module, policy: ScreenPolicy) -> None:
        self.tree = tree
        self.policy = policy
        self.findings: list[Finding] = []
        self.parents: dict[ast.AST, ast.AST] = {}
        self.aliases: dict[str, str] = {}  # local name -> "asyncio" / "asyncio.sleep"
        self.modules: set[str] = set()  # local names bound to allowed modules
        self.refused: set[str] = set()  # local names bound by refused imports
        self.classes: dict[str, ast.ClassDef] = {}
        self.declared: set[str] = set()  # public attributes the student's classes set
        self.declared_private: set[str] = set()  # and the private ones (``self._lock``)
        self.own_dunders: set[str] = set()
        # method -> its trusted self/cls name
        self.privilege: dict[ast.FunctionDef | ast.AsyncFunctionDef, str] = {}
        self.class_params: set[str] = set()  # trusted names that hold a class (cls)
        self.self_only: set[str] = set()  # methods that must never get a foreign self
        self.bound: set[str] = set()  # every name the student binds anywhere
        self.foreign: set[str] = set()  # names holding something from a library
        self.own_instances: set[str] = set()
        self.str_names: dict[str, list[str]] = {}  # name -> the string literals it holds
        self.standard = _standard_attributes(policy.allow_imports)
        self.stand_in = _stand_in_names(policy.stub, policy.suite, policy.allow_imports)
        self.trusted: list[str | None] = []  # trusted self names of enclosing methods
        self.scopes: list[ast.AST] = []
        self.in_annotation = 0

    # -- reporting ------------------------------------------------------------------------

    def flag(self, node: ast.AST, why: str, construct: str | None = None) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 1),
                                     getattr(node, "col_offset", 0) + 1,
                                     construct or _short(node), why))

    def run(self) -> list[Finding]:
        for parent in ast.walk(self.tree):
            for child in ast.iter_child_nodes(parent):
                self.parents[child] = parent
        self.collect_bindings()
        self.collect_imports()
        self.collect_classes()
        self.collect_flows()
        self.collect_self_only()
        self.visit(self.tree)
        return self.findings

    # -- collection -----------------------------------------------------------------------

    def collect_bindings(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.bound.add(_nfkc(node.id))
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                self.bound.add(_nfkc(node.name))
            elif isinstance(node, ast.arg):
                self.bound.add(_nfkc(node.arg))
            elif isinstance(node, ast.alias):
                self.bound.add(_nfkc(node.asname or node.name.split(".")[0]))
            elif isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar) and node.name:
                self.bound.add(_nfkc(node.name))
            elif isinstance(node, ast.MatchMapping) and node.rest:
                self.bound.add(_nfkc(node.rest))
            elif isinstance(node, ast.Global | ast.Nonlocal):
                self.bound.update(_nfkc(n) for n in node.names)

    def allowed_module(self, module: str) -> bool:
        return self.policy.allows_module(module)

    def member_problem(self, module: str, name: str) -> str | None:
        """Why ``module.name`` may not be used, or None."""
        if (module, name) in _PROCESS_NAMES and "processes" not in self.policy.allow:
            return (f"uses `{name}`, which starts worker processes, and this exercise "
                    "doesn't need any")
        allowed = not name.startswith("_") and name not in _NEVER.get(module, ())
        if allowed:
            names = _public_names(module)
            allowed = names is None or name in names
        if not allowed:
            return f"uses `{module}.{name}`, a part of `{module}` that no exercise needs"
        return None

    def collect_imports(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    module = _nfkc(alias.name)
                    bound = _nfkc(alias.asname) if alias.asname else module.split(".")[0]
                    if not self.allowed_module(module):
                        self.flag(node, f"imports `{module}`, which is not on this exercise's "
                                        "list of allowed modules", f"import {module}")
                        self.refused.add(bound)
                    elif alias.asname:
                        self.aliases[bound] = module
                        self.modules.add(bound)
                    else:
                        self.aliases[bound] = bound
                        self.modules.add(bound)
                    self.check_binding_name(node, bound)
            elif isinstance(node, ast.ImportFrom):
                self.collect_import_from(node)

    def collect_import_from(self, node: ast.ImportFrom) -> None:
        module = _nfkc(node.module or "")
        if node.level:
            self.flag(node, "imports relative to a package, but your exercise is one file")
            return
        refused_module = False
        for alias in node.names:
            name = _nfkc(alias.name)
            if name == "*":
                self.flag(node, f"imports every name from `{module}` at once; import the "
                                "names you use one by one", f"from {module} import *")
                continue
            bound = _nfkc(alias.asname or alias.name)
            self.check_binding_name(node, bound)
            submodule = f"{module}.{name}"
            if self.allowed_module(submodule):
                self.aliases[bound] = submodule
                self.modules.add(bound)
            elif not self.allowed_module(module):
                if not refused_module:
                    self.flag(node, f"imports from `{module}`, which is not on this "
                                    "exercise's list of allowed modules",
                              f"from {module} import ...")
                refused_module = True
                self.refused.add(bound)
            elif problem := self.member_problem(module, name):
                self.flag(node, problem.replace("uses", "imports", 1),
                          f"from {module} import {name}")
                self.refused.add(bound)
            else:
                self.aliases[bound] = submodule

    def check_binding_name(self, node: ast.AST, bound: str) -> None:
        if bound in _DENIED_NAMES or bound in _CALL_ONLY:
            self.flag(node, f"binds the name `{bound}`, which Python uses for one of its "
                            "built-in functions; choose another name")

    def resolve(self, expr: ast.AST) -> str | None:
        """``asyncio.sleep`` for ``sleep`` imported from asyncio, or ``aio.sleep``."""
        if isinstance(expr, ast.Name):
            name = _nfkc(expr.id)
            if name in self.aliases:
                return self.aliases[name]
            if name not in self.bound and hasattr(builtins, name):
                return name
            return None
        if isinstance(expr, ast.Attribute):
            base = self.resolve(expr.value)
            return f"{base}.{_nfkc(expr.attr)}" if base else None
        return None

    def module_of(self, expr: ast.AST) -> str | None:
        """The allowed module an expression names, if it names one."""
        if isinstance(expr, ast.Name):
            name = _nfkc(expr.id)
            return self.aliases[name] if name in self.modules else None
        if isinstance(expr, ast.Attribute):
            base = self.module_of(expr.value)
            if base is not None:
                candidate = f"{base}.{_nfkc(expr.attr)}"
                if self.allowed_module(candidate):
                    return candidate
        return None

    def collect_classes(self) -> None:
        for node in ast.walk(self.tree):
            if isinstance(node, ast.ClassDef):
                self.classes[_nfkc(node.name)] = node
        for cls in self.classes.values():
            properties: set[str] = set()
            for statement in self.class_body(cls):
                if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef):
                    name = _nfkc(statement.name)
                    if _is_dunder(name):
                        self.own_dunders.add(name)
                    elif not name.startswith("_"):
                        self.declared.add(name)
                    else:
                        self.declared_private.add(name)
                    if any(self.resolve(d) == "property" for d in statement.decorator_list):
                        properties.add(name)
                    self.collect_method(statement, properties)
                elif isinstance(statement, ast.Assign | ast.AnnAssign):
                    targets = (statement.targets if isinstance(statement, ast.Assign)
                               else [statement.target])
                    for target in targets:
                        for name in _target_names(target):
                            if not name.startswith("_"):
                                self.declared.add(name)
                            elif not _is_dunder(name):
                                self.declared_private.add(name)
        self.own_dunders -= _DENIED_DUNDERS

    def class_body(self, cls: ast.ClassDef) -> Iterator[ast.stmt]:
        """The statements of a class body, into if/try/with blocks but not nested scopes."""
        pending = list(cls.body)
        while pending:
            statement = pending.pop(0)
            yield statement
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            for field in ("body", "orelse", "finalbody", "handlers"):
                for inner in getattr(statement, field, []):
                    if isinstance(inner, ast.ExceptHandler):
                        pending.extend(inner.body)
                    elif isinstance(inner, ast.stmt):
                        pending.append(inner)

    def collect_method(self, method: ast.FunctionDef | ast.AsyncFunctionDef,
                       properties: set[str]) -> None:
        """Decide whether ``self`` (or ``cls``) in this method is trusted to be our own."""
        params = method.args.posonlyargs + method.args.args
        name = _nfkc(method.name)
        if not params or name == "__new__" or len(method.args.defaults) == len(params):
            return  # no self, a static __new__, or a self that has a default value
        kinds = set()
        for decorator in method.decorator_list:
            if (isinstance(decorator, ast.Attribute)
                    and decorator.attr in ("setter", "getter", "deleter")
                    and isinstance(decorator.value, ast.Name)
                    and _nfkc(decorator.value.id) in properties):
                kinds.add("property")
                continue
            resolved = self.resolve(decorator)
            if resolved not in _METHOD_DECORATORS:
                return  # an unknown decorator may call the method with anything as self
            kinds.add(resolved)
        if "staticmethod" in kinds:
            return
        trusted = _nfkc(params[0].arg)
        for node in ast.walk(method):
            if node is params[0]:
                continue
            rebinds = (
                (isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
                 and _nfkc(node.id) == trusted)
                or (isinstance(node, ast.arg) and _nfkc(node.arg) == trusted)
                or (isinstance(node, ast.alias)
                    and _nfkc(node.asname or node.name.split(".")[0]) == trusted)
                or (isinstance(node, ast.ExceptHandler | ast.MatchAs | ast.MatchStar)
                    and node.name and _nfkc(node.name) == trusted)
                or (isinstance(node, ast.Global | ast.Nonlocal)
                    and trusted in map(_nfkc, node.names))
                or (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
                    and node is not method and _nfkc(node.name) == trusted)
            )
            if rebinds:
                return
        self.privilege[method] = trusted
        if "classmethod" in kinds or name in _IMPLICIT_CLASSMETHODS:
            self.class_params.add(trusted)
            return
        # Attributes this class declares through self.
        for node in ast.walk(method):
            access = self.self_access(node, trusted)
            if access and not isinstance(access[1], ast.Load):
                if not access[0].startswith("_"):
                    self.declared.add(access[0])
                elif not _is_dunder(access[0]):
                    self.declared_private.add(access[0])

    def collect_self_only(self) -> None:
        """Methods doing through ``self`` what would be refused on a foreign object."""
        for method, trusted in self.privilege.items():
            if trusted in self.class_params:
                continue
            for node in ast.walk(method):
                access = self.self_access(node, trusted)
                if access and self.plain_problem(*access) is not None:
                    self.self_only.add(_nfkc(method.name))
                    break

    def self_access(self, node: ast.AST, trusted: str) -> tuple[str, ast.expr_context] | None:
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
                and _nfkc(node.value.id) == trusted):
            return _nfkc(node.attr), node.ctx
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                and node.func.id in _CALL_ONLY and len(node.args) >= 2
                and isinstance(node.args[0], ast.Name) and _nfkc(node.args[0].id) == trusted
                and isinstance(node.args[1], ast.Constant)
                and isinstance(node.args[1].value, str)):
            ctx = {"setattr": ast.Store(), "delattr": ast.Del()}.get(node.func.id, ast.Load())
            return _nfkc(node.args[1].value), ctx
        return None

    def collect_flows(self) -> None:
        """Which names hold library objects, own instances, or only string literals."""
        flows: list[tuple[list[str], ast.AST | None]] = []
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Assign):
                names = [n for t in node.targets for n in _target_names(t)]
                flows.append((names, node.value))
                if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            self.str_names.setdefault(_nfkc(target.id), []).append(
                                node.value.value)
            elif isinstance(node, ast.AnnAssign | ast.AugAssign | ast.NamedExpr):
                flows.append((list(_target_names(node.target)), node.value))
            elif isinstance(node, ast.For | ast.AsyncFor | ast.comprehension):
                flows.append((list(_target_names(node.target)), node.iter))
            elif isinstance(node, ast.withitem) and node.optional_vars is not None:
                flows.append((list(_target_names(node.optional_vars)), node.context_expr))
        # A name assigned anything but string literals is not a literal template.
        for names, value in flows:
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                for name in names:
                    self.str_names[name] = []
        self.foreign = set(self.aliases) | self.refused
        changed = True
        while changed:
            changed = False
            for names, value in flows:
                if _root(value) in self.foreign and not set(names) <= self.foreign:
                    self.foreign.update(names)
                    changed = True
        for names, value in flows:
            if (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)
                    and _nfkc(value.func.id) in self.classes):
                self.own_instances.update(n for n in names if n not in self.foreign)
        for node in ast.walk(self.tree):
            if (isinstance(node, ast.Attribute) and not isinstance(node.ctx, ast.Load)
                    and isinstance(node.value, ast.Name)
                    and _nfkc(node.value.id) in self.own_instances
                    and not node.attr.startswith("_")):
                self.declared.add(_nfkc(node.attr))
            elif isinstance(node, ast.Call):
                self.declared.update(self.record_fields(node))

    def record_fields(self, call: ast.Call) -> Iterator[str]:
        """Field names a namedtuple, make_dataclass or SimpleNamespace call declares."""
        maker = self.resolve(call.func)
        if maker == "types.SimpleNamespace":
            yield from (_nfkc(k.arg) for k in call.keywords if k.arg)
        if maker not in ("collections.namedtuple", "typing.NamedTuple",
                         "dataclasses.make_dataclass") or len(call.args) < 2:
            return
        fields = call.args[1]
        if isinstance(fields, ast.Constant) and isinstance(fields.value, str):
            yield from (_nfkc(f) for f in fields.value.replace(",", " ").split())
        elif isinstance(fields, ast.List | ast.Tuple):
            for item in fields.elts:
                if isinstance(item, ast.Tuple | ast.List) and item.elts:
                    item = item.elts[0]
                if isinstance(item, ast.Constant) and isinstance(item.value, str):
                    yield _nfkc(item.value)

    # -- judgement ------------------------------------------------------------------------

    def visit(self, node: ast.AST) -> None:
        handler = getattr(self, f"visit_{type(node).__name__}", None)
        if handler is not None:
            handler(node)
        else:
            self.children(node)

    def children(self, node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            self.visit(child)

    def trusted_names(self) -> set[str]:
        return {name for name in self.trusted if name}

    def restricting_classes(self) -> bool:
        """Classes are values to watch only when some method must keep a trusted self."""
        return bool(self.self_only)

    def visit_Import(self, node: ast.Import) -> None:
        pass  # judged in collect_imports

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        pass

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        in_class = bool(self.scopes) and isinstance(self.scopes[-1], ast.ClassDef)
        if in_class and _nfkc(node.name) in _HOOK_DEFINITIONS:
            self.flag(node, f"defines `{node.name}`, a hook into how Python looks up "
                            "attributes or builds classes, which no exercise needs",
                      f"def {node.name}")
        for decorator in node.decorator_list:
            self.visit(decorator)
        self.visit_arguments(node.args)
        if node.returns is not None:
            self.visit_annotation(node.returns)
        self.trusted.append(self.privilege.get(node))
        self.scopes.append(node)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        self.trusted.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_arguments(self, args: ast.arguments) -> None:
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        for arg in args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]:
            if arg is not None and arg.annotation is not None:
                self.visit_annotation(arg.annotation)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.visit_arguments(node.args)
        self.trusted.append(None)
        self.scopes.append(node)
        self.visit(node.body)
        self.scopes.pop()
        self.trusted.pop()

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        self.visit(node.target)
        self.visit_annotation(node.annotation)
        if node.value is not None:
            self.visit(node.value)

    def visit_annotation(self, expr: ast.expr) -> None:
        """Annotations are judged as code, and so are the strings in them (but not the
        values of a ``Literal[...]``, which are plain data)."""
        self.in_annotation += 1
        self.visit(expr)
        for node, text in self.annotation_strings(expr):
            try:
                inner = _parse(text.strip(), mode="eval").body
            except (SyntaxError, ValueError):
                continue
            for child in ast.walk(inner):
                _place_at(child, node)
                for grandchild in ast.iter_child_nodes(child):
                    self.parents[grandchild] = child
            self.parents[inner] = node
            self.visit_annotation(inner)
        self.in_annotation -= 1

    def annotation_strings(self, expr: ast.AST) -> Iterator[tuple[ast.Constant, str]]:
        if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
            yield expr, expr.value
        elif isinstance(expr, ast.Subscript) and (self.resolve(expr.value) or "").endswith(
                "Literal"):
            return
        else:
            for child in ast.iter_child_nodes(expr):
                yield from self.annotation_strings(child)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for decorator in node.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            if self.restricting_classes() and self.resolve(target) not in _CLASS_DECORATORS:
                self.flag(decorator, f"decorates the class `{node.name}` with something that "
                                     "receives the class itself; only dataclass-style "
                                     "decorators are allowed here")
            self.visit(decorator)
        for base in node.bases:
            if self.resolve(base) == "type":
                self.flag(base, f"builds the class `{node.name}` on `type`, which makes it a "
                                "metaclass; no exercise needs one")
            elif self.restricting_classes() and not self.plain_base(base):
                self.flag(base, f"builds the class `{node.name}` on a base computed at run "
                                "time; inherit from a class named directly")
            self.visit(base)
        for keyword in node.keywords:
            if keyword.arg == "metaclass" and self.resolve(keyword.value) not in _METACLASSES:
                self.flag(keyword.value, "sets a metaclass, which takes over how the class is "
                                         "built; no exercise needs one")
            self.visit(keyword.value)
        self.trusted.append(None)
        self.scopes.append(node)
        for statement in node.body:
            self.visit(statement)
        self.scopes.pop()
        self.trusted.pop()

    def plain_base(self, base: ast.expr) -> bool:
        if isinstance(base, ast.Subscript):
            return self.plain_base(base.value)
        if isinstance(base, ast.Name) and _nfkc(base.id) in self.classes:
            return True
        return self.resolve(base) is not None

    def visit_Name(self, node: ast.Name) -> None:
        name = _nfkc(node.id)
        parent = self.parents.get(node)
        direct_call = isinstance(parent, ast.Call) and parent.func is node
        if name in _DENIED_NAMES:
            self.flag(node, _DENIED_NAMES[name], name)
        elif name in _CALL_ONLY and not direct_call and name not in self.aliases:
            self.flag(node, f"uses `{name}` as a value; call it directly with the attribute "
                            "name written out", name)
        elif not isinstance(node.ctx, ast.Load):
            return
        elif name in self.modules and not (isinstance(parent, ast.Attribute)
                                           and parent.value is node):
            self.flag(node, f"passes the module `{self.aliases[name]}` around as a value; use "
                            f"its names directly, such as `{name}.something`", name)
        elif self.aliases.get(name) in _OPENS_FILES and not direct_call:
            self.flag(node, f"uses `{name}` as a value; call it directly", name)
        elif self.aliases.get(name) in _ATTRGETTERS and not direct_call:
            self.flag(node, f"uses `{name}` as a value; call it directly with the attribute "
                            "names written out", name)
        elif self.is_class_valued(node):
            self.check_class_value(node)
        elif (self.scopes and isinstance(self.scopes[-1], ast.ClassDef)
              and name in self.self_only
              and not self.is_property_decorator(node)):
            self.flag(node, f"uses the method `{name}` inside its class body, where it is a "
                            "plain function that could be run on any object", name)

    def is_property_decorator(self, node: ast.Name) -> bool:
        parent = self.parents.get(node)
        return (isinstance(parent, ast.Attribute) and parent.attr in ("setter", "getter",
                                                                     "deleter")
                and isinstance(self.parents.get(parent), ast.FunctionDef
                               | ast.AsyncFunctionDef))

    def is_class_valued(self, node: ast.AST) -> bool:
        """Whether ``node`` holds one of the student's classes (or any class) as a value."""
        if not self.restricting_classes():
            return False
        if isinstance(node, ast.Name):
            name = _nfkc(node.id)
            return (name in self.classes and name not in self.foreign) or name == "__class__" \
                or (name in self.class_params and name in self.trusted_names())
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
            called = self.resolve(node.func)
            if called == "type" and len(node.args) == 1:
                return True
            if called == "super" and node.args:
                second = node.args[1] if len(node.args) > 1 else None
                return not (isinstance(second, ast.Name)
                            and _nfkc(second.id) in self.trusted_names())
        return isinstance(node, ast.Attribute) and _nfkc(node.attr) == "__class__"

    def check_class_value(self, node: ast.AST) -> None:
        if self.in_annotation or self.class_value_ok(node):
            return
        self.flag(node, f"passes the class `{_short(node)}` around as a value, which could "
                        "run its methods on objects your code did not create; make "
                        "instances instead")

    def class_value_ok(self, node: ast.AST) -> bool:
        """Contexts where a class can't be handed to code that would call its methods."""
        parent = self.parents.get(node)
        if isinstance(parent, ast.Call) and parent.func is node:
            return True  # an instance is made
        if isinstance(parent, ast.Attribute) and parent.value is node:
            return True  # the attribute is judged on its own
        if isinstance(parent, ast.Compare):
            # `is` compares identities; `==` between classes is type.__eq__. Anything
            # else may call the other operand's own __eq__ with the class.
            return (all(isinstance(op, ast.Is | ast.IsNot) for op in parent.ops)
                    or all(self.is_class_valued(e) or self.names_library_class(e)
                           for e in [parent.left, *parent.comparators]))
        if isinstance(parent, ast.Raise | ast.FormattedValue):
            return True
        if isinstance(parent, ast.ClassDef) and node in parent.bases:
            return True
        if isinstance(parent, ast.ExceptHandler) and parent.type is node:
            return True
        if isinstance(parent, ast.MatchClass) and parent.cls is node:
            return True
        if isinstance(parent, ast.arg | ast.FunctionDef | ast.AsyncFunctionDef | ast.AnnAssign
                      | ast.Constant) and self.in_annotation:
            return True  # an annotation itself: stored, never called
        if isinstance(parent, ast.Subscript) and parent.slice is node:
            return self.names_library_class(parent.value)
        if isinstance(parent, ast.BinOp) and isinstance(parent.op, ast.BitOr):
            other = parent.right if parent.left is node else parent.left
            return (self.is_class_valued(other) or self.names_library_class(other)
                    or (isinstance(other, ast.Constant) and other.value is None))
        if isinstance(parent, ast.Tuple):
            holder = self.parents.get(parent)
            if isinstance(holder, ast.ExceptHandler):
                return True
            if isinstance(holder, ast.Subscript) and holder.slice is parent:
                return self.names_library_class(holder.value)
            if self.is_isinstance_call(holder, parent):
                return True
        if self.is_isinstance_call(parent, node):
            return True
        if isinstance(parent, ast.Call) and isinstance(parent.func, ast.Name):
            name = self.resolve(parent.func)
            if name in _PRINTERS:
                return True
            if name == "super" and parent.args and parent.args[0] is node:
                return True
        return False

    def names_library_class(self, expr: ast.AST) -> bool:
        """A name for something from a library or the builtins (``list``, ``asyncio.Queue``)."""
        if isinstance(expr, ast.Subscript):
            return self.names_library_class(expr.value)
        if isinstance(expr, ast.Name) and _nfkc(expr.id) in self.classes:
            return False
        return self.resolve(expr) is not None

    def is_isinstance_call(self, call: ast.AST | None, arg: ast.AST) -> bool:
        return (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                and self.resolve(call.func) in ("isinstance", "issubclass")
                and len(call.args) == 2 and call.args[1] is arg)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        attr = _nfkc(node.attr)
        problem = self.attribute_problem(node.value, attr, node.ctx, node)
        parent = self.parents.get(node)
        if problem is not None:
            self.flag(node, problem)
        elif self.resolve(node) in _ATTRGETTERS and not (isinstance(parent, ast.Call)
                                                         and parent.func is node):
            self.flag(node, f"uses `{_short(node)}` as a value; call it directly with the "
                            "attribute names written out")
        elif self.resolve(node) in _OPENS_FILES and not (isinstance(parent, ast.Call)
                                                         and parent.func is node):
            self.flag(node, f"uses `{_short(node)}` as a value; call it directly")
        elif attr == "__class__":
            self.check_class_of(node, node.value)
            if self.is_class_valued(node):
                self.check_class_value(node)
        self.visit(node.value)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Name) and _nfkc(func.id) in _CALL_ONLY \
                and _nfkc(func.id) not in self.aliases:
            self.check_getattr_call(node, _nfkc(func.id))
        elif self.resolve(func) in _ATTRGETTERS:
            self.check_attrgetter(node, self.resolve(func) or "")
        elif isinstance(func, ast.Attribute) and func.attr in ("format", "format_map"):
            self.check_template(node)
        if (opener := self.resolve(func)) in _OPENS_FILES:
            self.check_file_opener(node, opener or "")
        if self.resolve(func) == "type" and len(node.args) == 1 and not node.keywords:
            self.check_class_of(node, node.args[0])
        if self.is_class_valued(node):
            self.check_class_value(node)
        self.children(node)

    def check_class_of(self, node: ast.AST, of: ast.AST) -> None:
        """``type(x)`` or ``x.__class__``: its name, a comparison or an isinstance test.

        Anything else hands a class to code that can call it, and the class of a library
        object can be one that opens files (``type(sys.stdout.buffer.raw)`` is
        ``io.FileIO``). ``type(self)`` in the student's own methods is theirs.
        """
        if self.is_trusted(of):
            return
        parent = self.parents.get(node)
        if isinstance(parent, ast.Attribute) and _nfkc(parent.attr) in _CLASS_NAME_PARTS:
            return
        if isinstance(parent, ast.Compare):
            return
        if (isinstance(parent, ast.Call) and self.resolve(parent.func) in ("isinstance",
                                                                         "issubclass")
                and len(parent.args) == 2 and parent.args[1] is node):
            return
        self.flag(node, f"uses `{_short(node)}`, the class of an object, as a value; only "
                        "its `__name__`, a comparison or isinstance may use it")

    def check_file_opener(self, node: ast.Call, name: str) -> None:
        for keyword in node.keywords:
            if keyword.arg is None:
                self.flag(node, f"calls `{name}` with `**` arguments worked out at run time; "
                                "write the keywords out")
            elif keyword.arg in _OPENS_FILES[name]:
                self.flag(node, f"calls `{name}` with `{keyword.arg}=`, which opens a file; "
                                "log to the console (no filename), or print")
        if any(isinstance(arg, ast.Starred) for arg in node.args):
            self.flag(node, f"calls `{name}` with `*` arguments worked out at run time")

    def visit_Constant(self, node: ast.Constant) -> None:
        value = node.value
        text = value.decode("latin-1") if isinstance(value, bytes) else value
        if isinstance(text, str) and _PROCESS_PATHS.search(text):
            self.flag(node, "names the process's own files (/proc, /sys, /dev/fd); no "
                            "exercise needs them")

    def visit_MatchClass(self, node: ast.MatchClass) -> None:
        for attr in node.kwd_attrs:
            problem = self.plain_problem(_nfkc(attr), ast.Load())
            if problem is not None:
                self.flag(node, problem, f"case {_short(node.cls)}({attr}=...)")
        self.children(node)

    # -- attributes -----------------------------------------------------------------------

    def attribute_problem(self, base: ast.AST, attr: str, ctx: ast.expr_context,
                          node: ast.AST | None) -> str | None:
        """Why ``base.attr`` (read, written or deleted as ``ctx``) is refused, or None."""
        writes = not isinstance(ctx, ast.Load)
        if _root(base) in self.refused:
            return None  # its import is already reported
        module = self.module_of(base)
        if module is not None:
            if self.allowed_module(f"{module}.{attr}"):
                return self.module_write(module, attr) if writes else None
            if not self.allowed_module(module):
                return (f"uses `{module}.{attr}`, but `{module}` is not on this exercise's "
                        "list of allowed modules")
            problem = self.member_problem(module, attr)
            if problem is None and writes:
                problem = self.module_write(module, attr)
            return problem
        class_method = (attr in self.self_only and self.is_class_valued(base)
                        and not self.called_with_trusted_self(node))
        if self.is_trusted(base):
            if attr in _DENIED_DUNDERS:
                return self.dunder_problem(attr)
            return self.class_method_problem(attr) if class_method else None
        if writes and _root(base) in self.foreign:
            return (f"changes `{attr}` on an object that comes from a library, which would "
                    "change it for the grader too")
        if class_method:
            return self.class_method_problem(attr)
        if attr == "__init__":
            return self.init_problem(node)
        problem = self.plain_problem(attr, ctx)
        if problem is None and writes and attr not in self.declared and not self.own_private(
                attr) and not (
                isinstance(base, ast.Name) and _nfkc(base.id) in self.own_instances):
            problem = (f"changes `{attr}` on an object your code did not create; only your "
                       "own classes' attributes may be set")
        return problem

    def own_private(self, attr: str) -> bool:
        """A private name the student's own classes set, and nothing the grading rests on
        carries: ``account._lock`` on an instance passed in reaches the student's lock."""
        return (attr in self.declared_private and not _is_dunder(attr)
                and attr not in _grader_private_names() and attr not in self.stand_in)

    def class_method_problem(self, attr: str) -> str:
        return (f"takes the method `{attr}` from its class instead of an instance, which "
                "could run it on an object your code did not create")

    def module_write(self, module: str, attr: str) -> str:
        return (f"changes `{module}.{attr}`, which would change it for the grader too; "
                "leave library modules as they are")

    def dunder_problem(self, attr: str) -> str:
        return f"uses `{attr}`, part of Python's internals, which no exercise needs"

    def init_problem(self, node: ast.AST | None) -> str | None:
        if self.called_with_trusted_self(node):
            return None
        return ("calls `__init__` on an object your code did not create, which would reset "
                "it; create a new object instead")

    def called_with_trusted_self(self, node: ast.AST | None) -> bool:
        """``Base.method(self, ...)`` inside a method whose self is trusted."""
        parent = self.parents.get(node) if node is not None else None
        return (isinstance(parent, ast.Call) and parent.func is node and bool(parent.args)
                and isinstance(parent.args[0], ast.Name)
                and _nfkc(parent.args[0].id) in self.trusted_names())

    def is_trusted(self, base: ast.AST) -> bool:
        if isinstance(base, ast.Name):
            return _nfkc(base.id) in self.trusted_names()
        return (isinstance(base, ast.Call) and isinstance(base.func, ast.Name)
                and self.resolve(base.func) == "super" and not base.args)

    def plain_problem(self, attr: str, ctx: ast.expr_context) -> str | None:
        """Why ``something.attr`` is refused when ``something`` may be anyone's object."""
        writes = not isinstance(ctx, ast.Load)
        if _is_dunder(attr):
            if attr in _DENIED_DUNDERS or attr == "__init__":
                return self.dunder_problem(attr)
            if writes:
                return f"changes `{attr}`, part of Python's internals, which no exercise needs"
            if attr in _SAFE_DUNDERS or attr in self.own_dunders:
                return None
            return self.dunder_problem(attr)
        if attr.startswith("_"):
            if self.own_private(attr):
                return None
            return (f"uses `{attr}`, a private part of an object your code did not create; "
                    "use its public methods instead")
        if attr in _FRAME_NAMES:
            return (f"uses `{attr}`, which reaches the interpreter's frames and tracebacks; "
                    "no exercise needs that")
        if attr in _STREAM_INTERNALS:
            return (f"uses `{attr}`, which reaches the file behind a stream; print, or write "
                    "to an io.StringIO, instead")
        if attr in _GENERATOR_STATE and "generator-internals" not in self.policy.allow:
            return (f"uses `{attr}`, a generator's internal state, which this exercise "
                    "doesn't need")
        if attr in _LOOP_HOOKS:
            return (f"uses `{attr}`, which changes how the event loop itself works; no "
                    "exercise needs that")
        if attr in _LOOP_OUTSIDE or attr.startswith("sock_"):
            return (f"uses `{attr}`, which reaches file descriptors, sockets or processes; "
                    "no exercise needs that")
        if attr == "mro":
            return self.dunder_problem(attr)
        if attr in _grader_loop_names():
            return (f"uses `{attr}`, which belongs to the grader's own event loop, not to "
                    "asyncio")
        if attr in self.stand_in:
            return (f"uses `{attr}`, which belongs to the grader's stand-in for the code the "
                    "exercise provides; use only what the exercise describes")
        if writes and attr in _store_denied():
            return (f"changes `{attr}` on an object your code did not create, which could "
                    "change the event loop or a pool the grader relies on")
        if not writes and attr not in self.declared and attr not in self.standard:
            return (f"uses `{attr}`, which is neither part of Python's standard library nor "
                    "defined in your code; use only the methods the exercise describes")
        return None

    # -- getattr and friends ----------------------------------------------------------------

    def check_getattr_call(self, node: ast.Call, name: str) -> None:
        args = node.args
        if (len(args) < 2 or any(isinstance(a, ast.Starred) for a in args[:2])
                or not isinstance(args[1], ast.Constant) or not isinstance(args[1].value, str)):
            self.flag(node, f"calls `{name}` with an attribute name worked out at run time; "
                            "write the name out, or use `obj.name`")
            return
        attr = _nfkc(args[1].value)
        if _is_private(attr) or not attr.isidentifier():
            self.flag(node, f"calls `{name}` with the private name {attr!r}; `{name}` may only "
                            "be given a public name")
            return
        ctx = {"setattr": ast.Store(), "delattr": ast.Del()}.get(name, ast.Load())
        problem = self.attribute_problem(args[0], attr, ctx, None)
        if problem is not None:
            self.flag(node, problem)

    def check_attrgetter(self, node: ast.Call, name: str) -> None:
        args = node.args if name.endswith("attrgetter") else node.args[:1]
        for arg in args:
            if not (isinstance(arg, ast.Constant) and isinstance(arg.value, str)):
                self.flag(node, f"calls `{name}` with a name worked out at run time; write the "
                                "name out")
                return
            for part in _nfkc(arg.value).split("."):
                problem = (self.plain_problem(part, ast.Load())
                           if part.isidentifier() else "is not a name")
                if problem is not None:
                    self.flag(node, problem)
                    return
        if not args:
            self.flag(node, f"calls `{name}` without the attribute names written out")

    def check_template(self, node: ast.Call) -> None:
        """``str.format`` reads attributes named in the template: judge them like code."""
        func = node.func
        assert isinstance(func, ast.Attribute)
        template = func.value
        if isinstance(template, ast.Name) and self.resolve(template) == "str" and node.args:
            template = node.args[0]
        literals: list[str] = []
        if isinstance(template, ast.Constant) and isinstance(template.value, str):
            literals = [template.value]
        elif isinstance(template, ast.Name) and self.str_names.get(_nfkc(template.id)):
            literals = self.str_names[_nfkc(template.id)]
        else:
            self.flag(node, "formats text with a template that is not written in your code; "
                            "use an f-string or a string literal")
            return
        for literal in literals:
            for attr in self.template_attributes(literal):
                problem = self.plain_problem(attr, ast.Load())
                if problem is not None:
                    self.flag(node, f"formats text with a template that {problem}")
                    return

    def template_attributes(self, template: str) -> Iterator[str]:
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError:
            return
        for _text, field, spec, _conversion in parsed:
            if field:
                try:
                    _first, rest = _string.formatter_field_name_split(field)
                    for is_attribute, key in rest:
                        if is_attribute:
                            yield _nfkc(str(key))
                except ValueError:
                    continue
            if spec:
                yield from self.template_attributes(spec)
