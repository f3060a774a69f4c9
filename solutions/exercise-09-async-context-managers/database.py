"""Exercise 09 reference solution: awaited setup and cleanup, errors left to propagate."""

import asyncio
import contextlib


class Handle:
    """Provided: what connect() returns in this demo. Don't change this class."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.open = True


async def connect(url: str) -> Handle:
    """Provided: open a connection to ``url`` (takes 0.3 s). Don't change this function."""
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
        self.handle = None

    async def query(self, sql: str) -> list[tuple]:
        """Provided: run ``sql`` on this connection. Don't change this method."""
        return await run_query(self.handle, sql)

    async def __aenter__(self) -> "AsyncDatabaseConnection":
        self.handle = await connect(self.url)
        return self

    async def __aexit__(self, exc_type, exc, tb) -> None:
        # Returning None (falsy) lets any exception from the block carry on.
        await disconnect(self.handle)


@contextlib.asynccontextmanager
async def open_database(url: str):
    """Task 2: the finally runs whether the body finishes or raises at the yield."""
    handle = await connect(url)
    try:
        yield handle
    finally:
        await disconnect(handle)


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
