"""The scripted mock backends, async and sync."""

from __future__ import annotations

import ssl

import pytest

from httpduo._backends.mock import AsyncMockBackend, MockBackend

SCRIPT = [b"HTTP/1.1 200 OK\r\n", b"Content-Length: 5\r\n\r\n", b"hello"]


@pytest.mark.anyio
async def test_async_mock_replays_the_script_then_eof() -> None:
    backend = AsyncMockBackend(SCRIPT)
    stream = await backend.connect_tcp("example.org", 80)
    received = []
    while True:
        chunk = await stream.read(8)
        if not chunk:
            break
        assert len(chunk) <= 8
        received.append(chunk)
    assert b"".join(received) == b"".join(SCRIPT)
    assert await stream.read(8) == b""


@pytest.mark.anyio
async def test_async_mock_records_writes_and_closing() -> None:
    backend = AsyncMockBackend(SCRIPT)
    stream = await backend.connect_tcp("example.org", 80)
    await stream.write(b"GET / HTTP/1.1\r\n")
    await stream.write(b"")
    await stream.write(b"Host: example.org\r\n\r\n")
    assert backend.streams[0].written == [b"GET / HTTP/1.1\r\n", b"Host: example.org\r\n\r\n"]
    assert not backend.streams[0].closed
    await stream.aclose()
    assert backend.streams[0].closed


@pytest.mark.anyio
async def test_async_mock_each_connection_replays_from_the_start() -> None:
    backend = AsyncMockBackend(SCRIPT)
    first = await backend.connect_tcp("example.org", 80)
    assert await first.read(1000) == SCRIPT[0]
    second = await backend.connect_unix_socket("/nowhere")
    assert await second.read(1000) == SCRIPT[0]
    assert len(backend.streams) == 2


@pytest.mark.anyio
@pytest.mark.parametrize(("http2", "alpn"), [(False, "http/1.1"), (True, "h2")])
async def test_async_mock_tls_reports_alpn(http2: bool, alpn: str) -> None:
    backend = AsyncMockBackend(SCRIPT, http2=http2)
    stream = await backend.connect_tcp("example.org", 443)
    assert stream.get_extra_info("ssl_object") is None
    tls = await stream.start_tls(ssl.create_default_context(), server_hostname="example.org")
    assert tls.get_extra_info("ssl_object").selected_alpn_protocol() == alpn


@pytest.mark.anyio
async def test_async_mock_is_readable_is_scripted() -> None:
    backend = AsyncMockBackend(SCRIPT)
    stream = await backend.connect_tcp("example.org", 80)
    assert stream.get_extra_info("is_readable") is False
    backend.streams[0].readable = True
    assert stream.get_extra_info("is_readable") is True


@pytest.mark.anyio
async def test_async_mock_primitives_work() -> None:
    backend = AsyncMockBackend([])
    async with backend.create_lock():
        pass
    assert await backend.create_event().wait(0.01) is False
    before = backend.time()
    await backend.sleep(0.01)
    assert backend.time() > before


def test_sync_mock_replays_records_and_closes() -> None:
    backend = MockBackend(SCRIPT, http2=True)
    stream = backend.connect_tcp("example.org", 443)
    stream.write(b"request")
    assert stream.read(4) == b"HTTP"
    assert stream.read(1000) == b"/1.1 200 OK\r\n"
    assert stream.read(1000) == SCRIPT[1]
    assert stream.read(1000) == SCRIPT[2]
    assert stream.read(1000) == b""
    tls = stream.start_tls(ssl.create_default_context(), server_hostname="example.org")
    assert tls.get_extra_info("ssl_object").selected_alpn_protocol() == "h2"
    assert backend.streams[0].written == [b"request"]
    stream.close()
    assert backend.streams[0].closed


def test_sync_mock_primitives_work() -> None:
    backend = MockBackend([])
    with backend.create_lock():
        pass
    assert backend.create_event().wait(0.01) is False
    semaphore = backend.create_semaphore(1)
    with semaphore:
        assert semaphore.acquire(timeout=0.01) is False
