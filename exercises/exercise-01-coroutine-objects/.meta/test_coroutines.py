"""Hidden checks for exercise 01 (coroutine functions versus coroutine objects).

The listeners and jobs handed to the student's code are instrumented: each notes in a
dict when its body actually runs, so "called but never awaited" shows up as a body that
never ran, next to the "never awaited" warning the simulation collects.

Each test runs the student's code and ends with ``return judged(judge_<check>, ...)``:
what crosses is plain (kind_of's answers, the listeners' inboxes, how often each job's
body ran, the results with coroutine objects as the text of their repr), and only the
judges' conditions earn points.
"""

import asyncio
import inspect
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from grader.suite import (
    Repr,
    Simulation,
    expect_equal,
    expect_no_pending_tasks,
    fail,
    judged,
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


async def ticks():
    yield 1


class Ticket:
    """Awaitable (it has __await__) without being a coroutine."""

    def __await__(self):
        return (yield from asyncio.sleep(0).__await__())


# What kind_of may be asked to name in messages: only constructs the student wrote.
KIND_TESTS = ("isfunction", "isasyncgenfunction", "iscoroutinefunction", "isawaitable",
              "Awaitable")


KIND_NEXT_STEP = (
    "Test the specific kinds first (inspect.iscoroutinefunction, inspect.iscoroutine, "
    "inspect.isgeneratorfunction, inspect.isgenerator), then callable(), and answer "
    "'value' for the rest."
)


def kind_misconception(expected: str, actual: object, uses: dict[str, bool]) -> str:
    if expected == "function" and actual == "value":
        test = ("inspect.isfunction says yes only to functions written with `def` or "
                "`lambda`, so " if uses.get("isfunction") else "")
        return (f"Built-ins such as len are callable without being `def` functions: {test}"
                "callable() is the test that covers everything you can call.")
    if expected == "value" and actual == "coroutine":
        written = [f"`{name}`" for name in ("isawaitable", "Awaitable") if uses.get(name)]
        test = (f"{' and '.join(written)} says yes to it, but " if written else "")
        return ("An object with an __await__ method can be awaited, yet it is not a "
                f"coroutine: {test}only inspect.iscoroutine answers the question 'is this a "
                "coroutine object?'.")
    if expected == "function" and actual in ("coroutine function", "generator function"):
        return ("An `async def` whose body contains `yield` is an async generator function: "
                "calling it gives an async generator, which cannot be awaited and is not a "
                "generator either, so it is neither a coroutine function nor a generator "
                "function (inspect.iscoroutinefunction and inspect.isgeneratorfunction both "
                "say no to it). The README counts it as 'function'.")
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


def expect_kind(actual: object, case: tuple[str, str, str], uses: dict[str, bool]) -> None:
    """case: (how the call is shown, what the object is, the expected answer)."""
    shown, described, expected = case
    if actual != expected:
        where = f", where {described}" if described else ""
        fail(
            f"Called `kind_of({shown})`{where}; it returned {actual!r}, but "
            f"{expected!r} was expected.",
            misconception=kind_misconception(expected, actual, uses),
            next_step=KIND_NEXT_STEP,
        )


def ask_kinds(student, objects: list[object], cases: list[tuple[str, str, str]]) -> list:
    """kind_of's answer for each object, failing here at the first wrong one."""
    answers = []
    uses = student.uses(*KIND_TESTS)
    for obj, case in zip(objects, cases, strict=True):
        answers.append(student.kind_of(obj))
        expect_kind(answers[-1], case, uses)
    return answers


def expect_kinds(answers: list, cases: list[tuple[str, str, str]],
                 uses: dict[str, bool]) -> None:
    for actual, case in zip(answers, cases, strict=True):
        expect_kind(actual, case, uses)


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


def run_student(sim: Simulation, awaitable, *, what: str,
                uses: dict[str, bool] | None = None) -> Any:
    """sim.run, explaining the crashes this exercise provokes: a nested asyncio.run, and
    a plain value handed to gather/create_task/ensure_future (``uses``: which of those
    the student wrote, so the message names only what is in their file)."""
    try:
        return sim.run(awaitable, what=what)
    except TypeError as exc:
        wrappers = [name for name in WRAPPERS if (uses or {}).get(name)]
        if not wrappers:
            raise
        written = " / ".join(f"asyncio.{name}" for name in wrappers)
        fail(
            f"`{what}` raised TypeError: {str(exc)[:120]}. Your code hands what the calls "
            f"returned to {written}, and some of those are plain values (a True, a 42) "
            "returned by ordinary functions.",
            misconception=f"{written} only accepts awaitables (coroutines, tasks, futures). "
            "What an ordinary function returns is already its result: there is nothing "
            "left to wait for.",
            next_step="Pass on only what inspect.isawaitable says yes to, and keep every "
            "other value as it is, in its own slot.",
        )
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


WRAPPERS = ("gather", "create_task", "ensure_future", "wait", "as_completed")


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
    if isinstance(values, asyncio.Task):
        return f"<Task {getattr(values.get_coro(), '__qualname__', 'task')}()>"
    if asyncio.isfuture(values):
        return "<Future>"
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
            elif asyncio.isfuture(value):
                value.cancel()


# -- Task 1 ----------------------------------------------------------------------------------

COROUTINE_KINDS = [  # (how the call is shown, what the object is, the expected answer)
    ("download", "`download` is an `async def` function", "coroutine function"),
    ("Client().fetch", "`fetch` is an `async def` method", "coroutine function"),
    ("download()", "`download()` is what calling that function returned", "coroutine"),
]
OTHER_KINDS = [
    ("numbers", "`numbers` is a `def` whose body contains `yield`", "generator function"),
    ("numbers()", "`numbers()` is what calling that function returned", "generator"),
    ("(n for n in range(3))", "", "generator"),
    ("greet", "`greet` is a plain `def` returning 'hi'", "function"),
    ("ticks", "`ticks` is an `async def` whose body contains `yield` (an async generator "
     "function)", "function"),
    ("lambda text: text", "", "function"),
    ("len", "", "function"),
    ("42", "", "value"),
    ("'hi'", "", "value"),
    ("[1, 2]", "", "value"),
    ("ticks()", "`ticks()` is the async generator that calling `ticks` returned", "value"),
    ("Ticket()", "`Ticket` is a class with an `__await__` method: awaitable, not a "
     "coroutine", "value"),
]


@pytest.mark.task(1)
def test_tells_coroutine_functions_from_coroutines(student):
    coroutine = download()
    try:
        answers = ask_kinds(student, [download, Client().fetch, coroutine], COROUTINE_KINDS)
    finally:
        coroutine.close()
    return judged(judge_tells_coroutine_functions_from_coroutines, answers=answers,
                  uses=student.uses(*KIND_TESTS))


def judge_tells_coroutine_functions_from_coroutines(seen):
    expect_kinds(seen["answers"], COROUTINE_KINDS, seen["uses"])


@pytest.mark.task(1)
def test_tells_generators_callables_and_values_apart(student):
    objects = [numbers, numbers(), (n for n in range(3)), greet, ticks, lambda text: text,
               len, 42, "hi", [1, 2], ticks(), Ticket()]
    answers = ask_kinds(student, objects, OTHER_KINDS)
    return judged(judge_tells_generators_callables_and_values_apart, answers=answers,
                  uses=student.uses(*KIND_TESTS))


def judge_tells_generators_callables_and_values_apart(seen):
    expect_kinds(seen["answers"], OTHER_KINDS, seen["uses"])


NEVER_CALL = dict(
    misconception="Calling something to find out what it is runs it: a plain function does "
    "its work (here an email goes out), and an `async def` hands you a coroutine that is "
    "then thrown away without being awaited. The inspect functions look at the object "
    "without calling it.",
    next_step="Decide from the object itself (inspect.iscoroutinefunction and friends, "
    "callable()), never by calling it.",
)


@pytest.mark.task(1)
def test_never_calls_what_it_inspects(student, sim):
    calls: list[str] = []

    def send_email():
        calls.append("send_email")
        return "sent"

    async def charge_card():
        calls.append("charge_card")

    named(charge_card, "charge_card")
    for obj in (send_email, charge_card):
        student.kind_of(obj)
        expect_nothing_called(calls)
    return judged(judge_never_calls_what_it_inspects, calls=list(calls), sim=sim)


def expect_nothing_called(calls: list[str]) -> None:
    if calls:
        fail(
            "`kind_of(send_email)` called send_email, so its body ran and the email "
            "went out.", **NEVER_CALL,
        )


def judge_never_calls_what_it_inspects(seen):
    expect_nothing_called(seen["calls"])
    dropped = seen["sim"].never_awaited()
    if dropped:
        fail(
            "`kind_of(charge_card)` called the `async def` function charge_card to see what "
            "came back, then dropped the coroutine it got without awaiting it (Python "
            f"warned: coroutine '{dropped[0].name}' was never awaited).", **NEVER_CALL,
        )


# -- Task 2 -------------------------------------------------------------------------------

MESSAGE = "server restarted"
# (name, is it `async def`, does it accept the message)
ALERTED = [("write_log", False, True), ("send_push", True, True), ("send_sms", True, False),
           ("audit", False, False)]
COUNTED = [("write_log", False, True), ("audit", False, False), ("send_push", True, True),
           ("send_sms", True, False), ("send_fax", True, False)]


def notify_call(listeners: list[tuple[str, bool, bool]]) -> str:
    return f"notify_all([{', '.join(name for name, _, _ in listeners)}], {MESSAGE!r})"


def make_listeners(listeners: list[tuple[str, bool, bool]],
                   inbox: dict[str, list]) -> list[Callable]:
    return [listener(name, is_async=is_async, accepts=accepts, inbox=inbox)
            for name, is_async, accepts in listeners]


@pytest.mark.task(2)
def test_async_listeners_really_run(student, sim):
    inbox: dict[str, list] = {}
    listeners = make_listeners(ALERTED, inbox)
    run_student(sim, student.notify_all(listeners, MESSAGE), what=notify_call(ALERTED),
                uses=student.uses(*WRAPPERS))
    return judged(judge_async_listeners_really_run, sim=sim, inbox=inbox)


def judge_async_listeners_really_run(seen):
    call = notify_call(ALERTED)
    expect_every_coroutine_awaited(seen["sim"], what=call, call_site="`listener(message)`")
    expect_no_pending_tasks(seen["sim"], what=call)
    for name, _, _ in ALERTED:
        received = seen["inbox"][name]
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
    listeners = make_listeners(COUNTED, inbox)
    accepted = run_student(sim, student.notify_all(listeners, MESSAGE),
                           what=notify_call(COUNTED), uses=student.uses(*WRAPPERS))
    return judged(judge_counts_accepted_replies, accepted=accepted, sim=sim, inbox=inbox)


def judge_counts_accepted_replies(seen):
    accepted = seen["accepted"]
    if accepted == 2 and type(accepted) is int:
        # A count of the replies: the listeners that said yes replied, so they ran.
        expect_bodies_ran([n for n, _, accepts in COUNTED if accepts and not seen["inbox"][n]],
                          call=notify_call(COUNTED))
        return
    said = (f"`{notify_call(COUNTED)}` returned {accepted!r}, but only 2 of the 5 listeners "
            "accepted")
    if seen["sim"].never_awaited():
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


def is_coroutine(value: object) -> bool:
    """A coroutine object: live in the child, the text of its repr in the parent."""
    return inspect.iscoroutine(value) or (
        isinstance(value, Repr) and value.type_name == "coroutine")


def expect_no_coroutines(results: object, shown: str, *, call: str, names: list[str],
                         extra: str = "", misconception: str, next_step: str) -> None:
    """shown: the results as `show` printed them in the child."""
    if not isinstance(results, list):
        return
    slots = [i for i, r in enumerate(results) if is_coroutine(r)]
    if not slots:
        return
    i = slots[0]
    fail(
        f"`{call}` returned {shown!s:.200}: slot {i} holds a coroutine object instead of "
        f"what `{names[i]}` produces.{extra} That coroutine was never awaited, so its body "
        "never ran.",
        misconception=misconception,
        next_step=next_step,
    )


def expect_bodies_ran(never_ran: list[str], *, call: str) -> None:
    """Right values come from the bodies: one that never ran means they were not its."""
    if never_ran:
        fail(
            f"`{call}` gave the expected answer, yet the body of `{never_ran[0]}` never ran.",
            **NOT_AWAITED,
        )


def finished(results: object) -> dict[str, Any]:
    """The results and how they print, with any coroutine in them closed (no warning)."""
    shown = show(results)
    close_coroutines(results)
    return {"results": results, "shown": shown}


NOT_AWAITED = dict(
    misconception="Calling an `async def` function only builds a coroutine object; the "
    "value you want is what `await` gives back once the body has run.",
    next_step="When calling a job gives you something awaitable, `await` it and store the "
    "value that comes back.",
)
# (name, its result, is it `async def`)
VALUE_JOBS = [("read_config", {"debug": True}, False), ("fetch_user", "ada", True),
              ("add", 42, False), ("fetch_score", 97, True)]
COUNTED_JOBS = [("backup", "done", False), ("upload", "uploaded", True),
                ("resize", (640, 480), False), ("notify", True, True)]


def make_jobs(jobs: list[tuple[str, Any, bool]], runs: dict[str, int]) -> list[Callable]:
    return [job(name, result, is_async=is_async, runs=runs) for name, result, is_async in jobs]


def run_all_call(jobs: list[tuple[str, Any, bool]]) -> str:
    return f"run_all([{', '.join(name for name, _, _ in jobs)}])"


@pytest.mark.task(3)
def test_results_are_values_not_coroutines(student, sim):
    runs: dict[str, int] = {}
    jobs = make_jobs(VALUE_JOBS, runs)
    results = run_student(sim, student.run_all(jobs), what=run_all_call(VALUE_JOBS),
                          uses=student.uses(*WRAPPERS))
    return judged(judge_results_are_values_not_coroutines, **finished(results), runs=runs)


def judge_results_are_values_not_coroutines(seen):
    call = run_all_call(VALUE_JOBS)
    expect_no_coroutines(seen["results"], seen["shown"], call=call,
                         names=[name for name, _, _ in VALUE_JOBS], **NOT_AWAITED)
    expect_equal(
        seen["results"], [result for _, result, _ in VALUE_JOBS], call=call,
        misconception="run_all returns one result per job, in the order of the jobs.",
        next_step="Append each job's (awaited) result to a list as you go and return it.",
    )
    expect_bodies_ran([name for name, _, _ in VALUE_JOBS if not seen["runs"][name]], call=call)


@pytest.mark.task(3)
def test_each_job_runs_exactly_once(student, sim):
    runs: dict[str, int] = {}
    jobs = make_jobs(COUNTED_JOBS, runs)
    outcome = student.run_all(jobs)
    run_student(sim, discard(outcome) if inspect.isawaitable(outcome) else outcome,
                what=run_all_call(COUNTED_JOBS), uses=student.uses(*WRAPPERS))
    return judged(judge_each_job_runs_exactly_once, runs=dict(runs), sim=sim)


def judge_each_job_runs_exactly_once(seen):
    call = run_all_call(COUNTED_JOBS)
    for name, _, _ in COUNTED_JOBS:
        count = seen["runs"][name]
        if count == 0:
            fail(
                f"`{call}` never ran the body of `{name}`: it called the job, but the "
                "coroutine that came back was never awaited.",
                misconception="Calling an `async def` function only creates a coroutine "
                "object; its body runs when that coroutine is awaited, not when the "
                "function is called.",
                next_step="`await` what the call returned whenever it is awaitable.",
            )
        if count != 1:
            fail(
                f"`{call}` ran the job `{name}` {count} times; each job must run exactly once.",
                misconception="Calling a job just to see what it returns already runs it "
                "(or, for an `async def`, creates a coroutine you then drop); calling it "
                "again for the result runs it a second time.",
                next_step="Call each job once, keep what the call returned, and decide "
                "from that value whether to await it.",
            )
    expect_every_coroutine_awaited(seen["sim"], what=call, call_site="`job()`")


LAMBDAS = "run_all([lambda: lookup('grace'), lambda: 7])"


@pytest.mark.task(3)
def test_lambda_returning_a_coroutine(student, sim):
    runs = {"lookup": 0}

    async def lookup(name):
        await asyncio.sleep(0.1)
        runs["lookup"] += 1
        return f"user {name}"

    named(lookup, "lookup")
    jobs = [lambda: lookup("grace"), lambda: 7]
    results = run_student(sim, student.run_all(jobs), what=LAMBDAS,
                          uses=student.uses(*WRAPPERS))
    return judged(judge_lambda_returning_a_coroutine, **finished(results), runs=runs)


def judge_lambda_returning_a_coroutine(seen):
    expect_no_coroutines(
        seen["results"], seen["shown"], call=LAMBDAS,
        names=["lambda: lookup('grace')", "lambda: 7"],
        extra=" That job is a plain lambda, not an `async def`, yet calling it returns "
        "the coroutine lookup('grace').",
        misconception="Whether to await depends on what the call returned, not on how "
        "the job was defined: a lambda or any plain function can return a coroutine.",
        next_step="Call the job first, then test the result with inspect.isawaitable and "
        "await it if so.",
    )
    expect_equal(
        seen["results"], ["user grace", 7], call=LAMBDAS,
        misconception="Each job's result is what its call returned, awaited if it was "
        "awaitable.",
        next_step="Await the value a job's call returned when it is awaitable.",
    )
    expect_bodies_ran(["lookup"] if not seen["runs"]["lookup"] else [], call=LAMBDAS)



AWAITABLES = ("run_all([lambda: asyncio.ensure_future(lookup('lin')), parcel, lambda: 5, "
              "lambda: lookup('ada')])")
AWAITABLE_NAMES = ["lambda: asyncio.ensure_future(lookup('lin'))", "parcel", "lambda: 5",
                   "lambda: lookup('ada')"]
AWAITABLE_RESULTS = ["user lin", "delivered", 5, "user ada"]
# The tests that recognise coroutines only; a message names those the student wrote.
COROUTINE_TESTS = ("iscoroutine", "iscoroutinefunction", "CoroutineType", "Coroutine")


def awaitable_kind(value: object) -> str | None:
    """Which awaitable a result slot holds (decided in the child, where it is live)."""
    if inspect.iscoroutine(value):
        return "coroutine"
    if isinstance(value, asyncio.Task):
        return "Task"
    if asyncio.isfuture(value):
        return "Future"
    return None


@pytest.mark.task(3)
def test_awaits_tasks_and_futures(student, sim):
    runs = {"lookup": 0, "parcel": 0}

    async def lookup(name):
        await asyncio.sleep(0.1)
        runs["lookup"] += 1
        return f"user {name}"

    def parcel():
        """A plain function handing back a Future that a courier fills in 0.2 s later."""
        runs["parcel"] += 1
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        loop.call_later(0.2, lambda: future.done() or future.set_result("delivered"))
        return future

    named(lookup, "lookup")
    jobs = [lambda: asyncio.ensure_future(lookup("lin")), parcel, lambda: 5,
            lambda: lookup("ada")]
    results = run_student(sim, student.run_all(jobs), what=AWAITABLES,
                          uses=student.uses(*WRAPPERS))
    kinds = [awaitable_kind(r) for r in results] if isinstance(results, list) else []
    shown = finished(results)
    if isinstance(results, list):
        shown["results"] = [show(r) if kind else r for r, kind in zip(results, kinds,
                                                                        strict=True)]
    return judged(judge_awaits_tasks_and_futures, **shown, kinds=kinds, runs=dict(runs),
                  uses=student.uses(*COROUTINE_TESTS))


def judge_awaits_tasks_and_futures(seen):
    kinds = seen["kinds"]
    left = [(i, kind) for i, kind in enumerate(kinds) if kind in ("Task", "Future")]
    if left:
        slots = " and ".join(f"slot {i} an asyncio {kind}" for i, kind in left)
        said = (f"`{AWAITABLES}` returned {seen['shown']!s:.200}: {slots} instead of what "
                f"{'their jobs' if len(left) > 1 else 'its job'} produced.")
        if "coroutine" in kinds:
            fail(
                f"{said} These awaitables came from plain lambdas and a plain function, and "
                "each was never awaited, so their results never reached the list.",
                **NOT_AWAITED,
            )
        written = [name for name in COROUTINE_TESTS if seen["uses"][name]]
        tests = (f" Your file tests with {' / '.join(f'`{n}`' for n in written)}: none of "
                 "those says yes to a Task or a Future (iscoroutinefunction looks at how the "
                 "job was defined, and these are a plain lambda and a plain function; the "
                 "others recognise coroutine objects only)." if written else "")
        fail(
            f"{said} Your code awaited the coroutine in slot 3, but a Task or a Future is "
            f"awaitable without being a coroutine, and yours was never awaited.{tests}",
            misconception="Coroutines are only one kind of awaitable: tasks, futures and any "
            "object with an __await__ method can be awaited too, and awaiting them gives "
            "their result.",
            next_step="Decide with inspect.isawaitable (which says yes to all of them) "
            "whether to await what a call returned.",
        )
    expect_no_coroutines(seen["results"], seen["shown"], call=AWAITABLES,
                         names=AWAITABLE_NAMES, **NOT_AWAITED)
    expect_equal(
        seen["results"], AWAITABLE_RESULTS, call=AWAITABLES,
        misconception="Awaiting a task or a future gives the value it finishes with, just "
        "as awaiting a coroutine gives what its body returns.",
        next_step="Await whatever the job's call returned when it is awaitable, and store "
        "the value that comes back.",
    )
    runs = seen["runs"]
    if runs != {"lookup": 2, "parcel": 1}:
        fail(
            f"`{AWAITABLES}` ran parcel {runs['parcel']} times and lookup {runs['lookup']} "
            "times (two of the jobs call it once each); each job must run exactly once.",
            misconception="A job is called once; what it returned (awaited if awaitable) is "
            "its result. Calling it again to get the result runs it again.",
            next_step="Call each job once and keep what the call returned.",
        )
