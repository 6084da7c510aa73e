"""A response abandoned mid-iteration leaves nothing for the garbage collector.

Body iterators are iterator classes, not async generators: under trio an abandoned async
generator is finalised by the garbage collector with a `ResourceWarning` ("Async
generator ... was garbage collected before it had been exhausted") and an `aclose()`
scheduled behind the caller's back. Async only (asyncio and trio), against the real
servers the suite starts.
"""

from __future__ import annotations

import gc
import sys
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any, Callable

import pytest

import httpduo

pytestmark = pytest.mark.anyio

ITERATORS: dict[str, Callable[[httpduo.Response], AsyncIterator[Any]]] = {
    "aiter_bytes": lambda response: response.aiter_bytes(),
    "aiter_bytes(chunk_size)": lambda response: response.aiter_bytes(chunk_size=100),
    "aiter_raw": lambda response: response.aiter_raw(),
    "aiter_text": lambda response: response.aiter_text(),
    "aiter_lines": lambda response: response.aiter_lines(),
    "stream itself": lambda response: response.stream.__aiter__(),  # type: ignore[union-attr]
}


LINES = b"a line of the body, with its ending\n" * 20000


class Collected:
    """Warnings and unraisable exceptions seen while the block runs."""

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.unraisable: list[str] = []


@contextmanager
def collecting() -> Iterator[Collected]:
    # Entered in the test's body: pytest swaps the warning filters and the unraisable
    # hook per test phase, so a fixture's would not see the test's own.
    seen = Collected()
    previous_hook = sys.unraisablehook
    sys.unraisablehook = lambda unraisable: seen.unraisable.append(repr(unraisable.exc_value))
    try:
        with warnings.catch_warnings(record=True) as recorded:
            warnings.simplefilter("always")
            yield seen
            gc.collect()
        seen.warnings.extend(str(warning.message) for warning in recorded)
    finally:
        sys.unraisablehook = previous_hook


async def first_item(iterator: AsyncIterator[Any]) -> Any:
    async for item in iterator:
        return item  # the iterator is dropped here, mid-body
    raise AssertionError("the body was empty")


@pytest.mark.parametrize("name", list(ITERATORS))
@pytest.mark.parametrize("http2", [False, True], ids=["HTTP/1.1", "HTTP/2"])
async def test_abandoning_a_streamed_response_leaves_nothing_to_finalise(
    server: Any, h2c_server: Any, name: str, http2: bool
) -> None:
    with collecting() as collected:
        await abandon_mid_body(server, h2c_server, name, http2)

    assert collected.warnings == []
    assert collected.unraisable == []


async def abandon_mid_body(server: Any, h2c_server: Any, name: str, http2: bool) -> None:
    url = (h2c_server if http2 else server).url + "/echo_body"
    transport = httpduo.AsyncHTTPTransport(http1=not http2, http2=http2)
    async with httpduo.AsyncClient(transport=transport) as client:
        # Far more than one read: the first item is there long before the body's end.
        async with client.stream("POST", url, content=LINES) as response:
            assert response.http_version == ("HTTP/2" if http2 else "HTTP/1.1")
            item = await first_item(ITERATORS[name](response))
            assert item
            gc.collect()
            assert not response.is_closed
        assert response.is_closed
        # The connection was closed (the rest of the body was still on its way) or its
        # stream given back: the client goes on working.
        again = await client.post(url, content=LINES)
        assert again.content == LINES
        pool = transport.pool
        assert all(connection.is_idle() for connection in pool.connections)


async def test_abandoning_a_decoded_body_leaves_nothing_to_finalise(server: Any) -> None:
    url = server.url + "/gzip?size=300000"
    with collecting() as collected:
        async with httpduo.AsyncClient() as client, client.stream("GET", url) as response:
            assert response.headers["content-encoding"] == "gzip"
            assert await first_item(response.aiter_bytes(chunk_size=10))
            gc.collect()

    assert collected.warnings == []
    assert collected.unraisable == []


async def endless_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    for _ in range(10_000):  # bounded; the client stops reading long before the end
        await send({"type": "http.response.body", "body": b"chunk\n", "more_body": True})
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def test_abandoning_a_streaming_asgi_response_leaves_nothing_to_finalise() -> None:
    transport = httpduo.ASGITransport(endless_app, streaming=True)
    with collecting() as collected:
        async with httpduo.AsyncClient(transport=transport, base_url="http://app") as client:
            async with client.stream("GET", "/") as response:
                assert await first_item(response.aiter_lines()) == "chunk"
                gc.collect()
            assert response.is_closed

    assert collected.warnings == []
    assert collected.unraisable == []
