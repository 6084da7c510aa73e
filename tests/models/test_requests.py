from __future__ import annotations

import io
import pickle
from collections.abc import AsyncIterator, Iterator

import pytest

from httpduo._models._cookies import Cookies
from httpduo._models._exceptions import RequestNotRead, StreamClosed
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._streams import AsyncByteStream, ByteStream, SyncByteStream
from httpduo._models._urls import URL


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def raw_headers(request: Request) -> list[tuple[bytes, bytes]]:
    return request.headers.raw


class RecordingStream(SyncByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.iterations = 0

    def __iter__(self) -> Iterator[bytes]:
        self.iterations += 1
        yield from self.chunks


# --- method and URL ---------------------------------------------------------------------


def test_method_is_upper_cased_str() -> None:
    assert Request("get", "https://example.org/").method == "GET"
    assert Request(b"post", "https://example.org/").method == "POST"
    assert isinstance(Request(b"post", "https://example.org/").method, str)


def test_method_of_wrong_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="method"):
        Request(123, "https://example.org/")  # type: ignore[arg-type]


def test_url_from_str_and_from_url_instance() -> None:
    request = Request("GET", "https://example.org/path?a=1")
    assert isinstance(request.url, URL)
    assert request.url == URL("https://example.org/path?a=1")

    url = URL("https://example.org/path")
    assert Request("GET", url).url is url  # immutable: reused, not re-parsed


def test_params_are_merged_into_the_query() -> None:
    request = Request("GET", "https://example.org/?a=1&b=2", params={"b": "3", "c": "4"})
    assert request.url.params["a"] == "1"
    assert request.url.params["b"] == "3"
    assert request.url.params["c"] == "4"
    assert str(request.url) == "https://example.org/?a=1&b=3&c=4"


def test_params_replace_repeated_keys_and_keep_repeats_of_their_own() -> None:
    request = Request("GET", "https://example.org/?a=1&a=2", params=[("a", "3"), ("a", "4")])
    assert request.url.params.get_list("a") == ["3", "4"]


def test_params_on_url_instance() -> None:
    request = Request("GET", URL("https://example.org/?x=1"), params={"y": 2})
    assert str(request.url) == "https://example.org/?x=1&y=2"


def test_empty_params_keep_the_query() -> None:
    assert str(Request("GET", "https://example.org/?a=1", params={}).url) == (
        "https://example.org/?a=1"
    )


def test_repr() -> None:
    assert (
        repr(Request("GET", "https://example.org/")) == "<Request('GET', 'https://example.org/')>"
    )
    assert repr(Request(b"post", "http://a/b?c=d")) == "<Request('POST', 'http://a/b?c=d')>"


def test_extensions_are_a_dict_copy() -> None:
    assert Request("GET", "https://example.org/").extensions == {}
    given = {"timeout": {"connect": 1.0}}
    request = Request("GET", "https://example.org/", extensions=given)
    assert request.extensions == given
    request.extensions["extra"] = True
    assert "extra" not in given


def test_arbitrary_attributes_may_be_set() -> None:
    request = Request("GET", "https://example.org/")
    request.custom = 1  # type: ignore[attr-defined]
    assert request.custom == 1  # type: ignore[attr-defined]


# --- Host header ------------------------------------------------------------------------


def test_host_header_is_first_and_omits_default_port() -> None:
    request = Request("GET", "https://example.org/", headers={"Accept": "*/*"})
    assert raw_headers(request) == [(b"Host", b"example.org"), (b"Accept", b"*/*")]
    assert Request("GET", "http://example.org:80/").headers["Host"] == "example.org"
    assert Request("GET", "https://example.org:443/").headers["Host"] == "example.org"


def test_host_header_includes_non_default_port() -> None:
    assert Request("GET", "https://example.org:8443/").headers["Host"] == "example.org:8443"
    assert Request("GET", "http://example.org:443/").headers["Host"] == "example.org:443"


def test_host_header_for_ipv6_and_idna_without_userinfo() -> None:
    assert Request("GET", "http://[::1]:8080/").headers["Host"] == "[::1]:8080"
    request = Request("GET", "http://user:secret@пример.рф/")
    assert request.headers["Host"] == "xn--e1afmkfd.xn--p1ai"


def test_explicit_host_header_is_kept() -> None:
    request = Request("GET", "https://example.org/", headers={"host": "other.example"})
    assert raw_headers(request) == [(b"host", b"other.example")]


def test_relative_url_gets_no_host_header() -> None:
    assert "host" not in Request("GET", "/relative").headers


def test_given_headers_instance_is_copied_not_mutated() -> None:
    headers = Headers({"X-A": "1"})
    request = Request("POST", "https://example.org/", headers=headers, content=b"abc")
    assert headers.raw == [(b"X-A", b"1")]
    assert request.headers["x-a"] == "1"
    assert request.headers["content-length"] == "3"


# --- body headers ---------------------------------------------------------------------


def test_bodiless_get_has_no_content_headers() -> None:
    request = Request("GET", "https://example.org/")
    assert raw_headers(request) == [(b"Host", b"example.org")]
    assert request.content == b""


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH"])
def test_bodiless_post_put_patch_send_content_length_zero(method: str) -> None:
    request = Request(method, "https://example.org/")
    assert raw_headers(request) == [(b"Host", b"example.org"), (b"Content-Length", b"0")]
    assert Request(method, "https://example.org/", content=b"").headers["Content-Length"] == "0"


@pytest.mark.parametrize("method", ["GET", "DELETE", "HEAD", "OPTIONS"])
def test_other_methods_get_no_content_length_for_an_empty_body(method: str) -> None:
    assert "content-length" not in Request(method, "https://example.org/", content=b"").headers
    assert "content-length" not in Request(method, "https://example.org/", data={}).headers


def test_bytes_content_sets_content_length() -> None:
    request = Request("POST", "https://example.org/", content=b"hello")
    assert raw_headers(request) == [(b"Host", b"example.org"), (b"Content-Length", b"5")]
    assert request.content == b"hello"
    assert isinstance(request.stream, ByteStream)


def test_text_content_is_utf8() -> None:
    request = Request("POST", "https://example.org/", content="héllo")
    assert request.headers["Content-Length"] == "6"
    assert request.content == "héllo".encode()


def test_iterator_content_is_chunked() -> None:
    request = Request("POST", "https://example.org/", content=iter([b"a", b"b"]))
    assert raw_headers(request) == [
        (b"Host", b"example.org"),
        (b"Transfer-Encoding", b"chunked"),
    ]


def test_explicit_content_length_suppresses_chunked() -> None:
    request = Request(
        "POST", "https://example.org/", headers={"Content-Length": "2"}, content=iter([b"ab"])
    )
    assert raw_headers(request) == [(b"Host", b"example.org"), (b"Content-Length", b"2")]


def test_explicit_transfer_encoding_suppresses_content_length() -> None:
    request = Request(
        "POST",
        "https://example.org/",
        headers={"Transfer-Encoding": "chunked"},
        content=b"abc",
    )
    assert "content-length" not in request.headers
    assert request.headers["transfer-encoding"] == "chunked"


def test_explicit_content_type_wins() -> None:
    request = Request(
        "POST", "https://example.org/", headers={"Content-Type": "text/plain"}, json={"a": 1}
    )
    assert request.headers.get_list("content-type") == ["text/plain"]
    assert request.headers["content-length"] == str(len(request.content))


def test_json_body_and_headers() -> None:
    request = Request("POST", "https://example.org/", json={"a": "é"})
    assert request.headers["Content-Type"] == "application/json"
    assert request.content == '{"a":"é"}'.encode()
    assert request.headers["Content-Length"] == str(len(request.content))


def test_form_data_body_and_headers() -> None:
    request = Request("POST", "https://example.org/", data={"a": "1", "b": ["x", "y"]})
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert request.content == b"a=1&b=x&b=y"
    assert request.headers["Content-Length"] == "11"


def test_files_are_multipart() -> None:
    request = Request(
        "POST",
        "https://example.org/",
        data={"field": "value"},
        files={"upload": ("a.txt", b"file-data", "text/plain")},
    )
    content_type = request.headers["Content-Type"]
    assert content_type.startswith("multipart/form-data; boundary=")
    boundary = content_type.split("boundary=")[1]
    body = request.read()
    assert body.startswith(f"--{boundary}\r\n".encode())
    assert b'name="field"' in body
    assert b'filename="a.txt"' in body
    assert b"file-data" in body
    assert request.headers["Content-Length"] == str(len(body))


def test_stream_given_directly_gets_no_body_headers() -> None:
    request = Request("POST", "https://example.org/", stream=ByteStream(b"abc"))
    assert raw_headers(request) == [(b"Host", b"example.org")]
    assert request.content == b"abc"  # an in-memory stream needs no read()
    assert request.read() == b"abc"


def test_custom_stream_given_directly_must_be_read() -> None:
    request = Request("POST", "https://example.org/", stream=RecordingStream([b"a", b"b"]))
    assert raw_headers(request) == [(b"Host", b"example.org")]
    with pytest.raises(RequestNotRead):
        _ = request.content
    assert request.read() == b"ab"


# --- cookies ------------------------------------------------------------------------------


def test_cookies_set_the_cookie_header() -> None:
    request = Request("GET", "https://example.org/", cookies={"a": "1", "b": "2"})
    assert request.headers["Cookie"] == "a=1; b=2"


def test_cookies_instance() -> None:
    cookies = Cookies({"session": "abc"})
    assert Request("GET", "https://example.org/", cookies=cookies).headers["Cookie"] == (
        "session=abc"
    )


def test_explicit_cookie_header_is_kept() -> None:
    request = Request("GET", "https://example.org/", headers={"Cookie": "x=y"}, cookies={"a": "1"})
    assert request.headers.get_list("cookie") == ["x=y"]


def test_cookies_with_a_direct_stream() -> None:
    request = Request("POST", "https://example.org/", cookies={"a": "1"}, stream=ByteStream(b""))
    assert request.headers["Cookie"] == "a=1"


# --- reading the body -----------------------------------------------------------------


def test_streaming_body_must_be_read_first() -> None:
    request = Request("POST", "https://example.org/", content=iter([b"ab", b"cd"]))
    with pytest.raises(RequestNotRead):
        _ = request.content
    assert request.read() == b"abcd"
    assert request.content == b"abcd"
    # Reading made it replayable.
    assert isinstance(request.stream, ByteStream)
    assert b"".join(request.stream) == b"abcd"
    assert b"".join(request.stream) == b"abcd"
    assert request.read() == b"abcd"


def test_read_of_file_body() -> None:
    request = Request("PUT", "https://example.org/", content=io.BytesIO(b"file body"))
    assert request.headers["Content-Length"] == "9"
    assert request.read() == b"file body"


def test_read_iterates_a_custom_stream_once() -> None:
    stream = RecordingStream([b"x", b"y"])
    request = Request("POST", "https://example.org/", stream=stream)
    assert request.read() == b"xy"
    assert request.read() == b"xy"
    assert stream.iterations == 1


async def agen(chunks: list[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


@pytest.mark.anyio
async def test_aread_of_async_body() -> None:
    request = Request("POST", "https://example.org/", content=agen([b"a", b"b", b"c"]))
    assert request.headers["Transfer-Encoding"] == "chunked"
    with pytest.raises(RequestNotRead):
        _ = request.content
    assert await request.aread() == b"abc"
    assert request.content == b"abc"
    # Replayable from now on, sync or async.
    assert [chunk async for chunk in request.stream] == [b"abc"]  # type: ignore[union-attr]
    assert await request.aread() == b"abc"


@pytest.mark.anyio
async def test_aread_of_bytes_body() -> None:
    request = Request("POST", "https://example.org/", content=b"abc")
    assert await request.aread() == b"abc"


def test_read_of_async_body_is_a_runtime_error() -> None:
    request = Request("POST", "https://example.org/", content=agen([b"a"]))
    with pytest.raises(RuntimeError, match="aread"):
        request.read()


@pytest.mark.anyio
async def test_aread_of_sync_body_is_a_runtime_error() -> None:
    request = Request("POST", "https://example.org/", content=iter([b"a"]))
    with pytest.raises(RuntimeError, match=r"read\(\)"):
        await request.aread()


class AsyncOnly(AsyncByteStream):
    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield b"async"


@pytest.mark.anyio
async def test_aread_of_custom_async_stream() -> None:
    request = Request("POST", "https://example.org/", stream=AsyncOnly())
    assert await request.aread() == b"async"


# --- pickling -------------------------------------------------------------------------


def test_pickle_keeps_read_content() -> None:
    request = Request(
        "POST",
        "https://example.org/?a=1",
        headers={"X-A": "b"},
        content=b"body",
        extensions={"trace": lambda *args: None},
    )
    copy = pickle.loads(pickle.dumps(request))
    assert copy.method == "POST"
    assert copy.url == request.url
    assert copy.headers == request.headers
    assert copy.content == b"body"
    assert copy.extensions == {}  # they may hold callables and connections
    assert repr(copy) == repr(request)
    with pytest.raises(StreamClosed):
        list(copy.stream)


def test_pickle_of_unread_streaming_request() -> None:
    request = Request("POST", "https://example.org/", content=iter([b"a"]))
    copy = pickle.loads(pickle.dumps(request))
    assert copy.headers["Transfer-Encoding"] == "chunked"
    with pytest.raises(RequestNotRead):
        _ = copy.content
    with pytest.raises(StreamClosed):
        copy.read()


@pytest.mark.anyio
async def test_unpickled_stream_is_closed_async() -> None:
    request = Request("POST", "https://example.org/", content=iter([b"a"]))
    copy = pickle.loads(pickle.dumps(request))
    with pytest.raises(StreamClosed):
        await copy.aread()


def test_pickle_keeps_custom_attributes() -> None:
    request = Request("GET", "https://example.org/")
    request.note = "kept"  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(request)).note == "kept"
