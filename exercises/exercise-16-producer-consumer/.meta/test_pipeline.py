"""Hidden checks for exercise 16 (bounded asyncio.Queue, several consumers, clean shutdown).

Each test runs the student's code and ends with ``return judged(judge_<check>, ...)``:
its judge decides here, then again in the grading parent on the plain observations of
each run (``Run.seen``: the download and resize timelines, the result, and what was still
waiting where), where no student code runs. Only the judges' conditions earn points.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from grader.suite import (
    FakeIO,
    SimulatedTimeout,
    SimulationDeadlock,
    expect_equal,
    fail,
    judged,
)

URLS = [f"img{i}.png" for i in range(10)]
DOWNLOAD_SECONDS = 0.1
# Each resize a hundredth of a second longer than the one before: no two end together.
RESIZE_SECONDS = 1.0
RESIZE_BUDGET = 4.6  # 10 resizes on 3 workers: four rounds of about 1 s, plus downloads
LATE_RETURN = 0.05  # simulated seconds between the last resize's end and the return
STUCK_LIMIT = 120.0  # simulated seconds; a correct run needs under 5


def resize_seconds(earlier: int) -> float:
    return RESIZE_SECONDS + 0.01 * earlier


class Studio:
    """Instrumented download / resize: every call is an operation on the timeline."""

    def __init__(self, sim) -> None:
        self.downloads = FakeIO(sim)
        self.resizes = FakeIO(sim)

    async def download(self, url: str) -> str:
        return await self.downloads.operation(f"download {url}", DOWNLOAD_SECONDS,
                                              result=f"pixels of {url}")

    async def resize(self, image: str) -> str:
        url = str(image).removeprefix("pixels of ")
        seconds = resize_seconds(len(self.resizes.operations))
        return await self.resizes.operation(f"resize {url}", seconds,
                                            result=f"thumbnail of {url}")


# What a judge reads about one run: `Run.seen()`, a dict of plain values and the two
# fakes' timelines. These read it the same way on live fakes and on their records.


def resized(run: dict) -> list[str]:
    return [op.label.removeprefix("resize ") for op in run["resizes"].operations]


def downloaded(run: dict) -> list[str]:
    return [op.label.removeprefix("download ") for op in run["downloads"].operations]


def most_waiting(run: dict) -> int:
    """Most images downloaded but not yet picked up by a worker, at any instant."""
    events = [(op.end, 1) for op in run["downloads"].operations if op.end is not None]
    events += [(op.start, -1) for op in run["resizes"].operations]
    waiting = most = 0
    # At the same instant, count pick-ups first: an image handed over at once never waits.
    for _moment, change in sorted(events):
        waiting += change
        most = max(most, waiting)
    return most


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def expect_studio_delays(run: dict) -> None:
    """Every download and resize took the time this suite gives it, not one of its own."""
    for kind, delay_of in (("downloads", lambda _i: DOWNLOAD_SECONDS),
                           ("resizes", resize_seconds)):
        for i, op in enumerate(run[kind].operations):
            if op.delay != delay_of(i):
                impossible(f"{op.label!r} was told {op.delay} s, not {delay_of(i)} s")


@dataclass
class Run:
    studio: Studio
    result: object = None
    stuck: str = ""  # why it never returned, in plain words ("" if it did)
    # Taken just before the time limit cancels a stuck run (cancelling changes the picture):
    main_waits_in: list[str] = field(default_factory=list)
    unfinished: int | None = None
    idle_workers: int = 0
    # The tasks it left running when it returned: (cancel requests, chain of awaits).
    pending: list[tuple[int, list[str]]] = field(default_factory=list)
    returned_at: float | None = None  # simulated time make_thumbnails returned

    def snapshot(self, sim) -> None:
        if sim.main_task is not None and not sim.main_task.done():
            self.main_waits_in = waiting_in(sim.main_task)
            self.unfinished = unfinished_items(sim.main_task)
        running = [t for t in asyncio.all_tasks(sim.loop)
                   if not t.done() and t is not sim.main_task]
        self.idle_workers = len(in_get(running))

    def seen(self) -> dict:
        return dict(result=self.result, stuck=self.stuck, main_waits_in=self.main_waits_in,
                    unfinished=self.unfinished, idle_workers=self.idle_workers,
                    pending=self.pending, downloads=self.studio.downloads,
                    resizes=self.studio.resizes, returned_at=self.returned_at)


def waiting_in(task: asyncio.Task) -> list[str]:
    """Qualified names along the chain of awaits a pending task is suspended in."""
    names = []
    awaited = task.get_coro()
    while awaited is not None and len(names) < 20:
        names.append(str(getattr(awaited, "__qualname__", type(awaited).__name__)))
        awaited = getattr(awaited, "cr_await", None)
    return names


def unfinished_items(task: asyncio.Task) -> int | None:
    """How many items the queue a task is joining still counts as not done."""
    awaited = task.get_coro()
    while awaited is not None:
        if getattr(awaited, "__qualname__", "") == "Queue.join" and awaited.cr_frame:
            queue = awaited.cr_frame.f_locals.get("self")
            return getattr(queue, "_unfinished_tasks", None)
        awaited = getattr(awaited, "cr_await", None)
    return None


def in_get(tasks) -> list[asyncio.Task]:
    return [t for t in tasks if "Queue.get" in waiting_in(t)]


def make(student, sim, urls, workers=3, maxsize=2) -> dict:
    """Run make_thumbnails once; return what the judges read about it (``Run.seen``)."""
    studio = Studio(sim)
    student.replace("download", studio.download)
    student.replace("resize", studio.resize)
    run = Run(studio)
    call = f"make_thumbnails({len(urls)} urls, workers={workers}, maxsize={maxsize})"
    look = sim.loop.call_at(sim.now() + STUCK_LIMIT - 1.0, run.snapshot, sim)
    try:
        run.result = sim.run(student.make_thumbnails(list(urls), workers, maxsize),
                             limit=STUCK_LIMIT, what=call)
        run.returned_at = sim.now()
    except SimulationDeadlock:
        run.snapshot(sim)
        run.stuck = "every task was waiting and nothing could ever wake one up"
    except SimulatedTimeout:
        run.stuck = f"it was still running after {STUCK_LIMIT:g} s of simulated time"
    finally:
        look.cancel()
    run.pending = [(t.cancelling(), waiting_in(t)) for t in sim.pending_tasks()]
    return run.seen()


STOP_EVERY_WORKER = dict(
    misconception="A worker's `while True:` loop only ends when something ends it: its "
    "own stop signal, or being cancelled. Neither `queue.join()` returning nor your "
    "function returning stops a worker, and one sentinel stops only one worker; the rest "
    "wait in `queue.get()` forever for an item that will never come.",
    next_step="Tell every worker to stop once the work is done: one sentinel per worker after the "
              "last image, or wait until the queue is joined, then cancel the workers and await "
              "them.",
)


def expect_clean_stop(run: dict, call: str) -> None:
    expect_studio_delays(run)
    if run["stuck"]:
        if "Queue.join" in run["main_waits_in"]:
            left = run["unfinished"]
            count = f"{left} item(s)" if left is not None else "items"
            fail(
                f"`{call}` never returned: it is stuck in `queue.join()`, which still "
                f"counts {count} as not done ({run['stuck']}).",
                misconception="`join()` waits until `task_done()` has been called once for "
                "every item put in the queue. Without `task_done()` after each item, the "
                "count never reaches zero.",
                next_step="Tell the queue each item is done after handling it (in a `finally:` so "
                          "it happens even if handling fails).",
            )
        if run["idle_workers"]:
            fail(
                f"`{call}` never returned: {run['idle_workers']} worker task(s) were still "
                f"waiting in `queue.get()` after all the work was done ({run['stuck']}).",
                **STOP_EVERY_WORKER,
            )
        expect_workers_took_something(run, call)
        fail(
            f"`{call}` never returned: {run['stuck']}.",
            misconception="Something waits for an event that never happens, or a loop "
            "never ends.",
            next_step="Check what each of your tasks is waiting for once the last image "
            "has been resized.",
        )
    pending = run["pending"]
    stopping = [waits for cancelling, waits in pending if cancelling]
    if stopping:
        fail(
            f"`{call}` returned while {len(stopping)} task(s) it had cancelled were still "
            "stopping.",
            misconception="`task.cancel()` only asks a task to stop: the CancelledError is "
            "delivered at its next step, which comes after your function has already "
            "returned. Until then the task is still running.",
            next_step="After cancelling the workers, `await asyncio.gather(*workers, "
            "return_exceptions=True)` so they have really stopped before you return.",
        )
    idle = [waits for _cancelling, waits in pending if "Queue.get" in waits]
    if idle:
        fail(
            f"`{call}` returned while {len(idle)} worker task(s) were still waiting in "
            "`queue.get()`, and would wait there forever.",
            **STOP_EVERY_WORKER,
        )
    if pending:
        names = ", ".join(" > ".join(waits[:2]) for _cancelling, waits in pending[:3])
        fail(
            f"`{call}` returned while {len(pending)} of its tasks were still running "
            f"({names}).",
            misconception="A task keeps running after the code that created it returns; "
            "nobody waits for it or sees its errors.",
            next_step="Make sure every task you start has finished (or was cancelled and "
            "awaited) before returning.",
        )


def expect_workers_took_something(run: dict, call: str) -> None:
    """Images downloaded, none ever resized: the workers were gone before the first one."""
    if run["downloads"].operations and not run["resizes"].operations:
        fail(
            f"`{call}`: the producer downloaded {len(run['downloads'].operations)} "
            "image(s), but no worker ever took one: the workers had already ended.",
            misconception="A queue is empty for a moment whenever the workers are faster "
            "than the producer, and at the very start. A worker that stops when the queue "
            "is empty (`while not queue.empty()`, `get_nowait()`) quits before the "
            "producer is done.",
            next_step="Keep each worker in `while True: item = await queue.get()` and end "
            "it only on its stop signal (a sentinel) or by cancelling it.",
        )


def expect_each_once(run: dict, urls: list[str], call: str) -> None:
    expect_studio_delays(run)
    expect_workers_took_something(run, call)
    for kind, seen in (("downloaded", downloaded(run)), ("resized", resized(run))):
        twice = sorted({u for u in seen if seen.count(u) > 1})
        if twice:
            fail(
                f"`{call}`: {twice[0]!r} was {kind} {seen.count(twice[0])} times.",
                misconception="Each item in a queue is handed to exactly one `get()`; "
                "doing the work again elsewhere wastes it (or means items were put twice).",
                next_step="Put each image in the queue once, and have a worker handle "
                "only what it got from the queue.",
            )
        missing = [u for u in urls if u not in seen]
        if missing:
            why = f" before it got stuck ({run['stuck']})" if run["stuck"] else ""
            fail(
                f"`{call}`: {len(missing)} of {len(urls)} images were never {kind}{why}, "
                f"for example {missing[0]!r}.",
                misconception="Every image the producer puts in the queue must be taken "
                "by some worker; an item lost on the way is silently missing from the "
                "result.",
                next_step="Check that the producer puts every image and that workers keep "
                "taking items until they get their stop signal.",
            )


# -- task 1 ----------------------------------------------------------------------------

MAIN_CALL = "make_thumbnails(10 urls, workers=3, maxsize=2)"


@pytest.mark.task(1)
def test_every_image_once(student, sim):
    return judged(judge_every_image_once, sim=sim, run=make(student, sim, URLS))


def judge_every_image_once(seen):
    run = seen["run"]
    expect_each_once(run, URLS, MAIN_CALL)
    if not run["stuck"]:
        expect_equal(
            run["result"], {u: f"thumbnail of {u}" for u in URLS}, call=MAIN_CALL,
            misconception="The result maps every url to the thumbnail made from it.",
            next_step="Put (url, image) pairs in the queue, and have each worker store the awaited"
                      " resize under its url.",
        )


BOUNDED_RUNS = ((URLS, 3, 2), (URLS[:6], 2, 1))


def expect_bounded(run: dict, urls: list[str], workers: int, maxsize: int) -> None:
    expect_studio_delays(run)
    call = f"make_thumbnails({len(urls)} urls, workers={workers}, maxsize={maxsize})"
    if not run["downloads"].operations:
        fail(f"`{call}` never called download().",
             next_step="The producer should `await download(url)` for each url.")
    waiting, allowed = most_waiting(run), maxsize + 1
    if waiting > allowed:
        fail(
            f"`{call}`: at one point {waiting} downloaded images were waiting for a "
            f"worker; with maxsize={maxsize} there should never be more than "
            f"{allowed} ({maxsize} in the queue, 1 in the producer's hands). The "
            "producer ran ahead of the workers.",
            misconception="An `asyncio.Queue()` without a maxsize never makes `put()` "
            "wait, so a fast producer piles up work in memory. (Downloading "
            "everything before or beside the queue has the same effect.)",
            next_step="Create the queue with `asyncio.Queue(maxsize)`, and have the "
            "producer download one image, `await queue.put(...)`, then the next.",
        )


@pytest.mark.task(1)
def test_queue_stays_bounded(student, sim):
    runs = []
    for urls, workers, maxsize in BOUNDED_RUNS:
        runs.append(make(student, sim, urls, workers, maxsize))
        expect_bounded(runs[-1], urls, workers, maxsize)  # before the next run
    return judged(judge_queue_stays_bounded, sim=sim, runs=runs)


def judge_queue_stays_bounded(seen):
    if len(seen["runs"]) != len(BOUNDED_RUNS):
        impossible(f"{len(seen['runs'])} runs instead of {len(BOUNDED_RUNS)}")
    for run, (urls, workers, maxsize) in zip(seen["runs"], BOUNDED_RUNS, strict=True):
        expect_bounded(run, urls, workers, maxsize)


@pytest.mark.task(1)
def test_workers_share_the_load(student, sim):
    return judged(judge_workers_share_the_load, sim=sim, run=make(student, sim, URLS))


def judge_workers_share_the_load(seen):
    sim, run = seen["sim"], seen["run"]
    expect_studio_delays(run)
    resizes = run["resizes"]
    expect_workers_took_something(run, MAIN_CALL)
    if not resizes.operations:
        fail(f"`{MAIN_CALL}` never called resize().",
             next_step="Each worker should `await resize(image)` for what it takes.")
    if resizes.peak > 3:
        fail(
            f"`{MAIN_CALL}`: {resizes.peak} resizes ran at once, with only 3 workers.",
            misconception="The workers are the limit on how much runs at once; starting "
            "a separate task per image ignores it.",
            next_step="Start exactly `workers` consumer tasks, each resizing one image at "
            "a time.",
        )
    # The only run of this check: it started at the simulation's last start.
    ends = [op.end - sim.started for op in resizes.operations if op.end is not None]
    last = max(ends) if ends else float("inf")
    first = min(op.start for op in resizes.operations) - sim.started
    if resizes.peak >= 3 and last > RESIZE_BUDGET and first > DOWNLOAD_SECONDS + 1e-6:
        sim.budget = RESIZE_BUDGET
        early = [op for op in run["downloads"].operations
                 if op.end is not None and op.end - sim.started <= first + 1e-6]
        fail(
            f"`{MAIN_CALL}`: the first resize only started at {first:.1f} s, after "
            f"{len(early)} downloads, so the last one ended at {last:.1f} s instead of "
            "about 4 s. The producer ran ahead: the workers had nothing to take until it "
            "put its first image.",
            misconception="A pipeline overlaps its stages: while the workers resize one "
            "image, the producer is already downloading the next. Downloading everything "
            "before queueing anything makes the workers wait for all the downloads.",
            next_step="In the producer, put each image in the queue as soon as it is "
            "downloaded, then download the next.",
        )
    if resizes.peak < 3 or last > RESIZE_BUDGET:
        sim.budget = RESIZE_BUDGET
        fail(
            f"`{MAIN_CALL}`: at most {resizes.peak} resize(s) ran at once and the last one "
            f"ended at {last:.1f} s of simulated time; with 3 workers it should be about "
            "4 s.",
            misconception="Several consumers only help if they are all running at the same "
            "time, each taking the next item as soon as it is free.",
            next_step="Start `workers` consumer tasks before (or while) the producer runs, "
            "not one after another.",
        )


# -- task 2 ----------------------------------------------------------------------------


@pytest.mark.task(2)
def test_returns_when_done(student, sim):
    return judged(judge_returns_when_done, sim=sim, run=make(student, sim, URLS))


def judge_returns_when_done(seen):
    run = seen["run"]
    expect_clean_stop(run, MAIN_CALL)
    ended = [op.end for op in run["resizes"].operations if op.end is not None]
    returned = run["returned_at"]
    if ended and returned is not None and returned > max(ended) + LATE_RETURN:
        fail(
            f"`{MAIN_CALL}` returned at t={returned:.2f} s, {returned - max(ended):.2f} s "
            f"after the last resize ended (t={max(ended):.2f} s): the work was done, but "
            "something kept the call waiting.",
            misconception="A worker that stops by itself after waiting a while for an "
            "image (a timeout on `queue.get()`) makes every run wait out that timeout, and "
            "it would give up early whenever the producer is slower than the timeout. The "
            "workers should be told when the work is over.",
            next_step="Stop the workers the moment the last image is handled: a stop "
            "signal per worker, or cancel them once the queue is joined.",
        )


EMPTY_CALL = "make_thumbnails([], workers=3, maxsize=2)"
PAIR = URLS[:2]
PAIR_CALL = "make_thumbnails(['img0.png', 'img1.png'], workers=5, maxsize=2)"


def expect_empty_batch(run: dict) -> None:
    expect_clean_stop(run, EMPTY_CALL)
    expect_equal(run["result"], {}, call=EMPTY_CALL,
                 misconception="With no urls there is nothing to make: an empty dict.",
                 next_step="Make sure the empty case still starts and stops cleanly.")


@pytest.mark.task(2)
def test_tiny_batches(student, sim):
    empty = make(student, sim, [], 3, 2)
    expect_empty_batch(empty)  # before the next run
    pair = make(student, sim, PAIR, 5, 2)
    return judged(judge_tiny_batches, sim=sim, empty=empty, pair=pair)


def judge_tiny_batches(seen):
    expect_empty_batch(seen["empty"])
    expect_clean_stop(seen["pair"], PAIR_CALL)
    expect_workers_took_something(seen["pair"], PAIR_CALL)
    expect_equal(seen["pair"]["result"], {u: f"thumbnail of {u}" for u in PAIR},
                 call=PAIR_CALL,
                 misconception="More workers than images: some workers get no image at "
                 "all, and must still stop.",
                 next_step="Make sure idle workers are stopped too.")
