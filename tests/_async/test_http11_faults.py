"""HTTP/1.1 against a scripted raw server: every fault maps to the right exception,
and the pool stays consistent (no leaked connection, next request works)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any, Callable

import pytest

import httpduo
from tests.helpers import asleep, sleep

pytestmark = pytest.mark.anyio

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
TIMEOUTS = {"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}


async def send(
    transport: httpduo.AsyncHTTPTransport, method: str, url: str, **kwargs: Any
) -> httpduo.Response:
    extensions = kwargs.pop("extensions", {"timeout": TIMEOUTS})
    request = httpduo.Request(method, url, extensions=extensions, **kwargs)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def assert_pool_recovers(transport: httpduo.AsyncHTTPTransport, server: Any) -> None:
    """After a failure the pool holds nothing half-used and serves the next request."""
    assert all(c.is_idle() for c in transport.pool.connections)
    response = await send(transport, "GET", server.url + "/")
    assert response.status_code == 200


def answer(data: bytes) -> Callable[[Any], None]:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(data)
        conn.close()

    return script


@pytest.mark.parametrize(
    ("reply", "exception", "message"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Le", httpduo.RemoteProtocolError, "disconnected"),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly-fifty",
            httpduo.RemoteProtocolError,
            "incomplete|complete message body",
        ),
        (b"HTTTP/1.1 200 OK\r\n\r\n", httpduo.RemoteProtocolError, "Malformed response"),
        (b"HTTP/1.1 2000 OK\r\n\r\n", httpduo.RemoteProtocolError, "Malformed response"),
        (b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n", httpduo.RemoteProtocolError, "Malformed"),
        (
            b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200_000 + b"\r\n\r\n",
            httpduo.RemoteProtocolError,
            "Malformed response",
        ),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
            httpduo.RemoteProtocolError,
            "Malformed",
        ),
        (b"", httpduo.RemoteProtocolError, "disconnected without sending a response"),
    ],
    ids=[
        "cut-headers",
        "truncated-body",
        "bad-status-line",
        "bad-status-code",
        "bad-header",
        "oversized-headers",
        "conflicting-length",
        "no-response",
    ],
)
async def test_malformed_responses(
    raw_server: Any,
    server: Any,
    reply: bytes,
    exception: type[httpduo.RequestError],
    message: str,
) -> None:
    fault = raw_server(answer(reply))
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(exception, match=message) as info:
            await send(transport, "GET", fault.url + "/")
        assert info.value.request.url == fault.url + "/"
        await assert_pool_recovers(transport, server)


async def test_reset_mid_headers(raw_server: Any, server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-")
        conn.reset()

    fault = raw_server(script)
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises((httpduo.ReadError, httpduo.RemoteProtocolError)):
            await send(transport, "GET", fault.url + "/")
        await assert_pool_recovers(transport, server)


async def test_reset_mid_body(raw_server: Any, server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n" + b"x" * 1000)
        conn.sleep(0.05)
        conn.reset()

    fault = raw_server(script)
    async with httpduo.AsyncHTTPTransport() as transport:
        request = httpduo.Request("GET", fault.url + "/", extensions={"timeout": TIMEOUTS})
        response = await transport.handle_async_request(request)
        assert response.status_code == 200
        with pytest.raises((httpduo.ReadError, httpduo.RemoteProtocolError)):
            await response.aread()
        assert transport.pool.connections == []
        await assert_pool_recovers(transport, server)


async def test_slow_drip_read_timeout(raw_server: Any, server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n")
        for _ in range(10):
            conn.sleep(0.5)
            conn.send(b"x")

    fault = raw_server(script)
    timeouts = dict(TIMEOUTS, read=0.2)
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.ReadTimeout):
            await send(transport, "GET", fault.url + "/", extensions={"timeout": timeouts})
        assert transport.pool.connections == []
        await assert_pool_recovers(transport, server)


async def test_connect_timeout(never_accepts: Any, server: Any) -> None:
    timeouts = dict(TIMEOUTS, connect=0.2)
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.ConnectTimeout):
            await send(transport, "GET", never_accepts.url + "/", extensions={"timeout": timeouts})
        assert transport.pool.connections == []
        await assert_pool_recovers(transport, server)


async def test_write_timeout_when_server_never_reads(raw_server: Any, server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.sleep(3)

    fault = raw_server(script)
    timeouts = dict(TIMEOUTS, write=0.2)
    body = b"x" * (64 * 1024 * 1024)
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.WriteTimeout):
            await send(
                transport, "POST", fault.url + "/", content=body, extensions={"timeout": timeouts}
            )
        assert transport.pool.connections == []
        await assert_pool_recovers(transport, server)


async def test_early_response_before_body_is_sent(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 3\r\nConnection: close\r\n\r\nbig"
        )
        # A lingering close, as real servers do: closing with the upload unread would
        # send a reset that can destroy the response before the client reads it.
        conn.shutdown_write()
        conn.recv_until_closed()

    async def body() -> AsyncIterator[bytes]:
        for _ in range(200):
            yield b"x" * 65536

    fault = raw_server(script)
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "POST", fault.url + "/", content=body())
        assert response.status_code == 413
        assert response.content == b"big"
        assert transport.pool.connections == []


async def test_interim_responses_are_skipped(raw_server: Any) -> None:
    fault = raw_server(
        answer(
            b"HTTP/1.1 100 Continue\r\n\r\n"
            b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n" + OK
        )
    )
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "GET", fault.url + "/")
    assert response.status_code == 200
    assert response.content == b"hello"


async def test_connection_close_delimited_body(raw_server: Any) -> None:
    fault = raw_server(answer(b"HTTP/1.0 200 OK\r\n\r\n" + b"y" * 5000))
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "GET", fault.url + "/")
        assert response.content == b"y" * 5000
        assert response.http_version == "HTTP/1.0"
        assert transport.pool.connections == []


async def test_connection_close_header_is_honoured(raw_server: Any) -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(reply)
        conn.sleep(0.5)  # keep the socket open: the client must close it by itself
        conn.close()

    fault = raw_server(script)
    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", fault.url + "/")
        assert transport.pool.connections == []
        await send(transport, "GET", fault.url + "/")
    assert fault.connections == 2


async def test_server_closing_idle_keepalive_connection(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(OK)
        conn.sleep(0.05)
        conn.close()  # idle close, without a Connection: close header

    fault = raw_server(script)
    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", fault.url + "/")
        await asleep(0.3)
        # The pool notices the dead socket before using it: no error reaches the user.
        response = await send(transport, "GET", fault.url + "/")
        assert response.content == b"hello"
    assert fault.connections == 2


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_idle_close_the_event_loop_has_not_seen(
    raw_server: Any, method: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The server closes an idle connection while the client is busy: the EOF waits in
    the kernel, unseen by the event loop. A GET may learn of it by sending, and is then
    resent on a new connection; a POST, which could not be, asks the socket first.
    Either way the user sees no error."""

    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(OK)
        conn.sleep(0.05)
        conn.close()

    fault = raw_server(script)
    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", fault.url + "/")
        (connection,) = transport.pool.connections
        # Whether the backend tracks received EOFs itself (the native asyncio one does).
        assert connection._connection is not None
        tracks = connection._connection._stream.get_extra_info("readable_seen") is not None
        # The server closes meanwhile; the event loop does not run, so cannot see it.
        sleep(0.3)  # blocking: the event loop must not run
        content = b"data" if method == "POST" else None
        with caplog.at_level(logging.DEBUG, logger="httpduo.pool"):
            response = await send(transport, method, fault.url + "/", content=content)
        assert response.content == b"hello"
    retried = "retrying" in caplog.text
    assert retried == (tracks and method == "GET")
    assert fault.connections == 2


def drop_second_request() -> Callable[[Any], None]:
    """First connection answers once, then closes when the second request arrives."""
    seen = {"connections": 0}

    def script(conn: Any) -> None:
        seen["connections"] += 1
        conn.recv_request_head()
        conn.send(OK)
        if seen["connections"] == 1:
            # Read the whole second request (a POST has a body) so that closing sends a
            # clean EOF, not a reset for unread data.
            conn.recv_request()
            conn.close()
            return
        conn.close()

    return script


async def test_stale_connection_is_retried_for_idempotent_requests(raw_server: Any) -> None:
    fault = raw_server(drop_second_request())
    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", fault.url + "/")
        response = await send(transport, "GET", fault.url + "/")
        assert response.content == b"hello"
    assert fault.connections == 2


async def test_stale_connection_not_retried_for_post(raw_server: Any) -> None:
    fault = raw_server(drop_second_request())
    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", fault.url + "/")
        with pytest.raises(httpduo.RemoteProtocolError, match="disconnected"):
            await send(transport, "POST", fault.url + "/", content=b"data")
        assert transport.pool.connections == []


async def test_closing_response_early_discards_connection(server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        request = httpduo.Request("GET", server.url + "/bytes/1000000")
        response = await transport.handle_async_request(request)
        async for _ in response.aiter_raw():
            break
        await response.aclose()
        assert transport.pool.connections == []
        response = await send(transport, "GET", server.url + "/")
        assert response.content == b"Hello, world!"
