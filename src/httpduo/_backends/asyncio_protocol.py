"""The asyncio Protocol under AsyncioStream: a queue of received bytes, flow-controlled.

Rules:
- The transport receives into one buffer per thread (a `BufferedProtocol`), and
  `buffer_updated` copies what arrived out of it at once, so every connection of the
  thread can share it: asyncio fills and reports it in one synchronous step. A plain
  Protocol would have the transport allocate a fresh 256 KiB buffer for every receive
  and shrink it to what came; for small responses that churn put glibc's allocator in
  a mode where every request paid for it (`bench --fixed-malloc` shows the difference).
  RECEIVE_SIZE stays under glibc's default mmap threshold, so even a full read's copy
  is a plain heap allocation.
- Bytes queue in arrival order; `_take()` hands them out without copying a chunk it can
  give whole, and joins small chunks that piled up.
- At most one read waits at a time, on `_read_waiter`; writers blocked by the transport
  wait on `_drain_waiters`. Every state change that can end a wait settles them.
- Reading is flow-controlled: the transport is paused once more than READ_HIGH_WATER
  bytes are queued and resumed when reads bring the queue down to READ_LOW_WATER, so a
  fast server grows our queue past the high-water mark by at most one delivery from the
  transport (RECEIVE_SIZE bytes).
- One instance serves a connection for its whole life (`start_tls` keeps it); only
  AsyncioStream reads and changes its state, so the fields stay underscore-private.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from typing import Deque, Optional

__all__ = ["READ_HIGH_WATER", "READ_LOW_WATER", "RECEIVE_SIZE", "StreamProtocol"]

#: The most one receive hands over (the size of the shared per-thread buffer).
RECEIVE_SIZE = 64 * 1024

_per_thread = threading.local()


def _receive_buffer() -> memoryview:
    view: memoryview = memoryview(bytearray(RECEIVE_SIZE))
    _per_thread.view = view
    return view


#: Pause reading once more than this many received bytes wait to be read...
READ_HIGH_WATER = 256 * 1024
#: ...and resume once reads have brought them down to this.
READ_LOW_WATER = 64 * 1024


class StreamProtocol(asyncio.BufferedProtocol):
    """Queues received bytes and records the connection's state for `AsyncioStream`.

    One instance serves a connection for its whole life: `start_tls` keeps it, so the
    state below always describes the outermost stream the caller uses.
    """

    __slots__ = (
        "_chunks",
        "_closed",
        "_drain_waiters",
        "_ended",
        "_eof",
        "_error",
        "_lost",
        "_offset",
        "_read_paused",
        "_read_waiter",
        "_size",
        "_tls",
        "_transport",
        "_unwritable",
        "_write_paused",
    )

    def __init__(self) -> None:
        # None while start_tls swaps transports: nothing may be paused or resumed then.
        self._transport: Optional[asyncio.Transport] = None
        self._chunks: Deque[bytes] = deque()
        self._offset = 0  # bytes of _chunks[0] already handed out
        self._size = 0  # bytes queued and not handed out
        self._read_paused = False
        self._read_waiter: Optional[asyncio.Future[bool]] = None
        self._write_paused = False
        self._drain_waiters: Deque[asyncio.Future[bool]] = deque()
        self._eof = False  # the peer finished sending
        self._lost = False  # the transport is gone
        self._closed = False  # we closed it
        self._error: Optional[BaseException] = None  # why the transport was lost
        self._ended = False  # no more bytes will arrive: EOF, lost or closed
        self._unwritable = False  # lost, closed, or EOF on TLS (asyncio then shuts it)
        self._tls = False

    # --- asyncio callbacks -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def get_buffer(self, sizehint: int) -> memoryview:
        try:
            view: memoryview = _per_thread.view
        except AttributeError:
            view = _receive_buffer()
        return view

    def buffer_updated(self, nbytes: int) -> None:
        data = _per_thread.view[:nbytes].tobytes()
        self._chunks.append(data)
        self._size += len(data)
        waiter = self._read_waiter
        if waiter is not None:
            self._read_waiter = None
            if not waiter.done():
                waiter.set_result(False)
        if self._size > READ_HIGH_WATER and not self._read_paused:
            transport = self._transport
            if transport is not None:
                self._read_paused = True
                transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        self._ended = True
        if self._tls:
            self._unwritable = True
        self._wake_reader()
        # Plain TCP stays open for writing, as a half-closed socket allows; asyncio shuts
        # a TLS transport down regardless (and warns when asked not to).
        return not self._tls

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self._lost = True
        self._ended = True
        self._unwritable = True
        if exc is not None and self._error is None:
            self._error = exc
        self._wake_reader()
        self._wake_writers()

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        self._wake_writers()

    # --- for AsyncioStream -----------------------------------------------------------------

    def _wake_reader(self) -> None:
        waiter = self._read_waiter
        if waiter is not None:
            self._read_waiter = None
            if not waiter.done():
                waiter.set_result(False)

    def _wake_writers(self) -> None:
        waiters = self._drain_waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(False)

    def _take(self, max_bytes: int) -> bytes:
        """Up to `max_bytes` queued bytes (the queue must not be empty)."""
        chunks = self._chunks
        chunk = chunks[0]
        start = self._offset
        end = start + max_bytes
        if end < len(chunk):
            self._offset = end
            data = chunk[start:end]
        else:
            chunks.popleft()
            self._offset = 0
            data = chunk[start:] if start else chunk
            if chunks and len(data) < max_bytes:
                data = self._gather(data, max_bytes)
        self._size -= len(data)
        if self._read_paused and self._size <= READ_LOW_WATER:
            transport = self._transport
            if transport is not None:
                self._read_paused = False
                transport.resume_reading()
        return data

    def _gather(self, first: bytes, max_bytes: int) -> bytes:
        # Small chunks that piled up are handed out together: one parse instead of many.
        parts = [first]
        room = max_bytes - len(first)
        chunks = self._chunks
        while chunks and room > 0:
            chunk = chunks[0]
            if len(chunk) <= room:
                parts.append(chunks.popleft())
                room -= len(chunk)
            else:
                parts.append(chunk[:room])
                self._offset = room
                room = 0
        return b"".join(parts)

    def _mark_closed(self) -> None:
        self._closed = True
        self._ended = True
        self._unwritable = True
        self._chunks.clear()
        self._size = 0
        self._offset = 0
        self._wake_reader()
        self._wake_writers()
