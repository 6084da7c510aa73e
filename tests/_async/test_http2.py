"""HTTP/2 against real servers: hypercorn over TLS (ALPN) and h2c with prior knowledge.

Multiplexing, pool stream accounting, flow control both ways, early closes, headers.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import AsyncIterator
from functools import cache
from typing import Any

import pytest

import httpduo
from tests.helpers import arun_concurrently, asleep
from tests.servers.app import iter_pattern, pattern_bytes
from tests.servers.certs import client_context
from tests.servers.h2_scripted import NGINX_LARGE_FILE, NGINX_LARGE_SIZE

pytestmark = pytest.mark.anyio

TIMEOUTS = {"connect": 10.0, "read": 10.0, "write": 10.0, "pool": 10.0}


def h2_transport(ca_cert_path: str, **kwargs: Any) -> httpduo.AsyncHTTPTransport:
    # The tests build their contexts with ALPN set, as callers may.
    context = client_context(ca_cert_path, ["h2", "http/1.1"])
    return httpduo.AsyncHTTPTransport(verify=context, http2=True, **kwargs)


def h2c_transport(**kwargs: Any) -> httpduo.AsyncHTTPTransport:
    return httpduo.AsyncHTTPTransport(http1=False, http2=True, **kwargs)


async def send(
    transport: httpduo.AsyncHTTPTransport, method: str, url: str, **kwargs: Any
) -> httpduo.Response:
    kwargs.setdefault("extensions", {"timeout": TIMEOUTS})
    request = httpduo.Request(method, url, **kwargs)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


def streams_info(transport: httpduo.AsyncHTTPTransport) -> list[str]:
    return [connection.info() for connection in transport.pool.connections]


@cache
def pattern_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for chunk in iter_pattern(size, 1024 * 1024):
        digest.update(chunk)
    return digest.hexdigest()


async def test_alpn_negotiates_http2(h2_server: Any, ca_cert_path: str) -> None:
    async with h2_transport(ca_cert_path) as transport:
        response = await send(transport, "GET", h2_server.url + "/")
        assert response.status_code == 200
        assert response.content == b"Hello, world!"
        assert response.http_version == "HTTP/2"
        assert response.extensions["http_version"] == b"HTTP/2"
        assert response.reason_phrase == "OK"
        info = json.loads((await send(transport, "GET", h2_server.url + "/request_info")).content)
        assert info["http_version"] == "2"
        assert len(transport.pool.connections) == 1


async def test_http2_not_offered_by_default(h2_server: Any, ca_cert_path: str) -> None:
    context = client_context(ca_cert_path, ["http/1.1"])
    async with httpduo.AsyncHTTPTransport(verify=context) as transport:
        response = await send(transport, "GET", h2_server.url + "/")
    assert response.http_version == "HTTP/1.1"


async def test_prior_knowledge_h2c(h2c_server: Any) -> None:
    async with h2c_transport() as transport:
        response = await send(transport, "GET", h2c_server.url + "/request_info?x=1")
        info = json.loads(response.content)
        assert response.http_version == "HTTP/2"
        assert info["http_version"] == "2"
        assert info["query_string"] == "x=1"


async def test_alpn_falls_back_to_http11(tls_server: Any, ca_cert_path: str) -> None:
    """A server without h2 in ALPN gets HTTP/1.1, also for a burst while connecting."""
    async with h2_transport(ca_cert_path) as transport:

        async def one() -> str:
            response = await send(transport, "GET", tls_server.url + "/")
            return response.http_version

        assert await arun_concurrently([one] * 10) == ["HTTP/1.1"] * 10
        assert all(c.is_idle() for c in transport.pool.connections)
        assert transport.pool.num_waiting == 0


async def test_request_headers_follow_rfc9113(h2_server: Any, ca_cert_path: str) -> None:
    headers = {
        "Host": "example.org:8443",
        "Connection": "keep-alive",
        "Keep-Alive": "timeout=5",
        "Proxy-Connection": "keep-alive",
        "Upgrade": "websocket",
        "TE": "gzip",
        "X-Mixed-Case": "Value",
    }
    async with h2_transport(ca_cert_path) as transport:
        response = await send(transport, "GET", h2_server.url + "/echo_headers", headers=headers)
    assert response.status_code == 200
    pairs = json.loads(response.content)
    names = [name for name, _ in pairs]
    # Host travelled as :authority (which the server reports as host).
    assert ["host", "example.org:8443"] in pairs
    assert ["x-mixed-case", "Value"] in pairs
    for dropped in ("connection", "keep-alive", "proxy-connection", "upgrade", "te"):
        assert dropped not in names


async def test_post_bytes_and_streaming_body(h2c_server: Any) -> None:
    async def body() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    async with h2c_transport() as transport:
        response = await send(transport, "POST", h2c_server.url + "/echo_body", content=b"abc")
        assert response.content == b"abc"
        response = await send(transport, "POST", h2c_server.url + "/echo_body", content=body())
        assert response.content == b"one two three"
        response = await send(transport, "HEAD", h2c_server.url + "/bytes/1000")
        assert response.headers["content-length"] == "1000"
        assert response.content == b""


async def test_streaming_response(h2_server: Any, ca_cert_path: str) -> None:
    async with h2_transport(ca_cert_path) as transport:
        request = httpduo.Request("GET", h2_server.url + "/stream/100000?chunk=1000")
        response = await transport.handle_async_request(request)
        received = b""
        async for chunk in response.aiter_raw():
            received += chunk
        await response.aclose()
    assert received == pattern_bytes(100000)
    assert "content-length" not in response.headers


async def test_500_concurrent_requests_share_one_connection(
    h2_server: Any, ca_cert_path: str
) -> None:
    limits = httpduo.Limits(max_connections=1)
    async with h2_transport(ca_cert_path, limits=limits) as transport:

        async def one() -> bytes:
            response = await send(transport, "GET", h2_server.url + "/connection_id")
            assert response.http_version == "HTTP/2"
            return response.content

        ids = await arun_concurrently([one] * 500)
        assert len(set(ids)) == 1
        [connection] = transport.pool.connections
        assert connection.is_idle()
        assert "Request Count: 500," in connection.info()
        assert transport.pool.num_waiting == 0


async def test_burst_opens_one_connection(h2_server: Any, ca_cert_path: str) -> None:
    """The first request's connection is still connecting when the others arrive."""
    async with h2_transport(ca_cert_path) as transport:

        async def one() -> bytes:
            response = await send(transport, "GET", h2_server.url + "/slow_body?delay=0.2")
            assert response.content == b"slow body"
            return response.content

        await arun_concurrently([one] * 40)
        assert len(transport.pool.connections) == 1
        assert streams_info(transport) == ["HTTP/2, IDLE, Request Count: 40, Streams: 0/100"]


async def test_100mb_download_integrity(h2_server: Any, ca_cert_path: str) -> None:
    size = 100 * 1000 * 1000
    async with h2_transport(ca_cert_path) as transport:
        request = httpduo.Request(
            "GET", f"{h2_server.url}/large?size={size}", extensions={"timeout": TIMEOUTS}
        )
        response = await transport.handle_async_request(request)
        digest = hashlib.sha256()
        length = 0
        async for chunk in response.aiter_raw():
            digest.update(chunk)
            length += len(chunk)
        await response.aclose()
    assert length == size
    assert digest.hexdigest() == pattern_sha256(size)


async def test_50mb_upload_with_flow_control(h2_server: Any, ca_cert_path: str) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB
    count = 800  # 50 MiB

    async def body() -> AsyncIterator[bytes]:
        for _ in range(count):
            yield chunk

    expected = hashlib.sha256()
    for _ in range(count):
        expected.update(chunk)
    async with h2_transport(ca_cert_path) as transport:
        response = await send(transport, "POST", h2_server.url + "/echo_body_hash", content=body())
    assert json.loads(response.content) == {
        "sha256": expected.hexdigest(),
        "length": len(chunk) * count,
    }


async def test_concurrent_uploads_and_downloads(h2c_server: Any) -> None:
    """Streams needing window and streams needing data share one reader and one writer."""
    upload = pattern_bytes(3 * 1024 * 1024)
    upload_hash = hashlib.sha256(upload).hexdigest()

    async def body() -> AsyncIterator[bytes]:
        for offset in range(0, len(upload), 100_000):
            yield upload[offset : offset + 100_000]

    async with h2c_transport() as transport:

        async def download() -> bool:
            response = await send(transport, "GET", h2c_server.url + "/bytes/2000000")
            return response.content == pattern_bytes(2_000_000)

        async def post() -> bool:
            response = await send(
                transport, "POST", h2c_server.url + "/echo_body_hash", content=body()
            )
            return bool(json.loads(response.content)["sha256"] == upload_hash)

        assert await arun_concurrently([download, post] * 5) == [True] * 10
        assert len(transport.pool.connections) == 1


async def test_2000_early_closes_keep_slots_exact(
    h2_server_unlimited: Any, ca_cert_path: str
) -> None:
    h2_server = h2_server_unlimited
    limits = httpduo.Limits(max_connections=1)
    async with h2_transport(ca_cert_path, limits=limits) as transport:

        async def close_after_headers() -> None:
            # The body comes after 5 s: certainly unfinished when closed.
            request = httpduo.Request(
                "GET", h2_server.url + "/slow_body?delay=5", extensions={"timeout": TIMEOUTS}
            )
            response = await transport.handle_async_request(request)
            await response.aclose()

        async def close_after_a_chunk() -> None:
            request = httpduo.Request(
                "GET", h2_server.url + "/bytes/50000", extensions={"timeout": TIMEOUTS}
            )
            response = await transport.handle_async_request(request)
            async for _ in response.aiter_raw():
                break
            await response.aclose()

        for _ in range(20):
            await arun_concurrently([close_after_headers, close_after_a_chunk] * 50)
        [connection] = transport.pool.connections
        assert connection.is_idle()
        assert connection.info() == "HTTP/2, IDLE, Request Count: 2000, Streams: 0/100"

        # Every slot came back: the server's 100 streams are all usable at once.
        # A leaked slot would make one of them queue for 0.2 s: longer than it may.
        timeouts = dict(TIMEOUTS, pool=0.15)

        async def slow() -> bytes:
            response = await send(
                transport,
                "GET",
                h2_server.url + "/slow_body?delay=0.2",
                extensions={"timeout": timeouts},
            )
            return response.content

        assert await arun_concurrently([slow] * 100) == [b"slow body"] * 100
        assert len(transport.pool.connections) == 1
        assert transport.pool.connections[0].info().endswith("Request Count: 2100, Streams: 0/100")


async def test_read_timeout_on_one_stream_keeps_connection(
    h2_server: Any, ca_cert_path: str
) -> None:
    async with h2_transport(ca_cert_path) as transport:
        first = await send(transport, "GET", h2_server.url + "/connection_id")
        timeouts = dict(TIMEOUTS, read=0.2)
        with pytest.raises(httpduo.ReadTimeout):
            await send(
                transport,
                "GET",
                h2_server.url + "/slow_headers?delay=2",
                extensions={"timeout": timeouts},
            )
        second = await send(transport, "GET", h2_server.url + "/connection_id")
        assert first.content == second.content
        assert streams_info(transport) == ["HTTP/2, IDLE, Request Count: 3, Streams: 0/100"]


async def test_keepalive_expiry_counts_from_last_stream(h2c_server: Any) -> None:
    limits = httpduo.Limits(keepalive_expiry=0.2)
    async with h2c_transport(limits=limits) as transport:
        first = await send(transport, "GET", h2c_server.url + "/connection_id")
        # Busy for longer than the expiry: the connection is not idle meanwhile.
        await send(transport, "GET", h2c_server.url + "/slow_body?delay=0.3")
        second = await send(transport, "GET", h2c_server.url + "/connection_id")
        assert first.content == second.content
        await asleep(0.4)
        third = await send(transport, "GET", h2c_server.url + "/connection_id")
        assert third.content != first.content
        assert len(transport.pool.connections) == 1


async def test_trace_reports_http2_steps(h2c_server: Any) -> None:
    events: list[str] = []

    def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async with h2c_transport() as transport:
        extensions = {"trace": trace, "timeout": TIMEOUTS}
        await send(
            transport, "POST", h2c_server.url + "/echo_body", content=b"x", extensions=extensions
        )
    assert events == [
        "connection.connect_tcp.started",
        "connection.connect_tcp.complete",
        "http2.send_connection_init.started",
        "http2.send_connection_init.complete",
        "http2.send_request_headers.started",
        "http2.send_request_headers.complete",
        "http2.send_request_body.started",
        "http2.send_request_body.complete",
        "http2.receive_response_headers.started",
        "http2.receive_response_headers.complete",
        "http2.receive_response_body.started",
        "http2.receive_response_body.complete",
        "http2.response_closed.started",
        "http2.response_closed.complete",
    ]


async def test_missing_h2_names_the_extra(
    h2c_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "h2", None)
    # Raised by the transport up front, or at the latest by the first HTTP/2 connection.
    with pytest.raises(ImportError, match=r"pip install 'httpduo\[http2\]'"):
        async with h2c_transport() as transport:
            await send(transport, "GET", h2c_server.url + "/")


# ---- nginx: an independent HTTP/2 implementation -------------------------------------


async def test_nginx_multiplexes_one_connection(nginx_h2_server: Any, ca_cert_path: str) -> None:
    # nginx allows 128 concurrent streams: the other requests wait for one.
    limits = httpduo.Limits(max_connections=1)
    async with h2_transport(ca_cert_path, limits=limits) as transport:

        async def one() -> bytes:
            response = await send(transport, "GET", nginx_h2_server.url + "/")
            assert response.http_version == "HTTP/2"
            return response.content

        assert await arun_concurrently([one] * 200) == [b"Hello, world!"] * 200
        assert streams_info(transport) == ["HTTP/2, IDLE, Request Count: 200, Streams: 0/128"]


async def test_nginx_large_download(nginx_h2_server: Any, ca_cert_path: str) -> None:
    url = f"{nginx_h2_server.url}/files/{NGINX_LARGE_FILE}"
    async with h2_transport(ca_cert_path) as transport:
        request = httpduo.Request("GET", url, extensions={"timeout": TIMEOUTS})
        response = await transport.handle_async_request(request)
        digest = hashlib.sha256()
        async for chunk in response.aiter_raw():
            digest.update(chunk)
        await response.aclose()
    assert response.headers["content-length"] == str(NGINX_LARGE_SIZE)
    assert digest.hexdigest() == pattern_sha256(NGINX_LARGE_SIZE)


async def test_nginx_upload_then_download(nginx_h2_server: Any, ca_cert_path: str) -> None:
    data = hashlib.sha256(b"nginx").digest() * (8 * 1024 * 1024 // 32)  # 8 MiB

    async def body() -> AsyncIterator[bytes]:
        for offset in range(0, len(data), 65536):
            yield data[offset : offset + 65536]

    name = f"upload-{sys.implementation.name}-{id(data)}.bin"
    url = f"{nginx_h2_server.url}/files/{name}"
    async with h2_transport(ca_cert_path) as transport:
        response = await send(
            transport,
            "PUT",
            url,
            content=body(),
            headers={"Content-Length": str(len(data))},
        )
        assert response.status_code in (201, 204)
        response = await send(transport, "GET", url)
        assert response.content == data
        assert len(transport.pool.connections) == 1


async def test_nginx_early_closes_then_normal_use(nginx_h2_server: Any, ca_cert_path: str) -> None:
    url = f"{nginx_h2_server.url}/files/{NGINX_LARGE_FILE}"
    async with h2_transport(ca_cert_path) as transport:

        async def close_early() -> None:
            request = httpduo.Request("GET", url, extensions={"timeout": TIMEOUTS})
            response = await transport.handle_async_request(request)
            async for _ in response.aiter_raw():
                break
            await response.aclose()

        for _ in range(4):
            await arun_concurrently([close_early] * 50)
        response = await send(transport, "GET", nginx_h2_server.url + "/")
        assert response.content == b"Hello, world!"
        assert streams_info(transport) == ["HTTP/2, IDLE, Request Count: 201, Streams: 0/128"]


async def test_many_streams_each_under_the_ack_batch_do_not_stall(h2c_server: Any) -> None:
    # 24 concurrent 1 MB bodies: each stream takes less than the acknowledgement batch,
    # but together they exceed the 16 MiB connection window, so the connection-wide
    # acknowledgements must flow or the downloads stall (and time out).
    async with h2c_transport() as transport:

        async def one() -> bytes:
            response = await send(transport, "GET", h2c_server.url + "/bytes/1000000")
            return response.content

        bodies = await arun_concurrently([one] * 24)
        assert all(body == pattern_bytes(1_000_000) for body in bodies)
        assert len(transport.pool.connections) == 1
