"""Waiting on asyncio futures with a timeout, and the primitives built that way.

Rules:
- A wait is one future, settled with False by whoever wakes it and with True ("timed
  out") by `expire_waiter`, run from a `loop.call_later` handle that is cancelled when
  the wait ends: no task cancellation, no helper task, the same on Python 3.9 to 3.13.
- A waiter that gives up (timeout or cancellation) takes itself off its queue; a
  semaphore unit handed to a waiter cancelled before it could see it is passed on.
- Futures are created when a task waits, from the running loop, so the primitives can be
  built before any loop runs (clients are often created at import time), even on 3.9.
- `Deadline` is the one exception to "no task cancellation": it bounds a whole multi-step
  operation (connect, TLS handshake) by cancelling the task, and swallows only the
  cancellation it caused.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from types import TracebackType
from typing import Any, Deque, List, Optional, Type

from .base import AsyncEvent, AsyncLock, AsyncSemaphore

__all__ = [
    "AsyncioEvent",
    "AsyncioLock",
    "AsyncioSemaphore",
    "Deadline",
    "discard_waiter",
    "expire_waiter",
]


def expire_waiter(waiter: asyncio.Future[bool]) -> None:
    """Timer callback: settle `waiter` with True, meaning "timed out"."""
    if not waiter.done():
        waiter.set_result(True)


def discard_waiter(waiters: Deque[asyncio.Future[bool]], waiter: asyncio.Future[bool]) -> None:
    """Take `waiter` off `waiters` if it is still queued (a waker may have taken it)."""
    try:
        waiters.remove(waiter)
    except ValueError:
        pass


class Deadline:
    """Cancels the current task when `timeout` runs out; the `with` block then swallows
    the resulting CancelledError, so code after the block runs only on timeout."""

    __slots__ = ("_expired", "_task", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: Optional[float]) -> None:
        self._expired = False
        self._task: Optional[asyncio.Task[Any]] = None
        self._timer: Optional[asyncio.TimerHandle] = None
        if timeout is not None:
            self._task = asyncio.current_task(loop)
            if self._task is None:
                raise RuntimeError("httpduo's asyncio backend must be used from a task")
            self._timer = loop.call_later(timeout, self._expire)

    def _expire(self) -> None:
        self._expired = True
        assert self._task is not None
        self._task.cancel()

    def __enter__(self) -> Deadline:
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> bool:
        if self._timer is not None:
            self._timer.cancel()
        if not self._expired or exc_type is None:
            return False
        if not issubclass(exc_type, asyncio.CancelledError):
            return False
        if sys.version_info >= (3, 11):
            assert self._task is not None
            if self._task.uncancel() > 0:  # cancelled from elsewhere as well: let it go on
                return False
        return True


class AsyncioLock(AsyncLock):
    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock: Optional[asyncio.Lock] = None  # on 3.9 a Lock binds a loop when made

    async def __aenter__(self) -> None:
        lock = self._lock
        if lock is None:
            lock = self._lock = asyncio.Lock()
        # An uncontended acquire returns without suspending.
        await lock.acquire()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        assert self._lock is not None
        self._lock.release()


class AsyncioEvent(AsyncEvent):
    __slots__ = ("_flag", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiters: List[asyncio.Future[bool]] = []

    def set(self) -> None:
        if self._flag:
            return
        self._flag = True
        waiters = self._waiters
        self._waiters = []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(False)

    def is_set(self) -> bool:
        return self._flag

    async def wait(self, timeout: Optional[float] = None) -> bool:
        if self._flag:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, expire_waiter, waiter)
        try:
            await waiter
        finally:
            if timer is not None:
                timer.cancel()
            if not self._flag:  # timed out or cancelled: forget the waiter
                try:
                    self._waiters.remove(waiter)
                except ValueError:  # pragma: no cover - set() already took it
                    pass
        return self._flag


class AsyncioSemaphore(AsyncSemaphore):
    __slots__ = ("_value", "_waiters")

    def __init__(self, value: int) -> None:
        if value < 0:
            raise ValueError(f"a semaphore's value must be >= 0, got {value}")
        self._value = value
        self._waiters: Deque[asyncio.Future[bool]] = deque()

    async def acquire(self, timeout: Optional[float] = None) -> bool:
        if self._value and not self._waiters:
            self._value -= 1
            return True
        loop = asyncio.get_running_loop()
        # release() hands a unit over by settling the future with False ("not timed out").
        waiter: asyncio.Future[bool] = loop.create_future()
        self._waiters.append(waiter)
        timer = None if timeout is None else loop.call_later(timeout, expire_waiter, waiter)
        try:
            timed_out = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and not waiter.result():
                self.release()  # granted, then cancelled before we saw it: pass it on
            else:
                discard_waiter(self._waiters, waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if timed_out:
            discard_waiter(self._waiters, waiter)
            return False
        return True

    def release(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(False)
                return
        self._value += 1
