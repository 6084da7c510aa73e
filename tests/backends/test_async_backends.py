"""What every async backend must do, against real sockets on loopback.

Each test runs once per `every_async_backend` case: AnyIOBackend on asyncio and on trio,
AsyncioBackend on asyncio. What only one backend has (the asyncio backend's read queue,
flow control and TLS-in-TLS fallback) is tested in that backend's own file.
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
import time
from typing import Any, Callable, List, Tuple

import anyio
import anyio.lowlevel
import pytest
from tests.backends.helpers import (
    check_tls_in_tls,
    every_async_backend,
    fake_getaddrinfo,
    read_exactly,
)

from httpduo._backends.base import AsyncNetworkBackend
from httpduo._models._exceptions import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    WriteError,
    WriteTimeout,
)

pytestmark = [pytest.mark.anyio, pytest.mark.network, every_async_backend]


# --- plain TCP -------------------------------------------------------------------------


async def test_write_then_read_echo(backend: AsyncNetworkBackend, echo_server: Any) -> None:
    stream = await backend.connect_tcp("127.0.0.1", echo_server.port, timeout=5)
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


async def test_eof_reads_empty_bytes(backend: AsyncNetworkBackend, greeting_server: Any) -> None:
    stream = await backend.connect_tcp("127.0.0.1", greeting_server.port, timeout=5)
    try:
        assert await read_exactly(stream, 5) == b"hello"
        assert await stream.read(100, timeout=5) == b""
        assert await stream.read(100) == b""
    finally:
        await stream.aclose()


async def test_close_is_idempotent_and_io_after_close_fails_cleanly(
    backend: AsyncNetworkBackend, echo_server: Any
) -> None:
    stream = await backend.connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    await stream.aclose()
    await stream.aclose()
    closed = r"^Error {} 127\.0\.0\.1:\d+: the stream is closed$"
    with pytest.raises(ReadError, match=closed.format("reading from")):
        await stream.read(10)
    with pytest.raises(WriteError, match=closed.format("writing to")):
        await stream.write(b"late")


async def test_read_timeout_leaves_the_stream_usable(
    backend: AsyncNetworkBackend, echo_server: Any
) -> None:
    stream = await backend.connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        with pytest.raises(ReadTimeout) as info:
            await stream.read(100, timeout=0.2)
        assert str(info.value) == f"Timed out reading from 127.0.0.1:{echo_server.port} after 0.2s"
        await stream.write(b"still here", timeout=5)
        assert await read_exactly(stream, 10) == b"still here"
    finally:
        await stream.aclose()


async def test_cancellation_passes_through_untouched(
    backend: AsyncNetworkBackend, silent_listener: Tuple[str, int]
) -> None:
    stream = await backend.connect_tcp(*silent_listener, timeout=5)
    try:
        with anyio.move_on_after(0.1) as scope:
            await stream.read(100, timeout=10)
        assert scope.cancelled_caught  # no ReadTimeout, no ReadError: the caller's scope
        with anyio.move_on_after(0.1) as scope:
            await stream.read(100)
        assert scope.cancelled_caught
    finally:
        await stream.aclose()


async def test_write_timeout(
    backend: AsyncNetworkBackend, silent_listener: Tuple[str, int]
) -> None:
    host, port = silent_listener
    small_buffer = (socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    stream = await backend.connect_tcp(host, port, timeout=5, socket_options=[small_buffer])
    try:
        with pytest.raises(WriteTimeout) as info:
            await stream.write(b"x" * (64 * 1024 * 1024), timeout=0.3)
        assert str(info.value) == f"Timed out writing to 127.0.0.1:{port} after 0.3s"
    finally:
        await stream.aclose()


async def test_connect_timeout(
    backend: AsyncNetworkBackend, full_backlog_listener: Tuple[str, int]
) -> None:
    host, port = full_backlog_listener
    with pytest.raises(ConnectTimeout) as info:
        await backend.connect_tcp(host, port, timeout=0.3)
    assert str(info.value) == f"Timed out connecting to 127.0.0.1:{port} after 0.3s"
    await anyio.sleep(0.05)  # the deadline's cancellation must not leak into the task


async def test_cancelled_connect_passes_through(
    backend: AsyncNetworkBackend,
    monkeypatch: pytest.MonkeyPatch,
    full_backlog_listener_127_0_0_2: Tuple[str, int],
) -> None:
    host, port = full_backlog_listener_127_0_0_2
    with anyio.move_on_after(0.1) as scope:
        await backend.connect_tcp(host, port, timeout=10)
    assert scope.cancelled_caught
    # The same while racing several addresses: no ExceptionGroup, no ConnectError.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.3"])
    with anyio.move_on_after(0.4) as scope:
        await backend.connect_tcp("localhost", port, timeout=10)
    assert scope.cancelled_caught


async def test_connection_refused(backend: AsyncNetworkBackend, free_port: int) -> None:
    with pytest.raises(ConnectError) as info:
        await backend.connect_tcp("127.0.0.1", free_port, timeout=5)
    assert str(info.value).startswith(f"Failed to connect to 127.0.0.1:{free_port}: ")
    assert "refused" in str(info.value)
    assert isinstance(info.value.__cause__, OSError)


async def test_unresolvable_host_is_a_connect_error(
    backend: AsyncNetworkBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_getaddrinfo(monkeypatch, "nowhere.invalid", [])
    with pytest.raises(ConnectError, match=r"Failed to resolve 'nowhere\.invalid'"):
        await backend.connect_tcp("nowhere.invalid", 80)


async def test_socket_options_and_local_address(
    backend: AsyncNetworkBackend, echo_server: Any
) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    stream = await backend.connect_tcp(
        "127.0.0.1", echo_server.port, local_address="127.0.0.1", socket_options=options
    )
    try:
        sock = stream.get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE)
    finally:
        await stream.aclose()


async def test_local_address_family_mismatch_is_a_connect_error(
    backend: AsyncNetworkBackend, echo_server: Any
) -> None:
    with pytest.raises(ConnectError, match="has the address family of local_address"):
        await backend.connect_tcp("127.0.0.1", echo_server.port, local_address="::")


async def test_bad_socket_option_passes_through(
    backend: AsyncNetworkBackend, monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    bad: Any = [("not", "an", "option")]
    with pytest.raises(TypeError):
        await backend.connect_tcp("127.0.0.1", echo_server.port, socket_options=bad)
    # With several addresses the attempts run as tasks: still a bare TypeError.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(TypeError):
        await backend.connect_tcp("localhost", echo_server.port, socket_options=bad)


async def test_is_readable_detects_peer_closing_an_idle_connection(
    backend: AsyncNetworkBackend, closing_server: Any
) -> None:
    stream = await backend.connect_tcp("127.0.0.1", closing_server.port, timeout=5)
    try:
        assert stream.get_extra_info("is_readable") is False
        await stream.write(b"!", timeout=5)  # the server closes on receiving anything
        for _ in range(500):  # the close travels through the kernel: poll, bounded
            if stream.get_extra_info("is_readable"):
                break
            await anyio.sleep(0.01)
        assert stream.get_extra_info("is_readable") is True
        assert await stream.read(10, timeout=5) == b""
    finally:
        await stream.aclose()
    assert stream.get_extra_info("is_readable") is True  # closed counts as unusable


async def test_ipv6_loopback(backend: AsyncNetworkBackend, echo_server_v6: Any) -> None:
    stream = await backend.connect_tcp("::1", echo_server_v6.port, timeout=5)
    try:
        await stream.write(b"six", timeout=5)
        assert await read_exactly(stream, 3) == b"six"
        assert stream.get_extra_info("server_addr") == ("::1", echo_server_v6.port)
    finally:
        await stream.aclose()


async def test_unix_socket(backend: AsyncNetworkBackend, unix_echo_server: str) -> None:
    options = [(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)]
    stream = await backend.connect_unix_socket(unix_echo_server, timeout=5, socket_options=options)
    try:
        await stream.write(b"local", timeout=5)
        assert await read_exactly(stream, 5) == b"local"
        assert stream.get_extra_info("is_readable") is False
        assert stream.get_extra_info("server_addr") == unix_echo_server
    finally:
        await stream.aclose()


async def test_unix_socket_missing_path_is_a_connect_error(
    backend: AsyncNetworkBackend, tmp_path: Any
) -> None:
    path = str(tmp_path / "missing.sock")
    with pytest.raises(ConnectError, match=f"Failed to connect to {path}: ") as info:
        await backend.connect_unix_socket(path, timeout=5)
    assert isinstance(info.value.__cause__, OSError)


# --- Happy Eyeballs ----------------------------------------------------------------------


@pytest.mark.usefixtures("ipv6")
async def test_happy_eyeballs_falls_back_to_ipv4(
    backend: AsyncNetworkBackend, monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    # Nothing listens on ::1 at this port: the IPv6 attempt is refused, IPv4 wins.
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "::1"])
    stream = await backend.connect_tcp("localhost", echo_server.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
    finally:
        await stream.aclose()


async def test_happy_eyeballs_prefers_ipv6_when_it_answers(
    backend: AsyncNetworkBackend, monkeypatch: pytest.MonkeyPatch, echo_server_v6: Any
) -> None:
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "::1"])
    stream = await backend.connect_tcp("localhost", echo_server_v6.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr")[0] == "::1"
    finally:
        await stream.aclose()


async def test_happy_eyeballs_starts_next_attempt_when_one_fails(
    backend: AsyncNetworkBackend, monkeypatch: pytest.MonkeyPatch, echo_server: Any
) -> None:
    # With a huge stagger delay, only "start the next attempt on failure" can connect
    # before the timeout: 127.0.0.3 refuses (nothing listens there on this port).
    backend_module = sys.modules[type(backend).__module__]
    monkeypatch.setattr(backend_module, "HAPPY_EYEBALLS_DELAY", 60.0)
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.3", "127.0.0.1"])
    stream = await backend.connect_tcp("localhost", echo_server.port, timeout=5)
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", echo_server.port)
    finally:
        await stream.aclose()


async def test_happy_eyeballs_races_past_a_slow_address(
    backend: AsyncNetworkBackend,
    monkeypatch: pytest.MonkeyPatch,
    full_backlog_listener_127_0_0_2: Tuple[str, int],
    start_server: Callable[..., Any],
) -> None:
    # 127.0.0.2 never completes the handshake; after the 250 ms stagger 127.0.0.1 is tried.
    _, port = full_backlog_listener_127_0_0_2
    start_server(lambda conn: None, address=("127.0.0.1", port))
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    tasks_before = {task.id for task in anyio.get_running_tasks()}
    started = time.monotonic()
    stream = await backend.connect_tcp("localhost", port, timeout=5)
    elapsed = time.monotonic() - started
    try:
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", port)
    finally:
        await stream.aclose()
    assert elapsed >= 0.2  # the second attempt waited for the stagger delay
    await anyio.lowlevel.checkpoint()  # a losing attempt gets to handle its cancellation
    assert {task.id for task in anyio.get_running_tasks()} == tasks_before  # none left


async def test_happy_eyeballs_total_failure_lists_every_address(
    backend: AsyncNetworkBackend, monkeypatch: pytest.MonkeyPatch, free_port: int
) -> None:
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.1", "127.0.0.3"])
    with pytest.raises(ConnectError) as info:
        await backend.connect_tcp("localhost", free_port, timeout=5)
    message = str(info.value)
    assert message.startswith(f"Failed to connect to localhost:{free_port} (tried ")
    assert f"127.0.0.1:{free_port}: " in message
    assert f"127.0.0.3:{free_port}: " in message
    assert isinstance(info.value.__cause__, OSError)


async def test_happy_eyeballs_timeout_bounds_the_whole_connect(
    backend: AsyncNetworkBackend,
    monkeypatch: pytest.MonkeyPatch,
    full_backlog_listener_127_0_0_2: Tuple[str, int],
) -> None:
    # 127.0.0.2 hangs, 127.0.0.1 refuses at once: the race is left waiting on the first.
    _, port = full_backlog_listener_127_0_0_2
    fake_getaddrinfo(monkeypatch, "localhost", ["127.0.0.2", "127.0.0.1"])
    with pytest.raises(ConnectTimeout) as info:
        await backend.connect_tcp("localhost", port, timeout=0.4)
    assert str(info.value) == f"Timed out connecting to localhost:{port} after 0.4s"


# --- TLS ---------------------------------------------------------------------------------


async def test_start_tls(
    backend: AsyncNetworkBackend, tls_echo_server: Any, client_ssl_context: ssl.SSLContext
) -> None:
    stream = await backend.connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
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


async def test_start_tls_verify_failure(
    backend: AsyncNetworkBackend, tls_echo_server: Any, untrusting_ssl_context: ssl.SSLContext
) -> None:
    stream = await backend.connect_tcp("127.0.0.1", tls_echo_server.port, timeout=5)
    with pytest.raises(ConnectError, match="certificate verify failed") as info:
        await stream.start_tls(untrusting_ssl_context, server_hostname="localhost", timeout=5)
    assert str(info.value).startswith("TLS handshake with localhost failed: ")
    assert isinstance(info.value.__cause__, ssl.SSLCertVerificationError)
    with pytest.raises(ReadError):  # closed on failure
        await stream.read(10)


async def test_start_tls_handshake_timeout(
    backend: AsyncNetworkBackend,
    silent_listener: Tuple[str, int],
    client_ssl_context: ssl.SSLContext,
) -> None:
    stream = await backend.connect_tcp(*silent_listener, timeout=5)
    with pytest.raises(ConnectTimeout) as info:
        await stream.start_tls(client_ssl_context, server_hostname="localhost", timeout=0.2)
    assert str(info.value) == "Timed out during TLS handshake with localhost after 0.2s"
    with pytest.raises(ReadError):  # closed on failure
        await stream.read(10)


async def test_tls_in_tls(
    backend: AsyncNetworkBackend, tls_tunnel: Any, client_ssl_context: ssl.SSLContext
) -> None:
    await check_tls_in_tls(backend, tls_tunnel.port, client_ssl_context)


# --- primitives --------------------------------------------------------------------------


async def test_event_wait_times_out_then_sees_set(backend: AsyncNetworkBackend) -> None:
    event = backend.create_event()
    assert await event.wait(0.01) is False
    assert not event.is_set()
    woken: List[bool] = []

    async def waiter() -> None:
        woken.append(await event.wait())

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        tg.start_soon(waiter)
        await anyio.sleep(0.01)
        event.set()
        event.set()  # idempotent
    assert woken == [True, True]
    assert await event.wait(5) is True
    assert await event.wait() is True


async def test_lock_excludes_other_tasks(backend: AsyncNetworkBackend) -> None:
    lock = backend.create_lock()
    inside: List[int] = []
    overlaps: List[bool] = []

    async def work() -> None:
        for _ in range(50):
            async with lock:
                inside.append(1)
                await anyio.lowlevel.checkpoint()
                overlaps.append(len(inside) > 1)
                inside.pop()

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(work)
    assert len(overlaps) == 200
    assert not any(overlaps)


async def test_semaphore(backend: AsyncNetworkBackend) -> None:
    semaphore = backend.create_semaphore(1)
    async with semaphore:
        assert await semaphore.acquire(timeout=0.01) is False
    assert await semaphore.acquire(timeout=0.01) is True
    semaphore.release()
    assert await semaphore.acquire() is True
    semaphore.release()


async def test_clock_and_sleep(backend: AsyncNetworkBackend) -> None:
    before = backend.time()
    await backend.sleep(0.01)
    assert backend.time() - before >= 0.01


def test_primitives_can_be_created_outside_an_event_loop(
    backend: AsyncNetworkBackend, anyio_backend: str
) -> None:
    # Clients are often built at import time, before any loop runs.
    lock, event = backend.create_lock(), backend.create_event()
    semaphore = backend.create_semaphore(1)

    async def use() -> bool:
        async with lock, semaphore:
            event.set()
        return await event.wait(1)

    assert anyio.run(use, backend=anyio_backend) is True


async def test_shielded_block_is_bounded_by_its_timeout(backend: AsyncNetworkBackend) -> None:
    reached: List[str] = []
    started = backend.time()
    with backend.shielded(0.1):
        await backend.sleep(10)
        reached.append("the end of the block")
    # The bound cut the block short, and the `with` swallowed that cancellation.
    assert reached == []
    assert backend.time() - started < 5


async def test_shielded_write_goes_out_in_a_cancelled_scope(
    backend: AsyncNetworkBackend, echo_server: Any
) -> None:
    """The cleanup write of a cancelled request (an HTTP/2 RST_STREAM) is not cut by
    the cancellation that caused it; the cancellation still holds after the block."""
    stream = await backend.connect_tcp("127.0.0.1", echo_server.port, timeout=5)
    try:
        with anyio.CancelScope() as scope:
            scope.cancel()
            with backend.shielded(5):
                await stream.write(b"reset", timeout=5)
            await anyio.lowlevel.checkpoint()
            pytest.fail("the scope's cancellation was lost")
        assert scope.cancelled_caught
        assert await read_exactly(stream, 5) == b"reset"
    finally:
        await stream.aclose()
