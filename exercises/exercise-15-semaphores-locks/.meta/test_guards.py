"""Hidden checks for exercise 15 (Semaphore to cap concurrency, Lock around read-await-write).

Each test runs the student's code and ends with ``return judged(judge_<check>, ...)``:
its judge decides here, then again in the grading parent on the plain observations (the
fakes' timelines, the account's final numbers, whether a threading lock froze the loop),
where no student code runs. Only the judges' conditions earn points.
"""

from __future__ import annotations

import asyncio
import asyncio.mixins
import itertools
import threading
import types
from pathlib import Path

import pytest

from grader.suite import (
    FakeIO,
    SimulationRecord,
    TaskRecord,
    expect_elapsed_at_most,
    expect_equal,
    expect_no_pending_tasks,
    fail,
    judged,
    student_frame,
)

# Ten downloads of about a second, each a millisecond longer than the one before, so no
# two of them end at the same simulated instant. With 3 slots: 4 rounds, about 4.02 s.
SOURCES = [f"s{i}" for i in range(10)]
DELAYS = {source: 1.0 + i / 1000 for i, source in enumerate(SOURCES)}
LIMITED_BUDGET = 4.1

AMOUNTS = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
OPENING = 100
# Approvals overlap (1.00-1.09 s), then ten updates of 0.2 s each take turns: 3.1 s.
DEPOSIT_BUDGET = 3.5


# -- keeping a wrong lock from freezing the grader ---------------------------------------


class LoopFrozen(BaseException):
    """Raised inside student code when a threading lock would block the loop forever.

    A BaseException, so an `except Exception` in student code can't swallow it.
    """


class FreezeWatch:
    """Records the first time student code waited for a threading lock on the loop."""

    def __init__(self, student_file: Path) -> None:
        self.student_file = student_file
        self.kind = ""
        self.where = ""

    def blocked(self, kind: str) -> None:
        if not self.kind:
            self.kind, self.where = kind, self._student_line()
        raise LoopFrozen(kind)

    def _student_line(self) -> str:
        frame = student_frame(self.student_file)
        return f" ({self.student_file.name}, line {frame.f_lineno})" if frame else ""

    def seen(self) -> tuple[str, str]:
        """What a judge reads: the kind of lock that froze the loop ("" if none), where."""
        return (self.kind, self.where)

    def check(self) -> None:
        expect_never_froze(self.seen())


def expect_never_froze(frozen: tuple[str, str]) -> None:
    kind, where = frozen
    if kind:
        fail(
            f"Your code waited for a {kind}{where} that another task was "
            "holding across an `await`. On the event loop that wait never ends: the "
            "holder can only release the lock when the loop runs it again, and the "
            "loop itself is stuck waiting (the grader stopped it instead of hanging).",
            misconception=f"A {kind} makes the whole thread wait, and every task "
            "runs on the loop's one thread. The asyncio versions make only the waiting "
            "task wait and let the loop run the others, including the holder.",
            next_step="Use the asyncio versions (`asyncio.Lock()`, "
            "`asyncio.Semaphore(n)`) with `async with`.",
        )


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class GuardedThreadLock:
    """A threading lock that fails the check where the real one would freeze the loop."""

    def __init__(self, real, kind: str, watch: FreezeWatch) -> None:
        self._real, self._kind, self._watch = real, kind, watch

    def acquire(self, *args, **kwargs):
        blocking = args[0] if args else kwargs.get("blocking", True)
        if blocking and _loop_running():
            if self._real.acquire(False):
                return True
            self._watch.blocked(self._kind)
        return self._real.acquire(*args, **kwargs)

    def release(self, *args):
        return self._real.release(*args)

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __getattr__(self, name: str):
        return getattr(self._real, name)


THREAD_PRIMITIVES = {
    "Lock": "threading.Lock",
    "RLock": "threading.RLock",
    "Semaphore": "threading.Semaphore",
    "BoundedSemaphore": "threading.BoundedSemaphore",
}
THREAD_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()), threading.Semaphore)


def _guarded_factory(name: str, watch: FreezeWatch):
    real_factory = getattr(threading, name)

    def make(*args, **kwargs):
        return GuardedThreadLock(real_factory(*args, **kwargs), THREAD_PRIMITIVES[name], watch)

    return make


def guard_object(obj, watch: FreezeWatch) -> None:
    """Wrap threading locks held as attributes of ``obj`` (an account, a class)."""
    for name, value in list(vars(obj).items()):
        if isinstance(value, THREAD_LOCK_TYPES):
            kind = "threading.Semaphore" if isinstance(value, threading.Semaphore) else (
                "threading.Lock")
            setattr(obj, name, GuardedThreadLock(value, kind, watch))


@pytest.fixture(autouse=True)
def frozen(student):
    """Guard threading locks; unbind asyncio primitives a previous check's loop owns."""
    watch = FreezeWatch(student.path)
    proxy = types.ModuleType("threading")
    proxy.__dict__.update(vars(threading))
    for name in THREAD_PRIMITIVES:
        setattr(proxy, name, _guarded_factory(name, watch))
    for name, value in list(vars(student.module).items()):
        if value is threading:
            student.replace(name, proxy)
        elif any(value is getattr(threading, p) for p in THREAD_PRIMITIVES):
            primitive = next(p for p in THREAD_PRIMITIVES if value is getattr(threading, p))
            student.replace(name, _guarded_factory(primitive, watch))
        elif isinstance(value, THREAD_LOCK_TYPES):
            student.replace(name, GuardedThreadLock(value, "threading.Lock", watch))
    # A Lock or Semaphore made at import time (or as a class attribute) binds to the first
    # loop that waits on it; every check has a fresh loop, so release that binding.
    for value in list(vars(student.module).values()):
        holders = [value, *vars(value).values()] if isinstance(value, type) else [value]
        for held in holders:
            if isinstance(held, asyncio.mixins._LoopBoundMixin):
                held._loop = None
    return watch


# -- what only an honest run produces ---------------------------------------------------


def impossible(why: str) -> None:
    """Observations no honest run produces: the parent flags the check for review."""
    raise ValueError(f"observations no honest run produces: {why}")


def expect_told(ops, delay_of) -> None:
    """Every fake operation took the delay this suite gives it, not one of its own."""
    for i, op in enumerate(ops):
        if op.delay != delay_of(i, op.label):
            impossible(f"{op.label!r} was told {op.delay} s, not {delay_of(i, op.label)} s")


def expect_suite_delays(io) -> None:
    expect_told(io.operations, lambda _i, source: DELAYS.get(source, 1.0))


def left_running(labels: list[str]) -> SimulationRecord:
    """The tasks a call left running, snapshotted before the next call, as a record."""
    return SimulationRecord(pending=[TaskRecord(label) for label in labels])


# -- task 1: a semaphore ---------------------------------------------------------------


@pytest.fixture
def io(sim, student):
    fake = FakeIO(sim, DELAYS)
    student.replace("fetch", fake.fetch)
    return fake


ORDER = dict(
    misconception="Results should follow the order of the sources, whatever order the "
    "downloads finish in.",
    next_step="asyncio.gather returns results in the order of its arguments.",
)
EMPTY = dict(
    call="fetch_limited([], 3)",
    misconception="With nothing to fetch, the answer is an empty list.",
    next_step="Make sure an empty list of sources works.",
)


def run_fetches(student, sim, frozen: FreezeWatch, sources: list[str], limit: int):
    try:
        result = sim.run(student.fetch_limited(sources, limit), what="fetch_limited")
    except BaseException:
        frozen.check()
        raise
    frozen.check()
    return result


def expect_fetched_every_source(io, sources: list[str], call: str) -> None:
    """Doing nothing is fast and never too many: only a run that fetched everything counts."""
    fetched = {op.label for op in io.operations}
    missing = [s for s in sources if s not in fetched]
    if missing:
        fail(
            f"Called `{call}`: it never called fetch for {missing[:3]}, so how it paced "
            "the downloads proves nothing.",
            misconception="Every source has to be fetched; a limit is about how many "
            "downloads run at once, not about skipping some.",
            next_step="Call fetch(source) once for every source in the list.",
        )


@pytest.mark.task(1)
def test_results_in_order(student, sim, io, frozen):
    results = run_fetches(student, sim, frozen, SOURCES, 3)
    expect_results_in_order(results, io, sim)
    pending = sim.pending_labels()
    empty = sim.run(student.fetch_limited([], 3), what="fetch_limited")
    return judged(judge_results_in_order, frozen=frozen.seen(), results=results, io=io,
                  pending=pending, empty=empty)


def expect_results_in_order(results, io, sim) -> None:
    expect_equal(results, [FakeIO.expected(s) for s in SOURCES],
                 call=f"fetch_limited({SOURCES!r}, 3)", **ORDER)
    expect_no_pending_tasks(sim, what="fetch_limited")


def judge_results_in_order(seen):
    expect_never_froze(seen["frozen"])
    expect_suite_delays(seen["io"])
    expect_results_in_order(seen["results"], seen["io"], left_running(seen["pending"]))
    expect_equal(seen["empty"], [], **EMPTY)


def expect_within_limit(fake, limit: int, call: str, uses: dict | None = None) -> None:
    if fake.peak > limit:
        if (uses or {}).get("Semaphore") or (uses or {}).get("BoundedSemaphore"):
            why = ("A Semaphore only limits the tasks that share it: one created inside "
                   "the code that runs once per download gives each download its own "
                   "slots, so nobody ever waits.")
        else:
            why = ("Starting every download at once, with nothing that makes a download "
                   "wait for a free slot, ignores the limit.")
        fail(
            f"Called `{call}`: {fake.peak} downloads were in flight at once, but the limit "
            f"was {limit}.",
            misconception=why,
            next_step="Create one `asyncio.Semaphore(limit)` per call of fetch_limited, "
            "before starting the downloads, and have every download do "
            "`async with` that same semaphore.",
        )


def expect_limited(io, sources: list[str], limit: int, call: str,
                   uses: dict | None = None) -> None:
    expect_suite_delays(io)
    expect_fetched_every_source(io, sources, call)
    expect_within_limit(io, limit, call, uses)


@pytest.mark.task(1)
def test_never_more_than_limit(student, sim, io, frozen):
    uses = student.uses("Semaphore", "BoundedSemaphore")
    run_fetches(student, sim, frozen, SOURCES, 3)
    expect_limited(io, SOURCES, 3, "fetch_limited(10 sources, 3)", uses)
    fewer = FakeIO(sim, DELAYS)
    student.replace("fetch", fewer.fetch)
    run_fetches(student, sim, frozen, SOURCES[:5], 2)
    return judged(judge_never_more_than_limit, frozen=frozen.seen(), io=io, fewer=fewer,
                  sim=sim, uses=uses)


def judge_never_more_than_limit(seen):
    expect_never_froze(seen["frozen"])
    uses = seen["uses"]
    expect_limited(seen["io"], SOURCES, 3, "fetch_limited(10 sources, 3)", uses)
    expect_limited(seen["fewer"], SOURCES[:5], 2, "fetch_limited(5 sources, 2)", uses)


# Downloads of very different lengths: a slot freed early must be used at once. With
# limit 3, started as soon as a slot frees, every end time is distinct and is the start
# of the next download (0.4, 0.65, 0.7, 0.9); fixed groups of three take 2.3 s, not 1.5.
UNEVEN = {f"u{i}": delay for i, delay in enumerate([0.9, 0.4, 0.7, 0.25, 0.8, 0.55, 0.6])}
UNEVEN_CALL = "fetch_limited(7 sources of 0.25-0.9 s, 3)"
EPS = 1e-6


@pytest.mark.task(1)
def test_limit_used_fully(student, sim, io, frozen):
    uneven = FakeIO(sim, UNEVEN)
    student.replace("fetch", uneven.fetch)
    began = sim.now()
    run_fetches(student, sim, frozen, list(UNEVEN), 3)
    student.replace("fetch", io.fetch)
    run_fetches(student, sim, frozen, SOURCES, 3)
    return judged(judge_limit_used_fully, frozen=frozen.seen(), sim=sim, io=io,
                  uneven=uneven, began=began)


def idle_slot(ops, limit: int, began: float) -> str:
    """The first moment a slot stood free while a download waited, in plain words."""
    ops = sorted(ops, key=lambda op: op.start)
    for op in ops[:limit]:
        if op.start > began + EPS:
            return (f"'{op.label}' started only at {op.start - began:.2f} s, though "
                    "nothing else was running")
    ends = sorted((op.end, op.label) for op in ops if op.end is not None)
    for end, label in ends[:max(0, len(ops) - limit)]:
        if not any(abs(other.start - end) < EPS for other in ops):
            later = [other for other in ops if other.start > end + EPS]
            after = (f"; the next download, '{later[0].label}', started only at "
                     f"{later[0].start - began:.2f} s" if later else "")
            return f"'{label}' freed a slot at {end - began:.2f} s{after}"
    return ""


def judge_limit_used_fully(seen):
    sim, io = seen["sim"], seen["io"]
    expect_never_froze(seen["frozen"])
    expect_suite_delays(io)
    expect_fetched_every_source(io, SOURCES, "fetch_limited(10 sources, 3)")
    if sim.elapsed > LIMITED_BUDGET and io.peak < 3:
        sim.budget = LIMITED_BUDGET
        pace = "one at a time" if io.peak == 1 else f"only {io.peak} at a time"
        fail(
            f"Called `fetch_limited(10 sources, 3)`: the downloads ran {pace}, so it took "
            f"{sim.elapsed:.1f} s of simulated time instead of about 4 s.",
            misconception="A limit of 3 means up to three downloads at once, not fewer. An "
            "asyncio.Lock (or a Semaphore(1)) lets a single task in, and a lock held "
            "around the whole batch makes everything wait in one line.",
            next_step="Use `asyncio.Semaphore(limit)` and hold it around each single "
            "download only.",
        )
    expect_elapsed_at_most(sim, LIMITED_BUDGET, what="fetch_limited(10 sources, 3)")
    uneven = seen["uneven"]
    expect_told(uneven.operations, lambda _i, source: UNEVEN.get(source, 1.0))
    expect_fetched_every_source(uneven, list(UNEVEN), UNEVEN_CALL)
    # More than the limit at once is never_more_than_limit's to report, not an idle slot.
    idle = idle_slot(uneven.operations, 3, seen["began"]) if uneven.peak <= 3 else ""
    if idle:
        fail(
            f"Called `{UNEVEN_CALL}`: {idle}. A slot stood empty while a download was "
            "waiting for one.",
            misconception="The limit caps how many downloads run at once; it is not a "
            "batch size. Waiting for a whole group of `limit` downloads before starting "
            "the next group leaves slots idle while the group's slowest download finishes.",
            next_step="Start every download at once and let each one wait for a slot of "
            "one shared `asyncio.Semaphore(limit)`, so the next starts the moment any "
            "download ends.",
        )


# -- task 2: a lock --------------------------------------------------------------------


class Bank:
    """Instrumented approve / load_balance / save_balance sharing one timeline."""

    def __init__(self, sim) -> None:
        self.approvals = FakeIO(sim)
        self.store = FakeIO(sim)

    async def approve(self, amount: int) -> None:
        await self.approvals.operation(f"approve {amount}",
                                       approval_seconds(len(self.approvals.operations)))

    async def load_balance(self, account) -> int:
        await self.store.operation("load balance", LOAD_SECONDS)
        return account.stored_balance

    async def save_balance(self, account, balance: int) -> None:
        await self.store.operation(f"save {balance}", SAVE_SECONDS)
        account.stored_balance = balance


def approval_seconds(earlier: int) -> float:
    """Each approval a hundredth of a second longer than the previous one."""
    return 1.0 + 0.01 * earlier


# Reading and writing take different times, so a lock released between the two shows
# up: the next deposit's read overlaps this one's longer write and reads the old balance.
LOAD_SECONDS = 0.05
SAVE_SECONDS = 0.15


def run_deposits(student, sim, frozen: FreezeWatch) -> dict:
    """Ten deposits at once; what the judges read: the fakes' timelines, the account."""
    bank = Bank(sim)
    for name in ("approve", "load_balance", "save_balance"):
        student.replace(name, getattr(bank, name))
    account = student.Account(OPENING)
    guard_object(account, frozen)

    async def all_at_once() -> None:
        await asyncio.gather(*(student.deposit(account, amount) for amount in AMOUNTS))

    try:
        sim.run(all_at_once(), what="ten deposits at once")
    except BaseException:
        frozen.check()
        raise
    frozen.check()
    return dict(frozen=frozen.seen(), sim=sim, approvals=bank.approvals, store=bank.store,
                balance=account.stored_balance, count=account.deposit_count)


def expect_bank_timeline(seen) -> None:
    expect_never_froze(seen["frozen"])
    expect_told(seen["approvals"].operations, lambda i, _label: approval_seconds(i))
    expect_told(seen["store"].operations,
                lambda _i, label: LOAD_SECONDS if label == "load balance" else SAVE_SECONDS)


@pytest.mark.task(2)
def test_no_lost_deposits(student, sim, frozen):
    return judged(judge_no_lost_deposits, **run_deposits(student, sim, frozen),
                  uses=student.uses("Lock"))


def overlapping_update(store) -> tuple[str, str]:
    """The first store call that began while another deposit's was unfinished, in words,
    and which: "read" (two reads at once) or "write" (a read during another's write)."""
    ops = sorted(store.operations, key=lambda op: op.start)
    for before, op in itertools.pairwise(ops):
        if before.end is not None and op.start < before.end - EPS:
            kind = "read" if before.label == op.label else "write"
            return (f" The timeline shows why: one deposit's `{op.label}` began at "
                    f"{op.start:.2f} s while another's `{before.label}` "
                    f"({before.start:.2f}-{before.end:.2f} s) was still in progress.", kind)
    return "", ""


LOCK_GAPS = {
    "read": " Two deposits read at once, so the read was not inside a lock they both "
    "wait for: either the read comes before `async with` (outside the lock), or each "
    "deposit takes a lock of its own (a new one per call never makes anyone wait).",
    "write": " A lock protects only what is inside it: released between the read and the "
    "write, it leaves that gap open.",
}


def judge_no_lost_deposits(seen):
    expect_bank_timeline(seen)
    expected = OPENING + sum(AMOUNTS)
    call = f"ten deposits ({', '.join(map(str, AMOUNTS))}) at once into Account({OPENING})"
    overlap, gap = overlapping_update(seen["store"])
    if seen["balance"] != expected or overlap:
        lost = ("deposits were lost" if seen["balance"] != expected
                else "it came out right only by luck of timing")
        if seen["balance"] != expected and seen["count"] == len(AMOUNTS):
            overlap += (" Meanwhile deposit_count did reach 10: `+= 1` has no await "
                        "inside, so no other task can run in the middle of it.")
        fail(
            f"Ran {call}: the balance should end at {expected} and ended at "
            f"{seen['balance']}; {lost}.{overlap}",
            misconception="Between reading the balance and saving the new one there is "
            "an `await`, and other deposits run in that gap: they read the old balance, "
            "and each save overwrites the ones before it." + (
                LOCK_GAPS.get(gap, "") if seen["uses"].get("Lock") else ""),
            next_step="Hold the account's `asyncio.Lock` from before `load_balance` until after "
                      "`save_balance`, both inside one locked block.",
        )
    expect_equal(
        seen["count"], len(AMOUNTS), call=f"account.deposit_count after {call}",
        misconception="Every deposit should add one to the account's deposit_count.",
        next_step="Count each deposit on the account too (that counter needs no lock).",
    )
    expect_no_pending_tasks(seen["sim"], what="deposit")


@pytest.mark.task(2)
def test_only_the_update_is_locked(student, sim, frozen):
    return judged(judge_only_the_update_is_locked, **run_deposits(student, sim, frozen))


def judge_only_the_update_is_locked(seen):
    expect_bank_timeline(seen)
    sim, approvals = seen["sim"], seen["approvals"]
    if len(approvals.operations) != len(AMOUNTS):
        fail(
            f"Ten deposits at once called approve {len(approvals.operations)} time(s); "
            "every deposit must be approved first.",
            misconception="Skipping the fraud check would make deposits faster, but it is "
            "part of the job.",
            next_step="Begin deposit by awaiting the approval of the amount.",
        )
    if sim.elapsed > DEPOSIT_BUDGET and approvals.peak == 1:
        sim.budget = DEPOSIT_BUDGET
        fail(
            f"Ten deposits at once took {sim.elapsed:.1f} s of simulated time (about 3 s "
            "expected): the approvals ran one at a time, because the lock was held while "
            "waiting for them.",
            misconception="Everything inside `async with lock:` happens one task at a "
            "time. The approval doesn't touch the balance, so locking it only makes every "
            "deposit wait for all the earlier approvals.",
            next_step="Await `approve(amount)` before taking the lock; keep only the "
            "load and the save inside it.",
        )
    expect_elapsed_at_most(sim, DEPOSIT_BUDGET, what="ten deposits at once")


# Two accounts at once: deposits into different accounts have nothing to wait for.
SPLIT_AMOUNTS = {"A": [10, 20, 30, 40, 50], "B": [60, 70, 80, 90, 100]}
SPLIT_BUDGET = 2.6  # shown on the timeline: ~1.1 s of approvals, then 1.0 s of updates each
SPLIT_CALL = ("ten deposits at once, five into Account A and five into Account B (both "
              f"opened with {OPENING})")


class TwoStores(Bank):
    """Like Bank, with each account's loads and saves on a timeline of its own."""

    def __init__(self, sim, accounts: dict) -> None:
        super().__init__(sim)
        self.names = {id(account): name for name, account in accounts.items()}
        self.stores = {name: FakeIO(sim) for name in accounts}

    def store_of(self, account) -> FakeIO:
        return self.stores.get(self.names.get(id(account)), self.store)

    async def load_balance(self, account) -> int:
        await self.store_of(account).operation("load balance", LOAD_SECONDS)
        return account.stored_balance

    async def save_balance(self, account, balance: int) -> None:
        await self.store_of(account).operation(f"save {balance}", SAVE_SECONDS)
        account.stored_balance = balance


@pytest.mark.task(2)
def test_each_account_has_its_own_lock(student, sim, frozen):
    accounts = {name: student.Account(OPENING) for name in SPLIT_AMOUNTS}
    bank = TwoStores(sim, accounts)
    for name in ("approve", "load_balance", "save_balance"):
        student.replace(name, getattr(bank, name))
    for account in accounts.values():
        guard_object(account, frozen)

    async def both_at_once() -> None:
        pairs = zip(*([(accounts[name], amount) for amount in amounts]
                      for name, amounts in SPLIT_AMOUNTS.items()), strict=True)
        await asyncio.gather(*(student.deposit(account, amount)
                               for pair in pairs for account, amount in pair))

    try:
        sim.run(both_at_once(), what=SPLIT_CALL)
    except BaseException:
        frozen.check()
        raise
    frozen.check()
    return judged(judge_each_account_has_its_own_lock, frozen=frozen.seen(), sim=sim,
                  approvals=bank.approvals, store=bank.store, store_a=bank.stores["A"],
                  store_b=bank.stores["B"])


def first_overlap(first, second) -> bool:
    """Did any operation of one timeline run while one of the other was unfinished?"""
    return any(a.end is not None and b.end is not None and a.start < b.end - EPS
               and b.start < a.end - EPS
               for a in first.operations for b in second.operations)


def judge_each_account_has_its_own_lock(seen):
    expect_never_froze(seen["frozen"])
    expect_told(seen["approvals"].operations, lambda i, _label: approval_seconds(i))
    for store in (seen["store_a"], seen["store_b"]):
        expect_told(store.operations,
                    lambda _i, label: LOAD_SECONDS if label == "load balance" else SAVE_SECONDS)
    if seen["store"].operations:
        impossible("a balance was read or saved for an account the check never made")
    # Lost deposits and a lock held through the approval have checks of their own
    # (no_lost_deposits, only_the_update_is_locked, which this one requires): here only
    # whether two accounts' updates ever ran side by side.
    sim = seen["sim"]
    if not first_overlap(seen["store_a"], seen["store_b"]):
        sim.budget = SPLIT_BUDGET
        fail(
            f"Ran {SPLIT_CALL}: it took {sim.elapsed:.1f} s of simulated time, and no "
            "update of account A ever ran beside one of account B. Deposits into different "
            "accounts waited for each other: they all took turns on one lock.",
            misconception="A lock made once for the whole module, or as a class attribute "
            "of Account, is shared by every account. It keeps the balances right, but a "
            "deposit then waits for deposits into other accounts, whose balances it never "
            "touches.",
            next_step="Give every account a lock of its own, made when the account is made "
            "(not once for the module or the class), and take the lock of the account you "
            "deposit into.",
        )
