"""Exercise 10: stream rows with async generators. See README.md for the tasks."""

import asyncio


class Cursor:
    """Provided: a pretend database cursor over the ``items`` table. Don't change this."""

    def __init__(self) -> None:
        self._next_id = 0
        self.closed = False

    async def fetch(self) -> dict:
        """Read the next row (takes 0.1 s)."""
        await asyncio.sleep(0.1)
        row = {"id": self._next_id, "name": f"item-{self._next_id}"}
        self._next_id += 1
        return row

    async def close(self) -> None:
        """Release the cursor (takes 0.05 s)."""
        await asyncio.sleep(0.05)
        self.closed = True


async def open_cursor() -> Cursor:
    """Provided: open a cursor on the ``items`` table (takes 0.2 s). Don't change this.

    The grader swaps open_cursor and lookup_price for instrumented copies.
    """
    await asyncio.sleep(0.2)
    return Cursor()


async def lookup_price(item_id: int) -> float:
    """Provided: ask the pricing service for one price (0.1 to 0.4 s). Don't change this."""
    await asyncio.sleep(0.1 * (1 + item_id % 4))
    return round(2.5 + 1.25 * item_id, 2)


async def fetch_rows(count: int):
    """Tasks 1 and 3: yield the first ``count`` rows one at a time, as they are fetched."""
    # TODO(task 1): open a cursor, then fetch and hand on the rows one by one.
    # TODO(task 3): close the cursor however the stream ends, even if abandoned early.
    raise NotImplementedError("fetch_rows is not written yet")


async def export_csv(rows, chunk_size: int):
    """Task 2: stream ``rows`` as CSV text, ``chunk_size`` rows per chunk."""
    # TODO(task 2): header first, then chunks of chunk_size lines, each sent on as soon
    # as it is full; never read more than chunk_size rows ahead of the consumer.
    raise NotImplementedError("export_csv is not written yet")


async def find_row(name: str, limit: int) -> dict | None:
    """Task 3: the first of the first ``limit`` rows named ``name``, or None."""
    # TODO(task 3): stop at the first match and close the stream before returning.
    raise NotImplementedError("find_row is not written yet")


async def price_table(item_ids: list[int]) -> dict[int, float]:
    """Task 4: {item_id: price} for every id, with all the lookups running together."""
    # TODO(task 4): `{i: await lookup_price(i) for i in item_ids}` gives the right answer,
    # but one lookup at a time. Start them all first.
    raise NotImplementedError("price_table is not written yet")


async def _demo() -> None:
    async for row in fetch_rows(3):
        print("row:", row)
    async for chunk in export_csv(fetch_rows(7), chunk_size=3):
        print("chunk:", repr(chunk))
    print("found:", await find_row("item-4", 10))
    print("prices:", await price_table([1, 2, 3, 4]))


if __name__ == "__main__":
    asyncio.run(_demo())
