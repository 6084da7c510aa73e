"""The async backend written directly on asyncio (Protocol/Transport); it never imports anyio.

The backend is split by concept: asyncio_protocol.py queues received bytes with flow
control, asyncio_sync.py holds timed waits on futures (and the lock, event and
semaphore), asyncio_tls.py the TLS-in-TLS fallback. This module joins them into
AsyncioStream and AsyncioBackend, and connects.

Rules:
- `read()` hands out queued bytes without suspending; only an empty queue waits, on one
  future per read. Its timeout is kept lazily: a stream arms at most one loop timer, and
  a read whose deadline is later than the armed timer leaves it be; when the timer
  fires before the waiting read's deadline it re-arms for that deadline. Keep-alive
  traffic (one read per response, each with the same timeout) so schedules about one
  timer per connection per timeout period instead of one per read, and the loop's
  timer heap holds no pile of cancelled handles.
- Writing: `transport.write()` takes everything at once; a write awaits only while the
  transport has paused us, until its `resume_writing`.
- Connecting is Happy Eyeballs (RFC 8305): non-blocking sockets from base.py's helpers,
  `loop.sock_connect`, one task per address raced with `asyncio.wait`; the winner is
  adopted by `loop.create_connection(sock=...)`. The whole-connect `timeout` cancels the
  connecting task from a timer and turns that cancellation into ConnectTimeout. (Before
  3.11, which brought `Task.uncancel`, a cancellation from elsewhere that lands in the
  same loop iteration as the deadline is taken for the deadline.)
- TLS is `loop.start_tls`, keeping our protocol. TLS over TLS (an HTTPS proxy tunnel)
  uses it too where the loop can layer over an SSL transport (CPython >= 3.11); elsewhere
  asyncio_tls.py pumps records through the outer stream. As in the anyio backend, no
  close_notify is sent or required.
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
import time
from collections import deque
from collections.abc import Iterable
from contextlib import AbstractContextManager
from typing import (
    Any,
    Dict,
    List,
    NoReturn,
    Optional,
    Sequence,
    Tuple,
)

from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

from .asyncio_protocol import READ_HIGH_WATER, READ_LOW_WATER, StreamProtocol
from .asyncio_sync import (
    AsyncioEvent,
    AsyncioLock,
    AsyncioSemaphore,
    Deadline,
    discard_waiter,
    expire_waiter,
)
from .asyncio_tls import start_tls_over_stream
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
    reported_address,
    select_targets,
    targets_from_addrinfo,
    timeout_suffix,
)

__all__ = [
    "READ_HIGH_WATER",
    "READ_LOW_WATER",
    "AsyncioBackend",
    "AsyncioStream",
    "running_on_asyncio",
]

# asyncio's own handshake timer (60 s unless told) must never fire: our deadline, or none.
_NO_HANDSHAKE_TIMEOUT = 30 * 24 * 3600.0

_CLOSED = "the stream is closed"
_PEER_CLOSED = "the server closed the connection"


class AsyncioStream(AsyncNetworkStream):
    """A TCP or UNIX socket connection, or TLS over one, on an asyncio transport."""

    __slots__ = (
        "_client_addr",
        "_loop",
        "_peer",
        "_protocol",
        "_raw_socket",
        "_read_deadline",
        "_read_timer",
        "_read_timer_at",
        "_server_addr",
        "_ssl_object",
        "_timed_waiter",
        "_transport",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        transport: asyncio.Transport,
        protocol: StreamProtocol,
        peer: str,
    ) -> None:
        self._loop = loop
        self._transport = transport
        self._protocol = protocol
        self._peer = peer
        # Looked up once: the pool asks "is_readable" every time it reuses a connection.
        self._raw_socket = transport.get_extra_info("socket")
        self._ssl_object = transport.get_extra_info("ssl_object")
        self._client_addr = reported_address(transport.get_extra_info("sockname"))
        self._server_addr = reported_address(transport.get_extra_info("peername"))
        # The waiting read's deadline and future, and the one timer (see the rules).
        self._read_deadline = 0.0
        self._timed_waiter: Optional[asyncio.Future[bool]] = None
        self._read_timer: Optional[asyncio.TimerHandle] = None
        self._read_timer_at = 0.0

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
                    deadline = self._loop.time() + timeout
                    self._read_deadline = deadline
                    self._timed_waiter = waiter
                    timer = self._read_timer
                    if timer is None or self._read_timer_at > deadline:
                        if timer is not None:
                            timer.cancel()
                        self._arm_read_timer(deadline)
                    try:
                        await waiter
                    finally:
                        self._timed_waiter = None
            if not protocol._size:
                return self._read_nothing(timeout)
        return protocol._take(max_bytes)

    def _arm_read_timer(self, when: float) -> None:
        self._read_timer_at = when
        self._read_timer = self._loop.call_at(when, self._read_timer_fired)

    def _read_timer_fired(self) -> None:
        self._read_timer = None
        waiter = self._timed_waiter
        if waiter is None or waiter.done():
            return  # no read waits now; the next one arms a timer of its own
        if self._read_deadline > self._read_timer_at:
            self._arm_read_timer(self._read_deadline)
        else:
            waiter.set_result(True)  # timed out: read() reports it

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
        raise ReadTimeout(f"Timed out reading from {self._peer}{timeout_suffix(timeout)}")

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
            timer = (
                None if timeout is None else self._loop.call_later(timeout, expire_waiter, waiter)
            )
            try:
                timed_out = await waiter
            except BaseException:
                discard_waiter(protocol._drain_waiters, waiter)
                raise
            finally:
                if timer is not None:
                    timer.cancel()
            if timed_out:
                discard_waiter(protocol._drain_waiters, waiter)
                raise WriteTimeout(f"Timed out writing to {self._peer}{timeout_suffix(timeout)}")
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
        timer = self._read_timer
        if timer is not None:
            self._read_timer = None
            timer.cancel()
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
            return await start_tls_over_stream(
                self, ssl_context, server_hostname, timeout, self._peer
            )
        name = server_hostname or self._peer
        if protocol._ended or protocol._size:
            # Bytes read before the handshake would be lost to it: the peer broke protocol.
            reason = "unexpected data before the handshake" if protocol._size else None
            self._fail_tls(name, reason)
        tls_transport: Optional[asyncio.Transport] = None
        try:
            with Deadline(self._loop, timeout):
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
            raise ConnectTimeout(
                f"Timed out during TLS handshake with {name}{timeout_suffix(timeout)}"
            )
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
        if name == "readable_seen":
            protocol = self._protocol
            return bool(protocol._size or protocol._ended)
        if name == "ssl_object":
            return self._ssl_object
        if name == "server_addr":
            return self._server_addr
        if name == "client_addr":
            return self._client_addr
        if name == "socket":
            return self._raw_socket
        return None


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
        with Deadline(loop, timeout):
            targets = await _lookup(loop, host, port)
            targets = select_targets(host, targets, family, local_address)
            sock = await _happy_eyeballs(loop, targets, local_address, options, host, port)
            return await _adopt(loop, sock, peer)
        raise ConnectTimeout(f"Timed out connecting to {peer}{timeout_suffix(timeout)}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        loop = asyncio.get_running_loop()
        with Deadline(loop, timeout):
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
        raise ConnectTimeout(f"Timed out connecting to {path}{timeout_suffix(timeout)}")

    async def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        loop = asyncio.get_running_loop()
        with Deadline(loop, timeout):
            return addresses_of(await _lookup(loop, host, port))
        raise ConnectTimeout(f"Timed out resolving {host!r}{timeout_suffix(timeout)}")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def time(self) -> float:
        # The loop's clock is time.monotonic() too, but this needs no running loop.
        return time.monotonic()

    def create_lock(self) -> AsyncLock:
        return AsyncioLock()

    def create_event(self) -> AsyncEvent:
        return AsyncioEvent()

    def create_semaphore(self, value: int) -> AsyncSemaphore:
        return AsyncioSemaphore(value)

    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        # A cancellation has landed once already when cleanup runs, and asyncio does not
        # deliver it again: the block only needs its bound. (AsyncioStream.write suspends
        # only while the transport's buffer is over its high-water mark; a second
        # cancellation there leaves the bytes queued whole, yet interrupts the caller.)
        return Deadline(asyncio.get_running_loop(), timeout)


async def _lookup(loop: asyncio.AbstractEventLoop, host: str, port: int) -> List[ConnectTarget]:
    """Connect targets for `host` (an IP literal without touching DNS)."""
    targets = numeric_targets(host, port)
    if targets is not None:
        return targets
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"Failed to resolve {host!r}: {describe_error(exc)}") from exc
    return targets_from_addrinfo(infos)


async def _adopt(loop: asyncio.AbstractEventLoop, sock: socket.socket, peer: str) -> AsyncioStream:
    """Hand a connected socket to an asyncio transport driving a fresh protocol."""
    protocol = StreamProtocol()
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
