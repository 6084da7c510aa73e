"""Floor clients: the least work that correctly fetches from the bench server.

They show how fast a client could be in this process, on this machine, against this
server, so each table also says how much of a client's time is the client's own.

Rules:
- HTTP/1.1 GET with keep-alive and Content-Length framing, nothing else: a chunked or
  unframed response, a status line that is not HTTP/1.x, or more bytes than announced is
  a `BenchError`, never a guess. `Connection: close` is honoured.
- One request per connection at a time, no pipelining; the async floor opens a connection
  per concurrent caller and keeps it for the next one.
- Reads go into one preallocated buffer (`recv_into`; `asyncio.BufferedProtocol` for the
  async floor), so a download copies nothing it does not have to.
- Written for this harness; it shares nothing with any client it is compared against.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Optional
from urllib.parse import urlsplit

__all__ = ["AsyncProtocolFloor", "BenchError", "SocketFloor", "parse_head"]

# asyncio's selector transports read at most 256 KiB per call; the sync floor matches it.
BUFFER_SIZE = 256 * 1024

Address = tuple[str, int]


class BenchError(Exception):
    """A response the floor clients will not interpret (or a broken exchange)."""


def parse_head(head: bytes) -> tuple[int, int, bool]:
    """Parse a response head (without its blank line): (status, Content-Length, close?)."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ", 2)
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise BenchError(f"not an HTTP/1.x status line: {lines[0]!r}")
    status = int(parts[1])
    length = -1
    close = parts[0] == b"HTTP/1.0"
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            raise BenchError("the floor clients handle Content-Length framing only")
        elif name == b"connection":
            close = b"close" in value.lower()
    if length < 0:
        raise BenchError(f"response without Content-Length (status {status})")
    return status, length, close


class _Requests:
    """Request bytes and target address per URL, built once: the floor has no options."""

    def __init__(self) -> None:
        self._cache: dict[str, tuple[bytes, Address]] = {}

    def __call__(self, url: str) -> tuple[bytes, Address]:
        try:
            return self._cache[url]
        except KeyError:
            pass
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise BenchError(f"the floor clients speak plain http only, not {url!r}")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        head = f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n"
        entry = (head.encode("ascii"), (parts.hostname, parts.port or 80))
        self._cache[url] = entry
        return entry


class SocketFloor:
    """Blocking floor: one socket, `sendall` the request, `recv_into` the response."""

    def __init__(self) -> None:
        self._requests = _Requests()
        self._sock: Optional[socket.socket] = None
        self._address: Optional[Address] = None
        self._view = memoryview(bytearray(BUFFER_SIZE))

    def get(self, url: str) -> tuple[int, bytes]:
        status, body, _ = self._exchange(url, keep=True)
        return status, body

    def download(self, url: str) -> tuple[int, int]:
        status, _, size = self._exchange(url, keep=False)
        return status, size

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _connect(self, address: Address) -> socket.socket:
        if self._sock is not None and self._address == address:
            return self._sock
        self.close()
        sock = socket.create_connection(address)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock, self._address = sock, address
        return sock

    def _exchange(self, url: str, *, keep: bool) -> tuple[int, bytes, int]:
        request, address = self._requests(url)
        sock = self._connect(address)
        try:
            return self._send_and_receive(sock, request, keep)
        except BaseException:
            # Whatever state the connection is in, it cannot carry another request.
            self.close()
            raise

    def _send_and_receive(
        self, sock: socket.socket, request: bytes, keep: bool
    ) -> tuple[int, bytes, int]:
        view = self._view
        recv_into = sock.recv_into
        sock.sendall(request)
        received = bytearray()
        while True:
            n = recv_into(view)
            if n == 0:
                raise BenchError("the server closed the connection before the head ended")
            received += view[:n]
            end = received.find(b"\r\n\r\n")
            if end >= 0:
                break
        status, length, close = parse_head(bytes(received[:end]))
        body = received[end + 4 :]
        if len(body) > length:
            raise BenchError("the server sent more bytes than its Content-Length")
        remaining = length - len(body)
        capacity = len(view)
        while remaining:
            # Never ask for more than the body still owes, so nothing is over-read.
            n = recv_into(view, remaining if remaining < capacity else capacity)
            if n == 0:
                raise BenchError(f"the server closed the connection {remaining} bytes short")
            if keep:
                body += view[:n]
            remaining -= n
        if close:
            self.close()
        return status, bytes(body) if keep else b"", length


class _FloorConnection(asyncio.BufferedProtocol):
    """One keep-alive connection; `exchange()` sends a request and awaits its response."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._view = memoryview(bytearray(BUFFER_SIZE))
        self._transport: Optional[asyncio.BaseTransport] = None
        self._waiter: Optional[asyncio.Future[tuple[int, bytes, int]]] = None
        self._head = bytearray()
        self._body = bytearray()
        self._keep = False
        self._status = 0
        self._length = 0
        self._remaining = -1  # -1 while the head is still arriving
        self._close_after = False
        self.closed = False

    async def exchange(self, request: bytes, keep: bool) -> tuple[int, bytes, int]:
        transport = self._transport
        if transport is None or self.closed:
            raise BenchError("the connection is closed")
        assert isinstance(transport, asyncio.WriteTransport)
        self._keep = keep
        self._waiter = self._loop.create_future()
        transport.write(request)
        return await self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()
        self.closed = True

    # asyncio.BufferedProtocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def get_buffer(self, sizehint: int) -> memoryview:
        return self._view

    def buffer_updated(self, nbytes: int) -> None:
        data = self._view[:nbytes]
        if self._remaining < 0:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            try:
                status, length, close = parse_head(bytes(self._head[:end]))
            except (BenchError, ValueError) as exc:
                self._fail(exc)
                return
            data = memoryview(bytes(self._head[end + 4 :]))
            self._head.clear()
            self._status, self._length, self._remaining = status, length, length
            self._close_after = close
        n = len(data)
        if n > self._remaining:
            self._fail(BenchError("the server sent more bytes than its Content-Length"))
            return
        self._remaining -= n
        if self._keep:
            self._body += data
        if self._remaining == 0:
            self._complete()

    def eof_received(self) -> bool:
        return False  # close our side too; connection_lost fails any waiter

    def connection_lost(self, exc: Optional[Exception]) -> None:
        self.closed = True
        self._fail(BenchError(f"the connection was lost mid-response ({exc})"))

    def _complete(self) -> None:
        result = (self._status, bytes(self._body), self._length)
        self._body.clear()
        self._remaining = -1
        if self._close_after:
            self.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(result)

    def _fail(self, exc: BaseException) -> None:
        self.close()
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)


class AsyncProtocolFloor:
    """asyncio floor: a free list of keep-alive connections per address."""

    def __init__(self) -> None:
        self._requests = _Requests()
        self._idle: dict[Address, list[_FloorConnection]] = {}
        self._opened: list[_FloorConnection] = []

    async def get(self, url: str) -> tuple[int, bytes]:
        status, body, _ = await self._exchange(url, keep=True)
        return status, body

    async def download(self, url: str) -> tuple[int, int]:
        status, _, size = await self._exchange(url, keep=False)
        return status, size

    def close(self) -> None:
        for connection in self._opened:
            connection.close()
        self._opened.clear()
        self._idle.clear()

    async def _exchange(self, url: str, *, keep: bool) -> tuple[int, bytes, int]:
        request, address = self._requests(url)
        connection = await self._acquire(address)
        try:
            result = await connection.exchange(request, keep)
        except BaseException:
            connection.close()
            raise
        if not connection.closed:
            self._idle.setdefault(address, []).append(connection)
        return result

    async def _acquire(self, address: Address) -> _FloorConnection:
        idle = self._idle.get(address)
        while idle:
            connection = idle.pop()
            if not connection.closed:
                return connection
        loop = asyncio.get_running_loop()
        _, connection = await loop.create_connection(
            lambda: _FloorConnection(loop), address[0], address[1]
        )
        self._opened.append(connection)
        return connection
