"""AsyncioBackend against real sockets on loopback (asyncio only, by nature).

The same behaviours as test_anyio_backend.py, plus what only this backend has: its read
queue and flow control, the TLS-in-TLS fallback, and `default_backend()`.
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
import time
from typing import Any, Callable, List, Tuple

import anyio
import pytest

from httpduo._backends import asyncio as asyncio_module
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
    ConnectTimeout,
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


async def read_exactly(stream: AsyncNetworkStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await stream.read(size - len(data), timeout=5)
        assert chunk, "unexpected EOF"
        data += chunk
    return data


def fake_getaddrinfo(monkeypatch: pytest.MonkeyPatch, name: str, addresses: List[str]) -> None:
    """Make `name` resolve to `addresses`, in that order, through the running loop."""
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        if host != name:
            return await real(host, port, **kwargs)
        results = []
        for address in addresses:
            family = socket.AF_INET6 if ":" in address else socket.AF_INET
            results.append((family, socket.SOCK_STREAM, 6, "", (address, port)))
        return results

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)


def protocol_of(stream: AsyncNetworkStream) -> Any:
    assert isinstance(stream, AsyncioStream)
    return stream._protocol


# --- plain TCP -------------------------------------------------------------------------


async def test_write_then_read_echo(echo_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        await stream.write(b"ping" * 1000, timeout=5)
        assert await read_exactly(stream, 4000) == b"ping" * 1000
        await stream.write(b"untimed")
        assert await read_exactly(stream, 7) == b"untimed"
        await stream.write(b"")  # nothing to send is not an error
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
        assert stream.get_extra_info("client_addr")[0] == "127.0.0.1"
        assert stream.get_extra_info("ssl_object") is None
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        assert stream.get_extra_info("no such thing") is None
    finally:
        await stream.aclose()


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
            protocol.data_received(part)  # as if three segments arrived before we read
        assert await stream.read(6) == b"one tw"
        assert await stream.read(100) == b"o three"
    finally:
        await stream.aclose()


async def test_eof_reads_empty_bytes(greeting_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", greeting_server.port, timeout=5)
    try:
        assert await read_exactly(stream, 5) == b"hello"
        assert await stream.read(100, timeout=5) == b""
        assert await stream.read(100) == b""
    finally:
        await stream.aclose()


async def test_close_is_idempotent_and_io_after_close_fails_cleanly(
    echo_server: Any,
) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    await stream.aclose()
    await stream.aclose()
    with pytest.raises(ReadError, match=r"Error reading from 127\.0\.0\.1:\d+: the stream is"):
        await stream.read(10)
    with pytest.raises(WriteError, match=r"Error writing to 127\.0\.0\.1:\d+: the stream is"):
        await stream.write(b"late")


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


async def test_read_timeout_leaves_the_stream_usable(echo_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        with pytest.raises(ReadTimeout) as info:
            await stream.read(100, timeout=0.2)
        assert str(info.value) == f"Timed out reading from 127.0.0.1:{echo_server.port} after 0.2s"
        await stream.write(b"still here", timeout=5)
        assert await read_exactly(stream, 10) == b"still here"
    finally:
        await stream.aclose()


async def test_cancellation_passes_through_untouched(silent_listener: Tuple[str, int]) -> None:
    stream = await AsyncioBackend().connect_tcp(*silent_listener, timeout=5)
    try:
        with anyio.move_on_after(0.1) as scope:
            await stream.read(100, timeout=10)
        assert scope.cancelled_caught  # no ReadTimeout, no ReadError: the caller's scope
        with anyio.move_on_after(0.1) as scope:
            await stream.read(100)
        assert scope.cancelled_caught
    finally:
        await stream.aclose()


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


async def test_write_timeout(silent_listener: Tuple[str, int]) -> None:
    host, port = silent_listener
    small_buffer = (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    stream = await AsyncioBackend().connect_tcp(
        host, port, timeout=5, socket_options=[small_buffer]
    )
    try:
        with pytest.raises(WriteTimeout) as info:
            await stream.write(b"x" * (64 * 1024 * 1024), timeout=0.3)
        assert str(info.value) == f"Timed out writing to 127.0.0.1:{port} after 0.3s"
    finally:
        await stream.aclose()
    assert not protocol_of(stream)._drain_waiters  # the timed-out waiter was dropped


async def test_connect_timeout(full_backlog_listener: Tuple[str, int]) -> None:
    host, port = full_backlog_listener
    with pytest.raises(ConnectTimeout) as info:
        await AsyncioBackend().connect_tcp(host, port, timeout=0.3)
    assert str(info.value) == f"Timed out connecting to 127.0.0.1:{port} after 0.3s"
    await asyncio.sleep(0.05)  # the deadline's cancellation must not leak into the task


async def test_cancelled_connect_passes_through(
    monkeypatch: pytest.MonkeyPatch, full_backlog_listener_127_0_0_2: Tuple[str, int]
) -> None:
    host, port = full_backlog_listener_127_0_0_2
    with anyio.move_on_after(0.1) as scope:
        await AsyncioBackend().connect_tcp(host, port, timeout=10)
    assert scope.cancelled_caught
    # The same while racing several addresses: no ConnectError, no leaked task.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.3"])
    with anyio.move_on_after(0.4) as scope:
        await AsyncioBackend().connect_tcp("localhost", port, timeout=10)
    assert scope.cancelled_caught


async def test_connection_refused(free_port: int) -> None:
    with pytest.raises(ConnectError) as info:
        await AsyncioBackend().connect_tcp("127.0.0.1", free_port, timeout=5)
    assert str(info.value).startswith(f"Failed to connect to 127.0.0.1:{free_port}: ")
    assert "refused" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)


async def test_unresolvable_host_is_a_connect_error(monkeypatch: pytest.MonkeyPatch) -> None:
    async def getaddrinfo(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(asyncio.get_running_loop(), "getaddrinfo", getaddrinfo)
    with pytest.raises(ConnectError, match=r"Failed to resolve 'nowhere\.invalid'"):
        await AsyncioBackend().connect_tcp("nowhere.invalid", 80)


async def test_socket_options_and_local_address(echo_server: Any) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    stream = await AsyncioBackend().connect_tcp(
        "127.0.0.1", echo_server.port, local_address="127.0.0.1", socket_options=options
    )
    try:
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    finally:
        await stream.aclose()


async def test_local_address_family_mismatch_is_a_connect_error(echo_server: Any) -> None:
    with pytest.raises(ConnectError, match="has the address family of local_address"):
        await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, local_address="::")


async def test_bad_socket_option_passes_through(
    monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    bad: Any = [("not", "an", "option")]
    with pytest.raises(TypeError):
        await AsyncioBackend().connect_tcp("127.0.0.1", echo_server.port, socket_options=bad)
    # With several addresses the attempts run as tasks: still a bare TypeError.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(TypeError):
        await AsyncioBackend().connect_tcp("localhost", echo_server.port, socket_options=bad)


async def test_is_readable_detects_peer_closing_an_idle_connection(closing_server: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", closing_server.port, timeout=5)
    try:
        assert stream.get_extra_info("is_readable") is False
        await stream.write(b"!", timeout=5)  # the server closes on receiving anything
        for _ in range(500):  # the close travels through the kernel: poll, bounded
            if stream.get_extra_info("is_readable"):
                break
            await asyncio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        assert await stream.read(10, timeout=5) == b""
    finally:
        await stream.aclose()
    assert stream.get_extra_info("is_readable") is True  # closed counts as unusable


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


async def test_ipv6_loopback(echo_server_v6: Any) -> None:
    stream = await AsyncioBackend().connect_tcp("::1", echo_server_v6.port, timeout=5)
    try:
        await stream.write(b"six", timeout=5)
        assert await read_exactly(stream, 3) == b"six"
        assert stream.get_extra_info("server_addr") == ("::1", echo_server_v6.port)
    finally:
        await stream.aclose()


async def test_unix_socket(unix_echo_server: str) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)]
    stream = await AsyncioBackend().connect_unix_socket(
        unix_echo_server, timeout=5, socket_options=options
    )
    try:
        await stream.write(b"local", timeout=5)
        assert await read_exactly(stream, 5) == b"local"
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr") == unix_echo_server
    finally:
        await stream.aclose()


async def test_unix_socket_missing_path_is_a_connect_error(tmp_path: Any) -> None:
    path = str(tmp_path / "missing.sock")
    with pytest.raises(ConnectError, match=f"Failed to connect to {path}: ") as info:
        await AsyncioBackend().connect_unix_socket(path, timeout=5)
    assert isinstance(info.value.__cause__, OSError)


async def test_unix_socket_bad_option_is_a_connect_error(unix_echo_server: str) -> None:
    bad = [(socket.SOL_SOCKET, 0x7FFF, 1)]  # no such option
    with pytest.raises(ConnectError, match="Failed to set socket options on"):
        await AsyncioBackend().connect_unix_socket(unix_echo_server, socket_options=bad)


# --- Happy Eyeballs ----------------------------------------------------------------------


@pytest.mark.usefixtures("ipv6")
async def test_happy_eyeballs_falls_back_to_ipv4(
    monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    # Nothing listens on ::1 at this port: the IPv6 attempt is refused, IPv4 wins.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "::1"])
    stream = await AsyncioBackend().connect_tcp("localhost", echo_server.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
    finally:
        await stream.aclose()


async def test_happy_eyeballs_prefers_ipv6_when_it_answers(
    monkeypatch: pytest.MonkeyPatch, echo_server_v6: Any
) -> None:
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "::1"])
    stream = await AsyncioBackend().connect_tcp("localhost", echo_server_v6.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr")[0] == "::1"
    finally:
        await stream.aclose()


async def test_happy_eyeballs_starts_next_attempt_when_one_fails(
    monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    # With a huge stagger delay, only "start the next attempt on failure" can connect
    # before the timeout: 127.0.0.3 refuses (nothing listens there on this port).
    monkeypatch.setattr(asyncio_module, "HAPPY_EYEBALLS_DELAY", 60.0)
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.3", "127.0.0.1"])
    stream = await AsyncioBackend().connect_tcp("localhost", echo_server.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
    finally:
        await stream.aclose()


async def test_happy_eyeballs_races_past_a_slow_address(
    monkeypatch: pytest.MonkeyPatch,
    full_backlog_listener_127_0_0_2: Tuple[str, int],
    start_server: Callable[..., Any],
) -> None:
    # 127.0.0.2 never completes the handshake; after the 250 ms stagger 127.0.0.1 is tried.
    _, port = full_backlog_listener_127_0_0_2
    start_server(lambda conn: None, address=("127.0.0.1", port))
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    started = time.monotonic()
    stream = await AsyncioBackend().connect_tcp("localhost", port, timeout=5)
    elapsed = time.monotonic() - started
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
    finally:
        await stream.aclose()
    assert elapsed >= 0.2  # the second attempt waited for the stagger delay


async def test_happy_eyeballs_total_failure_lists_every_address(
    monkeypatch: pytest.MonkeyPatch, free_port: int
) -> None:
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "127.0.0.3"])
    with pytest.raises(ConnectError) as info:
        await AsyncioBackend().connect_tcp("localhost", free_port, timeout=5)
    message = str(info.value)
    assert message.startswith(f"Failed to connect to localhost:{free_port} (tried ")
    assert f"127.0.0.1:{free_port}: " in message
    assert f"127.0.0.3:{free_port}: " in message
    assert isinstance(info.value.__cause__, OSError)


async def test_happy_eyeballs_timeout_bounds_the_whole_connect(
    monkeypatch: pytest.MonkeyPatch, full_backlog_listener_127_0_0_2: Tuple[str, int]
) -> None:
    # 127.0.0.2 hangs, 127.0.0.1 refuses at once: the race is left waiting on the first.
    _, port = full_backlog_listener_127_0_0_2
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(ConnectTimeout) as info:
        await AsyncioBackend().connect_tcp("localhost", port, timeout=0.4)
    assert str(info.value) == f"Timed out connecting to localhost:{port} after 0.4s"


async def test_happy_eyeballs_leaves_no_attempt_running(
    monkeypatch: pytest.MonkeyPatch,
    full_backlog_listener_127_0_0_2: Tuple[str, int],
    start_server: Callable[..., Any],
) -> None:
    _, port = full_backlog_listener_127_0_0_2
    start_server(lambda conn: None, address=("127.0.0.1", port))
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    before = asyncio.all_tasks()
    stream = await AsyncioBackend().connect_tcp("localhost", port, timeout=5)
    await stream.aclose()
    await asyncio.sleep(0)  # the losing attempt handles its cancellation
    assert asyncio.all_tasks() == before


# --- TLS ---------------------------------------------------------------------------------


async def test_start_tls(tls_echo_server: Any, client_ssl_context: ssl.SSLContext) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    tls = await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        await tls.write(b"secret", timeout=5)
        assert await read_exactly(tls, 6) == b"secret"
        ssl_object = tls.get_extra_info("ssl_object")
        assert ssl_object.version().startswith("TLS")
        assert tls.get_extra_info("is_readable") is False
        assert tls.get_extra_info("server_addr") == ("127.0.0.1", tls_echo_server.port)
        assert tls.get_extra_info("socket").fileno() >= 0
        payload = os.urandom(3_000_000)  # through TLS flow control both ways
        await tls.write(payload, timeout=10)
        assert await read_exactly(tls, len(payload)) == payload
    finally:
        await tls.aclose()
    with pytest.raises(ReadError):
        await tls.read(10)


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


async def test_start_tls_verify_failure(
    tls_echo_server: Any, untrusting_ssl_context: ssl.SSLContext
) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    with pytest.raises(ConnectError, match="certificate verify failed") as info:
        await stream.start_tls(untrusting_ssl_context, server_hostname="localhost", timeout=5)
    assert str(info.value).startswith("TLS handshake with localhost failed: ")
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    with pytest.raises(ReadError):  # closed on failure
        await stream.read(10)


async def test_start_tls_handshake_timeout(
    silent_listener: Tuple[str, int], client_ssl_context: ssl.SSLContext
) -> None:
    stream = await AsyncioBackend().connect_tcp(*silent_listener, timeout=5)
    with pytest.raises(ConnectTimeout) as info:
        await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=0.2)
    assert str(info.value) == "Timed out during TLS handshake with localhost after 0.2s"
    with pytest.raises(ReadError):  # closed on failure
        await stream.read(10)


async def test_start_tls_when_the_server_hangs_up(
    greeting_server: Any, client_ssl_context: ssl.SSLContext
) -> None:
    # The server says "hello" in clear and closes: not a TLS server at all.
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", greeting_server.port, timeout=5)
    with pytest.raises(ConnectError, match="TLS handshake with localhost failed: "):
        await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)


async def test_start_tls_on_a_closed_stream(
    tls_echo_server: Any, client_ssl_context: ssl.SSLContext
) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    await stream.aclose()
    with pytest.raises(ConnectError, match="TLS handshake with localhost failed: the stream is"):
        await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)


async def test_tls_in_tls(tls_tunnel: Any, client_ssl_context: ssl.SSLContext) -> None:
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_tunnel.port, timeout=5)
    outer = await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    inner = await outer.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        if sys.version_info >= (3, 11):  # asyncio layers TLS over its own SSL transport
            assert isinstance(inner, AsyncioStream)
        assert inner.get_extra_info("ssl_object") is not outer.get_extra_info("ssl_object")
        payload = os.urandom(200_000)
        await inner.write(payload, timeout=5)
        assert await read_exactly(inner, len(payload)) == payload
        assert inner.get_extra_info("is_readable") is False
    finally:
        await inner.aclose()
    with pytest.raises(ReadError):
        await outer.read(10)


async def test_tls_in_tls_fallback(
    monkeypatch: pytest.MonkeyPatch, tls_tunnel: Any, client_ssl_context: ssl.SSLContext
) -> None:
    # What loops that cannot start TLS over an SSL transport (CPython < 3.11) get.
    monkeypatch.setattr(
        asyncio.sslproto._SSLProtocolTransport, "_start_tls_compatible", False, raising=False
    )
    stream = await AsyncioBackend().connect_tcp("127.0.0.1", tls_tunnel.port, timeout=5)
    outer = await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    inner = await outer.start_tls(client_ssl_context, server_hostname="localhost", timeout=5)
    try:
        assert type(inner).__name__ == "_TLSOverStream"
        assert inner.get_extra_info("ssl_object") is not outer.get_extra_info("ssl_object")
        assert inner.get_extra_info("server_addr") == ("127.0.0.1", tls_tunnel.port)
        payload = os.urandom(200_000)
        await inner.write(payload, timeout=5)
        assert await read_exactly(inner, len(payload)) == payload
        assert inner.get_extra_info("is_readable") is False
    finally:
        await inner.aclose()
    with pytest.raises(ReadError):
        await outer.read(10)


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


async def test_event_wait_times_out_then_sees_set() -> None:
    event = AsyncioBackend().create_event()
    assert await event.wait(0.01) is False
    assert not event.is_set()
    woken: List[bool] = []

    async def waiter() -> None:
        woken.append(await event.wait())

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await asyncio.sleep(0.01)
        event.set()
        event.set()  # idempotent
    assert woken == [True, True]
    assert await event.wait(5) is True
    assert await event.wait() is True


async def test_cancelled_event_wait_leaves_no_waiter_behind() -> None:
    event = AsyncioBackend().create_event()
    with anyio.move_on_after(0.01):
        await event.wait()
    assert event._waiters == []  # type: ignore[attr-defined]
    assert await event.wait(0) is False


async def test_lock_excludes_other_tasks() -> None:
    lock = AsyncioBackend().create_lock()
    inside: List[int] = []
    overlaps: List[bool] = []

    async def work() -> None:
        for _ in range(50):
            async with lock:
                inside.append(1)
                await asyncio.sleep(0)
                overlaps.append(len(inside) > 1)
                inside.pop()

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(work)
    assert len(overlaps) == 200
    assert not any(overlaps)


async def test_semaphore() -> None:
    semaphore = AsyncioBackend().create_semaphore(1)
    async with semaphore:
        assert await semaphore.acquire(timeout=0.01) is False
    assert await semaphore.acquire(timeout=0.01) is True
    semaphore.release()
    assert await semaphore.acquire() is True
    semaphore.release()


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


async def test_clock_and_sleep() -> None:
    backend = AsyncioBackend()
    before = backend.time()
    await backend.sleep(0.01)
    assert backend.time() - before >= 0.01


def test_primitives_can_be_created_outside_an_event_loop() -> None:
    # Clients are often built at import time, before any loop runs.
    backend = AsyncioBackend()
    lock, event = backend.create_lock(), backend.create_event()
    semaphore = backend.create_semaphore(1)

    async def use() -> bool:
        async with lock, semaphore:
            event.set()
        return await event.wait(1)

    assert asyncio.run(use()) is True


# --- choosing the backend ----------------------------------------------------------------


async def test_default_backend_is_native_under_asyncio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPDUO_ASYNC_BACKEND", raising=False)
    assert running_on_asyncio() is True
    assert isinstance(async_default_backend(), AsyncioBackend)
    monkeypatch.setenv("HTTPDUO_ASYNC_BACKEND", "anyio")
    assert isinstance(async_default_backend(), AnyIOBackend)


def test_default_backend_is_anyio_under_trio(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HTTPDUO_ASYNC_BACKEND", raising=False)
    pytest.importorskip("trio")

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
