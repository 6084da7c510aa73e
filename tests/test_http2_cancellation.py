"""Cancellation at every await point of an HTTP/2 request leaves pool and connection
consistent: the stream is given back, the connection keeps serving the other streams.

Async only (asyncio and trio), like tests/test_pool_cancellation.py.
"""

from __future__ import annotations

import json
import ssl
import threading
from collections.abc import AsyncIterator
from typing import Any

import anyio
import h2.events
import pytest
from h2.errors import ErrorCodes

import httpduo
from tests.servers.h2_scripted import H2Peer

pytestmark = pytest.mark.anyio

NO_TIMEOUTS: dict[str, Any] = {"connect": None, "read": None, "write": None, "pool": None}


def h2_transport(ca_cert_path: str, **kwargs: Any) -> httpduo.AsyncHTTPTransport:
    context = ssl.create_default_context(cafile=ca_cert_path)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return httpduo.AsyncHTTPTransport(verify=context, http2=True, **kwargs)


def h2c_transport(**kwargs: Any) -> httpduo.AsyncHTTPTransport:
    return httpduo.AsyncHTTPTransport(http1=False, http2=True, **kwargs)


async def get(transport: httpduo.AsyncHTTPTransport, url: str) -> httpduo.Response:
    response = await transport.handle_async_request(httpduo.Request("GET", url))
    await response.aread()
    return response


async def assert_consistent(transport: httpduo.AsyncHTTPTransport, url: str) -> None:
    """Nothing is held, every HTTP/2 connection has all its streams back, and it works."""
    pool = transport.pool
    assert pool.num_waiting == 0
    for connection in pool.connections:
        assert connection.is_idle(), connection
        assert "Streams: 0/" in connection.info() or "HTTP/1.1" in connection.info()
    response = await get(transport, url + "/")
    assert response.content == b"Hello, world!"
    assert response.http_version == "HTTP/2"


async def cancelled_request(transport: httpduo.AsyncHTTPTransport, url: str) -> None:
    request = httpduo.Request("GET", url, extensions={"timeout": NO_TIMEOUTS})
    with anyio.move_on_after(0.3) as scope:
        response = await transport.handle_async_request(request)
        await response.aread()
    assert scope.cancelled_caught, "the request should have been cancelled"


async def test_cancel_while_waiting_for_headers(h2_server: Any, ca_cert_path: str) -> None:
    async with h2_transport(ca_cert_path) as transport:
        first = await get(transport, h2_server.url + "/connection_id")
        async with anyio.create_task_group() as group:
            # Another stream is reading meanwhile; it must be unaffected.
            results: list[bytes] = []

            async def other() -> None:
                results.append(
                    (await get(transport, h2_server.url + "/slow_body?delay=0.5")).content
                )

            group.start_soon(other)
            await cancelled_request(transport, h2_server.url + "/slow_headers?delay=2")
        assert results == [b"slow body"]
        again = await get(transport, h2_server.url + "/connection_id")
        assert again.content == first.content
        await assert_consistent(transport, h2_server.url)


async def test_cancel_while_reading_body(h2_server: Any, ca_cert_path: str) -> None:
    async with h2_transport(ca_cert_path) as transport:
        await cancelled_request(transport, h2_server.url + "/slow_body?delay=2")
        assert len(transport.pool.connections) == 1
        await assert_consistent(transport, h2_server.url)


async def test_cancel_while_iterating_then_close(h2_server: Any, ca_cert_path: str) -> None:
    """Cancelled inside the body loop, then closed inside the cancelled scope."""
    async with h2_transport(ca_cert_path) as transport:
        request = httpduo.Request("GET", h2_server.url + "/stream/1000000?chunk=1000&delay=0.01")
        with anyio.move_on_after(0.2):
            response = await transport.handle_async_request(request)
            try:
                async for _ in response.aiter_raw():
                    pass
            finally:
                await response.aclose()
        await assert_consistent(transport, h2_server.url)
        [connection] = transport.pool.connections
        assert "Request Count: 2," in connection.info()


async def test_cancel_between_chunks_then_close(h2_server: Any, ca_cert_path: str) -> None:
    """Cancelled in user code between chunks; the close runs in the cancelled scope."""
    async with h2_transport(ca_cert_path) as transport:
        request = httpduo.Request("GET", h2_server.url + "/bytes/1000000")
        with anyio.move_on_after(0.2) as scope:
            response = await transport.handle_async_request(request)
            try:
                async for _ in response.aiter_raw():
                    await anyio.sleep(1)
            finally:
                await response.aclose()
        assert scope.cancelled_caught
        await assert_consistent(transport, h2_server.url)
        [connection] = transport.pool.connections
        assert "Request Count: 2," in connection.info()


async def test_cancel_while_waiting_for_window(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn, initial_window_size=1000, auto_ack=False)

        def handler(p: H2Peer, request: Any) -> None:
            p.respond(request.stream_id, b"Hello, world!")

        peer.serve(handler)

    fault = raw_server(script)
    async with h2c_transport() as transport:
        request = httpduo.Request(
            "POST", fault.url + "/", content=b"x" * 5000, extensions={"timeout": NO_TIMEOUTS}
        )
        with anyio.move_on_after(0.3) as scope:
            await transport.handle_async_request(request)
        assert scope.cancelled_caught
        await assert_consistent(transport, fault.url)
    assert fault.connections == 1


async def test_cancel_while_waiting_for_a_stream(h2c_server: Any) -> None:
    """All streams of the only connection are taken: the request queues in the pool."""
    limits = httpduo.Limits(max_connections=1)
    async with h2c_transport(limits=limits) as transport:
        held = [
            await transport.handle_async_request(
                httpduo.Request("GET", h2c_server.url + "/bytes/10")
            )
            for _ in range(100)
        ]
        await cancelled_request(transport, h2c_server.url + "/")
        assert transport.pool.num_waiting == 0
        for response in held:
            await response.aread()
        await assert_consistent(transport, h2c_server.url)


async def test_cancel_the_connecting_request_lets_waiters_through(raw_server: Any) -> None:
    """Requests waiting for an origin's opening connection are not stranded when the
    request that is opening it is cancelled: the next one opens its own."""

    def script(conn: Any) -> None:
        if conn.index == 0:
            conn.sleep(2)  # never sends its SETTINGS: the connect does not finish
            return
        H2Peer(conn).serve()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        results: list[bytes] = []

        async def waiting() -> None:
            results.append((await get(transport, fault.url + "/waited")).content)

        async with anyio.create_task_group() as group:
            group.start_soon(cancelled_request, transport, fault.url + "/opener")
            await anyio.sleep(0.1)
            for _ in range(3):
                group.start_soon(waiting)
            await anyio.sleep(0.1)
            assert transport.pool.num_waiting == 3
            assert len(transport.pool.connections) == 1
        assert results == [b"/waited"] * 3
        [connection] = transport.pool.connections
        assert connection.info() == "HTTP/2, IDLE, Request Count: 3, Streams: 0/100"
        assert transport.pool.num_waiting == 0
    assert fault.connections == 2


async def test_many_cancellations_then_normal_use(h2_server: Any, ca_cert_path: str) -> None:
    async with h2_transport(ca_cert_path) as transport:

        async def request(path: str) -> None:
            await get(transport, h2_server.url + path)

        async def upload() -> None:
            async def body() -> AsyncIterator[bytes]:
                for _ in range(200):
                    yield b"u" * 65536

            req = httpduo.Request("POST", h2_server.url + "/echo_body_hash", content=body())
            response = await transport.handle_async_request(req)
            await response.aread()
            assert json.loads(response.content)["length"] == 200 * 65536

        for delay in (0.0, 0.001, 0.005, 0.02, 0.05, 0.1):
            with anyio.move_on_after(delay):
                async with anyio.create_task_group() as group:
                    for _ in range(10):
                        group.start_soon(request, "/slow_body?delay=0.5")
                        group.start_soon(request, "/bytes/300000")
                    group.start_soon(upload)
        assert len(transport.pool.connections) <= 2
        await assert_consistent(transport, h2_server.url)
        # The connection still multiplexes: a burst completes on what is there.
        async with anyio.create_task_group() as group:
            for _ in range(50):
                group.start_soon(request, "/bytes/1000")
        await assert_consistent(transport, h2_server.url)


@pytest.mark.parametrize("when", ["headers", "body", "between_chunks"])
async def test_given_up_stream_is_reset_at_once(raw_server: Any, when: str) -> None:
    """A response given up by a cancellation resets its stream right away: the server
    sees RST_STREAM(CANCEL) before any other request is made (not with the next one),
    and the connection carries the requests after it."""
    seen: list[tuple[list[int], int]] = []
    reset_seen = threading.Event()

    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        [first] = peer.wait_for_requests(1)
        if when != "headers":
            peer.send_headers(first.stream_id, 200, [(b"content-length", b"100000")])
            peer.send_data(first.stream_id, b"x" * 1000)  # the rest never comes
        peer.wait_for(lambda: first.reset or len(peer.requests) > 1)
        codes = [
            event.error_code
            for event in peer.events
            if isinstance(event, h2.events.StreamReset) and event.stream_id == first.stream_id
        ]
        seen.append((codes, len(peer.requests)))
        reset_seen.set()

        def hello(p: H2Peer, request: Any) -> None:
            if not request.reset:
                p.respond(request.stream_id, b"Hello, world!")

        peer.serve(hello)

    fault = raw_server(script)
    async with h2c_transport() as transport:
        request = httpduo.Request("GET", fault.url + "/", extensions={"timeout": NO_TIMEOUTS})
        with anyio.move_on_after(0.3) as scope:
            response = await transport.handle_async_request(request)
            try:
                async for _ in response.aiter_raw():
                    if when == "between_chunks":
                        await anyio.sleep(5)
            finally:
                await response.aclose()  # in the cancelled scope
        assert scope.cancelled_caught
        # Nothing else is sent meanwhile: only the reset itself can reach the server.
        assert await anyio.to_thread.run_sync(reset_seen.wait, 5.0)
        assert seen == [([ErrorCodes.CANCEL], 1)]
        await assert_consistent(transport, fault.url)
    assert fault.connections == 1
