"""The sync backend: blocking sockets, `ssl` and `threading`. Never imports anyio.

Rules:
- Connecting is Happy Eyeballs (RFC 8305) done in the calling thread: non-blocking
  sockets and one selector, no helper threads. The winner is switched back to blocking.
  Name resolution (`socket.getaddrinfo`) cannot be interrupted, so it is not bounded by
  the connect timeout; the time it took is deducted from what is left for connecting.
- Read/write timeouts use the socket's own timeout, changed with `settimeout` only when
  it differs from the previous call's (each change is a syscall or two).
- TLS over a plain socket is `SSLContext.wrap_socket`. TLS over a stream that is already
  TLS (an HTTPS proxy tunnel) runs an `SSLObject` over memory BIOs, pumping records
  through the outer stream (`_TLSOverStream`).
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from functools import partial
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type, TypeVar

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
    ConnectTarget,
    Event,
    Lock,
    NetworkBackend,
    NetworkStream,
    Semaphore,
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

__all__ = ["SyncBackend", "SyncStream"]

_T = TypeVar("_T")

# socket.timeout is TimeoutError from 3.10 on, a distinct OSError subclass on 3.9. The
# others mean "would block", which only happens when a spent deadline made us poll (0s).
_SOCKET_TIMEOUT: Tuple[Type[BaseException], ...] = (
    socket.timeout,
    BlockingIOError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
)

_TLS_READ_SIZE = 65536


class SyncStream(NetworkStream):
    """A blocking socket (plain or `ssl.SSLSocket`)."""

    __slots__ = ("_peer", "_sock", "_timeout")

    def __init__(self, sock: socket.socket, peer: str, timeout: Optional[float]) -> None:
        self._sock = sock
        self._peer = peer
        # The timeout currently set on the socket, so a repeat costs no syscall.
        self._timeout = timeout

    def _set_timeout(self, timeout: Optional[float]) -> None:
        # A deadline already in the past polls once instead of failing in settimeout.
        self._sock.settimeout(timeout if timeout is None or timeout > 0 else 0.0)
        self._timeout = timeout

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if timeout != self._timeout:
            self._set_timeout(timeout)
        try:
            return self._sock.recv(max_bytes)
        except _SOCKET_TIMEOUT as exc:
            raise ReadTimeout(
                f"Timed out reading from {self._peer}{timeout_suffix(timeout)}"
            ) from exc
        except OSError as exc:
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        if timeout != self._timeout:
            self._set_timeout(timeout)
        try:
            self._sock.sendall(data)
        except _SOCKET_TIMEOUT as exc:
            raise WriteTimeout(
                f"Timed out writing to {self._peer}{timeout_suffix(timeout)}"
            ) from exc
        except OSError as exc:
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    def close(self) -> None:
        try:
            self._sock.close()
        except OSError:  # pragma: no cover - close() of a dead socket is not an error
            pass

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        if isinstance(self._sock, ssl.SSLSocket):
            return _TLSOverStream.handshake(self, ssl_context, server_hostname, timeout)
        name = server_hostname or self._peer
        try:
            tls_sock = ssl_context.wrap_socket(
                self._sock, server_hostname=server_hostname, do_handshake_on_connect=False
            )
        except BaseException as exc:
            self.close()
            if isinstance(exc, OSError):
                raise ConnectError(
                    f"TLS handshake with {name} failed: {describe_error(exc)}"
                ) from exc
            raise
        # wrap_socket detached our socket: from here on only tls_sock owns the fd.
        self._sock = tls_sock
        try:
            tls_sock.settimeout(timeout if timeout is None or timeout > 0 else 0.0)
            tls_sock.do_handshake()
        except _SOCKET_TIMEOUT as exc:
            tls_sock.close()
            raise ConnectTimeout(
                f"Timed out during TLS handshake with {name}{timeout_suffix(timeout)}"
            ) from exc
        except OSError as exc:
            tls_sock.close()
            raise ConnectError(f"TLS handshake with {name} failed: {describe_error(exc)}") from exc
        except BaseException:
            tls_sock.close()
            raise
        return SyncStream(tls_sock, self._peer, timeout)

    def get_extra_info(self, name: str) -> Any:
        sock = self._sock
        if name == "is_readable":
            if isinstance(sock, ssl.SSLSocket) and sock.fileno() >= 0 and sock.pending():
                return True
            return is_socket_readable(sock)
        if name == "ssl_object":
            return sock if isinstance(sock, ssl.SSLSocket) else None
        if name == "socket":
            return sock
        if name == "client_addr":
            return _address_or_none(sock.getsockname)
        if name == "server_addr":
            return _address_or_none(sock.getpeername)
        return None


def _address_or_none(get: Callable[[], Any]) -> Any:
    """A socket address as anyio reports it (see `reported_address`), None if unknown."""
    try:
        address = get()
    except OSError:
        return None
    return reported_address(address)


class _TLSOverStream(NetworkStream):
    """TLS carried over another NetworkStream (itself TLS: a tunnel through an HTTPS proxy).

    `ssl.SSLObject` does the crypto over memory BIOs; records move through the outer
    stream. Each outer read/write gets the full `timeout` (a per-operation bound, as on
    a plain socket), so one call may take a few timeouts in the worst case.
    """

    __slots__ = ("_incoming", "_outer", "_outgoing", "_ssl")

    def __init__(
        self,
        outer: NetworkStream,
        ssl_object: ssl.SSLObject,
        incoming: ssl.MemoryBIO,
        outgoing: ssl.MemoryBIO,
    ) -> None:
        self._outer = outer
        self._ssl = ssl_object
        self._incoming = incoming
        self._outgoing = outgoing

    @classmethod
    def handshake(
        cls,
        outer: NetworkStream,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str],
        timeout: Optional[float],
    ) -> _TLSOverStream:
        incoming = ssl.MemoryBIO()
        outgoing = ssl.MemoryBIO()
        name = server_hostname or "the tunnelled peer"
        try:
            ssl_object = ssl_context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
            stream = cls(outer, ssl_object, incoming, outgoing)
            stream._drive(ssl_object.do_handshake, timeout, timeout)
        except (ReadTimeout, WriteTimeout) as exc:
            outer.close()
            raise ConnectTimeout(
                f"Timed out during TLS handshake with {name}{timeout_suffix(timeout)}"
            ) from exc
        except (ReadError, WriteError, OSError) as exc:
            outer.close()
            raise ConnectError(f"TLS handshake with {name} failed: {describe_error(exc)}") from exc
        except BaseException:
            outer.close()
            raise
        return stream

    def _flush(self, timeout: Optional[float]) -> None:
        pending = self._outgoing.read()
        if pending:
            self._outer.write(pending, timeout)

    def _drive(
        self,
        operation: Callable[[], _T],
        read_timeout: Optional[float],
        write_timeout: Optional[float],
    ) -> _T:
        """Retry `operation` until the SSLObject stops asking for more incoming bytes."""
        while True:
            try:
                result = operation()
            except ssl.SSLWantReadError:
                self._flush(write_timeout)
                data = self._outer.read(_TLS_READ_SIZE, read_timeout)
                if data:
                    self._incoming.write(data)
                else:
                    self._incoming.write_eof()
            else:
                self._flush(write_timeout)
                return result

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        try:
            return self._drive(partial(self._ssl.read, max_bytes), timeout, timeout)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except ssl.SSLError as exc:
            raise ReadError(f"TLS error reading from the tunnel: {describe_error(exc)}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        try:
            # SSLObject.write takes everything at once: the outgoing BIO is unbounded.
            self._drive(partial(self._ssl.write, data), timeout, timeout)
        except ssl.SSLError as exc:
            raise WriteError(f"TLS error writing to the tunnel: {describe_error(exc)}") from exc

    def close(self) -> None:
        self._outer.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        return _TLSOverStream.handshake(self, ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        if name == "ssl_object":
            return self._ssl
        if name == "is_readable":
            return bool(self._ssl.pending()) or bool(self._outer.get_extra_info(name))
        return self._outer.get_extra_info(name)


class _ThreadLock(Lock):
    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def __enter__(self) -> None:
        self._lock.acquire()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc_value: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self._lock.release()


class _ThreadEvent(Event):
    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: Optional[float] = None) -> bool:
        return self._event.wait(timeout)


class _ThreadSemaphore(Semaphore):
    __slots__ = ("_semaphore",)

    def __init__(self, value: int) -> None:
        self._semaphore = threading.Semaphore(value)

    def acquire(self, timeout: Optional[float] = None) -> bool:
        return self._semaphore.acquire(timeout=timeout)

    def release(self) -> None:
        self._semaphore.release()


class SyncBackend(NetworkBackend):
    """Blocking sockets, `ssl` and `threading`."""

    __slots__ = ()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: Optional[float] = None,
        local_address: Optional[str] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> NetworkStream:
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        family = 0 if local_address is None else local_address_family(local_address)
        options = list(socket_options) if socket_options is not None else []
        peer = format_peer(host, port)

        targets = select_targets(host, _lookup(host, port), family, local_address)

        sock = _happy_eyeballs(targets, deadline, local_address, options, host, port)
        if sock is None:
            raise ConnectTimeout(f"Timed out connecting to {peer}{timeout_suffix(timeout)}")
        sock.setblocking(True)
        return SyncStream(sock, peer, None)

    def connect_unix_socket(
        self,
        path: str,
        timeout: Optional[float] = None,
        socket_options: Optional[Iterable[SocketOption]] = None,
    ) -> NetworkStream:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(timeout)
            sock.connect(path)
        except _SOCKET_TIMEOUT as exc:
            sock.close()
            raise ConnectTimeout(
                f"Timed out connecting to {path}{timeout_suffix(timeout)}"
            ) from exc
        except OSError as exc:
            sock.close()
            raise ConnectError(f"Failed to connect to {path}: {describe_error(exc)}") from exc
        except BaseException:
            sock.close()
            raise
        return SyncStream(sock, path, timeout)

    def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        return addresses_of(_lookup(host, port))

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def time(self) -> float:
        return time.monotonic()

    def create_lock(self) -> Lock:
        return _ThreadLock()

    def create_event(self) -> Event:
        return _ThreadEvent()

    def create_semaphore(self, value: int) -> Semaphore:
        return _ThreadSemaphore(value)


def _lookup(host: str, port: int) -> List[ConnectTarget]:
    """Connect targets for `host` (an IP literal without touching DNS)."""
    targets = numeric_targets(host, port)
    if targets is not None:
        return targets
    try:
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except OSError as exc:
        raise ConnectError(f"Failed to resolve {host!r}: {describe_error(exc)}") from exc
    return targets_from_addrinfo(infos)


def _happy_eyeballs(
    targets: Sequence[ConnectTarget],
    deadline: Optional[float],
    local_address: Optional[str],
    options: Sequence[SocketOption],
    host: str,
    port: int,
) -> Optional[socket.socket]:
    """Race connection attempts, starting one per HAPPY_EYEBALLS_DELAY (or on failure).

    Returns the first connected socket (still non-blocking) and closes the others;
    None when `deadline` passed; ConnectError when every attempt failed.
    """
    errors: List[Tuple[ConnectTarget, BaseException]] = []
    pending: Dict[socket.socket, ConnectTarget] = {}
    remaining = list(reversed(targets))
    selector = selectors.DefaultSelector()
    try:
        next_start = time.monotonic()
        while True:
            now = time.monotonic()
            if remaining and (not pending or now >= next_start):
                target = remaining.pop()
                try:
                    sock = open_tcp_socket(target, local_address, options)
                except OSError as exc:
                    errors.append((target, exc))
                    continue
                try:
                    result = sock.connect_ex(target[2])
                except OSError as exc:
                    sock.close()
                    errors.append((target, exc))
                    continue
                if result == 0:
                    return sock
                if result in CONNECT_IN_PROGRESS:
                    pending[sock] = target
                    selector.register(sock, selectors.EVENT_WRITE)
                    next_start = now + HAPPY_EYEBALLS_DELAY
                else:
                    sock.close()
                    errors.append((target, os_error(result)))
                continue
            if not pending:
                cause = errors[-1][1] if errors else None
                raise ConnectError(connect_failure_message(host, port, errors)) from cause
            if deadline is not None and now >= deadline:
                return None
            wait = next_start - now if remaining else None
            if deadline is not None:
                wait = deadline - now if wait is None else min(wait, deadline - now)
            for key, _ in selector.select(wait):
                sock = key.fileobj  # type: ignore[assignment]
                result = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                target = pending.pop(sock)
                selector.unregister(sock)
                if result == 0:
                    return sock
                sock.close()
                errors.append((target, os_error(result)))
                # A failure frees the slot: start the next address right away.
                next_start = now
    finally:
        selector.close()
        # Losers and attempts still in flight; the winner was already taken out.
        for sock in pending:
            sock.close()


def default_backend() -> NetworkBackend:
    """The backend a pool uses when given none (the twin of the async side's)."""
    return SyncBackend()


__all__ += ["default_backend"]
