"""The facade's HTTP11Connection / HTTP2Connection over a network stream the caller
opened, as code subclassing httpcore's pool (httpx-socks) uses them.

The streams here are the test's own httpcore-interface streams over plain sockets, so the
facade drives httpduo's protocol code through its stream adapter, errors mapped both ways.
"""

from __future__ import annotations

import socket
from typing import Any, Optional

import anyio
import anyio.abc
import pytest

from httpduo._compat.httpcore import (
    URL,
    AnyIOBackend,
    AsyncHTTP2Connection,
    AsyncHTTP11Connection,
    AsyncNetworkStream,
    AutoBackend,
    ConnectError,
    HTTP2Connection,
    HTTP11Connection,
    NetworkStream,
    ReadTimeout,
    SyncBackend,
)
from tests.servers.raw import Conn


class SocketStream(NetworkStream):
    """httpcore's sync stream interface over a plain socket, as a backend would give it."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        self._sock.settimeout(timeout)
        try:
            return self._sock.recv(max_bytes)
        except socket.timeout:
            raise ReadTimeout("timed out") from None

    def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        self._sock.settimeout(timeout)
        self._sock.sendall(buffer)

    def close(self) -> None:
        self._sock.close()

    def get_extra_info(self, info: str) -> Any:
        return self._sock if info == "socket" else None


class AnyioStream(AsyncNetworkStream):
    """httpcore's async stream interface over an anyio socket stream."""

    def __init__(self, stream: anyio.abc.SocketStream) -> None:
        self._stream = stream

    async def read(self, max_bytes: int, timeout: Optional[float] = None) -> bytes:
        try:
            return await self._stream.receive(max_bytes)
        except anyio.EndOfStream:
            return b""

    async def write(self, buffer: bytes, timeout: Optional[float] = None) -> None:
        await self._stream.send(buffer)

    async def aclose(self) -> None:
        await self._stream.aclose()


def connect(url: str) -> SocketStream:
    parsed = URL(url)
    return SocketStream(socket.create_connection((parsed.host.decode(), parsed.port or 80)))


def test_http11_connection_over_a_callers_stream(server: Any) -> None:
    origin = URL(server.url).origin
    with HTTP11Connection(origin, connect(server.url), keepalive_expiry=5.0) as connection:
        assert connection.info() == "NEW"
        first = connection.request("POST", server.url + "/echo_body", content=b"over it")
        second = connection.request("GET", server.url + "/connection_id")
        assert first.content == b"over it"
        assert second.status == 200
        assert connection.is_idle()
        assert not connection.has_expired()
        with pytest.raises(RuntimeError, match="Attempted to send request"):
            connection.request("GET", "http://127.0.0.2:1/")
    assert connection.is_closed()


def test_http11_connection_maps_the_streams_timeout(raw_server: Any) -> None:
    def silent(conn: Conn) -> None:
        conn.recv_request_head()
        conn.recv_until_closed()

    srv = raw_server(silent)
    with HTTP11Connection(URL(srv.url).origin, connect(srv.url)) as connection:
        extensions = {"timeout": {"read": 0.05}}
        with pytest.raises(ReadTimeout):
            connection.request("GET", srv.url, extensions=extensions)


def test_http2_connection_over_a_callers_stream(h2c_server: Any) -> None:
    pytest.importorskip("h2")
    stream = connect(h2c_server.url)
    with HTTP2Connection(URL(h2c_server.url).origin, stream) as connection:
        response = connection.request("GET", h2c_server.url + "/request_info")
        assert response.extensions["http_version"] == b"HTTP/2"
        assert response.status == 200


@pytest.mark.anyio
async def test_async_protocol_connections_over_a_callers_stream(
    server: Any, h2c_server: Any
) -> None:
    pytest.importorskip("h2")
    url = URL(server.url)
    stream = AnyioStream(await anyio.connect_tcp(url.host.decode(), url.port or 80))
    async with AsyncHTTP11Connection(url.origin, stream) as connection:
        response = await connection.request("GET", server.url + "/json")
        assert response.status == 200
    h2url = URL(h2c_server.url)
    stream = AnyioStream(await anyio.connect_tcp(h2url.host.decode(), h2url.port or 80))
    async with AsyncHTTP2Connection(h2url.origin, stream) as connection:
        response = await connection.request("GET", h2c_server.url + "/request_info")
        assert response.extensions["http_version"] == b"HTTP/2"


def test_sync_backend_opens_streams_for_the_protocol_connections(
    server: Any, unused_port: int
) -> None:
    url = URL(server.url)
    backend = SyncBackend()
    stream = backend.connect_tcp(url.host.decode(), url.port or 80, timeout=5.0)
    assert stream.get_extra_info("server_addr") == (url.host.decode(), url.port)
    with HTTP11Connection(url.origin, stream) as connection:
        assert connection.request("GET", server.url + "/json").status == 200
    with pytest.raises(ConnectError):
        backend.connect_tcp("127.0.0.1", unused_port, timeout=5.0)


@pytest.mark.anyio
@pytest.mark.parametrize("backend_class", [AutoBackend, AnyIOBackend])
async def test_async_backends_open_streams_for_the_protocol_connections(
    server: Any, unused_port: int, backend_class: type[AutoBackend]
) -> None:
    url = URL(server.url)
    backend = backend_class()
    stream = await backend.connect_tcp(url.host.decode(), url.port or 80, timeout=5.0)
    async with AsyncHTTP11Connection(url.origin, stream) as connection:
        response = await connection.request("POST", server.url + "/echo_body", content=b"x")
        assert response.content == b"x"
    with pytest.raises(ConnectError):
        await backend.connect_tcp("127.0.0.1", unused_port, timeout=5.0)
