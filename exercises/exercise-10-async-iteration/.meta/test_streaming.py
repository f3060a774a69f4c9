"""Hidden checks for exercise 10 (async generators, streaming export, closing, comprehensions).

Streams are driven by the checks themselves, one value at a time, so the verdicts are
about *when* each value arrived (simulated time) and how far the code read ahead, not
just about the final list.

Each test ends with ``return judged(judge_<check>, ...)``: its judge decides here, then
again in the grading parent on plain observations (values with their arrival times, the
fakes' facts, the FakeIO record and the simulation), where no student code runs. The
judges hold the times against the timeline and this suite's own delays. Only the judges'
conditions earn points.
"""

import asyncio
import contextlib
import csv
import inspect
import io as textio
import re
from pathlib import Path

import pytest

from grader.suite import (
    FakeIO,
    Repr,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_pending_tasks,
    fail,
    judged,
    ran_one_after_another,
)

OPEN_DELAY = 0.2
ROW_DELAY = 0.1
CLOSE_DELAY = 0.05
EPS = 1e-9
HEADER = ["id", "name"]


def secs(value: float) -> str:
    return f"{round(value, 2):g} s"


def now() -> float:
    return asyncio.get_running_loop().time()


def make_row(i: int) -> dict:
    return {"id": i, "name": f"item-{i}"}


def short_where(where: str) -> str:
    """'File "/long/path/x.py", line 49, in f' -> ' (x.py, line 49, in f)'."""
    match = re.search(r'File "([^"]+)", line (\d+), in (\S+)', where or "")
    if not match:
        return f" ({where})" if where else ""
    return f" ({Path(match[1]).name}, line {match[2]}, in {match[3]})"


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


STREAM_DELAYS = {"open cursor": OPEN_DELAY, "close cursor": CLOSE_DELAY}


def expect_suite_delays(io, delays: dict[str, float] = STREAM_DELAYS) -> None:
    """Every fake operation took the time this suite gives it, not one of its own."""
    for op in io.operations:
        want = ROW_DELAY if op.label.startswith("row ") else delays.get(op.label)
        if want is not None and op.delay != want:
            impossible(f"{op.label!r} was told {op.delay} s, not {want} s")


def ok_ends(io, label: str) -> list[float]:
    return [op.end for op in io.operations if op.label == label and op.outcome == "ok"]


def expect_in_clock_order(moments: list[float], sim) -> None:
    """Moments the scenario wrote down come in order, within the run."""
    if moments != sorted(moments) or any(
            not sim.started - EPS <= t <= sim.started + sim.elapsed + EPS for t in moments):
        impossible(f"moments {moments[:5]} out of order or outside the run")


# -- fakes ----------------------------------------------------------------------------------


class FakeCursor:
    def __init__(self, io: FakeIO) -> None:
        self.io = io
        self.next_id = 0
        self.closed_at: float | None = None

    async def fetch(self):
        if self.closed_at is not None:
            raise RuntimeError("fetch() on a cursor that is already closed")
        i = self.next_id
        self.next_id += 1
        return await self.io.operation(f"row {i}", ROW_DELAY, result=make_row(i))

    async def close(self):
        await self.io.operation("close cursor", CLOSE_DELAY)
        self.closed_at = now()


FakeCursor.fetch.__qualname__ = "Cursor.fetch"
FakeCursor.close.__qualname__ = "Cursor.close"


class Table:
    """Instrumented open_cursor: every cursor it hands out is kept for inspection."""

    def __init__(self, sim) -> None:
        self.io = FakeIO(sim)
        self.cursors: list[FakeCursor] = []

    async def open_cursor(self):
        await self.io.operation("open cursor", OPEN_DELAY)
        cursor = FakeCursor(self.io)
        self.cursors.append(cursor)
        return cursor


Table.open_cursor.__qualname__ = "open_cursor"


def row_op(io, row_id):
    """The fetch of row ``row_id`` on the timeline, if there was one."""
    ops = io.calls(f"row {row_id}")
    return ops[0] if ops else None


@pytest.fixture
def table(sim, student):
    fake = Table(sim)
    student.replace("open_cursor", fake.open_cursor)
    return fake


def describe(value) -> str:
    if isinstance(value, list | tuple):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"{type(value).__name__} {value!r:.40}"


async def as_stream(value, call: str):
    """The value if ``async for`` can use it; otherwise a failure saying what it is."""
    if hasattr(value, "__aiter__"):
        return value
    if inspect.iscoroutine(value):
        result = await value  # a stub's NotImplementedError surfaces here as "not written"
        fail(
            f"`{call}` is not an async iterator: it is an `async def` function that returns "
            f"{describe(result)}, so `async for row in {call}` fails "
            "with TypeError ('async for' requires an object with __aiter__ method, got "
            "coroutine).",
            misconception="`return` in an `async def` hands back one finished value at the "
            "very end, here after every row was read. A `yield` inside `async def` makes an "
            "async generator instead, which hands out values one at a time as they arrive.",
            next_step="Instead of building a list, `yield` each value as soon as you have it.",
        )
    if hasattr(value, "__iter__"):
        fail(
            f"`{call}` is not an async iterator: it returned a {type(value).__name__}, which "
            "only a plain `for` can loop over.",
            misconception="Only an `async def` function containing `yield` (an async "
            "generator) can await between values and be used with `async for`.",
            next_step="Define it with `async def` and `yield` each value.",
        )
    fail(f"`{call}` returned {value!r:.60}, which `async for` can't loop over.",
         next_step="Write it as an async generator: `async def` with `yield` inside.")


# -- task 1: fetch_rows ---------------------------------------------------------------------


@pytest.mark.task(1)
def test_yields_every_row(student, sim, table):
    async def scenario():
        stream = await as_stream(student.fetch_rows(5), "fetch_rows(5)")
        five = [row async for row in stream]
        stream = await as_stream(student.fetch_rows(0), "fetch_rows(0)")
        none = [row async for row in stream]
        return five, none

    five, none = sim.run(scenario(), what="fetch_rows")
    return judged(judge_yields_every_row, five=five, none=none)


def type_name(value: object) -> str:
    """A value's type name, whether it is live or came back as a ``Repr``."""
    return value.type_name if isinstance(value, Repr) else type(value).__name__


def judge_yields_every_row(seen):
    five, none = seen["five"], seen["none"]
    unawaited = [row for row in [*five, *none] if type_name(row) == "coroutine"]
    if unawaited:
        fail(
            f"`[row async for row in fetch_rows(5)]` received {len(unawaited)} coroutine "
            "objects instead of rows: fetch_rows yielded `cursor.fetch()` without awaiting "
            "it, so no row was ever read.",
            misconception="Calling an async method only builds a coroutine object; the row "
            "exists once it has been awaited, and `yield` does not await for you.",
            next_step="Await each fetch and yield the row it returns.",
        )
    advice = dict(
        misconception="fetch_rows(count) yields exactly the first `count` rows, in the order "
        "the cursor returns them.",
        next_step="Open one cursor and yield `await cursor.fetch()` `count` times.",
    )
    expect_equal(five, [make_row(i) for i in range(5)],
                 call="[row async for row in fetch_rows(5)]", **advice)
    expect_equal(none, [], call="[row async for row in fetch_rows(0)]", **advice)


@pytest.mark.task(1)
def test_rows_stream_as_fetched(student, sim, table):
    async def scenario():
        stream = await as_stream(student.fetch_rows(5), "fetch_rows(5)")
        return [(row, now()) async for row in stream]

    arrivals = sim.run(scenario(), what="fetch_rows")
    return judged(judge_rows_stream_as_fetched, arrivals=arrivals, io=table.io, sim=sim)


def judge_rows_stream_as_fetched(seen):
    arrivals, io = seen["arrivals"], seen["io"]
    expect_suite_delays(io)
    expect_in_clock_order([arrived for _, arrived in arrivals], seen["sim"])
    fetched = [op for op in io.operations if op.label.startswith("row ") and op.end]
    for position, (row, arrived) in enumerate(arrivals):
        op = row_op(io, row.get("id") if isinstance(row, dict) else None)
        if op is None or op.end is None or arrived <= op.end + EPS:
            continue
        read_by_then = sum(1 for f in fetched if f.end <= arrived + EPS)
        fail(
            f"`async for row in fetch_rows(5)` received row {position} only at "
            f"t={secs(arrived)}, though it had been fetched at t={secs(op.end)}: fetch_rows "
            f"read {read_by_then} rows before yielding it.",
            misconception="Collecting rows into a list and yielding them afterwards makes the "
            "consumer wait for the last row (and keeps every row in memory); an async "
            "generator should hand each row on as soon as it is read.",
            next_step="`yield` each row right after `await cursor.fetch()` returns it.",
        )


# -- task 2: export_csv ---------------------------------------------------------------------


class RowSource:
    """An async iterator of ``total`` rows that knows how far its reader is ahead."""

    def __init__(self, io: FakeIO, total: int) -> None:
        self.io = io
        self.total = total
        self.requested = 0
        self.fetched = 0
        self.delivered = 0  # data rows the consumer has received in chunks so far
        self.peak_ahead = 0

    def __aiter__(self):
        return self

    async def __anext__(self):
        if self.requested >= self.total:
            raise StopAsyncIteration
        i = self.requested
        self.requested += 1
        row = await self.io.operation(f"row {i}", ROW_DELAY, result=make_row(i))
        self.fetched += 1
        self.peak_ahead = max(self.peak_ahead, self.fetched - self.delivered)
        return row

    async def aclose(self):
        self.requested = self.total


def csv_rows(text: str) -> list[list[str]]:
    return [row for row in csv.reader(textio.StringIO(text)) if row]


def data_rows_in(chunk: str) -> int:
    return sum(1 for row in csv_rows(chunk) if row != HEADER)


def export_call(total: int, chunk_size: int) -> str:
    return f"export_csv(<{total} rows>, {chunk_size})"


def expect_text(chunk, call: str) -> None:
    if not isinstance(chunk, str):
        fail(
            f"`{call}` yielded a {type(chunk).__name__} ({chunk!r:.60}); each chunk "
            "should be a string of CSV text.",
            misconception="A chunk is a piece of the finished file, ready to be written "
            "or sent as it is.",
            next_step="Join the chunk's lines into one string, e.g. "
            "`''.join(lines)`, and yield that.",
        )


def expect_received(received: list, total: int, chunk_size: int, io, sim) -> None:
    """Every chunk is text; arrivals in clock order, each after as many rows as it says
    had been read (the source's rows take this suite's delay)."""
    for chunk, _, _ in received:
        expect_text(chunk, export_call(total, chunk_size))
    expect_suite_delays(io)
    expect_in_clock_order([at for _, at, _ in received], sim)
    ends = [op.end for op in io.operations if op.label.startswith("row ") and op.outcome == "ok"]
    for _, at, fetched in received:
        if not sum(e < at - EPS for e in ends) <= fetched <= sum(e <= at + EPS for e in ends):
            impossible(f"{fetched} rows read by {at}, which the timeline does not allow")


async def consume_export(student, source: RowSource, chunk_size: int, pause: float = 0.0):
    """Read the export chunk by chunk; return [(chunk, arrived_at, rows_fetched_by_then)]."""
    call = export_call(source.total, chunk_size)
    stream = await as_stream(student.export_csv(source, chunk_size), call)
    received = []
    async for chunk in stream:
        received.append((chunk, now(), source.fetched))
        expect_text(chunk, call)
        source.delivered += data_rows_in(chunk)
        if pause:
            await asyncio.sleep(pause)
    return received


def read_everything_first(received, total: int, chunk_size: int) -> None:
    first = next((r for r in received if data_rows_in(r[0])), None)
    if first is not None and first[2] >= total > chunk_size:
        fail(
            f"`{export_call(total, chunk_size)}` read all {total} rows before it "
            f"yielded its first chunk, at t={secs(first[1])}, although the first "
            f"{chunk_size} rows were ready at t={secs(ROW_DELAY * chunk_size)}.",
            misconception="Building the whole export in a list first makes the consumer wait "
            "for the last row and keeps every row in memory at once; a streaming export "
            "hands each chunk on as soon as it is full.",
            next_step="Keep a buffer of at most chunk_size lines; when it is full, yield it as "
            "one string and start a new buffer.",
        )


def expect_csv(received: list, total: int, chunk_size: int) -> None:
    call = export_call(total, chunk_size)
    chunks = [chunk for chunk, _, _ in received]
    for chunk in chunks:
        expect_text(chunk, call)
    got = csv_rows("".join(chunks))
    wanted = [HEADER] + [[str(i), f"item-{i}"] for i in range(total)]
    if got != wanted:
        index = next((i for i, (g, w) in enumerate(zip(got, wanted, strict=False)) if g != w),
                     min(len(got), len(wanted)))
        line = ",".join(got[index]) if index < len(got) else "(nothing)"
        expected_line = ",".join(wanted[index]) if index < len(wanted) else "(nothing)"
        missing = len(wanted) - len(got)
        if got == wanted[:len(got)] and 0 < missing < chunk_size:
            fail(
                f"Joined together, the chunks from `{call}` stop after row "
                f"{len(got) - 2}: the last {missing} row(s), fewer than a full chunk of "
                f"{chunk_size}, were never yielded.",
                misconception="When the rows run out, the lines still in your buffer form "
                "the last, shorter chunk; the loop ends without yielding them.",
                next_step="After the `async for` loop, yield whatever is left in the buffer "
                "if it is not empty.",
            )
        fail(
            f"Joined together, the chunks from `{call}` read as CSV gave {len(got)} lines; "
            f"line {index + 1} is `{line}` where `{expected_line}` was expected.",
            misconception="The export is the header line `id,name`, then one `id,name` "
            "line per row in order, each line ending with a newline.",
            next_step="Write `f\"{row['id']},{row['name']}\\n\"` for each row, after a "
            "header line.",
        )
    sizes = [n for n in (data_rows_in(chunk) for chunk in chunks) if n]
    full, rest = divmod(total, chunk_size)
    wanted_sizes = [chunk_size] * full + ([rest] if rest else [])
    if sizes != wanted_sizes:
        fail(
            f"The chunks from `{call}` held {sizes} rows each; expected {wanted_sizes}: "
            "full chunks of chunk_size rows, and only the last one shorter.",
            misconception="Chunks larger than chunk_size break the memory promise; "
            "smaller ones (such as one row each) make many tiny writes.",
            next_step="Yield a chunk exactly when chunk_size lines are buffered, and "
            "whatever is left at the end.",
        )


EXPORTS = ((10, 3), (6, 3))


@pytest.mark.task(2)
def test_csv_has_every_row(student, sim):
    io = FakeIO(sim)
    exports = []
    for total, chunk_size in EXPORTS:
        if exports:  # judge the first export before a second call can raise
            expect_csv(exports[0], *EXPORTS[0])
        source = RowSource(io, total)
        exports.append(sim.run(consume_export(student, source, chunk_size), what="export_csv"))
    return judged(judge_csv_has_every_row, exports=exports)


def judge_csv_has_every_row(seen):
    for received, (total, chunk_size) in zip(seen["exports"], EXPORTS, strict=True):
        expect_csv(received, total, chunk_size)


@pytest.mark.task(2)
def test_first_chunk_arrives_early(student, sim):
    source = RowSource(FakeIO(sim), 10)
    received = sim.run(consume_export(student, source, 3), what="export_csv")
    return judged(judge_first_chunk_arrives_early, received=received, io=source.io, sim=sim)


def judge_first_chunk_arrives_early(seen):
    received = seen["received"]
    expect_received(received, 10, 3, seen["io"], seen["sim"])
    first = next((r for r in received if data_rows_in(r[0])), None)
    if first is None:
        fail(f"`{export_call(10, 3)}` yielded no rows at all.",
             next_step="Yield a chunk each time chunk_size rows are buffered.")
    ready = ROW_DELAY * 3
    if first[1] > ready + 1e-6:
        read_everything_first(received, 10, 3)
        fail(
            f"The first chunk of `{export_call(10, 3)}` arrived at t={secs(first[1])}, but its "
            f"rows were ready at t={secs(ready)}: it had read {first[2]} rows by then.",
            misconception="A streaming export hands each chunk on as soon as it is full.",
            next_step="Yield as soon as chunk_size lines are buffered.",
        )


@pytest.mark.task(2)
def test_memory_stays_bounded(student, sim):
    source = RowSource(FakeIO(sim), 9)
    # A slow consumer: it spends 1 s writing each chunk before asking for the next.
    received = sim.run(consume_export(student, source, 3, pause=1.0), what="export_csv")
    return judged(judge_memory_stays_bounded, received=received, peak_ahead=source.peak_ahead,
                  io=source.io, sim=sim)


def fewest_ahead(received: list, io) -> int:
    """The fewest rows read ahead of the consumer that the timeline allows at its peak
    (a row and a chunk at the same moment count as delivered first)."""
    events = sorted([(op.end + EPS, 1, 0) for op in io.operations
                     if op.label.startswith("row ") and op.outcome == "ok"]
                    + [(at - EPS, 0, data_rows_in(chunk)) for chunk, at, _ in received])
    fetched = delivered = peak = 0
    for _, is_row, rows in events:
        fetched += is_row
        delivered += rows
        peak = max(peak, fetched - delivered) if is_row else peak
    return peak


def judge_memory_stays_bounded(seen):
    received, peak_ahead, sim = seen["received"], seen["peak_ahead"], seen["sim"]
    expect_received(received, 9, 3, seen["io"], sim)
    if peak_ahead < fewest_ahead(received, seen["io"]):
        impossible(f"a peak of {peak_ahead} rows ahead, which the timeline does not allow")
    if peak_ahead > 3:
        read_everything_first(received, 9, 3)
        fail(
            f"`{export_call(9, 3)}` read ahead: while the consumer was busy with a chunk, it "
            f"kept fetching, and at one point held {peak_ahead} rows the consumer had "
            "not received yet (at most 3 are allowed).",
            misconception="Reading ahead into an unbounded buffer (a list, or an "
            "asyncio.Queue without maxsize) lets a fast source fill memory when the consumer "
            "is slow; an async generator paused at its `yield` stops reading until asked.",
            next_step="Read rows only from inside the generator, between yields (or bound "
            "the queue with maxsize).",
        )
    expect_no_pending_tasks(sim, what="export_csv")


# -- task 3: closing the stream --------------------------------------------------------------


@pytest.mark.task(3)
def test_generator_closes_on_break(student, sim, table):
    async def scenario():
        stream = await as_stream(student.fetch_rows(3), "fetch_rows(3)")
        async for _ in stream:
            pass
        after_full = table.cursors[0].closed_at if table.cursors else None
        stream = await as_stream(student.fetch_rows(10), "fetch_rows(10)")
        if not hasattr(stream, "aclose"):
            fail("fetch_rows(10) has no aclose() method, so a consumer can't close it early.",
                 next_step="Write fetch_rows as an async generator (`async def` with `yield`).")
        got, ignored_exit = 0, False
        try:
            async with contextlib.aclosing(stream):
                async for _ in stream:
                    got += 1
                    if got == 3:
                        break
        except RuntimeError as exc:  # "async generator ignored GeneratorExit"
            if "GeneratorExit" not in str(exc):
                raise
            ignored_exit = True
        early = table.cursors[1] if len(table.cursors) > 1 else None
        return after_full, early, now(), ignored_exit

    after_full, early, closed_by, ignored_exit = sim.run(scenario(), what="fetch_rows")
    return judged(judge_generator_closes_on_break, after_full=after_full,
                  early_closed_at=early.closed_at if early is not None else None,
                  closed_by=closed_by, ignored_exit=ignored_exit,
                  uses=student.uses("GeneratorExit", "BaseException"), io=table.io, sim=sim)


def expect_closes_on_the_timeline(closes: list, io) -> None:
    """Each close the fakes recorded is the end of a 'close cursor' of this suite's delay."""
    expect_suite_delays(io)
    if any(t not in ok_ends(io, "close cursor") for t in closes if t is not None):
        impossible(f"a cursor closed at {closes} when no close finished")


def judge_generator_closes_on_break(seen):
    after_full, early_closed_at, closed_by, sim = (
        seen["after_full"], seen["early_closed_at"], seen["closed_by"], seen["sim"])
    expect_closes_on_the_timeline([after_full, early_closed_at], seen["io"])
    expect_in_clock_order([closed_by], sim)
    dropped = next((d for d in sim.never_awaited() if d.name == "Cursor.close"), None)
    if dropped:
        fail(
            f"fetch_rows called cursor.close(){short_where(dropped.where)} but never awaited "
            "it, so the cursor was never released.",
            misconception="Calling an async method only creates a coroutine; it runs only "
            "when awaited.",
            next_step="The cursor's close is a coroutine: await it.",
        )
    if seen["ignored_exit"]:
        uses = seen["uses"]
        caught = ("your `except GeneratorExit:`" if uses.get("GeneratorExit") else
                  "your `except BaseException:`" if uses.get("BaseException") else
                  "an `except` that matches it (a bare `except:` does)")
        fail(
            "A consumer read 3 rows from fetch_rows(10), broke out of its `async for`, and "
            "closed the generator (with contextlib.aclosing), but closing failed with "
            "RuntimeError: async generator ignored GeneratorExit. The GeneratorExit raised "
            f"at your `yield` was caught ({caught}) and the generator went on to yield "
            "again.",
            misconception="aclose() raises GeneratorExit at the paused `yield` to make the "
            "generator finish: it may clean up, but must not yield another value. Swallowing "
            "it and carrying on breaks every consumer that stops early.",
            next_step="Don't catch GeneratorExit; clean up in `finally:` (if you do catch "
            "it, end that block with a bare `raise` or `return`).",
        )
    if after_full is None:
        fail(
            "After `async for` read every row of fetch_rows(3), the cursor was never closed.",
            misconception="A generator that opens a resource owns it and must release it "
            "when it is done.",
            next_step="Close the cursor in a `finally:` around your loop, awaiting the close.",
        )
    if early_closed_at is None or early_closed_at > closed_by + EPS:
        fail(
            "A consumer read 3 rows from fetch_rows(10), broke out of its `async for`, and "
            "closed the generator (with contextlib.aclosing), but the cursor stayed open: "
            "the cleanup after your loop was skipped.",
            misconception="Closing a paused generator raises GeneratorExit at the `yield` "
            "where it waits; code after the loop never runs, only `finally:` blocks (and "
            "`async with` exits) do.",
            next_step="Put the loop inside `try:` and await the cursor's close in `finally:`.",
        )


class FakeStream:
    """A correct fetch_rows stand-in that records how far it was read and when it closed."""

    def __init__(self, io: FakeIO) -> None:
        self.io = io
        self.runs: list[dict] = []

    async def fetch_rows(self, count):
        run = {"count": count, "produced": 0, "closed_at": None}
        self.runs.append(run)
        try:
            for i in range(count):
                row = await self.io.operation(f"row {i}", ROW_DELAY, result=make_row(i))
                run["produced"] += 1
                yield row
        finally:
            await self.io.operation("close cursor", CLOSE_DELAY)
            run["closed_at"] = now()


FakeStream.fetch_rows.__qualname__ = "fetch_rows"


@pytest.mark.task(3)
def test_find_row_closes_stream(student, sim):
    stream = FakeStream(FakeIO(sim))
    student.replace("fetch_rows", stream.fetch_rows)

    async def scenario():
        found = await student.find_row("item-2", 10)
        found_at = now()
        missing = await student.find_row("item-99", 4)
        return found, found_at, missing

    found, found_at, missing = sim.run(scenario(), what="find_row")
    return judged(judge_find_row_closes_stream, found=found, found_at=found_at, missing=missing,
                  runs=stream.runs, io=stream.io, sim=sim)


def judge_find_row_closes_stream(seen):
    found, found_at, missing, runs, io = (
        seen["found"], seen["found_at"], seen["missing"], seen["runs"], seen["io"])
    expect_closes_on_the_timeline([run["closed_at"] for run in runs], io)
    expect_in_clock_order([found_at], seen["sim"])
    rows_read = sum(1 for op in io.operations if op.label.startswith("row ") and op.outcome == "ok")
    if sum(run["produced"] for run in runs) != rows_read:
        impossible(f"{rows_read} rows read on the timeline, but the runs say otherwise")
    expect_equal(found, make_row(2), call="find_row('item-2', 10)",
                 misconception="find_row returns the first row whose name matches.",
                 next_step="Compare row['name'] with name and return that row.")
    expect_equal(missing, None, call="find_row('item-99', 4)",
                 misconception="When none of the rows match, find_row returns None.",
                 next_step="Return None after the loop.")
    if not runs:
        fail("find_row never read fetch_rows(limit).",
             next_step="Loop over fetch_rows(limit) with `async for`.")
    run = runs[0]
    if run["produced"] > 4:
        fail(
            f"`find_row('item-2', 10)` read {run['produced']} rows although the match was the "
            "3rd: it kept reading after finding it.",
            misconception="Collecting the whole stream first (for example with an async "
            "comprehension) reads everything even when the answer comes early.",
            next_step="Return (or break) from inside the `async for` as soon as the row "
            "matches.",
        )
    if run["closed_at"] is None or run["closed_at"] > found_at + EPS:
        fail(
            f"`find_row('item-2', 10)` returned at t={secs(found_at)}, but the rows stream "
            "it stopped reading was still open: its cleanup (closing the cursor) had not run.",
            misconception="Leaving an `async for` early with break or return does not close "
            "an async generator; it stays paused at its `yield` until someone calls "
            "aclose(), which otherwise happens only whenever it gets garbage-collected.",
            next_step="Wrap the generator in `contextlib.aclosing` with `async with`, and loop "
                      "over it inside that block.",
        )


# -- task 4: price_table ---------------------------------------------------------------------


PRICE_DELAYS = {11: 0.4, 12: 0.1, 13: 0.3, 14: 0.2}
PRICE_BUDGET = 0.5
PRICE_CALL = f"price_table({list(PRICE_DELAYS)})"


def price_of(item_id: int) -> float:
    return round(2.5 + 1.25 * item_id, 2)


@pytest.mark.task(4)
def test_price_table_is_concurrent(student, sim):
    io = FakeIO(sim)

    async def lookup_price(item_id):
        return await io.operation(f"lookup_price({item_id})", PRICE_DELAYS.get(item_id, 0.1),
                                  result=price_of(item_id))

    student.replace("lookup_price", lookup_price)
    result = sim.run(student.price_table(list(PRICE_DELAYS)), what="price_table")
    sim.budget = PRICE_BUDGET
    return judged(judge_price_table_is_concurrent, result=result, io=io, sim=sim,
                  uses=student.uses("as_completed"))


def judge_price_table_is_concurrent(seen):
    result, io, sim, call = seen["result"], seen["io"], seen["sim"], PRICE_CALL
    expect_suite_delays(io, {f"lookup_price({i})": d for i, d in PRICE_DELAYS.items()})
    expected = {i: price_of(i) for i in PRICE_DELAYS}
    if (isinstance(result, dict) and result.keys() == expected.keys() and result != expected
            and sorted(map(repr, result.values())) == sorted(map(repr, expected.values()))):
        wrong = [i for i in expected if result[i] != expected[i]]
        fail(
            f"`{call}` returned the right prices under the wrong ids: {result!r}, where "
            f"{expected!r} was expected (ids {wrong} got another id's price).",
            misconception=("`asyncio.as_completed` hands results over in the order the "
                           "lookups finish, not the order of the ids you paired them with."
                           if seen["uses"].get("as_completed") else
                           "Each price has to stay with the id it was looked up for; "
                           "pairing results by position only works when they come back "
                           "in the order the ids were given."),
            next_step="Keep each price with its id: `dict(zip(item_ids, await "
            "asyncio.gather(...)))`, or one task per id in a dict.",
        )
    expect_equal(result, expected, call=call,
                 misconception="price_table maps every id to the price lookup_price gives it.",
                 next_step="Build a dict {item_id: price}.")
    if sim.elapsed > PRICE_BUDGET + EPS:
        ops = io.finished()
        if ran_one_after_another(ops) and all(op.in_main_task for op in ops):
            fail(
                f"`{call}` took {secs(sim.elapsed)} of simulated time: its {len(ops)} lookups "
                f"ran one after another, where running them together takes as long as the "
                f"slowest ({secs(max(PRICE_DELAYS.values()))}).",
                misconception="An `await` inside a comprehension, like "
                "`{i: await lookup_price(i) for i in ids}`, finishes each lookup before the "
                "comprehension moves on to the next id: it is a loop in disguise.",
                next_step="Start every lookup first (asyncio.gather, or a list of "
                "asyncio.create_task(...)) and only then await the results.",
            )
        expect_elapsed_at_most(sim, PRICE_BUDGET, what=f"`{call}`")
    expect_no_pending_tasks(sim, what="price_table")
