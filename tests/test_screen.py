"""The static screen: no correct submission is flagged, and every forging route is.

Correct code is every stub, solution and variant fixture (the wrong variants make async
mistakes, not attacks, so they must reach the grading that explains them) plus the
alternatives in tests/fixtures/alternatives/, which score full marks. Hostile code is
the snippets below: each marks with ``# <-`` the line the screen must name. Pure ``ast``
throughout: nothing here grades or runs a submission.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from grader.course.course import Course, Exercise
from grader.course.metadata import DEFAULT_SCREEN_POLICY, ScreenPolicy
from grader.supervision.screen import Finding, _grader_loop_names, screen_source
from helpers import FIXTURES, REPO

COURSE = Course(REPO)
ALTERNATIVES = FIXTURES / "alternatives"


def correct_files() -> list[tuple[Exercise, Path]]:
    found = []
    for exercise in COURSE.exercises:
        found += [(exercise, exercise.stub_file), (exercise, exercise.solution_file)]
        found += [(exercise, path) for path in
                  sorted((FIXTURES / "exercises" / exercise.name).rglob("*.py"))]
        found += [(exercise, path) for path in sorted((ALTERNATIVES / exercise.name).glob("*.py"))]
    return found


CORRECT = correct_files()


@pytest.mark.parametrize(("exercise", "path"), CORRECT,
                         ids=[str(path.relative_to(REPO)) for _, path in CORRECT])
def test_correct_code_is_never_flagged(exercise: Exercise, path: Path) -> None:
    assert screen_source(path.read_bytes(), str(path), exercise.meta.screen) == []


def test_every_exercise_has_three_alternatives_and_nothing_stray() -> None:
    names = {exercise.name for exercise in COURSE.exercises}
    assert {folder.name for folder in ALTERNATIVES.iterdir()} == names
    for name in names:
        assert len(list((ALTERNATIVES / name).glob("*.py"))) >= 3, name


# -- hostile code -------------------------------------------------------------------------

HOSTILE = {
    # imports: an allow-list, through every spelling
    "import_gc_aliased": "import gc as g  # <-",
    "from_sys_getframe": "from sys import _getframe as f  # <-",
    "nfkc_identifier": "import ｇｃ  # <-",
    "importlib": "import importlib  # <-\nm = importlib.import_module('gc')",
    "dunder_import": "m = __import__('gc')  # <-",
    "ctypes": "import ctypes  # <-",
    "submodule_import": "import asyncio.events  # <-",
    "submodule_from": "from asyncio import events  # <-",
    "submodule_attribute": "import asyncio\np = asyncio.events.get_event_loop_policy()  # <-",
    "private_member": "from asyncio import _get_running_loop  # <-",
    "star_import": "from asyncio import *  # <-",
    "relative_import": "from . import helpers  # <-",
    "pickle": "import pickle  # <-",
    "marshal": "import marshal  # <-",
    "subprocess": "import subprocess  # <-",
    "pty": "import pty  # <-",
    "socket": "import socket  # <-",
    "signal": "import signal  # <-",
    "os_write": "import os\nos.write(3, b'{}')  # <-",
    "atexit": "import atexit  # <-",
    "faulthandler": "import faulthandler  # <-",
    "resource": "import resource  # <-",
    "builtins_module": "import builtins  # <-",
    "codecs": "import codecs  # <-",
    "sys_modules": "import sys\nsys.modules['grader.child.plugin'] = None  # <-",
    "multiprocessing_manager": "from multiprocessing import Manager  # <-",
    "utf7_cookie": "# -*- coding: utf-7 -*-  # <-\nx = 1",
    # builtins that run text, read namespaces, open files
    "eval": "x = eval('1')  # <-",
    "exec": "exec('import os')  # <-",
    "compile": "c = compile('1', 'x', 'eval')  # <-",
    "builtins_alias": "b = __builtins__  # <-",
    "globals_write": "globals()['__builtins__'] = {}  # <-",
    "locals_write": "def f():\n    locals()['x'] = 1  # <-",
    "vars_of_object": "def f(o):\n    return vars(o)['_now']  # <-",
    "breakpoint": "breakpoint()  # <-",
    "open_proc": "with open('/proc/self/fd/3', 'w') as channel:  # <-\n    pass",
    "import_binds_builtin_name": "from asyncio import sleep as open  # <-",
    # getattr and friends: direct calls with a public name written out
    "getattr_alias": "b = getattr  # <-",
    "getattr_concatenated": "def f(loop):\n    return getattr(loop, '_' + 'now')  # <-",
    "getattr_private": "def f(loop):\n    return getattr(loop, '_now')  # <-",
    "getattr_fstring": "def f(loop, n):\n    return getattr(loop, f'_{n}')  # <-",
    "getattr_decoded": ("import base64\n"
                        "def f(loop):\n"
                        "    return getattr(loop, base64.b64decode(b'X25vdw==').decode())  # <-"),
    "getattr_decorator": "@getattr  # <-\ndef f():\n    pass",
    "getattr_lambda_default": "f = lambda g=getattr: g(1, 'x')  # <-",
    "getattr_walrus": "if (g := getattr):  # <-\n    pass",
    "setattr_on_module": "import asyncio\nsetattr(asyncio, 'sleep', None)  # <-",
    "attrgetter_private": "import operator\nf = operator.attrgetter('_now')  # <-",
    "attrgetter_as_value": "from operator import attrgetter\ng = attrgetter  # <-",
    "methodcaller_private": "from operator import methodcaller as mc\nh = mc('_run_once')  # <-",
    "format_walks_dunders": "def f(x):\n    return '{0.__class__.__mro__}'.format(x)  # <-",
    "format_unknown_template": "def f(x, template):\n    return template.format(x)  # <-",
    # introspection dunders, frames, tracebacks
    "subclasses_of_type": "def f(x):\n    return type(x).__subclasses__()  # <-",
    "subclasses_walk": "def f():\n    return ().__class__.__base__.__subclasses__()  # <-",
    "getattribute_bypass": "def f(loop):\n    return object.__getattribute__(loop, '_now')  # <-",
    "swap_code": "def f(fn, other):\n    fn.__code__ = other.__code__  # <-",
    "function_globals": "def f(fn):\n    return fn.__globals__  # <-",
    "bound_self": "def f(fetch):\n    return fetch.__self__  # <-",
    "object_dict": "def f(x):\n    return x.__dict__  # <-",
    "reinit_loop": ("import asyncio\n"
                    "async def f():\n"
                    "    asyncio.get_running_loop().__init__()  # <-"),
    "class_swap": "def f(loop):\n    loop.__class__ = int  # <-",
    "traceback_frames": ("def f():\n"
                         "    try:\n"
                         "        1 / 0\n"
                         "    except ZeroDivisionError as e:\n"
                         "        return e.__traceback__.tb_frame.f_back.f_globals  # <-"),
    "aexit_traceback": ("class Spy:\n"
                        "    async def __aexit__(self, kind, exc, tb):\n"
                        "        return tb.tb_frame  # <-"),
    "generator_frame": "def f(gen):\n    return gen.gi_frame.f_locals  # <-",
    "coroutine_frame": "def f(coro):\n    return coro.cr_frame  # <-",
    "task_stack": ("import asyncio\n"
                   "async def f():\n"
                   "    return asyncio.current_task().get_stack()  # <-"),
    "generator_state_elsewhere": "def f(gen):\n    return gen.gi_yieldfrom  # <-",
    "mro_walk": "def f(x):\n    return type(x).mro()  # <-",
    "match_private_attribute": ("import asyncio\n"
                                "async def f():\n"
                                "    match asyncio.get_running_loop():\n"
                                "        case object(_now=now):  # <-\n"
                                "            return now"),
    "annotation_string_code": "def f(x: \"__import__('os')\"):  # <-\n    pass",
    "descriptor_hook": ("class Spy:\n"
                        "    def __get__(self, instance, owner):  # <-\n"
                        "        return owner"),
    "metaclass": "class Meta(type):  # <-\n    pass",
    "type_hints_eval": "import typing\nhints = typing.get_type_hints  # <-",
    "method_type_binding": ("import types\n"
                            "def f(m, loop):\n"
                            "    return types.MethodType(m, loop)  # <-"),
    # the virtual loop and its clock
    "rewind_clock": ("import asyncio\n"
                     "async def f():\n"
                     "    loop = asyncio.get_running_loop()\n"
                     "    loop._now -= 5  # <-"),
    "rewind_clock_in_fstring": ("import asyncio\n"
                                "async def f():\n"
                                "    return f'{asyncio.get_running_loop()._now}'  # <-"),
    "patch_loop_time": ("import asyncio\n"
                        "async def f():\n"
                        "    loop = asyncio.get_running_loop()\n"
                        "    loop.time = lambda: 0.0  # <-"),
    "patch_through_parameter": "def f(loop):\n    loop.time = lambda: 0.0  # <-",
    "clear_violations": ("import asyncio\n"
                         "async def f():\n"
                         "    asyncio.get_running_loop().violations.clear()  # <-"),
    "raise_cpu_budget": ("import asyncio\n"
                         "async def f():\n"
                         "    asyncio.get_running_loop().cpu_budget = 1e9  # <-"),
    "advance_backwards": ("import asyncio\n"
                          "async def f():\n"
                          "    asyncio.get_running_loop().advance(-1)  # <-"),
    "task_factory": ("import asyncio as aio\n"
                     "async def f():\n"
                     "    aio.get_running_loop().set_task_factory(None)  # <-"),
    "loop_reader_on_fd": "def f(loop):\n    loop.add_reader(3, print)  # <-",
    "private_from_imported_call": ("from asyncio import get_running_loop as grl\n"
                                   "async def f():\n"
                                   "    grl()._now = 0  # <-"),
    # patching modules and library classes
    "patch_asyncio_sleep": "import asyncio\nasyncio.sleep = None  # <-",
    "patch_time_monotonic": "import time\ntime.monotonic = lambda: 0.0  # <-",
    "patch_thread_join": "import threading\nthreading.Thread.join = lambda *a: None  # <-",
    "patch_pool_submit": ("from concurrent.futures import ThreadPoolExecutor\n"
                          "ThreadPoolExecutor.submit = None  # <-"),
    "module_as_value": "import asyncio\nprint(asyncio)  # <-",
    "settrace": "import threading\nthreading.settrace(print)  # <-",
    "logging_frames": "import logging\nframe = logging.currentframe()  # <-",
    "io_open": "import io\nio.open('/proc/self/environ')  # <-",
    # objects the grader hands over: only the documented surface
    "fake_records": ("async def worker(jobs):\n"
                     "    conn = open_connection()\n"
                     "    conn.sent.extend(jobs)  # <-"),
    "fake_simulation": ("async def find_row(name, limit):\n"
                        "    cursor = await open_cursor()\n"
                        "    cursor.io.sim.violations().clear()  # <-"),
    "fake_counter": ("async def worker(jobs):\n"
                     "    conn = open_connection()\n"
                     "    conn.closes_finished += 1  # <-"),
    # a method's self pointed at a foreign object
    "unbound_method_call": ("import asyncio\n"
                            "class Snoop:\n"
                            "    def peek(self):\n"
                            "        self._now = 0\n"
                            "async def f():\n"
                            "    Snoop.peek(asyncio.get_running_loop())  # <-"),
    "class_alias": ("class Snoop:\n"
                    "    def peek(self):\n"
                    "        self._now = 0\n"
                    "K = Snoop  # <-"),
    "class_through_type": ("class Snoop:\n"
                           "    def peek(self):\n"
                           "        self._now = 0\n"
                           "def f(s, loop):\n"
                           "    type(s).peek(loop)  # <-"),
    "class_through_cls": ("class Snoop:\n"
                          "    def peek(self):\n"
                          "        self._now = 0\n"
                          "    @classmethod\n"
                          "    def go(cls, loop):\n"
                          "        cls.peek(loop)  # <-"),
    "class_through_super": ("class Snoop:\n"
                            "    def peek(self):\n"
                            "        self._now = 0\n"
                            "def f():\n"
                            "    return super(Snoop, Snoop).peek  # <-"),
    "class_into_function": ("class Snoop:\n"
                            "    def peek(self):\n"
                            "        self._now = 0\n"
                            "def g(k):\n"
                            "    return k\n"
                            "x = g(Snoop)  # <-"),
    "class_into_own_eq": ("class Snoop:\n"
                          "    def peek(self):\n"
                          "        self._now = 0\n"
                          "class Catcher:\n"
                          "    def __eq__(self, other):\n"
                          "        return other\n"
                          "x = Catcher() == Snoop  # <-"),
    "method_in_class_body": ("class Snoop:\n"
                             "    def peek(self):\n"
                             "        self._now = 0\n"
                             "    grab = peek  # <-"),
    "unknown_method_decorator": ("import asyncio\n"
                                 "def with_loop(f):\n"
                                 "    return lambda *a: f(asyncio.get_running_loop())\n"
                                 "class Snoop:\n"
                                 "    @with_loop\n"
                                 "    def peek(self):\n"
                                 "        self._now = 0  # <-"),
    "self_rebound_by_for": ("import asyncio\n"
                            "class Snoop:\n"
                            "    def peek(self):\n"
                            "        for self in [asyncio.get_running_loop()]:\n"
                            "            self._now = 0  # <-"),
    "self_rebound_by_walrus": ("import asyncio\n"
                               "class Snoop:\n"
                               "    def peek(self):\n"
                               "        [(self := asyncio.get_running_loop()) for _ in '1']\n"
                               "        self._now = 0  # <-"),
    "self_with_default": ("import asyncio\n"
                          "class Snoop:\n"
                          "    def peek(self=asyncio.get_running_loop()):\n"
                          "        self._now = 0  # <-"),
    "staticmethod_self": ("class Snoop:\n"
                          "    @staticmethod\n"
                          "    def peek(self):\n"
                          "        self._now = 0  # <-"),
    "declared_private_name_of_the_loop": ("import asyncio\n"
                                          "class Account:\n"
                                          "    def __init__(self):\n"
                                          "        self._now = 0\n"
                                          "def peek(x: Account):\n"
                                          "    return x._now  # <-\n"
                                          "async def f():\n"
                                          "    return peek(asyncio.get_running_loop())"),
    "declared_private_name_of_a_task": ("class Job:\n"
                                        "    _state = 'PENDING'\n"
                                        "def finish(task):\n"
                                        "    task._state = 'FINISHED'  # <-"),
    "logging_opens_a_file": ("import logging\n"
                             "logging.basicConfig(filename='/tmp/x', filemode='w')  # <-"),
    "logging_opens_by_spread": ("import logging\n"
                                "logging.basicConfig(**{'filename': 'x'})  # <-"),
    "logging_opener_as_value": ("import logging\n"
                                "setup = logging.basicConfig  # <-\n"
                                "setup(filename='x')"),
    "process_files_by_name": ("def channel(n):\n"
                              "    return f'/proc/self/fd/{n}'  # <-"),
    "dev_fd_by_name": ("CHANNEL = '/dev/fd/3'  # <-"),
    "class_decorator": ("def grab(cls):\n"
                        "    return cls\n"
                        "@grab  # <-\n"
                        "class Snoop:\n"
                        "    def peek(self):\n"
                        "        self._now = 0"),
}


def marked_line(source: str) -> int:
    return next(n for n, line in enumerate(source.splitlines(), 1) if "# <-" in line)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_code_is_flagged_on_its_line(name: str) -> None:
    source = textwrap.dedent(HOSTILE[name])
    findings = screen_source(source, f"{name}.py", DEFAULT_SCREEN_POLICY)
    assert marked_line(source) in {f.line for f in findings}, findings
    for finding in findings:
        assert finding.construct and "\n" not in finding.why and len(finding.why) < 200


def test_there_are_at_least_forty_hostile_snippets() -> None:
    assert len(HOSTILE) >= 40


LOOK_ALIKES = {
    "own_private_names_on_parameters": ("import asyncio\n"
                                        "class Account:\n"
                                        "    _opened = 0\n"
                                        "    def __init__(self):\n"
                                        "        self._lock = asyncio.Lock()\n"
                                        "        self._balance = 0\n"
                                        "    def _audit(self):\n"
                                        "        return self._balance\n"
                                        "async def deposit(account, amount):\n"
                                        "    async with account._lock:\n"
                                        "        account._balance += amount\n"
                                        "    return account._audit(), Account._opened"),
    "logging_to_the_console": ("import logging\n"
                               "logging.basicConfig(level=logging.INFO, format='%(message)s')\n"
                               "log = logging.getLogger(__name__)"),
    "protocol_dunders": ("def f(x, e):\n"
                         "    return (hasattr(x, '__await__'), getattr(x, 'name', None),\n"
                         "            type(e).__name__, e.__class__.__name__, e.__cause__)"),
    "self_private_and_super": ("class Base:\n"
                               "    def __init__(self):\n"
                               "        self._items = []\n"
                               "class Child(Base):\n"
                               "    def __init__(self):\n"
                               "        super().__init__()\n"
                               "        self._more = 1\n"
                               "class Old(Base):\n"
                               "    def __init__(self):\n"
                               "        Base.__init__(self)\n"
                               "    def _step(self):\n"
                               "        def inner():\n"
                               "            return self._items\n"
                               "        return inner()\n"
                               "job = Old()"),
    "property_setter": ("class Box:\n"
                        "    def __init__(self):\n"
                        "        self._v = 0\n"
                        "    @property\n"
                        "    def value(self):\n"
                        "        return self._v\n"
                        "    @value.setter\n"
                        "    def value(self, v):\n"
                        "        self._v = v\n"
                        "    @classmethod\n"
                        "    def make(cls):\n"
                        "        return cls()\n"
                        "    def __eq__(self, other):\n"
                        "        return type(self) == type(other) and self.value == other.value"),
    "literal_and_string_annotations": ("from typing import Literal\n"
                                       "def f(mode: Literal['open', 'eval']) -> 'list[int]':\n"
                                       "    return []"),
    "dataclass_ordering": ("import functools\n"
                           "from dataclasses import dataclass, field\n"
                           "@functools.total_ordering\n"
                           "@dataclass(order=True)\n"
                           "class Item:\n"
                           "    at: float\n"
                           "    data: list = field(default_factory=list, compare=False)"),
    "dotted_imports": ("import concurrent.futures\n"
                       "import collections.abc\n"
                       "def f(x):\n"
                       "    return (isinstance(x, collections.abc.Iterator),\n"
                       "            concurrent.futures.ThreadPoolExecutor)"),
    "literal_templates": ("TEMPLATE = 'Hi {name}'\n"
                          "def f(row):\n"
                          "    return 'Hello, {}!'.format(row['name']), TEMPLATE.format(name=1)"),
    "loop_time_and_timeout": ("import asyncio\n"
                              "async def f():\n"
                              "    loop = asyncio.get_running_loop()\n"
                              "    started = loop.time()\n"
                              "    async with asyncio.timeout(1):\n"
                              "        await asyncio.sleep(0)\n"
                              "    return loop.time() - started"),
    "attrgetter_public": ("import operator\n"
                          "def f(items):\n"
                          "    return sorted(items, key=operator.attrgetter('name'))"),
    "own_attributes_on_parameters": ("class Account:\n"
                                     "    def __init__(self):\n"
                                     "        self.balance = 0\n"
                                     "def deposit(account, amount):\n"
                                     "    account.balance += amount"),
    "async_protocols": ("async def f(rows):\n"
                        "    it = rows.__aiter__()\n"
                        "    return await it.__anext__()"),
    "threads_and_queues": ("import queue\n"
                           "import threading\n"
                           "lock = threading.Lock()\n"
                           "jobs = queue.Queue()"),
    "namedtuple_fields": ("from collections import namedtuple\n"
                          "Point = namedtuple('Point', 'x y')\n"
                          "def f(p):\n"
                          "    return p.x + p.y"),
    "match_patterns": ("def f(x):\n"
                       "    match x:\n"
                       "        case {'id': i, **rest}:\n"
                       "            return i, rest\n"
                       "        case [first, *others]:\n"
                       "            return first, others"),
}


@pytest.mark.parametrize("name", sorted(LOOK_ALIKES))
def test_look_alikes_are_not_flagged(name: str) -> None:
    assert screen_source(LOOK_ALIKES[name], f"{name}.py", DEFAULT_SCREEN_POLICY) == []


# -- per-exercise policy ------------------------------------------------------------------


def policy(exercise: str) -> ScreenPolicy:
    return COURSE.resolve(exercise).meta.screen


def test_inspect_is_allowed_only_where_it_is_taught_and_only_its_predicates() -> None:
    source = "import inspect\nok = inspect.iscoroutinefunction(len)\n"
    assert screen_source(source, "x.py", policy("01")) == []
    assert [f.line for f in screen_source(source, "x.py", policy("03"))] == [1]
    frames = source + "frame = inspect.currentframe()\n"
    assert [f.line for f in screen_source(frames, "x.py", policy("01"))] == [3]


def test_processes_are_allowed_in_exercise_12_only() -> None:
    source = ("from concurrent.futures import ProcessPoolExecutor\n"
              "import multiprocessing\n"
              "n = multiprocessing.cpu_count()\n")
    assert screen_source(source, "x.py", policy("12")) == []
    assert {f.line for f in screen_source(source, "x.py", policy("13"))} == {1, 2}
    manager = "import multiprocessing\nm = multiprocessing.Manager()\n"
    assert [f.line for f in screen_source(manager, "x.py", policy("12"))] == [2]


def test_generator_state_is_allowed_in_exercise_17_but_never_frames() -> None:
    state = "def f(g):\n    return g.gi_running, g.gi_yieldfrom\n"
    assert screen_source(state, "x.py", policy("17")) == []
    assert screen_source(state, "x.py", policy("02")) != []
    frame = "def f(g):\n    return g.gi_frame\n"
    assert [f.line for f in screen_source(frame, "x.py", policy("17"))] == [2]


def test_declaring_a_stand_ins_name_does_not_unlock_it() -> None:
    """Reads are allowed for the student's own attribute names, except those the suite's
    fakes keep their records in: a decoy class declaring them gains nothing."""
    source = ("class Decoy:\n"
              "    def __init__(self):\n"
              "        self.sent = self.io = None\n"
              "async def worker(jobs):\n"
              "    conn = open_connection()\n"
              "    conn.sent.extend(jobs)\n"
              "    await conn.send(jobs[0])\n")
    assert [f.line for f in screen_source(source, "x.py", policy("07"))] == [6]


# -- the function itself ------------------------------------------------------------------


def test_syntax_errors_are_left_to_the_grading() -> None:
    assert screen_source("def broken(:\n    import gc\n", "x.py") == []
    assert screen_source(b"x = '\xff'\n", "x.py") == []  # not UTF-8: the grading says so


def test_bytes_are_decoded_as_import_decodes_them() -> None:
    latin = "# -*- coding: latin-1 -*-\nname = 'café'\nimport gc\n".encode("latin-1")
    assert [(f.line, f.construct) for f in screen_source(latin, "x.py")] == [(3, "import gc")]


def test_the_source_is_never_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    source = "import os\nos.mkdir('ran')\nopen('ran.txt', 'w')\nraise SystemExit(3)\n"
    # os is allowed for a few harmless names (cpu_count, getpid): os.mkdir is not one
    assert [f.line for f in screen_source(source, "x.py")] == [2, 3]
    assert list(tmp_path.iterdir()) == []


def test_code_too_deep_to_read_is_refused_not_passed() -> None:
    deep = "x = " + "a." * 5000 + "b\n"
    [finding] = screen_source(deep, "x.py")
    assert finding.line == 1 and "too deeply" in finding.why


def test_findings_are_frozen_and_count_columns_from_one() -> None:
    [finding] = screen_source("x = 1\n  # note\ny = eval('2')\n", "x.py")
    assert finding == Finding(3, 5, "eval", finding.why)
    with pytest.raises(AttributeError):
        finding.line = 1  # type: ignore[misc]


def test_the_grader_loop_extras_are_read_from_its_source() -> None:
    names = _grader_loop_names()
    assert {"violations", "advance", "cpu_budget"} <= names
    assert not names & {"time", "call_soon", "run_in_executor", "create_task"}


FORGING_ATTACKS = [
    "blocks_the_timeout_signal", "fakes_time", "forges_result_channel", "fork_bomb",
    "leaves_threads_and_processes", "os_exit_at_import", "patches_grader", "patches_pytest",
    "plants_pth", "reads_environment", "tampers_with_tests",
    "writes_outside", "gc_rewinds_clock", "rewinds_the_clock", "swaps_code_objects",
    "reads_hidden_suite_from_memory", "restores_patches_while_watched",
]


@pytest.mark.parametrize("attack", [a for a in FORGING_ATTACKS
                                    if (FIXTURES / "attacks" / f"{a}.py").is_file()])
def test_the_attack_corpus_is_flagged(attack: str) -> None:
    path = FIXTURES / "attacks" / f"{attack}.py"
    assert screen_source(path.read_bytes(), str(path)) != []
