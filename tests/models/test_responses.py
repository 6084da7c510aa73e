from __future__ import annotations

import datetime
import gzip
import json
import pickle
import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Optional

import pytest

from httpduo._models._charsets import autodetect_encoding
from httpduo._models._exceptions import (
    DecodingError,
    HTTPStatusError,
    ResponseNotRead,
    StreamClosed,
    StreamConsumed,
)
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._streams import AsyncByteStream, ByteStream, SyncByteStream

RUSSIAN = (
    "Москва — столица России, город федерального значения, административный центр "
    "Центрального федерального округа и центр Московской области, в состав которой не "
    "входит. Крупнейший по численности населения город России и её субъект. Москва "
    "является важнейшим культурным, научным и экономическим центром страны."
)
JAPANESE = (
    "日本語の文章を自動的に判定できるかどうかを確かめるための文です。"
    "東京は日本の首都であり、世界でも有数の大都市として知られています。"
    "春には桜が咲き、多くの人々が公園で花見を楽しみます。"
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def request_() -> Request:
    return Request("GET", "https://example.org/path?q=1")


class RecordingStream(SyncByteStream):
    """A transport-like stream that records how it was used."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.close_calls = 0

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.close_calls += 1


class AsyncRecordingStream(AsyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.close_calls = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk

    async def aclose(self) -> None:
        self.close_calls += 1


def streaming(chunks: list[bytes], **kwargs: object) -> Response:
    return Response(200, stream=RecordingStream(chunks), **kwargs)  # type: ignore[arg-type]


# --- construction -------------------------------------------------------------------------


def test_empty_response() -> None:
    response = Response(200)
    assert response.status_code == 200
    assert response.headers.raw == []
    assert response.content == b""
    assert response.text == ""
    assert response.is_closed
    assert response.is_stream_consumed


def test_bytes_content() -> None:
    response = Response(200, content=b"Hello, world!")
    assert response.headers.raw == [(b"Content-Length", b"13")]
    assert response.content == b"Hello, world!"
    assert response.text == "Hello, world!"
    assert response.is_closed
    assert response.num_bytes_downloaded == 0  # nothing was downloaded


def test_text_html_json_content() -> None:
    text = Response(200, text="héllo")
    assert text.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.headers["Content-Length"] == "6"
    assert text.text == "héllo"

    html = Response(200, html="<p>hi</p>")
    assert html.headers["Content-Type"] == "text/html; charset=utf-8"
    assert html.text == "<p>hi</p>"

    data = Response(200, json={"a": [1, 2], "b": "é"})
    assert data.headers["Content-Type"] == "application/json"
    assert data.json() == {"a": [1, 2], "b": "é"}
    assert data.headers["Content-Length"] == str(len(data.content))


def test_explicit_headers_win_over_generated_ones() -> None:
    response = Response(200, text="x", headers={"Content-Type": "text/xml"})
    assert response.headers.get_list("content-type") == ["text/xml"]
    assert response.headers["content-length"] == "1"


def test_iterator_content_streams_chunked() -> None:
    response = Response(200, content=iter([b"a", b"b"]))
    assert response.headers.raw == [(b"Transfer-Encoding", b"chunked")]
    assert not response.is_closed
    with pytest.raises(ResponseNotRead):
        _ = response.content
    assert response.read() == b"ab"


def test_stream_given_directly_gets_no_headers() -> None:
    response = Response(200, headers={"X-A": "1"}, stream=ByteStream(b"abc"))
    assert response.headers.raw == [(b"X-A", b"1")]
    assert not response.is_closed
    assert not response.is_stream_consumed
    assert response.read() == b"abc"


def test_history_is_a_copy() -> None:
    history = [Response(301)]
    response = Response(200, history=history)
    history.append(Response(302))
    assert len(response.history) == 1


def test_arbitrary_attributes_may_be_set() -> None:
    response = Response(200)
    response.custom = "x"  # type: ignore[attr-defined]
    assert response.custom == "x"  # type: ignore[attr-defined]


# --- metadata ------------------------------------------------------------------------


def test_reason_phrase_and_repr() -> None:
    assert Response(200).reason_phrase == "OK"
    assert repr(Response(200)) == "<Response [200 OK]>"
    assert repr(Response(404)) == "<Response [404 Not Found]>"
    assert Response(299).reason_phrase == ""
    custom = Response(200, extensions={"reason_phrase": b"Fine Thanks"})
    assert custom.reason_phrase == "Fine Thanks"
    assert repr(custom) == "<Response [200 Fine Thanks]>"


def test_http_version() -> None:
    assert Response(200).http_version == "HTTP/1.1"
    assert Response(200, extensions={"http_version": b"HTTP/2"}).http_version == "HTTP/2"
    assert Response(200, extensions={"http_version": "HTTP/1.0"}).http_version == "HTTP/1.0"


def test_request_and_url(request_: Request) -> None:
    response = Response(200)
    with pytest.raises(RuntimeError, match="request instance has not been set"):
        _ = response.request
    with pytest.raises(RuntimeError, match="request instance has not been set"):
        _ = response.url
    response.request = request_
    assert response.request is request_
    assert response.url == request_.url


def test_elapsed_is_set_by_the_client() -> None:
    response = Response(200, content=b"x")
    with pytest.raises(RuntimeError, match="elapsed"):
        _ = response.elapsed
    response.elapsed = datetime.timedelta(seconds=1.5)
    assert response.elapsed == datetime.timedelta(seconds=1.5)


def test_next_request_is_settable(request_: Request) -> None:
    response = Response(302)
    assert response.next_request is None
    response.next_request = request_
    assert response.next_request is request_


@pytest.mark.parametrize(
    ("status", "flags"),
    [
        (101, {"is_informational"}),
        (200, {"is_success"}),
        (204, {"is_success"}),
        (302, {"is_redirect"}),
        (404, {"is_client_error", "is_error"}),
        (503, {"is_server_error", "is_error"}),
        (99, set()),
        (600, set()),
    ],
)
def test_status_predicates(status: int, flags: set[str]) -> None:
    names = (
        "is_informational",
        "is_success",
        "is_redirect",
        "is_client_error",
        "is_server_error",
        "is_error",
    )
    response = Response(status)
    assert {name for name in names if getattr(response, name)} == flags


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_has_redirect_location(status: int) -> None:
    assert Response(status, headers={"Location": "/next"}).has_redirect_location
    assert not Response(status).has_redirect_location


@pytest.mark.parametrize("status", [200, 300, 304])
def test_no_redirect_location_for_other_statuses(status: int) -> None:
    assert not Response(status, headers={"Location": "/next"}).has_redirect_location


# --- raise_for_status -----------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 201, 204, 299])
def test_raise_for_status_success_returns_self(request_: Request, status: int) -> None:
    response = Response(status, request=request_)
    assert response.raise_for_status() is response


@pytest.mark.parametrize(
    ("status", "first_line"),
    [
        (101, "Informational response '101 Switching Protocols'"),
        (303, "Redirect response '303 See Other'"),
        (404, "Client error '404 Not Found'"),
        (500, "Server error '500 Internal Server Error'"),
        (600, "Invalid status code '600 '"),
    ],
)
def test_raise_for_status_errors(request_: Request, status: int, first_line: str) -> None:
    response = Response(status, request=request_)
    with pytest.raises(HTTPStatusError) as info:
        response.raise_for_status()
    assert str(info.value) == (
        f"{first_line} for url 'https://example.org/path?q=1'\n"
        "For more information check: "
        f"https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/{status}"
    )
    assert info.value.request is request_
    assert info.value.response is response


def test_raise_for_status_redirect_names_the_location(request_: Request) -> None:
    response = Response(301, headers={"Location": "https://example.com/"}, request=request_)
    with pytest.raises(HTTPStatusError) as info:
        response.raise_for_status()
    assert str(info.value).splitlines() == [
        "Redirect response '301 Moved Permanently' for url 'https://example.org/path?q=1'",
        "Redirect location: 'https://example.com/'",
        "For more information check: https://developer.mozilla.org/en-US/docs/Web/HTTP/Status/301",
    ]


def test_raise_for_status_needs_a_request() -> None:
    with pytest.raises(RuntimeError, match="raise_for_status"):
        Response(404).raise_for_status()


# --- text and encodings -------------------------------------------------------------


def test_charset_from_content_type() -> None:
    body = "Grüße, café".encode("latin-1")
    response = Response(
        200, content=body, headers={"Content-Type": 'text/plain; charset="ISO-8859-1"'}
    )
    assert response.charset_encoding == "iso-8859-1"
    assert response.encoding == "iso-8859-1"
    assert response.text == "Grüße, café"


def test_no_charset() -> None:
    assert Response(200, content=b"x").charset_encoding is None
    assert Response(200, headers={"Content-Type": "text/plain"}).charset_encoding is None


def test_unknown_charset_falls_back_to_default_encoding() -> None:
    response = Response(
        200,
        content="é".encode(),
        headers={"Content-Type": "text/plain; charset=no-such-codec"},
    )
    assert response.charset_encoding == "no-such-codec"
    assert response.encoding == "utf-8"
    assert response.text == "é"


def test_default_encoding_is_utf8_with_replacement() -> None:
    response = Response(200, content=b"\xe9t\xe9")
    assert response.encoding == "utf-8"
    assert response.text == "\ufffdt\ufffd"


def test_default_encoding_string() -> None:
    response = Response(200, content="été".encode("cp1252"), default_encoding="cp1252")
    assert response.encoding == "cp1252"
    assert response.text == "été"


def test_header_charset_beats_default_encoding() -> None:
    response = Response(
        200,
        content="été".encode(),
        headers={"Content-Type": "text/plain; charset=utf-8"},
        default_encoding="cp1252",
    )
    assert response.text == "été"


def test_default_encoding_callable_receives_the_content() -> None:
    seen: list[bytes] = []

    def detect(content: bytes) -> Optional[str]:
        seen.append(content)
        return "cp1252"

    response = Response(200, content="été".encode("cp1252"), default_encoding=detect)
    assert response.text == "été"
    assert response.encoding == "cp1252"
    assert seen == ["été".encode("cp1252")]  # consulted once, then cached


def test_default_encoding_callable_returning_none_means_utf8() -> None:
    response = Response(200, content="é".encode(), default_encoding=lambda content: None)
    assert response.encoding == "utf-8"
    assert response.text == "é"


def test_default_encoding_callable_is_not_used_when_charset_given() -> None:
    def detect(content: bytes) -> Optional[str]:
        raise AssertionError("not to be called")

    response = Response(
        200,
        content=b"abc",
        headers={"Content-Type": "text/plain; charset=ascii"},
        default_encoding=detect,
    )
    assert response.text == "abc"


def test_default_encoding_callable_waits_for_the_body() -> None:
    calls: list[bytes] = []

    def detect(content: bytes) -> Optional[str]:
        calls.append(content)
        return "cp1252"

    response = streaming([b"\xe9t\xe9"], default_encoding=detect)
    assert response.encoding == "utf-8"  # not read yet: not consulted, not cached
    assert calls == []
    response.read()
    assert response.encoding == "cp1252"
    assert response.text == "été"


@pytest.mark.parametrize(
    ("text", "codec"), [(RUSSIAN, "cp1251"), (JAPANESE, "shift_jis")], ids=["ru", "ja"]
)
def test_autodetect_encoding(text: str, codec: str) -> None:
    body = text.encode(codec)
    with pytest.raises(UnicodeDecodeError):
        body.decode("utf-8")  # the test is only meaningful for non-UTF-8 bytes
    detected = autodetect_encoding(body)
    assert detected is not None
    assert body.decode(detected) == text

    response = Response(200, content=body, default_encoding=autodetect_encoding)
    assert response.text == text
    # Without detection the same bytes come out mangled.
    assert Response(200, content=body).text != text


def test_autodetect_encoding_of_utf8() -> None:
    body = RUSSIAN.encode("utf-8")
    assert Response(200, content=body, default_encoding=autodetect_encoding).text == RUSSIAN


def test_encoding_may_be_set_before_text() -> None:
    response = Response(200, content="été".encode("latin-1"))
    response.encoding = "latin-1"
    assert response.encoding == "latin-1"
    assert response.text == "été"


def test_setting_encoding_after_text_is_an_error() -> None:
    response = Response(200, content=b"abc")
    assert response.text == "abc"
    with pytest.raises(ValueError, match="after `text` has been accessed"):
        response.encoding = "latin-1"
    with pytest.raises(ValueError, match="after `text` has been accessed"):
        response.encoding = "utf-8"


def test_setting_an_unknown_encoding_fails_when_decoding() -> None:
    response = Response(200, content=b"abc")
    response.encoding = "no-such-codec"
    with pytest.raises(LookupError):
        _ = response.text


def test_setting_encoding_applies_to_iter_text() -> None:
    response = streaming(["été".encode("latin-1")])
    response.encoding = "latin-1"
    assert "".join(response.iter_text()) == "été"


def test_text_keeps_a_utf8_bom() -> None:
    assert Response(200, content=b"\xef\xbb\xbfabc").text == "\ufeffabc"


# --- json -----------------------------------------------------------------------------


def test_json_with_kwargs() -> None:
    response = Response(200, content=b'{"price": 1.10}')
    assert response.json(parse_float=str) == {"price": "1.10"}


def test_json_detects_utf16_and_bom() -> None:
    assert Response(200, content='{"a": "é"}'.encode("utf-16")).json() == {"a": "é"}
    assert Response(200, content=b'\xef\xbb\xbf{"a": 1}').json() == {"a": 1}


def test_json_ignores_a_non_unicode_charset() -> None:
    # JSON is Unicode by definition; the charset is not consulted (httpx 0.28 behaviour).
    response = Response(
        200,
        content='{"a": "é"}'.encode("latin-1"),
        headers={"Content-Type": "application/json; charset=latin-1"},
    )
    with pytest.raises(UnicodeDecodeError):
        response.json()


def test_json_of_invalid_body() -> None:
    with pytest.raises(json.JSONDecodeError):
        Response(200, content=b"").json()


def test_json_of_unread_response() -> None:
    with pytest.raises(ResponseNotRead):
        streaming([b"{}"]).json()


# --- links and cookies -------------------------------------------------------------


def test_links() -> None:
    response = Response(
        200,
        headers={
            "Link": '<https://api.example.org/items?page=3>; rel="next", '
            '<https://api.example.org/items?page=50>; rel="last"'
        },
    )
    assert response.links == {
        "next": {"url": "https://api.example.org/items?page=3", "rel": "next"},
        "last": {"url": "https://api.example.org/items?page=50", "rel": "last"},
    }


def test_links_keyed_by_url_without_rel_and_with_odd_spacing() -> None:
    response = Response(
        200,
        headers=[
            ("Link", '<a>, <b>;rel=x;  type="t"  ,  <c> ; rel = "y z"'),
            ("Link", '</d>; title="a, b; c"; rel=next; rel=ignored'),
        ],
    )
    assert response.links == {
        "a": {"url": "a"},
        "x": {"url": "b", "rel": "x", "type": "t"},
        "y z": {"url": "c", "rel": "y z"},
        "next": {"url": "/d", "title": "a, b; c", "rel": "next"},
    }


def test_no_links() -> None:
    assert Response(200).links == {}
    assert Response(200, headers={"Link": ""}).links == {}


def test_cookies(request_: Request) -> None:
    response = Response(
        200,
        headers=[("Set-Cookie", "a=1; Path=/"), ("Set-Cookie", "b=2; Path=/")],
        request=request_,
    )
    assert dict(response.cookies) == {"a": "1", "b": "2"}
    assert response.cookies is response.cookies  # parsed once


def test_no_cookies(request_: Request) -> None:
    assert len(Response(200, request=request_).cookies) == 0


# --- reading and streaming (sync) ---------------------------------------------------


def test_read_streaming_response() -> None:
    response = streaming([b"Hello, ", b"world!"])
    assert not response.is_closed
    with pytest.raises(ResponseNotRead):
        _ = response.content
    with pytest.raises(ResponseNotRead):
        _ = response.text
    assert response.read() == b"Hello, world!"
    assert response.content == b"Hello, world!"
    assert response.is_closed
    assert response.is_stream_consumed
    assert response.num_bytes_downloaded == 13
    assert response.read() == b"Hello, world!"  # idempotent


def test_iter_bytes_chunk_sizes() -> None:
    assert list(streaming([b"abc", b"defgh"]).iter_bytes()) == [b"abc", b"defgh"]
    assert list(streaming([b"abc", b"defgh"]).iter_bytes(chunk_size=3)) == [
        b"abc",
        b"def",
        b"gh",
    ]
    assert list(streaming([b"ab", b"c", b"de"]).iter_bytes(chunk_size=2)) == [
        b"ab",
        b"cd",
        b"e",
    ]
    assert list(streaming([b"abc"]).iter_bytes(chunk_size=10)) == [b"abc"]
    assert list(streaming([]).iter_bytes()) == []


def test_iter_bytes_of_read_response() -> None:
    response = Response(200, content=b"abcdefg")
    assert list(response.iter_bytes()) == [b"abcdefg"]
    assert list(response.iter_bytes(chunk_size=3)) == [b"abc", b"def", b"g"]
    assert list(response.iter_bytes(chunk_size=3)) == [b"abc", b"def", b"g"]  # repeatable
    assert list(Response(200).iter_bytes()) == []


@pytest.mark.parametrize("chunk_size", [0, -1])
def test_iter_bytes_rejects_bad_chunk_size(chunk_size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        list(Response(200, content=b"abc").iter_bytes(chunk_size=chunk_size))


def test_iter_text() -> None:
    response = streaming([b"ab", b"cdefg"])
    assert list(response.iter_text(chunk_size=3)) == ["abc", "def", "g"]
    assert list(Response(200, content=b"abcdefg").iter_text()) == ["abcdefg"]
    assert list(Response(200).iter_text()) == []


def test_iter_text_across_split_multibyte_characters() -> None:
    body = "日本語".encode()
    chunks = [body[i : i + 1] for i in range(len(body))]
    assert "".join(streaming(chunks).iter_text()) == "日本語"


def test_iter_text_uses_the_charset() -> None:
    response = streaming(
        ["Grüße".encode("latin-1")], headers={"Content-Type": "text/plain; charset=latin-1"}
    )
    assert "".join(response.iter_text()) == "Grüße"


def test_iter_lines_across_chunk_boundaries() -> None:
    response = streaming([b"a\r", b"\nb\n"])
    assert list(response.iter_lines()) == ["a", "b"]


def test_iter_lines_endings() -> None:
    response = streaming([b"one\ntw", b"o\r\nthree\rfour\n\nlast"])
    assert list(response.iter_lines()) == ["one", "two", "three", "four", "", "last"]
    assert list(Response(200, content=b"x\ny\n").iter_lines()) == ["x", "y"]


def test_iter_raw() -> None:
    response = streaming([b"abc", b"", b"defgh"])
    assert list(response.iter_raw()) == [b"abc", b"defgh"]
    assert response.num_bytes_downloaded == 8
    assert response.is_closed


def test_iter_raw_chunk_size() -> None:
    response = streaming([b"abc", b"defgh"])
    assert list(response.iter_raw(chunk_size=2)) == [b"ab", b"cd", b"ef", b"gh"]
    assert response.num_bytes_downloaded == 8


def test_iter_raw_is_not_decoded() -> None:
    body = gzip.compress(b"hello")
    response = streaming([body], headers={"Content-Encoding": "gzip"})
    assert b"".join(response.iter_raw()) == body


def test_num_bytes_downloaded_counts_encoded_bytes() -> None:
    body = gzip.compress(b"x" * 1000)
    response = streaming([body[:10], body[10:]], headers={"Content-Encoding": "gzip"})
    assert response.read() == b"x" * 1000
    assert response.num_bytes_downloaded == len(body)


def test_streaming_twice_is_stream_consumed() -> None:
    response = streaming([b"abc"])
    assert list(response.iter_raw()) == [b"abc"]
    with pytest.raises(StreamConsumed):
        list(response.iter_raw())
    with pytest.raises(StreamConsumed):
        list(response.iter_bytes())
    with pytest.raises(StreamConsumed):
        response.read()
    with pytest.raises(ResponseNotRead):
        _ = response.content  # streamed, but never read into memory


def test_iter_raw_after_read_is_stream_consumed() -> None:
    response = Response(200, content=b"abc")
    with pytest.raises(StreamConsumed):
        list(response.iter_raw())


def test_streaming_after_close_is_stream_closed() -> None:
    response = streaming([b"abc"])
    response.close()
    with pytest.raises(StreamClosed):
        list(response.iter_raw())
    with pytest.raises(StreamClosed):
        response.read()


def test_stream_is_closed_when_iteration_completes() -> None:
    stream = RecordingStream([b"a", b"b"])
    response = Response(200, stream=stream)
    iterator = response.iter_bytes()
    assert next(iterator) == b"a"
    assert stream.close_calls == 0
    assert not response.is_closed
    assert list(iterator) == [b"b"]
    assert stream.close_calls == 1
    assert response.is_closed
    response.close()  # idempotent
    assert stream.close_calls == 1


@pytest.mark.parametrize(
    "consume",
    [
        lambda r: r.read(),
        lambda r: list(r.iter_bytes(chunk_size=1)),
        lambda r: list(r.iter_text()),
        lambda r: list(r.iter_lines()),
        lambda r: list(r.iter_raw()),
    ],
)
def test_every_way_of_reading_closes_the_stream(consume: object) -> None:
    stream = RecordingStream([b"line\n"])
    response = Response(200, stream=stream)
    consume(response)  # type: ignore[operator]
    assert stream.close_calls == 1
    assert response.is_closed


def test_close_before_reading() -> None:
    stream = RecordingStream([b"abc"])
    response = Response(200, stream=stream)
    response.close()
    response.close()
    assert stream.close_calls == 1
    assert response.is_closed


# --- content decoding ---------------------------------------------------------------


def test_gzip_body_is_decoded_on_read() -> None:
    body = gzip.compress(b"hello world" * 20)
    response = streaming(
        [body[:7], body[7:30], body[30:]],
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
    )
    assert response.read() == b"hello world" * 20
    assert response.text == "hello world" * 20


def test_gzip_content_is_decoded_at_construction() -> None:
    response = Response(200, content=gzip.compress(b"abc"), headers={"Content-Encoding": "gzip"})
    assert response.content == b"abc"
    assert response.is_closed


def test_gzip_iter_bytes_with_chunk_size() -> None:
    body = gzip.compress(b"0123456789")
    response = streaming([body], headers={"Content-Encoding": "GZIP"})
    assert list(response.iter_bytes(chunk_size=4)) == [b"0123", b"4567", b"89"]


def test_stacked_encodings_are_undone_in_reverse() -> None:
    body = zlib.compress(gzip.compress(b"layered"))
    response = streaming([body], headers=[("Content-Encoding", "gzip, deflate")])
    assert response.read() == b"layered"


def test_identity_and_unknown_encodings_pass_through() -> None:
    assert streaming([b"abc"], headers={"Content-Encoding": "identity"}).read() == b"abc"
    assert streaming([b"abc"], headers={"Content-Encoding": "x-unknown"}).read() == b"abc"


def test_corrupt_gzip_is_a_decoding_error_with_the_request(request_: Request) -> None:
    response = streaming(
        [b"this is not gzip"], headers={"Content-Encoding": "gzip"}, request=request_
    )
    with pytest.raises(DecodingError) as info:
        response.read()
    assert info.value.request is request_


def test_truncated_gzip_is_a_decoding_error() -> None:
    body = gzip.compress(b"hello world" * 100)
    response = streaming([body[: len(body) // 2]], headers={"Content-Encoding": "gzip"})
    with pytest.raises(DecodingError):
        response.read()


def test_corrupt_gzip_content_fails_at_construction() -> None:
    with pytest.raises(DecodingError):
        Response(200, content=b"not gzip", headers={"Content-Encoding": "gzip"})


# --- wrong mode -----------------------------------------------------------------------


def test_sync_methods_on_async_stream() -> None:
    response = Response(200, stream=AsyncRecordingStream([b"x"]))
    with pytest.raises(RuntimeError, match="sync iterator on an async stream") as info:
        response.read()
    assert "aread()" in str(info.value)
    with pytest.raises(RuntimeError, match="sync iterator on an async stream"):
        list(response.iter_raw())
    with pytest.raises(RuntimeError, match="aclose"):
        response.close()


@pytest.mark.anyio
async def test_async_methods_on_sync_stream() -> None:
    response = streaming([b"x"])
    with pytest.raises(RuntimeError, match="async iterator on a sync stream") as info:
        await response.aread()
    assert "read()" in str(info.value)
    with pytest.raises(RuntimeError, match="async iterator on a sync stream"):
        [chunk async for chunk in response.aiter_raw()]
    with pytest.raises(RuntimeError, match=r"response\.close\(\)"):
        await response.aclose()


# --- async --------------------------------------------------------------------------


def astreaming(chunks: list[bytes], **kwargs: object) -> Response:
    return Response(200, stream=AsyncRecordingStream(chunks), **kwargs)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_aread() -> None:
    stream = AsyncRecordingStream([b"Hello, ", b"world!"])
    response = Response(200, stream=stream)
    with pytest.raises(ResponseNotRead):
        _ = response.content
    assert await response.aread() == b"Hello, world!"
    assert response.content == b"Hello, world!"
    assert response.is_closed
    assert stream.close_calls == 1
    assert response.num_bytes_downloaded == 13
    assert await response.aread() == b"Hello, world!"


@pytest.mark.anyio
async def test_aread_of_content_response() -> None:
    response = Response(200, content=b"abc")
    assert await response.aread() == b"abc"
    assert [c async for c in response.aiter_bytes(chunk_size=2)] == [b"ab", b"c"]


@pytest.mark.anyio
async def test_aiter_bytes_and_raw() -> None:
    response = astreaming([b"abc", b"defgh"])
    assert [c async for c in response.aiter_bytes(chunk_size=3)] == [b"abc", b"def", b"gh"]
    response = astreaming([b"abc", b"defgh"])
    assert [c async for c in response.aiter_raw(chunk_size=4)] == [b"abcd", b"efgh"]
    assert response.num_bytes_downloaded == 8
    response = astreaming([b"abc", b"", b"de"])
    assert [c async for c in response.aiter_raw()] == [b"abc", b"de"]


@pytest.mark.anyio
async def test_aiter_text_and_lines() -> None:
    response = astreaming(["été\n".encode(), b"x"])
    assert [t async for t in response.aiter_text(chunk_size=2)] == ["ét", "é\n", "x"]
    response = astreaming([b"a\r", b"\nb\n", b"c"])
    assert [line async for line in response.aiter_lines()] == ["a", "b", "c"]


@pytest.mark.anyio
async def test_async_gzip_and_decoding_error(request_: Request) -> None:
    body = gzip.compress(b"compressed")
    response = astreaming([body[:5], body[5:]], headers={"Content-Encoding": "gzip"})
    assert await response.aread() == b"compressed"

    broken = astreaming([b"garbage!"], headers={"Content-Encoding": "gzip"}, request=request_)
    with pytest.raises(DecodingError) as info:
        await broken.aread()
    assert info.value.request is request_


@pytest.mark.anyio
async def test_async_stream_errors() -> None:
    response = astreaming([b"abc"])
    await response.aread()
    with pytest.raises(StreamConsumed):
        [c async for c in response.aiter_raw()]

    stream = AsyncRecordingStream([b"abc"])
    response = Response(200, stream=stream)
    await response.aclose()
    await response.aclose()
    assert stream.close_calls == 1
    with pytest.raises(StreamClosed):
        await response.aread()


@pytest.mark.anyio
async def test_aclose_called_when_async_iteration_completes() -> None:
    stream = AsyncRecordingStream([b"a", b"b"])
    response = Response(200, stream=stream)
    iterator = response.aiter_raw()
    assert await iterator.__anext__() == b"a"
    assert stream.close_calls == 0
    assert [c async for c in iterator] == [b"b"]
    assert stream.close_calls == 1
    assert response.is_closed


@pytest.mark.anyio
async def test_content_response_works_both_ways() -> None:
    # ByteStream implements both sides, so a content= response can be closed either way.
    response = Response(200, content=b"x")
    response.close()
    await response.aclose()


# --- pickling -----------------------------------------------------------------------


def test_pickle_read_response(request_: Request) -> None:
    response = Response(
        404,
        content=b"missing",
        headers={"Content-Type": "text/plain; charset=utf-8"},
        request=request_,
        history=[Response(301)],
        extensions={"http_version": b"HTTP/2", "network_stream": object()},
    )
    response.elapsed = datetime.timedelta(milliseconds=5)
    copy = pickle.loads(pickle.dumps(response))
    assert copy.status_code == 404
    assert copy.headers == response.headers
    assert copy.content == b"missing"
    assert copy.text == "missing"
    assert copy.request.url == request_.url
    assert [r.status_code for r in copy.history] == [301]
    assert copy.elapsed == datetime.timedelta(milliseconds=5)
    assert copy.http_version == "HTTP/2"
    assert copy.extensions == {"http_version": b"HTTP/2"}
    assert copy.is_closed
    assert list(copy.iter_bytes()) == [b"missing"]
    with pytest.raises(StreamClosed):
        list(copy.stream)
    with pytest.raises(HTTPStatusError):
        copy.raise_for_status()


def test_pickle_unread_response() -> None:
    response = streaming([b"abc"])
    copy = pickle.loads(pickle.dumps(response))
    assert copy.is_closed
    assert not copy.is_stream_consumed
    with pytest.raises(ResponseNotRead):
        _ = copy.content
    with pytest.raises(StreamClosed):
        copy.read()


def test_pickle_after_cookies_and_encoding(request_: Request) -> None:
    response = Response(
        200, headers={"Set-Cookie": "a=1"}, content="é".encode("latin-1"), request=request_
    )
    assert dict(response.cookies) == {"a": "1"}
    response.encoding = "latin-1"
    copy = pickle.loads(pickle.dumps(response))
    assert copy.text == "é"
    assert dict(copy.cookies) == {"a": "1"}


def test_transport_constructor_matches_the_public_one() -> None:
    """`_from_transport` (the transports' shortcut) leaves a response in exactly the state
    `Response(status, headers=..., stream=..., extensions=...)` does."""
    raw = [(b"Content-Type", b"text/plain"), (b"Content-Length", b"2")]
    extensions = {"http_version": b"HTTP/1.1", "reason_phrase": b"OK"}
    stream = ByteStream(b"hi")
    public = Response(200, headers=raw, stream=stream, extensions=extensions)
    shortcut = Response._from_transport(200, Headers._from_raw(raw), stream, dict(extensions))
    assert vars(shortcut) == vars(public)
    assert shortcut.read() == public.read() == b"hi"
    assert (shortcut.reason_phrase, shortcut.http_version) == ("OK", "HTTP/1.1")


# -- what packages built on httpx do with a Response ---------------------------------------


class _Disconnect(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


def test_response_can_be_a_base_together_with_an_exception() -> None:
    class _Denial(Response, _Disconnect):  # type: ignore[misc]
        """Starlette's TestClient combines a response with an exception like this."""

        def __init__(self, status_code: int, content: bytes) -> None:
            Response.__init__(self, status_code, content=content)
            _Disconnect.__init__(self, 1008)

    with pytest.raises(_Disconnect) as caught:
        raise _Denial(403, b"denied")
    denial = caught.value
    assert isinstance(denial, Response)
    assert (denial.status_code, denial.content, denial.code) == (403, b"denied", 1008)
    assert repr(denial) == "<_Denial [403 Forbidden]>"


def test_content_is_absent_until_read_then_deletable_to_read_again() -> None:
    """pytest-httpx makes a response readable again by deleting `_content` and resetting
    the two flags; the stream (in memory) is then read once more."""
    response = Response(200, stream=ByteStream(b"body"))
    assert not hasattr(response, "_content")
    with pytest.raises(ResponseNotRead):
        _ = response.content
    assert response.read() == b"body"
    assert response._content == b"body"
    del response._content
    assert not hasattr(response, "_content")
    with pytest.raises(AttributeError, match="_content"):
        del response._content
    with pytest.raises(ResponseNotRead):
        _ = response.content
    response.is_stream_consumed = False
    response.is_closed = False
    assert response.read() == b"body"
    assert response.text == "body"


def test_content_set_from_outside_is_the_body() -> None:
    """vcrpy and test suites assign `_content` to stand in for a body."""
    response = Response(200, stream=ByteStream(b"ignored"))
    response._content = b'{"a": 1}'
    assert response.content == b'{"a": 1}'
    assert response.read() == b'{"a": 1}'
    assert response.json() == {"a": 1}
    assert list(response.iter_bytes()) == [b'{"a": 1}']


@pytest.mark.anyio
async def test_content_deleted_is_read_again_async() -> None:
    response = Response(200, stream=ByteStream(b"body"))
    assert await response.aread() == b"body"
    del response._content
    response.is_stream_consumed = False
    response.is_closed = False
    assert await response.aread() == b"body"


def test_request_is_private_until_set() -> None:
    response = Response(200)
    assert response._request is None
    with pytest.raises(RuntimeError, match="request instance has not been set"):
        _ = response.request
    request = Request("GET", "https://example.org/")
    response._request = request
    assert response.request is request
