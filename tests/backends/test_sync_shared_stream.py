"""A sync stream shared by a reader thread and a writer thread (as the sync HTTP/2
connection shares its stream): each call keeps its own timeout, TLS survives concurrent
reads and writes, and a sync HTTP/2 client holds up under many threads.

Every test is bounded: socket timeouts, thread joins with a timeout, fixed counts.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from typing import Any, Callable, List, Optional, Tuple

import pytest
import trustme
from tests.backends.conftest import IO_TIMEOUT, ThreadServer, echo

import httpduo
from httpduo._backends.base import NetworkStream
from httpduo._backends.sync import SyncBackend
from httpduo._models._exceptions import ReadTimeout, WriteTimeout

pytestmark = pytest.mark.network

JOIN_TIMEOUT = 20.0
SMALL_SNDBUF = (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)


class Outcome:
    """What a call made in another thread returned or raised, and when it ended."""

    def __init__(self) -> None:
        self.value: Any = None
        self.error: Optional[BaseException] = None
        self.ended: Optional[float] = None


def in_thread(function: Callable[[], Any]) -> Tuple[threading.Thread, Outcome]:
    outcome = Outcome()

    def run() -> None:
        try:
            outcome.value = function()
        except BaseException as exc:
            outcome.error = exc
        finally:
            outcome.ended = time.monotonic()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def join(thread: threading.Thread) -> None:
    thread.join(JOIN_TIMEOUT)
    assert not thread.is_alive(), "the thread did not finish"


@pytest.fixture
def h2_ssl_contexts(ca: trustme.CA) -> Tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server, client) contexts that negotiate "h2": the TLS kind a reader and a writer
    share."""
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server)
    server.set_alpn_protocols(["h2"])
    client = ssl.create_default_context()
    ca.configure_trust(client)
    client.set_alpn_protocols(["h2"])
    return server, client


@pytest.fixture
def tls_h2_echo_server(
    h2_ssl_contexts: Tuple[ssl.SSLContext, ssl.SSLContext],
) -> Iterator[ThreadServer]:
    server = ThreadServer(echo, ssl_context=h2_ssl_contexts[0])
    yield server
    server.close()


def open_h2_tls(port: int, client_context: ssl.SSLContext) -> NetworkStream:
    stream = SyncBackend().connect_tcp("127.0.0.1", port, timeout=5, socket_options=[])
    tls = stream.start_tls(client_context, server_hostname="localhost", timeout=5)
    assert tls.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"
    return tls


def check_independent_timeouts(stream: NetworkStream) -> None:
    """A reader blocked with a long timeout and a writer with a short one, at once, on a
    peer that neither sends nor reads: each times out at its own time."""
    read_timeout = 1.5
    started = time.monotonic()
    reader, read = in_thread(lambda: stream.read(100, timeout=read_timeout))
    time.sleep(0.1)  # the reader is waiting now
    with pytest.raises(WriteTimeout):
        stream.write(b"x" * (64 * 1024 * 1024), timeout=0.2)
    write_ended = time.monotonic()
    # The writer's short timeout did not cut the read short...
    assert reader.is_alive(), f"the read ended with the write: {read.error!r}"
    join(reader)
    assert isinstance(read.error, ReadTimeout), read.error
    assert read.ended is not None
    # ...and the read ended at its own time, not the writer's, not never.
    assert read.ended - started >= read_timeout * 0.9
    assert read.ended - started < read_timeout + 5
    # The write was not held to the reader's longer timeout either.
    assert write_ended - started < read_timeout


def test_reader_and_writer_keep_their_own_timeouts(silent_listener: Tuple[str, int]) -> None:
    host, port = silent_listener
    stream = SyncBackend().connect_tcp(host, port, timeout=5, socket_options=[SMALL_SNDBUF])
    try:
        check_independent_timeouts(stream)
    finally:
        stream.close()


def test_tls_reader_and_writer_keep_their_own_timeouts(
    start_server: Callable[..., ThreadServer],
    h2_ssl_contexts: Tuple[ssl.SSLContext, ssl.SSLContext],
) -> None:
    server_context, client_context = h2_ssl_contexts
    release = threading.Event()

    def silent(conn: socket.socket) -> None:
        # Completes the handshake (ThreadServer did), then neither reads nor sends.
        release.wait(IO_TIMEOUT)

    server = start_server(silent, ssl_context=server_context)
    stream = SyncBackend().connect_tcp(
        "127.0.0.1", server.port, timeout=5, socket_options=[SMALL_SNDBUF]
    )
    tls = stream.start_tls(client_context, server_hostname="localhost", timeout=5)
    try:
        check_independent_timeouts(tls)
    finally:
        release.set()
        tls.close()


def test_reader_without_timeout_does_not_stall_a_timed_writer(
    silent_listener: Tuple[str, int],
) -> None:
    host, port = silent_listener
    stream = SyncBackend().connect_tcp(host, port, timeout=5, socket_options=[SMALL_SNDBUF])
    try:
        started = time.monotonic()
        writer, wrote = in_thread(lambda: stream.write(b"x" * (64 * 1024 * 1024), timeout=0.5))
        time.sleep(0.05)  # the writer is waiting for the peer now
        reader, _ = in_thread(lambda: stream.read(100, timeout=None))
        join(writer)
        assert isinstance(wrote.error, WriteTimeout), wrote.error
        assert wrote.ended is not None
        assert wrote.ended - started < 5
        assert reader.is_alive()  # still waiting, as it asked to
    finally:
        stream.close()
    join(reader)  # close() woke it


def test_blocked_writer_without_timeout_ignores_the_readers_timeouts(
    start_server: Callable[..., ThreadServer],
) -> None:
    """A writer waiting (no timeout) for a slow peer to read is not disturbed by a reader
    timing out again and again meanwhile."""
    payload = os.urandom(8 * 1024 * 1024)
    received: List[int] = []

    def slow_reader(conn: socket.socket) -> None:
        time.sleep(0.5)  # let the client's send buffer fill up
        total = 0
        while total < len(payload):
            data = conn.recv(65536)
            if not data:
                break
            total += len(data)
        received.append(total)
        conn.sendall(b"done")

    server = start_server(slow_reader)
    stream = SyncBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
    try:
        writer, wrote = in_thread(lambda: stream.write(payload, timeout=None))
        timeouts = 0
        answer = b""
        while timeouts < 500:  # the answer comes once the whole upload arrived
            try:
                answer = stream.read(100, timeout=0.02)
                break
            except ReadTimeout:
                timeouts += 1
        join(writer)
        assert wrote.error is None, wrote.error
        assert timeouts >= 2  # the reader really timed out while the writer waited
        while len(answer) < 4:
            answer += stream.read(100, timeout=5)
        assert answer == b"done"
        assert received == [len(payload)]
    finally:
        stream.close()


def exchange_concurrently(stream: NetworkStream, size: int) -> None:
    """Write `size` random bytes from one thread while another reads the echo; the echo
    server stops reading while its answer is not read, so one thread alone would stall."""
    payload = os.urandom(size)

    def write_all() -> None:
        for offset in range(0, size, 256 * 1024):
            stream.write(payload[offset : offset + 256 * 1024], timeout=IO_TIMEOUT)

    def read_all() -> bytes:
        digest = hashlib.sha256()
        total = 0
        while total < size:
            data = stream.read(65536, timeout=IO_TIMEOUT)
            assert data, "unexpected EOF"
            digest.update(data)
            total += len(data)
        return digest.digest()

    writer, wrote = in_thread(write_all)
    reader, read = in_thread(read_all)
    join(writer)
    join(reader)
    assert wrote.error is None, wrote.error
    assert read.error is None, read.error
    assert read.value == hashlib.sha256(payload).digest()


def test_tls_concurrent_read_and_write(
    tls_h2_echo_server: ThreadServer, h2_ssl_contexts: Tuple[ssl.SSLContext, ssl.SSLContext]
) -> None:
    tls = open_h2_tls(tls_h2_echo_server.port, h2_ssl_contexts[1])
    try:
        exchange_concurrently(tls, 16 * 1024 * 1024)
        # Still in step afterwards: TLS records were neither lost nor interleaved.
        tls.write(b"after", timeout=5)
        assert tls.read(100, timeout=5) == b"after"
        assert tls.get_extra_info("is_readable") is False
    finally:
        tls.close()


def test_tls_in_tls_concurrent_read_and_write(
    tls_tunnel: ThreadServer, client_ssl_context: ssl.SSLContext
) -> None:
    stream = SyncBackend().connect_tcp("127.0.0.1", tls_tunnel.port, timeout=5)
    outer = stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    inner = outer.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        exchange_concurrently(inner, 4 * 1024 * 1024)
    finally:
        inner.close()
    assert outer.get_extra_info("socket").fileno() == -1


def test_close_wakes_a_blocked_reader(silent_listener: Tuple[str, int]) -> None:
    stream = SyncBackend().connect_tcp(*silent_listener, timeout=5)
    reader, read = in_thread(lambda: stream.read(100, timeout=IO_TIMEOUT))
    time.sleep(0.1)
    started = time.monotonic()
    stream.close()
    join(reader)
    assert read.ended is not None
    assert read.ended - started < IO_TIMEOUT / 2
    assert read.error is not None or read.value == b""


# ---- one sync HTTP/2 client, many threads ------------------------------------------


def test_many_threads_share_one_sync_http2_client(h2_server: Any, ca_cert_path: str) -> None:
    """Threads download, upload and fetch small responses at once over one multiplexed
    TLS connection: every answer is complete and right, the pool ends consistent."""
    context = ssl.create_default_context(cafile=ca_cert_path)
    threads = 16
    rounds = 6
    upload = os.urandom(300_000)
    upload_hash = hashlib.sha256(upload).hexdigest()
    failures: List[BaseException] = []
    barrier = threading.Barrier(threads, timeout=JOIN_TIMEOUT)

    with httpduo.Client(http2=True, verify=context, timeout=IO_TIMEOUT) as client:

        def work(index: int) -> None:
            try:
                barrier.wait()
                for round_ in range(rounds):
                    kind = (index + round_) % 3
                    if kind == 0:
                        response = client.get(h2_server.url + "/bytes/400000")
                        assert len(response.content) == 400_000
                    elif kind == 1:
                        response = client.post(h2_server.url + "/echo_body_hash", content=upload)
                        assert json.loads(response.content)["sha256"] == upload_hash
                    else:
                        # A short read timeout next to the long ones of the others.
                        response = client.get(h2_server.url + "/", timeout=2.0)
                        assert response.content == b"Hello, world!"
                    assert response.http_version == "HTTP/2"
            except BaseException as exc:
                failures.append(exc)

        workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            join(worker)
        assert failures == []
        pool = client._transport.pool  # type: ignore[attr-defined]
        [connection] = pool.connections
        assert connection.is_idle()
        assert f"Request Count: {threads * rounds}," in connection.info()
        assert client.get(h2_server.url + "/").content == b"Hello, world!"
