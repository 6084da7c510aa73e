"""The real transport (pool, HTTP/1.1, HTTP/2, TLS) over AsyncioBackend, against the
real test servers: what a user of `httpduo.AsyncClient` on asyncio will run on."""

from __future__ import annotations

import hashlib
import json
import ssl
from collections.abc import AsyncIterator
from typing import Any, List

import anyio
import pytest
from tests.missing import import_or_missing
from tests.servers.app import pattern_bytes
from tests.servers.raw import close_idle_keepalive, never_reads, reset_mid_body, slow_drip

import httpduo
from httpduo._backends.asyncio import AsyncioBackend, AsyncioStream

pytestmark = [pytest.mark.anyio, pytest.mark.network]

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def native(**kwargs: Any) -> httpduo.AsyncHTTPTransport:
    return httpduo.AsyncHTTPTransport(network_backend=AsyncioBackend(), **kwargs)


async def send(
    transport: httpduo.AsyncHTTPTransport, method: str, url: str, **kwargs: Any
) -> httpduo.Response:
    extensions = kwargs.pop("extensions", {"timeout": TIMEOUTS})
    request = httpduo.Request(method, url, extensions=extensions, **kwargs)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_get_post_and_keepalive(server: Any) -> None:
    async with native() as transport:
        response = await send(transport, "GET", server.url + "/")
        assert response.status_code == 200
        assert response.content == b"Hello, world!"
        assert isinstance(response.extensions["network_stream"], AsyncioStream)
        response = await send(transport, "POST", server.url + "/echo_body", content=b"abc")
        assert response.content == b"abc"
        first = await send(transport, "GET", server.url + "/connection_id")
        second = await send(transport, "GET", server.url + "/connection_id")
        assert first.content == second.content
        assert len(transport.pool.connections) == 1


async def test_streaming_upload(server: Any) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def body() -> AsyncIterator[bytes]:
        for _ in range(128):  # 8 MiB
            yield chunk

    async with native() as transport:
        response = await send(transport, "POST", server.url + "/echo_body_hash", content=body())
    expected = hashlib.sha256(chunk * 128).hexdigest()
    assert json.loads(response.content) == {"sha256": expected, "length": len(chunk) * 128}


async def test_large_download_is_intact(server: Any) -> None:
    size = 32 * 1024 * 1024
    async with native() as transport:
        request = httpduo.Request(
            "GET", f"{server.url}/large?size={size}", extensions={"timeout": TIMEOUTS}
        )
        response = await transport.handle_async_request(request)
        digest = hashlib.sha256()
        received = 0
        async for chunk in response.aiter_raw():
            digest.update(chunk)
            received += len(chunk)
        await response.aclose()
    assert received == size
    assert digest.hexdigest() == hashlib.sha256(pattern_bytes(size)).hexdigest()


async def test_concurrent_requests_share_a_bounded_pool(server: Any) -> None:
    limits = httpduo.Limits(max_connections=10, max_keepalive_connections=10)
    statuses: List[int] = []
    async with native(limits=limits) as transport:

        async def worker() -> None:
            for _ in range(20):
                response = await send(transport, "GET", server.url + "/")
                statuses.append(response.status_code)

        async with anyio.create_task_group() as tg:
            for _ in range(25):
                tg.start_soon(worker)
        assert 0 < len(transport.pool.connections) <= 10
    assert statuses == [200] * 500


async def test_client_over_the_native_backend(server: Any) -> None:
    async with httpduo.AsyncClient(transport=native()) as client:
        response = await client.get(server.url + "/json")
        assert response.json() == {"Hello": "world!"}
        response = await client.post(server.url + "/echo_body", content=b"x" * 100_000)
        assert response.content == b"x" * 100_000


async def test_tls(tls_server: Any, ca_cert_path: str) -> None:
    context = ssl.create_default_context(cafile=ca_cert_path)
    async with native(verify=context) as transport:
        response = await send(transport, "GET", tls_server.url + "/")
        assert response.content == b"Hello, world!"
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object") is not None
        response = await send(transport, "GET", tls_server.url + "/bytes/3000000")
        assert response.content == pattern_bytes(3_000_000)


async def test_tls_verification_failure_is_connect_error(tls_server: Any) -> None:
    async with native() as transport:
        with pytest.raises(httpduo.ConnectError, match="certificate verify failed"):
            await send(transport, "GET", tls_server.url + "/")
        assert transport.pool.connections == []


async def test_http2_multiplexes_over_the_native_stream(h2_server: Any, ca_cert_path: str) -> None:
    import_or_missing("h2")
    context = ssl.create_default_context(cafile=ca_cert_path)
    context.set_alpn_protocols(["h2", "http/1.1"])
    bodies: List[bytes] = []
    async with native(verify=context, http2=True) as transport:

        async def fetch(size: int) -> None:
            response = await send(transport, "GET", f"{h2_server.url}/bytes/{size}")
            assert response.http_version == "HTTP/2"
            bodies.append(response.content)

        async with anyio.create_task_group() as tg:
            for size in range(100_000, 110_000, 1000):
                tg.start_soon(fetch, size)
        assert len(transport.pool.connections) == 1
    assert sorted(len(body) for body in bodies) == list(range(100_000, 110_000, 1000))


async def test_unix_socket(uds_server: Any) -> None:
    async with native(uds=uds_server.uds) as transport:
        response = await send(transport, "GET", uds_server.url + "/")
    assert response.content == b"Hello, world!"


# --- faults ------------------------------------------------------------------------------


async def test_reset_mid_body(raw_server: Any, server: Any) -> None:
    fault = raw_server(reset_mid_body)
    async with native() as transport:
        with pytest.raises((httpduo.ReadError, httpduo.RemoteProtocolError)):
            await send(transport, "GET", fault.url + "/")
        assert transport.pool.connections == []
        assert (await send(transport, "GET", server.url + "/")).status_code == 200


async def test_read_timeout(raw_server: Any) -> None:
    fault = raw_server(slow_drip)
    timeouts = dict(TIMEOUTS, read=0.2)
    async with native() as transport:
        with pytest.raises(httpduo.ReadTimeout):
            await send(transport, "GET", fault.url + "/", extensions={"timeout": timeouts})
        assert transport.pool.connections == []


async def test_write_timeout(raw_server: Any) -> None:
    fault = raw_server(never_reads)
    timeouts = dict(TIMEOUTS, write=0.2)
    async with native() as transport:
        with pytest.raises(httpduo.WriteTimeout):
            await send(
                transport,
                "POST",
                fault.url + "/",
                content=b"x" * (64 * 1024 * 1024),
                extensions={"timeout": timeouts},
            )
        assert transport.pool.connections == []


async def test_connect_timeout(never_accepts: Any) -> None:
    timeouts = dict(TIMEOUTS, connect=0.2)
    async with native() as transport:
        with pytest.raises(httpduo.ConnectTimeout):
            await send(transport, "GET", never_accepts.url + "/", extensions={"timeout": timeouts})


async def test_server_closing_an_idle_connection_is_noticed(raw_server: Any) -> None:
    fault = raw_server(close_idle_keepalive)
    async with native() as transport:
        await send(transport, "GET", fault.url + "/")
        await anyio.sleep(0.6)  # the server closes after 0.3 s of idleness
        # The pool sees the dead socket (is_readable) and opens a new connection.
        response = await send(transport, "GET", fault.url + "/")
        assert response.content == b"Hello, world!"
    assert fault.connections == 2
