"""Exercise 10 reference solution: async generators, bounded chunks, aclosing, gather."""

import asyncio
import contextlib


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
    """Provided: open a cursor on the ``items`` table (takes 0.2 s). Don't change this."""
    await asyncio.sleep(0.2)
    return Cursor()


async def lookup_price(item_id: int) -> float:
    """Provided: ask the pricing service for one price (0.1 to 0.4 s). Don't change this."""
    await asyncio.sleep(0.1 * (1 + item_id % 4))
    return round(2.5 + 1.25 * item_id, 2)


async def fetch_rows(count: int):
    """Tasks 1 and 3: each row is yielded as soon as it arrives; finally always closes."""
    cursor = await open_cursor()
    try:
        for _ in range(count):
            yield await cursor.fetch()
    finally:
        await cursor.close()


async def export_csv(rows, chunk_size: int):
    """Task 2: at most chunk_size lines are buffered; the header rides on the first chunk."""
    header = "id,name\n"
    lines: list[str] = []
    async for row in rows:
        lines.append(f"{row['id']},{row['name']}\n")
        if len(lines) == chunk_size:
            yield header + "".join(lines)
            header, lines = "", []
    if lines or header:
        yield header + "".join(lines)


async def find_row(name: str, limit: int) -> dict | None:
    """Task 3: aclosing closes the stream on the way out, even when we return early."""
    async with contextlib.aclosing(fetch_rows(limit)) as rows:
        async for row in rows:
            if row["name"] == name:
                return row
    return None


async def price_table(item_ids: list[int]) -> dict[int, float]:
    """Task 4: gather runs every lookup at once and keeps the order of item_ids."""
    prices = await asyncio.gather(*(lookup_price(item_id) for item_id in item_ids))
    return dict(zip(item_ids, prices, strict=True))


async def _demo() -> None:
    async for row in fetch_rows(3):
        print("row:", row)
    async for chunk in export_csv(fetch_rows(7), chunk_size=3):
        print("chunk:", repr(chunk))
    print("found:", await find_row("item-4", 10))
    print("prices:", await price_table([1, 2, 3, 4]))


if __name__ == "__main__":
    asyncio.run(_demo())
