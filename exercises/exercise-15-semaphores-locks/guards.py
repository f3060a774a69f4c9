"""Exercise 15: a Semaphore caps concurrency; a Lock protects shared state. See README.md."""

import asyncio


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source`` (about a second). Don't change this function.

    The grader swaps it for an instrumented copy that records each call's start and end.
    """
    await asyncio.sleep(1.0)
    return f"data from {source}"


async def fetch_limited(sources: list[str], limit: int = 3) -> list[str]:
    """Task 1: fetch every source concurrently, never more than ``limit`` at once."""
    # TODO(task 1): share one asyncio.Semaphore(limit) between all the fetches.
    raise NotImplementedError("fetch_limited is not written yet")


class Account:
    """A bank account whose balance lives in a (pretend) remote store."""

    def __init__(self, balance: int = 0) -> None:
        self.stored_balance = balance  # Provided: the store's copy. Don't rename it.
        self.deposit_count = 0
        # TODO(task 2): give every account its own asyncio.Lock.


async def approve(amount: int) -> None:
    """Provided: ask the fraud service to approve a deposit (slow). Don't change this."""
    await asyncio.sleep(1.0)


async def load_balance(account: Account) -> int:
    """Provided: read the balance from the store. Don't change this function."""
    await asyncio.sleep(0.1)
    return account.stored_balance


async def save_balance(account: Account, balance: int) -> None:
    """Provided: write a new balance to the store. Don't change this function."""
    await asyncio.sleep(0.1)
    account.stored_balance = balance


async def deposit(account: Account, amount: int) -> None:
    """Task 2: approve, then add ``amount`` to the balance and count the deposit."""
    # TODO(task 2): only the read-then-write of the balance needs the lock.
    raise NotImplementedError("deposit is not written yet")


if __name__ == "__main__":
    import time

    async def demo() -> None:
        started = time.perf_counter()
        print(await fetch_limited([f"page{i}" for i in range(7)], limit=3))
        print(f"took {time.perf_counter() - started:.2f} s")
        account = Account(100)
        await asyncio.gather(*(deposit(account, amount) for amount in (10, 20, 30)))
        print(f"balance {account.stored_balance}, deposits {account.deposit_count}")

    asyncio.run(demo())
