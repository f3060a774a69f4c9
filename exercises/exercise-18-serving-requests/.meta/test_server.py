"""Hidden checks for exercise 18 (serving requests).

The async driver is a FakeIO operation; the blocking driver is a recording fake whose
``time.sleep`` is a violation on the loop's thread and a virtual sleep on a worker
thread. Every duration is simulated, and every query takes a slightly different time,
so no two events are due at the same instant.

RuntimeErrors about event loops (``asyncio.run`` inside a running loop, no loop to
schedule on) are caught and explained rather than shown as a bare traceback.
"""

import asyncio
import inspect
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from grader.suite import (
    FakeIO,
    Operation,
    describe_frame,
    describe_violation,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_pending_tasks,
    fail,
    loop_runs_here,
    student_frame,
)


def query_seconds(user_id: int) -> float:
    return 0.08 + 0.0004 * user_id  # 0.0804 s for user 1 ... 0.12 s for user 100


def row(user_id: int) -> dict:
    return {"id": user_id, "name": f"Member {user_id}"}


def response(user_id: int) -> dict:
    return {"status": 200, "body": f"Hello, Member {user_id}!"}


# -- loop errors, explained -----------------------------------------------------------

NESTED_RUN = dict(
    misconception="`asyncio.run()` is the entry point from synchronous code: it creates a "
    "new event loop, runs one coroutine on it to the end, and closes it. Inside a handler a "
    "loop is already running on this thread, and asyncio.run cannot be called from a "
    "running event loop: it would have to block that loop, and every request it serves, "
    "until the coroutine finished.",
)


def explain_loop_error(exc: BaseException, *, call: str, next_step: str) -> None:
    """Fail with an explanation if ``exc`` is one of asyncio's event-loop RuntimeErrors."""
    if not isinstance(exc, RuntimeError):
        return
    text = str(exc)
    if "cannot be called from a running event loop" in text:
        fail(f"`{call}` raised RuntimeError: {text}.", next_step=next_step, **NESTED_RUN)
    if "already running" in text:
        fail(
            f"`{call}` raised RuntimeError: {text}.",
            misconception="`run_until_complete` blocks until the coroutine is done, which "
            "is impossible on a loop that is busy running the very code that called it.",
            next_step=next_step,
        )
    if "no running event loop" in text:
        fail(
            f"`{call}` was called from plain synchronous code and raised RuntimeError: "
            f"{text}.",
            misconception="`create_task` schedules a coroutine on the loop that is running "
            "right now; in synchronous code there is none, so there is nothing to schedule "
            "on.",
            next_step="When `asyncio.get_running_loop()` raises RuntimeError, no loop is "
            "running: then start one with `asyncio.run(coro)` and return its result.",
        )


def run_explained(sim: Any, coro: Any, *, what: str, call: str,
                  next_step: str = "Inside `async def` code, `await` the coroutine instead; "
                  "keep `asyncio.run` for the one place where the program starts.") -> Any:
    try:
        return sim.run(coro, what=what)
    except RuntimeError as exc:
        explain_loop_error(exc, call=call, next_step=next_step)
        raise


# -- the drivers ----------------------------------------------------------------------


@pytest.fixture
def db(sim, student):
    io = FakeIO(sim)

    async def query_user(user_id: int) -> dict:
        return await io.operation(f"query_user({user_id})", query_seconds(user_id),
                                  result=row(user_id))

    student.replace("query_user", query_user)
    return io


@dataclass
class BlockingCall:
    user_id: int
    op: Operation
    on_loop: bool
    caller: str = ""


class BlockingDriver:
    """Stands in for query_user_blocking: records which thread ran each call, and when."""

    def __init__(self, sim: Any, student: Any) -> None:
        self.sim = sim
        self.student_file = str(Path(student.path).resolve())
        self.calls: list[BlockingCall] = []

    def query_user_blocking(self, user_id: int) -> dict:
        loop = self.sim.loop
        call = BlockingCall(user_id, Operation(label=f"query_user_blocking({user_id})",
                                               start=loop.time()),
                            on_loop=loop_runs_here(), caller=self._caller())
        self.calls.append(call)
        self.sim.operations.append(call.op)
        try:
            # The grader's time.sleep: a violation on the loop, a virtual sleep in a thread.
            time.sleep(LEGACY_SECONDS.get(user_id, 0.1))
        finally:
            call.op.end = loop.time()
            call.op.outcome = "ok"
        return row(user_id)

    def _caller(self) -> str:
        frame = student_frame(self.student_file)
        return describe_frame(frame) if frame else ""


LEGACY_SECONDS = {n: 0.1 + 0.002 * n for n in range(1, 6)}  # 0.102 s ... 0.110 s


@pytest.fixture
def legacy(sim, student):
    driver = BlockingDriver(sim, student)
    student.replace("query_user_blocking", driver.query_user_blocking)
    return driver


def run_legacy(sim: Any, legacy: BlockingDriver, coro: Any, *, call: str) -> Any:
    """sim.run for task 2, explaining a driver called before it was handed to a thread."""
    try:
        return run_explained(sim, coro, what="handle_legacy", call=call)
    except TypeError as exc:
        if "not callable" in str(exc) and any(c.on_loop for c in legacy.calls):
            fail(
                f"`{call}` raised TypeError: {exc}. `query_user_blocking(...)` was called "
                "on the event loop's own thread first, and only its result (a dict) was "
                "handed on to the worker thread.",
                misconception="`to_thread` needs the function itself plus its arguments, so "
                "it can make the call on the worker thread. Writing the call with "
                "parentheses runs it right away, on the loop.",
                next_step="Pass the function itself: `await asyncio.to_thread("
                "query_user_blocking, user_id)`.",
            )
        raise


def expect_driver_off_the_loop(legacy: BlockingDriver, *, during: str, symptom: str) -> None:
    on_loop = [c for c in legacy.calls if c.on_loop]
    if not on_loop:
        return
    first = on_loop[0]
    more = f" (and {len(on_loop) - 1} more calls)" if len(on_loop) > 1 else ""
    where = f" (called at {first.caller})" if first.caller else ""
    frozen = sum(c.op.end - c.op.start for c in on_loop if c.op.end is not None)
    fail(
        f"While {during}, `query_user_blocking({first.user_id})`{more} ran on the event "
        f"loop's own thread{where}, freezing the loop for {frozen:.2f} s of simulated time. "
        f"{symptom}",
        misconception="A synchronous driver holds the thread that calls it until the answer "
        "arrives. Called from a handler, that is the loop's one thread, so every other "
        "request in flight waits too, whether or not the handler is an `async def`.",
        next_step="Run the blocking call on a worker thread: `row = await asyncio.to_thread("
        "query_user_blocking, user_id)`.",
    )


# -- task 1 ---------------------------------------------------------------------------


@pytest.mark.task(1)
def test_handler_returns_the_user(student, sim, db):
    call = "handle({'user_id': 7})"
    result = run_explained(sim, student.handle({"user_id": 7}), what="handle", call=call)
    expect_equal(
        result, response(7), call=call,
        misconception="The response is built from the row the database returned: status "
        "200 and a greeting with the user's name.",
        next_step="Return {\"status\": 200, \"body\": f\"Hello, {row['name']}!\"}.",
    )
    asked = [op.label for op in db.operations]
    if asked != ["query_user(7)"]:
        fail(
            f"`{call}` queried the database {len(asked)} times ({asked}); once, for user 7, "
            "is enough.",
            next_step="Await `query_user(request['user_id'])` once and use its row.",
        )


@pytest.mark.task(1)
def test_serve_answers_in_request_order(student, sim, db):
    users = [5, 1, 4, 2, 3]  # user 1 is answered first, user 5 last
    requests = [{"user_id": u} for u in users]
    call = f"serve({requests!r})"
    result = run_explained(sim, student.serve(requests), what="serve", call=call)
    expect_equal(
        result, [response(u) for u in users], call=call,
        misconception="Each response has to line up with its request; the order the "
        "database happened to answer in doesn't matter to the caller.",
        next_step="asyncio.gather returns results in the order of its arguments.",
    )
    empty = run_explained(sim, student.serve([]), what="serve", call="serve([])")
    expect_equal(empty, [], call="serve([])",
                 misconception="No requests, no responses: the answer is an empty list.",
                 next_step="Make sure your code handles an empty list of requests.")


@pytest.mark.task(1)
def test_serve_handles_requests_concurrently(student, sim, db):
    requests = [{"user_id": u} for u in range(1, 101)]
    call = "serve(<100 requests>)"
    result = run_explained(sim, student.serve(requests), what="serve", call=call)
    if not isinstance(result, list) or len(result) != len(requests):
        count = len(result) if isinstance(result, list) else type(result).__name__
        fail(f"`{call}` returned {count} responses instead of 100.",
             next_step="Return one response per request.")
    answered = len([op for op in db.operations if op.outcome == "ok"])
    if answered != len(requests):
        fail(f"`{call}` queried the database {answered} times instead of once per request "
             "(100).",
             next_step="Let `handle` serve every request: one `query_user` each.")
    expect_elapsed_at_most(sim, 0.15, what=call)
    expect_no_pending_tasks(sim, what="serve")


# -- task 2 ---------------------------------------------------------------------------


@pytest.mark.task(2)
def test_legacy_handler_returns_the_user(student, sim, legacy):
    call = "handle_legacy({'user_id': 3})"
    result = run_legacy(sim, legacy, student.handle_legacy({"user_id": 3}), call=call)
    if inspect.iscoroutine(result):
        name = getattr(result, "__qualname__", "a coroutine")
        result.close()
        fail(
            f"`{call}` returned a coroutine object (`{name}`) instead of a response: it was "
            "never awaited, so the query never ran.",
            misconception="`asyncio.to_thread(...)` only builds a coroutine; the worker "
            "thread starts when you await it.",
            next_step="`row = await asyncio.to_thread(query_user_blocking, user_id)`.",
        )
    expect_equal(
        result, response(3), call=call,
        misconception="handle_legacy answers exactly like handle; only the driver differs.",
        next_step="Build the same response from the row query_user_blocking returns.",
    )
    asked = [c.user_id for c in legacy.calls]
    if asked != [3]:
        fail(f"`{call}` called query_user_blocking {len(asked)} times ({asked}); once, for "
             "user 3, is enough.",
             next_step="Call the driver once, on a worker thread, and use its row.")


@pytest.mark.task(2)
def test_legacy_requests_keep_flowing(student, sim, legacy):
    health = FakeIO(sim)
    finished: dict[str, float] = {}

    async def health_check() -> None:
        await health.operation("health check", 0.03)
        finished["health"] = asyncio.get_running_loop().time()

    async def scenario() -> list[Any]:
        legacy_calls = [student.handle_legacy({"user_id": u}) for u in range(1, 6)]
        results = await asyncio.gather(health_check(), *legacy_calls)
        return list(results[1:])

    during = "five `handle_legacy` requests were served together"
    results = run_legacy(sim, legacy, scenario(),
                         call="handle_legacy({'user_id': n}) for n = 1..5")
    health_done = finished.get("health", sim.elapsed)
    symptom = (f"The five requests took {sim.elapsed:.2f} s instead of about 0.1 s, and a "
               f"health check needing 0.03 s only finished at {health_done:.2f} s.")
    expect_driver_off_the_loop(legacy, during=during, symptom=symptom)
    if any(inspect.isawaitable(r) for r in results):
        fail("`handle_legacy` returned something still waiting to be awaited instead of a "
             "response, so the query never ran.",
             next_step="Await the worker thread: `await asyncio.to_thread(...)`.")
    queried = sorted(c.user_id for c in legacy.calls if c.op.end is not None)
    if queried != [1, 2, 3, 4, 5]:
        fail(f"While {during}, the blocking driver was queried for {queried} instead of once "
             "for each of users [1, 2, 3, 4, 5].",
             next_step="Each `handle_legacy` call queries `query_user_blocking` once.")
    if sim.violations:
        first = sim.violations[0]
        fail(
            f"While {during}, the event loop was blocked: {describe_violation(first)}.",
            misconception="Anything that holds the loop's thread stalls every request.",
            next_step="Keep blocking calls on worker threads with `asyncio.to_thread`.",
        )
    expect_elapsed_at_most(sim, 0.15, what="five handle_legacy requests")


# -- task 3 ---------------------------------------------------------------------------

SCHEDULE_NEXT = ("Check first: `asyncio.get_running_loop()` raises RuntimeError when no loop "
                 "is running. If it returns a loop, schedule the coroutine with "
                 "`loop.create_task(coro)` and return the task; only otherwise use "
                 "`asyncio.run(coro)`.")


@pytest.mark.task(3)
def test_helper_runs_without_a_loop(student, sim):
    ran: list[str] = []

    async def nightly_report() -> str:
        await asyncio.sleep(0)
        ran.append("report")
        return "report ready"

    call = "run_or_schedule(nightly_report())"
    coro = nightly_report()
    try:
        result = student.run_or_schedule(coro)
    except RuntimeError as exc:
        coro.close()
        explain_loop_error(exc, call=call, next_step=SCHEDULE_NEXT)
        raise
    if inspect.isawaitable(result) and not ran:
        if inspect.iscoroutine(result):
            result.close()
        fail(
            f"`{call}`, called from plain synchronous code, returned {type(result).__name__} "
            "object instead of the report: the coroutine never ran.",
            misconception="With no event loop running, nothing will ever run a scheduled "
            "coroutine; synchronous code has to start a loop and wait for the result.",
            next_step="When no loop is running, `return asyncio.run(coro)`.",
        )
    expect_equal(result, "report ready", call=call,
                 misconception="Called from synchronous code, the helper runs the coroutine "
                 "to completion and hands back what it returned.",
                 next_step="When no loop is running, `return asyncio.run(coro)`.")


@pytest.mark.task(3)
def test_helper_schedules_inside_a_loop(student, sim):
    audit = FakeIO(sim)
    seen: dict[str, Any] = {}
    call = "run_or_schedule(save_audit())"

    async def handler() -> None:
        scheduled = student.run_or_schedule(
            audit.operation("save_audit()", 0.2, result="audit saved"))
        seen["returned"] = scheduled
        await asyncio.sleep(0.05)
        seen["started"] = bool(audit.operations)
        if inspect.isawaitable(scheduled):
            seen["value"] = await scheduled

    run_explained(sim, handler(), what="a handler calling run_or_schedule", call=call,
                  next_step=SCHEDULE_NEXT)
    returned = seen["returned"]
    if not inspect.isawaitable(returned):
        fail(
            f"`{call}`, called inside a running event loop, returned {returned!r:.60} "
            "instead of the task.",
            misconception="The caller needs the task to await its result later (and so that "
            "a reference to it is kept while it runs).",
            next_step="Return what `loop.create_task(coro)` gives you.",
        )
    if not seen["started"]:
        fail(
            f"`{call}`, called inside a running event loop, returned something that had "
            "still not started 0.05 s later: the coroutine was handed back, not scheduled.",
            misconception="A coroutine object does nothing until something runs it; wrapping "
            "it in a task is what puts it on the loop's schedule.",
            next_step="`return loop.create_task(coro)` (or `asyncio.ensure_future(coro)`).",
        )
    expect_equal(seen.get("value"), "audit saved", call=f"await {call}",
                 misconception="Awaiting the task gives the coroutine's return value.",
                 next_step="Return the task created from the coroutine you were given.")
    expect_no_pending_tasks(sim, what="the handler")

