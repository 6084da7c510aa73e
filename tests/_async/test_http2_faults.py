"""HTTP/2 against a scripted h2 server: GOAWAY, resets, changing limits, slow windows,
broken connections. Every fault maps to the right outcome and the pool stays consistent."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import AsyncIterator
from typing import Any, Callable, Union

import h2.events
import pytest
from h2.errors import ErrorCodes
from h2.settings import SettingCodes

import httpduo
from tests.helpers import arun_concurrently, asleep
from tests.servers.h2_scripted import H2Peer, H2Request, answer_path, serve_path

pytestmark = pytest.mark.anyio

TIMEOUTS = {"connect": 5.0, "read": 5.0, "write": 5.0, "pool": 5.0}


def h2c_transport(**kwargs: Any) -> httpduo.AsyncHTTPTransport:
    return httpduo.AsyncHTTPTransport(http1=False, http2=True, **kwargs)


async def send(
    transport: httpduo.AsyncHTTPTransport, method: str, url: str, **kwargs: Any
) -> httpduo.Response:
    kwargs.setdefault("extensions", {"timeout": TIMEOUTS})
    request = httpduo.Request(method, url, **kwargs)
    response = await transport.handle_async_request(request)
    await response.aread()
    return response


def outcome(transport: httpduo.AsyncHTTPTransport, url: str) -> Callable[[], Any]:
    """A request whose result is its body, or the transport error it raised."""

    async def run() -> Union[bytes, httpduo.TransportError]:
        try:
            response = await send(transport, "GET", url)
        except httpduo.TransportError as exc:
            return exc
        return response.content

    return run


def assert_pool_clean(transport: httpduo.AsyncHTTPTransport) -> None:
    assert transport.pool.num_waiting == 0
    for connection in transport.pool.connections:
        assert connection.is_idle(), connection


async def test_goaway_retries_streams_above_last_stream_id(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        if conn.index > 0:
            peer.serve(lambda p, r: p.respond(r.stream_id, b"second connection"))
            return
        requests = peer.wait_for_requests(4)
        # Streams above the second are dropped; the first two still get their answer.
        peer.goaway(last_stream_id=requests[1].stream_id)
        for request in requests[:2]:
            peer.respond(request.stream_id, b"first connection")
        peer.linger()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        bodies = await arun_concurrently([outcome(transport, fault.url + "/")] * 4)
        assert sorted(bodies) == [b"first connection"] * 2 + [b"second connection"] * 2
        assert_pool_clean(transport)
        assert len(transport.pool.connections) == 1
    assert fault.connections == 2


async def test_goaway_with_error_fails_unfinished_streams(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        if conn.index > 0:
            peer.serve(lambda p, r: p.respond(r.stream_id, b"retried"))
            return
        first, _ = peer.wait_for_requests(2)
        peer.send_headers(first.stream_id, 200, [(b"content-length", b"100")])
        peer.send_data(first.stream_id, b"partial")
        peer.goaway(last_stream_id=first.stream_id, error_code=ErrorCodes.PROTOCOL_ERROR)
        peer.linger()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        results = await arun_concurrently([outcome(transport, fault.url + "/")] * 2)
        errors = [r for r in results if isinstance(r, Exception)]
        assert [r for r in results if not isinstance(r, Exception)] == [b"retried"]
        assert len(errors) == 1
        assert isinstance(errors[0], httpduo.RemoteProtocolError)
        assert "PROTOCOL_ERROR" in str(errors[0])
        assert "before the response was complete" in str(errors[0])
        assert_pool_clean(transport)
    assert fault.connections == 2


def reset_by_path(peer: H2Peer, request: H2Request) -> None:
    if request.path == b"/reset":
        peer.reset(request.stream_id, ErrorCodes.INTERNAL_ERROR)
    elif request.path == b"/reset_mid_body":
        peer.send_headers(request.stream_id, 200, [(b"content-length", b"1000")])
        peer.send_data(request.stream_id, b"x" * 100)
        peer.reset(request.stream_id, ErrorCodes.ENHANCE_YOUR_CALM)
    else:
        peer.respond(request.stream_id, request.path)


async def test_rst_stream_fails_only_that_request(raw_server: Any) -> None:
    fault = raw_server(lambda conn: H2Peer(conn).serve(reset_by_path))
    async with h2c_transport() as transport:
        results = await arun_concurrently(
            [
                outcome(transport, fault.url + "/one"),
                outcome(transport, fault.url + "/reset"),
                outcome(transport, fault.url + "/two"),
                outcome(transport, fault.url + "/reset_mid_body"),
            ]
        )
        assert results[0] == b"/one"
        assert results[2] == b"/two"
        assert isinstance(results[1], httpduo.RemoteProtocolError)
        assert "INTERNAL_ERROR" in str(results[1])
        assert isinstance(results[3], httpduo.RemoteProtocolError)
        assert "ENHANCE_YOUR_CALM" in str(results[3])
        assert (await send(transport, "GET", fault.url + "/three")).content == b"/three"
        assert_pool_clean(transport)
    assert fault.connections == 1


@pytest.mark.parametrize("replayable", [True, False], ids=["bytes", "generator"])
async def test_goaway_during_upload(raw_server: Any, replayable: bool) -> None:
    """An unprocessed stream is sent again only if its body can be sent again."""

    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        if conn.index > 0:
            peer.serve(lambda p, r: p.respond(r.stream_id, bytes(r.body)))
            return
        peer.wait_for(lambda: bool(peer.requests))
        peer.goaway(last_stream_id=0)
        peer.linger()

    async def generator() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"part "
            await asleep(0.05)

    fault = raw_server(script)
    async with h2c_transport() as transport:
        if replayable:
            response = await send(transport, "POST", fault.url + "/", content=b"all at once")
            assert response.content == b"all at once"
        else:
            with pytest.raises(httpduo.RemoteProtocolError, match="cannot be sent again"):
                await send(transport, "POST", fault.url + "/", content=generator())
        assert_pool_clean(transport)
    assert fault.connections == (2 if replayable else 1)


async def test_refused_stream_is_sent_again(raw_server: Any) -> None:
    refused: list[int] = []

    def handler(peer: H2Peer, request: H2Request) -> None:
        if not refused:
            refused.append(request.stream_id)
            peer.reset(request.stream_id, ErrorCodes.REFUSED_STREAM)
        else:
            peer.respond(request.stream_id, b"second try")

    fault = raw_server(lambda conn: H2Peer(conn).serve(handler))
    async with h2c_transport() as transport:
        response = await send(transport, "POST", fault.url + "/", content=b"not idempotent")
        assert response.content == b"second try"
        assert_pool_clean(transport)
    assert refused == [1]
    assert fault.connections == 1


async def test_max_concurrent_streams_lowered_and_raised_during_burst(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn, max_concurrent_streams=10)
        peer.wait_for(lambda: len(peer.requests) >= 5)
        peer.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: 2})
        answered = []

        def handler(p: H2Peer, request: H2Request) -> None:
            conn.sleep(0.005)
            p.respond(request.stream_id, b"ok")
            answered.append(request.stream_id)
            if len(answered) == 15:
                p.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: 10})

        # h2 on this side rejects (and so fails the test) any stream over the limit.
        peer.serve(handler)

    fault = raw_server(script)
    limits = httpduo.Limits(max_connections=1)
    async with h2c_transport(limits=limits) as transport:
        bodies = await arun_concurrently([outcome(transport, fault.url + "/")] * 30)
        assert bodies == [b"ok"] * 30
        assert_pool_clean(transport)
        [connection] = transport.pool.connections
        assert connection.info().endswith("Streams: 0/10")
    assert fault.connections == 1


async def test_second_connection_only_when_streams_are_exhausted(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn, max_concurrent_streams=5)
        # Hold every answer until the burst has filled this connection.
        requests = peer.wait_for_requests(5 if conn.index == 0 else 3)
        for request in requests:
            peer.respond(request.stream_id, f"connection {conn.index}".encode())
        peer.serve(lambda p, r: None)

    fault = raw_server(script)
    async with h2c_transport() as transport:
        bodies = await arun_concurrently([outcome(transport, fault.url + "/")] * 8)
        assert sorted(bodies) == [b"connection 0"] * 5 + [b"connection 1"] * 3
        assert len(transport.pool.connections) == 2
        assert_pool_clean(transport)
    assert fault.connections == 2


async def test_upload_through_slowly_opening_window(raw_server: Any) -> None:
    body = bytes(range(256)) * 400  # 100 KiB against a 4 KiB stream window

    def script(conn: Any) -> None:
        peer = H2Peer(conn, initial_window_size=4096, auto_ack=False)
        while not peer.closed:
            peer.receive()
            if peer.unacked:
                conn.sleep(0.002)
                peer.ack_all()
            for request in list(peer.requests.values()):
                if request.complete and not request.reset:
                    request.reset = True  # answered
                    digest = hashlib.sha256(request.body).hexdigest()
                    info = {"length": len(request.body), "sha256": digest}
                    peer.respond(request.stream_id, json.dumps(info).encode())

    async def chunks() -> AsyncIterator[bytes]:
        for offset in range(0, len(body), 10_000):
            yield body[offset : offset + 10_000]

    fault = raw_server(script)
    async with h2c_transport() as transport:
        response = await send(transport, "POST", fault.url + "/", content=chunks())
        assert json.loads(response.content) == {
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        assert_pool_clean(transport)


async def test_window_that_never_opens_is_a_write_timeout(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn, initial_window_size=1000, auto_ack=False)
        peer.serve(lambda p, r: p.respond(r.stream_id, b"ok"))

    fault = raw_server(script)
    timeouts = dict(TIMEOUTS, write=0.2)
    async with h2c_transport() as transport:
        with pytest.raises(httpduo.WriteTimeout):
            await send(
                transport,
                "POST",
                fault.url + "/",
                content=b"x" * 5000,
                extensions={"timeout": timeouts},
            )
        # Only that stream is given up (reset); the connection serves the next request.
        response = await send(transport, "GET", fault.url + "/")
        assert response.content == b"ok"
        assert_pool_clean(transport)
    assert fault.connections == 1


async def test_larger_max_frame_size_is_used(raw_server: Any) -> None:
    sizes: list[int] = []

    def script(conn: Any) -> None:
        peer = H2Peer(conn, max_frame_size=32768, initial_window_size=1 << 20)
        [request] = peer.wait_for_requests(1)
        sizes.extend(
            len(e.data or b"") for e in peer.events if isinstance(e, h2.events.DataReceived)
        )
        peer.respond(request.stream_id, str(len(request.body)).encode())
        peer.linger()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        response = await send(transport, "POST", fault.url + "/", content=b"y" * 100_000)
    assert response.content == b"100000"
    assert max(sizes) == 32768


async def test_connection_reset_fails_streams_in_flight(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        if conn.index > 0:
            peer.serve()
            return
        requests = peer.wait_for_requests(3)
        peer.send_headers(requests[0].stream_id, 200, [(b"content-length", b"100")])
        peer.send_data(requests[0].stream_id, b"x" * 10)
        conn.sleep(0.05)
        conn.reset()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        results = await arun_concurrently([outcome(transport, fault.url + "/")] * 3)
        for result in results:
            assert isinstance(result, (httpduo.ReadError, httpduo.RemoteProtocolError))
        assert transport.pool.connections == []
        assert (await send(transport, "GET", fault.url + "/after")).content == b"/after"
    assert fault.connections == 2


async def test_ping_is_answered_while_waiting(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        [request] = peer.wait_for_requests(1)
        peer.ping(b"pingpong")
        # The answer only goes out once the client acknowledged the PING.
        peer.wait_for(lambda: any(isinstance(e, h2.events.PingAckReceived) for e in peer.events))
        peer.respond(request.stream_id, b"pong")
        peer.linger()

    fault = raw_server(script)
    timeouts = dict(TIMEOUTS, read=2.0)
    async with h2c_transport() as transport:
        response = await send(transport, "GET", fault.url + "/", extensions={"timeout": timeouts})
    assert response.content == b"pong"


async def test_idle_ping_is_answered_when_the_pool_next_handles_a_request(
    raw_server: Any,
) -> None:
    """No background task: a PING that reaches an idle connection waits until the pool
    handles a request, any request (here one to another origin), and is answered then,
    without the idle connection being used for it."""
    acked = threading.Event()
    requests_when_acked: list[int] = []

    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        [first] = peer.wait_for_requests(1)
        peer.respond(first.stream_id, b"first")
        conn.sleep(0.1)  # the client has read the response and idles
        peer.ping(b"idleping")
        peer.wait_for(lambda: any(isinstance(e, h2.events.PingAckReceived) for e in peer.events))
        requests_when_acked.append(len(peer.requests))
        acked.set()
        peer.serve(lambda p, r: None if r is first else answer_path(p, r))

    pinging = raw_server(script)
    other = raw_server(serve_path)
    async with h2c_transport() as transport:
        assert (await send(transport, "GET", pinging.url + "/")).content == b"first"
        await asleep(0.3)  # the PING has arrived and waits in the idle connection's socket
        assert not acked.is_set()  # nothing reads it while the pool is not used
        assert (await send(transport, "GET", other.url + "/other")).content == b"/other"
        for _ in range(500):  # the acknowledgement is on its way: give the server time
            if acked.is_set():
                break
            await asleep(0.01)
        assert requests_when_acked == [1]
        # The connection that idled still serves (and still checks itself first).
        assert (await send(transport, "GET", pinging.url + "/again")).content == b"/again"
        assert_pool_clean(transport)
    assert pinging.connections == 1


async def test_idle_connection_the_server_left_is_dropped_by_the_sweep(
    raw_server: Any,
) -> None:
    """A GOAWAY that reaches an idle connection is read by the pool's next sweep (a
    request to another origin), which closes that connection at once instead of keeping
    it, dead, until its origin is asked for again."""

    sent = threading.Event()

    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        [first] = peer.wait_for_requests(1)
        peer.respond(first.stream_id, b"first")
        conn.sleep(0.1)  # the client has read the response and idles
        peer.goaway(first.stream_id)
        sent.set()
        peer.linger()

    leaving = raw_server(script)
    other = raw_server(serve_path)
    async with h2c_transport() as transport:
        assert (await send(transport, "GET", leaving.url + "/")).content == b"first"
        for _ in range(500):  # until the GOAWAY waits in the idle connection's socket
            if sent.is_set():
                break
            await asleep(0.01)
        assert len(transport.pool.connections) == 1
        assert (await send(transport, "GET", other.url + "/other")).content == b"/other"
        [remaining] = transport.pool.connections
        assert remaining.origin[2] == other.port
        assert_pool_clean(transport)
    assert leaving.connections == 1


async def test_burst_after_idle_is_not_serialised(raw_server: Any) -> None:
    """A burst on a connection that idled (and must first read what came meanwhile)
    sends every request at once: the server answers only when all have arrived."""

    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        [first] = peer.wait_for_requests(1)
        peer.respond(first.stream_id, b"first")
        peer.ping()  # waits in the idle connection's socket
        for request in peer.wait_for_requests(6)[1:]:
            peer.respond(request.stream_id, b"burst")
        peer.linger()

    fault = raw_server(script)
    timeouts = dict(TIMEOUTS, read=2.0)
    async with h2c_transport() as transport:
        assert (await send(transport, "GET", fault.url + "/")).content == b"first"
        await asleep(0.1)

        async def one() -> bytes:
            response = await send(
                transport, "GET", fault.url + "/", extensions={"timeout": timeouts}
            )
            return response.content

        assert await arun_concurrently([one] * 5) == [b"burst"] * 5
        assert_pool_clean(transport)
    assert fault.connections == 1


@pytest.mark.parametrize("goaway", [False, True], ids=["eof", "goaway"])
async def test_server_closing_idle_connection(raw_server: Any, goaway: bool) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        if conn.index > 0:
            peer.serve()
            return
        [request] = peer.wait_for_requests(1)
        peer.respond(request.stream_id, b"first")
        conn.sleep(0.05)
        if goaway:
            peer.goaway(last_stream_id=request.stream_id)
        conn.close()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        assert (await send(transport, "GET", fault.url + "/")).content == b"first"
        await asleep(0.3)
        # Noticed before the request is sent on it: nobody sees an error, any method.
        response = await send(transport, "POST", fault.url + "/again", content=b"x")
        assert response.content == b"/again"
    assert fault.connections == 2


async def test_early_response_stops_the_upload(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        peer.wait_for(lambda: bool(peer.requests))
        [request] = peer.requests.values()
        peer.respond(request.stream_id, b"too big", status=413)
        peer.reset(request.stream_id, ErrorCodes.NO_ERROR)
        peer.serve()

    closed: list[bool] = []

    async def endless() -> AsyncIterator[bytes]:
        try:
            for _ in range(10_000):
                yield b"z" * 65536
        finally:
            closed.append(True)

    fault = raw_server(script)
    async with h2c_transport() as transport:
        response = await send(transport, "POST", fault.url + "/upload", content=endless())
        # The upload's generator was closed when sending stopped, not left to the GC.
        assert closed == [True]
        assert response.status_code == 413
        assert response.content == b"too big"
        assert (await send(transport, "GET", fault.url + "/next")).content == b"/next"
        assert_pool_clean(transport)
    assert fault.connections == 1


async def test_invalid_frames_are_a_protocol_error(raw_server: Any) -> None:
    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        peer.wait_for_requests(1)
        # A CONTINUATION frame with no HEADERS before it.
        conn.send(b"\x00\x00\x03\x09\x04\x00\x00\x00\x01abc")
        peer.linger()

    fault = raw_server(script)
    async with h2c_transport() as transport:
        with pytest.raises(httpduo.RemoteProtocolError, match="Invalid HTTP/2 data"):
            await send(transport, "GET", fault.url + "/")
        assert transport.pool.connections == []


async def test_request_pseudo_headers(raw_server: Any) -> None:
    seen: list[list[tuple[bytes, bytes]]] = []

    def script(conn: Any) -> None:
        peer = H2Peer(conn)
        [request] = peer.wait_for_requests(1)
        seen.append(request.headers)
        peer.respond(request.stream_id, b"ok")
        peer.linger()

    fault = raw_server(script)
    headers = [
        ("Host", "example.com:8080"),
        ("X-Custom-Header", "Value"),
        ("Connection", "close"),
        ("Transfer-Encoding", "chunked"),
        ("TE", "trailers"),
    ]
    async with h2c_transport() as transport:
        await send(
            transport, "PUT", fault.url + "/a%20b/c?x=1&y=%2F", headers=headers, content=b"d"
        )
    [received] = seen
    assert received[:4] == [
        (b":method", b"PUT"),
        (b":authority", b"example.com:8080"),
        (b":scheme", b"http"),
        (b":path", b"/a%20b/c?x=1&y=%2F"),
    ]
    names = [name for name, _ in received]
    assert (b"x-custom-header", b"Value") in received
    assert (b"te", b"trailers") in received
    assert b"host" not in names
    assert b"connection" not in names
    assert b"transfer-encoding" not in names


async def test_serve_path_helper_smoke(raw_server: Any) -> None:
    fault = raw_server(serve_path)
    async with h2c_transport() as transport:
        response = await send(transport, "GET", fault.url + "/hello?x=1")
    assert response.content == b"/hello?x=1"
    assert response.http_version == "HTTP/2"
