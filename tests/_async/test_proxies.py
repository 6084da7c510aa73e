"""Proxies: HTTP forwarding, CONNECT tunnels, HTTPS proxies and environment routes,
against real squid and tinyproxy (their access logs prove the traffic went through
them) and a scripted raw server playing a misbehaving proxy."""

from __future__ import annotations

import json
import ssl
import sys
from typing import Any, Callable, Optional

import pytest

import httpduo
from httpduo._models._proxy_env import get_environment_proxies
from tests.helpers import arun_concurrently
from tests.servers.certs import TLSFiles, client_context
from tests.servers.proxies import SQUID_USER

pytestmark = pytest.mark.anyio

TIMEOUT = httpduo.Timeout(10.0)
SQUID_CREDENTIALS = "alice:p%40ss%3Aw0rd"  # SQUID_USER, percent-encoded for a URL


def squid_auth_url(squid: Any) -> str:
    return str(squid.auth_url).replace("http://", f"http://{SQUID_CREDENTIALS}@")


# -- forwarding and tunnelling through real proxies -------------------------------------


async def test_squid_forwards_http_requests(squid: Any, server: Any) -> None:
    mark = squid.mark()
    async with httpduo.AsyncClient(proxy=squid.url, timeout=TIMEOUT) as client:
        response = await client.get(server.url + "/echo_headers?via=squid-forward")
    assert response.status_code == 200
    headers = dict(json.loads(response.content))
    assert "squid" in headers["via"]  # squid itself sent the request to the server
    line = squid.wait_for_log(f"GET {server.url}/echo_headers?via=squid-forward", since=mark)
    assert "/200 " in line


async def test_squid_tunnels_https_requests(
    squid: Any, tls_server: Any, ca_cert_path: str
) -> None:
    mark = squid.mark()
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(proxy=squid.url, verify=verify, timeout=TIMEOUT) as client:
        response = await client.get(tls_server.url + "/request_info")
        assert response.status_code == 200
        info = json.loads(response.content)
        assert info["scheme"] == "https"
        headers = dict(json.loads((await client.get(tls_server.url + "/echo_headers")).content))
        assert "via" not in headers  # end-to-end TLS: squid never saw the request
    # squid logs a tunnel when it closes: the client is closed by now.
    line = squid.wait_for_log(f"CONNECT 127.0.0.1:{tls_server.port}", since=mark)
    assert "TCP_TUNNEL/200" in line


async def test_http2_inside_a_tunnel(squid: Any, h2_server: Any, ca_cert_path: str) -> None:
    mark = squid.mark()
    verify = client_context(ca_cert_path, ["h2", "http/1.1"])
    async with httpduo.AsyncClient(
        proxy=squid.url, verify=verify, http2=True, timeout=TIMEOUT
    ) as client:
        responses = await arun_concurrently(
            [lambda: client.get(h2_server.url + "/connection_id") for _ in range(5)]
        )
    assert {response.http_version for response in responses} == {"HTTP/2"}
    assert len({response.content for response in responses}) == 1  # one multiplexed tunnel
    squid.wait_for_log(f"CONNECT 127.0.0.1:{h2_server.port}", since=mark)
    assert len(squid.log_lines(f"CONNECT 127.0.0.1:{h2_server.port}", since=mark)) == 1


async def test_https_proxy_runs_tls_inside_tls(
    squid: Any, server: Any, tls_server: Any, ca_cert_path: str
) -> None:
    mark = squid.mark()
    proxy = httpduo.Proxy(squid.https_url, ssl_context=client_context(ca_cert_path))
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(proxy=proxy, verify=verify, timeout=TIMEOUT) as client:
        tunnelled = await client.get(tls_server.url + "/request_info")
        forwarded = await client.get(server.url + "/?via=https-proxy")
    assert json.loads(tunnelled.content)["scheme"] == "https"
    assert forwarded.content == b"Hello, world!"
    squid.wait_for_log(f"GET {server.url}/?via=https-proxy", since=mark)
    squid.wait_for_log(f"CONNECT 127.0.0.1:{tls_server.port}", since=mark)


async def test_https_proxy_certificate_is_verified(squid: Any, server: Any) -> None:
    # The default context does not trust the test CA that signed squid's certificate.
    async with httpduo.AsyncClient(proxy=squid.https_url, timeout=TIMEOUT) as client:
        with pytest.raises(httpduo.ConnectError, match="TLS with the proxy"):
            await client.get(server.url + "/")


async def test_tinyproxy_forwards_and_tunnels(
    tinyproxy: Any, server: Any, tls_server: Any, ca_cert_path: str
) -> None:
    mark = tinyproxy.mark()
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(proxy=tinyproxy.url, verify=verify, timeout=TIMEOUT) as client:
        forwarded = await client.get(server.url + "/json?via=tinyproxy")
        tunnelled = await client.get(tls_server.url + "/json")
    assert forwarded.json() == tunnelled.json() == {"Hello": "world!"}
    tinyproxy.wait_for_log(f"GET {server.url}/json?via=tinyproxy HTTP/1.1", since=mark)
    tinyproxy.wait_for_log(f"CONNECT 127.0.0.1:{tls_server.port} HTTP/1.1", since=mark)


# -- proxy authentication ---------------------------------------------------------------


async def test_squid_basic_auth_from_the_url_is_percent_decoded(
    squid: Any, server: Any, tls_server: Any, ca_cert_path: str
) -> None:
    mark = squid.mark()
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(
        proxy=squid_auth_url(squid), verify=verify, timeout=TIMEOUT
    ) as client:
        forwarded = await client.get(server.url + "/?auth=url")
        tunnelled = await client.get(tls_server.url + "/")
    assert forwarded.status_code == tunnelled.status_code == 200
    # squid logs the authenticated user name in the access log's user column.
    assert " alice " in squid.wait_for_log(f"GET {server.url}/?auth=url", since=mark)
    assert " alice " in squid.wait_for_log(f"CONNECT 127.0.0.1:{tls_server.port}", since=mark)


async def test_squid_basic_auth_from_proxy_auth(
    squid: Any, tls_server: Any, ca_cert_path: str
) -> None:
    proxy = httpduo.Proxy(squid.auth_url, auth=SQUID_USER)
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(proxy=proxy, verify=verify, timeout=TIMEOUT) as client:
        response = await client.get(tls_server.url + "/")
    assert response.status_code == 200


async def test_squid_connect_407_is_a_proxy_error(
    squid: Any, tls_server: Any, ca_cert_path: str
) -> None:
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(proxy=squid.auth_url, verify=verify, timeout=TIMEOUT) as client:
        with pytest.raises(httpduo.ProxyError) as missing:
            await client.get(tls_server.url + "/")
    message = str(missing.value)
    assert "407 Proxy Authentication Required" in message
    assert "requires authentication" in message
    assert 'Basic realm="httpduo-tests"' in message
    assert missing.value.request.url == tls_server.url + "/"

    proxy = httpduo.Proxy(squid.auth_url, auth=("alice", "wrong"))
    async with httpduo.AsyncClient(proxy=proxy, verify=verify, timeout=TIMEOUT) as client:
        with pytest.raises(httpduo.ProxyError, match="rejected the credentials for user 'alice'"):
            await client.get(tls_server.url + "/")


async def test_squid_forwarded_407_is_a_response(squid: Any, server: Any) -> None:
    # A forwarded request gets the proxy's answer as its response, as with httpx.
    async with httpduo.AsyncClient(proxy=squid.auth_url, timeout=TIMEOUT) as client:
        response = await client.get(server.url + "/")
    assert response.status_code == 407
    assert response.headers["proxy-authenticate"].startswith("Basic")


# -- pooling ----------------------------------------------------------------------------


async def send(transport: httpduo.AsyncHTTPTransport, url: str) -> httpduo.Response:
    request = httpduo.Request("GET", url, extensions={"timeout": TIMEOUT.as_dict()})
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


async def test_forwarded_requests_share_connections_to_the_proxy(
    squid: Any, server: Any, server_short_keepalive: Any
) -> None:
    async with httpduo.AsyncHTTPTransport(proxy=squid.url) as transport:
        for url in (server.url, server_short_keepalive.url, server.url):
            assert (await send(transport, url + "/")).status_code == 200
        assert len(transport.pool.connections) == 1


async def test_tunnels_are_pooled_per_origin(
    squid: Any, tls_server: Any, h2_server: Any, ca_cert_path: str
) -> None:
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncHTTPTransport(proxy=squid.url, verify=verify) as transport:
        first = await send(transport, tls_server.url + "/connection_id")
        again = await send(transport, tls_server.url + "/connection_id")
        assert first.content == again.content  # the same tunnel, reused
        await send(transport, h2_server.url + "/")
        connections = transport.pool.connections
        assert len(connections) == 2
        assert {c.origin[2] for c in connections} == {tls_server.port, h2_server.port}


async def test_limits_apply_to_tunnels(squid: Any, tls_server: Any, ca_cert_path: str) -> None:
    verify = client_context(ca_cert_path)
    limits = httpduo.Limits(max_connections=1)
    async with httpduo.AsyncHTTPTransport(
        proxy=squid.url, verify=verify, limits=limits
    ) as transport:
        responses = await arun_concurrently(
            [lambda: send(transport, tls_server.url + "/connection_id") for _ in range(4)]
        )
        assert len({response.content for response in responses}) == 1
        assert len(transport.pool.connections) == 1


# -- errors from a misbehaving proxy (scripted raw server) ------------------------------


def connect_reply(reply: bytes) -> Callable[[Any], None]:
    def script(conn: Any) -> None:
        conn.recv_request_head()
        conn.send(reply)
        conn.close()

    return script


async def get_through(proxy: Any, url: str, **kwargs: Any) -> httpduo.Response:
    timeout = kwargs.pop("timeout", TIMEOUT)
    async with httpduo.AsyncClient(proxy=proxy, timeout=timeout, **kwargs) as client:
        return await client.get(url)


async def test_connect_407_names_the_challenge(raw_server: Any) -> None:
    proxy = raw_server(
        connect_reply(
            b"HTTP/1.1 407 Proxy Authentication Required\r\n"
            b'Proxy-Authenticate: Basic realm="corp"\r\nContent-Length: 0\r\n\r\n'
        )
    )
    with pytest.raises(httpduo.ProxyError) as info:
        await get_through(proxy.url, "https://example.invalid/")
    message = str(info.value)
    assert "407 Proxy Authentication Required" in message
    assert 'Proxy-Authenticate: Basic realm="corp"' in message
    assert "auth=(username, password)" in message


async def test_connect_502_is_a_proxy_error_with_status(raw_server: Any) -> None:
    proxy = raw_server(connect_reply(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad"))
    with pytest.raises(httpduo.ProxyError, match=r"example\.invalid:443: 502 Bad Gateway"):
        await get_through(proxy.url, "https://example.invalid/")


async def test_connect_reply_without_reason_phrase(raw_server: Any) -> None:
    proxy = raw_server(connect_reply(b"HTTP/1.1 503\r\n\r\n"))
    with pytest.raises(httpduo.ProxyError, match="503 Service Unavailable"):
        await get_through(proxy.url, "https://example.invalid/")


@pytest.mark.parametrize(
    ("reply", "match"),
    [
        (b"SSH-2.0-OpenSSH_9.2\r\n", "something other than an HTTP reply"),
        (b"HTTP/1.1 200 Connection established\r\nno colon here\r\n\r\n", "invalid header"),
        (b"HTTP/1.1 2OO OK\r\n\r\n", "invalid status line"),
        (b"", "without answering CONNECT"),
        (b"HTTP/1.1 200 Conn", "in the middle of its reply"),
    ],
)
async def test_garbage_connect_reply_is_a_proxy_error(
    raw_server: Any, reply: bytes, match: str
) -> None:
    proxy = raw_server(connect_reply(reply))
    with pytest.raises(httpduo.ProxyError, match=match):
        await get_through(proxy.url, "https://example.invalid/")


async def test_connect_reply_timeout_is_a_connect_timeout(raw_server: Any) -> None:
    def silent(conn: Any) -> None:
        conn.recv_request_head()
        conn.sleep(30)

    proxy = raw_server(silent)
    timeout = httpduo.Timeout(10.0, connect=0.3)
    with pytest.raises(httpduo.ConnectTimeout, match=r"to open a tunnel to example\.invalid:443"):
        await get_through(proxy.url, "https://example.invalid/", timeout=timeout)


async def test_unreachable_proxy_is_a_connect_error(unused_port: int) -> None:
    proxy = f"http://127.0.0.1:{unused_port}"
    with pytest.raises(httpduo.ConnectError, match=f"Could not connect to the proxy {proxy}"):
        await get_through(proxy, "http://example.invalid/")
    with pytest.raises(httpduo.ConnectError, match="Could not connect to the proxy"):
        await get_through(proxy, "https://example.invalid/")


def tunnel_to_fake_origin(
    tls_files: TLSFiles, seen: list[bytes], reply: Optional[bytes]
) -> Callable[[Any], None]:
    """A proxy answering CONNECT, then itself playing the origin inside the tunnel (TLS
    with the test certificate): records the request, sends `reply`, closes."""

    def script(conn: Any) -> None:
        seen.append(conn.recv_request_head())
        conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(tls_files.certfile), str(tls_files.keyfile))
        try:
            with context.wrap_socket(conn.sock, server_side=True) as tls:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = tls.recv(65536)
                    if not chunk:
                        return
                    data += chunk
                seen.append(data)
                if reply:
                    tls.sendall(reply)
        except (ssl.SSLError, OSError):
            pass

    return script


async def test_proxy_closing_mid_tunnel_fails_the_request(
    raw_server: Any, tls_files: TLSFiles, ca_cert_path: str
) -> None:
    seen: list[bytes] = []
    truncated = b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 10
    verify = client_context(ca_cert_path)
    # The tunnel ends without a TLS close_notify: a read error, or the HTTP/1.1 framing
    # noticing the missing bytes, depending on where the EOF is seen first.
    for reply in (truncated, None):
        proxy = raw_server(tunnel_to_fake_origin(tls_files, seen, reply))
        with pytest.raises((httpduo.RemoteProtocolError, httpduo.ReadError)):
            await get_through(proxy.url, "https://localhost/", verify=verify)


async def test_proxy_headers_go_on_connect_only(
    raw_server: Any, tls_files: TLSFiles, ca_cert_path: str
) -> None:
    seen: list[bytes] = []
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
    proxy_server = raw_server(tunnel_to_fake_origin(tls_files, seen, ok))
    proxy = httpduo.Proxy(
        proxy_server.url.replace("http://", "http://us%40er:p%3Ass@"),
        headers={"X-Proxy-Token": "t0k"},
    )
    verify = client_context(ca_cert_path)
    response = await get_through(proxy, "https://localhost:8443/path?q=1", verify=verify)
    assert response.content == b"ok"
    connect, inner = seen
    assert connect.startswith(b"CONNECT localhost:8443 HTTP/1.1\r\nHost: localhost:8443\r\n")
    assert b"\r\nProxy-Authorization: Basic dXNAZXI6cDpzcw==\r\n" in connect  # us@er:p:ss
    assert b"\r\nX-Proxy-Token: t0k\r\n" in connect
    assert inner.startswith(b"GET /path?q=1 HTTP/1.1\r\n")
    assert b"proxy-authorization" not in inner.lower()
    assert b"x-proxy-token" not in inner.lower()


async def test_forwarding_uses_absolute_form_and_proxy_headers(raw_server: Any) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"

    def script(conn: Any) -> None:
        for _ in range(2):
            conn.recv_request()
            conn.send(ok)

    proxy_server = raw_server(script)
    proxy = httpduo.Proxy(proxy_server.url, auth=("user", "pass"), headers={"X-Proxy": "1"})
    async with httpduo.AsyncClient(proxy=proxy, timeout=TIMEOUT) as client:
        first = await client.get("http://example.invalid:8080/a/b?c=d")
        second = await client.get(
            "http://other.invalid/", headers={"Proxy-Authorization": "Bearer mine"}
        )
    assert first.content == second.content == b"ok"
    proxy_server.wait_for_scripts()
    (received,) = proxy_server.requests  # both on one connection to the proxy
    first_head, second_head = received.split(b"\r\n\r\n")[:2]
    assert first_head.startswith(b"GET http://example.invalid:8080/a/b?c=d HTTP/1.1\r\n")
    assert b"\r\nHost: example.invalid:8080\r\n" in first_head
    assert b"\r\nProxy-Authorization: Basic dXNlcjpwYXNz" in first_head
    assert b"\r\nX-Proxy: 1" in first_head
    assert second_head.startswith(b"GET http://other.invalid/ HTTP/1.1\r\n")
    # A request that sets the header itself keeps its own value.
    assert b"Proxy-Authorization: Bearer mine" in second_head
    assert b"Basic" not in second_head


# -- configuration: proxies=, environment, custom transports -----------------------------


async def test_proxy_accepts_str_url_and_proxy(raw_server: Any) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
    proxy_server = raw_server(connect_reply(ok))
    for proxy in (
        proxy_server.url,
        httpduo.URL(proxy_server.url),
        httpduo.Proxy(proxy_server.url),
    ):
        response = await get_through(proxy, "http://example.invalid/")
        assert response.content == b"ok"
    with pytest.raises(TypeError, match="proxy must be"):
        httpduo.AsyncHTTPTransport(proxy=1234)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Unknown scheme for proxy URL"):
        httpduo.AsyncHTTPTransport(proxy="ftp://127.0.0.1:21")


async def test_proxies_argument_is_deprecated_but_works(squid: Any, server: Any) -> None:
    mark = squid.mark()
    with pytest.warns(DeprecationWarning, match=r"Use proxy='http://127\.0\.0\.1:\d+' instead"):
        client = httpduo.AsyncClient(proxies=squid.url, timeout=TIMEOUT)
    async with client:
        await client.get(server.url + "/?proxies=single")
    squid.wait_for_log(f"GET {server.url}/?proxies=single", since=mark)

    with pytest.warns(DeprecationWarning, match="Use mounts instead") as warned:
        client = httpduo.AsyncClient(
            proxies={"http://": squid_auth_url(squid), "all://localhost": None}, timeout=TIMEOUT
        )
    message = str(warned[0].message)
    assert "mounts={'http://': httpduo.AsyncHTTPTransport(proxy=httpduo.Proxy(" in message
    assert "'all://localhost': None}" in message
    assert SQUID_USER[1] not in message  # no password shown
    assert "p%40ss" not in message
    assert warned[0].filename == __file__
    async with client:
        await client.get(server.url + "/?proxies=dict")
        direct = await client.get(server.url.replace("127.0.0.1", "localhost") + "/echo_headers")
    assert " alice " in squid.wait_for_log(f"GET {server.url}/?proxies=dict", since=mark)
    assert "via" not in dict(json.loads(direct.content))

    with pytest.raises(RuntimeError, match="either `proxy` or `proxies`"):
        httpduo.AsyncClient(proxy=squid.url, proxies=squid.url)


async def test_proxy_with_a_custom_transport_mounts_the_proxy(squid: Any, server: Any) -> None:
    # As httpx: proxy= is honoured next to transport=; the transport serves mounts=None.
    mark = squid.mark()
    async with httpduo.AsyncClient(
        proxy=squid.url,
        transport=httpduo.AsyncHTTPTransport(),
        mounts={f"all://localhost:{server.port}": None},
        timeout=TIMEOUT,
    ) as client:
        await client.get(server.url + "/?custom=proxied")
        direct = await client.get(f"http://localhost:{server.port}/echo_headers")
    squid.wait_for_log(f"GET {server.url}/?custom=proxied", since=mark)
    assert "via" not in dict(json.loads(direct.content))


async def test_environment_proxies_are_used(
    squid: Any, server: Any, tls_server: Any, ca_cert_path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", squid.url)
    monkeypatch.setenv("https_proxy", squid_auth_url(squid))
    mark = squid.mark()
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(verify=verify, timeout=TIMEOUT) as client:
        await client.get(server.url + "/?env=http_proxy")
        await client.get(tls_server.url + "/")
    squid.wait_for_log(f"GET {server.url}/?env=http_proxy", since=mark)
    line = squid.wait_for_log(f"CONNECT 127.0.0.1:{tls_server.port}", since=mark)
    assert " alice " in line


async def test_environment_is_ignored_without_trust_env(
    server: Any, unused_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The environment names a proxy that refuses connections: only direct requests work.
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{unused_port}")
    async with httpduo.AsyncClient(trust_env=False, timeout=TIMEOUT) as client:
        assert (await client.get(server.url + "/")).status_code == 200
    async with httpduo.AsyncClient(timeout=TIMEOUT) as client:
        with pytest.raises(httpduo.ConnectError, match="proxy"):
            await client.get(server.url + "/")


@pytest.mark.parametrize(
    "no_proxy",
    [
        "127.0.0.1",
        "127.0.0.0/8",
        "127.0.0.1:{port}",
        "*",
        "example.com, 127.0.0.1",
        "::1,127.0.0.1",
    ],
)
async def test_no_proxy_sends_direct(
    server: Any, unused_port: int, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_port}")
    monkeypatch.setenv("NO_PROXY", no_proxy.format(port=server.port))
    async with httpduo.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.get(server.url + "/")
    assert response.status_code == 200


@pytest.mark.parametrize(
    "no_proxy", ["127.0.0.2", "10.0.0.0/8", "127.0.0.1:1", "https://127.0.0.1"]
)
async def test_no_proxy_that_does_not_match_keeps_the_proxy(
    server: Any, unused_port: int, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{unused_port}")
    monkeypatch.setenv("NO_PROXY", no_proxy)
    async with httpduo.AsyncClient(timeout=TIMEOUT) as client:
        with pytest.raises(httpduo.ConnectError, match="Could not connect to the proxy"):
            await client.get(server.url + "/")


async def test_no_proxy_host_name_suffix(
    squid: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", squid.url)
    monkeypatch.setenv("NO_PROXY", ".localhost")
    mark = squid.mark()
    async with httpduo.AsyncClient(timeout=TIMEOUT) as client:
        direct = await client.get(f"http://localhost:{server.port}/echo_headers")
        proxied = await client.get(server.url + "/echo_headers?no_proxy=suffix")
    assert "via" not in dict(json.loads(direct.content))
    assert "via" in dict(json.loads(proxied.content))
    squid.wait_for_log(f"GET {server.url}/echo_headers?no_proxy=suffix", since=mark)


async def test_custom_transport_ignores_the_environment_unless_asked(
    squid: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", squid.url)
    monkeypatch.setenv("NO_PROXY", "localhost")
    mark = squid.mark()
    # transport= means the caller decides how requests travel: no environment proxies.
    async with httpduo.AsyncClient(
        transport=httpduo.AsyncHTTPTransport(), timeout=TIMEOUT
    ) as client:
        response = await client.get(server.url + "/echo_headers?env=ignored")
    assert "via" not in dict(json.loads(response.content))

    # Asking for them: mount the environment's routes next to the custom transport.
    mounts = {
        pattern: None if url is None else httpduo.AsyncHTTPTransport(proxy=url)
        for pattern, url in get_environment_proxies().items()
    }
    async with httpduo.AsyncClient(
        transport=httpduo.AsyncHTTPTransport(), mounts=mounts, timeout=TIMEOUT
    ) as client:
        proxied = await client.get(server.url + "/echo_headers?env=mounted")
        direct = await client.get(f"http://localhost:{server.port}/echo_headers")
    assert "via" in dict(json.loads(proxied.content))
    assert "via" not in dict(json.loads(direct.content))
    squid.wait_for_log(f"GET {server.url}/echo_headers?env=mounted", since=mark)
    assert not squid.log_lines("env=ignored", since=mark)


# -- optional packages --------------------------------------------------------------------


async def test_socks_without_socksio_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "socksio", None)
    with pytest.raises(ImportError, match=r"pip install 'httpduo\[socks\]'"):
        httpduo.AsyncHTTPTransport(proxy="socks5://127.0.0.1:1080")
    with pytest.raises(ImportError, match=r"pip install 'httpduo\[socks\]'"):
        httpduo.AsyncClient(proxy="socks5h://127.0.0.1:1080")


async def test_http2_without_h2_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h2", None)
    with pytest.raises(ImportError, match=r"pip install 'httpduo\[http2\]'"):
        httpduo.AsyncHTTPTransport(http2=True, proxy="http://127.0.0.1:3128")
