"""Waiting on sockets for the sync backend: what its plain and TLS streams share.

Rules:
- A stream serves one reader and one writer at the same time (threads sharing an HTTP/2
  connection do), each under its own timeout: the socket stays non-blocking, and each
  call waits for its own direction (a poll object per direction; select on Windows)
  until its own deadline. Nothing per socket (`settimeout`) is shared between the two.
- `close()` shuts the socket down first, so a call blocked on it in another thread wakes.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
from typing import Any, Callable, Optional, Tuple, Type

from httpduo._models._exceptions import ReadTimeout, WriteTimeout

from .base import NetworkStream, is_socket_readable, reported_address, timeout_suffix

__all__ = [
    "CLOSED",
    "SOCKET_TIMEOUT",
    "SocketStream",
    "Wait",
    "address_or_none",
    "milliseconds",
    "poller",
    "remaining_ms",
    "seconds_left",
    "shutdown_and_close",
]

CLOSED = "the stream is closed"

# socket.timeout is TimeoutError from 3.10 on, a distinct OSError subclass on 3.9. The
# others mean "would block", which only happens when a spent deadline made us poll (0s).
SOCKET_TIMEOUT: Tuple[Type[BaseException], ...] = (
    socket.timeout,
    BlockingIOError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
)

# Waiting for one direction of one socket. `poller(fileno, readable)` returns the wait
# function for it: `wait(milliseconds or None)` -> ready? Each stream keeps one per
# direction, so its reader and its writer never share one (a poll object refuses two
# concurrent polls).
Wait = Callable[[Optional[float]], Any]

if hasattr(select, "poll"):

    def poller(fileno: int, readable: bool) -> Wait:
        poller = select.poll()
        poller.register(fileno, select.POLLIN if readable else select.POLLOUT)
        return poller.poll

else:  # pragma: no cover - Windows

    def poller(fileno: int, readable: bool) -> Wait:
        def wait(milliseconds: Optional[float]) -> bool:
            timeout = None if milliseconds is None else milliseconds / 1000.0
            if readable:
                ready, _, errors = select.select([fileno], [], [fileno], timeout)
            else:
                _, ready, errors = select.select([], [fileno], [fileno], timeout)
            return bool(ready or errors)

        return wait


# poll takes a C int of milliseconds (24.8 days): a longer timeout waits for ever.
_MAX_POLL_MILLISECONDS = 2**31 - 1


def milliseconds(timeout: Optional[float]) -> Optional[float]:
    """A timeout in seconds as poll takes it (None: forever; a spent one polls once)."""
    if timeout is None:
        return None
    if timeout <= 0:
        return 0.0
    milliseconds = timeout * 1000.0
    return milliseconds if milliseconds < _MAX_POLL_MILLISECONDS else None


def remaining_ms(deadline: Optional[float]) -> Optional[float]:
    """What is left until `deadline`, in milliseconds for poll."""
    return None if deadline is None else milliseconds(deadline - time.monotonic())


def seconds_left(deadline: Optional[float]) -> Optional[float]:
    """What is left until `deadline`, in seconds."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class SocketStream(NetworkStream):
    """What every socket-based stream shares: closing and the extra info."""

    __slots__ = ("_closed", "_peer", "_sock")

    def __init__(self, sock: socket.socket, peer: str) -> None:
        self._sock = sock
        self._peer = peer
        self._closed = False

    def _read_timeout(self, timeout: Optional[float]) -> ReadTimeout:
        return ReadTimeout(f"Timed out reading from {self._peer}{timeout_suffix(timeout)}")

    def _write_timeout(self, timeout: Optional[float]) -> WriteTimeout:
        return WriteTimeout(f"Timed out writing to {self._peer}{timeout_suffix(timeout)}")

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        shutdown_and_close(self._sock)

    def get_extra_info(self, name: str) -> Any:
        sock = self._sock
        if name == "is_readable":
            return is_socket_readable(sock)
        if name == "ssl_object":
            return sock if isinstance(sock, ssl.SSLSocket) else None
        if name == "socket":
            return sock
        if name == "client_addr":
            return address_or_none(sock.getsockname)
        if name == "server_addr":
            return address_or_none(sock.getpeername)
        return None


def shutdown_and_close(sock: socket.socket) -> None:
    """Close `sock`, first shutting it down so that a thread blocked on it wakes up."""
    try:
        # The plain socket's method: SSLSocket.shutdown would also drop its SSL object.
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass  # not connected any more, or already closed
    try:
        sock.close()
    except OSError:  # pragma: no cover - close() of a dead socket is not an error
        pass


def address_or_none(get: Callable[[], Any]) -> Any:
    """A socket address as anyio reports it (see `reported_address`), None if unknown."""
    try:
        address = get()
    except OSError:
        return None
    return reported_address(address)
