"""The llhttp codec's own contract, the codec choice, and both codecs behind a connection."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import pytest

from httpduo._backends.mock import MockBackend, MockStream
from httpduo._backends.sync import SyncBackend
from httpduo._codecs.base import END, NEED_DATA, HTTP11Codec, ResponseHead
from httpduo._codecs.h11 import H11Codec
from httpduo._codecs.select import ENV_VAR, resolve_codec_factory
from httpduo._models._exceptions import LocalProtocolError, RemoteProtocolError
from httpduo._models._requests import Request
from httpduo._models._streams import SyncByteStream
from httpduo._sync._http11 import COALESCE_LIMIT, HTTP11Connection
from tests.codecs.corpus import HOST, UPGRADE, CodecFactory, fields
from tests.missing import import_or_missing

import_or_missing("httptools", module_level=True)
from httpduo._codecs.llhttp import LLHTTPCodec  # noqa: E402

BOTH = pytest.mark.parametrize("factory", [H11Codec, LLHTTPCodec], ids=["h11", "llhttp"])


def events(codec: HTTP11Codec) -> list[Any]:
    """Every event available now, up to END or NEED_DATA (included)."""
    out: list[Any] = []
    while True:
        event = codec.next_event()
        out.append((event.status_code, event.reason) if isinstance(event, ResponseHead) else event)
        if event is END or event is NEED_DATA:
            return out


def sent(codec: HTTP11Codec, method: bytes = b"GET", headers: Any = HOST) -> HTTP11Codec:
    codec.encode_request_head(method, b"/", fields(headers))
    codec.encode_end()
    return codec


# ---- choosing a codec --------------------------------------------------------------------


def test_auto_prefers_llhttp_when_httptools_imports(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert resolve_codec_factory("auto") is LLHTTPCodec
    assert resolve_codec_factory() is LLHTTPCodec


@pytest.mark.parametrize(
    ("env", "expected"),
    [("h11", H11Codec), (" LLHTTP ", LLHTTPCodec), ("auto", LLHTTPCodec), ("", LLHTTPCodec)],
)
def test_environment_decides_what_auto_means(
    monkeypatch: pytest.MonkeyPatch, env: str, expected: CodecFactory
) -> None:
    monkeypatch.setenv(ENV_VAR, env)
    assert resolve_codec_factory("auto") is expected


def test_an_explicit_choice_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "llhttp")
    assert resolve_codec_factory("h11") is H11Codec
    monkeypatch.setenv(ENV_VAR, "h11")
    assert resolve_codec_factory("llhttp") is LLHTTPCodec


def test_unknown_choice_names_the_valid_values() -> None:
    with pytest.raises(ValueError, match="'auto', 'h11', 'llhttp'") as info:
        resolve_codec_factory("httptools")
    assert "'httptools'" in str(info.value)


def test_unknown_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, "fast")
    with pytest.raises(ValueError, match=f"{ENV_VAR}.*'auto', 'h11', 'llhttp'"):
        resolve_codec_factory("auto")
    assert resolve_codec_factory("h11") is H11Codec  # not consulted for explicit choices


@pytest.fixture
def without_llhttp_module(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Make the next import of the llhttp codec module run again."""
    monkeypatch.delitem(sys.modules, "httpduo._codecs.llhttp")
    monkeypatch.delenv(ENV_VAR, raising=False)
    return monkeypatch


def test_forced_llhttp_without_httptools_says_what_to_install(
    without_llhttp_module: pytest.MonkeyPatch,
) -> None:
    without_llhttp_module.setitem(sys.modules, "httptools", None)
    with pytest.raises(ImportError, match=r"pip install 'httpduo\[speedups\]'"):
        resolve_codec_factory("llhttp")
    without_llhttp_module.setenv(ENV_VAR, "llhttp")
    with pytest.raises(ImportError, match=f"{ENV_VAR}=llhttp"):
        resolve_codec_factory("auto")


def test_auto_falls_back_to_h11_without_httptools(
    without_llhttp_module: pytest.MonkeyPatch,
) -> None:
    without_llhttp_module.setitem(sys.modules, "httptools", None)
    assert resolve_codec_factory("auto") is H11Codec


def test_an_httptools_without_leniency_settings_is_too_old(
    without_llhttp_module: pytest.MonkeyPatch,
) -> None:
    old = types.ModuleType("httptools")
    old.HttpResponseParser = type("HttpResponseParser", (), {})  # type: ignore[attr-defined]
    without_llhttp_module.setitem(sys.modules, "httptools", old)
    with pytest.raises(ImportError, match=r"httptools >= 0\.6\.4"):
        resolve_codec_factory("llhttp")
    assert resolve_codec_factory("auto") is H11Codec


# ---- requests ----------------------------------------------------------------------------


def test_request_head_is_one_block_with_host_first() -> None:
    codec = LLHTTPCodec()
    data = codec.encode_request_head(
        b"POST",
        b"/upload?x=1",
        fields([(b"Accept", b"*/*"), (b"Host", b"example.com"), (b"Content-Length", b"3")]),
    )
    assert data == (
        b"POST /upload?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\n"
        b"Content-Length: 3\r\n\r\n"
    )
    assert codec.encode_body(b"abc") == b"abc"
    assert codec.encode_end() == b""


@BOTH
def test_chunked_request_body(factory: CodecFactory) -> None:
    codec = factory()
    codec.encode_request_head(b"POST", b"/", fields([*HOST, (b"Transfer-Encoding", b"Chunked")]))
    assert (
        codec.encode_body(b"hello world, this is long") == b"19\r\nhello world, this is long\r\n"
    )
    assert codec.encode_body(b"") == b""  # an empty chunk would end the body
    assert codec.encode_end() == b"0\r\n\r\n"


@BOTH
@pytest.mark.parametrize(
    ("method", "target", "headers", "reason"),
    [
        (b"GET", b"/", [], "Missing mandatory Host: header"),
        (b"GET", b"/", [*HOST, (b"host", b"b")], "Found multiple Host: headers"),
        (b"G ET", b"/", HOST, "Illegal method characters"),
        (b"GET", b"/a b", HOST, "Illegal target characters"),
        (b"GET", b"/a\r\nX: y", HOST, "Illegal target characters"),
        (
            b"GET",
            b"/",
            [*HOST, (b"Content-Length", b"1"), (b"Content-Length", b"2")],
            "conflicting",
        ),
        (b"GET", b"/", [*HOST, (b"Content-Length", b"1e3")], "bad Content-Length"),
        (
            b"GET",
            b"/",
            [*HOST, (b"Transfer-Encoding", b"gzip")],
            "Only Transfer-Encoding: chunked",
        ),
    ],
)
def test_invalid_requests_are_refused_with_h11s_reason(
    factory: CodecFactory, method: bytes, target: bytes, headers: Any, reason: str
) -> None:
    with pytest.raises(LocalProtocolError, match=f"^Invalid request: {reason}"):
        factory().encode_request_head(method, target, fields(headers))


@BOTH
def test_body_must_match_content_length(factory: CodecFactory) -> None:
    codec = factory()
    codec.encode_request_head(b"PUT", b"/", fields([*HOST, (b"Content-Length", b"3")]))
    with pytest.raises(LocalProtocolError, match="Too much data for declared Content-Length"):
        codec.encode_body(b"abcd")
    codec = factory()
    codec.encode_request_head(b"PUT", b"/", fields([*HOST, (b"Content-Length", b"3")]))
    codec.encode_body(b"ab")
    with pytest.raises(LocalProtocolError, match="Too little data for declared Content-Length"):
        codec.encode_end()
    codec = factory()
    codec.encode_request_head(b"GET", b"/", fields(HOST))  # no framing header: no body
    with pytest.raises(LocalProtocolError, match="Too much data"):
        codec.encode_body(b"x")


def test_a_second_request_needs_a_new_cycle() -> None:
    codec = sent(LLHTTPCodec())
    with pytest.raises(LocalProtocolError, match="already sent"):
        codec.encode_request_head(b"GET", b"/", fields(HOST))


# ---- responses ---------------------------------------------------------------------------


@BOTH
def test_keep_alive_cycles(factory: CodecFactory) -> None:
    codec = sent(factory())
    codec.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc")
    assert events(codec) == [(200, b"OK"), b"abc", END]
    assert codec.reusable()
    codec.start_next_cycle()
    sent(codec, b"HEAD")
    codec.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n")
    assert events(codec) == [(200, b"OK"), END]
    assert codec.reusable()
    codec.start_next_cycle()
    sent(codec)
    codec.feed(
        b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    )
    assert events(codec) == [(404, b"Not Found"), b"abc", END]
    assert codec.reusable()


@BOTH
def test_response_waits_for_more_data(factory: CodecFactory) -> None:
    codec = sent(factory())
    codec.feed(b"HTTP/1.1 200 OK\r\nContent-")
    assert events(codec) == [NEED_DATA]
    codec.feed(b"Length: 4\r\n\r\nab")
    assert events(codec) == [(200, b"OK"), b"ab", NEED_DATA]
    assert not codec.reusable()
    codec.feed(b"cd")
    assert events(codec) == [b"cd", END]


@BOTH
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "Server disconnected without sending a response."),
        (b"HTTP/1.1 200 OK\r\n", "Server disconnected before the response was complete: "),
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab",
            "Server disconnected before the response was complete: ",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab",
            "Server disconnected before the response was complete: ",
        ),
    ],
)
def test_early_disconnect_messages(factory: CodecFactory, data: bytes, message: str) -> None:
    codec = sent(factory())
    if data:
        codec.feed(data)
    codec.feed(b"")
    with pytest.raises(RemoteProtocolError) as info:
        events(codec)
    assert str(info.value).startswith(message)


@BOTH
def test_malformed_response_message(factory: CodecFactory) -> None:
    codec = sent(factory())
    codec.feed(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match=r"^Malformed response from server: "):
        events(codec)


def test_errors_are_final() -> None:
    codec = sent(LLHTTPCodec())
    codec.feed(b"HTTP/1.1 200 OK\r\nBad Header\r\n\r\n")
    with pytest.raises(RemoteProtocolError) as first:
        codec.next_event()
    codec.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
    with pytest.raises(RemoteProtocolError) as again:
        codec.next_event()
    assert str(again.value) == str(first.value)
    assert not codec.reusable()


def test_llhttp_reason_is_given() -> None:
    codec = sent(LLHTTPCodec())
    codec.feed(b"HTTP/1.1 200 OK\r\nX-A: a\x01b\r\n\r\n")
    with pytest.raises(RemoteProtocolError, match="Invalid header value char"):
        codec.next_event()


@BOTH
def test_data_after_eof_is_refused(factory: CodecFactory) -> None:
    codec = sent(factory())
    codec.feed(b"")
    with pytest.raises(RemoteProtocolError, match="received close, then received more data"):
        codec.feed(b"HTTP/1.1 200 OK\r\n")


@BOTH
def test_a_head_near_the_size_limit_parses(factory: CodecFactory) -> None:
    codec = sent(factory())
    codec.feed(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * 100_000 + b"\r\nContent-Length: 0\r\n\r\n")
    assert events(codec) == [(200, b"OK"), END]


@BOTH
def test_upgrade_hands_over_the_bytes_after_the_head(factory: CodecFactory) -> None:
    codec = sent(factory(), headers=UPGRADE)
    codec.feed(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x02hi")
    assert events(codec) == [(101, b"Switching Protocols"), END]
    assert codec.next_event() is END  # the message stays ended
    assert not codec.reusable()
    codec.feed(b"more")
    assert codec.trailing_data() == b"\x81\x02himore"


@BOTH
def test_connect_tunnel_bytes_are_trailing_data(factory: CodecFactory) -> None:
    codec = factory()
    codec.encode_request_head(
        b"CONNECT", b"example.com:443", fields([(b"Host", b"example.com:443")])
    )
    codec.encode_end()
    codec.feed(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01")
    assert events(codec) == [(200, b"Connection established"), END]
    assert codec.trailing_data() == b"\x16\x03\x01"
    assert not codec.reusable()


def test_start_next_cycle_refuses_an_unfinished_exchange() -> None:
    codec = sent(LLHTTPCodec())
    codec.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab")
    events(codec)
    with pytest.raises(LocalProtocolError, match="not reusable"):
        codec.start_next_cycle()


def test_body_bytes_are_handed_over_without_copies() -> None:
    codec = sent(LLHTTPCodec())
    codec.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    assert events(codec) == [(200, b"OK"), NEED_DATA]
    piece = bytes(50_000)
    codec.feed(piece)
    assert codec.next_event() is piece


# ---- behind HTTP11Connection -------------------------------------------------------------


class Body(SyncByteStream):
    def __init__(self, *pieces: bytes) -> None:
        self._pieces = pieces

    def __iter__(self) -> Iterator[bytes]:
        yield from self._pieces


@BOTH
def test_connection_reuses_and_reads_bodies(factory: CodecFactory) -> None:
    stream = MockStream(
        [
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello",
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"6\r\n world\r\n0\r\nX-T: 1\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n",
        ]
    )
    connection = HTTP11Connection(stream, MockBackend([]), codec=factory())
    response = connection.handle_request(Request("GET", "http://example.com/"))
    assert (response.status_code, response.read()) == (200, b"hello")
    response.close()
    assert connection.is_idle()
    chunked = {"Transfer-Encoding": "chunked"}
    request = Request("POST", "http://example.com/", headers=chunked, stream=Body(b"ab", b"c"))
    response = connection.handle_request(request)
    assert (response.status_code, response.read()) == (200, b" world")
    response.close()
    assert connection.is_idle()
    response = connection.handle_request(Request("DELETE", "http://example.com/"))
    assert (response.status_code, response.read()) == (204, b"")
    response.close()
    assert connection.is_closed()
    assert stream.written[:2] == [
        b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\n",
    ]
    assert b"".join(stream.written[2:5]) == b"2\r\nab\r\n1\r\nc\r\n0\r\n\r\n"


@BOTH
def test_small_in_memory_bodies_leave_with_the_head(factory: CodecFactory) -> None:
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
    stream = MockStream([ok, ok, ok])
    connection = HTTP11Connection(stream, MockBackend([]), codec=factory())
    large = b"x" * (COALESCE_LIMIT + 1)
    for content in (b"", b"small", large):
        request = Request("POST", "http://example.com/", content=content)
        response = connection.handle_request(request)
        assert (response.status_code, response.read()) == (200, b"")
        response.close()
    assert stream.written[:2] == [
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 0\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nsmall",
    ]
    # A large body is written on its own, after the head (the server may answer early).
    head = b"POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: %d\r\n\r\n" % len(large)
    assert stream.written[2] == head
    assert b"".join(stream.written[3:]) == large


@BOTH
def test_connection_closes_after_a_protocol_switch(factory: CodecFactory) -> None:
    stream = MockStream([b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\nPRI *"])
    connection = HTTP11Connection(stream, MockBackend([]), codec=factory())
    request = Request(
        "GET", "http://example.com/", headers={"Connection": "Upgrade", "Upgrade": "h2c"}
    )
    response = connection.handle_request(request)
    assert (response.status_code, response.read()) == (101, b"")
    response.close()
    assert connection.is_closed()


@BOTH
def test_connection_reports_a_malformed_response(factory: CodecFactory) -> None:
    stream = MockStream([b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"])
    connection = HTTP11Connection(stream, MockBackend([]), codec=factory())
    with pytest.raises(RemoteProtocolError, match="Content-Length"):
        connection.handle_request(Request("GET", "http://example.com/"))
    assert connection.is_closed()


@pytest.mark.network
def test_llhttp_codec_against_a_real_server(server: Any) -> None:
    backend = SyncBackend()
    stream = backend.connect_tcp(server.host, server.port, timeout=10)
    connection = HTTP11Connection(stream, backend, codec=LLHTTPCodec())
    try:
        for _ in range(2):
            response = connection.handle_request(Request("GET", server.url + "/"))
            assert (response.status_code, response.read()) == (200, b"Hello, world!")
            response.close()
            assert connection.is_idle()
        response = connection.handle_request(Request("GET", server.url + "/large?size=300000"))
        assert len(response.read()) == 300_000
        response.close()
        body = Body(b"x" * 70_000, b"y" * 5)
        chunked = {"Transfer-Encoding": "chunked"}
        request = Request("POST", server.url + "/echo_body", headers=chunked, stream=body)
        response = connection.handle_request(request)
        assert response.read() == b"x" * 70_000 + b"y" * 5
        response.close()
        assert connection.request_count == 4
    finally:
        connection.close()
