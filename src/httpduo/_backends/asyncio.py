"""The async backend written directly on asyncio (Protocol/Transport); it never imports anyio.

Rules:
- Bytes arrive in `_StreamProtocol.data_received` and queue there as received. `read()`
  hands out queued bytes without suspending; only an empty queue waits, on one future
  per read. A timeout settles that future from a `loop.call_later` handle, cancelled when
  done: no task cancellation, no helper task, the same on Python 3.9 to 3.13.
- Flow control both ways. Reading: the transport is paused once more than
  READ_HIGH_WATER bytes are queued and resumed when reads bring the queue down to
  READ_LOW_WATER, so a fast server grows our queue past the high-water mark by at most
  one delivery from the transport (a 256 KiB socket read on selector loops). Writing:
  `transport.write()` takes everything at once; a write awaits only while the transport
  has paused us, until its `resume_writing`.
- Connecting is Happy Eyeballs (RFC 8305): non-blocking sockets from base.py's helpers,
  `loop.sock_connect`, one task per address raced with `asyncio.wait`; the winner is
  adopted by `loop.create_connection(sock=...)`. The whole-connect `timeout` cancels the
  connecting task from a timer and turns that cancellation into ConnectTimeout. (Before
  3.11, which brought `Task.uncancel`, a cancellation from elsewhere that lands in the
  same loop iteration as the deadline is taken for the deadline.)
- TLS is `loop.start_tls`, keeping our protocol. TLS over TLS (an HTTPS proxy tunnel)
  uses it too where the loop can layer over an SSL transport (CPython >= 3.11); elsewhere
  an `ssl.SSLObject` over memory BIOs pumps records through the outer stream. As in the
  anyio backend, no close_notify is sent or required.
- `aclose()` aborts the transport (unsent data is dropped: a connection being closed has
  nothing left worth sending), then yields once so the socket is really closed when it
  returns. All the closing happens before that yield, so a cancellation cannot cut it
  short; `aclose()` never raises for a broken socket.
- Errors read as the anyio backend's: OSError / ssl.SSLError become ConnectError /
  ReadError / WriteError chained with `from`; cancellation passes through untouched.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import sys
import time
from collections import deque
from collections.abc import Iterable
from functools import partial
from types import TracebackType
from typing import (
    Any,
    Callable,
    Deque,
    Dict,
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
    Type,
    TypeVar,
)

from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

from .base import (
    HAPPY_EYEBALLS_DELAY,
    AsyncEvent,
    AsyncLock,
    AsyncNetworkBackend,
    AsyncNetworkStream,
    AsyncSemaphore,
    ConnectTarget,
    SocketOption,
    addresses_of,
    connect_failure_message,
    describe_error,
    format_peer,
    is_socket_readable,
    local_address_family,
    numeric_targets,
    open_tcp_socket,
    os_error,
    select_targets,
    targets_from_addrinfo,
)

__all__ = [
    "READ_HIGH_WATER",
    "READ_LOW_WATER",
    "AsyncioBackend",
    "AsyncioStream",
    "running_on_asyncio",
]

_T = TypeVar("_T")

#: Pause reading once more than this many received bytes wait to be read...
READ_HIGH_WATER = 256 * 1024
#: ...and resume once reads have brought them down to this.
READ_LOW_WATER = 64 * 1024

_TLS_READ_SIZE = 64 * 1024
# asyncio's own handshake timer (60 s unless told) must never fire: our deadline, or none.
_NO_HANDSHAKE_TIMEOUT = 30 * 24 * 3600.0

_CLOSED = "the stream is closed"
_PEER_CLOSED = "the server closed the connection"


def _after(timeout: Optional[float]) -> str:
    return f" after {timeout:g}s" if timeout is not None else ""


def _expire(waiter: asyncio.Future[bool]) -> None:
    """Timer callback: settle `waiter` with True, meaning "timed out"."""
    if not waiter.done():
        waiter.set_result(True)


def _address(address: Any) -> Any:
    """A socket address as the other backends report it: IPv6 as (host, port)."""
    if isinstance(address, tuple) and len(address) == 4:
        host, port, _flowinfo, scope_id = address
        return (f"{host}%{scope_id}" if scope_id else host, port)
    return address


class _StreamProtocol(asyncio.Protocol):
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

    def data_received(self, data: bytes) -> None:
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


class _Deadline:
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

    def __enter__(self) -> _Deadline:
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


class AsyncioStream(AsyncNetworkStream):
    """A TCP or UNIX socket connection, or TLS over one, on an asyncio transport."""

    __slots__ = (
        "_client_addr",
        "_loop",
        "_peer",
        "_protocol",
        "_raw_socket",
        "_server_addr",
        "_ssl_object",
        "_transport",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        protocol: _StreamProtocol,
        peer: str,
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._protocol = protocol
        self._peer = peer
        # Looked up once: the pool asks "is_readable" every time it reuses a connection.
        self._raw_socket = transport.get_extra_info("socket")
        self._ssl_object = transport.get_extra_info("ssl_object")
        self._client_addr = _address(transport.get_extra_info("sockname"))
        self._server_addr = _address(transport.get_extra_info("peername"))

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        protocol = self._protocol
        if not protocol._size:
            if not protocol._ended:
                waiter = protocol._read_waiter
                if waiter is not None and not waiter.done():
                    raise RuntimeError("read() called while another task is reading")
                waiter = protocol._read_waiter = self._loop.create_future()
                if timeout is None:
                    await waiter
                else:
                    timer = self._loop.call_later(timeout, _expire, waiter)
                    try:
                        await waiter
                    finally:
                        timer.cancel()
            if not protocol._size:
                return self._read_nothing(timeout)
        return protocol._take(max_bytes)

    def _read_nothing(self, timeout: Optional[float]) -> bytes:
        """Why a read found no bytes: EOF, an error, or its timeout."""
        protocol = self._protocol
        if protocol._closed:
            raise ReadError(f"Error reading from {self._peer}: {_CLOSED}")
        if protocol._eof:
            return b""
        error = protocol._error
        if error is not None:
            raise ReadError(f"Error reading from {self._peer}: {describe_error(error)}") from error
        if protocol._lost:
            return b""
        raise ReadTimeout(f"Timed out reading from {self._peer}{_after(timeout)}")

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        protocol = self._protocol
        if protocol._unwritable:
            self._raise_write_error()
        transport = self._transport
        transport.write(data)
        # A failed send closes the transport at once and reports why one iteration later.
        if protocol._write_paused or transport.is_closing():
            await self._drain(timeout)

    async def _drain(self, timeout: Optional[float]) -> None:
        protocol = self._protocol
        transport = self._transport
        while not protocol._unwritable and (protocol._write_paused or transport.is_closing()):
            waiter: asyncio.Future[bool] = self._loop.create_future()
            protocol._drain_waiters.append(waiter)
            timer = None if timeout is None else self._loop.call_later(timeout, _expire, waiter)
            try:
                timed_out = await waiter
            except BaseException:
                _discard(protocol._drain_waiters, waiter)
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if timed_out:
                _discard(protocol._drain_waiters, waiter)
                raise WriteTimeout(f"Timed out writing to {self._peer}{_after(timeout)}")
        if protocol._unwritable:
            self._raise_write_error()

    def _raise_write_error(self) -> NoReturn:
        protocol = self._protocol
        error = None if protocol._closed else protocol._error
        if protocol._closed:
            reason = _CLOSED
        elif error is not None:
            reason = describe_error(error)
        else:
            reason = _PEER_CLOSED
        raise WriteError(f"Error writing to {self._peer}: {reason}") from error

    async def aclose(self) -> None:
        if self._abort():
            # The transport closes its socket from a callback it has just scheduled: let
            # it run, so the peer sees the close now (a cancellation arriving here finds
            # the stream closed all the same).
            await asyncio.sleep(0)

    def _abort(self) -> bool:
        """Close the transport at once, unless already done; True if this call did it."""
        protocol = self._protocol
        if protocol._closed:
            return False
        protocol._mark_closed()
        try:
            self._transport.abort()
        except RuntimeError:  # the event loop is already closed: the transport goes with it
            return False
        return True

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        protocol = self._protocol
        transport = self._transport
        if protocol._tls and not getattr(transport, "_start_tls_compatible", False):
            return await _TLSOverStream.handshake(
                self, ssl_context, server_hostname, timeout, self._peer
            )
        name = server_hostname or self._peer
        if protocol._ended or protocol._size:
            # Bytes read before the handshake would be lost to it: the peer broke protocol.
            reason = "unexpected data before the handshake" if protocol._size else None
            self._fail_tls(name, reason)
        tls_transport: Optional[asyncio.Transport] = None
        try:
            with _Deadline(self._loop, timeout):
                protocol._transport = None  # nothing may pause the transport start_tls swaps
                tls_transport = await self._loop.start_tls(
                    transport,
                    protocol,
                    ssl_context,
                    server_hostname=server_hostname,
                    ssl_handshake_timeout=_NO_HANDSHAKE_TIMEOUT,
                )
        except OSError as exc:  # ssl.SSLError included
            self._abort()
            if isinstance(exc, ConnectionResetError) and not str(exc):
                reason = _PEER_CLOSED  # asyncio's way of saying EOF during the handshake
            else:
                reason = describe_error(exc)
            raise ConnectError(f"TLS handshake with {name} failed: {reason}") from exc
        except BaseException:
            self._abort()
            raise
        if tls_transport is None:
            self._abort()
            raise ConnectTimeout(f"Timed out during TLS handshake with {name}{_after(timeout)}")
        protocol._transport = tls_transport
        protocol._tls = True
        protocol._read_paused = False  # start_tls resumed the transport underneath
        return AsyncioStream(self._loop, tls_transport, protocol, self._peer)

    def _fail_tls(self, name: str, reason: Optional[str]) -> NoReturn:
        protocol = self._protocol
        error = protocol._error
        if reason is None:
            if protocol._closed:
                reason = _CLOSED
            elif error is not None:
                reason = describe_error(error)
            else:
                reason = _PEER_CLOSED
        self._abort()
        raise ConnectError(f"TLS handshake with {name} failed: {reason}") from error

    def get_extra_info(self, name: str) -> Any:
        if name == "is_readable":
            protocol = self._protocol
            if protocol._size or protocol._ended:
                return True
            return is_socket_readable(self._raw_socket)
        if name == "ssl_object":
            return self._ssl_object
        if name == "server_addr":
            return self._server_addr
        if name == "client_addr":
            return self._client_addr
        if name == "socket":
            return self._raw_socket
        return None


def _discard(waiters: Deque[asyncio.Future[bool]], waiter: asyncio.Future[bool]) -> None:
    try:
        waiters.remove(waiter)
    except ValueError:
        pass


class _TLSOverStream(AsyncNetworkStream):
    """TLS carried over another stream by an `ssl.SSLObject` on memory BIOs: TLS in TLS
    where the loop's start_tls cannot layer over an SSL transport (CPython < 3.11).

    Each outer read/write gets the full `timeout`, so one call may take a few of them.
    """

    __slots__ = ("_incoming", "_outer", "_outgoing", "_peer", "_ssl")

    def __init__(
        self,
        outer: AsyncNetworkStream,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
        peer: str,
    ) -> None:
        self._outer = outer
        self._ssl = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing
        self._peer = peer

    @classmethod
    async def handshake(
        cls,
        outer: AsyncNetworkStream,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str],
        timeout: Optional[float],
        peer: str,
    ) -> _TLSOverStream:
        name = server_hostname or peer
        incoming = ssl.MemoryBIO()
        outgoing = ssl.MemoryBIO()
        try:
            ssl_object = ssl_context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
            stream = cls(outer, ssl_object, incoming, outgoing, peer)
            await stream._drive(ssl_object.do_handshake, timeout)
        except (ReadTimeout, WriteTimeout) as exc:
            await outer.aclose()
            raise ConnectTimeout(
                f"Timed out during TLS handshake with {name}{_after(timeout)}"
            ) from exc
        except (ReadError, WriteError, OSError) as exc:
            await outer.aclose()
            reason = _PEER_CLOSED if isinstance(exc, ssl.SSLEOFError) else describe_error(exc)
            raise ConnectError(f"TLS handshake with {name} failed: {reason}") from exc
        except BaseException:
            await outer.aclose()
            raise
        return stream

    async def _flush(self, timeout: Optional[float]) -> None:
        pending = self._outgoing.read()
        if pending:
            await self._outer.write(pending, timeout)

    async def _drive(self, operation: Callable[[], _T], timeout: Optional[float]) -> _T:
        """Retry `operation` until the SSLObject stops asking for more incoming bytes."""
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                await self._flush(timeout)
                data = await self._outer.read(_TLS_READ_SIZE, timeout)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
            else:
                await self._flush(timeout)
                return result

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        try:
            return await self._drive(partial(self._ssl.read, max_bytes), timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except ssl.SSLError as exc:
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        try:
            # SSLObject.write takes everything at once: the outgoing BIO is unbounded.
            await self._drive(partial(self._ssl.write, data), timeout)
        except ssl.SSLError as exc:
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    async def aclose(self) -> None:
        await self._outer.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        return await _TLSOverStream.handshake(
            self, ssl_context, server_hostname, timeout, self._peer
        )

    def get_extra_info(self, name: str) -> Any:
        if name == "ssl_object":
            return self._ssl
        if name == "is_readable":
            if self._ssl.pending() or self._incoming.pending:
                return True
            return bool(self._outer.get_extra_info(name))
        return self._outer.get_extra_info(name)


# --- synchronisation primitives ----------------------------------------------------------
# Futures are created when a task waits, from the running loop, so the primitives can be
# built before any loop runs (clients are often created at import time), even on 3.9.


class _AsyncioLock(AsyncLock):
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


class _AsyncioEvent(AsyncEvent):
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
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
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


class _AsyncioSemaphore(AsyncSemaphore):
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
        timer = None if timeout is None else loop.call_later(timeout, _expire, waiter)
        try:
            timed_out = await waiter
        except BaseException:
            if waiter.done() and not waiter.cancelled() and not waiter.result():
                self.release()  # granted, then cancelled before we saw it: pass it on
            else:
                _discard(self._waiters, waiter)
            raise
        finally:
            if timer is not None:
                timer.cancel()
        if timed_out:
            _discard(self._waiters, waiter)
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


class AsyncioBackend(AsyncNetworkBackend):
    """Sockets, TLS, clock and synchronisation straight on asyncio (and uvloop)."""

    __slots__ = ()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        family = 0 if local_address is None else local_address_family(local_address)
        options = list(socket_options) if socket_options is not None else []
        peer = format_peer(host, port)
        loop = asyncio.get_running_loop()
        with _Deadline(loop, timeout):
            targets = numeric_targets(host, port)
            if targets is None:
                try:
                    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                except OSError as exc:
                    raise ConnectError(
                        f"Failed to resolve {host!r}: {describe_error(exc)}"
                    ) from exc
                targets = targets_from_addrinfo(infos)
            targets = select_targets(host, targets, family, local_address)
            sock = await _happy_eyeballs(loop, targets, local_address, options, host, port)
            return await _adopt(loop, sock, peer)
        raise ConnectTimeout(f"Timed out connecting to {peer}{_after(timeout)}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with _Deadline(loop, timeout):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                if socket_options:
                    try:
                        for option in socket_options:
                            sock.setsockopt(*option)
                    except OSError as exc:
                        raise ConnectError(
                            f"Failed to set socket options on {path}: {describe_error(exc)}"
                        ) from exc
                await _sock_connect(loop, sock, path)
            except BaseException as exc:
                sock.close()
                if isinstance(exc, OSError):
                    raise ConnectError(
                        f"Failed to connect to {path}: {describe_error(exc)}"
                    ) from exc
                raise
            return await _adopt(loop, sock, path)
        raise ConnectTimeout(f"Timed out connecting to {path}{_after(timeout)}")

    async def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        targets = numeric_targets(host, port)
        if targets is not None:
            return addresses_of(targets)
        loop = asyncio.get_running_loop()
        with _Deadline(loop, timeout):
            try:
                infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except OSError as exc:
                raise ConnectError(f"Failed to resolve {host!r}: {describe_error(exc)}") from exc
            return addresses_of(targets_from_addrinfo(infos))
        raise ConnectTimeout(f"Timed out resolving {host!r}{_after(timeout)}")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def time(self) -> float:
        # The loop's clock is time.monotonic() too, but this needs no running loop.
        return time.monotonic()

    def create_lock(self) -> AsyncLock:
        return _AsyncioLock()

    def create_event(self) -> AsyncEvent:
        return _AsyncioEvent()

    def create_semaphore(self, value: int) -> AsyncSemaphore:
        return _AsyncioSemaphore(value)


async def _adopt(loop: asyncio.AbstractEventLoop, sock: socket.socket, peer: str) -> AsyncioStream:
    """Hand a connected socket to an asyncio transport driving a fresh protocol."""
    protocol = _StreamProtocol()
    try:
        transport, _ = await loop.create_connection(lambda: protocol, sock=sock)
    except BaseException as exc:
        sock.close()
        if isinstance(exc, OSError):
            raise ConnectError(f"Failed to connect to {peer}: {describe_error(exc)}") from exc
        raise
    return AsyncioStream(loop, transport, protocol, peer)


async def _attempt(
    loop: asyncio.AbstractEventLoop,
    target: ConnectTarget,
    local_address: Optional[str],
    options: Sequence[SocketOption],
) -> socket.socket:
    """One connection attempt; the socket is closed if it fails or is cancelled."""
    sock = open_tcp_socket(target, local_address, options)
    try:
        await _sock_connect(loop, sock, target[2])
    except BaseException:
        sock.close()
        raise
    return sock


async def _sock_connect(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, address: Any
) -> None:
    try:
        await loop.sock_connect(sock, address)
    except OSError as exc:
        if exc.errno is None:
            raise
        # asyncio words it "Connect call failed (address)"; say what the OS says instead.
        raise os_error(exc.errno) from exc


async def _happy_eyeballs(
    loop: asyncio.AbstractEventLoop,
    targets: Sequence[ConnectTarget],
    local_address: Optional[str],
    options: Sequence[SocketOption],
    host: str,
    port: int,
) -> socket.socket:
    """Race attempts, starting one per HAPPY_EYEBALLS_DELAY or as soon as one fails.

    The first connected socket wins; every other attempt is cancelled or closed.
    """
    errors: List[Tuple[ConnectTarget, BaseException]] = []
    if len(targets) == 1:
        try:
            return await _attempt(loop, targets[0], local_address, options)
        except OSError as exc:
            errors.append((targets[0], exc))
            raise ConnectError(connect_failure_message(host, port, errors)) from exc

    remaining = deque(targets)
    running: Dict[asyncio.Task[socket.socket], ConnectTarget] = {}
    try:
        while True:
            if remaining:
                target = remaining.popleft()
                running[loop.create_task(_attempt(loop, target, local_address, options))] = target
            if not running:
                break
            done, _ = await asyncio.wait(
                running,
                timeout=HAPPY_EYEBALLS_DELAY if remaining else None,
                return_when=asyncio.FIRST_COMPLETED,
            )
            winner: Optional[socket.socket] = None
            for task in done:
                target = running.pop(task)
                failure = task.exception()
                if failure is None:
                    if winner is None:
                        winner = task.result()
                    else:  # another attempt finished in the same loop iteration
                        task.result().close()
                elif isinstance(failure, OSError):
                    errors.append((target, failure))
                else:  # a bad socket option, say: not a network failure
                    if winner is not None:
                        winner.close()
                    raise failure
            if winner is not None:
                return winner
            # An attempt failed or the delay passed: the loop starts the next address.
    finally:
        for task in running:
            if not task.done():
                task.cancel()  # the attempt closes its socket as the cancellation lands
            elif not task.cancelled() and task.exception() is None:
                task.result().close()
    cause = errors[-1][1] if errors else None
    raise ConnectError(connect_failure_message(host, port, errors)) from cause


def running_on_asyncio() -> bool:
    """True when called under a running asyncio loop, False under trio or no loop at all."""
    try:
        import sniffio
    except ImportError:  # trio requires sniffio: without it only asyncio can be running
        pass
    else:
        try:
            return sniffio.current_async_library() == "asyncio"
        except sniffio.AsyncLibraryNotFoundError:
            return False
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
