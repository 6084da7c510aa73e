"""The async backend, on anyio: runs on asyncio and on trio. The only module importing anyio.

Rules:
- Connecting is our own Happy Eyeballs (RFC 8305) on raw non-blocking sockets:
  `anyio.connect_tcp` races addresses too, but cannot apply socket options before
  connecting. Each attempt waits with `anyio.wait_writable`; the winner is handed to
  `anyio.abc.SocketStream.from_socket`, new in anyio 4.10: hence the floor, anyio >= 4.10.
- Timeouts are cancel scopes with a deadline, built only when a timeout is given, so a
  read without one costs a single `receive()`. (`anyio.fail_after` does the same thing
  through two generator context managers; a bare `CancelScope` is ~3 µs cheaper.) On
  asyncio a timed call still costs ~7 µs more than an untimed one: the way to go below
  that is a native asyncio stream behind the same interface (DESIGN rule 12).
- UNIX sockets are connected by `anyio.connect_unix`; their socket options are applied
  right after connecting.
- TLS is `anyio.streams.tls.TLSStream` with `standard_compatible=False`: no close_notify
  is required or sent, as HTTP does not need it. It layers over any byte stream, so
  TLS-in-TLS (an HTTPS proxy tunnel) needs nothing special.
- `aclose()` is shielded from cancellation so a socket is never left half-closed.
"""

from __future__ import annotations

import math
import socket
import ssl
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type

import anyio
import anyio.abc
from anyio.abc import SocketAttribute
from anyio.streams.tls import TLSAttribute, TLSStream

from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

from .base import (
    CONNECT_IN_PROGRESS,
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
    timeout_suffix,
)

__all__ = ["AnyIOBackend", "AnyIOStream"]

_READ_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_WRITE_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_CLOSE_ERRORS = (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError)
_TLS_ERRORS = (
    anyio.BrokenResourceError,
    anyio.ClosedResourceError,
    anyio.EndOfStream,
    OSError,  # ssl.SSLError included
)

_EXTRA_ATTRIBUTES: Dict[str, Any] = {
    "ssl_object": TLSAttribute.ssl_object,
    "client_addr": SocketAttribute.local_address,
    "server_addr": SocketAttribute.remote_address,
    "socket": SocketAttribute.raw_socket,
}


class AnyIOStream(AsyncNetworkStream):
    """An anyio byte stream: TCP, UNIX socket, or TLS over either."""

    __slots__ = ("_closed", "_peer", "_raw_socket", "_ssl_object", "_stream")

    def __init__(self, stream: anyio.abc.ByteStream, peer: str) -> None:
        self._stream = stream
        self._peer = peer
        # Ours: after aclose() anyio reports internals ("pop from an empty deque").
        self._closed = False
        # Looked up once: anyio rebuilds its attribute mapping on every `extra()` call,
        # and the pool asks "is_readable" each time it reuses a connection.
        self._raw_socket = stream.extra(SocketAttribute.raw_socket, None)
        self._ssl_object = stream.extra(TLSAttribute.ssl_object, None)

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._closed:
            raise ReadError(f"Error reading from {self._peer}: the stream is closed")
        try:
            if timeout is None:
                return await self._stream.receive(max_bytes)
            with anyio.CancelScope(deadline=anyio.current_time() + timeout):
                return await self._stream.receive(max_bytes)
        except anyio.EndOfStream:
            return b""
        except _READ_ERRORS as exc:
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc
        # Only reached when the deadline's scope swallowed its own cancellation.
        raise ReadTimeout(f"Timed out reading from {self._peer}{timeout_suffix(timeout)}")

    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        if self._closed:
            raise WriteError(f"Error writing to {self._peer}: the stream is closed")
        try:
            if timeout is None:
                return await self._stream.send(data)
            with anyio.CancelScope(deadline=anyio.current_time() + timeout):
                return await self._stream.send(data)
        except _WRITE_ERRORS as exc:
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc
        raise WriteTimeout(f"Timed out writing to {self._peer}{timeout_suffix(timeout)}")

    async def aclose(self) -> None:
        self._closed = True
        with anyio.CancelScope(shield=True):
            try:
                await self._stream.aclose()
            except _CLOSE_ERRORS:
                pass

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        name = server_hostname or self._peer
        deadline = math.inf if timeout is None else anyio.current_time() + timeout
        try:
            with anyio.CancelScope(deadline=deadline):
                tls = await TLSStream.wrap(
                    self._stream,
                    hostname=server_hostname,
                    ssl_context=ssl_context,
                    standard_compatible=False,
                )
                return AnyIOStream(tls, self._peer)
        except _TLS_ERRORS as exc:
            await self.aclose()
            if isinstance(exc, anyio.EndOfStream):
                reason = "the server closed the connection"
            else:
                reason = describe_error(exc)
            raise ConnectError(f"TLS handshake with {name} failed: {reason}") from exc
        except BaseException:
            await self.aclose()
            raise
        await self.aclose()
        raise ConnectTimeout(
            f"Timed out during TLS handshake with {name}{timeout_suffix(timeout)}"
        )

    def get_extra_info(self, name: str) -> Any:
        stream = self._stream
        if name == "is_readable":
            ssl_object = self._ssl_object
            if ssl_object is not None and ssl_object.pending():
                return True
            return is_socket_readable(self._raw_socket)
        attribute = _EXTRA_ATTRIBUTES.get(name)
        return None if attribute is None else stream.extra(attribute, None)


class _AnyIOLock(AsyncLock):
    __slots__ = ("_lock",)

    def __init__(self) -> None:
        # Uncontended acquisition does not yield: the pool holds its lock only briefly.
        self._lock = anyio.Lock(fast_acquire=True)

    async def __aenter__(self) -> None:
        await self._lock.acquire()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self._lock.release()


class _AnyIOEvent(AsyncEvent):
    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = anyio.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self, timeout: Optional[float] = None) -> bool:
        if timeout is None:
            await self._event.wait()
            return True
        with anyio.move_on_after(timeout):
            await self._event.wait()
        return self._event.is_set()


class _AnyIOSemaphore(AsyncSemaphore):
    __slots__ = ("_semaphore",)

    def __init__(self, value: int) -> None:
        self._semaphore = anyio.Semaphore(value)

    async def acquire(self, timeout: Optional[float] = None) -> bool:
        if timeout is None:
            await self._semaphore.acquire()
            return True
        acquired = False
        with anyio.move_on_after(timeout):
            await self._semaphore.acquire()
            acquired = True
        return acquired

    def release(self) -> None:
        self._semaphore.release()


class AnyIOBackend(AsyncNetworkBackend):
    """anyio sockets, TLS, clock and synchronisation; asyncio or trio alike."""

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
        deadline = math.inf if timeout is None else anyio.current_time() + timeout
        with anyio.CancelScope(deadline=deadline):
            targets = select_targets(host, await _lookup(host, port), family, local_address)
            sock = await _happy_eyeballs(targets, local_address, options, host, port)
            try:
                stream = await anyio.abc.SocketStream.from_socket(sock)
            except BaseException as exc:
                sock.close()
                if isinstance(exc, OSError):
                    raise ConnectError(
                        f"Failed to connect to {peer}: {describe_error(exc)}"
                    ) from exc
                raise
            return AnyIOStream(stream, peer)
        raise ConnectTimeout(f"Timed out connecting to {peer}{timeout_suffix(timeout)}")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        deadline = math.inf if timeout is None else anyio.current_time() + timeout
        with anyio.CancelScope(deadline=deadline):
            try:
                stream = await anyio.connect_unix(path)
            except OSError as exc:
                raise ConnectError(f"Failed to connect to {path}: {describe_error(exc)}") from exc
            if socket_options:
                # anyio connects UNIX sockets itself, so options land just after connect.
                raw = stream.extra(SocketAttribute.raw_socket)
                try:
                    for option in socket_options:
                        raw.setsockopt(*option)
                except BaseException as exc:
                    await stream.aclose()
                    if isinstance(exc, OSError):
                        raise ConnectError(
                            f"Failed to set socket options on {path}: {describe_error(exc)}"
                        ) from exc
                    raise
            return AnyIOStream(stream, path)
        raise ConnectTimeout(f"Timed out connecting to {path}{timeout_suffix(timeout)}")

    async def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        deadline = math.inf if timeout is None else anyio.current_time() + timeout
        with anyio.CancelScope(deadline=deadline):
            return addresses_of(await _lookup(host, port))
        raise ConnectTimeout(f"Timed out resolving {host!r}{timeout_suffix(timeout)}")

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(seconds)

    def time(self) -> float:
        # Not anyio.current_time(): that needs a running loop and costs a library lookup
        # per call. Callers only compare readings and turn them back into relative
        # timeouts, and asyncio's loop clock *is* time.monotonic().
        return time.monotonic()

    def create_lock(self) -> AsyncLock:
        return _AnyIOLock()

    def create_event(self) -> AsyncEvent:
        return _AnyIOEvent()

    def create_semaphore(self, value: int) -> AsyncSemaphore:
        return _AnyIOSemaphore(value)

    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        # Swallows only its own cancellation (the deadline); the caller's is raised again
        # at its next checkpoint after the block.
        return anyio.CancelScope(shield=True, deadline=anyio.current_time() + timeout)


async def _lookup(host: str, port: int) -> List[ConnectTarget]:
    """Connect targets for `host` (an IP literal without touching DNS)."""
    targets = numeric_targets(host, port)
    if targets is not None:
        return targets
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"Failed to resolve {host!r}: {describe_error(exc)}") from exc
    return targets_from_addrinfo(infos)


async def _attempt(
    target: ConnectTarget, local_address: Optional[str], options: Sequence[SocketOption]
) -> socket.socket:
    """One connection attempt; the socket is closed if it fails or is cancelled."""
    sock = open_tcp_socket(target, local_address, options)
    try:
        result = sock.connect_ex(target[2])
        if result in CONNECT_IN_PROGRESS:
            await anyio.wait_writable(sock)
            result = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if result:
            raise os_error(result)
    except BaseException:
        sock.close()
        raise
    return sock


async def _happy_eyeballs(
    targets: Sequence[ConnectTarget],
    local_address: Optional[str],
    options: Sequence[SocketOption],
    host: str,
    port: int,
) -> socket.socket:
    """Race attempts, starting one per HAPPY_EYEBALLS_DELAY or as soon as one fails.

    The first connected socket wins; the task group's cancellation closes the others.
    """
    errors: List[Tuple[ConnectTarget, BaseException]] = []
    if len(targets) == 1:
        try:
            return await _attempt(targets[0], local_address, options)
        except OSError as exc:
            errors.append((targets[0], exc))
            raise ConnectError(connect_failure_message(host, port, errors)) from exc

    winners: List[socket.socket] = []
    # Anything but an OSError from an attempt is re-raised as is, not in an ExceptionGroup.
    crashed: List[BaseException] = []

    async def run(target: ConnectTarget, failed: anyio.Event, tg: anyio.abc.TaskGroup) -> None:
        try:
            sock = await _attempt(target, local_address, options)
        except OSError as exc:
            errors.append((target, exc))
            failed.set()
            return
        except Exception as exc:
            crashed.append(exc)
            tg.cancel_scope.cancel()
            return
        if winners:  # another attempt finished in the same scheduling round
            sock.close()
            return
        winners.append(sock)
        tg.cancel_scope.cancel()

    try:
        async with anyio.create_task_group() as tg:
            for target in targets:
                failed = anyio.Event()
                tg.start_soon(run, target, failed, tg)
                with anyio.move_on_after(HAPPY_EYEBALLS_DELAY):
                    await failed.wait()
    except BaseException:
        for sock in winners:
            sock.close()
        raise
    if crashed:
        for sock in winners:
            sock.close()
        raise crashed[0]
    if winners:
        return winners[0]
    raise ConnectError(connect_failure_message(host, port, errors)) from errors[-1][1]


# Re-exported for the in-process ASGI transport, which must not import anyio itself.
create_task_group = anyio.create_task_group
create_memory_object_stream = anyio.create_memory_object_stream
__all__ += ["create_memory_object_stream", "create_task_group"]


def default_backend() -> AsyncNetworkBackend:
    """The backend a pool uses when given none, chosen on its first request.

    Under asyncio: the native asyncio backend (`HTTPDUO_ASYNC_BACKEND=anyio` keeps this
    one there too). Under trio, or anything else: this anyio backend.
    """
    import os

    from .asyncio import AsyncioBackend, running_on_asyncio

    forced = os.environ.get("HTTPDUO_ASYNC_BACKEND", "").strip().lower()
    if forced != "anyio" and running_on_asyncio():
        return AsyncioBackend()
    return AnyIOBackend()


__all__ += ["default_backend"]
