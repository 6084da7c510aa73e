"""A scripted raw-socket server for fault injection, plus a listener that never accepts.

Rules:
- Loopback only (127.0.0.1), port 0. One acceptor thread; one thread per accepted
  connection running `script(conn)`. `stop()` wakes every blocked call (shutdown of the
  sockets, a stop event for sleeps), joins every thread and closes every socket.
- Every socket operation a script makes is bounded by `Conn.timeout` (10 s).
- Script exceptions are recorded in `RawServer.errors`. Ending because the peer went away
  (`PeerClosed`, reset, broken pipe) or because the server is stopping is normal; anything
  else (an assertion, a bug, a 10 s timeout) is an error the fixture reports by failing.
- Everything a connection receives is recorded, in order, in `RawServer.requests[i]`.

Ready-made scripts (each answers one request unless said otherwise):
  reply(data, close=True)   sends `data`; close=False keeps serving `data` per request
  reset_mid_headers         half a status line/header block, then RST (SO_LINGER 0)
  reset_mid_body            Content-Length 100, 50 body bytes, then RST
  truncated_body            Content-Length 100, 50 body bytes, then a clean close (FIN)
  invalid_status_line       b"HTTP/1.1 abc Not A Status\\r\\n\\r\\n", then close
  oversized_headers         about 200 KB of response headers, then close
  close_idle_keepalive      keep-alive 200s; closes after CLOSE_IDLE_AFTER s of idleness
  close_idle_keepalive_after(idle)  the same with another idle period
  slow_drip                 head at once, then 20 body bytes, one per DRIP_INTERVAL s
  never_reads               reads nothing, holds the connection until the server stops;
                            listens with SO_RCVBUF 4096 so uploads stall (write timeouts)
  early_response            reads only the request head, answers 413 (Connection: close)
                            and closes at once; unread upload data makes that close an
                            RST, after which Linux still lets the client read the 413
  http10_close_delimited    HTTP/1.0 200 without Content-Length, body ends at close
  interim_100_continue      100 Continue after the head, reads the body, then 200 JSON
                            {"received": <body length>} and close
  keepalive_n(n)            serves n requests on one connection ("response 1".."response
                            n"), the last one with Connection: close
"""

from __future__ import annotations

import json
import select
import socket
import struct
import threading
import time
import traceback
from typing import Callable, List, Optional, Tuple

IO_TIMEOUT = 10.0
JOIN_TIMEOUT = 5.0
CLOSE_IDLE_AFTER = 0.3
DRIP_INTERVAL = 0.5
OK_BODY = b"Hello, world!"
OK_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\n" + OK_BODY
)
HTTP10_BODY = b"Hello, world! This body ends when the connection closes."

Script = Callable[["Conn"], None]


class PeerClosed(ConnectionError):
    """The client closed its side while the script still expected data."""


class ServerStopping(Exception):
    """Raised inside a script that is still running when the server stops."""


_BENIGN = (PeerClosed, ServerStopping, ConnectionResetError, BrokenPipeError)


class Conn:
    """One accepted connection, as seen by a script. All calls are bounded by `timeout`."""

    def __init__(self, sock: socket.socket, server: RawServer, index: int) -> None:
        self.sock = sock
        self.index = index
        self.timeout = IO_TIMEOUT
        self._server = server
        self._buffer = bytearray()
        self._received = server._received[index]
        sock.settimeout(self.timeout)

    def _fill(self) -> bool:
        if self._server.stopping:
            raise ServerStopping
        data = self.sock.recv(65536)
        if not data:
            return False
        self._received += data
        self._buffer += data
        return True

    def _take(self, n: int) -> bytes:
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def recv_request_head(self, max_size: int = 1 << 20) -> bytes:
        """Bytes up to and including the blank line ending a request head."""
        while True:
            end = self._buffer.find(b"\r\n\r\n")
            if end >= 0:
                return self._take(end + 4)
            if len(self._buffer) > max_size:
                raise ValueError(f"request head larger than {max_size} bytes")
            if not self._fill():
                raise PeerClosed(f"peer closed before a request head ({len(self._buffer)} B)")

    def recv_body(self, n: int) -> bytes:
        """Exactly `n` more bytes."""
        while len(self._buffer) < n:
            if not self._fill():
                raise PeerClosed(f"peer closed after {len(self._buffer)} of {n} body bytes")
        return self._take(n)

    def recv_line(self) -> bytes:
        """One CRLF-terminated line, CRLF included."""
        while True:
            end = self._buffer.find(b"\r\n")
            if end >= 0:
                return self._take(end + 2)
            if not self._fill():
                raise PeerClosed("peer closed in the middle of a line")

    def recv_request(self) -> Tuple[bytes, bytes]:
        """A whole request: its head and its de-chunked body."""
        head = self.recv_request_head()
        return head, self.recv_body_for(head)

    def recv_body_for(self, head: bytes) -> bytes:
        """The body announced by `head` (Content-Length or chunked; none otherwise)."""
        length, chunked = _framing(head)
        if chunked:
            body = bytearray()
            while True:
                size = int(self.recv_line().split(b";", 1)[0].strip(), 16)
                if size == 0:
                    while self.recv_line() != b"\r\n":  # trailers
                        pass
                    return bytes(body)
                body += self.recv_body(size)
                self.recv_body(2)
        return self.recv_body(length)

    def recv_until_closed(self) -> bytes:
        """Everything until the peer closes its side."""
        while self._fill():
            pass
        return self._take(len(self._buffer))

    def poll(self, timeout: float) -> bool:
        """True when data (or EOF) is waiting; False after `timeout` seconds of silence."""
        if self._buffer:
            return True
        readable, _, _ = select.select([self.sock], [], [], timeout)
        return bool(readable)

    def send(self, data: bytes) -> None:
        if self._server.stopping:
            raise ServerStopping
        self.sock.sendall(data)

    def sleep(self, seconds: float) -> None:
        """Sleep; raises ServerStopping at once when the server stops meanwhile."""
        if self._server._stop.wait(seconds):
            raise ServerStopping

    def shutdown_write(self) -> None:
        """Half-close: send FIN, keep reading."""
        self.sock.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.sock.close()

    def reset(self) -> None:
        """Abort the connection with an RST (SO_LINGER on, timeout 0)."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


def _framing(head: bytes) -> Tuple[int, bool]:
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value.strip())
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    return length, chunked


class RawServer:
    """Runs `script(conn)` for every accepted connection on 127.0.0.1:<port>.

    `.url`, `.host`, `.port`; `.connections` (accepted count); `.requests` (bytes received,
    one entry per connection); `.errors` (unexpected script exceptions, formatted);
    `wait_for_scripts()` before asserting on what the server received.
    """

    def __init__(self, script: Script, *, rcvbuf: Optional[int] = None) -> None:
        self.script = script
        self.host = "127.0.0.1"
        self.stopping = False
        self.errors: List[str] = []
        self._received: List[bytearray] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        self._sockets: List[socket.socket] = []
        if rcvbuf is None:
            rcvbuf = getattr(script, "rcvbuf", None)
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            # Must precede listen(): accepted sockets inherit it, and the TCP window
            # is negotiated from it during the handshake.
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        listener.bind((self.host, 0))
        listener.listen(64)
        self.port: int = listener.getsockname()[1]
        self._listener = listener
        self._wake_r, self._wake_w = socket.socketpair()
        self._acceptor = threading.Thread(target=self._accept_loop, name="raw-acceptor")
        self._acceptor.daemon = True
        self._acceptor.start()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._received)

    @property
    def requests(self) -> List[bytes]:
        with self._lock:
            return [bytes(data) for data in self._received]

    def __repr__(self) -> str:
        name = getattr(self.script, "__name__", type(self.script).__name__)
        return f"<RawServer {name} {self.url}>"

    def _accept_loop(self) -> None:
        while True:
            readable, _, _ = select.select([self._listener, self._wake_r], [], [])
            if self._wake_r in readable or self._stop.is_set():
                return
            try:
                sock, _ = self._listener.accept()
            except OSError:
                continue
            with self._lock:
                if self._stop.is_set():
                    sock.close()
                    return
                index = len(self._received)
                self._received.append(bytearray())
                self._sockets.append(sock)
                thread = threading.Thread(
                    target=self._run_script, args=(sock, index), name=f"raw-conn-{index}"
                )
                thread.daemon = True
                self._threads.append(thread)
            thread.start()

    def _run_script(self, sock: socket.socket, index: int) -> None:
        try:
            self.script(Conn(sock, self, index))
        except _BENIGN:
            pass
        except OSError as exc:
            if not self.stopping:
                self._record(index, exc)
        except BaseException as exc:
            self._record(index, exc)
        finally:
            sock.close()

    def _record(self, index: int, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        with self._lock:
            self.errors.append(f"connection {index}: {text}")

    def wait_for_scripts(self, timeout: float = IO_TIMEOUT) -> None:
        """Wait until the scripts of all connections accepted so far have returned."""
        with self._lock:
            threads = list(self._threads)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                raise RuntimeError(f"{thread.name} still running after {timeout:g} s")

    def stop(self) -> None:
        """Stop accepting, wake and join every script, close every socket."""
        with self._lock:
            self.stopping = True
            self._stop.set()
            sockets = list(self._sockets)
            threads = list(self._threads)
        self._wake_w.send(b"x")
        self._acceptor.join(JOIN_TIMEOUT)
        for sock in sockets:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:  # already closed by its script
                pass
        deadline = time.monotonic() + JOIN_TIMEOUT
        stuck = []
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                stuck.append(thread.name)
        for sock in sockets:
            sock.close()
        self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        if self._acceptor.is_alive():
            stuck.append(self._acceptor.name)
        if stuck:
            raise RuntimeError(f"raw server threads did not stop: {stuck}")


# ---------------------------------------------------------------- ready-made scripts


def reply(data: bytes, *, close: bool = True) -> Script:
    """Answer with `data`; close after one request, or (close=False) per request until EOF."""

    def script(conn: Conn) -> None:
        while True:
            conn.recv_request()
            conn.send(data)
            if close:
                conn.close()
                return

    script.__name__ = f"reply({data[:20]!r}...)"
    return script


def reset_mid_headers(conn: Conn) -> None:
    conn.recv_request()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: tex")
    conn.reset()


def reset_mid_body(conn: Conn) -> None:
    conn.recv_request()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
    conn.reset()


def truncated_body(conn: Conn) -> None:
    conn.recv_request()
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 50)
    conn.close()


def invalid_status_line(conn: Conn) -> None:
    conn.recv_request()
    conn.send(b"HTTP/1.1 abc Not A Status\r\n\r\n")
    conn.close()


def oversized_headers(conn: Conn) -> None:
    conn.recv_request()
    conn.send(b"HTTP/1.1 200 OK\r\n")
    line = b"X-Big: " + b"x" * 1000 + b"\r\n"
    for _ in range(200):
        conn.send(line)
    conn.send(b"Content-Length: 0\r\n\r\n")
    conn.close()


def close_idle_keepalive_after(idle: float) -> Script:
    """Serve keep-alive 200s; close (FIN) once the connection was idle for `idle` s."""

    def script(conn: Conn) -> None:
        while True:
            conn.recv_request()
            conn.send(
                b"HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 13\r\n\r\n"
                + OK_BODY
            )
            if not conn.poll(idle):
                conn.close()
                return

    script.__name__ = f"close_idle_keepalive_after({idle})"
    return script


close_idle_keepalive = close_idle_keepalive_after(CLOSE_IDLE_AFTER)
close_idle_keepalive.__name__ = "close_idle_keepalive"


def slow_drip(conn: Conn) -> None:
    conn.recv_request()
    body = b"abcdefghijklmnopqrst"
    conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
    for byte in body:
        conn.sleep(DRIP_INTERVAL)
        conn.send(bytes([byte]))
    conn.close()


class _NeverReads:
    """Holds the connection without reading a byte until the server stops."""

    __name__ = "never_reads"
    rcvbuf = 4096

    def __call__(self, conn: Conn) -> None:
        conn.sleep(3600.0)


never_reads = _NeverReads()


def early_response(conn: Conn) -> None:
    conn.recv_request_head()
    body = b"Request body too large"
    conn.send(
        b"HTTP/1.1 413 Payload Too Large\r\nConnection: close\r\nContent-Type: text/plain\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    conn.close()


def http10_close_delimited(conn: Conn) -> None:
    conn.recv_request()
    conn.send(b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n" + HTTP10_BODY)
    conn.close()


def interim_100_continue(conn: Conn) -> None:
    head = conn.recv_request_head()
    conn.send(b"HTTP/1.1 100 Continue\r\n\r\n")
    body = conn.recv_body_for(head)
    payload = json.dumps({"received": len(body)}).encode()
    conn.send(
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(payload), payload)
    )
    conn.close()


def keepalive_n(n: int) -> Script:
    """Serve `n` requests on one connection, then close."""

    def script(conn: Conn) -> None:
        for i in range(1, n + 1):
            conn.recv_request()
            body = f"response {i}".encode()
            connection = b"close" if i == n else b"keep-alive"
            conn.send(
                b"HTTP/1.1 200 OK\r\nConnection: %s\r\nContent-Length: %d\r\n\r\n%s"
                % (connection, len(body), body)
            )
        conn.close()

    script.__name__ = f"keepalive_n({n})"
    return script


# ---------------------------------------------------------------- connect timeouts


class NeverAccepts:
    """A 127.0.0.1 listener whose accept queue is full, so new connects hang.

    Linux drops a SYN while the listener's accept queue is full; with listen(0) one
    established (never accepted) connection fills it. Later SYNs are retransmitted
    and dropped until the client's connect timeout fires; nothing leaves loopback.
    `ready` is False when this platform completed connects anyway.
    """

    def __init__(self, max_fillers: int = 16) -> None:
        self.host = "127.0.0.1"
        self._fillers: List[socket.socket] = []
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.bind((self.host, 0))
        listener.listen(0)
        self._listener = listener
        self.port: int = listener.getsockname()[1]
        self.ready = False
        for _ in range(max_fillers):
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.setblocking(False)
            probe.connect_ex((self.host, self.port))
            _, writable, _ = select.select([], [probe], [], 0.1)
            if not writable:  # still in SYN-SENT: the queue is full
                probe.close()
                self.ready = True
                break
            self._fillers.append(probe)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def address(self) -> Tuple[str, int]:
        return (self.host, self.port)

    def close(self) -> None:
        for sock in self._fillers:
            sock.close()
        self._fillers.clear()
        self._listener.close()
