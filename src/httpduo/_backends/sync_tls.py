"""TLS streams of the sync backend, on the waiting of sync_io.py.

Rules:
- TLS is an `ssl.SSLSocket` on the stream's socket, in one of two ways chosen after the
  handshake (by `SyncStream.start_tls`). A stream that negotiated "h2" (HTTP/2, the only
  protocol that reads and writes one stream from two threads at once) is shared
  (`SharedTLSStream`): OpenSSL forbids two calls on one SSL object at once, so every
  call on it is made under the stream's lock; the socket stays non-blocking, so these
  calls never wait (they say which direction they need) and all waiting happens outside
  the lock. Any other TLS stream (`TLSStream`) serves one caller at a time with the
  socket's own timeout, so OpenSSL waits in C: measurably cheaper for an HTTP/1.1
  download than the shared way.
- TLS over a stream that is already TLS (an HTTPS proxy tunnel) runs an `SSLObject` over
  memory BIOs (`TLSOverStream`), shareable the same way: SSLObject and BIOs under a
  short lock, the outer stream (made shareable first) read and written outside it.
"""

from __future__ import annotations

import ssl
import threading
import time
from typing import Any, Optional

from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

from .base import NetworkStream, describe_error, timeout_suffix
from .sync_io import (
    CLOSED,
    SOCKET_TIMEOUT,
    SocketStream,
    poller,
    remaining_ms,
    seconds_left,
    shutdown_and_close,
)

__all__ = ["SharedTLSStream", "TLSOverStream", "TLSStream"]

# A TLS read asks the tunnel for this much at a time (TLS records are at most ~16 KiB).
_TLS_READ_SIZE = 65536
# A TLS write hands OpenSSL at most this much per call, so the lock that serialises
# calls on the SSL object is never held for long by a large upload.
_TLS_WRITE_CHUNK = 65536


class TLSStream(SocketStream):
    """TLS for one caller at a time (HTTP/1.1): an `ssl.SSLSocket` whose own timeout is
    the call's, changed with `settimeout` only when it differs from the previous call's.

    OpenSSL then waits in C, which makes this the fastest way to move TLS bytes; but the
    socket's timeout and the SSL object are shared by every caller, so a stream that a
    reader and a writer may use at once is a `SharedTLSStream` instead.
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
            raise ReadError(f"Error reading from {self._peer}: {CLOSED}")
        try:
            if timeout != self._timeout:
                self._set_timeout(timeout)
            return self._sock.recv(max_bytes)
        except SOCKET_TIMEOUT as exc:
            raise self._read_timeout(timeout) from exc
        except OSError as exc:  # ssl.SSLError included
            raise ReadError(f"Error reading from {self._peer}: {describe_error(exc)}") from exc

    def write(self, data: bytes, timeout: Optional[float] = None) -> None:
        if not data:
            return
        if self._closed:
            raise WriteError(f"Error writing to {self._peer}: {CLOSED}")
        try:
            if timeout != self._timeout:
                self._set_timeout(timeout)
            self._sock.sendall(data)
        except SOCKET_TIMEOUT as exc:
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
        outer = SharedTLSStream(self._sock, self._peer)
        return TLSOverStream.handshake(outer, ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        if name == "is_readable":
            sock = self._sock
            if sock.fileno() >= 0 and sock.pending():
                return True
        return super().get_extra_info(name)


class SharedTLSStream(SocketStream):
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
        self._poll_in = poller(fileno, True)
        self._poll_out = poller(fileno, False)
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
                        raise ReadError(f"Error reading from {self._peer}: {CLOSED}")
                    try:
                        return sock.recv(max_bytes)
                    except ssl.SSLWantReadError:
                        wait = self._poll_in
                    except ssl.SSLWantWriteError:
                        # Rare (a renegotiation); the writer's poller may be in use.
                        wait = poller(sock.fileno(), False)
                if deadline is None and timeout is not None:
                    deadline = time.monotonic() + timeout
                if not wait(remaining_ms(deadline)):
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
                        raise WriteError(f"Error writing to {self._peer}: {CLOSED}")
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
                        wait = poller(sock.fileno(), True)
                if deadline is None and timeout is not None:
                    deadline = time.monotonic() + timeout
                if not wait(remaining_ms(deadline)):
                    raise self._write_timeout(timeout)
        except OSError as exc:  # ssl.SSLError included
            raise WriteError(f"Error writing to {self._peer}: {describe_error(exc)}") from exc

    def close(self) -> None:
        with self._lock:  # no call on the SSL object is under way or can start after
            if self._closed:
                return
            self._closed = True
        shutdown_and_close(self._sock)

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: Optional[str] = None,
        timeout: Optional[float] = None,
    ) -> NetworkStream:
        return TLSOverStream.handshake(self, ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        if name == "is_readable":
            with self._lock:
                if self._closed or self._sock.pending():
                    return True
        return super().get_extra_info(name)


class TLSOverStream(NetworkStream):
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
    ) -> TLSOverStream:
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
        data = self._outer.read(_TLS_READ_SIZE, seconds_left(deadline))
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
            left = seconds_left(deadline)
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
                    self._outer.write(pending, seconds_left(deadline))
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
                        raise ReadError(f"TLS error reading from the tunnel: {CLOSED}")
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
                    raise WriteError(f"TLS error writing to the tunnel: {CLOSED}")
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
        return TLSOverStream.handshake(self, ssl_context, server_hostname, timeout)

    def get_extra_info(self, name: str) -> Any:
        if name == "ssl_object":
            return self._ssl
        if name == "is_readable":
            with self._lock:
                if self._closed or self._ssl.pending() or self._incoming.pending:
                    return True
            return bool(self._outer.get_extra_info(name))
        return self._outer.get_extra_info(name)
