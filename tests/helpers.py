"""Small test helpers with an async and a sync twin, for tests written once in tests/_async.

codegen maps `arun_concurrently` → `run_concurrently` and `asleep` → `sleep`: the async
versions use anyio task groups, the sync ones threads.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Awaitable, Sequence
from typing import Callable, TypeVar

import anyio

T = TypeVar("T")


async def arun_concurrently(functions: Sequence[Callable[[], Awaitable[T]]]) -> list[T]:
    """Run every function at once (one task each); results in the same order."""
    results: list[T] = []
    slots: dict[int, T] = {}

    async def run(index: int, function: Callable[[], Awaitable[T]]) -> None:
        slots[index] = await function()

    async with anyio.create_task_group() as group:
        for index, function in enumerate(functions):
            group.start_soon(run, index, function)
    results.extend(slots[index] for index in range(len(functions)))
    return results


def run_concurrently(functions: Sequence[Callable[[], T]], max_threads: int = 64) -> list[T]:
    """Run the functions on a bounded thread pool; results in the same order."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=max_threads) as executor:
        futures = [executor.submit(function) for function in functions]
        return [future.result(timeout=60) for future in futures]


async def asleep(seconds: float) -> None:
    await anyio.sleep(seconds)


def sleep(seconds: float) -> None:
    time.sleep(seconds)
