from __future__ import annotations

import io
import json
import pickle
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import httpduo
from httpduo._models._content import encode_request, encode_response
from httpduo._models._exceptions import StreamClosed, StreamConsumed
from httpduo._models._multipart import MultipartStream
from httpduo._models._streams import (
    CHUNK_SIZE,
    AsyncByteStream,
    AsyncIteratorByteStream,
    ByteStream,
    IteratorByteStream,
    SyncByteStream,
    UnattachedStream,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def loose(value: object) -> Any:
    """Pass a deliberately ill-typed or duck-typed value past the type checker."""
    return value


def read_sync(stream: Any) -> bytes:
    return b"".join(stream)


async def read_async(stream: Any) -> bytes:
    return b"".join([chunk async for chunk in stream])


def generate(*chunks: Any) -> Iterator[Any]:
    yield from chunks


async def agenerate(*chunks: Any) -> AsyncIterator[Any]:
    for chunk in chunks:
        yield chunk


class ReplayableAsync:
    """An async iterable whose __aiter__ starts afresh each time."""

    def __aiter__(self) -> AsyncIterator[bytes]:
        return agenerate(b"a", b"b")


class NonSeekable:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


# ---- base classes ---------------------------------------------------------------------


def test_base_classes_name_the_missing_method() -> None:
    class Incomplete(SyncByteStream, AsyncByteStream):
        pass

    with pytest.raises(NotImplementedError, match=r"Incomplete must implement __iter__\(\)"):
        iter(Incomplete())
    with pytest.raises(NotImplementedError, match=r"Incomplete must implement __aiter__\(\)"):
        Incomplete().__aiter__()


@pytest.mark.anyio
async def test_user_subclasses_work_both_ways() -> None:
    class Mine(SyncByteStream, AsyncByteStream):
        def __iter__(self) -> Iterator[bytes]:
            yield b"sync"

        async def __aiter__(self) -> AsyncIterator[bytes]:
            yield b"async"

    stream = Mine()
    assert read_sync(stream) == b"sync"
    assert await read_async(stream) == b"async"
    stream.close()  # the defaults do nothing, and do not fail
    await stream.aclose()


# ---- ByteStream -----------------------------------------------------------------------


@pytest.mark.anyio
async def test_byte_stream_is_sync_async_and_replayable() -> None:
    stream = ByteStream(b"payload")
    assert isinstance(stream, SyncByteStream)
    assert isinstance(stream, AsyncByteStream)
    assert list(stream) == [b"payload"]
    assert list(stream) == [b"payload"]
    assert [chunk async for chunk in stream] == [b"payload"]
    assert list(ByteStream(b"")) == []  # no empty chunk: it would end a chunked body


def test_byte_stream_pickles() -> None:
    assert read_sync(pickle.loads(pickle.dumps(ByteStream(b"abc")))) == b"abc"


# ---- IteratorByteStream ---------------------------------------------------------------


def test_generator_is_one_shot() -> None:
    stream = IteratorByteStream(generate(b"a", b"b"))
    assert list(stream) == [b"a", b"b"]
    with pytest.raises(StreamConsumed):
        iter(stream)


def test_re_iterable_collections_replay() -> None:
    stream = IteratorByteStream([b"a", b"b"])
    assert read_sync(stream) == b"ab"
    assert read_sync(stream) == b"ab"


def test_chunks_are_normalised() -> None:
    stream = IteratorByteStream(loose([b"a", b"", bytearray(b"b"), memoryview(b"c")]))
    chunks = list(stream)
    assert chunks == [b"a", b"b", b"c"]
    assert all(type(chunk) is bytes for chunk in chunks)


@pytest.mark.parametrize(
    ("bad", "message"),
    [("text", "got a 'str' chunk.*encode"), (42, "got a 'int' chunk"), (None, "'NoneType'")],
)
def test_non_bytes_chunk_raises_type_error_naming_it(bad: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        list(IteratorByteStream([b"ok", bad]))


def test_wrapping_bytes_or_a_non_iterable_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="use ByteStream"):
        IteratorByteStream(loose(b"abc"))
    with pytest.raises(TypeError, match="iterable of bytes"):
        IteratorByteStream(42)  # type: ignore[arg-type]


def test_files_are_read_in_chunks_and_replay_from_their_start(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    content = bytes(range(256)) * 1000  # 256 KB: several chunks
    path.write_bytes(content)
    with open(path, "rb") as file:
        file.read(10)
        stream = IteratorByteStream(file)
        chunks = list(stream)
        assert all(len(chunk) <= CHUNK_SIZE for chunk in chunks)
        assert len(chunks) > 1
        assert b"".join(chunks) == content[10:]
        assert read_sync(stream) == content[10:]  # replayed for a redirect


def test_non_seekable_file_is_one_shot() -> None:
    stream = IteratorByteStream(loose(NonSeekable(b"data")))
    assert read_sync(stream) == b"data"
    with pytest.raises(StreamConsumed):
        iter(stream)


def test_text_mode_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text("text")
    with open(path) as file, pytest.raises(TypeError, match="binary mode"):
        IteratorByteStream(loose(file))
    with pytest.raises(TypeError, match="binary mode"):
        IteratorByteStream(loose(io.StringIO("text")))


def test_file_like_returning_str_is_caught_while_reading() -> None:
    class Sneaky:
        def __init__(self) -> None:
            self.done = False

        def read(self, size: int = -1) -> str:
            if self.done:
                return ""
            self.done = True
            return "text"

    with pytest.raises(TypeError, match="binary mode"):
        read_sync(IteratorByteStream(Sneaky()))  # type: ignore[arg-type]


# ---- AsyncIteratorByteStream ----------------------------------------------------------


@pytest.mark.anyio
async def test_async_generator_is_one_shot() -> None:
    stream = AsyncIteratorByteStream(agenerate(b"a", b"", bytearray(b"b")))
    assert [chunk async for chunk in stream] == [b"a", b"b"]
    with pytest.raises(StreamConsumed):
        stream.__aiter__()


@pytest.mark.anyio
async def test_re_iterable_async_iterable_replays() -> None:
    stream = AsyncIteratorByteStream(ReplayableAsync())
    assert await read_async(stream) == b"ab"
    assert await read_async(stream) == b"ab"


@pytest.mark.anyio
async def test_async_non_bytes_chunk_raises() -> None:
    with pytest.raises(TypeError, match="'str' chunk"):
        await read_async(AsyncIteratorByteStream(agenerate(b"a", "b")))


def test_async_stream_is_not_sync_iterable() -> None:
    stream = AsyncIteratorByteStream(ReplayableAsync())
    assert not isinstance(stream, SyncByteStream)
    with pytest.raises(TypeError):
        AsyncIteratorByteStream([b"a"])  # type: ignore[arg-type]


# ---- UnattachedStream -----------------------------------------------------------------


@pytest.mark.anyio
async def test_unattached_stream_is_closed_both_ways() -> None:
    stream = UnattachedStream()
    with pytest.raises(StreamClosed):
        list(stream)
    with pytest.raises(StreamClosed):
        await read_async(stream)


# ---- encode_request -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "headers", "body"),
    [
        ({}, {}, b""),
        ({"content": b""}, {}, b""),
        ({"content": ""}, {}, b""),
        ({"content": b"abc"}, {"Content-Length": "3"}, b"abc"),
        ({"content": "héllo"}, {"Content-Length": "6"}, "héllo".encode()),
        ({"content": bytearray(b"ab")}, {"Content-Length": "2"}, b"ab"),
        ({"content": [b"a", b"b"]}, {"Transfer-Encoding": "chunked"}, b"ab"),
        ({"content": generate(b"a", b"b")}, {"Transfer-Encoding": "chunked"}, b"ab"),
        ({"data": {}}, {}, b""),
        ({"files": {}}, {}, b""),
        ({"json": None}, {}, b""),
    ],
)
def test_encode_request_content(
    kwargs: dict[str, Any], headers: dict[str, str], body: bytes
) -> None:
    result_headers, stream = encode_request(**kwargs)
    assert result_headers == headers
    assert read_sync(stream) == body


def test_empty_body_is_an_empty_byte_stream() -> None:
    headers, stream = encode_request()
    assert headers == {}
    assert isinstance(stream, ByteStream)


def test_form_data_is_urlencoded() -> None:
    headers, stream = encode_request(
        data={
            "name": "Ada Lovelace",
            "sym": "&=é",
            "n": [1, 2.5],
            "t": True,
            "f": False,
            "z": None,
        }
    )
    body = b"name=Ada+Lovelace&sym=%26%3D%C3%A9&n=1&n=2.5&t=true&f=false&z="
    assert read_sync(stream) == body
    assert headers == {
        "Content-Length": str(len(body)),
        "Content-Type": "application/x-www-form-urlencoded",
    }


def test_form_data_with_only_empty_lists_sends_an_empty_form() -> None:
    headers, stream = encode_request(data={"a": []})
    assert headers == {"Content-Length": "0", "Content-Type": "application/x-www-form-urlencoded"}
    assert read_sync(stream) == b""


@pytest.mark.parametrize("raw", [b"raw bytes", "raw bytes"])
def test_raw_data_is_deprecated_but_sent(raw: Any) -> None:
    with pytest.warns(DeprecationWarning, match=r"Use 'content=<\.\.\.>' to upload raw"):
        headers, stream = encode_request(data=raw)
    assert headers == {"Content-Length": "9"}
    assert read_sync(stream) == b"raw bytes"


def test_json_is_compact_utf8() -> None:
    headers, stream = encode_request(json={"name": "Zoë", "list": [1, 2.5, None, True]})
    body = read_sync(stream)
    assert body == '{"name":"Zoë","list":[1,2.5,null,true]}'.encode()
    assert headers == {"Content-Length": str(len(body)), "Content-Type": "application/json"}
    assert json.loads(body) == {"name": "Zoë", "list": [1, 2.5, None, True]}


@pytest.mark.parametrize("value", [float("nan"), float("inf"), [float("-inf")]])
def test_json_refuses_nan_and_infinity(value: Any) -> None:
    with pytest.raises(ValueError, match="JSON"):
        encode_request(json=value)


def test_json_falsy_values_are_still_sent() -> None:
    for value, body in [({}, b"{}"), ([], b"[]"), (0, b"0"), (False, b"false"), ("", b'""')]:
        headers, stream = encode_request(json=value)
        assert read_sync(stream) == body
        assert headers["Content-Type"] == "application/json"


def test_precedence_content_then_files_then_data_then_json() -> None:
    _, stream = encode_request(content=b"c", data={"d": "1"}, json={"j": 1})
    assert read_sync(stream) == b"c"
    _, stream = encode_request(data={"d": "1"}, files={"f": b"x"}, json={"j": 1})
    assert isinstance(stream, MultipartStream)
    body = read_sync(stream)
    assert b'name="d"\r\n\r\n1\r\n' in body
    assert b'name="f"' in body
    _, stream = encode_request(data={"d": "1"}, json={"j": 1})
    assert read_sync(stream) == b"d=1"


def test_files_use_the_given_boundary() -> None:
    headers, stream = encode_request(files={"f": b"x"}, boundary=b"my-boundary")
    assert headers["Content-Type"] == "multipart/form-data; boundary=my-boundary"
    assert read_sync(stream).startswith(b"--my-boundary\r\n")
    assert headers["Content-Length"] == str(len(read_sync(stream)))


def test_file_content_sends_what_is_left_with_its_length(tmp_path: Path) -> None:
    path = tmp_path / "body.bin"
    path.write_bytes(b"0123456789")
    with open(path, "rb") as file:
        file.read(4)
        headers, stream = encode_request(content=file)
        assert headers == {"Content-Length": "6"}
        assert read_sync(stream) == b"456789"
        assert read_sync(stream) == b"456789"
    buffer = io.BytesIO(b"in memory")
    headers, stream = encode_request(content=buffer)
    assert headers == {"Content-Length": "9"}
    assert read_sync(stream) == b"in memory"


def test_unmeasurable_file_content_is_chunked() -> None:
    headers, stream = encode_request(content=NonSeekable(b"piped"))  # type: ignore[arg-type]
    assert headers == {"Transfer-Encoding": "chunked"}
    assert read_sync(stream) == b"piped"


def test_text_mode_file_content_is_refused() -> None:
    with pytest.raises(TypeError, match="binary mode"):
        encode_request(content=io.StringIO("text"))  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_async_iterable_content() -> None:
    headers, stream = encode_request(content=agenerate(b"a", b"b"))
    assert headers == {"Transfer-Encoding": "chunked"}
    assert isinstance(stream, AsyncIteratorByteStream)
    assert await read_async(stream) == b"ab"
    with pytest.raises(StreamConsumed):
        await read_async(stream)


@pytest.mark.anyio
async def test_in_memory_bodies_are_readable_async_too() -> None:
    for kwargs in ({"content": b"x"}, {"data": {"a": "1"}}, {"json": [1]}, {"files": {"f": b"x"}}):
        _, stream = encode_request(**kwargs)
        assert await read_async(stream) == read_sync(stream)


@pytest.mark.parametrize("content", [42, 1.5, object()])
def test_unsupported_content_type_is_refused(content: Any) -> None:
    with pytest.raises(TypeError, match="Unexpected type for 'content'"):
        encode_request(content=content)


# ---- encode_response ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "headers", "body"),
    [
        ({}, {}, b""),
        ({"content": b"raw"}, {"Content-Length": "3"}, b"raw"),
        ({"content": [b"a", b"b"]}, {"Transfer-Encoding": "chunked"}, b"ab"),
        (
            {"text": "héllo"},
            {"Content-Length": "6", "Content-Type": "text/plain; charset=utf-8"},
            "héllo".encode(),
        ),
        ({"text": ""}, {"Content-Length": "0", "Content-Type": "text/plain; charset=utf-8"}, b""),
        (
            {"html": "<p>hi</p>"},
            {"Content-Length": "9", "Content-Type": "text/html; charset=utf-8"},
            b"<p>hi</p>",
        ),
        (
            {"json": {"a": [1, "ü"]}},
            {"Content-Length": "14", "Content-Type": "application/json"},
            '{"a":[1,"ü"]}'.encode(),
        ),
    ],
)
def test_encode_response(kwargs: dict[str, Any], headers: dict[str, str], body: bytes) -> None:
    result_headers, stream = encode_response(**kwargs)
    assert result_headers == headers
    assert read_sync(stream) == body


# ---- subclasses with an __init__ of their own (hishel's cache stream) ------------------


class OwnSync(ByteStream):
    """Keeps its own source and never calls ByteStream.__init__, as hishel's does."""

    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.closed = 0

    def __iter__(self) -> Iterator[bytes]:
        yield from self._chunks

    def close(self) -> None:
        self.closed += 1


class OwnAsync(ByteStream):
    def __init__(self, chunks: list[bytes]) -> None:
        self._chunks = chunks
        self.closed = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self._chunks:
            yield chunk

    async def aclose(self) -> None:
        self.closed += 1


def test_byte_stream_subclass_with_own_init_as_response_body() -> None:
    from httpduo._models._responses import Response

    response = Response(200, stream=OwnSync([b"he", b"llo"]))
    assert response.read() == b"hello"
    assert response.is_closed
    response = Response(200, stream=OwnSync([b"he", b"llo"]))
    assert list(response.iter_raw()) == [b"he", b"llo"]
    stream = OwnSync([b"x"])
    response = Response(200, stream=stream)
    response.close()
    assert stream.closed == 1


@pytest.mark.anyio
async def test_byte_stream_subclass_with_own_init_as_async_response_body() -> None:
    from httpduo._models._responses import Response

    stream = OwnAsync([b"he", b"llo"])
    response = Response(200, stream=stream)
    assert await response.aread() == b"hello"
    assert stream.closed == 1
    response = Response(200, stream=OwnAsync([b"a", b"b"]))
    assert [chunk async for chunk in response.aiter_bytes()] == [b"a", b"b"]


@pytest.mark.anyio
async def test_byte_stream_subclass_with_own_init_as_request_body() -> None:
    from httpduo._models._requests import Request

    request = Request("POST", "https://example.org/", stream=OwnSync([b"a", b"b"]))
    assert request.read() == b"ab"
    assert request.content == b"ab"
    request = Request("POST", "https://example.org/", stream=OwnAsync([b"c", b"d"]))
    assert await request.aread() == b"cd"
    # The whole-body shortcut of streams honours the subclass's iteration.
    assert OwnSync([b"1", b"2"])._read_all() == b"12"
    assert await OwnAsync([b"3", b"4"])._aread_all() == b"34"


def test_iterator_streams_combine_as_bases_and_take_httpx_argument_names() -> None:
    # pytest-httpx's stream: both iterator streams as bases, each initialised by keyword.
    class Both(AsyncIteratorByteStream, IteratorByteStream):
        def __init__(self, chunks: list[bytes]) -> None:
            class Source:
                def __iter__(self) -> Iterator[bytes]:
                    return iter(chunks)

                async def __aiter__(self) -> AsyncIterator[bytes]:
                    for chunk in chunks:
                        yield chunk

            AsyncIteratorByteStream.__init__(self, stream=Source())
            IteratorByteStream.__init__(self, stream=Source())

    stream = Both([b"a", b"b"])
    assert b"".join(stream) == b"ab"

    async def collect() -> bytes:
        return b"".join([chunk async for chunk in stream])

    assert anyio.run(collect) == b"ab"
    response = httpduo.Response(200, stream=stream)
    assert response.read() == b"ab"
