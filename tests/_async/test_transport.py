"""AsyncHTTPTransport against real servers on 127.0.0.1: plain, TLS, Unix socket, IPv6."""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

import pytest

import httpduo
from tests.helpers import asleep
from tests.servers.raw import Conn

pytestmark = pytest.mark.anyio


async def send(
    transport: httpduo.AsyncHTTPTransport, method: str, url: str, **kwargs: Any
) -> httpduo.Response:
    """Send one request through the transport and read the whole response."""
    request = httpduo.Request(method, url, **kwargs)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_get(server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "GET", server.url + "/")
    assert response.status_code == 200
    assert response.content == b"Hello, world!"
    assert response.http_version == "HTTP/1.1"
    assert response.reason_phrase == "OK"
    assert response.headers["content-type"].startswith("text/plain")


async def test_post_bytes_and_streaming_body(server: Any) -> None:
    async def body() -> AsyncIterator[bytes]:
        for part in (b"one ", b"two ", b"three"):
            yield part

    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "POST", server.url + "/echo_body", content=b"abc")
        assert response.content == b"abc"
        response = await send(transport, "POST", server.url + "/echo_body", content=body())
        assert response.content == b"one two three"


async def test_large_upload_is_streamed_intact(server: Any) -> None:
    chunk = bytes(range(256)) * 256  # 64 KiB

    async def body() -> AsyncIterator[bytes]:
        for _ in range(80):  # 5 MiB
            yield chunk

    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "POST", server.url + "/echo_body_hash", content=body())
    info = json.loads(response.content)
    assert info["length"] == len(chunk) * 80


async def test_keepalive_connection_is_reused(server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        first = await send(transport, "GET", server.url + "/connection_id")
        second = await send(transport, "GET", server.url + "/connection_id")
        assert first.content == second.content
        assert len(transport.pool.connections) == 1


async def test_head_and_no_content(server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "HEAD", server.url + "/bytes/1000")
        assert response.status_code == 200
        assert response.headers["content-length"] == "1000"
        assert response.content == b""
        response = await send(transport, "GET", server.url + "/status/204")
        assert response.status_code == 204
        assert response.content == b""
        # The connection survived both bodiless responses.
        response = await send(transport, "GET", server.url + "/")
        assert response.content == b"Hello, world!"
        assert len(transport.pool.connections) == 1


async def test_chunked_response(server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "GET", server.url + "/stream/100000?chunk=1000")
    assert len(response.content) == 100000
    assert "content-length" not in response.headers


async def test_network_stream_after_101_starts_with_what_came_with_the_head(
    raw_server: Any,
) -> None:
    def upgrade(conn: Conn) -> None:
        conn.recv_request_head()
        # One segment: the 101 head and the new protocol's first bytes together.
        conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\n\r\nHELLO")
        conn.send(conn.recv_body(4).upper())
        conn.close()

    server = raw_server(upgrade)
    async with httpduo.AsyncHTTPTransport() as transport:
        request = httpduo.Request(
            "GET", server.url, headers={"Connection": "Upgrade", "Upgrade": "echo"}
        )
        response = await transport.handle_async_request(request)
        assert response.status_code == 101
        stream = response.extensions["network_stream"]
        assert await stream.read(3) == b"HEL"
        assert await stream.read(100) == b"LO"
        await stream.write(b"ping")
        assert await stream.read(100) == b"PING"
        await response.aclose()


async def test_tls_with_custom_ca(tls_server: Any, ca_cert_path: str) -> None:
    context = ssl.create_default_context(cafile=ca_cert_path)
    async with httpduo.AsyncHTTPTransport(verify=context) as transport:
        response = await send(transport, "GET", tls_server.url + "/")
        assert response.content == b"Hello, world!"
        stream = response.extensions["network_stream"]
        assert stream.get_extra_info("ssl_object") is not None


async def test_tls_verification_failure_is_connect_error(tls_server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.ConnectError, match="certificate verify failed"):
            await send(transport, "GET", tls_server.url + "/")
        assert transport.pool.connections == []


async def test_tls_verify_false(tls_server: Any) -> None:
    async with httpduo.AsyncHTTPTransport(verify=False) as transport:
        response = await send(transport, "GET", tls_server.url + "/")
    assert response.status_code == 200


async def test_tls_ip_address_host_checks_ip_san(tls_server: Any, ca_cert_path: str) -> None:
    context = ssl.create_default_context(cafile=ca_cert_path)
    url = tls_server.url.replace("localhost", "127.0.0.1")
    async with httpduo.AsyncHTTPTransport(verify=context) as transport:
        response = await send(transport, "GET", url + "/")
    assert response.status_code == 200


async def test_sni_hostname_extension(tls_server: Any, ca_cert_path: str) -> None:
    context = ssl.create_default_context(cafile=ca_cert_path)
    url = f"https://127.0.0.1:{tls_server.port}/"
    async with httpduo.AsyncHTTPTransport(verify=context) as transport:
        # Certificate names "localhost": SNI (and so hostname checking) uses the extension.
        response = await send(transport, "GET", url, extensions={"sni_hostname": "localhost"})
    assert response.status_code == 200


async def test_unix_socket(uds_server: Any) -> None:
    async with httpduo.AsyncHTTPTransport(uds=uds_server.uds) as transport:
        response = await send(transport, "GET", "http://localhost/")
    assert response.content == b"Hello, world!"


async def test_ipv6(ipv6_server: Any) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "GET", ipv6_server.url + "/")
    assert response.content == b"Hello, world!"


def _loopback_index() -> int:
    import socket

    for name in ("lo", "lo0"):
        try:
            return socket.if_nametoindex(name)
        except OSError:
            continue
    pytest.skip("no loopback interface named lo or lo0")


async def test_ipv6_with_a_zone_id(ipv6_server: Any) -> None:
    # RFC 6874 writes the zone as "%25<zone>" in a URL; the resolver wants "%<zone>".
    # (glibc takes a zone on ::1 only as an interface index, not a name.)
    port = httpduo.URL(ipv6_server.url).port
    url = f"http://[::1%25{_loopback_index()}]:{port}/"
    async with httpduo.AsyncHTTPTransport() as transport:
        response = await send(transport, "GET", url)
    assert response.content == b"Hello, world!"


async def test_unsupported_scheme_and_missing_host() -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.UnsupportedProtocol, match="ftp://"):
            await send(transport, "GET", "ftp://127.0.0.1/")
        with pytest.raises(httpduo.UnsupportedProtocol, match="missing an 'http://'"):
            await send(transport, "GET", "/relative/path")


async def test_trace_extension_reports_each_step(server: Any) -> None:
    events: list[str] = []

    def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", server.url + "/", extensions={"trace": trace})
    assert events == [
        "connection.connect_tcp.started",
        "connection.connect_tcp.complete",
        "http11.send_request_headers.started",
        "http11.send_request_headers.complete",
        "http11.send_request_body.started",
        "http11.send_request_body.complete",
        "http11.receive_response_headers.started",
        "http11.receive_response_headers.complete",
        "http11.receive_response_body.started",
        "http11.receive_response_body.complete",
        "http11.response_closed.started",
        "http11.response_closed.complete",
    ]


async def test_trace_reports_failures(never_accepts: Any) -> None:
    events: list[str] = []

    def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    extensions = {"trace": trace, "timeout": {"connect": 0.2, "read": 1, "write": 1, "pool": 1}}
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.ConnectTimeout):
            await send(transport, "GET", never_accepts.url + "/", extensions=extensions)
    assert events == ["connection.connect_tcp.started", "connection.connect_tcp.failed"]


async def test_connect_refused_is_connect_error_and_retries(unused_port: int) -> None:
    events: list[str] = []

    def trace(name: str, info: dict[str, Any]) -> None:
        events.append(name)

    async with httpduo.AsyncHTTPTransport(retries=2) as transport:
        with pytest.raises(httpduo.ConnectError) as info:
            await send(
                transport, "GET", f"http://127.0.0.1:{unused_port}/", extensions={"trace": trace}
            )
        assert transport.pool.connections == []
    assert info.value.request.url == f"http://127.0.0.1:{unused_port}/"
    assert events.count("connection.connect_tcp.failed") == 3
    assert events.count("connection.retry.started") == 2


async def test_transport_can_be_used_after_errors(server: Any, unused_port: int) -> None:
    async with httpduo.AsyncHTTPTransport() as transport:
        with pytest.raises(httpduo.ConnectError):
            await send(transport, "GET", f"http://127.0.0.1:{unused_port}/")
        response = await send(transport, "GET", server.url + "/")
        assert response.status_code == 200


async def test_keepalive_expiry(server: Any) -> None:
    limits = httpduo.Limits(keepalive_expiry=0.1)
    async with httpduo.AsyncHTTPTransport(limits=limits) as transport:
        first = await send(transport, "GET", server.url + "/connection_id")
        await asleep(0.3)
        second = await send(transport, "GET", server.url + "/connection_id")
        assert first.content != second.content
        assert len(transport.pool.connections) == 1


async def test_closed_transport_refuses_requests(server: Any) -> None:
    transport = httpduo.AsyncHTTPTransport()
    await transport.aclose()
    with pytest.raises(RuntimeError, match="closed"):
        await send(transport, "GET", server.url + "/")


async def test_local_address_and_socket_options(server: Any) -> None:
    import socket

    options = [(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)]
    async with httpduo.AsyncHTTPTransport(
        local_address="127.0.0.1", socket_options=options
    ) as transport:
        response = await send(transport, "GET", server.url + "/connection_id")
        client_host, _ = json.loads(response.content)["client"]
        assert client_host == "127.0.0.1"
        sock = response.extensions["network_stream"].get_extra_info("socket")
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1


async def test_debug_logs_name_each_step(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG, logger="httpduo")
    async with httpduo.AsyncHTTPTransport() as transport:
        await send(transport, "GET", server.url + "/")
    messages = [record.getMessage() for record in caplog.records]
    assert any(m.startswith("connection.connect_tcp.started host='127.0.0.1'") for m in messages)
    assert "http11.receive_response_body.complete" in messages
    loggers = {record.name for record in caplog.records}
    assert loggers == {"httpduo.connection", "httpduo.http11"}


async def test_own_ssl_context_gets_h2_offered_when_http2_is_asked(
    h2_server: Any, ca_cert_path: str
) -> None:
    context = ssl.create_default_context(cafile=ca_cert_path)
    async with httpduo.AsyncHTTPTransport(verify=context, http2=True) as transport:
        response = await send(transport, "GET", h2_server.url + "/")
    assert response.http_version == "HTTP/2"
    # Without http2=True the same kind of context stays HTTP/1.1.
    plain = ssl.create_default_context(cafile=ca_cert_path)
    async with httpduo.AsyncHTTPTransport(verify=plain) as transport:
        response = await send(transport, "GET", h2_server.url + "/")
    assert response.http_version == "HTTP/1.1"
