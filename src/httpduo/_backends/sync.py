"""The sync backend: sockets, `ssl` and `threading`. Never imports anyio.

The backend is split by concept: sync_io.py holds the waiting every stream shares (one
reader and one writer at once, each on its own deadline), sync_tls.py the TLS streams.
This module has the plain socket stream, the thread primitives, and connecting.

Rules:
- Connecting is Happy Eyeballs (RFC 8305) done in the calling thread: non-blocking
  sockets and one selector, no helper threads for the connecting itself.
- Name resolution (`socket.getaddrinfo`) cannot be interrupted: with a connect timeout
  it runs in a daemon thread that the caller waits for until the timeout, so a hanging
  resolver is a `ConnectTimeout` naming the lookup (the thread finishes on its own).
  The time the lookup took is deducted from what is left for connecting. IP literals
  never reach the resolver.
- A plain socket stream (`SyncStream`) stays non-blocking; each call waits for its own
  direction until its own deadline (see sync_io.py). Reads wait first and then receive
  (when a response is due it has rarely arrived yet); writes send first and wait only
  for what did not fit. `start_tls` picks the TLS stream kind from the negotiated ALPN
  protocol (see sync_tls.py).
"""

from __future__ import annotations

import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, Dict, List, Optional, Sequence, Tuple, Type, Union

from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    WriteError,
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
    local_address_family,
    numeric_targets,
    open_tcp_socket,
    os_error,
    select_targets,
    targets_from_addrinfo,
    timeout_suffix,
)
from .sync_io import CLOSED, SocketStream, milliseconds, poller, remaining_ms
from .sync_tls import SharedTLSStream, TLSStream

__all__ = ["SyncBackend", "SyncStream"]


class SyncStream(SocketStream):
    """A plain TCP or UNIX socket, non-blocking: one reader and one writer at once."""

    __slots__ = ("_poll_in", "_poll_out", "_streaming")

    def __init__(self, sock: socket.socket, peer: str) -> None:
        super().__init__(sock, peer)
        fileno = sock.fileno()
        self._poll_in = poller(fileno, True)
        self._poll_out = poller(fileno, False)
        # The last read filled its buffer: more is probably waiting (a download).
        self._streaming = False

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._closed:
            raise ReadError(f"Error reading from {self._peer}: {CLOSED}")
        sock = self._sock
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            # Receive at once in the middle of a download; else wait first, as a response
            # that is due has rarely arrived yet (and a miss costs more than a wait).
            if not self._streaming and not self._poll_in(milliseconds(timeout)):
                raise self._read_timeout(timeout)
            while True:
                try:
                    data = sock.recv(max_bytes)
                except BlockingIOError:  # nothing yet, or a spurious wake-up
                    if not self._poll_in(remaining_ms(deadline)):
                        raise self._read_timeout(timeout) from None
                    continue
                self._streaming = len(data) == max_bytes
                return data
        except OSError as exc:
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        if self._closed:
            raise WriteError(f"Error writing to {self._peer}: {CLOSED}")
        sock = self._sock
        try:
            # Send first: the socket buffer usually takes all of it at once.
            try:
                sent = sock.send(data)
            except BlockingIOError:
                sent = 0
            if sent == len(data):
                return
            deadline = None if timeout is None else time.monotonic() + timeout
            view = memoryview(data)
            while sent < len(view):
                if not self._poll_out(remaining_ms(deadline)):
                    raise self._write_timeout(timeout)
                try:
                    sent += sock.send(view[sent:])
                except BlockingIOError:
                    pass
        except OSError as exc:
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        name = server_hostname or self._peer
        if self._closed:
            raise ConnectError(f"TLS handshake with {name} failed: {CLOSED}")
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
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                try:
                    tls_sock.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    wait = self._poll_in
                except ssl.SSLWantWriteError:
                    wait = self._poll_out
                if not wait(remaining_ms(deadline)):
                    raise ConnectTimeout(
                        f"Timed out during TLS handshake with {name}{timeout_suffix(timeout)}"
                    )
        except OSError as exc:
            self.close()
            raise ConnectError(f"TLS handshake with {name} failed: {describe_error(exc)}") from exc
        except BaseException:
            self.close()
            raise
        if tls_sock.selected_alpn_protocol() == "h2":
            return SharedTLSStream(tls_sock, self._peer)
        return TLSStream(tls_sock, self._peer)


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

        targets = select_targets(host, _lookup(host, port, timeout), family, local_address)

        sock = _happy_eyeballs(targets, deadline, local_address, options, host, port)
        if sock is None:
            raise ConnectTimeout(f"Timed out connecting to {peer}{timeout_suffix(timeout)}")
        return SyncStream(sock, peer)

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
            sock.setblocking(False)
        except socket.timeout as exc:
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
        return SyncStream(sock, path)

    def resolve(self, host: str, port: int, timeout: Optional[float] = None) -> List[str]:
        return addresses_of(_lookup(host, port, timeout))

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

    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        return nullcontext()


def _lookup(host: str, port: int, timeout: Optional[float] = None) -> List[ConnectTarget]:
    """Connect targets for `host` (an IP literal without touching DNS), looked up within
    `timeout` (see the module rules)."""
    targets = numeric_targets(host, port)
    if targets is not None:
        return targets
    try:
        if timeout is None:
            infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        else:
            infos = _getaddrinfo_within(host, port, timeout)
    except OSError as exc:
        raise ConnectError(f"Failed to resolve {host!r}: {describe_error(exc)}") from exc
    return targets_from_addrinfo(infos)


_AddrInfo = List[Tuple[Any, Any, int, str, Tuple[Any, ...]]]


def _getaddrinfo_within(host: str, port: int, timeout: float) -> _AddrInfo:
    """`socket.getaddrinfo` in a daemon thread, waited for at most `timeout` seconds."""
    outcome: List[Union[_AddrInfo, Exception]] = []
    done = threading.Event()

    def run() -> None:
        try:
            outcome.append(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except Exception as exc:  # raised in the caller's thread, as without the thread
            outcome.append(exc)
        finally:
            done.set()

    threading.Thread(target=run, name=f"httpduo resolve {host}", daemon=True).start()
    if not done.wait(max(timeout, 0.0)):
        raise ConnectTimeout(f"Timed out resolving {host!r}{timeout_suffix(timeout)}")
    result = outcome[0]
    if isinstance(result, Exception):
        raise result
    return result


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
