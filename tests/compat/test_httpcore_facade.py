"""The httpcore facade: httpduo's transports routed through httpcore-shaped pools.

Real servers throughout (uvicorn, scripted raw sockets, squid, microsocks); a "mocked"
request is aimed at a port nothing listens on, so reaching a socket would fail it.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any
from unittest import mock

import pytest

import httpduo
from httpduo._compat.httpcore import (
    URL,
    AsyncConnectionPool,
    AsyncHTTPProxy,
    AsyncNetworkStream,
    ConnectionPool,
    HTTPConnection,
    HTTPProxy,
    NetworkStream,
    Origin,
    Request,
    Response,
    SOCKSProxy,
    _routing,
)
from httpduo._compat.httpcore import _exceptions as core_exc
from tests.servers.raw import Conn

ORIGINAL_SYNC = httpduo.HTTPTransport.handle_request
ORIGINAL_ASYNC = httpduo.AsyncHTTPTransport.handle_async_request


def pool_of(client: Any) -> Any:
    """The transport's `_pool`: the facade pool while the facade is active."""
    return client._transport._pool


@pytest.fixture
def facade() -> Iterator[None]:
    _routing.activate()
    try:
        yield
    finally:
        _routing.deactivate()


# ---- inactive: nothing changes -----------------------------------------------------------


def test_import_httpduo_loads_neither_httpx_httpcore_nor_the_facade() -> None:
    code = (
        "import sys, httpduo\n"
        "httpduo.Client()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('httpx', 'httpcore')"
        " or m.startswith('httpduo._compat')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_the_facade_loads_no_async_machinery_until_used() -> None:
    code = (
        "import sys\n"
        "from httpduo._compat.httpcore import _routing\n"
        "_routing.activate()\n"
        "print([m for m in ('anyio', 'trio', 'h2') if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == "[]"


def test_deactivate_restores_the_transport_classes() -> None:
    _routing.activate()
    _routing.activate()  # idempotent
    assert httpduo.HTTPTransport.handle_request is not ORIGINAL_SYNC
    _routing.deactivate()
    assert httpduo.HTTPTransport.handle_request is ORIGINAL_SYNC
    assert httpduo.AsyncHTTPTransport.handle_async_request is ORIGINAL_ASYNC
    assert "_pool" not in vars(httpduo.HTTPTransport)
    assert "_pool" not in vars(httpduo.AsyncHTTPTransport)
    assert not _routing.is_active()


def test_deactivate_leaves_a_later_wrapper_in_place() -> None:
    _routing.activate()
    routed = httpduo.HTTPTransport.handle_request

    def instrumented(self: Any, request: httpduo.Request) -> httpduo.Response:
        return routed(self, request)

    httpduo.HTTPTransport.handle_request = instrumented  # type: ignore[method-assign]
    try:
        _routing.deactivate()
        assert httpduo.HTTPTransport.handle_request is instrumented
        assert "_pool" not in vars(httpduo.HTTPTransport)
    finally:
        httpduo.HTTPTransport.handle_request = ORIGINAL_SYNC  # type: ignore[method-assign]


# ---- pass-through ------------------------------------------------------------------------


def test_requests_go_through_the_facade_pool(facade: None, server: Any) -> None:
    calls = []
    original = ConnectionPool.handle_request

    def spy(self: ConnectionPool, request: Request) -> Response:
        calls.append((request.method, request.url.scheme, request.url.host, request.url.target))
        return original(self, request)

    with mock.patch.object(ConnectionPool, "handle_request", spy), httpduo.Client() as client:
        response = client.post(server.url + "/echo_body?x=1", content=b"payload")
        assert type(pool_of(client)).__name__ == "ConnectionPool"
    assert response.status_code == 200
    assert response.content == b"payload"
    assert calls == [(b"POST", b"http", b"127.0.0.1", b"/echo_body?x=1")]


def test_streamed_body_and_pool_reuse(facade: None, server: Any) -> None:
    with httpduo.Client() as client:
        with client.stream("GET", server.url + "/large") as response:
            size = sum(len(chunk) for chunk in response.iter_bytes())
        first = client.get(server.url + "/connection_id").text
        second = client.get(server.url + "/connection_id").text
        pool = pool_of(client)
    assert size > 0
    assert first == second  # the connection went back to httpduo's pool
    assert isinstance(pool, ConnectionPool)
    assert len(pool._httpduo_pool.connections) == 0  # closed with the client


def test_pool_requests_lists_what_is_in_flight(
    facade: None, server: Any, unused_port: int
) -> None:
    # httpcore's `_requests`: OpenAI's suite asserts it is empty after retries (no leak).
    with httpduo.Client() as client:
        requests = pool_of(client)._requests
        with client.stream("GET", server.url + "/bytes/100000") as response:
            assert [request.method for request in requests] == [b"GET"]
            for _ in response.iter_bytes(chunk_size=10):
                break
        assert requests == []  # closed mid-body
        client.get(server.url + "/json")
        assert requests == []  # read whole
        with pytest.raises(httpduo.ConnectError):
            client.get(f"http://127.0.0.1:{unused_port}/")
        assert requests == []  # failed


@pytest.mark.anyio
async def test_async_pool_requests_lists_what_is_in_flight(facade: None, server: Any) -> None:
    async with httpduo.AsyncClient() as client:
        requests = pool_of(client)._requests
        async with client.stream("GET", server.url + "/bytes/100000") as response:
            assert len(requests) == 1
            await response.aread()
        assert requests == []


@pytest.mark.anyio
async def test_async_requests_go_through_the_facade_pool(facade: None, server: Any) -> None:
    calls = []
    original = AsyncConnectionPool.handle_async_request

    async def spy(self: AsyncConnectionPool, request: Request) -> Response:
        calls.append(request.method)
        return await original(self, request)

    with mock.patch.object(AsyncConnectionPool, "handle_async_request", spy):
        async with httpduo.AsyncClient() as client:
            response = await client.get(server.url + "/json")
            assert type(pool_of(client)).__name__ == "AsyncConnectionPool"
    assert response.json() == {"Hello": "world!"}
    assert calls == [b"GET"]


def test_transport_created_before_activation_routes_too(server: Any) -> None:
    client = httpduo.Client()
    real_pool = pool_of(client)
    _routing.activate()
    try:
        with mock.patch.object(
            ConnectionPool, "handle_request", return_value=Response(200, content=b"facade")
        ):
            assert client.get(server.url).content == b"facade"
        assert pool_of(client)._httpduo_pool is real_pool
    finally:
        _routing.deactivate()
    assert pool_of(client) is real_pool
    assert client.get(server.url).status_code == 200
    client.close()


def test_a_transport_method_saved_before_activation_still_sends(server: Any) -> None:
    saved = httpduo.HTTPTransport.handle_request
    _routing.activate()
    try:
        with httpduo.HTTPTransport() as transport:
            assert isinstance(transport._pool, ConnectionPool)
            response = saved(transport, httpduo.Request("GET", server.url + "/json"))
            response.read()
            assert response.json() == {"Hello": "world!"}
    finally:
        _routing.deactivate()


# ---- interception: no socket -------------------------------------------------------------


def test_mocked_request_reaches_no_socket(facade: None, unused_port: int) -> None:
    seen = []

    def mocked(self: ConnectionPool, request: Request) -> Response:
        seen.append(bytes(request.url))
        return Response(201, headers=[(b"X-Mock", b"1")], content=b"mocked")

    with mock.patch.object(ConnectionPool, "handle_request", mocked), httpduo.Client() as client:
        response = client.get(f"http://127.0.0.1:{unused_port}/path?q=1")
        assert pool_of(client).connections == []
    assert (response.status_code, response.headers["x-mock"], response.text) == (
        201,
        "1",
        "mocked",
    )
    assert seen == [f"http://127.0.0.1:{unused_port}/path?q=1".encode()]


@pytest.mark.anyio
async def test_async_mocked_request_reaches_no_socket(facade: None, unused_port: int) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b"moc"
        yield b"ked"

    async def mocked(self: AsyncConnectionPool, request: Request) -> Response:
        return Response(200, content=chunks())

    with mock.patch.object(AsyncConnectionPool, "handle_async_request", mocked):
        async with httpduo.AsyncClient() as client:
            response = await client.get(f"http://127.0.0.1:{unused_port}/")
            assert pool_of(client).connections == []
    assert response.text == "mocked"


# ---- exceptions, both ways ---------------------------------------------------------------


def test_connect_error_maps_both_ways(facade: None, unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}/"
    with ConnectionPool() as pool, pytest.raises(core_exc.ConnectError) as core_info:
        pool.request("GET", url)
    assert not isinstance(core_info.value, httpduo.HTTPError)
    assert isinstance(core_info.value.__cause__, httpduo.ConnectError)
    with httpduo.Client() as client, pytest.raises(httpduo.ConnectError) as info:
        client.get(url)
    assert info.value.request.url == url
    assert isinstance(info.value.__cause__, core_exc.ConnectError)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (core_exc.ReadTimeout("slow"), httpduo.ReadTimeout),
        (core_exc.PoolTimeout("full"), httpduo.PoolTimeout),
        (core_exc.RemoteProtocolError("bad"), httpduo.RemoteProtocolError),
        (core_exc.ProxyError("no"), httpduo.ProxyError),
        (core_exc.UnsupportedProtocol("ftp"), httpduo.UnsupportedProtocol),
        (core_exc.NetworkError("net"), httpduo.NetworkError),
    ],
)
def test_core_exceptions_become_httpduo_ones(
    facade: None, unused_port: int, raised: Exception, expected: type[Exception]
) -> None:
    patched = mock.patch.object(ConnectionPool, "handle_request", side_effect=raised)
    with patched, httpduo.Client() as client, pytest.raises(expected, match=str(raised)) as info:
        client.get(f"http://127.0.0.1:{unused_port}/")
    assert type(info.value) is expected
    assert info.value.request.method == "GET"  # type: ignore[attr-defined]


def test_error_reading_a_mocked_body_is_mapped(facade: None, unused_port: int) -> None:
    def broken() -> Iterator[bytes]:
        yield b"part"
        raise core_exc.ReadError("connection reset")

    with (
        mock.patch.object(
            ConnectionPool, "handle_request", return_value=Response(200, content=broken())
        ),
        httpduo.Client() as client,
        pytest.raises(httpduo.ReadError, match="connection reset"),
    ):
        client.get(f"http://127.0.0.1:{unused_port}/")


def test_user_exceptions_pass_unwrapped(facade: None, unused_port: int) -> None:
    class Boom(Exception):
        pass

    patched = mock.patch.object(ConnectionPool, "handle_request", side_effect=Boom("x"))
    with patched, httpduo.Client() as client, pytest.raises(Boom):
        client.get(f"http://127.0.0.1:{unused_port}/")


# ---- the facade pool used directly -------------------------------------------------------


def test_facade_pool_request_and_models(server: Any) -> None:
    with ConnectionPool(max_connections=2) as pool:
        response = pool.request("POST", server.url + "/echo_body", content=b"abc")
        assert response.status == 200
        assert response.content == b"abc"
        assert (b"content-length", b"3") in [(k.lower(), v) for k, v in response.headers]
        with pool.stream("GET", server.url + "/large") as streamed:
            assert sum(len(c) for c in streamed.iter_stream()) > 0
    url = URL(server.url + "/a?b=1")
    assert (url.scheme, url.host, url.target) == (b"http", b"127.0.0.1", b"/a?b=1")
    assert url.origin == Origin(b"http", b"127.0.0.1", url.port or 0)


def test_http_connection_keeps_to_its_origin(server: Any) -> None:
    origin = URL(server.url).origin
    with HTTPConnection(origin) as connection:
        assert connection.request("GET", server.url).status == 200
        assert connection.is_idle()
        assert connection.can_handle_request(origin)
        with pytest.raises(RuntimeError, match="Attempted to send request"):
            connection.request("GET", "http://127.0.0.2:1/")
    assert connection.is_closed()


def test_unsupported_arguments_are_named() -> None:
    with pytest.raises(TypeError, match="network_backend"):
        ConnectionPool(network_backend=object())
    with pytest.raises(TypeError, match="headers must be"):
        Request("GET", "http://example.com/", headers=42)  # type: ignore[arg-type]


# ---- proxies -----------------------------------------------------------------------------


def test_http_proxy_facade(facade: None, squid: Any, server: Any) -> None:
    transport = httpduo.HTTPTransport(proxy=httpduo.Proxy(squid.auth_url, auth=squid.auth))
    with httpduo.Client(transport=transport) as client:
        pool = transport._pool
        assert type(pool).__name__ == "HTTPProxy"
        assert isinstance(pool, ConnectionPool)
        proxy = httpduo.URL(squid.auth_url)
        assert pool._proxy_url == URL(
            scheme=b"http", host=b"127.0.0.1", port=proxy.port, target=b"/"
        )
        assert b"proxy-authorization" in [name.lower() for name, _ in pool._proxy_headers]
        assert pool._ssl_context is pool._httpduo_pool._ssl_context is not None
        mark = squid.mark()
        response = client.get(server.url + "/json")
    assert response.status_code == 200
    squid.wait_for_log("/json", since=mark)


@pytest.mark.anyio
async def test_async_http_proxy_facade(facade: None, squid: Any, server: Any) -> None:
    transport = httpduo.AsyncHTTPTransport(proxy=squid.url)
    async with httpduo.AsyncClient(transport=transport) as client:
        assert isinstance(transport._pool, AsyncHTTPProxy)
        mark = squid.mark()
        response = await client.get(server.url + "/json?async")
    assert response.status_code == 200
    squid.wait_for_log("/json?async", since=mark)


def test_socks_proxy_facade(facade: None, microsocks: Any, server: Any) -> None:
    pytest.importorskip("socksio")
    transport = httpduo.HTTPTransport(proxy=microsocks.url)
    with httpduo.Client(transport=transport) as client:
        pool = transport._pool
        assert isinstance(pool, SOCKSProxy)
        assert pool._proxy_auth is None
        assert pool._proxy_url.scheme == b"socks5"
        assert client.get(server.url + "/json").status_code == 200


def test_http_proxy_facade_constructed_directly(squid: Any, server: Any) -> None:
    with HTTPProxy(proxy_url=squid.url) as pool:
        mark = squid.mark()
        assert pool.request("GET", server.url + "/json?direct").status == 200
    squid.wait_for_log("/json?direct", since=mark)


# ---- 101 Switching Protocols: the network stream -----------------------------------------


def _upgrade_then_echo(conn: Conn) -> None:
    conn.recv_request_head()
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
    data = conn.recv_body(4)
    conn.send(data.upper())
    conn.close()


def test_network_stream_after_101(facade: None, raw_server: Any) -> None:
    srv = raw_server(_upgrade_then_echo)
    headers = {"Connection": "Upgrade", "Upgrade": "echo"}
    with httpduo.Client() as client, client.stream("GET", srv.url, headers=headers) as response:
        assert response.status_code == 101
        stream = response.extensions["network_stream"]
        assert isinstance(stream, NetworkStream)
        stream.write(b"ping")
        assert stream.read(4) == b"PING"
        assert stream.read(4) == b""
        assert stream.get_extra_info("server_addr") == ("127.0.0.1", srv.port)
        stream.close()


def _upgrade_then_wait(conn: Conn) -> None:
    conn.recv_request_head()
    conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
    conn.recv_until_closed()


@pytest.mark.anyio
async def test_async_network_stream_after_101_raises_httpcore_errors(
    facade: None, raw_server: Any
) -> None:
    srv = raw_server(_upgrade_then_wait)
    headers = {"Connection": "Upgrade", "Upgrade": "echo"}
    client = httpduo.AsyncClient()
    async with client, client.stream("GET", srv.url, headers=headers) as response:
        stream = response.extensions["network_stream"]
        assert isinstance(stream, AsyncNetworkStream)
        await stream.write(b"hello")
        with pytest.raises(core_exc.ReadTimeout):
            await stream.read(10, timeout=0.05)
        await stream.aclose()


def test_a_patch_reading_the_body_on_the_way_leaves_it_readable(facade: None, server: Any) -> None:
    original = ConnectionPool.handle_request

    def reads_first(self: ConnectionPool, request: Request) -> Response:
        response = original(self, request)
        response.read()
        response.close()
        return response

    with mock.patch.object(ConnectionPool, "handle_request", reads_first), httpduo.Client() as c:
        assert c.post(server.url + "/echo_body", content=b"seen twice").content == b"seen twice"


def test_a_patch_changing_the_request_sends_the_change(facade: None, server: Any) -> None:
    original = ConnectionPool.handle_request

    def rewrites(self: ConnectionPool, request: Request) -> Response:
        request.headers.append((b"X-Added", b"by the patch"))
        request.url.target = b"/echo_headers"
        return original(self, request)

    with mock.patch.object(ConnectionPool, "handle_request", rewrites), httpduo.Client() as c:
        echoed = c.get(server.url + "/json").json()
    assert ["x-added", "by the patch"] in echoed
