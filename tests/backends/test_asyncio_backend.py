"""What only AsyncioBackend has, against real sockets on loopback (asyncio only, by nature).

The behaviours every async backend shares are tested once, on this backend too, in
test_async_backends.py. Here: its read queue and flow control, the TLS-in-TLS fallback,
its primitives' waiter bookkeeping, and `default_backend()`.
"""

from __future__ import annotations

import asyncio
import asyncio.sslproto
import os
import socket
import ssl
import struct
import subprocess
import sys
from typing import Any, Callable, List, Tuple

import anyio
import pytest
from tests.backends.helpers import check_tls_in_tls, read_exactly
from tests.missing import import_or_missing

from httpduo._backends.anyio import AnyIOBackend
from httpduo._backends.anyio import default_backend as async_default_backend
from httpduo._backends.asyncio import (
    READ_HIGH_WATER,
    AsyncioBackend,
    AsyncioStream,
    running_on_asyncio,
)
from httpduo._backends.base import AsyncNetworkStream
from httpduo._backends.sync import SyncBackend
from httpduo._backends.sync import default_backend as sync_default_backend
from httpduo._models._exceptions import (
    ConnectError,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

pytestmark = [pytest.mark.anyio, pytest.mark.network]

# The most one selector-transport read delivers (asyncio's `max_size`).
TRANSPORT_READ_SIZE = 256 * 1024


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def protocol_of(stream: AsyncNetworkStream) -> Any:
    assert isinstance(stream, AsyncioStream)
    return stream._protocol


# --- plain TCP -------------------------------------------------------------------------


async def test_reads_hand_out_queued_bytes_in_order_whatever_the_size(
    echo_server: Any,
) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        payload = os.urandom(300_000)
        await stream.write(payload, timeout=5)
        received = b""
        sizes = [1, 7, 1000, 65536, 3, 200_000]
        index = 0
        while len(received) < len(payload):
            chunk = await stream.read(sizes[index % len(sizes)], timeout=5)
            assert 0 < len(chunk) <= sizes[index % len(sizes)]
            received += chunk
            index += 1
        assert received == payload
    finally:
        await stream.aclose()


async def test_small_chunks_that_piled_up_come_back_in_one_read(echo_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        protocol = protocol_of(stream)
        for part in (b"one ", b"two ", b"three"):
            # As the transport does when three segments arrive before we read.
            buffer = protocol.get_buffer(-1)
            buffer[: len(part)] = part
            protocol.buffer_updated(len(part))
        assert await stream.read(6) == b"one tw"
        assert await stream.read(100) == b"o three"
    finally:
        await stream.aclose()


async def test_close_wakes_a_pending_read(silent_listener: Tuple[str, int]) -> None:
    stream = await AsyncioBackend().connect_tcp(*silent_listener, timeout=5)
    errors: List[BaseException] = []

    async def reader() -> None:
        try:
            await stream.read(100, timeout=10)
        except ReadError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(reader)
        await asyncio.sleep(0.05)
        await stream.aclose()
    assert len(errors) == 1


async def test_a_cancelled_read_leaves_the_stream_usable(echo_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        task = asyncio.ensure_future(stream.read(100, timeout=10))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await stream.write(b"after cancel", timeout=5)
        assert await read_exactly(stream, 12) == b"after cancel"
    finally:
        await stream.aclose()


async def test_read_timeouts_hold_whatever_the_previous_reads_timeouts(
    silent_listener: Tuple[str, int],
) -> None:
    # One loop timer serves a stream's reads (see the module rules): a short timeout
    # after a long one must still fire on time, a long one after a short one not early.
    loop = asyncio.get_running_loop()
    stream = await AsyncioBackend().connect_tcp(*silent_listener, timeout=5)
    assert isinstance(stream, AsyncioStream)
    try:
        with pytest.raises(ReadTimeout, match="Timed out reading"):
            await stream.read(100, timeout=0.05)  # arms the timer for its deadline
        task = asyncio.ensure_future(stream.read(100, timeout=30))
        await asyncio.sleep(0.2)
        assert not task.done(), "a 30 s read timed out with a 0.05 s read's timer"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The 30 s timer is still armed; a 0.2 s read must not wait for it (wait_for
        # would raise TimeoutError instead), nor end before its time.
        started = loop.time()
        with pytest.raises(ReadTimeout):
            await asyncio.wait_for(stream.read(100, timeout=0.2), timeout=10)
        assert loop.time() - started >= 0.19
        # A longer read right after: the 0.2 s timer fired and must re-arm, not expire it.
        task = asyncio.ensure_future(stream.read(100, timeout=1.0))
        await asyncio.sleep(0.4)
        assert not task.done()
        with pytest.raises(ReadTimeout):
            await task
    finally:
        await stream.aclose()
    assert stream._read_timer is None  # closing cancels the armed timer


async def test_two_concurrent_reads_are_a_programming_error(echo_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        first = asyncio.ensure_future(stream.read(100, timeout=5))
        await asyncio.sleep(0)
        with pytest.raises(RuntimeError, match="another task is reading"):
            await stream.read(100, timeout=5)
        await stream.write(b"x", timeout=5)
        assert await first == b"x"
    finally:
        await stream.aclose()


async def test_peer_reset_is_a_read_error_then_a_write_error(
    start_server: Callable[..., Any],
) -> None:
    def reset(conn: socket.socket) -> None:
        conn.recv(1)  # after the connect has completed on both sides...
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # ...the close sends an RST

    server = start_server(reset)
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
    try:
        await stream.write(b"!", timeout=5)
        with pytest.raises(
            ReadError, match=r"Error reading from 127\.0\.0\.1:\d+: .*reset"
        ) as info:
            await stream.read(100, timeout=5)
        assert isinstance(info.value.__cause__, ConnectionResetError)
        with pytest.raises(WriteError, match=r"Error writing to 127\.0\.0\.1:\d+: .*reset"):
            await stream.write(b"late", timeout=5)
        assert stream.get_extra_info("is_readable") is True
    finally:
        await stream.aclose()


async def test_is_readable_sees_bytes_the_loop_already_queued(echo_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        await stream.write(b"unsolicited", timeout=5)
        for _ in range(500):  # until the loop has moved the echo into our queue
            if protocol_of(stream)._size:
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
    finally:
        await stream.aclose()


async def test_unix_socket_bad_option_is_a_connect_error(unix_echo_server: str) -> None:
    bad = [(socket.SOL_SOCKET, 0x7FFF, 1)]  # no such option
    with pytest.raises(ConnectError, match="Failed to set socket options on"):
        await AsyncioBackend().connect_unix_socket(unix_echo_server, socket_options=bad)


# --- TLS ---------------------------------------------------------------------------------


async def test_tls_eof(
    start_server: Callable[..., Any],
    server_ssl_context: ssl.SSLContext,
    client_ssl_context: ssl.SSLContext,
) -> None:
    server = start_server(lambda conn: conn.sendall(b"bye"), ssl_context=server_ssl_context)
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
    tls = await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        assert await read_exactly(tls, 3) == b"bye"
        assert await tls.read(10, timeout=5) == b""
        assert await tls.read(10, timeout=5) == b""
        with pytest.raises(WriteError, match=r"Error writing to 127\.0\.0\.1:\d+: "):
            await tls.write(b"too late", timeout=5)
    finally:
        await tls.aclose()


async def test_start_tls_when_the_server_hangs_up(
    greeting_server: Any, client_ssl_context: ssl.SSLContext
) -> None:
    # The server says "hello" in clear and closes: not a TLS server at all.
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", greeting_server.port, timeout=5)
    with pytest.raises(ConnectError, match="TLS handshake with localhost failed: "):
        await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)


async def test_every_operation_on_a_closed_stream_says_it_is_closed(
    tls_echo_server: Any, client_ssl_context: ssl.SSLContext
) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    await stream.aclose()
    with pytest.raises(ReadError, match=r"^Error reading from [\d.:]+: the stream is closed$"):
        await stream.read(10)
    with pytest.raises(WriteError, match=r"^Error writing to [\d.:]+: the stream is closed$"):
        await stream.write(b"late")
    with pytest.raises(ConnectError, match="TLS handshake with localhost failed: the stream is"):
        await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)


@pytest.mark.parametrize(
    "native", [pytest.param(True, id="native"), pytest.param(False, id="fallback")]
)
async def test_tls_in_tls_layers_natively_or_falls_back(
    monkeypatch: pytest.MonkeyPatch,
    tls_tunnel: Any,
    client_ssl_context: ssl.SSLContext,
    native: bool,
) -> None:
    if native and sys.version_info < (3, 11):
        pytest.skip("asyncio starts TLS over an SSL transport from CPython 3.11")
    if not native:  # what loops that cannot start TLS over an SSL transport get
        monkeypatch.setattr(
            asyncio.sslproto._SSLProtocolTransport, "_start_tls_compatible", False, raising=False
        )
    inner = await check_tls_in_tls(AsyncioBackend(), tls_tunnel.port, client_ssl_context)
    assert type(inner).__name__ == ("AsyncioStream" if native else "_TLSOverStream")


async def test_tls_in_tls_fallback_verify_failure(
    monkeypatch: pytest.MonkeyPatch,
    tls_tunnel: Any,
    client_ssl_context: ssl.SSLContext,
    untrusting_ssl_context: ssl.SSLContext,
) -> None:
    monkeypatch.setattr(
        asyncio.sslproto._SSLProtocolTransport, "_start_tls_compatible", False, raising=False
    )
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_tunnel.port, timeout=5)
    outer = await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    with pytest.raises(ConnectError, match="certificate verify failed"):
        await outer.start_tls(untrusting_ssl_context, server_hostname="localhost", timeout=5)
    with pytest.raises(ReadError):  # the tunnel was closed with it
        await outer.read(10)


# --- flow control ------------------------------------------------------------------------


async def test_a_timed_out_write_leaves_no_drain_waiter(silent_listener: Tuple[str, int]) -> None:
    small_buffer = (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    stream = await AsyncioBackend().connect_tcp(
        *silent_listener, timeout=5, socket_options=[small_buffer]
    )
    try:
        with pytest.raises(WriteTimeout):
            await stream.write(b"x" * (64 * 1024 * 1024), timeout=0.3)
        assert not protocol_of(stream)._drain_waiters
    finally:
        await stream.aclose()


async def test_a_huge_write_to_a_slow_reader_completes(
    start_server: Callable[..., Any],
) -> None:
    size = 64 * 1024 * 1024

    def count_then_answer(conn: socket.socket) -> None:
        received = 0
        while received < size:
            data = conn.recv(65536)
            if not data:
                return
            received += len(data)
        conn.sendall(str(received).encode())

    server = start_server(count_then_answer)
    # A small send buffer, so that the kernel cannot take it all at once.
    small_buffer = (socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
    stream = await AsyncioBackend().connect_tcp(
        "127.0.0.1", server.port, timeout=5, socket_options=[small_buffer]
    )
    protocol = protocol_of(stream)
    paused_seen: List[bool] = []
    writing = True

    async def watch() -> None:
        while writing:
            paused_seen.append(protocol._write_paused)
            await asyncio.sleep(0)

    try:
        watcher = asyncio.ensure_future(watch())
        try:
            await stream.write(b"x" * size, timeout=10)
        finally:
            writing = False
            await watcher
        assert True in paused_seen  # the write waited for the transport to drain
        assert not protocol._write_paused
        answer = await read_exactly(stream, len(str(size)))
        assert answer == str(size).encode()
    finally:
        await stream.aclose()


async def test_a_fast_sender_cannot_grow_the_read_queue(
    start_server: Callable[..., Any],
) -> None:
    size = 16 * 1024 * 1024
    payload = os.urandom(size)
    server = start_server(lambda conn: conn.sendall(payload))
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", server.port, timeout=5)
    assert isinstance(stream, AsyncioStream)
    protocol = protocol_of(stream)
    try:
        # Read nothing for a while: the loop fills the queue, then must stop reading.
        for _ in range(100):
            if protocol._read_paused:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.2)
        assert protocol._read_paused
        assert not stream._transport.is_reading()
        assert READ_HIGH_WATER < protocol._size <= READ_HIGH_WATER + TRANSPORT_READ_SIZE
        received = bytearray()
        largest = 0
        while True:
            chunk = await stream.read(65536, timeout=5)
            if not chunk:
                break
            received += chunk
            largest = max(largest, protocol._size)
        assert bytes(received) == payload
        assert largest <= READ_HIGH_WATER + TRANSPORT_READ_SIZE
        assert not protocol._read_paused
    finally:
        await stream.aclose()


# --- primitives --------------------------------------------------------------------------


async def test_cancelled_event_wait_leaves_no_waiter_behind() -> None:
    event = AsyncioBackend().create_event()
    with anyio.move_on_after(0.01):
        await event.wait()
    assert event._waiters == []  # type: ignore[attr-defined]
    assert await event.wait(0) is False


async def test_semaphore_hands_units_to_waiters_in_order() -> None:
    semaphore = AsyncioBackend().create_semaphore(1)
    order: List[int] = []

    async def take(number: int) -> None:
        assert await semaphore.acquire(timeout=5)
        order.append(number)
        await asyncio.sleep(0.01)
        semaphore.release()

    await semaphore.acquire()
    async with anyio.create_task_group() as tg:
        for number in range(3):
            tg.start_soon(take, number)
        await asyncio.sleep(0.01)
        semaphore.release()
    assert order == [0, 1, 2]
    assert await semaphore.acquire(timeout=0) is True


async def test_semaphore_unit_granted_to_a_cancelled_waiter_is_passed_on() -> None:
    semaphore = AsyncioBackend().create_semaphore(1)
    await semaphore.acquire()
    first = asyncio.ensure_future(semaphore.acquire())
    second = asyncio.ensure_future(semaphore.acquire(timeout=5))
    await asyncio.sleep(0.01)
    semaphore.release()  # goes to `first`...
    first.cancel()  # ...which is cancelled before it runs: the unit moves on
    with pytest.raises(asyncio.CancelledError):
        await first
    assert await second is True


# --- choosing the backend ----------------------------------------------------------------


async def test_default_backend_is_native_under_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPDUO_ASYNC_BACKEND", raising=False)
    assert running_on_asyncio() is True
    assert isinstance(async_default_backend(), AsyncioBackend)
    monkeypatch.setenv("HTTPDUO_ASYNC_BACKEND", "anyio")
    assert isinstance(async_default_backend(), AnyIOBackend)


def test_default_backend_is_anyio_under_trio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPDUO_ASYNC_BACKEND", raising=False)
    import_or_missing("trio")

    async def pick() -> Any:
        return running_on_asyncio(), async_default_backend()

    on_asyncio, backend = anyio.run(pick, backend="trio")
    assert on_asyncio is False
    assert isinstance(backend, AnyIOBackend)


def test_default_backend_outside_a_loop_and_sync_twin() -> None:
    assert running_on_asyncio() is False
    assert isinstance(async_default_backend(), AnyIOBackend)
    assert isinstance(sync_default_backend(), SyncBackend)


def test_module_does_not_import_anyio() -> None:
    code = (
        "import sys, asyncio\n"
        "from httpduo._backends.asyncio import AsyncioBackend\n"
        "async def main():\n"
        "    b = AsyncioBackend()\n"
        "    async with b.create_lock():\n"
        "        await b.sleep(0)\n"
        "asyncio.run(main())\n"
        "print('anyio' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
