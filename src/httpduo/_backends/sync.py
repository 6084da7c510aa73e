"""The sync backend: sockets, `ssl` and `threading`. Never imports anyio.

Rules:
- Connecting is Happy Eyeballs (RFC 8305) done in the calling thread: non-blocking
  sockets and one selector, no helper threads. Name resolution (`socket.getaddrinfo`)
  cannot be interrupted, so it is not bounded by the connect timeout; the time it took
  is deducted from what is left for connecting.
- A plain socket stream serves one reader and one writer at the same time (threads
  sharing an HTTP/2 connection do), each under its own timeout: the socket stays
  non-blocking, and each call waits for its own direction (a poll object per direction;
  select on Windows) until its own deadline; nothing per socket (`settimeout`) is
  shared between the two. Reads wait first and then receive (when a response is due it
  has rarely arrived yet); writes send first and wait only for what did not fit.
- TLS is an `ssl.SSLSocket` on that socket, in one of two ways chosen after the
  handshake. A stream that negotiated "h2" (HTTP/2, the only protocol that reads and
  writes one stream from two threads at once) is shared: OpenSSL forbids two calls on
  one SSL object at once, so every call on it is made under the stream's lock; the
  socket stays non-blocking, so these calls never wait (they say which direction they
  need) and all waiting happens outside the lock. Any other TLS stream serves one
  caller at a time with the socket's own timeout, so OpenSSL waits in C: measurably
  cheaper for an HTTP/1.1 download than the shared way (see `_TLSStream`).
- TLS over a stream that is already TLS (an HTTPS proxy tunnel) runs an `SSLObject` over
  memory BIOs (`_TLSOverStream`), shareable the same way: SSLObject and BIOs under a
  short lock, the outer stream (made shareable first) read and written outside it.
- `close()` shuts the socket down first, so a call blocked on it in another thread wakes.
"""

from __future__ import annotations

import select
import selectors
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from contextlib import AbstractContextManager, nullcontext
from types import TracebackType
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Type

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

_CLOSED = "the stream is closed"

# socket.timeout is TimeoutError from 3.10 on, a distinct OSError subclass on 3.9. The
# others mean "would block", which only happens when a spent deadline made us poll (0s).
_SOCKET_TIMEOUT: Tuple[Type[BaseException], ...] = (
    socket.timeout,
    BlockingIOError,
    ssl.SSLWantReadError,
    ssl.SSLWantWriteError,
)

# A TLS read asks the tunnel for this much at a time (TLS records are at most ~16 KiB).
_TLS_READ_SIZE = 65536
# A TLS write hands OpenSSL at most this much per call, so the lock that serialises
# calls on the SSL object is never held for long by a large upload.
_TLS_WRITE_CHUNK = 65536

# Waiting for one direction of one socket. `_poller(fileno, readable)` returns the wait
# function for it: `wait(milliseconds or None)` -> ready? Each stream keeps one per
# direction, so its reader and its writer never share one (a poll object refuses two
# concurrent polls).
_Wait = Callable[[Optional[float]], Any]

if hasattr(select, "poll"):

    def _poller(fileno: int, readable: bool) -> _Wait:
        poller = select.poll()
        poller.register(fileno, select.POLLIN if readable else select.POLLOUT)
        return poller.poll

else:  # pragma: no cover - Windows

    def _poller(fileno: int, readable: bool) -> _Wait:
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


def _milliseconds(timeout: Optional[float]) -> Optional[float]:
    """A timeout in seconds as poll takes it (None: forever; a spent one polls once)."""
    if timeout is None:
        return None
    if timeout <= 0:
        return 0.0
    milliseconds = timeout * 1000.0
    return milliseconds if milliseconds < _MAX_POLL_MILLISECONDS else None


def _remaining(deadline: Optional[float]) -> Optional[float]:
    """What is left until `deadline`, in milliseconds for poll."""
    return None if deadline is None else _milliseconds(deadline - time.monotonic())


def _seconds_left(deadline: Optional[float]) -> Optional[float]:
    """What is left until `deadline`, in seconds."""
    return None if deadline is None else max(deadline - time.monotonic(), 0.0)


class _SocketStream(NetworkStream):
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
        _shutdown_and_close(self._sock)

    def get_extra_info(self, name: str) -> Any:
        sock = self._sock
        if name == "is_readable":
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


class SyncStream(_SocketStream):
    """A plain TCP or UNIX socket, non-blocking: one reader and one writer at once."""

    __slots__ = ("_poll_in", "_poll_out", "_streaming")

    def __init__(self, sock: socket.socket, peer: str) -> None:
        super().__init__(sock, peer)
        fileno = sock.fileno()
        self._poll_in = _poller(fileno, True)
        self._poll_out = _poller(fileno, False)
        # The last read filled its buffer: more is probably waiting (a download).
        self._streaming = False

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._closed:
            raise ReadError(f"Error reading from {self._peer}: {_CLOSED}")
        sock = self._sock
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            # Receive at once in the middle of a download; else wait first, as a response
            # that is due has rarely arrived yet (and a miss costs more than a wait).
            if not self._streaming and not self._poll_in(_milliseconds(timeout)):
                raise self._read_timeout(timeout)
            while True:
                try:
                    data = sock.recv(max_bytes)
                except BlockingIOError:  # nothing yet, or a spurious wake-up
                    if not self._poll_in(_remaining(deadline)):
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
            raise WriteError(f"Error writing to {self._peer}: {_CLOSED}")
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
                if not self._poll_out(_remaining(deadline)):
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
            raise ConnectError(f"TLS handshake with {name} failed: {_CLOSED}")
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
                if not wait(_remaining(deadline)):
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
            return _SharedTLSStream(tls_sock, self._peer)
        return _TLSStream(tls_sock, self._peer)


class _TLSStream(_SocketStream):
    """TLS for one caller at a time (HTTP/1.1): an `ssl.SSLSocket` whose own timeout is
    the call's, changed with `settimeout` only when it differs from the previous call's.

    OpenSSL then waits in C, which makes this the fastest way to move TLS bytes; but the
    socket's timeout and the SSL object are shared by every caller, so a stream that a
    reader and a writer may use at once is a `_SharedTLSStream` instead.
    """

    __slots__ = ("_timeout",)

    _sock: ssl.SSLSocket

    def __init__(self, sock: ssl.SSLSocket, peer: str) -> None:
        super().__init__(sock, peer)
        self._timeout: Optional[float] = 0.0  # non-blocking since the handshake

    def _set_timeout(self, timeout: Optional[float]) -> None:
        # A deadline already in the past polls once instead of failing in settimeout.
        self._sock.settimeout(timeout if timeout is None or timeout > 0 else 0.0)
        self._timeout = timeout

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        if self._closed:
            raise ReadError(f"Error reading from {self._peer}: {_CLOSED}")
        try:
            if timeout != self._timeout:
                self._set_timeout(timeout)
            return self._sock.recv(max_bytes)
        except _SOCKET_TIMEOUT as exc:
            raise self._read_timeout(timeout) from exc
        except OSError as exc:  # ssl.SSLError included
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        if self._closed:
            raise WriteError(f"Error writing to {self._peer}: {_CLOSED}")
        try:
            if timeout != self._timeout:
                self._set_timeout(timeout)
            self._sock.sendall(data)
        except _SOCKET_TIMEOUT as exc:
            raise self._write_timeout(timeout) from exc
        except OSError as exc:  # ssl.SSLError included
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        # The tunnelled session may be HTTP/2: its reader and writer then share this one.
        outer = _SharedTLSStream(self._sock, self._peer)
        return _TLSOverStream.handshake(outer, ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        if name == "is_readable":
            sock = self._sock
            if sock.fileno() >= 0 and sock.pending():
                return True
        return super().get_extra_info(name)


class _SharedTLSStream(_SocketStream):
    """TLS that one reader and one writer may use at once (HTTP/2): an `ssl.SSLSocket`
    on the non-blocking socket, every call on it under `_lock`.

    The calls never wait: one that would block says which direction it needs, and the
    caller waits for that outside the lock, until its own deadline.
    """

    __slots__ = ("_lock", "_poll_in", "_poll_out")

    _sock: ssl.SSLSocket

    def __init__(self, sock: ssl.SSLSocket, peer: str) -> None:
        super().__init__(sock, peer)
        sock.settimeout(0.0)
        fileno = sock.fileno()
        self._poll_in = _poller(fileno, True)
        self._poll_out = _poller(fileno, False)
        self._lock = threading.Lock()

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        sock = self._sock
        lock = self._lock
        deadline: Optional[float] = None
        try:
            while True:
                # Receive first: OpenSSL may hold decrypted bytes the socket no longer
                # shows, and a miss (SSLWantReadError) costs less than a poll.
                with lock:
                    if self._closed:
                        raise ReadError(f"Error reading from {self._peer}: {_CLOSED}")
                    try:
                        return sock.recv(max_bytes)
                    except ssl.SSLWantReadError:
                        wait = self._poll_in
                    except ssl.SSLWantWriteError:
                        # Rare (a renegotiation); the writer's poller may be in use.
                        wait = _poller(sock.fileno(), False)
                if deadline is None and timeout is not None:
                    deadline = time.monotonic() + timeout
                if not wait(_remaining(deadline)):
                    raise self._read_timeout(timeout)
        except OSError as exc:  # ssl.SSLError included
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        sock = self._sock
        lock = self._lock
        view = memoryview(data)
        size = len(view)
        sent = 0
        deadline: Optional[float] = None
        try:
            while sent < size:
                with lock:
                    if self._closed:
                        raise WriteError(f"Error writing to {self._peer}: {_CLOSED}")
                    # After SSLWant*, OpenSSL must be offered the same bytes again (it
                    # may have sent some of them already): the chunk stays the same
                    # until it is taken.
                    try:
                        sent += sock.send(view[sent : sent + _TLS_WRITE_CHUNK])
                        continue
                    except ssl.SSLWantWriteError:
                        wait = self._poll_out
                    except ssl.SSLWantReadError:
                        # Rare (a renegotiation); the reader's poller may be in use.
                        wait = _poller(sock.fileno(), True)
                if deadline is None and timeout is not None:
                    deadline = time.monotonic() + timeout
                if not wait(_remaining(deadline)):
                    raise self._write_timeout(timeout)
        except OSError as exc:  # ssl.SSLError included
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    def close(self) -> None:
        with self._lock:  # no call on the SSL object is under way or can start after
            if self._closed:
                return
            self._closed = True
        _shutdown_and_close(self._sock)

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        return _TLSOverStream.handshake(self, ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        if name == "is_readable":
            with self._lock:
                if self._closed or self._sock.pending():
                    return True
        return super().get_extra_info(name)


def _shutdown_and_close(sock: socket.socket) -> None:
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
    stream. As on a socket, one reader and one writer may use it at once: the SSLObject
    and its BIOs are touched only under `_lock`, never held across the outer stream's
    I/O. The reader alone reads the outer stream. Only the holder of `_send_lock` takes
    records out of the outgoing BIO, and writes them to the outer stream in that order.
    """

    __slots__ = ("_closed", "_incoming", "_lock", "_outer", "_outgoing", "_send_lock", "_ssl")

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
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._closed = False

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
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            ssl_object = ssl_context.wrap_bio(incoming, outgoing, server_hostname=server_hostname)
            stream = cls(outer, ssl_object, incoming, outgoing)
            while True:
                try:
                    with stream._lock:
                        ssl_object.do_handshake()
                    break
                except ssl.SSLWantReadError:
                    stream._flush(deadline)
                    stream._receive(deadline)
            stream._flush(deadline)
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

    def _receive(self, deadline: Optional[float]) -> None:
        """As the reader: read the outer stream once, into the incoming BIO."""
        data = self._outer.read(_TLS_READ_SIZE, _seconds_left(deadline))
        with self._lock:
            if data:
                self._incoming.write(data)
            else:
                self._incoming.write_eof()

    def _flush(self, deadline: Optional[float], wait: bool = True) -> None:
        """Write the outgoing BIO's records to the outer stream, in order.

        With `wait=False` (the reader, whose records are rare: a TLS 1.3 key update),
        leave them to the current sender if there is one. A sender checks the BIO again
        after letting go of `_send_lock`, so records are never stranded.
        """
        send_lock = self._send_lock
        if wait:
            left = _seconds_left(deadline)
            if not send_lock.acquire(timeout=-1 if left is None else left):
                raise WriteTimeout("Timed out waiting to write to the tunnel")
        elif not send_lock.acquire(False):
            return
        while True:
            try:
                while True:
                    with self._lock:
                        pending = self._outgoing.read()
                    if not pending:
                        break
                    self._outer.write(pending, _seconds_left(deadline))
            finally:
                send_lock.release()
            with self._lock:
                if not self._outgoing.pending:
                    return
            # Queued meanwhile: send it, unless someone else is sending already.
            if not send_lock.acquire(False):
                return

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                with self._lock:
                    if self._closed:
                        raise ReadError(f"TLS error reading from the tunnel: {_CLOSED}")
                    try:
                        data: Optional[bytes] = self._ssl.read(max_bytes)
                    except ssl.SSLWantReadError:
                        data = None
                    replies = self._outgoing.pending
                if replies:
                    self._flush(deadline, wait=False)
                if data is not None:
                    return data
                self._receive(deadline)
        except (ssl.SSLZeroReturnError, ssl.SSLEOFError):
            return b""
        except ssl.SSLError as exc:
            raise ReadError(f"TLS error reading from the tunnel: {describe_error(exc)}") from exc
        except ReadTimeout as exc:  # the outer stream's, which was given what was left
            raise ReadTimeout(
                f"Timed out reading from the tunnel{timeout_suffix(timeout)}"
            ) from exc
        except (WriteError, WriteTimeout) as exc:  # sending a TLS reply of our own
            raise ReadError(f"TLS error reading from the tunnel: {exc}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with self._lock:
                if self._closed:
                    raise WriteError(f"TLS error writing to the tunnel: {_CLOSED}")
                # SSLObject.write takes everything at once: the outgoing BIO is unbounded.
                self._ssl.write(data)
            self._flush(deadline)
        except ssl.SSLError as exc:
            raise WriteError(f"TLS error writing to the tunnel: {describe_error(exc)}") from exc
        except WriteTimeout as exc:  # the outer stream's, given what was left, or ours
            raise WriteTimeout(
                f"Timed out writing to the tunnel{timeout_suffix(timeout)}"
            ) from exc

    def close(self) -> None:
        with self._lock:
            self._closed = True
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
            with self._lock:
                if self._closed or self._ssl.pending() or self._incoming.pending:
                    return True
            return bool(self._outer.get_extra_info(name))
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

    def shielded(self, timeout: float) -> AbstractContextManager[object]:
        return nullcontext()


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
