"""Exercise 15 reference solution: one shared Semaphore; a per-account Lock."""

import asyncio


async def fetch(source: str) -> str:
    """Provided: pretend to download ``source`` (about a second). Don't change this function."""
    await asyncio.sleep(1.0)
    return f"data from {source}"


async def fetch_limited(sources: list[str], limit: int = 3) -> list[str]:
    """Task 1: every fetch waits for one of the ``limit`` slots of a shared semaphore."""
    slots = asyncio.Semaphore(limit)

    async def fetch_in_slot(source: str) -> str:
        async with slots:
            return await fetch(source)

    return list(await asyncio.gather(*(fetch_in_slot(source) for source in sources)))


class Account:
    """A bank account whose balance lives in a (pretend) remote store."""

    def __init__(self, balance: int = 0) -> None:
        self.stored_balance = balance  # Provided: the store's copy. Don't rename it.
        self.deposit_count = 0
        self.lock = asyncio.Lock()


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
    """Task 2: the approval overlaps freely; the read-await-write holds the lock."""
    await approve(amount)
    async with account.lock:
        balance = await load_balance(account)
        await save_balance(account, balance + amount)
    account.deposit_count += 1  # no await inside: no other task can interleave


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
