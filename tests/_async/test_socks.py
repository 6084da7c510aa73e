"""SOCKS5, socks5h, SOCKS4 and SOCKS4a proxies: against real dante and microsocks (whose
logs show where they connected, and for microsocks the host name it was asked for), and
against scripted raw SOCKS servers checking the bytes and every failure."""

from __future__ import annotations

import json
import struct
from typing import Any, Callable, Optional

import pytest

import httpduo
from tests.helpers import arun_concurrently
from tests.servers.certs import client_context
from tests.servers.proxies import SOCKS_USER

pytestmark = pytest.mark.anyio

TIMEOUT = httpduo.Timeout(10.0)
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


async def get_via(proxy: Any, url: str, **kwargs: Any) -> httpduo.Response:
    timeout = kwargs.pop("timeout", TIMEOUT)
    async with httpduo.AsyncClient(proxy=proxy, timeout=timeout, **kwargs) as client:
        return await client.get(url)


def with_auth(url: str, user: str, password: str) -> str:
    return url.replace("://", f"://{user}:{password}@", 1)


# -- real SOCKS servers -----------------------------------------------------------------


async def test_dante_socks5_http_and_https(
    dante: Any, server: Any, tls_server: Any, ca_cert_path: str
) -> None:
    mark = dante.mark()
    verify = client_context(ca_cert_path)
    async with httpduo.AsyncClient(proxy=dante.url, verify=verify, timeout=TIMEOUT) as client:
        plain = await client.get(server.url + "/request_info")
        secure = await client.get(tls_server.url + "/request_info")
    assert json.loads(plain.content)["scheme"] == "http"
    assert json.loads(secure.content)["scheme"] == "https"
    # The request is sent in origin form: the SOCKS proxy only relays bytes.
    assert json.loads(plain.content)["raw_path"] == "/request_info"
    dante.wait_for_log(f"127.0.0.1.{server.port}", since=mark)
    dante.wait_for_log(f"127.0.0.1.{tls_server.port}", since=mark)


async def test_dante_socks4(dante: Any, server: Any) -> None:
    mark = dante.mark()
    proxy = dante.url.replace("socks5://", "socks4://")
    response = await get_via(proxy, server.url + "/json")
    assert response.json() == {"Hello": "world!"}
    dante.wait_for_log(f"127.0.0.1.{server.port}", since=mark)


async def test_socks5h_sends_the_host_name(microsocks: Any, server: Any) -> None:
    mark = microsocks.mark()
    proxy = microsocks.url.replace("socks5://", "socks5h://")
    response = await get_via(proxy, f"http://localhost:{server.port}/")
    assert response.content == b"Hello, world!"
    microsocks.wait_for_log(f"connected to localhost:{server.port}", since=mark)


async def test_socks5_resolves_the_host_name_locally(microsocks: Any, server: Any) -> None:
    mark = microsocks.mark()
    response = await get_via(microsocks.url, f"http://localhost:{server.port}/")
    assert response.content == b"Hello, world!"
    line = microsocks.wait_for_log(f":{server.port}", since=mark)
    assert "connected to localhost" not in line


async def test_microsocks_username_and_password(
    microsocks_auth: Any, server: Any, tls_server: Any, ca_cert_path: str
) -> None:
    user, password = SOCKS_USER
    mark = microsocks_auth.mark()
    verify = client_context(ca_cert_path)
    response = await get_via(
        with_auth(microsocks_auth.url, user, password), tls_server.url + "/", verify=verify
    )
    assert response.status_code == 200
    microsocks_auth.wait_for_log(f"connected to 127.0.0.1:{tls_server.port}", since=mark)

    proxy = httpduo.Proxy(microsocks_auth.url, auth=(user, "wrong"))
    with pytest.raises(httpduo.ProxyError, match="rejected the username and password"):
        await get_via(proxy, server.url + "/")
    with pytest.raises(httpduo.ProxyError, match="requires authentication"):
        await get_via(microsocks_auth.url, server.url + "/")


async def test_http2_through_socks(dante: Any, h2_server: Any, ca_cert_path: str) -> None:
    verify = client_context(ca_cert_path, ["h2", "http/1.1"])
    async with httpduo.AsyncClient(
        proxy=dante.url, verify=verify, http2=True, timeout=TIMEOUT
    ) as client:
        responses = await arun_concurrently(
            [lambda: client.get(h2_server.url + "/connection_id") for _ in range(3)]
        )
    assert {response.http_version for response in responses} == {"HTTP/2"}
    assert len({response.content for response in responses}) == 1


async def test_socks_tunnels_are_pooled_per_origin(
    dante: Any, server: Any, server_short_keepalive: Any
) -> None:
    async with httpduo.AsyncHTTPTransport(proxy=dante.url) as transport:
        for url in (server.url, server.url, server_short_keepalive.url):
            request = httpduo.Request("GET", url + "/", extensions={"timeout": TIMEOUT.as_dict()})
            response = await transport.handle_async_request(request)
            await response.aread()
        ports = sorted(c.origin[2] for c in transport.pool.connections)
    assert ports == sorted([server.port, server_short_keepalive.port])


async def test_all_proxy_from_the_environment(
    microsocks: Any, server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALL_PROXY", microsocks.url.replace("socks5://", "socks5h://"))
    mark = microsocks.mark()
    async with httpduo.AsyncClient(timeout=TIMEOUT) as client:
        response = await client.get(f"http://localhost:{server.port}/?env=all_proxy")
    assert response.status_code == 200
    microsocks.wait_for_log(f"connected to localhost:{server.port}", since=mark)


# -- scripted SOCKS servers -------------------------------------------------------------


def socks5(
    seen: list[Any],
    *,
    reply: int = 0,
    login: Optional[tuple[bytes, bytes]] = None,
    then: Optional[Callable[[Any], None]] = None,
) -> Callable[[Any], None]:
    """A SOCKS5 server recording the target it is asked for; `login` makes it require
    those credentials; after a successful reply it answers one HTTP request with OK
    (or runs `then`)."""

    def script(conn: Any) -> None:
        version, count = conn.recv_body(2)
        assert version == 5
        methods = conn.recv_body(count)
        if login is not None:
            if 2 not in methods:
                conn.send(b"\x05\xff")
                conn.close()
                return
            conn.send(b"\x05\x02")
            _, size = conn.recv_body(2)
            user = conn.recv_body(size)
            (size,) = conn.recv_body(1)
            password = conn.recv_body(size)
            seen.append((user, password))
            if (user, password) != login:
                conn.send(b"\x01\x01")
                conn.close()
                return
            conn.send(b"\x01\x00")
        else:
            assert 0 in methods
            conn.send(b"\x05\x00")
        _, command, _, atype = conn.recv_body(4)
        assert command == 1
        if atype == 1:
            address: Any = conn.recv_body(4)
        elif atype == 4:
            address = conn.recv_body(16)
        else:
            (size,) = conn.recv_body(1)
            address = conn.recv_body(size)
        (port,) = struct.unpack(">H", conn.recv_body(2))
        seen.append((atype, address, port))
        conn.send(b"\x05" + bytes([reply]) + b"\x00\x01\x7f\x00\x00\x01\x1f\x90")
        if reply != 0:
            conn.close()
        elif then is not None:
            then(conn)
        else:
            seen.append(conn.recv_request_head())
            conn.send(OK)
            conn.close()

    return script


def socks4(seen: list[Any], *, reply: int = 0x5A) -> Callable[[Any], None]:
    def script(conn: Any) -> None:
        head = conn.recv_body(8)
        user_id = recv_until_nul(conn)
        name = recv_until_nul(conn) if head[4:7] == b"\x00\x00\x00" else None
        seen.append((head, user_id, name))
        conn.send(b"\x00" + bytes([reply]) + b"\x00\x00\x00\x00\x00\x00")
        if reply == 0x5A:
            conn.recv_request_head()
            conn.send(OK)
        conn.close()

    return script


def recv_until_nul(conn: Any) -> bytes:
    data = b""
    while not data.endswith(b"\x00"):
        data += conn.recv_body(1)
    return data[:-1]


async def test_socks5h_sends_names_and_socks5_sends_addresses(raw_server: Any) -> None:
    seen: list[Any] = []
    server = raw_server(socks5(seen))
    proxy = server.url.replace("http://", "socks5h://")
    assert (await get_via(proxy, "http://example.invalid:8080/x?y=1")).content == b"ok"
    assert seen[0] == (3, b"example.invalid", 8080)
    assert seen[1].startswith(b"GET /x?y=1 HTTP/1.1\r\nHost: example.invalid:8080\r\n")

    seen.clear()
    proxy = server.url.replace("http://", "socks5://")
    assert (await get_via(proxy, "http://10.1.2.3/")).content == b"ok"
    assert (await get_via(proxy, "http://[2001:db8::7]:81/")).content == b"ok"
    assert seen[0] == (1, bytes([10, 1, 2, 3]), 80)
    assert seen[2] == (4, bytes.fromhex("20010db8000000000000000000000007"), 81)


async def test_socks5_login(raw_server: Any) -> None:
    seen: list[Any] = []
    server = raw_server(socks5(seen, login=(b"us:er", b"p@ss")))
    proxy = with_auth(server.url.replace("http://", "socks5h://"), "us%3Aer", "p%40ss")
    assert (await get_via(proxy, "http://example.invalid/")).content == b"ok"
    assert seen[0] == (b"us:er", b"p@ss")  # percent-decoded from the URL


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (1, "general SOCKS server failure"),
        (2, "connection not allowed by ruleset"),
        (4, "host unreachable"),
        (5, "connection refused"),
    ],
)
async def test_socks5_refusals_are_proxy_errors(raw_server: Any, reply: int, reason: str) -> None:
    server = raw_server(socks5([], reply=reply))
    proxy = server.url.replace("http://", "socks5h://")
    with pytest.raises(httpduo.ProxyError) as info:
        await get_via(proxy, "https://example.invalid/")
    message = str(info.value)
    assert f"could not connect to example.invalid:443: {reason}" in message
    assert f"(SOCKS5 reply {reply:#04x})" in message
    assert proxy in message


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (b"HTTP/1.1 400 Bad Request\r\n\r\n", "malformed reply"),
        (b"\x05", "closed the connection during the handshake"),
        (b"", "closed the connection during the handshake"),
        (b"\x05\x01", "chose an authentication method we did not offer"),
    ],
)
async def test_socks5_garbage_is_a_proxy_error(raw_server: Any, answer: bytes, match: str) -> None:
    def script(conn: Any) -> None:
        conn.recv_body(3)
        conn.send(answer)
        conn.close()

    server = raw_server(script)
    with pytest.raises(httpduo.ProxyError, match=match):
        await get_via(server.url.replace("http://", "socks5h://"), "http://example.invalid/")


async def test_socks5_handshake_timeout(raw_server: Any) -> None:
    def silent(conn: Any) -> None:
        conn.recv_body(3)
        conn.sleep(30)

    server = raw_server(silent)
    timeout = httpduo.Timeout(10.0, connect=0.3)
    with pytest.raises(httpduo.ConnectTimeout, match="handshake with the SOCKS5 proxy"):
        await get_via(
            server.url.replace("http://", "socks5h://"), "http://example.invalid/", timeout=timeout
        )


async def test_socks_origin_closing_mid_tunnel(raw_server: Any) -> None:
    def hang_up(conn: Any) -> None:
        conn.recv_request_head()
        conn.close()

    server = raw_server(socks5([], then=hang_up))
    with pytest.raises(httpduo.RemoteProtocolError, match="disconnected"):
        await get_via(server.url.replace("http://", "socks5h://"), "http://example.invalid/")


async def test_socks4_and_socks4a_requests(raw_server: Any) -> None:
    seen: list[Any] = []
    server = raw_server(socks4(seen))
    proxy = with_auth(server.url.replace("http://", "socks4://"), "ident", "unused")
    assert (await get_via(proxy, "http://192.0.2.7:8080/")).content == b"ok"
    head, user_id, name = seen[0]
    assert head == b"\x04\x01" + struct.pack(">H", 8080) + bytes([192, 0, 2, 7])
    assert (user_id, name) == (b"ident", None)

    proxy = server.url.replace("http://", "socks4a://")
    assert (await get_via(proxy, "http://example.invalid/")).content == b"ok"
    head, user_id, name = seen[1]
    assert head[:4] == b"\x04\x01" + struct.pack(">H", 80)
    assert (user_id, name) == (b"", b"example.invalid")


async def test_socks4_refusal_and_ipv6(raw_server: Any) -> None:
    server = raw_server(socks4([], reply=0x5B))
    proxy = server.url.replace("http://", "socks4://")
    with pytest.raises(
        httpduo.ProxyError, match=r"request rejected or failed \(SOCKS4 reply 0x5b\)"
    ):
        await get_via(proxy, "http://192.0.2.7/")
    with pytest.raises(httpduo.ProxyError, match="cannot reach the IPv6 address"):
        await get_via(proxy, "http://[2001:db8::1]/")
