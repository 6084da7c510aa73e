"""ASGITransport on asyncio and trio: the scope, request and response streaming, early
close, cancellation and app errors, in the default (httpx) mode and with streaming=True."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Callable, Optional

import anyio
import anyio.lowlevel
import pytest

import httpduo
from httpduo._transports.asgi import ASGITransport

pytestmark = pytest.mark.anyio

Scope = Any
Receive = Callable[[], Any]
Send = Callable[[Any], Any]

MODES = ["default", "streaming"]

# Generous bound for anything that waits: a hang fails the test instead of the run.
WAIT = 10


class AppError(Exception):
    pass


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    value: str = request.param
    return value


@asynccontextmanager
async def client_for(app: Any, mode: str, **kwargs: Any) -> AsyncIterator[httpduo.AsyncClient]:
    transport = ASGITransport(app, streaming=mode == "streaming", **kwargs)
    async with httpduo.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def read_body(receive: Receive) -> list[dict[str, Any]]:
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message["more_body"]:
            return messages


async def start(send: Send, status: int = 200, headers: Optional[list[Any]] = None) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers or []})


async def body(send: Send, data: bytes, more: bool = False) -> None:
    await send({"type": "http.response.body", "body": data, "more_body": more})


# -- scope ----------------------------------------------------------------------------------


async def echo_scope(scope: Scope, receive: Receive, send: Send) -> None:
    messages = await read_body(receive)
    report = {
        key: scope[key]
        for key in (
            "type",
            "asgi",
            "http_version",
            "method",
            "scheme",
            "path",
            "root_path",
            "server",
            "client",
            "extensions",
        )
    }
    report["raw_path"] = scope["raw_path"].decode("latin-1")
    report["query_string"] = scope["query_string"].decode("latin-1")
    report["headers"] = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
    report["body"] = b"".join(m["body"] for m in messages).decode()
    await start(send, headers=[(b"content-type", b"application/json")])
    await body(send, json.dumps(report).encode())


async def test_scope(mode: str) -> None:
    async with client_for(echo_scope, mode) as client:
        response = await client.post(
            "https://example.org:8443/caf%C3%A9/x%2Fy?a=1&b=%20",
            headers=[("X-Dup", "1"), ("X-Case", "Value"), ("X-Dup", "2")],
            content=b"hello",
        )
    scope = response.json()
    headers = scope.pop("headers")
    # Raw bytes with lower-cased names, in the order sent, repeats kept.
    assert headers[0] == ["host", "example.org:8443"]
    assert [pair for pair in headers if pair[0].startswith("x-")] == [
        ["x-dup", "1"],
        ["x-case", "Value"],
        ["x-dup", "2"],
    ]
    assert ["content-length", "5"] in headers
    assert all(name == name.lower() for name, _ in headers)
    assert len(headers) == len(response.request.headers.raw)
    assert scope == {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "https",
        "path": "/caf\u00e9/x/y",
        "raw_path": "/caf%C3%A9/x%2Fy",
        "query_string": "a=1&b=%20",
        "root_path": "",
        "server": ["example.org", 8443],
        "client": ["127.0.0.1", 123],
        "extensions": {},
        "body": "hello",
    }


async def test_scope_defaults_and_options(mode: str) -> None:
    async with client_for(echo_scope, mode, root_path="/api", client=("10.0.0.1", 4321)) as client:
        scope = (await client.get("/api/items")).json()
    assert scope["server"] == ["testserver", 80]
    assert scope["client"] == ["10.0.0.1", 4321]
    assert scope["root_path"] == "/api"
    assert scope["path"] == "/api/items"  # the full path, as httpx sends it
    assert scope["query_string"] == ""
    assert scope["body"] == ""


async def test_default_mode_runs_the_app_in_the_callers_task() -> None:
    # httpx's behaviour, which apps keyed on the current task (scoped sessions) rely on.
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(anyio.get_current_task().id)
        await start(send)
        await body(send, b"")

    async with client_for(app, "default") as client:
        await client.get("/")
    assert seen == [anyio.get_current_task().id]


# -- request bodies -------------------------------------------------------------------------


async def test_request_body_reaches_the_app_chunk_by_chunk(mode: str) -> None:
    got_first = anyio.Event()
    messages: list[dict[str, Any]] = []

    async def request_body() -> AsyncIterator[bytes]:
        yield b"one"
        # Only sent once the app has seen the first chunk: the body is not read up front.
        await got_first.wait()
        yield b"two"

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            messages.append(message)
            got_first.set()
            if not message["more_body"]:
                break
        await start(send)
        await body(send, b"done")

    with anyio.fail_after(WAIT):
        async with client_for(app, mode) as client:
            response = await client.post("/", content=request_body())
    assert response.content == b"done"
    assert messages == [
        {"type": "http.request", "body": b"one", "more_body": True},
        {"type": "http.request", "body": b"two", "more_body": True},
        {"type": "http.request", "body": b"", "more_body": False},
    ]


async def test_in_memory_request_body_is_one_message(mode: str) -> None:
    messages: list[dict[str, Any]] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        messages.extend(await read_body(receive))
        await start(send)
        await body(send, b"")

    async with client_for(app, mode) as client:
        await client.put("/", json={"a": 1})
    assert messages == [{"type": "http.request", "body": b'{"a":1}', "more_body": False}]


async def test_request_body_must_be_async() -> None:
    request = httpduo.Request("POST", "http://testserver/", content=iter([b"sync"]))
    with pytest.raises(RuntimeError, match="AsyncByteStream"):
        await ASGITransport(echo_scope).handle_async_request(request)


async def test_disconnect_comes_once_the_response_is_complete(mode: str) -> None:
    # Like Starlette's StreamingResponse: one task sends, another listens for disconnect.
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)

        async def listen() -> None:
            message = await receive()
            events.append(message["type"])
            events.append((await receive())["type"])  # and it stays disconnected

        async with anyio.create_task_group() as group:
            group.start_soon(listen)
            await start(send)
            for chunk in (b"a", b"b"):
                await anyio.lowlevel.checkpoint()
                await body(send, chunk, more=True)
                events.append("sent")
            await body(send, b"", more=False)
            events.append("sent final")

    with anyio.fail_after(WAIT):
        async with client_for(app, mode) as client:
            response = await client.get("/")
    assert response.content == b"ab"
    assert events == ["sent", "sent", "sent final", "http.disconnect", "http.disconnect"]


async def test_work_after_the_last_chunk_finishes_before_the_response_is_read(
    mode: str,
) -> None:
    done: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await body(send, b"response")
        for _ in range(5):  # background work, as Starlette runs it
            await anyio.lowlevel.checkpoint()
        done.append("background task")

    async with client_for(app, mode) as client:
        response = await client.get("/")
        assert response.content == b"response"
        assert done == ["background task"]


# -- streaming responses --------------------------------------------------------------------


async def test_streaming_response_arrives_before_the_app_finishes() -> None:
    release = anyio.Event()
    finished: list[bool] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send, headers=[(b"x-stream", b"1")])
        await body(send, b"first", more=True)
        await release.wait()
        await body(send, b"second", more=True)
        await body(send, b"third")
        finished.append(True)

    with anyio.fail_after(WAIT):
        async with (
            client_for(app, "streaming") as client,
            client.stream("GET", "/") as response,
        ):
            assert response.status_code == 200
            assert response.headers["x-stream"] == "1"
            chunks = response.aiter_raw()
            assert await chunks.__anext__() == b"first"
            assert finished == []  # the app is still waiting for us
            release.set()
            assert [chunk async for chunk in chunks] == [b"second", b"third"]
            assert finished == [True]


async def test_streaming_backpressure_the_app_waits_for_the_reader() -> None:
    sent: list[int] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        for index in range(5):
            await body(send, b"%d" % index, more=True)
            sent.append(index)
        await body(send, b"")

    with anyio.fail_after(WAIT):
        async with client_for(app, "streaming") as client:
            async with client.stream("GET", "/") as response:
                chunks = response.aiter_raw()
                assert await chunks.__anext__() == b"0"
                for _ in range(10):
                    await anyio.lowlevel.checkpoint()
                assert sent == [0]  # not run ahead of the reader
                assert [chunk async for chunk in chunks] == [b"1", b"2", b"3", b"4"]
            assert sent == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("blocked_in", ["event", "send"])
async def test_closing_a_streaming_response_early_cancels_the_app(blocked_in: str) -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await start(send)
            await body(send, b"first", more=True)
            if blocked_in == "event":
                await anyio.Event().wait()  # never set
            while True:
                await body(send, b"more", more=True)  # blocks once the reader stops
        except anyio.get_cancelled_exc_class():
            events.append("cancelled")
            raise
        finally:
            events.append("finally")

    with anyio.fail_after(WAIT):
        async with client_for(app, "streaming") as client:
            async with client.stream("GET", "/") as response:
                # Held on to: closing the response, not dropping the iterator, must do it.
                chunks = response.aiter_raw()
                assert await chunks.__anext__() == b"first"
            # Closing waited for the app to wind down.
            assert events == ["cancelled", "finally"]
            # The transport still works.
            async with client.stream("GET", "/") as response:
                assert await response.aiter_raw().__anext__() == b"first"
            assert events == ["cancelled", "finally"] * 2
            del chunks


async def test_cancelling_the_caller_while_waiting_cancels_the_app(mode: str) -> None:
    entered = anyio.Event()
    app_done = anyio.Event()
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            entered.set()
            await anyio.Event().wait()  # never starts a response
        except anyio.get_cancelled_exc_class():
            events.append("app cancelled")
            raise
        finally:
            app_done.set()

    with anyio.fail_after(WAIT):
        async with client_for(app, mode) as client:
            async with anyio.create_task_group() as group:

                async def request() -> None:
                    await client.get("/")
                    events.append("request returned")  # pragma: no cover

                group.start_soon(request)
                await entered.wait()
                group.cancel_scope.cancel()
            await app_done.wait()
    assert events == ["app cancelled"]


async def test_leaving_the_transport_cancels_apps_of_unclosed_responses() -> None:
    events: list[str] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await start(send)
            await anyio.Event().wait()
        finally:
            events.append("app ended")

    transport = ASGITransport(app, streaming=True)
    with anyio.fail_after(WAIT):
        async with transport:
            request = httpduo.Request("GET", "http://testserver/")
            response = await transport.handle_async_request(request)
            assert response.status_code == 200
            assert events == []
    assert events == ["app ended"]
    await response.aclose()  # still fine afterwards: the body just ends
    assert response.is_closed


async def test_streaming_needs_an_open_transport() -> None:
    transport = ASGITransport(echo_scope, streaming=True)
    with pytest.raises(RuntimeError, match="async with"):
        await transport.handle_async_request(httpduo.Request("GET", "http://testserver/"))
    async with transport:
        with pytest.raises(RuntimeError, match="already open"):
            await transport.__aenter__()
    # Reopening after a close works.
    async with transport:
        response = await transport.handle_async_request(httpduo.Request("GET", "http://t/"))
        await response.aread()
        assert response.json()["path"] == "/"


async def test_concurrent_streaming_requests_do_not_mix() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        for part in scope["path"].strip("/"):
            await anyio.lowlevel.checkpoint()
            await body(send, part.encode(), more=True)
        await body(send, b"")

    results: dict[str, bytes] = {}
    with anyio.fail_after(WAIT):
        async with client_for(app, "streaming") as client:

            async def fetch(path: str) -> None:
                results[path] = (await client.get(path)).content

            async with anyio.create_task_group() as group:
                for path in ("/abc", "/defgh", "/ij", "/k"):
                    group.start_soon(fetch, path)
    assert results == {"/abc": b"abc", "/defgh": b"defgh", "/ij": b"ij", "/k": b"k"}


# -- app errors -----------------------------------------------------------------------------


async def test_exception_before_the_response_propagates_unwrapped(mode: str) -> None:
    error = AppError("before start")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await read_body(receive)
        raise error

    async with client_for(app, mode) as client:
        with pytest.raises(AppError) as caught:
            await client.get("/")
    assert caught.value is error


async def test_exception_before_the_response_gives_500_when_not_raised(mode: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise AppError("before start")

    async with client_for(app, mode, raise_app_exceptions=False) as client:
        response = await client.get("/")
    assert response.status_code == 500
    assert response.content == b""


async def test_exception_after_the_response_started(mode: str) -> None:
    error = AppError("after start")

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send, status=202)
        await body(send, b"partial", more=True)
        raise error

    async with client_for(app, mode) as client:
        with pytest.raises(AppError) as caught:
            await client.get("/")
        assert caught.value is error
    async with client_for(app, mode, raise_app_exceptions=False) as client:
        response = await client.get("/")
        assert response.status_code == 202
        assert response.content == b"partial"  # the body ends where the app stopped


async def test_streaming_exception_surfaces_while_reading_the_body() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await body(send, b"first", more=True)
        raise AppError("mid-body")

    with anyio.fail_after(WAIT):
        async with (
            client_for(app, "streaming") as client,
            client.stream("GET", "/") as response,
        ):
            assert response.status_code == 200
            chunks = response.aiter_raw()
            assert await chunks.__anext__() == b"first"
            with pytest.raises(AppError, match="mid-body"):
                await chunks.__anext__()


def no_response(scope: Scope, receive: Receive, send: Send) -> Any:
    async def app() -> None:
        await read_body(receive)

    return app()


async def start_twice(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send)
    await start(send)


async def body_first(scope: Scope, receive: Receive, send: Send) -> None:
    await body(send, b"x")


async def text_status(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": "200", "headers": []})


async def bad_header(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send, headers=[(b"x-bad", b"line\r\nbreak")])


async def str_body(scope: Scope, receive: Receive, send: Send) -> None:
    await start(send)
    await send({"type": "http.response.body", "body": "text"})


@pytest.mark.parametrize(
    ("app", "error", "message"),
    [
        (no_response, RuntimeError, "without sending 'http.response.start'"),
        (start_twice, RuntimeError, "twice"),
        (body_first, RuntimeError, "before 'http.response.start'"),
        (text_status, TypeError, "must be an int"),
        (bad_header, ValueError, "x-bad"),
        (str_body, TypeError, "str"),
    ],
    ids=["no-response", "start-twice", "body-first", "text-status", "bad-header", "str-body"],
)
async def test_broken_apps_get_clear_errors(
    mode: str, app: Any, error: type[Exception], message: str
) -> None:
    async with client_for(app, mode) as client:
        with pytest.raises(error, match=message):
            await client.get("/")


async def test_body_after_the_last_one_is_an_error(mode: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send)
        await body(send, b"done")
        await body(send, b"extra")

    async with client_for(app, mode) as client:
        with pytest.raises(RuntimeError, match="after its last one"):
            await client.get("/")


# -- odds and ends --------------------------------------------------------------------------


async def test_head_has_no_body_and_unknown_messages_are_ignored(mode: str) -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await start(send, headers=[(b"content-length", b"4")])
        await send({"type": "http.response.debug", "info": {}})
        await body(send, b"body")

    async with client_for(app, mode) as client:
        response = await client.head("/")
        assert response.headers["content-length"] == "4"
        assert response.content == b""
        assert (await client.get("/")).content == b"body"


def test_importing_the_transport_does_not_import_anyio() -> None:
    code = "import sys, httpduo._transports.asgi; print('anyio' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "False"
