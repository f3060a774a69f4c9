"""Hidden checks for exercise 09 (async context managers: __aenter__/__aexit__ and
@asynccontextmanager).

The checks never fail from inside an ``async with`` body: a student's __aexit__ that
swallows exceptions would swallow the check's own failure too. Bodies record what they
saw; verdicts are given after the block.
"""

import asyncio
import inspect
import re
from pathlib import Path

import pytest

from grader.suite import FakeIO, fail

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

    def __repr__(self) -> str:
        return f"<connection #{self.number} to {self.url}>"


def not_a_handle(name: str, value) -> str:
    if inspect.iscoroutine(value):
        value.close()
        return (f"{name}() was given a coroutine instead of a connection handle: "
                "was connect(...) called without `await`?")
    return f"{name}() needs the handle that connect() returned, not {value!r:.60}"


class FakeDatabase:
    """Instrumented connect / disconnect / run_query for one check."""

    def __init__(self, sim):
        self.io = FakeIO(sim)
        self.handles: list[FakeHandle] = []

    async def connect(self, url):
        handle = FakeHandle(url, len(self.handles) + 1)
        await self.io.operation(f"connect({url!r})", CONNECT_DELAY)
        handle.open = True
        handle.opened_at = asyncio.get_running_loop().time()
        self.handles.append(handle)
        return handle

    async def disconnect(self, handle):
        if not isinstance(handle, FakeHandle):
            raise TypeError(not_a_handle("disconnect", handle))
        await self.io.operation("disconnect()", DISCONNECT_DELAY)
        handle.open = False
        handle.closed_at = asyncio.get_running_loop().time()

    async def run_query(self, handle, sql):
        if not isinstance(handle, FakeHandle):
            raise TypeError(not_a_handle("run_query", handle))
        if not handle.open:
            raise ConnectionError(f"run_query needs an open connection, but {handle!r} is closed")
        return await self.io.operation(f"run_query({sql!r})", QUERY_DELAY, result=[(1,)])

    def disconnects(self):
        return self.io.calls("disconnect()")


# Never-awaited warnings name the coroutine by its qualname: keep the student's names.
FakeDatabase.connect.__qualname__ = "connect"
FakeDatabase.disconnect.__qualname__ = "disconnect"
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


def the_handle(sim, db, call: str) -> FakeHandle:
    """The one connection the code under test opened, or a failure saying why there is none."""
    if db.handles:
        return db.handles[0]
    dropped = dropped_coroutine(sim, "connect")
    if dropped:
        where = short_where(dropped.where)
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


def expect_closed(sim, db, handle: FakeHandle, exited_at: float, *, call: str, situation: str,
                  cleanup: str, raised: bool) -> None:
    """Fail with a diagnosis unless ``handle`` was closed by the time the block was left."""
    if handle.closed_at is not None and handle.closed_at <= exited_at + 1e-9:
        return
    left = f"When `{call}` {situation}, the connection was still open afterwards"
    dropped = dropped_coroutine(sim, "disconnect")
    if dropped:
        where = short_where(dropped.where)
        fail(
            f"{left}: {cleanup} called disconnect(){where} but never awaited it, so the close "
            "never ran.",
            misconception="Calling an async function only creates a coroutine object; "
            "the cleanup happens only when you `await` it (Python warns 'coroutine ... was "
            "never awaited').",
            next_step="Write `await disconnect(...)`.",
        )
    if db.disconnects():
        fail(
            f"{left}: the block ended at t={secs(exited_at)} while disconnect() was still "
            "in progress; it ran in the background instead of being awaited.",
            misconception="Code after `async with` may assume the resource is released; "
            "that is only true if the cleanup is awaited inside the exit.",
            next_step="`await disconnect(...)` directly instead of starting a task for it.",
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


# -- task 1: the class --------------------------------------------------------------------


def run_class_block(student, sim, *, raise_inside: bool):
    """Enter the student's class, spend some time in the body, maybe raise; report."""
    seen: dict = {"escaped": None}

    async def scenario():
        manager = student.AsyncDatabaseConnection(URL)
        try:
            async with manager:
                seen["entered_at"] = now()
                await asyncio.sleep(BODY_DELAY)
                if raise_inside:
                    raise QueryFailed("the query failed")
        except QueryFailed as exc:
            seen["escaped"] = exc
        seen["exited_at"] = now()

    sim.run(scenario(), what="AsyncDatabaseConnection")
    return seen


@pytest.mark.task(1)
def test_enter_returns_connection(student, sim, db):
    seen: dict = {}

    async def scenario():
        manager = student.AsyncDatabaseConnection(URL)
        async with manager as conn:
            seen["conn"] = conn
            if conn is manager:
                try:
                    seen["rows"] = await conn.query("SELECT 1")
                except (ConnectionError, TypeError) as exc:
                    seen["error"] = exc
        seen["manager"] = manager

    sim.run(scenario(), what="AsyncDatabaseConnection")
    conn, manager = seen["conn"], seen["manager"]
    call = f"{CLASS_CALL} as conn:"
    if conn is None:
        fail(
            f"`{call}` gave conn = None: the `as` target is whatever __aenter__ returns, and "
            "yours returned nothing.",
            misconception="__aenter__ doing the setup is not enough; its return value is "
            "what the `as` name is bound to.",
            next_step="End __aenter__ with `return self`.",
        )
    if conn is not manager:
        what = "the raw handle from connect()" if isinstance(conn, FakeHandle) else f"{conn!r:.60}"
        fail(
            f"`{call}` gave conn = {what}, not the AsyncDatabaseConnection itself, so "
            "conn.query(...) is not available.",
            misconception="Whatever __aenter__ returns becomes the `as` target.",
            next_step="Store the handle in self.handle and `return self`.",
        )
    if "error" in seen:
        fail(
            f"Inside `{call}`, conn.query('SELECT 1') found no open connection in "
            f"conn.handle ({manager.handle!r:.60}).",
            misconception="The provided query method reads self.handle, so __aenter__ has "
            "to store there exactly what `await connect(self.url)` returned.",
            next_step="Write `self.handle = await connect(self.url)` in __aenter__.",
        )
    if seen.get("rows") != [(1,)]:
        fail(f"Inside `{call}`, conn.query('SELECT 1') returned {seen.get('rows')!r:.80}, "
             "not [(1,)].", next_step="Don't change the provided query method.")


@pytest.mark.task(1)
def test_closes_after_block(student, sim, db):
    seen = run_class_block(student, sim, raise_inside=False)
    handle = the_handle(sim, db, CLASS_CALL)
    if handle.opened_at is None or handle.opened_at > seen["entered_at"] + 1e-9:
        fail(
            f"The body of `{CLASS_CALL}` started at t={secs(seen['entered_at'])}, before the "
            "connection was open.",
            misconception="`async with` runs the body only after __aenter__ has finished, so "
            "__aenter__ must await the connection itself, not start it in the background.",
            next_step="Write `self.handle = await connect(self.url)` in __aenter__.",
        )
    expect_closed(sim, db, handle, seen["exited_at"], call=CLASS_CALL,
                  situation="finished normally", cleanup="your __aexit__", raised=False)


@pytest.mark.task(1)
def test_closes_when_block_raises(student, sim, db):
    seen = run_class_block(student, sim, raise_inside=True)
    handle = the_handle(sim, db, CLASS_CALL)
    expect_closed(sim, db, handle, seen["exited_at"], call=CLASS_CALL,
                  situation="raised QueryFailed inside the block", cleanup="your __aexit__",
                  raised=True)


@pytest.mark.task(1)
def test_error_is_not_swallowed(student, sim, db):
    seen = run_class_block(student, sim, raise_inside=True)
    if seen["escaped"] is None:
        fail(
            f"The QueryFailed raised inside `{CLASS_CALL}` never reached the caller: the "
            "block ended as if nothing had gone wrong.",
            misconception="When __aexit__ returns a true value (such as True), Python treats "
            "the exception as handled and swallows it, so failures go unnoticed.",
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
            next_step="Put `@contextlib.asynccontextmanager` on the line above "
            "`async def open_database`.",
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


def run_manager_block(student, sim, *, raise_inside: bool):
    seen: dict = {"escaped": None}

    async def scenario():
        manager = open_manager(student)
        try:
            async with manager as handle:
                seen["handle"] = handle
                seen["open_inside"] = isinstance(handle, FakeHandle) and handle.open
                await asyncio.sleep(BODY_DELAY)
                if raise_inside:
                    raise QueryFailed("the query failed")
        except QueryFailed as exc:
            seen["escaped"] = exc
        seen["exited_at"] = now()

    sim.run(scenario(), what="open_database")
    return seen


@pytest.mark.task(2)
def test_manager_yields_open_handle(student, sim, db):
    seen = run_manager_block(student, sim, raise_inside=False)
    got = seen["handle"]
    if inspect.iscoroutine(got):
        got.close()
        fail(
            f"`{MANAGER_CALL} as handle:` gave handle = a coroutine: open_database yielded "
            "connect(url) without awaiting it, so no connection was opened.",
            misconception="Calling an async function only creates a coroutine; its result "
            "(the handle) exists only once you await it.",
            next_step="`handle = await connect(url)`, then `yield handle`.",
        )
    handle = the_handle(sim, db, MANAGER_CALL)
    if got is not handle:
        fail(
            f"`{MANAGER_CALL} as handle:` gave handle = {got!r:.60}; expected the handle "
            f"connect() returned ({handle!r}).",
            misconception="The value you `yield` in an @asynccontextmanager generator is what "
            "the `as` target gets.",
            next_step="`handle = await connect(url)`, then `yield handle`.",
        )
    if not seen["open_inside"]:
        fail(
            f"Inside `{MANAGER_CALL} as handle:` the connection was not open yet.",
            next_step="Await connect(url) before the yield.",
        )
    expect_closed(sim, db, handle, seen["exited_at"], call=MANAGER_CALL,
                  situation="finished normally", cleanup="open_database", raised=False)


@pytest.mark.task(2)
def test_manager_closes_when_block_raises(student, sim, db):
    seen = run_manager_block(student, sim, raise_inside=True)
    handle = the_handle(sim, db, MANAGER_CALL)
    expect_closed(sim, db, handle, seen["exited_at"], call=MANAGER_CALL,
                  situation="raised QueryFailed inside the block", cleanup="open_database",
                  raised=True)


@pytest.mark.task(2)
def test_manager_keeps_the_error(student, sim, db):
    seen = run_manager_block(student, sim, raise_inside=True)
    if seen["escaped"] is None:
        fail(
            f"The QueryFailed raised inside `{MANAGER_CALL}` never reached the caller: your "
            "generator caught it at the `yield` and did not raise it again, which tells "
            "asynccontextmanager the error was handled.",
            misconception="An `except` around the yield that doesn't re-raise swallows every "
            "failure of the body.",
            next_step="Use try/finally for the cleanup (no except), or end your except "
            "block with a bare `raise`.",
        )
