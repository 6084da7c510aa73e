"""Cancellation at every await point of a request leaves the async pool consistent.

Async only (asyncio and trio): cancelling a task has no sync counterpart; the sync
tree's equivalent, a timeout at each stage, is covered by the two-mode tests.
"""

from __future__ import annotations

import ssl
from typing import Any, Callable

import anyio
import pytest

import httpduo

pytestmark = pytest.mark.anyio

NO_TIMEOUTS: dict[str, Any] = {"connect": None, "read": None, "write": None, "pool": None}


def stall_after(reply: bytes) -> Callable[[Any], None]:
    """A raw-server script: read the request head, send `reply`, then go silent."""

    def script(conn: Any) -> None:
        conn.recv_request_head()
        if reply:
            conn.send(reply)
        conn.sleep(2)
        conn.close()

    return script


async def assert_consistent(transport: httpduo.AsyncHTTPTransport, server: Any) -> None:
    pool = transport.pool
    assert pool.num_waiting == 0
    assert all(c.is_idle() for c in pool.connections), pool.connections
    request = httpduo.Request("GET", server.url + "/")
    response = await transport.handle_async_request(request)
    await response.aread()
    assert response.content == b"Hello, world!"


async def cancelled_request(
    transport: httpduo.AsyncHTTPTransport, url: str, **kwargs: Any
) -> None:
    request = httpduo.Request("GET", url, extensions={"timeout": NO_TIMEOUTS}, **kwargs)
    with anyio.move_on_after(0.3) as scope:
        response = await transport.handle_async_request(request)
        await response.aread()
    assert scope.cancelled_caught, "the request should have been cancelled"


async def test_cancel_while_waiting_for_pool(server: Any) -> None:
    async with httpduo.AsyncHTTPTransport(limits=httpduo.Limits(max_connections=1)) as transport:
        held = await transport.handle_async_request(httpduo.Request("GET", server.url + "/"))
        await cancelled_request(transport, server.url + "/")
        assert transport.pool.num_waiting == 0
        await held.aread()
        await assert_consistent(transport, server)


async def test_cancel_while_connecting(never_accepts: Any, server: Any) -> None:
    async with httpduo.AsyncHTTPTransport(limits=httpduo.Limits(max_connections=1)) as transport:
        await cancelled_request(transport, never_accepts.url + "/")
        assert transport.pool.connections == []
        await assert_consistent(transport, server)


async def test_cancel_during_tls_handshake(raw_server: Any, server: Any) -> None:
    silent = raw_server(lambda conn: conn.sleep(2))
    url = f"https://127.0.0.1:{silent.port}/"
    async with httpduo.AsyncHTTPTransport(verify=ssl.create_default_context()) as transport:
        await cancelled_request(transport, url)
        assert transport.pool.connections == []
        await assert_consistent(transport, server)


async def test_cancel_while_sending_body(raw_server: Any, server: Any) -> None:
    fault = raw_server(stall_after(b""))
    async with httpduo.AsyncHTTPTransport(limits=httpduo.Limits(max_connections=1)) as transport:
        request = httpduo.Request(
            "POST",
            fault.url + "/",
            content=b"x" * (64 * 1024 * 1024),
            extensions={"timeout": NO_TIMEOUTS},
        )
        with anyio.move_on_after(0.3) as scope:
            await transport.handle_async_request(request)
        assert scope.cancelled_caught
        assert transport.pool.connections == []
        await assert_consistent(transport, server)


async def test_cancel_while_reading_headers(raw_server: Any, server: Any) -> None:
    fault = raw_server(stall_after(b"HTTP/1.1 200 OK\r\n"))
    async with httpduo.AsyncHTTPTransport(limits=httpduo.Limits(max_connections=1)) as transport:
        await cancelled_request(transport, fault.url + "/")
        assert transport.pool.connections == []
        await assert_consistent(transport, server)


async def test_cancel_while_reading_body(raw_server: Any, server: Any) -> None:
    fault = raw_server(stall_after(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"))
    async with httpduo.AsyncHTTPTransport(limits=httpduo.Limits(max_connections=1)) as transport:
        await cancelled_request(transport, fault.url + "/")
        assert transport.pool.connections == []
        await assert_consistent(transport, server)


async def test_many_cancellations_then_normal_use(server: Any) -> None:
    """Cancel a burst at random points; the pool must then serve everything normally."""
    limits = httpduo.Limits(max_connections=5)
    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:

        async def slow_request() -> None:
            request = httpduo.Request("GET", server.url + "/slow_body?delay=0.5")
            response = await transport.handle_async_request(request)
            await response.aread()

        for delay in (0.0, 0.001, 0.005, 0.02, 0.1):
            with anyio.move_on_after(delay):
                async with anyio.create_task_group() as group:
                    for _ in range(20):
                        group.start_soon(slow_request)
        assert transport.pool.num_waiting == 0
        assert len(transport.pool.connections) <= 5
        await assert_consistent(transport, server)
