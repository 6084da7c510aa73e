"""Connection pool behaviour against a real server: limits, fairness, reuse, load."""

from __future__ import annotations

import json
from typing import Any

import pytest

import httpduo
from tests.helpers import arun_concurrently

pytestmark = pytest.mark.anyio


async def send(
    transport: httpduo.AsyncHTTPTransport, method: str, url: str, **kwargs: Any
) -> httpduo.Response:
    request = httpduo.Request(method, url, **kwargs)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_pool_timeout_when_all_connections_busy(server: Any) -> None:
    limits = httpduo.Limits(max_connections=1)
    timeouts = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 0.2}
    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:
        held = await transport.handle_async_request(
            httpduo.Request("GET", server.url + "/bytes/10")
        )
        with pytest.raises(httpduo.PoolTimeout):
            await send(transport, "GET", server.url + "/", extensions={"timeout": timeouts})
        assert transport.pool.num_waiting == 0
        await held.aread()
        # The slot came back: the next request gets the same connection.
        response = await send(transport, "GET", server.url + "/", extensions={"timeout": timeouts})
        assert response.status_code == 200
        assert len(transport.pool.connections) == 1


async def test_waiter_gets_released_connection(server: Any) -> None:
    limits = httpduo.Limits(max_connections=1)
    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:
        held = await transport.handle_async_request(
            httpduo.Request("GET", server.url + "/connection_id")
        )

        async def waiting_request() -> bytes:
            response = await send(transport, "GET", server.url + "/connection_id")
            return response.content

        async def release_later() -> bytes:
            await held.aread()
            return held.content

        # Whatever the interleaving, both used the one connection the pool may open.
        contents = await arun_concurrently([waiting_request, release_later])
        assert contents[0] == contents[1]


async def test_many_concurrent_requests_within_limits(server: Any) -> None:
    limits = httpduo.Limits(max_connections=100, max_keepalive_connections=100)
    seen_connections: set[str] = set()

    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:

        async def one() -> int:
            response = await send(transport, "GET", server.url + "/connection_id")
            seen_connections.add(response.text)
            assert len(transport.pool.connections) <= 100
            return response.status_code

        statuses = await arun_concurrently([one] * 1000)
        assert statuses == [200] * 1000
        assert len(seen_connections) <= 100
        assert all(c.is_idle() for c in transport.pool.connections)
        assert transport.pool.num_waiting == 0


async def test_max_keepalive_connections_bounds_idle_pool(server: Any) -> None:
    limits = httpduo.Limits(max_connections=10, max_keepalive_connections=2)
    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:
        held = [
            await transport.handle_async_request(httpduo.Request("GET", server.url + "/"))
            for _ in range(5)
        ]
        assert len(transport.pool.connections) == 5
        for response in held:
            await response.aread()
        assert len(transport.pool.connections) == 2


async def test_full_pool_evicts_idle_connection_of_other_origin(
    server: Any, server_short_keepalive: Any
) -> None:
    limits = httpduo.Limits(max_connections=1)
    timeouts = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 1.0}
    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:
        await send(transport, "GET", server.url + "/", extensions={"timeout": timeouts})
        response = await send(
            transport, "GET", server_short_keepalive.url + "/", extensions={"timeout": timeouts}
        )
        assert response.status_code == 200
        [connection] = transport.pool.connections
        assert connection.origin[2] == server_short_keepalive.port


async def test_connections_per_origin_are_separate(
    server: Any, server_short_keepalive: Any
) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        for url in (server.url, server_short_keepalive.url, server.url):
            response = await send(transport, "GET", url + "/echo_headers")
            headers = {k.lower(): v for k, v in json.loads(response.content)}
            assert headers["host"] == url.split("://")[1]
        assert len(transport.pool.connections) == 2
