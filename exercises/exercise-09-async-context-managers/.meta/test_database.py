"""Hidden checks for exercise 09 (async context managers: __aenter__/__aexit__ and
@asynccontextmanager).

The checks never fail from inside an ``async with`` body: a student's __aexit__ that
swallows exceptions would swallow the check's own failure too. Bodies record what they
saw; verdicts are given after the block.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent, where no student code runs, on plain observations: what the
block saw (``block``), the fake connections as plain facts (``handle_facts``), the FakeIO
and the simulation. The judges hold the handles' times against the timeline and this
suite's own delays. Only the judges' conditions earn points.
"""

import asyncio
import inspect
import re
from pathlib import Path

import pytest

from grader.suite import FakeIO, fail, judged

URL = "db://shop"
CONNECT_DELAY = 0.3
DISCONNECT_DELAY = 0.2
QUERY_DELAY = 0.1
BODY_DELAY = 0.15
CLASS_CALL = f"async with AsyncDatabaseConnection({URL!r})"
MANAGER_CALL = f"async with open_database({URL!r})"


def secs(value: float) -> str:
    return f"{round(value, 2):g} s"


class QueryFailed(Exception):
    """Raised by the check inside the ``async with`` block."""


class FakeHandle:
    """What the fake connect() returns: knows whether it is open and when it changed."""

    def __init__(self, url: str, number: int) -> None:
        self.url = url
        self.number = number
        self.open = False
        self.opened_at: float | None = None
        self.closed_at: float | None = None
        self.disconnect_started_at: float | None = None

    def __repr__(self) -> str:
        return handle_text(vars(self))


def handle_text(handle: dict) -> str:
    """How feedback shows a connection, from its facts."""
    return f"<connection #{handle['number']} to {handle['url']}>"


def handle_facts(db) -> list[dict]:
    """The connections connect() handed out, as plain facts, in the order they opened."""
    return [{"url": h.url, "number": h.number, "opened_at": h.opened_at,
             "closed_at": h.closed_at, "disconnect_started_at": h.disconnect_started_at}
            for h in db.handles]


def not_a_handle(name: str, value) -> str:
    if inspect.iscoroutine(value):
        value.close()
        return (f"{name}() was given a coroutine instead of a connection handle: "
                "was connect(...) called without `await`?")
    return f"{name}() needs the handle that connect() returned, not {value!r:.60}"


class FakeDatabase:
    """Instrumented connect / disconnect / run_query for one check.

    connect and disconnect are plain functions returning coroutines, so a call that is
    never awaited is counted here (calls minus bodies started), not only when Python's
    "never awaited" warning happens to fire: a coroutine the student keeps a reference to
    (``self.handle = connect(url)``) never warns while the check runs.
    """

    def __init__(self, sim):
        self.io = FakeIO(sim)
        self.handles: list[FakeHandle] = []
        self.calls = {"connect": 0, "disconnect": 0}
        self.started = {"connect": 0, "disconnect": 0}

    def connect(self, url):
        self.calls["connect"] += 1
        return self._connect(url)

    def disconnect(self, handle):
        self.calls["disconnect"] += 1
        return self._disconnect(handle)

    async def _connect(self, url):
        self.started["connect"] += 1
        handle = FakeHandle(url, len(self.handles) + 1)
        await self.io.operation(f"connect({url!r})", CONNECT_DELAY)
        handle.open = True
        handle.opened_at = asyncio.get_running_loop().time()
        self.handles.append(handle)
        return handle

    async def _disconnect(self, handle):
        self.started["disconnect"] += 1
        if inspect.iscoroutine(handle):
            handle.close()  # connect() never awaited: judged from the counts, not a crash
            return
        if not isinstance(handle, FakeHandle):
            raise TypeError(not_a_handle("disconnect", handle))
        handle.disconnect_started_at = asyncio.get_running_loop().time()
        await self.io.operation("disconnect()", DISCONNECT_DELAY)
        handle.open = False
        handle.closed_at = asyncio.get_running_loop().time()

    async def run_query(self, handle, sql):
        if not isinstance(handle, FakeHandle):
            raise TypeError(not_a_handle("run_query", handle))
        if not handle.open:
            raise ConnectionError(f"run_query needs an open connection, but {handle!r} is closed")
        return await self.io.operation(f"run_query({sql!r})", QUERY_DELAY, result=[(1,)])

    def unawaited(self) -> dict[str, int]:
        """How many connect() / disconnect() calls never started running."""
        return {name: self.calls[name] - self.started[name] for name in self.calls}


def kind_of(label: str) -> str:
    """'connect', 'disconnect' or 'run_query': the fake's operation, whatever the arguments."""
    return label.partition("(")[0]


DELAYS = {"connect": CONNECT_DELAY, "disconnect": DISCONNECT_DELAY, "run_query": QUERY_DELAY}


# Never-awaited warnings name the coroutine by its qualname: keep the student's names.
FakeDatabase._connect.__qualname__ = "connect"
FakeDatabase._disconnect.__qualname__ = "disconnect"
FakeDatabase.run_query.__qualname__ = "run_query"


@pytest.fixture
def db(sim, student):
    fake = FakeDatabase(sim)
    student.replace("connect", fake.connect)
    student.replace("disconnect", fake.disconnect)
    student.replace("run_query", fake.run_query)
    return fake


def now() -> float:
    return asyncio.get_running_loop().time()


def short_where(where: str) -> str:
    """'File "/long/path/x.py", line 49, in f' -> ' (x.py, line 49, in f)'."""
    match = re.search(r'File "([^"]+)", line (\d+), in (\S+)', where or "")
    if not match:
        return f" ({where})" if where else ""
    return f" ({Path(match[1]).name}, line {match[2]}, in {match[3]})"


def dropped_coroutine(sim, name: str):
    return next((d for d in sim.never_awaited() if d.name == name), None)


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def expect_on_the_timeline(seen) -> None:
    """Handles open and close when the fake's operations (of this suite's delays) end,
    and the block's moments lie within the run."""
    io, sim = seen["io"], seen["sim"]
    for op in io.operations:
        if op.delay != DELAYS.get(kind_of(op.label)):
            impossible(f"{op.label} was told {op.delay} s")
    ends = {kind: sorted(op.end for op in io.operations if kind_of(op.label) == kind
                         and op.outcome == "ok") for kind in DELAYS}
    if sorted(h["opened_at"] for h in seen["handles"]) != ends["connect"]:
        impossible("handles opened when no connect() finished")
    if any(h["closed_at"] not in (None, *ends["disconnect"]) for h in seen["handles"]):
        impossible("a handle closed when no disconnect() finished")
    moments = [v for block in (seen["block"], seen.get("cancelled") or {})
               for k, v in block.items() if k.endswith("_at")]
    if any(not sim.started - 1e-9 <= t <= sim.started + sim.elapsed + 1e-9 for t in moments):
        impossible(f"the block's moments {moments} lie outside the run")


def the_handle(seen, call: str) -> dict:
    """The one connection the code under test opened, or a failure saying why there is none."""
    expect_on_the_timeline(seen)
    if seen["handles"]:
        return seen["handles"][0]
    dropped = dropped_coroutine(seen["sim"], "connect")
    if dropped or seen["unawaited"]["connect"]:
        where = short_where(dropped.where) if dropped else ""
        fail(
            f"`{call}` called connect(){where} but never awaited it, so no connection was "
            "ever opened.",
            misconception="Calling an async function only creates a coroutine; the "
            "connection opens only when you `await connect(url)`.",
            next_step="Write `await connect(...)` in your setup code.",
        )
    fail(
        f"`{call}` never opened a connection: connect() was not called.",
        next_step="Your setup (before the body runs) should `await connect(url)`.",
    )


def expect_closed(seen, handle: dict, *, call: str, situation: str, cleanup: str,
                  raised: bool, block: str = "block", cancelled: bool = False) -> None:
    """Fail with a diagnosis unless ``handle`` was closed by the time the block was left."""
    exited_at = seen[block]["exited_at"]
    if handle["closed_at"] is not None and handle["closed_at"] <= exited_at + 1e-9:
        return
    left = f"When `{call}` {situation}, the connection was still open afterwards"
    dropped = dropped_coroutine(seen["sim"], "disconnect")
    if handle["disconnect_started_at"] is None and (dropped or seen["unawaited"]["disconnect"]):
        where = short_where(dropped.where) if dropped else ""
        fail(
            f"{left}: {cleanup} called disconnect(){where} but never awaited it, so the close "
            "never ran.",
            misconception="Calling an async function only creates a coroutine object; "
            "the cleanup happens only when you `await` it (Python warns 'coroutine ... was "
            "never awaited').",
            next_step="Write `await disconnect(...)`.",
        )
    if handle["disconnect_started_at"] is not None:
        fail(
            f"{left}: the block ended at t={secs(exited_at)} while disconnect() was still "
            "in progress; it ran in the background instead of being awaited.",
            misconception="Code after `async with` may assume the resource is released; "
            "that is only true if the cleanup is awaited inside the exit.",
            next_step="`await disconnect(...)` directly instead of starting a task for it.",
        )
    if cancelled:
        caught = ("Your `except Exception:` never sees it: CancelledError is a "
                  "BaseException, not an Exception, so cleanup placed there (or after the "
                  "`yield`) is skipped."
                  if seen["uses"].get("Exception") else
                  "It is a BaseException, not an Exception, so only a `finally:` block (or "
                  "an `except BaseException:` that re-raises) still runs on the way out.")
        fail(
            f"{left}: {cleanup} did not close it when the task running the block was "
            "cancelled.",
            misconception="Cancelling a task raises CancelledError at the `await` it is "
            f"paused at, inside the block, and it leaves the block like any error. {caught}",
            next_step="Close in `finally:` (for the generator: `try: yield handle` then "
            "`finally: await disconnect(handle)`; for the class: unconditionally in "
            "__aexit__).",
        )
    if cleanup == "open_database" and raised:
        fail(
            f"{left}: the exception is thrown into your generator at the `yield`, so the "
            "disconnect written after it never ran.",
            misconception="When the body raises, code after the `yield` is skipped; only a "
            "`finally:` block (or an except that cleans up and re-raises) still runs.",
            next_step="Wrap it: `try: yield handle` then `finally: await disconnect(handle)`.",
        )
    if raised:
        fail(
            f"{left}: {cleanup} did not close it when the block raised.",
            misconception="__aexit__ is called for exceptions too; closing only when "
            "`exc_type is None` leaks a connection every time a block fails.",
            next_step="Await disconnect in __aexit__ unconditionally.",
        )
    fail(
        f"{left}: {cleanup} never called disconnect().",
        next_step="Await disconnect(...) in your cleanup.",
    )


# A block cancelled while it waits: after the connect (0.3 s), halfway through the body.
CANCEL_AFTER = CONNECT_DELAY + BODY_DELAY / 2


async def cancelled_block(enter, record: dict) -> None:
    """Run ``async with enter():`` in a task and cancel it in the middle of the body."""

    async def body():
        async with enter():
            record["entered_at"] = now()
            await asyncio.sleep(BODY_DELAY)

    task = asyncio.create_task(body())
    await asyncio.sleep(CANCEL_AFTER)
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        record["ended_cancelled"] = True
    except QueryFailed:
        pass
    record["exited_at"] = now()


def expect_closed_when_cancelled(seen, *, call: str, cleanup: str) -> None:
    """The second connection, opened by the cancelled block, was closed too."""
    handles = seen["handles"]
    if len(handles) < 2:
        fail(f"When `{call}` ran a second time, in a task that was then cancelled, it "
             "never opened its connection.",
             next_step="Your setup should `await connect(url)` every time it is entered.")
    expect_closed(seen, handles[1], call=call, situation="was cancelled in the middle of "
                  "the block", cleanup=cleanup, raised=True, block="cancelled",
                  cancelled=True)


# -- task 1: the class --------------------------------------------------------------------


def observations(block: dict, sim, db, *, cancelled: dict | None = None,
                 uses: dict | None = None) -> dict:
    return {"block": block, "cancelled": cancelled, "handles": handle_facts(db),
            "unawaited": db.unawaited(), "uses": uses or {}, "io": db.io, "sim": sim}


def run_class_block(student, sim, db, *, raise_inside: bool, then_cancel: bool = False) -> dict:
    """Enter the student's class, spend some time in the body, maybe raise; report.

    With ``then_cancel``, a second block follows in a task cancelled mid-body.
    """
    block: dict = {"escaped": False}
    cancelled: dict | None = {"ended_cancelled": False} if then_cancel else None

    async def scenario():
        manager = student.AsyncDatabaseConnection(URL)
        try:
            async with manager:
                block["entered_at"] = now()
                await asyncio.sleep(BODY_DELAY)
                if raise_inside:
                    raise QueryFailed("the query failed")
        except QueryFailed:
            block["escaped"] = True
        block["exited_at"] = now()
        if cancelled is not None:
            await cancelled_block(lambda: student.AsyncDatabaseConnection(URL), cancelled)

    sim.run(scenario(), what="AsyncDatabaseConnection")
    return observations(block, sim, db, cancelled=cancelled,
                        uses=student.uses("Exception", "BaseException"))


@pytest.mark.task(1)
def test_enter_returns_connection(student, sim, db):
    block: dict = {"query_failed": False, "rows": None}

    async def scenario():
        manager = student.AsyncDatabaseConnection(URL)
        async with manager as conn:
            block["conn_is_none"] = conn is None
            block["conn_is_manager"] = conn is manager
            block["conn_is_handle"] = isinstance(conn, FakeHandle)
            block["conn_shown"] = "" if conn is None or conn is manager else f"{conn!r:.60}"
            if conn is manager:
                try:
                    block["rows"] = await conn.query("SELECT 1")
                except (ConnectionError, TypeError):
                    block["query_failed"] = True
                    block["handle_shown"] = ("a coroutine" if inspect.iscoroutine(
                        manager.handle) else f"{manager.handle!r:.60}")
        block["exited_at"] = now()

    sim.run(scenario(), what="AsyncDatabaseConnection")
    return judged(judge_enter_returns_connection, **observations(block, sim, db))


def judge_enter_returns_connection(seen):
    expect_on_the_timeline(seen)
    block = seen["block"]
    call = f"{CLASS_CALL} as conn:"
    if block["conn_is_none"]:
        fail(
            f"`{call}` gave conn = None: the `as` target is whatever __aenter__ returns, and "
            "yours returned nothing.",
            misconception="__aenter__ doing the setup is not enough; its return value is "
            "what the `as` name is bound to.",
            next_step="End __aenter__ with `return self`.",
        )
    if not block["conn_is_manager"]:
        what = "the raw handle from connect()" if block["conn_is_handle"] else block["conn_shown"]
        fail(
            f"`{call}` gave conn = {what}, not the AsyncDatabaseConnection itself, so "
            "conn.query(...) is not available.",
            misconception="Whatever __aenter__ returns becomes the `as` target.",
            next_step="Store the handle in self.handle and `return self`.",
        )
    if block["query_failed"] and not seen["handles"]:
        the_handle(seen, call)  # says whether connect() was called, or called unawaited
    if block["query_failed"]:
        fail(
            f"Inside `{call}`, conn.query('SELECT 1') found no open connection in "
            f"conn.handle ({block['handle_shown']}).",
            misconception="The provided query method reads self.handle, so __aenter__ has "
            "to store there exactly what `await connect(self.url)` returned.",
            next_step="In __aenter__, await `connect` and keep the handle it returns on the "
                      "instance.",
        )
    if block["rows"] != [(1,)]:
        fail(f"Inside `{call}`, conn.query('SELECT 1') returned {block['rows']!r:.80}, "
             "not [(1,)].", next_step="Don't change the provided query method.")


@pytest.mark.task(1)
def test_closes_after_block(student, sim, db):
    return judged(judge_closes_after_block,
                  **run_class_block(student, sim, db, raise_inside=False))


def judge_closes_after_block(seen):
    handle, entered_at = the_handle(seen, CLASS_CALL), seen["block"]["entered_at"]
    if handle["opened_at"] is None or handle["opened_at"] > entered_at + 1e-9:
        fail(
            f"The body of `{CLASS_CALL}` started at t={secs(entered_at)}, before the "
            "connection was open.",
            misconception="`async with` runs the body only after __aenter__ has finished, so "
            "__aenter__ must await the connection itself, not start it in the background.",
            next_step="In __aenter__, await `connect` and keep the handle it returns on the "
                      "instance.",
        )
    expect_closed(seen, handle, call=CLASS_CALL,
                  situation="finished normally", cleanup="your __aexit__", raised=False)


@pytest.mark.task(1)
def test_closes_when_block_raises(student, sim, db):
    return judged(judge_closes_when_block_raises,
                  **run_class_block(student, sim, db, raise_inside=True, then_cancel=True))


def judge_closes_when_block_raises(seen):
    handle = the_handle(seen, CLASS_CALL)
    expect_closed(seen, handle, call=CLASS_CALL,
                  situation="raised QueryFailed inside the block", cleanup="your __aexit__",
                  raised=True)
    expect_closed_when_cancelled(seen, call=CLASS_CALL, cleanup="your __aexit__")


@pytest.mark.task(1)
def test_error_is_not_swallowed(student, sim, db):
    return judged(judge_error_is_not_swallowed,
                  **run_class_block(student, sim, db, raise_inside=True))


def judge_error_is_not_swallowed(seen):
    expect_on_the_timeline(seen)
    if not seen["block"]["escaped"]:
        fail(
            f"The QueryFailed raised inside `{CLASS_CALL}` never reached the caller: the "
            "block ended as if nothing had gone wrong.",
            misconception="When __aexit__ returns a true value (True, `self`, any non-empty "
            "object), Python treats the exception as handled and swallows it, so failures "
            "go unnoticed.",
            next_step="Let __aexit__ return None (no return statement) or False.",
        )


# -- task 2: @asynccontextmanager ---------------------------------------------------------


def open_manager(student):
    manager = student.open_database(URL)
    if hasattr(manager, "__aenter__") and hasattr(manager, "__aexit__"):
        return manager
    if inspect.isasyncgen(manager):
        fail(
            f"open_database({URL!r}) returned an async generator, which `async with` can't "
            "use (TypeError: it does not support the asynchronous context manager protocol).",
            misconception="An async generator is not a context manager by itself; "
            "@contextlib.asynccontextmanager wraps it so that `async with` runs the code up "
            "to the `yield` on entry and the rest on exit.",
            next_step="An async generator becomes an async context manager through `contextlib`'s "
                      "decorator for that: put it on `open_database`.",
        )
    if inspect.iscoroutine(manager):
        manager.close()
        fail(
            f"open_database({URL!r}) returned a coroutine, not an async context manager.",
            misconception="@contextlib.asynccontextmanager needs an async *generator*: a "
            "function with exactly one `yield` where the body of the block goes.",
            next_step="`yield` the handle instead of returning it, and keep the "
            "@contextlib.asynccontextmanager decorator.",
        )
    fail(
        f"open_database({URL!r}) returned {manager!r:.60}, which `async with` can't use.",
        next_step="Decorate an async generator with @contextlib.asynccontextmanager.",
    )


def run_manager_block(student, sim, db, *, raise_inside: bool,
                      then_cancel: bool = False) -> dict:
    """Enter open_database, spend some time in the body, maybe raise; report.

    With ``then_cancel``, a second block follows in a task cancelled mid-body.
    """
    block: dict = {"escaped": False}
    cancelled: dict | None = {"ended_cancelled": False} if then_cancel else None
    got: list = []

    async def scenario():
        manager = open_manager(student)
        try:
            async with manager as handle:
                got.append(handle)
                block["open_inside"] = isinstance(handle, FakeHandle) and handle.open
                await asyncio.sleep(BODY_DELAY)
                if raise_inside:
                    raise QueryFailed("the query failed")
        except QueryFailed:
            block["escaped"] = True
        block["exited_at"] = now()
        if cancelled is not None:
            await cancelled_block(lambda: open_manager(student), cancelled)

    sim.run(scenario(), what="open_database")
    handle = got[0]
    block["got_coroutine"] = inspect.iscoroutine(handle)
    if block["got_coroutine"]:
        handle.close()
    block["got_handle"] = next((i for i, h in enumerate(db.handles) if h is handle), None)
    block["got_shown"] = "" if block["got_handle"] == 0 else f"{handle!r:.60}"
    return observations(block, sim, db, cancelled=cancelled,
                        uses=student.uses("Exception", "BaseException"))


@pytest.mark.task(2)
def test_manager_yields_open_handle(student, sim, db):
    return judged(judge_manager_yields_open_handle,
                  **run_manager_block(student, sim, db, raise_inside=False))


def judge_manager_yields_open_handle(seen):
    expect_on_the_timeline(seen)
    block = seen["block"]
    if block["got_coroutine"]:
        fail(
            f"`{MANAGER_CALL} as handle:` gave handle = a coroutine: open_database yielded "
            "connect(url) without awaiting it, so no connection was opened.",
            misconception="Calling an async function only creates a coroutine; its result "
            "(the handle) exists only once you await it.",
            next_step="Before the `yield`, await `connect` and yield the handle it gives you.",
        )
    handle = the_handle(seen, MANAGER_CALL)
    if block["got_handle"] != 0:
        fail(
            f"`{MANAGER_CALL} as handle:` gave handle = {block['got_shown']}; expected the "
            f"handle connect() returned ({handle_text(handle)}).",
            misconception="The value you `yield` in an @asynccontextmanager generator is what "
            "the `as` target gets.",
            next_step="Before the `yield`, await `connect` and yield the handle it gives you.",
        )
    if not block["open_inside"]:
        fail(
            f"Inside `{MANAGER_CALL} as handle:` the connection was not open yet.",
            next_step="Await connect(url) before the yield.",
        )
    expect_closed(seen, handle, call=MANAGER_CALL,
                  situation="finished normally", cleanup="open_database", raised=False)


@pytest.mark.task(2)
def test_manager_closes_when_block_raises(student, sim, db):
    return judged(judge_manager_closes_when_block_raises,
                  **run_manager_block(student, sim, db, raise_inside=True, then_cancel=True))


def judge_manager_closes_when_block_raises(seen):
    handle = the_handle(seen, MANAGER_CALL)
    expect_closed(seen, handle, call=MANAGER_CALL,
                  situation="raised QueryFailed inside the block", cleanup="open_database",
                  raised=True)
    expect_closed_when_cancelled(seen, call=MANAGER_CALL, cleanup="open_database")


@pytest.mark.task(2)
def test_manager_keeps_the_error(student, sim, db):
    return judged(judge_manager_keeps_the_error,
                  **run_manager_block(student, sim, db, raise_inside=True))


def judge_manager_keeps_the_error(seen):
    expect_on_the_timeline(seen)
    if not seen["block"]["escaped"]:
        fail(
            f"The QueryFailed raised inside `{MANAGER_CALL}` never reached the caller: your "
            "generator caught it at the `yield` and did not raise it again, which tells "
            "asynccontextmanager the error was handled.",
            misconception="An `except` around the yield that doesn't re-raise swallows every "
            "failure of the body.",
            next_step="Use try/finally for the cleanup (no except), or end your except "
            "block with a bare `raise`.",
        )
