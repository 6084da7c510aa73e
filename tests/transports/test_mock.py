"""MockTransport: handlers answer requests, sync and async, directly and through clients."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

import httpduo
from httpduo._transports.mock import MockTransport


class HandlerError(Exception):
    pass


def echo(request: httpduo.Request) -> httpduo.Response:
    """Reports what the handler saw: the body must already be readable as `.content`."""
    return httpduo.Response(
        200,
        json={
            "method": request.method,
            "url": str(request.url),
            "body": request.content.decode(),
            "x-test": request.headers.get("x-test"),
        },
    )


async def async_echo(request: httpduo.Request) -> httpduo.Response:
    return echo(request)


def sync_body() -> Iterator[bytes]:
    yield b"chunk-1 "
    yield b"chunk-2"


async def async_body() -> AsyncIterator[bytes]:
    yield b"chunk-1 "
    yield b"chunk-2"


def test_is_both_kinds_of_transport() -> None:
    transport = MockTransport(echo)
    assert isinstance(transport, httpduo.BaseTransport)
    assert isinstance(transport, httpduo.AsyncBaseTransport)
    assert transport.handler is echo
    with transport as entered:
        assert entered is transport


def test_sync_handler_sees_a_streamed_body_already_read() -> None:
    request = httpduo.Request("POST", "https://example.org/path", content=sync_body())
    response = MockTransport(echo).handle_request(request)
    assert response.json() == {
        "method": "POST",
        "url": "https://example.org/path",
        "body": "chunk-1 chunk-2",
        "x-test": None,
    }
    # The body was read into the request, so it can be sent again (redirects, retries).
    assert request.content == b"chunk-1 chunk-2"
    assert isinstance(request.stream, httpduo.SyncByteStream)
    assert b"".join(request.stream) == b"chunk-1 chunk-2"


def test_sync_path_refuses_an_async_handler_clearly() -> None:
    created: list[Any] = []

    def handler(request: httpduo.Request) -> Any:
        coroutine = async_echo(request)
        created.append(coroutine)
        return coroutine

    with pytest.raises(TypeError, match="async handler only with AsyncClient"):
        MockTransport(handler).handle_request(httpduo.Request("GET", "https://example.org"))
    # The coroutine was closed, not left to warn that it was never awaited.
    assert inspect.getcoroutinestate(created[0]) == inspect.CORO_CLOSED


@pytest.mark.parametrize("returned", [None, 200, "OK", b"OK", {"status": 200}])
def test_sync_handler_must_return_a_response(returned: object) -> None:
    transport = MockTransport(lambda request: returned)  # type: ignore[arg-type,return-value]
    with pytest.raises(TypeError, match=type(returned).__name__):
        transport.handle_request(httpduo.Request("GET", "https://example.org"))


def test_sync_handler_exception_propagates_unwrapped() -> None:
    error = HandlerError("boom")

    def handler(request: httpduo.Request) -> httpduo.Response:
        raise error

    with pytest.raises(HandlerError) as caught:
        MockTransport(handler).handle_request(httpduo.Request("GET", "https://example.org"))
    assert caught.value is error


def test_through_client() -> None:
    with httpduo.Client(transport=MockTransport(echo), base_url="https://example.org") as client:
        response = client.post("/submit", content=sync_body(), headers={"X-Test": "yes"})
    assert response.status_code == 200
    assert response.json() == {
        "method": "POST",
        "url": "https://example.org/submit",
        "body": "chunk-1 chunk-2",
        "x-test": "yes",
    }
    assert response.request.url == "https://example.org/submit"


def test_through_client_exceptions_are_not_wrapped() -> None:
    def handler(request: httpduo.Request) -> httpduo.Response:
        raise HandlerError(request.url.path)

    with (
        httpduo.Client(transport=MockTransport(handler)) as client,
        pytest.raises(HandlerError, match="/fail"),
    ):
        client.get("https://example.org/fail")


def test_through_client_async_handler_is_refused() -> None:
    with (
        httpduo.Client(transport=MockTransport(async_echo)) as client,
        pytest.raises(TypeError, match="AsyncClient"),
    ):
        client.get("https://example.org/")


def test_through_client_streaming_response() -> None:
    def handler(request: httpduo.Request) -> httpduo.Response:
        return httpduo.Response(200, content=sync_body())

    with (
        httpduo.Client(transport=MockTransport(handler)) as client,
        client.stream("GET", "https://example.org/") as response,
    ):
        assert list(response.iter_raw()) == [b"chunk-1 ", b"chunk-2"]


@pytest.mark.anyio
@pytest.mark.parametrize("handler", [echo, async_echo], ids=["sync", "async"])
async def test_async_path_accepts_sync_and_async_handlers(handler: Any) -> None:
    request = httpduo.Request("PUT", "http://example.org/x", content=async_body())
    response = await MockTransport(handler).handle_async_request(request)
    assert response.json()["body"] == "chunk-1 chunk-2"
    assert request.content == b"chunk-1 chunk-2"


@pytest.mark.anyio
@pytest.mark.parametrize("returned", [None, 204, "OK"])
async def test_async_handler_must_return_a_response(returned: object) -> None:
    async def handler(request: httpduo.Request) -> Any:
        return returned

    with pytest.raises(TypeError, match=type(returned).__name__):
        await MockTransport(handler).handle_async_request(
            httpduo.Request("GET", "https://example.org")
        )


@pytest.mark.anyio
@pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
async def test_async_path_exceptions_propagate_unwrapped(is_async: bool) -> None:
    error = HandlerError("boom")

    def sync_handler(request: httpduo.Request) -> httpduo.Response:
        raise error

    async def async_handler(request: httpduo.Request) -> httpduo.Response:
        raise error

    transport = MockTransport(async_handler if is_async else sync_handler)
    async with transport:
        with pytest.raises(HandlerError) as caught:
            await transport.handle_async_request(httpduo.Request("GET", "https://example.org"))
    assert caught.value is error


@pytest.mark.anyio
@pytest.mark.parametrize("handler", [echo, async_echo], ids=["sync", "async"])
async def test_through_async_client(handler: Any) -> None:
    transport = MockTransport(handler)
    async with httpduo.AsyncClient(transport=transport) as client:
        response = await client.post(
            "https://example.org/a?b=c", content=async_body(), headers={"X-Test": "1"}
        )
    assert json.loads(response.content) == {
        "method": "POST",
        "url": "https://example.org/a?b=c",
        "body": "chunk-1 chunk-2",
        "x-test": "1",
    }


@pytest.mark.anyio
async def test_through_async_client_async_handler_exception() -> None:
    async def handler(request: httpduo.Request) -> httpduo.Response:
        raise HandlerError(request.method)

    async with httpduo.AsyncClient(transport=MockTransport(handler)) as client:
        with pytest.raises(HandlerError, match="DELETE"):
            await client.delete("https://example.org/")
