"""The twin backend interfaces, async and sync side by side, plus helpers both sides share.

Rules:
- Every async name has a sync twin of identical shape, because code in `httpduo._async`
  is turned into `httpduo._sync` by a token rename: AsyncNetworkBackend→NetworkBackend,
  AsyncNetworkStream→NetworkStream, AsyncLock→Lock, AsyncEvent→Event,
  AsyncSemaphore→Semaphore, aclose→close, `async def`→`def`, `await x`→`x`.
- Timeouts are arguments (seconds, `None` = wait forever) and are enforced by the
  backend, which raises ConnectTimeout / ReadTimeout / WriteTimeout. OSError and
  ssl.SSLError become ConnectError / ReadError / WriteError, chained with `from`.
  Anything else (cancellation, KeyboardInterrupt, programming errors) passes through.
- `aclose()` / `close()` is idempotent and never raises for a broken socket.
- A failed `start_tls` closes the stream it was called on.
- This module does no I/O of its own except the zero-timeout readiness probe.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import ssl
import sys
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any, List, Optional, Tuple, Type, Union

from httpduo._models._exceptions import ConnectError

__all__ = [
    "CONNECT_IN_PROGRESS",
    "HAPPY_EYEBALLS_DELAY",
    "addresses_of",
    "AsyncEvent",
    "AsyncLock",
    "AsyncNetworkBackend",
    "AsyncNetworkStream",
    "AsyncSemaphore",
    "ConnectTarget",
    "Event",
    "Lock",
    "NetworkBackend",
    "NetworkStream",
    "Semaphore",
    "SocketOption",
    "connect_failure_message",
    "describe_error",
    "format_peer",
    "interleave_targets",
    "is_socket_readable",
    "local_address_family",
    "numeric_targets",
    "open_tcp_socket",
    "os_error",
    "reported_address",
    "select_targets",
    "targets_from_addrinfo",
    "timeout_suffix",
]

#: RFC 8305 "Connection Attempt Delay": start the next address after this long.
HAPPY_EYEBALLS_DELAY = 0.25

#: `(level, option, value)` as for `socket.setsockopt`, or `(level, option, None, optlen)`.
SocketOption = Union[
    Tuple[int, int, int],
    Tuple[int, int, Union[bytes, bytearray]],
    Tuple[int, int, None, int],
]

#: One address to try: (family, proto, sockaddr).
ConnectTarget = Tuple[int, int, Tuple[Any, ...]]

#: connect_ex results meaning "the connection is under way".
CONNECT_IN_PROGRESS = frozenset(
    {errno.EINPROGRESS, errno.EINTR}
    | ({getattr(errno, "WSAEWOULDBLOCK", 10035)} if sys.platform == "win32" else set())
)


# ---------------------------------------------------------------------------------------
# Async interfaces
# ---------------------------------------------------------------------------------------


class AsyncNetworkStream(ABC):
    """A connected byte stream (TCP, UNIX socket or TLS over either)."""

    __slots__ = ()

    @abstractmethod
    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        """Return up to `max_bytes` bytes as soon as some arrive; b"" at end of stream."""

    @abstractmethod
    async def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        """Send all of `data`. After a WriteTimeout the stream is unusable: close it."""

    @abstractmethod
    async def aclose(self) -> None:
        """Close the stream. Idempotent; never raises for an already-broken socket."""

    @abstractmethod
    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> AsyncNetworkStream:
        """Run a TLS handshake over this stream and return the TLS stream to use instead.

        A failed handshake closes this stream and raises ConnectError (ConnectTimeout
        when `timeout` ran out).
        """

    @abstractmethod
    def get_extra_info(self, name: str) -> Any:
        """One of "ssl_object", "client_addr", "server_addr", "socket", "is_readable",
        "readable_seen".

        "is_readable" is True when data or EOF is waiting right now: on an idle
        kept-alive connection that means the server closed it (or broke the protocol).
        "readable_seen" is the same question answered from what the backend already
        received, without a system call: None where only the socket can tell.
        Unknown names give None.
        """


class AsyncLock(ABC):
    """A non-reentrant lock: `async with lock:`."""

    __slots__ = ()

    @abstractmethod
    async def __aenter__(self) -> None: ...

    @abstractmethod
    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...


class AsyncEvent(ABC):
    """A one-shot flag that tasks can wait for."""

    __slots__ = ()

    @abstractmethod
    def set(self) -> None:
        """Set the flag and wake every waiter."""

    @abstractmethod
    def is_set(self) -> bool: ...

    @abstractmethod
    async def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the flag; False if `timeout` ran out first."""


class AsyncSemaphore(ABC):
    """A counting semaphore: `async with sem:` or `acquire()` / `release()`."""

    __slots__ = ()

    @abstractmethod
    async def acquire(self, timeout: Optional[float] = None) -> bool:
        """Take one unit; False if `timeout` ran out first."""

    @abstractmethod
    def release(self) -> None: ...

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.release()


class AsyncNetworkBackend(ABC):
    """Opens streams and provides the clock, sleeping and synchronisation primitives."""

    __slots__ = ()

    @abstractmethod
    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream:
        """Connect with Happy Eyeballs (RFC 8305); `timeout` bounds the whole connect.

        TCP_NODELAY is set, then `socket_options` are applied before connecting.
        `local_address` must be an IP address; only targets of its family are tried.
        """

    @abstractmethod
    async def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> AsyncNetworkStream: ...

    @abstractmethod
    async def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        """The addresses `host` resolves to, in the resolver's order (an IP literal: itself).

        Raises ConnectError when the name does not resolve, ConnectTimeout when `timeout`
        runs out first. (SOCKS proxies use it for their local-DNS schemes.)
        """

    @abstractmethod
    async def sleep(self, seconds: float) -> None: ...

    @abstractmethod
    def time(self) -> float:
        """A monotonic clock, in seconds."""

    @abstractmethod
    def create_lock(self) -> AsyncLock: ...

    @abstractmethod
    def create_event(self) -> AsyncEvent: ...

    @abstractmethod
    def create_semaphore(self, value: int) -> AsyncSemaphore: ...

    @abstractmethod
    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        """`with backend.shielded(timeout):` runs a short cleanup (a frame that must go
        out although the request was cancelled) to its end, bounded by `timeout`: when
        that runs out the block is cancelled, and the `with` swallows that cancellation.

        anyio (asyncio, trio): a shielded cancel scope with that deadline. Native asyncio
        delivers a cancellation once, so cleanup after it runs anyway and only the bound
        is added; a further cancellation (another `Task.cancel()`, or an anyio scope
        around the caller, which cancels again at every suspension) still interrupts the
        block where it suspends. Keep such blocks free of suspensions where possible.
        """


# ---------------------------------------------------------------------------------------
# Sync twins
# ---------------------------------------------------------------------------------------


class NetworkStream(ABC):
    """A connected byte stream (TCP, UNIX socket or TLS over either)."""

    __slots__ = ()

    @abstractmethod
    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        """Return up to `max_bytes` bytes as soon as some arrive; b"" at end of stream."""

    @abstractmethod
    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        """Send all of `data`. After a WriteTimeout the stream is unusable: close it."""

    @abstractmethod
    def close(self) -> None:
        """Close the stream. Idempotent; never raises for an already-broken socket."""

    @abstractmethod
    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        """Run a TLS handshake over this stream and return the TLS stream to use instead.

        A failed handshake closes this stream and raises ConnectError (ConnectTimeout
        when `timeout` ran out).
        """

    @abstractmethod
    def get_extra_info(self, name: str) -> Any:
        """One of "ssl_object", "client_addr", "server_addr", "socket", "is_readable",
        "readable_seen".

        "is_readable" is True when data or EOF is waiting right now: on an idle
        kept-alive connection that means the server closed it (or broke the protocol).
        "readable_seen" is the same question answered from what the backend already
        received, without a system call: None where only the socket can tell.
        Unknown names give None.
        """


class Lock(ABC):
    """A non-reentrant lock: `with lock:`."""

    __slots__ = ()

    @abstractmethod
    def __enter__(self) -> None: ...

    @abstractmethod
    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None: ...


class Event(ABC):
    """A one-shot flag that threads can wait for."""

    __slots__ = ()

    @abstractmethod
    def set(self) -> None:
        """Set the flag and wake every waiter."""

    @abstractmethod
    def is_set(self) -> bool: ...

    @abstractmethod
    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait for the flag; False if `timeout` ran out first."""


class Semaphore(ABC):
    """A counting semaphore: `with sem:` or `acquire()` / `release()`."""

    __slots__ = ()

    @abstractmethod
    def acquire(self, timeout: Optional[float] = None) -> bool:
        """Take one unit; False if `timeout` ran out first."""

    @abstractmethod
    def release(self) -> None: ...

    def __enter__(self) -> None:
        self.acquire()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.release()


class NetworkBackend(ABC):
    """Opens streams and provides the clock, sleeping and synchronisation primitives."""

    __slots__ = ()

    @abstractmethod
    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> NetworkStream:
        """Connect with Happy Eyeballs (RFC 8305); `timeout` bounds the whole connect.

        TCP_NODELAY is set, then `socket_options` are applied before connecting.
        `local_address` must be an IP address; only targets of its family are tried.
        """

    @abstractmethod
    def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> NetworkStream: ...

    @abstractmethod
    def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        """The addresses `host` resolves to, in the resolver's order (an IP literal: itself).

        Raises ConnectError when the name does not resolve. The stdlib resolver cannot be
        interrupted, so `timeout` is not enforced on this side.
        """

    @abstractmethod
    def sleep(self, seconds: float) -> None: ...

    @abstractmethod
    def time(self) -> float:
        """A monotonic clock, in seconds."""

    @abstractmethod
    def create_lock(self) -> Lock: ...

    @abstractmethod
    def create_event(self) -> Event: ...

    @abstractmethod
    def create_semaphore(self, value: int) -> Semaphore: ...

    @abstractmethod
    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        """The twin of the async `shielded()`: a thread has no cancellation to shield
        from, so a plain context manager (the calls inside keep their own timeouts)."""


# ---------------------------------------------------------------------------------------
# Helpers shared by both backends (connect-time only, never on the read/write path)
# ---------------------------------------------------------------------------------------


def format_peer(host: str, port: int) -> str:
    """`host:port`, with an IPv6 literal in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def describe_error(exc: BaseException) -> str:
    """A one-line reason for `exc`, falling back to what caused it when it says nothing."""
    current: Optional[BaseException] = exc
    for _ in range(8):  # chains are short; the bound guards against a cyclic __cause__
        if current is None:
            break
        text = str(current)
        if text:
            return text
        current = current.__cause__ or current.__context__
    return type(exc).__name__


def timeout_suffix(timeout: Optional[float]) -> str:
    """`" after 5s"` to end a timeout message, or `""` when there was no timeout."""
    return f" after {timeout:g}s" if timeout is not None else ""


def reported_address(address: Any) -> Any:
    """A socket address as every backend reports it (anyio's shape): an IPv6 4-tuple
    becomes (host, port), a non-zero scope id kept as "%scope" in the host."""
    if isinstance(address, tuple) and len(address) == 4:
        host, port, _flowinfo, scope_id = address
        return (f"{host}%{scope_id}" if scope_id else host, port)
    return address


def targets_from_addrinfo(
    infos: Iterable[Tuple[Any, Any, int, str, Tuple[Any, ...]]],
) -> List[ConnectTarget]:
    """Reduce getaddrinfo results to unique (family, proto, sockaddr) targets, in order."""
    seen = set()
    targets: List[ConnectTarget] = []
    for family, _type, proto, _canonname, sockaddr in infos:
        key = (int(family), sockaddr[0], sockaddr[1])
        if key not in seen:
            seen.add(key)
            targets.append((int(family), proto, sockaddr))
    return targets


def addresses_of(targets: Sequence[ConnectTarget]) -> List[str]:
    """The IP address strings of connect targets, in order (what `resolve` returns)."""
    return [str(sockaddr[0]) for _family, _proto, sockaddr in targets]


def numeric_targets(host: str, port: int) -> Optional[List[ConnectTarget]]:
    """The target for an IP literal (scope ids included), or None when `host` is a name.

    Numeric lookups never touch DNS, so this is cheap enough for the event loop thread.
    """
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    except socket.gaierror:
        return None
    return targets_from_addrinfo(infos)


def interleave_targets(targets: Sequence[ConnectTarget]) -> List[ConnectTarget]:
    """IPv6 first, then alternate families, each family keeping the resolver's order."""
    v6 = [t for t in targets if t[0] == socket.AF_INET6]
    others = [t for t in targets if t[0] != socket.AF_INET6]
    ordered: List[ConnectTarget] = []
    for index in range(max(len(v6), len(others))):
        if index < len(v6):
            ordered.append(v6[index])
        if index < len(others):
            ordered.append(others[index])
    return ordered


def select_targets(
    host: str, targets: Sequence[ConnectTarget], family: int, local_address: Optional[str]
) -> List[ConnectTarget]:
    """The targets in Happy Eyeballs order, only those of `family` unless it is 0."""
    if family:
        targets = [target for target in targets if target[0] == family]
        if not targets:
            raise ConnectError(
                f"No address of {host!r} has the address family of local_address {local_address!r}"
            )
    return interleave_targets(targets)


def local_address_family(local_address: str) -> int:
    """The address family of `local_address`, which must be an IP address literal."""
    targets = numeric_targets(local_address, 0)
    if not targets:
        raise ValueError(
            f"local_address must be an IP address such as '0.0.0.0' or '::', got {local_address!r}"
        )
    return targets[0][0]


def open_tcp_socket(
    target: ConnectTarget,
    local_address: Optional[str],
    socket_options: Sequence[SocketOption],
) -> socket.socket:
    """A non-blocking socket for `target` with TCP_NODELAY, options and bind applied."""
    sock = socket.socket(target[0], socket.SOCK_STREAM, target[1])
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for option in socket_options:
            sock.setsockopt(*option)
        if local_address is not None:
            sock.bind((local_address, 0))
    except BaseException:
        sock.close()
        raise
    return sock


def os_error(code: int) -> OSError:
    """An OSError for an errno value, e.g. from SO_ERROR, worded as the OS words it."""
    try:
        return OSError(code, os.strerror(code))
    except ValueError:  # pragma: no cover - unknown code on some platforms
        return OSError(code, f"error {code}")


def connect_failure_message(
    host: str, port: int, errors: Sequence[Tuple[ConnectTarget, BaseException]]
) -> str:
    """Why connecting to host:port failed, naming every address tried."""
    peer = format_peer(host, port)
    if not errors:
        return f"Failed to connect to {peer}: no address to try"
    if len(errors) == 1 and errors[0][0][2][0] == host:
        return f"Failed to connect to {peer}: {describe_error(errors[0][1])}"
    tried = "; ".join(
        f"{format_peer(target[2][0], target[2][1])}: {describe_error(exc)}"
        for target, exc in errors
    )
    return f"Failed to connect to {peer} (tried {tried})"


if hasattr(select, "poll"):

    def is_socket_readable(sock: Any) -> bool:
        """True if `sock` has data or EOF waiting now, or is closed. Zero-timeout poll.

        A stream without a socket (None) reports False: nothing says it is dead.
        """
        if sock is None:
            return False
        fileno = sock.fileno()
        if fileno < 0:
            return True
        poller = select.poll()
        poller.register(fileno, select.POLLIN)
        return bool(poller.poll(0))

else:  # pragma: no cover - Windows

    def is_socket_readable(sock: Any) -> bool:
        """True if `sock` has data or EOF waiting now, or is closed. Zero-timeout select."""
        if sock is None:
            return False
        fileno = sock.fileno()
        if fileno < 0:
            return True
        readable, _, _ = select.select([fileno], [], [], 0)
        return bool(readable)
