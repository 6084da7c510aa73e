"""AsyncClient's private surface, as packages built on httpx use it: the call chain they
patch (respx, vcrpy), the transport hooks they override (hishel, the OpenAI SDK), the
names they read (Starlette's TestClient), and streams and exceptions of their own."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, Optional

import pytest

import httpduo
from httpduo._models._client_config import ClientState

pytestmark = pytest.mark.anyio


class CannedTransport(httpduo.AsyncBaseTransport):
    """Answers every request itself (what respx's mocked transport does)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    async def handle_async_request(self, request: httpduo.Request) -> httpduo.Response:
        self.urls.append(str(request.url))
        return httpduo.Response(299, content=b"canned")


class WrappingTransport(httpduo.AsyncBaseTransport):
    """Wraps the transport the client built (what hishel's cache transport does)."""

    def __init__(self, inner: httpduo.AsyncBaseTransport) -> None:
        self.inner = inner
        self.seen = 0

    async def handle_async_request(self, request: httpduo.Request) -> httpduo.Response:
        self.seen += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class TracingClient(httpduo.AsyncClient):
    """Records the private steps of `send`, with the arguments they get."""

    def __init__(self, **kwargs: Any) -> None:
        self.calls: list[tuple[str, Any]] = []
        super().__init__(**kwargs)

    def _init_transport(self, *args: Any, **kwargs: Any) -> httpduo.AsyncBaseTransport:
        self.calls.append(("_init_transport", (args, sorted(kwargs))))
        return WrappingTransport(super()._init_transport(*args, **kwargs))

    def _init_proxy_transport(
        self, proxy: httpduo.Proxy, *args: Any, **kwargs: Any
    ) -> httpduo.AsyncBaseTransport:
        self.calls.append(("_init_proxy_transport", (proxy, args, sorted(kwargs))))
        return CannedTransport()

    # httpx passes all but the request by keyword; **kwargs checks that it is so.
    async def _send_handling_auth(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(("_send_handling_auth", sorted(kwargs)))
        return await super()._send_handling_auth(request, **kwargs)

    async def _send_handling_redirects(self, request: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        self.calls.append(("_send_handling_redirects", sorted(kwargs)))
        return await super()._send_handling_redirects(request, **kwargs)

    async def _send_single_request(self, request: Any) -> Any:
        self.calls.append(("_send_single_request", request.url.path))
        return await super()._send_single_request(request)

    def _transport_for_url(self, url: httpduo.URL) -> httpduo.AsyncBaseTransport:
        self.calls.append(("_transport_for_url", url.path))
        return super()._transport_for_url(url)


TRANSPORT_KEYWORDS = ["cert", "http1", "http2", "limits", "transport", "trust_env", "verify"]
SEND_STEPS = [
    ("_send_handling_auth", ["auth", "follow_redirects", "history"]),
    ("_send_handling_redirects", ["follow_redirects", "history"]),
]


async def test_every_request_goes_through_httpx_private_chain(server: Any) -> None:
    """No auth, no mounts, a redirect: every hop still passes `_send_single_request` and
    `_transport_for_url`, called the way httpx calls them."""
    async with TracingClient(base_url=server.url, follow_redirects=True) as client:
        assert client.calls == [("_init_transport", ((), TRANSPORT_KEYWORDS))]
        assert isinstance(client._transport, WrappingTransport)
        client.calls.clear()
        response = await client.get("/redirect/1")
        assert response.status_code == 200
        assert client.calls == [
            *SEND_STEPS,
            ("_send_single_request", "/redirect/1"),
            ("_transport_for_url", "/redirect/1"),
            ("_send_single_request", "/redirect/0"),
            ("_transport_for_url", "/redirect/0"),
        ]
        assert client._transport.seen == 2  # the wrapped transport really sent them

        client.calls.clear()
        await client.get("/basic_auth/u/p", auth=("u", "p"))
        assert client.calls[:2] == SEND_STEPS


async def test_patching_transport_for_url_on_the_class_routes_every_request(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """respx's httpx mocker: the patched method answers, nothing reaches the server."""
    canned = CannedTransport()

    def patched(self: httpduo.AsyncClient, url: httpduo.URL) -> httpduo.AsyncBaseTransport:
        return canned

    monkeypatch.setattr(httpduo.AsyncClient, "_transport_for_url", patched)
    async with httpduo.AsyncClient() as client:
        response = await client.get(server.url + "/json")
    assert (response.status_code, response.content) == (299, b"canned")
    assert canned.urls == [server.url + "/json"]


async def test_patching_send_single_request_sees_every_request(
    server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """vcrpy's way: wrap `_send_single_request` and set the body with `_content`."""
    original = httpduo.AsyncClient._send_single_request
    recorded: list[str] = []

    async def recording(self: httpduo.AsyncClient, request: httpduo.Request) -> Any:
        response = await original(self, request)
        await response.aread()
        recorded.append(request.url.path)
        response._content = b"replayed"
        return response

    monkeypatch.setattr(httpduo.AsyncClient, "_send_single_request", recording)
    async with httpduo.AsyncClient(base_url=server.url) as client:
        response = await client.get("/json")
    assert recorded == ["/json"]
    assert response.content == b"replayed"


async def test_proxies_go_through_init_proxy_transport(monkeypatch: pytest.MonkeyPatch) -> None:
    client = TracingClient(proxy="http://proxy.invalid:3128", http2=True)
    (name, (proxy, args, keywords)), *_ = client.calls[1:]
    assert name == "_init_proxy_transport"
    assert isinstance(proxy, httpduo.Proxy)
    assert proxy.url == "http://proxy.invalid:3128"
    assert (args, keywords) == ((), sorted(set(TRANSPORT_KEYWORDS) - {"transport"}))
    assert [pattern.pattern for pattern in client._mounts] == ["all://"]
    routed = client._transport_for_url(httpduo.URL("https://a.example/"))
    assert isinstance(routed, CannedTransport)
    await client.aclose()

    monkeypatch.setenv("HTTPS_PROXY", "http://env-proxy.invalid:8080")
    monkeypatch.setenv("NO_PROXY", "localhost")
    client = TracingClient()
    proxies = [call[1][0] for call in client.calls if call[0] == "_init_proxy_transport"]
    assert [str(proxy.url) for proxy in proxies] == ["http://env-proxy.invalid:8080"]
    assert client._transport_for_url(httpduo.URL("http://localhost/")) is client._transport
    await client.aclose()


async def test_mounts_are_httpx_shaped() -> None:
    canned = CannedTransport()
    mounts: dict[str, Optional[httpduo.AsyncBaseTransport]] = {
        "all://": canned,
        "https://example.com": None,
        "http://example.com:8080": canned,
    }
    async with httpduo.AsyncClient(mounts=mounts) as client:
        assert isinstance(client._mounts, dict)
        # Most specific first: a port, then a longer host, then a named scheme.
        assert [pattern.pattern for pattern in client._mounts] == [
            "http://example.com:8080",
            "https://example.com",
            "all://",
        ]
        assert list(client._mounts.values()) == [canned, None, canned]
        assert client._transport_for_url(httpduo.URL("https://example.com/")) is (
            client._transport
        )


async def test_merge_url_state_and_auth_names() -> None:
    client = httpduo.AsyncClient(base_url="http://testserver/api", auth=("u", "p"))
    assert client._merge_url("/users") == "http://testserver/api/users"
    assert client._merge_url(httpduo.URL("https://other/x")) == "https://other/x"
    assert client._base_url == "http://testserver/api/"
    assert isinstance(client._auth, httpduo.BasicAuth)
    states = [client._state]
    async with client:
        states.append(client._state)
    states.append(client._state)
    assert states == [ClientState.UNOPENED, ClientState.OPENED, ClientState.CLOSED]
    assert [state.name for state in ClientState] == ["UNOPENED", "OPENED", "CLOSED"]


class Upgrade(Exception):
    """Raised by a transport written by a user (Starlette's TestClient's `_Upgrade`)."""


class RaisingTransport(httpduo.AsyncBaseTransport):
    async def handle_async_request(self, request: httpduo.Request) -> httpduo.Response:
        raise Upgrade(request.url.path)


async def test_exception_from_a_custom_transport_propagates_unwrapped() -> None:
    async with httpduo.AsyncClient(transport=RaisingTransport()) as client:
        with pytest.raises(Upgrade) as caught:
            await client.request("GET", "http://testserver/ws")
    assert caught.value.args == ("/ws",)
    assert not isinstance(caught.value, httpduo.HTTPError)


class CacheStream(httpduo.ByteStream):
    """hishel's shape: its own __init__ (ByteStream's is never called), iteration and
    closing of its own."""

    def __init__(self, inner: AsyncIterator[bytes]) -> None:
        self._inner = inner
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        self.closed = True


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


class CachingTransport(httpduo.AsyncBaseTransport):
    def __init__(self, inner: httpduo.AsyncBaseTransport) -> None:
        self.inner = inner
        self.streams: list[CacheStream] = []

    async def handle_async_request(self, request: httpduo.Request) -> httpduo.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        stream = CacheStream(chunks(body[:3], body[3:]))
        self.streams.append(stream)
        return httpduo.Response(
            response.status_code, headers=response.headers, stream=stream, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_byte_stream_subclasses_of_their_own_as_request_and_response_bodies(
    server: Any,
) -> None:
    transport = CachingTransport(httpduo.AsyncHTTPTransport())
    async with httpduo.AsyncClient(base_url=server.url, transport=transport) as client:
        request = client.build_request("POST", "/echo_body")
        request.stream = CacheStream(chunks(b"hello ", b"world"))
        del request.headers["Content-Length"]
        request.headers["Transfer-Encoding"] = "chunked"
        response = await client.send(request)
        assert response.content == b"hello world"
        assert transport.streams[0].closed

        async with client.stream("GET", "/json") as response:
            parts = []
            async for part in response.aiter_raw():
                parts.append(part)
        assert json.loads(b"".join(parts)) == {"Hello": "world!"}
        assert len(parts) == 2
