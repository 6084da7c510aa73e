"""The httpcore facade reached through `install_as_httpx()`, as respx and tests reach it.

Each program runs in a fresh interpreter (installing is process-wide); requests meant to
be intercepted go to a port nothing listens on.
"""

from __future__ import annotations

from typing import Any

from tests.compat.test_install import run

# respx 0.22's default mocker, reduced to what it does to httpcore: patch these six
# methods by dotted path with `spec=True`, answer from a router, or call the original.
RESPX_LIKE = """
import inspect
from unittest import mock
import httpduo
httpduo.install_as_httpx()
import httpx, httpcore

TARGETS = [
    "httpcore._sync.connection.HTTPConnection",
    "httpcore._sync.connection_pool.ConnectionPool",
    "httpcore._sync.http_proxy.HTTPProxy",
    "httpcore._async.connection.AsyncHTTPConnection",
    "httpcore._async.connection_pool.AsyncConnectionPool",
    "httpcore._async.http_proxy.AsyncHTTPProxy",
]
calls = []

def answer(request):
    url = (request.url.scheme, request.url.host, request.url.port, request.url.target)
    calls.append((request.method, url, dict(request.headers)[b"Host"]))
    if request.url.target.startswith(b"/mocked"):
        return httpcore.Response(
            202, headers=[(b"X-Mocked", b"yes")], content=b"from the mock"
        )
    return None

def make(spec):
    if spec.__name__ not in ("handle_request", "handle_async_request"):
        return spec  # already patched through a base class
    if inspect.iscoroutinefunction(spec):
        async def amock(self, request):
            return answer(request) or await spec(self, request)
        return amock
    def mock_(self, request):
        return answer(request) or spec(self, request)
    return mock_

patches = []
for target in TARGETS:
    for method in ("handle_request", "handle_async_request"):
        try:
            patch = mock.patch(f"{target}.{method}", spec=True, new_callable=make)
            patch.start()
            patches.append(patch)
        except AttributeError:
            pass
"""


def test_respx_style_patches_intercept_and_pass_through(server: Any, unused_port: int) -> None:
    out = run(
        RESPX_LIKE
        + f"""
import asyncio
print(len(patches))
r = httpx.get("http://127.0.0.1:{unused_port}/mocked?x=1")
print(r.status_code, r.headers["x-mocked"], r.text)
print(httpx.get("{server.url}/json").json())

async def main():
    async with httpx.AsyncClient() as client:
        r = await client.post("http://127.0.0.1:{unused_port}/mocked", content=b"body")
        print(r.status_code, r.text)
        r = await client.get("{server.url}/json")
        print(r.json())
asyncio.run(main())
print(calls[0])
print(len(calls))
for patch in patches:
    patch.stop()
httpduo.uninstall_as_httpx()
print(httpx.HTTPTransport.handle_request is httpduo._sync._transport.HTTPTransport.__dict__[
    "handle_request"] and "_pool" not in vars(httpduo.HTTPTransport))
"""
    )
    lines = out.splitlines()
    assert lines[0] == "6"  # respx patches the proxies through their own class too
    assert lines[1] == "202 yes from the mock"
    assert lines[2] == "{'Hello': 'world!'}"
    assert lines[3] == "202 from the mock"
    assert lines[4] == "{'Hello': 'world!'}"
    port = unused_port
    assert (
        lines[5]
        == f"(b'GET', (b'http', b'127.0.0.1', {port}, b'/mocked?x=1'), b'127.0.0.1:{port}')"
    )
    assert lines[6] == "4"  # each request crossed the pool facade exactly once
    assert lines[7] == "True"


def test_routing_starts_with_the_first_import_of_httpcore() -> None:
    out = run(
        """
        import httpduo
        original = httpduo.HTTPTransport.handle_request
        httpduo.install_as_httpx()
        import httpx
        print(httpx.HTTPTransport.handle_request is original)
        import httpcore
        print(httpx.HTTPTransport.handle_request is original)
        httpduo.uninstall_as_httpx()
        print(httpx.HTTPTransport.handle_request is original)
        """
    )
    assert out.split() == ["True", "False", "True"]


def test_transport_pool_looks_like_httpcore() -> None:
    out = run(
        """
        import ssl
        import httpduo
        httpduo.install_as_httpx()
        import httpx, httpcore
        t = httpx.HTTPTransport(proxy="http://user:secret@127.0.0.1:8080")
        print(type(t._pool).__name__, isinstance(t._pool, httpcore.ConnectionPool))
        print(t._pool._proxy_url == httpcore.URL(
            scheme=b"http", host=b"127.0.0.1", port=8080, target=b"/"))
        print([name for name, _ in t._pool._proxy_headers])
        print(isinstance(t._pool._ssl_context, ssl.SSLContext))
        print(type(httpx.AsyncHTTPTransport(proxy="https://127.0.0.1:8443")._pool).__name__)
        s = httpx.HTTPTransport(proxy="socks5://u:p@127.0.0.1:1080")._pool
        print(type(s).__name__, s._proxy_auth, s._proxy_url.scheme)
        print(type(httpx.AsyncHTTPTransport(proxy="socks5://127.0.0.1:1080")._pool).__name__)
        print(type(httpx.AsyncHTTPTransport()._pool).__name__)
        limits = httpx.Limits(max_connections=7, max_keepalive_connections=3, keepalive_expiry=2)
        p = httpx.HTTPTransport(limits=limits, retries=2)._pool
        print(p._max_connections, p._max_keepalive_connections, p._keepalive_expiry,
              p._http1, p._http2, p._retries)
        from httpcore._sync.connection_pool import ConnectionPool
        from httpcore._async.socks_proxy import AsyncSOCKSProxy
        from httpcore._backends.base import NetworkStream, AsyncNetworkStream
        from httpcore._exceptions import ReadError
        from httpcore._models import Request, Response, URL, Origin
        print(ConnectionPool is httpcore.ConnectionPool, issubclass(ReadError, Exception))
        """
    )
    assert out.splitlines() == [
        "HTTPProxy True",
        "True",
        "[b'Proxy-Authorization']",
        "True",
        "AsyncHTTPProxy",
        "SOCKSProxy (b'u', b'p') b'socks5'",
        "AsyncSOCKSProxy",
        "AsyncConnectionPool",
        "7 3 2 True False 2",
        "True True",
    ]
