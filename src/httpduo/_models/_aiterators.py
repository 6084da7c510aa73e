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

from collections.abc import AsyncIterator, Awaitable, Iterable, Iterator, Sequence
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

    `start` is called on the first `__anext__`. A step (or `finish`) may give a list or
    any iterable: a lazy one is drawn one item per `__anext__`, so a step that expands
    its input (a decoder) never holds all its output at once; a list of exactly one item
    (the usual case) is handed straight back. `on_error` sees every exception raised
    along the way (to attach the request to it, say) before it propagates; if it returns
    an awaitable (closing the response), that is awaited first.
    """

    __slots__ = ("_end", "_finish", "_on_error", "_open", "_pending", "_source", "_state", "_step")

    def __init__(
        self,
        start: Callable[[], AsyncIterator[S]],
        step: Callable[[S], Iterable[T]],
        finish: Callable[[], Iterable[T]] = _nothing,
        end: Optional[Callable[[], Awaitable[None]]] = None,
        on_error: Optional[Callable[[BaseException], Optional[Awaitable[None]]]] = None,
    ) -> None:
        self._open = start
        self._step = step
        self._finish = finish
        self._end = end
        self._on_error = on_error
        self._source: Optional[AsyncIterator[S]] = None
        self._pending: Optional[Iterator[T]] = None  # what a step has still to give
        self._state = _NEW

    def __aiter__(self) -> AsyncPipeline[S, T]:
        return self

    async def aclose(self) -> None:
        """Stop: close the source if it is an async generator, as `aclose()` on a
        generator looping over it would; then only `StopAsyncIteration` follows."""
        source, self._source = self._source, None
        self._state = _DONE
        self._pending = None
        if isinstance(source, AsyncGeneratorType):
            await source.aclose()

    async def __anext__(self) -> T:
        try:
            pending = self._pending
            if pending is not None:
                for item in pending:
                    return item
                self._pending = None
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
                    kind = type(items)
                    if (kind is list or kind is tuple) and len(items) == 1:  # type: ignore[arg-type]
                        return items[0]  # type: ignore[index, no-any-return]
                    pending = iter(items)
                    for item in pending:
                        self._pending = pending
                        return item
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
            self._pending = None
            if self._on_error is not None:
                cleanup = self._on_error(exc)
                if cleanup is not None:
                    await cleanup
            raise
