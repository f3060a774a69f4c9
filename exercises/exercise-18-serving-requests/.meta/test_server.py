"""Hidden checks for exercise 18 (serving requests).

The async driver is a FakeIO operation; the blocking driver is a recording fake whose
``time.sleep`` is a violation on the loop's thread and a virtual sleep on a worker
thread. Every duration is simulated, and every query takes a slightly different time,
so no two events are due at the same instant.

RuntimeErrors about event loops (``asyncio.run`` inside a running loop, no loop to
schedule on) are caught and explained rather than shown as a bare traceback.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on the plain observations (the drivers' timelines, what the
student's code returned, or plain facts about it such as "a coroutine named ..."), where
no student code runs. Only the judges' conditions earn points.
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
    judged,
    loop_runs_here,
    student_frame,
)


def query_seconds(user_id: int) -> float:
    return 0.08 + 0.0004 * user_id  # 0.0804 s for user 1 ... 0.12 s for user 100


def row(user_id: int) -> dict:
    return {"id": user_id, "name": f"Member {user_id}"}


def response(user_id: int) -> dict:
    return {"status": 200, "body": f"Hello, Member {user_id}!"}


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def expect_told(ops, delays: dict[str, float]) -> None:
    """Every fake call took the time this suite gives it, not one of its own."""
    for op in ops:
        if op.label in delays and op.delay != delays[op.label]:
            impossible(f"{op.label!r} was told {op.delay} s, not {delays[op.label]} s")


QUERY_DELAYS = {f"query_user({u})": query_seconds(u) for u in range(1, 101)}


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
    except TypeError as exc:
        explain_unawaited(exc, call=call)
        raise


def explain_unawaited(exc: TypeError, *, call: str) -> None:
    """A TypeError about a coroutine object: an async call whose result was never awaited."""
    if "'coroutine' object" not in str(exc):
        return
    fail(
        f"`{call}` raised TypeError ({exc}): your code used a coroutine object where it "
        "expected a value, so a call to an async function (such as `query_user(...)`) "
        "was not awaited.",
        misconception="Calling an `async def` function only creates a coroutine object; "
        "the query runs, and its row appears, only when you `await` it.",
        next_step="Write `row = await query_user(request['user_id'])`.",
    )


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
                                               start=loop.time(),
                                               delay=LEGACY_SECONDS.get(user_id, 0.1)),
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

    def seen(self) -> list[tuple]:
        """What a judge reads: each call as (user_id, on the loop?, caller, operation)."""
        return [(c.user_id, c.on_loop, c.caller, c.op) for c in self.calls]


def expect_legacy_calls(calls: list[tuple]) -> None:
    for user_id, _on_loop, _caller, op in calls:
        expect_told([op], {f"query_user_blocking({user_id})": LEGACY_SECONDS.get(user_id, 0.1)})


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


def expect_driver_off_the_loop(calls: list[tuple], *, during: str, symptom: str) -> None:
    on_loop = [(user_id, caller, op) for user_id, on_loop, caller, op in calls if on_loop]
    if not on_loop:
        return
    first_user, first_caller, _op = on_loop[0]
    more = f" (and {len(on_loop) - 1} more calls)" if len(on_loop) > 1 else ""
    where = f" (called at {first_caller})" if first_caller else ""
    frozen = sum(op.end - op.start for _u, _c, op in on_loop if op.end is not None)
    fail(
        f"While {during}, `query_user_blocking({first_user})`{more} ran on the event "
        f"loop's own thread{where}, freezing the loop for {frozen:.2f} s of simulated time. "
        f"{symptom}",
        misconception="A synchronous driver holds the thread that calls it until the answer "
        "arrives. Called from a handler, that is the loop's one thread, so every other "
        "request in flight waits too, whether or not the handler is an `async def`.",
        next_step="Run the blocking call on a worker thread: `row = await asyncio.to_thread("
        "query_user_blocking, user_id)`.",
    )


# -- task 1 ---------------------------------------------------------------------------

ONE_CALL = "handle({'user_id': 7})"


@pytest.mark.task(1)
def test_handler_returns_the_user(student, sim, db):
    result = run_explained(sim, student.handle({"user_id": 7}), what="handle", call=ONE_CALL)
    return judged(judge_handler_returns_the_user, result=result, db=db, sim=sim)


def judge_handler_returns_the_user(seen):
    expect_told(seen["db"].operations, QUERY_DELAYS)
    expect_equal(
        seen["result"], response(7), call=ONE_CALL,
        misconception="The response is built from the row the database returned: status "
        "200 and a greeting with the user's name.",
        next_step="Return {\"status\": 200, \"body\": f\"Hello, {row['name']}!\"}.",
    )
    asked = [op.label for op in seen["db"].operations]
    if asked != ["query_user(7)"]:
        fail(
            f"`{ONE_CALL}` queried the database {len(asked)} times ({asked}); once, for "
            "user 7, is enough.",
            next_step="Await `query_user(request['user_id'])` once and use its row.",
        )


ORDERED_USERS = [5, 1, 4, 2, 3]  # user 1 is answered first, user 5 last
ORDERED_CALL = f"serve({[{'user_id': u} for u in ORDERED_USERS]!r})"


def expect_in_request_order(result) -> None:
    wanted = [response(u) for u in ORDERED_USERS]
    if (isinstance(result, list) and len(result) == len(wanted) and result != wanted
            and all(r in result for r in wanted)):
        bodies = [r["body"] for r in result]
        fail(
            f"Called `{ORDERED_CALL}`: every response was there, but in the order "
            f"{bodies}, not {[r['body'] for r in wanted]}.",
            misconception="Each response has to line up with its request; the order the "
            "database happened to answer in doesn't matter to the caller.",
            next_step="Keep the responses in the order of the requests (asyncio.gather "
            "returns results in the order of its arguments).",
        )
    expect_equal(
        result, [response(u) for u in ORDERED_USERS], call=ORDERED_CALL,
        misconception="Each response has to line up with its request; the order the "
        "database happened to answer in doesn't matter to the caller.",
        next_step="asyncio.gather returns results in the order of its arguments.",
    )


@pytest.mark.task(1)
def test_serve_answers_in_request_order(student, sim, db):
    requests = [{"user_id": u} for u in ORDERED_USERS]
    result = run_explained(sim, student.serve(requests), what="serve", call=ORDERED_CALL)
    expect_in_request_order(result)  # before the next call
    empty = run_explained(sim, student.serve([]), what="serve", call="serve([])")
    return judged(judge_serve_answers_in_request_order, result=result, empty=empty, db=db,
                  sim=sim)


def judge_serve_answers_in_request_order(seen):
    expect_told(seen["db"].operations, QUERY_DELAYS)
    expect_in_request_order(seen["result"])
    expect_equal(seen["empty"], [], call="serve([])",
                 misconception="No requests, no responses: the answer is an empty list.",
                 next_step="Make sure your code handles an empty list of requests.")


MANY_CALL = "serve(<100 requests>)"


@pytest.mark.task(1)
def test_serve_handles_requests_concurrently(student, sim, db):
    requests = [{"user_id": u} for u in range(1, 101)]
    result = run_explained(sim, student.serve(requests), what="serve", call=MANY_CALL)
    responses = len(result) if isinstance(result, list) else type(result).__name__
    return judged(judge_serve_handles_requests_concurrently, responses=responses, db=db,
                  sim=sim)


def judge_serve_handles_requests_concurrently(seen):
    db, sim = seen["db"], seen["sim"]
    expect_told(db.operations, QUERY_DELAYS)
    if seen["responses"] != 100:
        fail(f"`{MANY_CALL}` returned {seen['responses']} responses instead of 100.",
             next_step="Return one response per request.")
    answered = len([op for op in db.operations if op.outcome == "ok"])
    if answered != 100:
        fail(f"`{MANY_CALL}` queried the database {answered} times instead of once per "
             "request (100).",
             next_step="Let `handle` serve every request: one `query_user` each.")
    expect_elapsed_at_most(sim, 0.15, what=MANY_CALL)
    expect_no_pending_tasks(sim, what="serve")


# -- task 2 ---------------------------------------------------------------------------

LEGACY_CALL = "handle_legacy({'user_id': 3})"


@pytest.mark.task(2)
def test_legacy_handler_returns_the_user(student, sim, legacy):
    result = run_legacy(sim, legacy, student.handle_legacy({"user_id": 3}), call=LEGACY_CALL)
    coroutine = ""  # the name of the coroutine object it returned instead of a response
    if inspect.iscoroutine(result):
        coroutine = str(getattr(result, "__qualname__", "a coroutine"))
        result.close()
        result = None
    return judged(judge_legacy_handler_returns_the_user, coroutine=coroutine, result=result,
                  calls=legacy.seen(), sim=sim)


def judge_legacy_handler_returns_the_user(seen):
    expect_legacy_calls(seen["calls"])
    if seen["coroutine"]:
        fail(
            f"`{LEGACY_CALL}` returned a coroutine object (`{seen['coroutine']}`) instead of "
            "a response: it was never awaited, so the query never ran.",
            misconception="`asyncio.to_thread(...)` only builds a coroutine; the worker "
            "thread starts when you await it.",
            next_step="`row = await asyncio.to_thread(query_user_blocking, user_id)`.",
        )
    expect_equal(
        seen["result"], response(3), call=LEGACY_CALL,
        misconception="handle_legacy answers exactly like handle; only the driver differs.",
        next_step="Build the same response from the row query_user_blocking returns.",
    )
    asked = [user_id for user_id, _on_loop, _caller, _op in seen["calls"]]
    if asked != [3]:
        fail(f"`{LEGACY_CALL}` called query_user_blocking {len(asked)} times ({asked}); "
             "once, for user 3, is enough.",
             next_step="Call the driver once, on a worker thread, and use its row.")


FLOWING = "five `handle_legacy` requests were served together"


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

    results = run_legacy(sim, legacy, scenario(),
                         call="handle_legacy({'user_id': n}) for n = 1..5")
    return judged(judge_legacy_requests_keep_flowing, health_done=finished.get("health"),
                  unawaited=any(inspect.isawaitable(r) for r in results),
                  calls=legacy.seen(), health=health, sim=sim)


def judge_legacy_requests_keep_flowing(seen):
    sim, calls = seen["sim"], seen["calls"]
    expect_legacy_calls(calls)
    expect_told(seen["health"].operations, {"health check": 0.03})
    health_done = sim.elapsed if seen["health_done"] is None else seen["health_done"]
    symptom = (f"The five requests took {sim.elapsed:.2f} s instead of about 0.1 s, and a "
               f"health check needing 0.03 s only finished at {health_done:.2f} s.")
    expect_driver_off_the_loop(calls, during=FLOWING, symptom=symptom)
    if seen["unawaited"]:
        fail("`handle_legacy` returned something still waiting to be awaited instead of a "
             "response, so the query never ran.",
             next_step="Await the worker thread: `await asyncio.to_thread(...)`.")
    queried = sorted(user_id for user_id, _on_loop, _caller, op in calls if op.end is not None)
    if queried != [1, 2, 3, 4, 5]:
        fail(f"While {FLOWING}, the blocking driver was queried for {queried} instead of "
             "once for each of users [1, 2, 3, 4, 5].",
             next_step="Each `handle_legacy` call queries `query_user_blocking` once.")
    if sim.violations:
        first = sim.violations[0]
        fail(
            f"While {FLOWING}, the event loop was blocked: {describe_violation(first)}.",
            misconception="Anything that holds the loop's thread stalls every request.",
            next_step="Keep blocking calls on worker threads with `asyncio.to_thread`.",
        )
    expect_elapsed_at_most(sim, 0.15, what="five handle_legacy requests")


# -- task 3 ---------------------------------------------------------------------------

SCHEDULE_NEXT = ("Check first: `asyncio.get_running_loop()` raises RuntimeError when no loop "
                 "is running. If it returns a loop, schedule the coroutine with "
                 "`loop.create_task(coro)` and return the task; only otherwise use "
                 "`asyncio.run(coro)`.")
RUN_CALL = "run_or_schedule(nightly_report())"


@pytest.mark.task(3)
def test_helper_runs_without_a_loop(student, sim):
    ran: list[str] = []

    async def nightly_report() -> str:
        await asyncio.sleep(0)
        ran.append("report")
        return "report ready"

    coro = nightly_report()
    try:
        result = student.run_or_schedule(coro)
    except RuntimeError as exc:
        coro.close()
        explain_loop_error(exc, call=RUN_CALL, next_step=SCHEDULE_NEXT)
        raise
    pending = ""  # the type of the awaitable it returned instead of running the report
    if inspect.isawaitable(result) and not ran:
        pending = type(result).__name__
        if inspect.iscoroutine(result):
            result.close()
    return judged(judge_helper_runs_without_a_loop, pending=pending, result=result, ran=ran)


def judge_helper_runs_without_a_loop(seen):
    if seen["pending"]:
        fail(
            f"`{RUN_CALL}`, called from plain synchronous code, returned {seen['pending']} "
            "object instead of the report: the coroutine never ran.",
            misconception="With no event loop running, nothing will ever run a scheduled "
            "coroutine; synchronous code has to start a loop and wait for the result.",
            next_step="When no loop is running, start one with `asyncio.run` and return its "
                      "result.",
        )
    if seen["result"] == "report ready" and seen["ran"] != ["report"]:
        fail(f"`{RUN_CALL}` returned 'report ready', but the coroutine it was given never "
             "ran: the answer has to come from running it.",
             next_step="When no loop is running, start one with `asyncio.run` and return its "
                       "result.")
    expect_equal(seen["result"], "report ready", call=RUN_CALL,
                 misconception="Called from synchronous code, the helper runs the coroutine "
                 "to completion and hands back what it returned.",
                 next_step="When no loop is running, start one with `asyncio.run` and return its "
                           "result.")


SCHEDULE_CALL = "run_or_schedule(save_audit())"
AUDIT_SECONDS = 0.2
LOOK_AFTER = 0.05  # simulated seconds after the call at which the handler looks


@pytest.mark.task(3)
def test_helper_schedules_inside_a_loop(student, sim):
    audit = FakeIO(sim)
    seen: dict[str, Any] = {}

    async def handler() -> None:
        scheduled = student.run_or_schedule(
            audit.operation("save_audit()", AUDIT_SECONDS, result="audit saved"))
        seen["awaitable"] = inspect.isawaitable(scheduled)
        seen["returned"] = f"{scheduled!r:.60}"
        await asyncio.sleep(LOOK_AFTER)
        seen["started"] = bool(audit.operations)
        if inspect.isawaitable(scheduled):
            seen["value"] = await scheduled

    run_explained(sim, handler(), what="a handler calling run_or_schedule",
                  call=SCHEDULE_CALL, next_step=SCHEDULE_NEXT)
    return judged(judge_helper_schedules_inside_a_loop, awaitable=seen["awaitable"],
                  returned=seen["returned"], started=seen["started"],
                  value=seen.get("value"), audit=audit, sim=sim)


def expect_started_as_seen(started: bool, audit, sim) -> None:
    """The handler's look at 0.05 s agrees with the audit's timeline."""
    begun = [op.start - sim.started for op in audit.operations]
    if started and not any(at <= LOOK_AFTER + 1e-6 for at in begun):
        impossible(f"the audit had started at 0.05 s, but its timeline says {begun}")
    if not started and any(at < LOOK_AFTER - 1e-6 for at in begun):
        impossible(f"the audit had not started at 0.05 s, but its timeline says {begun}")


def judge_helper_schedules_inside_a_loop(seen):
    sim, audit = seen["sim"], seen["audit"]
    expect_told(audit.operations, {"save_audit()": AUDIT_SECONDS})
    expect_started_as_seen(seen["started"], audit, sim)
    if not seen["awaitable"]:
        fail(
            f"`{SCHEDULE_CALL}`, called inside a running event loop, returned "
            f"{seen['returned']} instead of the task.",
            misconception="The caller needs the task to await its result later (and so that "
            "a reference to it is kept while it runs).",
            next_step="Return what `loop.create_task(coro)` gives you.",
        )
    if not seen["started"]:
        fail(
            f"`{SCHEDULE_CALL}`, called inside a running event loop, returned something "
            "that had still not started 0.05 s later: the coroutine was handed back, not "
            "scheduled.",
            misconception="A coroutine object does nothing until something runs it; wrapping "
            "it in a task is what puts it on the loop's schedule.",
            next_step="Schedule the coroutine on the running loop as a task and return that task.",
        )
    expect_equal(seen["value"], "audit saved", call=f"await {SCHEDULE_CALL}",
                 misconception="Awaiting the task gives the coroutine's return value.",
                 next_step="Return the task created from the coroutine you were given.")
    expect_no_pending_tasks(sim, what="the handler")
