"""Exercise 09: async context managers that always close. See README.md for the tasks."""

import asyncio
import contextlib


class Handle:
    """Provided: what connect() returns in this demo. Don't change this class."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.open = True


async def connect(url: str) -> Handle:
    """Provided: open a connection to ``url`` (takes 0.3 s). Don't change this function.

    The grader swaps connect, disconnect and run_query for instrumented copies.
    """
    await asyncio.sleep(0.3)
    print(f"  connected to {url}")
    return Handle(url)


async def disconnect(handle: Handle) -> None:
    """Provided: close a connection opened by connect() (takes 0.2 s). Don't change this."""
    await asyncio.sleep(0.2)
    handle.open = False
    print(f"  disconnected from {handle.url}")


async def run_query(handle: Handle, sql: str) -> list[tuple]:
    """Provided: run ``sql`` on an open connection (takes 0.1 s). Don't change this."""
    if handle is None or not handle.open:
        raise ConnectionError("run_query needs an open connection")
    await asyncio.sleep(0.1)
    return [(1,)]


class AsyncDatabaseConnection:
    """Task 1: ``async with AsyncDatabaseConnection(url) as conn:`` opens and always closes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.handle = None  # __aenter__ stores what connect() returns here

    async def query(self, sql: str) -> list[tuple]:
        """Provided: run ``sql`` on this connection. Don't change this method."""
        return await run_query(self.handle, sql)

    async def __aenter__(self):
        # TODO(task 1): connect, keep the handle in self.handle, return what `as` should get.
        raise NotImplementedError("__aenter__ is not written yet")

    async def __aexit__(self, exc_type, exc, tb):
        # TODO(task 1): always disconnect, and don't hide the block's exception.
        raise NotImplementedError("__aexit__ is not written yet")


@contextlib.asynccontextmanager
async def open_database(url: str):
    """Task 2: connect, yield the handle, and always disconnect afterwards."""
    # TODO(task 2): setup before the yield, cleanup after it, even if the body raises.
    raise NotImplementedError("open_database is not written yet")
    yield  # the yield makes this function an async generator


async def _demo() -> None:
    async with AsyncDatabaseConnection("db://demo") as conn:
        print("  query result:", await conn.query("SELECT 1"))
    try:
        async with open_database("db://demo") as handle:
            print("  query result:", await run_query(handle, "SELECT 1"))
            raise RuntimeError("something went wrong inside the block")
    except RuntimeError as exc:
        print(f"  the error still reached us: {exc}")


if __name__ == "__main__":
    asyncio.run(_demo())
