"""Scripted backends for testing connection code without sockets, async and sync alike.

Rules:
- Every connection replays the same script: the given chunks from `read()` (split when
  larger than `max_bytes`), then b"" forever. Writes are recorded, never interpreted.
- `start_tls` returns the same stream, now reporting an `ssl_object` whose ALPN answer
  is "h2" when the backend was built with `http2=True` (else "http/1.1").
- "is_readable" reports `stream.readable` (False unless a test sets it), so tests decide
  whether an idle connection looks dropped.
- Clock, sleep, locks, events and `shielded()` are the real backend's (anyio's loaded
  lazily, so the sync mock never imports anyio).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import Any, List, Optional

from .base import (
    AsyncEvent,
    AsyncLock,
    AsyncNetworkBackend,
    AsyncNetworkStream,
    AsyncSemaphore,
    Event,
    Lock,
    NetworkBackend,
    NetworkStream,
    Semaphore,
    SocketOption,
)
from .sync import SyncBackend

__all__ = ["AsyncMockBackend", "AsyncMockStream", "MockBackend", "MockSSLObject", "MockStream"]


class MockSSLObject:
    """Stands in for `ssl.SSLObject` where connection code inspects it."""

    __slots__ = ("_http2",)

    def __init__(self, http2: bool) -> None:
        self._http2 = http2

    def selected_alpn_protocol(self) -> str:
        return "h2" if self._http2 else "http/1.1"

    def version(self) -> str:
        return "TLSv1.3"

    def getpeercert(self, binary_form: bool = False) -> Any:
        return None


class _Script:
    """The state shared by the async and sync mock streams."""

    __slots__ = ("_chunks", "closed", "http2", "readable", "server_hostname", "tls", "written")

    def __init__(self, chunks: List[bytes], http2: bool) -> None:
        self._chunks = [chunk for chunk in reversed(chunks) if chunk]
        self.http2 = http2
        self.written: List[bytes] = []
        self.closed = False
        self.tls = False
        self.server_hostname: Optional[str] = None
        self.readable = False

    def next_chunk(self, max_bytes: int) -> bytes:
        if not self._chunks:
            return b""
        chunk = self._chunks.pop()
        if len(chunk) > max_bytes:
            chunk, rest = chunk[:max_bytes], chunk[max_bytes:]
            self._chunks.append(rest)
        return chunk

    def extra(self, name: str) -> Any:
        if name == "ssl_object":
            return MockSSLObject(self.http2) if self.tls else None
        if name == "is_readable":
            return self.readable
        return None


class AsyncMockStream(AsyncNetworkStream):
    """A scripted stream: reads replay the script, writes land in `.written`."""

    __slots__ = ("_script",)

    def __init__(self, buffer: List[bytes], http2: bool = False) -> None:
        self._script = _Script(buffer, http2)

    @property
    def written(self) -> List[bytes]:
        return self._script.written

    @property
    def closed(self) -> bool:
        return self._script.closed

    @property
    def readable(self) -> bool:
        return self._script.readable

    @readable.setter
    def readable(self, value: bool) -> None:
        self._script.readable = value

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self._script.next_chunk(max_bytes)

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if data:
            self._script.written.append(bytes(data))

    async def aclose(self) -> None:
        self._script.closed = True

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        self._script.tls = True
        self._script.server_hostname = server_hostname
        return self

    def get_extra_info(self, name: str) -> Any:
        return self._script.extra(name)


class MockStream(NetworkStream):
    """A scripted stream: reads replay the script, writes land in `.written`."""

    __slots__ = ("_script",)

    def __init__(self, buffer: List[bytes], http2: bool = False) -> None:
        self._script = _Script(buffer, http2)

    @property
    def written(self) -> List[bytes]:
        return self._script.written

    @property
    def closed(self) -> bool:
        return self._script.closed

    @property
    def readable(self) -> bool:
        return self._script.readable

    @readable.setter
    def readable(self, value: bool) -> None:
        self._script.readable = value

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        return self._script.next_chunk(max_bytes)

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if data:
            self._script.written.append(bytes(data))

    def close(self) -> None:
        self._script.closed = True

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        self._script.tls = True
        self._script.server_hostname = server_hostname
        return self

    def get_extra_info(self, name: str) -> Any:
        return self._script.extra(name)


class AsyncMockBackend(AsyncNetworkBackend):
    """Hands out `AsyncMockStream`s replaying `buffer`; `.streams` lists them in order."""

    def __init__(self, buffer: List[bytes], http2: bool = False) -> None:
        from .anyio import AnyIOBackend  # only async users pay for importing anyio

        self._buffer = list(buffer)
        self._http2 = http2
        self._real = AnyIOBackend()
        self.streams: List[AsyncMockStream] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        stream = AsyncMockStream(self._buffer, self._http2)
        self.streams.append(stream)
        return stream

    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        stream = AsyncMockStream(self._buffer, self._http2)
        self.streams.append(stream)
        return stream

    async def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        return await self._real.resolve(host, port, timeout)

    async def sleep(self, seconds: float) -> None:
        await self._real.sleep(seconds)

    def time(self) -> float:
        return self._real.time()

    def create_lock(self) -> AsyncLock:
        return self._real.create_lock()

    def create_event(self) -> AsyncEvent:
        return self._real.create_event()

    def create_semaphore(self, value: int) -> AsyncSemaphore:
        return self._real.create_semaphore(value)

    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        return self._real.shielded(timeout)


class MockBackend(NetworkBackend):
    """Hands out `MockStream`s replaying `buffer`; `.streams` lists them in order."""

    def __init__(self, buffer: List[bytes], http2: bool = False) -> None:
        self._buffer = list(buffer)
        self._http2 = http2
        self._real = SyncBackend()
        self.streams: List[MockStream] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> NetworkStream:
        stream = MockStream(self._buffer, self._http2)
        self.streams.append(stream)
        return stream

    def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> NetworkStream:
        stream = MockStream(self._buffer, self._http2)
        self.streams.append(stream)
        return stream

    def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        return self._real.resolve(host, port, timeout)

    def sleep(self, seconds: float) -> None:
        self._real.sleep(seconds)

    def time(self) -> float:
        return self._real.time()

    def create_lock(self) -> Lock:
        return self._real.create_lock()

    def create_event(self) -> Event:
        return self._real.create_event()

    def create_semaphore(self, value: int) -> Semaphore:
        return self._real.create_semaphore(value)

    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        return self._real.shielded(timeout)
