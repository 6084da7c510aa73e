"""Async iterator classes for bodies, where an async generator would otherwise be used.

Rules:
- An async generator abandoned mid-iteration is left for the garbage collector to
  finalise; trio then warns (`ResourceWarning`) and schedules its `aclose()`. These
  classes hold no suspended frame: dropping one mid-iteration costs nothing, and closing
  what they read from is the owner's job (`Response.aclose()`), as it always was.
- Like a generator, an iterator starts its work on the first `__anext__` (not when it
  is created), and once it has ended or failed it only raises `StopAsyncIteration`.
- I/O-free: they await only the async iterators and callbacks they are given.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Iterable, Sequence
from types import AsyncGeneratorType
from typing import Callable, Generic, Optional, TypeVar

__all__ = ["AsyncChunks", "AsyncPipeline"]

S = TypeVar("S")
T = TypeVar("T")

_NEW, _RUNNING, _FLUSHING, _DONE = range(4)


def _nothing() -> Sequence[T]:
    return ()


class AsyncChunks(Generic[T]):
    """The items of a sync iterable, iterated asynchronously (in-memory bodies)."""

    __slots__ = ("_iterator",)

    def __init__(self, iterable: Iterable[T]) -> None:
        self._iterator = iter(iterable)

    def __aiter__(self) -> AsyncChunks[T]:
        return self

    async def __anext__(self) -> T:
        for item in self._iterator:
            return item
        raise StopAsyncIteration


class AsyncPipeline(Generic[S, T]):
    """`async for x in start(): yield from step(x)`, then `yield from finish()`, then
    `await end()`: a generator's loop written as an iterator class.

    `start` is called on the first `__anext__`. `on_error` sees every exception raised
    along the way (to attach the request to it, say) before it propagates. A step that
    gives exactly one item (the usual case) hands it straight back: no buffering.
    """

    __slots__ = ("_end", "_finish", "_on_error", "_open", "_pending", "_source", "_state", "_step")

    def __init__(
        self,
        start: Callable[[], AsyncIterator[S]],
        step: Callable[[S], Sequence[T]],
        finish: Callable[[], Sequence[T]] = _nothing,
        end: Optional[Callable[[], Awaitable[None]]] = None,
        on_error: Optional[Callable[[BaseException], None]] = None,
    ) -> None:
        self._open = start
        self._step = step
        self._finish = finish
        self._end = end
        self._on_error = on_error
        self._source: Optional[AsyncIterator[S]] = None
        self._pending: list[T] = []  # items still to give, last one first
        self._state = _NEW

    def __aiter__(self) -> AsyncPipeline[S, T]:
        return self

    async def aclose(self) -> None:
        """Stop: close the source if it is an async generator, as `aclose()` on a
        generator looping over it would; then only `StopAsyncIteration` follows."""
        source, self._source = self._source, None
        self._state = _DONE
        self._pending = []
        if isinstance(source, AsyncGeneratorType):
            await source.aclose()

    async def __anext__(self) -> T:
        pending = self._pending
        if pending:
            return pending.pop()
        try:
            while True:
                state = self._state
                if state == _RUNNING:
                    try:
                        raw = await self._source.__anext__()  # type: ignore[union-attr]
                    except StopAsyncIteration:
                        self._state = _FLUSHING
                        self._source = None
                        items = self._finish()
                    else:
                        items = self._step(raw)
                    if len(items) == 1:
                        return items[0]
                    if items:
                        pending = self._pending = list(reversed(items))
                        return pending.pop()
                elif state == _NEW:
                    self._state = _RUNNING
                    self._source = self._open()
                elif state == _FLUSHING:
                    self._state = _DONE
                    if self._end is not None:
                        await self._end()
                else:
                    raise StopAsyncIteration
        except StopAsyncIteration:
            raise
        except BaseException as exc:
            self._state = _DONE
            self._source = None
            self._pending = []
            if self._on_error is not None:
                self._on_error(exc)
            raise
