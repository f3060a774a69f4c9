"""Exercise 16: a bounded queue between a producer and several workers. See README.md."""

import asyncio


async def download(url: str) -> str:
    """Provided: pretend to download the image at ``url``. Don't change this function.

    The grader swaps it (and ``resize``) for instrumented copies that record each call.
    """
    await asyncio.sleep(0.1)
    return f"pixels of {url}"


async def resize(image: str) -> str:
    """Provided: pretend to shrink an image to a thumbnail (slow). Don't change this."""
    await asyncio.sleep(1.0)
    return image.replace("pixels of", "thumbnail of", 1)


async def make_thumbnails(urls: list[str], workers: int = 3,
                          maxsize: int = 2) -> dict[str, str]:
    """Tasks 1 and 2: download in order, resize with ``workers`` consumers, shut down."""
    # TODO(task 1): an asyncio.Queue(maxsize), one producer, `workers` consumers.
    # TODO(task 2): stop every consumer once all the work is done.
    raise NotImplementedError("make_thumbnails is not written yet")


if __name__ == "__main__":
    import time

    started = time.perf_counter()
    urls = [f"cat{i}.png" for i in range(7)]
    print(asyncio.run(make_thumbnails(urls, workers=3, maxsize=2)))
    print(f"took {time.perf_counter() - started:.2f} s")
