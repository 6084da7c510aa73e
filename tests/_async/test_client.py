"""AsyncClient against the real server on 127.0.0.1: building, sending, redirects,
auth, cookies, hooks, mounts, timeouts and the client's lifetime."""

from __future__ import annotations

import datetime
import json
import logging
from typing import Any

import pytest

import httpduo
from tests.helpers import asleep

pytestmark = pytest.mark.anyio


async def test_get_and_default_headers(server: Any) -> None:
    async with httpduo.AsyncClient() as client:
        response = await client.get(server.url + "/echo_headers")
    headers = dict(json.loads(response.content))
    assert headers["user-agent"] == f"python-httpduo/{httpduo.__version__}"
    assert headers["accept"] == "*/*"
    assert "gzip" in headers["accept-encoding"]
    assert headers["connection"] == "keep-alive"
    assert isinstance(response.elapsed, datetime.timedelta)
    assert response.request.url == server.url + "/echo_headers"


async def test_elapsed_runs_until_the_response_is_closed(server: Any) -> None:
    async with httpduo.AsyncClient() as client:
        async with client.stream("GET", server.url + "/") as response:
            with pytest.raises(RuntimeError, match="elapsed"):
                _ = response.elapsed
            await asleep(0.2)
        assert response.elapsed >= datetime.timedelta(seconds=0.2)
        # Closing again does not move it.
        first = response.elapsed
        await response.aclose()
        assert response.elapsed == first


async def test_post_json_form_and_files(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url) as client:
        response = await client.post("/echo_body", json={"a": [1, 2]})
        assert response.content == b'{"a":[1,2]}'
        assert response.headers["content-type"] == "application/json"
        response = await client.post("/echo_body", data={"a": "1", "b": ["x", "y"]})
        assert response.content == b"a=1&b=x&b=y"
        response = await client.post("/echo_body", files={"f": ("a.txt", b"hi", "text/plain")})
        assert b'filename="a.txt"' in response.content
        assert response.headers["content-type"].startswith("multipart/form-data; boundary=")


async def test_base_url_params_and_headers_merge(server: Any) -> None:
    async with httpduo.AsyncClient(
        base_url=server.url,
        params={"a": "1"},
        headers={"X-Client": "yes"},
    ) as client:
        response = await client.get("/echo_headers", params={"b": "2"}, headers={"X-Req": "1"})
        assert response.request.url.params == httpduo.QueryParams("a=1&b=2")
        headers = dict(json.loads(response.content))
        assert headers["x-client"] == "yes"
        assert headers["x-req"] == "1"


async def test_base_url_with_path(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url + "/status") as client:
        response = await client.get("/418")
    assert response.status_code == 418
    assert response.request.url == server.url + "/status/418"


async def test_cookies_persist_across_requests(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url) as client:
        await client.get("/cookies/set?flavour=oat")
        assert client.cookies["flavour"] == "oat"
        response = await client.get("/cookies")
        assert response.json()["cookies"] == {"flavour": "oat"}


async def test_redirects_off_by_default_with_next_request(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url) as client:
        response = await client.get("/redirect/2")
        assert response.status_code == 302
        assert response.next_request is not None
        assert response.next_request.url == server.url + "/redirect/1"
        assert response.history == []


async def test_follow_redirects_with_history(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url, follow_redirects=True) as client:
        response = await client.get("/redirect/3")
        assert response.status_code == 200
        assert [r.status_code for r in response.history] == [302, 302, 302]
        assert response.url == server.url + "/redirect/0"
        # Per request, USE_CLIENT_DEFAULT can be overridden.
        response = await client.get("/redirect/1", follow_redirects=False)
        assert response.status_code == 302


async def test_relative_and_absolute_redirects(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url, follow_redirects=True) as client:
        response = await client.get("/relative_redirect")
        assert response.url == server.url + "/json"
        response = await client.get("/absolute_redirect")
        assert response.url == server.url + "/json"


@pytest.mark.parametrize(
    ("status", "method", "expected_method", "body_kept"),
    [
        (301, "POST", "GET", False),
        (302, "POST", "GET", False),
        (303, "PUT", "GET", False),
        (303, "HEAD", "HEAD", True),
        (307, "POST", "POST", True),
        (308, "PUT", "PUT", True),
        (302, "PUT", "PUT", True),
    ],
)
async def test_redirect_methods_and_bodies(
    server: Any, status: int, method: str, expected_method: str, body_kept: bool
) -> None:
    async with httpduo.AsyncClient(base_url=server.url, follow_redirects=True) as client:
        response = await client.request(
            method, f"/redirect_to?url=/echo_body&status={status}", content=b"payload"
        )
    final = response.request
    assert final.method == expected_method
    if expected_method != "HEAD":
        assert response.content == (b"payload" if body_kept else b"")
    assert ("content-length" in final.headers) == body_kept


async def test_too_many_redirects(server: Any) -> None:
    async with httpduo.AsyncClient(
        base_url=server.url, follow_redirects=True, max_redirects=2
    ) as client:
        with pytest.raises(httpduo.TooManyRedirects) as info:
            await client.get("/redirect/5")
    assert info.value.request.url == server.url + "/redirect/2"


async def test_authorization_stripped_on_cross_origin_redirect(
    server: Any, server_short_keepalive: Any
) -> None:
    target = server_short_keepalive.url + "/echo_headers"
    async with httpduo.AsyncClient(follow_redirects=True) as client:
        response = await client.get(
            server.url + f"/redirect_to?url={target}",
            headers={"Authorization": "Bearer secret"},
        )
        headers = dict(json.loads(response.content))
        assert "authorization" not in headers
        assert headers["host"] == server_short_keepalive.url.split("://")[1]
        # Same origin keeps it.
        response = await client.get(
            server.url + "/redirect_to?url=/echo_headers",
            headers={"Authorization": "Bearer secret"},
        )
        assert dict(json.loads(response.content))["authorization"] == "Bearer secret"


async def test_invalid_and_unsupported_redirect_locations(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url, follow_redirects=True) as client:
        with pytest.raises(httpduo.RemoteProtocolError, match="Location"):
            await client.get("/redirect_to?url=http://[bad-ipv6/")
        with pytest.raises(httpduo.UnsupportedProtocol, match="ftp"):
            await client.get("/redirect_to?url=ftp://example.org/")


async def test_basic_auth_tuple_and_url_credentials(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url) as client:
        response = await client.get("/basic_auth/user/pass")
        assert response.status_code == 401
        response = await client.get("/basic_auth/user/pass", auth=("user", "pass"))
        assert response.status_code == 200
        host = server.url.split("://")[1]
        response = await client.get(f"http://user:pass@{host}/basic_auth/user/pass")
        assert response.status_code == 200


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256", "MD5-SESS", "SHA-512-256"])
async def test_digest_auth_against_real_endpoint(server: Any, algorithm: str) -> None:
    auth = httpduo.DigestAuth("user", "pass")
    async with httpduo.AsyncClient(base_url=server.url, auth=auth) as client:
        response = await client.get(f"/digest_auth/auth/user/pass/{algorithm}")
        assert response.status_code == 200, response.headers.get("x-digest-failure")
        assert response.json()["authenticated"] is True
        assert [r.status_code for r in response.history] == [401]


async def test_event_hooks_order_and_propagation(server: Any) -> None:
    seen: list[str] = []

    async def on_request(request: httpduo.Request) -> None:
        seen.append(f"request {request.url.path}")

    async def on_response(response: httpduo.Response) -> None:
        seen.append(f"response {response.status_code}")

    hooks: dict[str, list[Any]] = {"request": [on_request], "response": [on_response]}
    async with httpduo.AsyncClient(
        base_url=server.url, event_hooks=hooks, follow_redirects=True
    ) as client:
        await client.get("/redirect/1")
    assert seen == [
        "request /redirect/1",
        "response 302",
        "request /redirect/0",
        "response 200",
    ]

    class HookFailed(Exception):
        pass

    async def raise_for_status(response: httpduo.Response) -> None:
        raise HookFailed(str(response.status_code))

    async with httpduo.AsyncClient(
        base_url=server.url, event_hooks={"response": [raise_for_status]}
    ) as client:
        with pytest.raises(HookFailed, match="200"):
            await client.get("/")


class RecordingTransport(httpduo.AsyncBaseTransport):
    """A transport answering with its own name, to see which mount was chosen."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def handle_async_request(self, request: httpduo.Request) -> httpduo.Response:
        return httpduo.Response(200, content=self.name.encode())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://example.com:8080/", "port"),
        ("http://example.com/", "host"),
        ("https://www.example.com/", "subdomains"),
        ("https://other.org/", "https"),
        ("http://other.org/", "all"),
    ],
)
async def test_mount_priority(url: str, expected: str) -> None:
    mounts = {
        "all://": RecordingTransport("all"),
        "https://": RecordingTransport("https"),
        "all://*.example.com": RecordingTransport("subdomains"),
        "all://example.com": RecordingTransport("host"),
        "http://example.com:8080": RecordingTransport("port"),
    }
    async with httpduo.AsyncClient(mounts=mounts) as client:
        response = await client.get(url)
    assert response.text == expected


async def test_timeouts_per_client_and_request(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url, timeout=0.2) as client:
        with pytest.raises(httpduo.ReadTimeout):
            await client.get("/slow_body?delay=2")
        response = await client.get("/slow_body?delay=0.4", timeout=5.0)
        assert response.content == b"slow body"
        assert client.timeout == httpduo.Timeout(0.2)


async def test_stream_reads_lazily(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url) as client:
        async with client.stream("GET", "/bytes/100000") as response:
            assert not response.is_stream_consumed
            received = 0
            async for chunk in response.aiter_bytes():
                received += len(chunk)
        assert received == 100000
        assert response.is_closed


async def test_closed_client_refuses_requests(server: Any) -> None:
    client = httpduo.AsyncClient()
    async with client:
        pass
    assert client.is_closed
    with pytest.raises(RuntimeError, match="client has been closed"):
        await client.get(server.url)
    with pytest.raises(RuntimeError, match="reopen"):
        async with client:
            pass


async def test_client_cannot_be_opened_twice() -> None:
    async with httpduo.AsyncClient() as client:
        with pytest.raises(RuntimeError, match="more than once"):
            async with client:
                pass


async def test_info_log_line(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="httpduo")
    async with httpduo.AsyncClient() as client:
        await client.get(server.url + "/status/404")
    assert f'HTTP Request: GET {server.url}/status/404 "HTTP/1.1 404 Not Found"' in caplog.text


async def test_raise_for_status(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url) as client:
        response = await client.get("/status/503")
        with pytest.raises(httpduo.HTTPStatusError, match="503") as info:
            response.raise_for_status()
        assert info.value.response is response
        ok = await client.get("/")
        assert ok.raise_for_status() is ok


class CookieRoutes(httpduo.AsyncBaseTransport):
    """Answers /login with a redirect that sets cookies, and echoes the Cookie header."""

    async def handle_async_request(self, request: httpduo.Request) -> httpduo.Response:
        if request.url.path == "/login":
            return httpduo.Response(
                302,
                headers=[
                    ("Location", "/home"),
                    ("Set-Cookie", "session=abc; Path=/"),
                    ("Set-Cookie", "admin=1; Path=/admin"),
                    ("Set-Cookie", "secret=s; Path=/; Secure"),
                ],
            )
        return httpduo.Response(200, text=request.headers.get("Cookie", ""))


async def test_cookies_from_redirect_hops_and_matching_rules() -> None:
    async with httpduo.AsyncClient(transport=CookieRoutes(), follow_redirects=True) as client:
        response = await client.get("http://example.org/login")
        # Stored from the redirect hop and sent on the next hop; path and secure honoured.
        assert response.text == "session=abc"
        assert response.url == "http://example.org/home"
        response = await client.get("http://example.org/admin/panel")
        assert sorted(response.text.split("; ")) == ["admin=1", "session=abc"]
        response = await client.get("https://example.org/")
        assert sorted(response.text.split("; ")) == ["secret=s", "session=abc"]
        # Other domains get none of them.
        response = await client.get("http://example.com/")
        assert response.text == ""


async def test_built_requests_own_their_headers() -> None:
    async with httpduo.AsyncClient(headers={"X-Client": "1"}) as client:
        before = client.headers.raw
        plain = client.build_request("GET", "http://example.com/")
        extra = client.build_request("GET", "http://example.com/", headers={"X-Req": "2"})
        plain.headers["X-Changed"] = "3"
        extra.headers["X-Client"] = "changed"
        assert client.headers.raw == before
        assert "host" not in client.headers
        assert plain.headers["host"] == "example.com"
        assert (extra.headers["x-client"], extra.headers["x-req"]) == ("changed", "2")


async def test_use_client_default_for_auth_and_timeout(server: Any) -> None:
    async with httpduo.AsyncClient(base_url=server.url, auth=("user", "pass")) as client:
        response = await client.get("/basic_auth/user/pass")
        assert response.status_code == 200
        response = await client.get("/basic_auth/user/pass", auth=None)
        assert response.status_code == 401
        request = client.build_request("GET", "/", timeout=httpduo.USE_CLIENT_DEFAULT)
        assert request.extensions["timeout"] == client.timeout.as_dict()
        request = client.build_request("GET", "/", timeout=None)
        assert request.extensions["timeout"] == httpduo.Timeout(None).as_dict()
