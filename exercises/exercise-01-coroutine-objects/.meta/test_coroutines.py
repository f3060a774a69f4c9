"""Hidden checks for exercise 01 (coroutine functions versus coroutine objects).

The listeners and jobs handed to the student's code are instrumented: each notes in a
dict when its body actually runs, so "called but never awaited" shows up as a body that
never ran, next to the "never awaited" warning the simulation collects.
"""

import asyncio
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.suite import (
    Simulation,
    expect_equal,
    expect_no_pending_tasks,
    fail,
)

# -- samples for kind_of ---------------------------------------------------------------


async def download():
    return "file"


class Client:
    async def fetch(self):
        return "page"


def numbers():
    yield 1
    yield 2


def greet():
    return "hi"


KIND_NEXT_STEP = (
    "Test the specific kinds first (inspect.iscoroutinefunction, inspect.iscoroutine, "
    "inspect.isgeneratorfunction, inspect.isgenerator), then callable(), and answer "
    "'value' for the rest."
)


def kind_misconception(expected: str, actual: object) -> str:
    if actual == "function" and expected in ("coroutine function", "generator function"):
        which = "An `async def` function" if expected == "coroutine function" else (
            "A generator function")
        return (f"{which} is still a function: inspect.isfunction and callable() both say "
                "yes to it, so the general test has to come after the specific ones.")
    if {expected, actual} == {"coroutine function", "coroutine"}:
        return ("The `async def` function and the coroutine it returns are different "
                "objects: calling the function builds a coroutine object, and only that "
                "object can be awaited.")
    if {expected, actual} == {"generator function", "generator"}:
        return ("A generator function is the recipe; calling it gives a generator object, "
                "which is what next() and for loops work with.")
    return ("Each kind has its own test in the inspect module; only what none of them "
            "recognises is a 'function' (if callable) or a 'value'.")


def expect_kinds(student, cases: list[tuple[object, str, str, str]]) -> None:
    """cases: (object, how the call is shown, what the object is, the expected answer)."""
    for obj, shown, described, expected in cases:
        actual = student.kind_of(obj)
        if actual != expected:
            where = f", where {described}" if described else ""
            fail(
                f"Called `kind_of({shown})`{where}; it returned {actual!r}, but "
                f"{expected!r} was expected.",
                misconception=kind_misconception(expected, actual),
                next_step=KIND_NEXT_STEP,
            )


# -- instrumented listeners and jobs ------------------------------------------------------


def named(func: Callable, name: str) -> Callable:
    """Give a local function a clean name, so warnings and messages say `send_sms`."""
    func.__name__ = func.__qualname__ = name
    return func


def listener(name: str, *, is_async: bool, accepts: bool, inbox: dict[str, list]) -> Callable:
    inbox[name] = []
    if is_async:
        async def receive(message):
            await asyncio.sleep(0.1)  # a pretend network call before the message lands
            inbox[name].append(message)
            return accepts
    else:
        def receive(message):
            inbox[name].append(message)
            return accepts
    return named(receive, name)


def job(name: str, result: Any, *, is_async: bool, runs: dict[str, int]) -> Callable:
    runs[name] = 0
    if is_async:
        async def work():
            await asyncio.sleep(0.1)
            runs[name] += 1
            return result
    else:
        def work():
            runs[name] += 1
            return result
    return named(work, name)


def run_student(sim: Simulation, awaitable, *, what: str) -> Any:
    """sim.run, explaining the one crash this exercise provokes: a nested asyncio.run."""
    try:
        return sim.run(awaitable, what=what)
    except RuntimeError as exc:
        if "asyncio.run() cannot be called" not in str(exc):
            raise
        fail(
            f"`{what}` called asyncio.run(...) while an event loop was already running it, "
            "and Python refused with: RuntimeError: asyncio.run() cannot be called from a "
            "running event loop.",
            misconception="asyncio.run starts a brand-new event loop; it belongs at the top "
            "of a program, in plain synchronous code. Inside an `async def` a loop is "
            "already running, and `await` is how you run a coroutine there.",
            next_step="Replace `asyncio.run(x)` with `await x`.",
        )


def expect_every_coroutine_awaited(sim: Simulation, *, what: str, call_site: str) -> None:
    """Like grader.suite.expect_all_awaited, with the origin shortened to 'file.py:25 in f'.

    (expect_all_awaited prints the whole 'File "/abs/path/file.py", line 25, in f' line.)
    """
    dropped = sim.never_awaited()
    if not dropped:
        return
    first = dropped[0]
    where = ""
    found = re.search(r'File "([^"]+)", line (\d+), in (\S+)', first.where)
    if found:
        where = f" at {Path(found[1]).name}:{found[2]} in {found[3]}"
    fail(
        f"`{what}` called `{first.name}`{where} but never awaited the coroutine it returned, "
        f"so {first.name}'s body never ran.",
        misconception="Calling an `async def` function only builds a coroutine object; "
        "nothing inside it runs until it is awaited (or wrapped in a task).",
        next_step=f"Keep what {call_site} returned and `await` it when it is awaitable.",
    )


def show(values: object) -> str:
    """repr() of a result, with coroutine objects shown as <coroutine name()>."""
    if isinstance(values, list):
        return "[" + ", ".join(show(v) for v in values) + "]"
    if inspect.iscoroutine(values):
        return f"<coroutine object {values.__qualname__}()>"
    return repr(values)


async def discard(awaitable) -> None:
    """Await the student's coroutine and drop its result, so un-awaited coroutines it
    returned are garbage-collected (and reported) before the check inspects warnings."""
    await awaitable


def close_coroutines(values: object) -> None:
    """Close coroutine objects a wrong solution returned, so they don't warn later."""
    if isinstance(values, list):
        for value in values:
            if inspect.iscoroutine(value):
                value.close()


# -- Task 1 -------------------------------------------------------------------------------


@pytest.mark.task(1)
def test_tells_coroutine_functions_from_coroutines(student):
    coroutine = download()
    try:
        expect_kinds(student, [
            (download, "download", "`download` is an `async def` function",
             "coroutine function"),
            (Client().fetch, "Client().fetch", "`fetch` is an `async def` method",
             "coroutine function"),
            (coroutine, "download()", "`download()` is what calling that function returned",
             "coroutine"),
        ])
    finally:
        coroutine.close()


@pytest.mark.task(1)
def test_tells_generators_callables_and_values_apart(student):
    expect_kinds(student, [
        (numbers, "numbers", "`numbers` is a `def` whose body contains `yield`",
         "generator function"),
        (numbers(), "numbers()", "`numbers()` is what calling that function returned",
         "generator"),
        ((n for n in range(3)), "(n for n in range(3))", "", "generator"),
        (greet, "greet", "`greet` is a plain `def` returning 'hi'", "function"),
        (lambda text: text, "lambda text: text", "", "function"),
        (len, "len", "", "function"),
        (42, "42", "", "value"),
        ("hi", "'hi'", "", "value"),
        ([1, 2], "[1, 2]", "", "value"),
    ])


@pytest.mark.task(1)
def test_never_calls_what_it_inspects(student, sim):
    calls: list[str] = []

    def send_email():
        calls.append("send_email")
        return "sent"

    async def charge_card():
        calls.append("charge_card")

    named(charge_card, "charge_card")
    misconception = (
        "Calling something to find out what it is runs it: a plain function does its "
        "work (here an email goes out), and an `async def` hands you a coroutine that is "
        "then thrown away without being awaited. The inspect functions look at the "
        "object without calling it."
    )
    next_step = ("Decide from the object itself (inspect.iscoroutinefunction and friends, "
                 "callable()), never by calling it.")
    for obj in (send_email, charge_card):
        student.kind_of(obj)
        if calls:
            fail(
                "`kind_of(send_email)` called send_email, so its body ran and the email "
                "went out.",
                misconception=misconception, next_step=next_step,
            )
    dropped = sim.never_awaited()
    if dropped:
        fail(
            "`kind_of(charge_card)` called the `async def` function charge_card to see what "
            "came back, then dropped the coroutine it got without awaiting it (Python "
            f"warned: coroutine '{dropped[0].name}' was never awaited).",
            misconception=misconception, next_step=next_step,
        )


# -- Task 2 -------------------------------------------------------------------------------

MESSAGE = "server restarted"


@pytest.mark.task(2)
def test_async_listeners_really_run(student, sim):
    inbox: dict[str, list] = {}
    listeners = [
        listener("write_log", is_async=False, accepts=True, inbox=inbox),
        listener("send_push", is_async=True, accepts=True, inbox=inbox),
        listener("send_sms", is_async=True, accepts=False, inbox=inbox),
        listener("audit", is_async=False, accepts=False, inbox=inbox),
    ]
    call = f"notify_all([write_log, send_push, send_sms, audit], {MESSAGE!r})"
    run_student(sim, student.notify_all(listeners, MESSAGE), what=call)
    expect_every_coroutine_awaited(sim, what=call, call_site="`listener(message)`")
    expect_no_pending_tasks(sim, what=call)
    for name, received in inbox.items():
        if received != [MESSAGE]:
            fail(
                f"After `{call}` returned, the listener `{name}` had received "
                f"{len(received)} message(s) instead of exactly one.",
                misconception="Every listener is called once, and an `async def` "
                "listener's body only runs (and receives the message) once the coroutine "
                "its call returned has been awaited to the end.",
                next_step="Call each listener once and await its reply when the reply is "
                "awaitable, before returning.",
            )


@pytest.mark.task(2)
def test_counts_accepted_replies(student, sim):
    inbox: dict[str, list] = {}
    listeners = [
        listener("write_log", is_async=False, accepts=True, inbox=inbox),
        listener("audit", is_async=False, accepts=False, inbox=inbox),
        listener("send_push", is_async=True, accepts=True, inbox=inbox),
        listener("send_sms", is_async=True, accepts=False, inbox=inbox),
        listener("send_fax", is_async=True, accepts=False, inbox=inbox),
    ]
    call = f"notify_all([write_log, audit, send_push, send_sms, send_fax], {MESSAGE!r})"
    accepted = run_student(sim, student.notify_all(listeners, MESSAGE), what=call)
    if accepted == 2 and type(accepted) is int:
        return
    said = f"`{call}` returned {accepted!r}, but only 2 of the 5 listeners accepted"
    if sim.never_awaited():
        fail(
            f"{said}. The async listeners' coroutines were never awaited, so their bodies "
            "never ran and their replies never existed.",
            misconception="A coroutine object is always true in an `if`, whatever its body "
            "would return: it is an unstarted call, not the reply.",
            next_step="Await what an async listener's call returned; the reply is the value "
            "the `await` gives back.",
        )
    if accepted == 4:
        fail(
            f"{said}: write_log and send_push said True, the other three said False. Your "
            "count matches counting every coroutine object as a yes.",
            misconception="A coroutine object is not the value its body returns, even once "
            "it has been awaited: the reply is what `await` hands back, while the object "
            "itself is always true in an `if`.",
            next_step="Keep the value of `await ...` and count that.",
        )
    fail(
        f"{said}: write_log and send_push replied True; audit, send_sms and send_fax "
        "replied False.",
        misconception="notify_all counts the listeners whose reply was True, not the "
        "listeners it called.",
        next_step="Add one to the count only when a listener's (awaited) reply is True.",
    )


# -- Task 3 -------------------------------------------------------------------------------


def expect_no_coroutines(results: object, *, call: str, names: list[str], extra: str = "",
                         misconception: str, next_step: str) -> None:
    if not isinstance(results, list):
        return
    slots = [i for i, r in enumerate(results) if inspect.iscoroutine(r)]
    if not slots:
        return
    shown = show(results)
    close_coroutines(results)
    i = slots[0]
    fail(
        f"`{call}` returned {shown:.200}: slot {i} holds a coroutine object instead of "
        f"what `{names[i]}` produces.{extra} That coroutine was never awaited, so its body "
        "never ran.",
        misconception=misconception,
        next_step=next_step,
    )


NOT_AWAITED = dict(
    misconception="Calling an `async def` function only builds a coroutine object; the "
    "value you want is what `await` gives back once the body has run.",
    next_step="When calling a job gives you something awaitable, `await` it and store the "
    "value that comes back.",
)


@pytest.mark.task(3)
def test_results_are_values_not_coroutines(student, sim):
    runs: dict[str, int] = {}
    jobs = [
        job("read_config", {"debug": True}, is_async=False, runs=runs),
        job("fetch_user", "ada", is_async=True, runs=runs),
        job("add", 42, is_async=False, runs=runs),
        job("fetch_score", 97, is_async=True, runs=runs),
    ]
    call = "run_all([read_config, fetch_user, add, fetch_score])"
    results = run_student(sim, student.run_all(jobs), what=call)
    expect_no_coroutines(results, call=call, names=list(runs), **NOT_AWAITED)
    expect_equal(
        results, [{"debug": True}, "ada", 42, 97], call=call,
        misconception="run_all returns one result per job, in the order of the jobs.",
        next_step="Append each job's (awaited) result to a list as you go and return it.",
    )


@pytest.mark.task(3)
def test_each_job_runs_exactly_once(student, sim):
    runs: dict[str, int] = {}
    jobs = [
        job("backup", "done", is_async=False, runs=runs),
        job("upload", "uploaded", is_async=True, runs=runs),
        job("resize", (640, 480), is_async=False, runs=runs),
        job("notify", True, is_async=True, runs=runs),
    ]
    call = "run_all([backup, upload, resize, notify])"
    outcome = student.run_all(jobs)
    run_student(sim, discard(outcome) if inspect.isawaitable(outcome) else outcome, what=call)
    for name, count in runs.items():
        if count == 0:
            fail(
                f"`{call}` never ran the body of `{name}`: it called the job, but the "
                "coroutine that came back was never awaited.",
                misconception="Calling an `async def` function only creates a coroutine "
                "object; its body runs when that coroutine is awaited, not when the "
                "function is called.",
                next_step="`await` what the call returned whenever it is awaitable.",
            )
        if count > 1:
            fail(
                f"`{call}` ran the job `{name}` {count} times; each job must run exactly once.",
                misconception="Calling a job just to see what it returns already runs it "
                "(or, for an `async def`, creates a coroutine you then drop); calling it "
                "again for the result runs it a second time.",
                next_step="Call each job once, keep what the call returned, and decide "
                "from that value whether to await it.",
            )
    expect_every_coroutine_awaited(sim, what=call, call_site="`job()`")


@pytest.mark.task(3)
def test_lambda_returning_a_coroutine(student, sim):
    async def lookup(name):
        await asyncio.sleep(0.1)
        return f"user {name}"

    named(lookup, "lookup")
    jobs = [lambda: lookup("grace"), lambda: 7]
    call = "run_all([lambda: lookup('grace'), lambda: 7])"
    results = run_student(sim, student.run_all(jobs), what=call)
    expect_no_coroutines(
        results, call=call, names=["lambda: lookup('grace')", "lambda: 7"],
        extra=" That job is a plain lambda, not an `async def`, yet calling it returns "
        "the coroutine lookup('grace').",
        misconception="Whether to await depends on what the call returned, not on how "
        "the job was defined: a lambda or any plain function can return a coroutine.",
        next_step="Call the job first, then test the result with inspect.isawaitable and "
        "await it if so.",
    )
    expect_equal(
        results, ["user grace", 7], call=call,
        misconception="Each job's result is what its call returned, awaited if it was "
        "awaitable.",
        next_step="Await the value a job's call returned when it is awaitable.",
    )
