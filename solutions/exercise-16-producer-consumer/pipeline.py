"""Exercise 16 reference solution: a bounded queue, join() for the end, then cancel."""

import asyncio


async def download(url: str) -> str:
    """Provided: pretend to download the image at ``url``. Don't change this function."""
    await asyncio.sleep(0.1)
    return f"pixels of {url}"


async def resize(image: str) -> str:
    """Provided: pretend to shrink an image to a thumbnail (slow). Don't change this."""
    await asyncio.sleep(1.0)
    return image.replace("pixels of", "thumbnail of", 1)


async def make_thumbnails(urls: list[str], workers: int = 3,
                          maxsize: int = 2) -> dict[str, str]:
    """Tasks 1 and 2: put() waits while the queue is full; join() says when all is done."""
    queue: asyncio.Queue[tuple[str, str]] = asyncio.Queue(maxsize)
    thumbnails: dict[str, str] = {}

    async def consume() -> None:
        while True:
            url, image = await queue.get()
            try:
                thumbnails[url] = await resize(image)
            finally:
                queue.task_done()

    consumers = [asyncio.create_task(consume()) for _ in range(workers)]
    for url in urls:
        await queue.put((url, await download(url)))
    await queue.join()  # every image taken and marked done
    for consumer in consumers:
        consumer.cancel()  # each is idle in get() now
    await asyncio.gather(*consumers, return_exceptions=True)
    return thumbnails


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    urls = [f"cat{i}.png" for i in range(7)]
    print(asyncio.run(make_thumbnails(urls, workers=3, maxsize=2)))
    print(f"took {time.perf_counter() - started:.2f} s")
