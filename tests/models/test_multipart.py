from __future__ import annotations

import email.message
import email.parser
import email.policy
import io
import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import httpduo
from httpduo._models._content import encode_request
from httpduo._models._exceptions import StreamConsumed
from httpduo._models._multipart import MultipartStream
from httpduo._models._streams import CHUNK_SIZE


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def parse(stream: MultipartStream, body: bytes | None = None) -> list[email.message.Message]:
    """Parse a multipart body back with the stdlib, as a server would."""
    if body is None:
        body = b"".join(stream)
    head = b"Content-Type: " + stream.get_headers()["Content-Type"].encode() + b"\r\n\r\n"
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    assert message.is_multipart()
    assert not message.defects
    parts: list[email.message.Message] = list(message.iter_parts())
    for part in parts:
        assert not part.defects
    return parts


def loose(value: object) -> Any:
    """Pass a deliberately ill-typed or duck-typed value past the type checker."""
    return value


def field_name(part: email.message.Message) -> str | None:
    name = part.get_param("name", header="content-disposition")
    assert name is None or isinstance(name, str)
    return name


class ReadRecorder:
    """A binary file wrapper that records every read() size it is asked for."""

    def __init__(self, file: Any) -> None:
        self.file = file
        self.name = file.name
        self.sizes: list[int] = []

    def read(self, size: int = -1) -> bytes:
        self.sizes.append(size)
        data: bytes = self.file.read(size)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        result: int = self.file.seek(offset, whence)
        return result

    def tell(self) -> int:
        result: int = self.file.tell()
        return result

    def seekable(self) -> bool:
        return True


class NonSeekable:
    """A readable object that can neither seek nor report a size (a pipe, a socket...)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


@pytest.fixture
def big_file(tmp_path: Path) -> tuple[Path, bytes]:
    # ~3 MB of non-repeating-looking content, written once.
    content = b"".join(os.urandom(1024) for _ in range(3 * 1024)) + b"tail"
    path = tmp_path / "big.bin"
    path.write_bytes(content)
    return path, content


@pytest.fixture
def opened_big_file(big_file: tuple[Path, bytes]) -> Iterator[Any]:
    with open(big_file[0], "rb") as file:
        yield file


def test_exact_layout_of_a_small_form() -> None:
    stream = MultipartStream(
        data={"name": "Ada", "tags": ["x", "y"], "flag": True},
        files={"doc": ("notes.txt", b"hello\r\n")},
        boundary=b"BOUNDARY",
    )
    assert b"".join(stream) == (
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="name"\r\n\r\n'
        b"Ada\r\n"
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="tags"\r\n\r\n'
        b"x\r\n"
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="tags"\r\n\r\n'
        b"y\r\n"
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="flag"\r\n\r\n'
        b"true\r\n"
        b"--BOUNDARY\r\n"
        b'Content-Disposition: form-data; name="doc"; filename="notes.txt"\r\n'
        b"Content-Type: text/plain\r\n\r\n"
        b"hello\r\n\r\n"
        b"--BOUNDARY--\r\n"
    )
    assert stream.get_headers() == {
        "Content-Length": str(len(b"".join(stream))),
        "Content-Type": "multipart/form-data; boundary=BOUNDARY",
    }


def test_form_parses_back_with_the_stdlib() -> None:
    stream = MultipartStream(
        data={"a": "1", "num": 3, "pi": 1.5, "off": False, "none": None, "raw": b"\x00\xff"},
        files=[
            ("upload", ("report.csv", b"a,b\r\n1,2\r\n", "text/csv")),
            ("upload", ("image.png", b"\x89PNG fake")),
            ("blob", b"--looks-like-a-delimiter\r\n"),
        ],
    )
    parts = parse(stream)
    assert [field_name(part) for part in parts] == [
        "a", "num", "pi", "off", "none", "raw", "upload", "upload", "blob"
    ]  # fmt: skip
    assert [part.get_payload(decode=True) for part in parts] == [
        b"1",
        b"3",
        b"1.5",
        b"false",
        b"",
        b"\x00\xff",
        b"a,b\r\n1,2\r\n",
        b"\x89PNG fake",
        b"--looks-like-a-delimiter\r\n",
    ]
    assert [part.get_filename() for part in parts[6:]] == ["report.csv", "image.png", "upload"]
    assert [part.get_content_type() for part in parts[6:]] == [
        "text/csv",
        "image/png",
        "application/octet-stream",
    ]


def test_default_boundary_is_random_hex() -> None:
    first = MultipartStream({}, {"f": b"x"})
    second = MultipartStream({}, {"f": b"x"})
    assert re.fullmatch(rb"[0-9a-f]{32}", first.boundary)
    assert first.boundary != second.boundary
    assert first.get_headers()["Content-Type"] == (
        f"multipart/form-data; boundary={first.boundary.decode()}"
    )


def test_boundary_needing_quotes_is_quoted_in_the_content_type() -> None:
    stream = MultipartStream({"a": "b"}, {"f": b"x"}, boundary=b"abc:def=?")
    assert stream.get_headers()["Content-Type"] == 'multipart/form-data; boundary="abc:def=?"'
    parse(stream)


@pytest.mark.parametrize("boundary", [b"", b"a" * 71, b"bad\r\nboundary", b'q"uote', b"end "])
def test_invalid_boundary_is_refused(boundary: bytes) -> None:
    with pytest.raises(ValueError, match="boundary"):
        MultipartStream({}, {"f": b"x"}, boundary=boundary)


@pytest.mark.parametrize(
    ("filename", "on_the_wire", "parsed"),
    [
        ('say "hi".txt', b'filename="say %22hi%22.txt"', "say %22hi%22.txt"),
        ("back\\slash.txt", b'filename="back\\\\slash.txt"', "back\\slash.txt"),
        ("two\r\nlines.txt", b'filename="two%0D%0Alines.txt"', "two%0D%0Alines.txt"),
        ("résumé 日本.pdf", 'filename="résumé 日本.pdf"'.encode(), "résumé 日本.pdf"),
    ],
)
def test_filenames_are_escaped(filename: str, on_the_wire: bytes, parsed: str) -> None:
    stream = MultipartStream({}, {"f": (filename, b"data")}, boundary=b"B")
    body = b"".join(stream)
    assert on_the_wire in body
    (part,) = parse(stream, body)
    assert part.get_filename() == parsed
    assert part.get_payload(decode=True) == b"data"


def test_field_names_are_escaped_too() -> None:
    stream = MultipartStream({'we"ird\nname': "v"}, {"f": b"x"}, boundary=b"B")
    assert b'name="we%22ird%0Aname"' in b"".join(stream)


@pytest.mark.parametrize(
    ("name", "on_the_wire"),
    [
        ("nul\x00.txt", b"nul%00.txt"),
        ("tab\there.txt", b"tab%09here.txt"),
        ("bell\x07\x1f.txt", b"bell%07%1F.txt"),
        ("esc\x1b.txt", b"esc\x1b.txt"),  # ESC is the one control HTML5 leaves alone
        ("del\x7f.txt", b"del\x7f.txt"),  # not a C0 control
    ],
)
def test_control_characters_are_percent_escaped_as_html5_forms_do(
    name: str, on_the_wire: bytes
) -> None:
    stream = MultipartStream({name: "v"}, {"f": (name, b"x")}, boundary=b"B")
    body = b"".join(stream)
    assert b'name="' + on_the_wire + b'"\r\n' in body
    assert b'filename="' + on_the_wire + b'"\r\n' in body


@pytest.mark.parametrize(
    "value", [bytearray(b"x"), memoryview(b"x"), ["ok", b"ok", 1, 1.5, None, ["nested"]], {1, 2}]
)
def test_values_other_than_str_bytes_numbers_or_none_raise_type_error(value: Any) -> None:
    with pytest.raises(TypeError, match="Invalid type for a multipart form value"):
        MultipartStream({"field": value}, {"f": b"x"})


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ("multipart/form-data; boundary=my-boundary", b"my-boundary"),
        ('Multipart/Form-Data; charset=utf-8; Boundary="with space:"', b"with space:"),
    ],
)
def test_boundary_in_the_request_content_type_is_the_one_the_body_uses(
    content_type: str, boundary: bytes
) -> None:
    files = {"file": ("a.txt", b"data", "text/plain", {"X-Part": "1"})}
    request = httpduo.Request(
        "POST", "https://example.org/", headers={"Content-Type": content_type}, files=files
    )
    assert request.headers["Content-Type"] == content_type
    body = request.read()
    assert body.startswith(b"--" + boundary + b"\r\n")
    assert body.endswith(b"\r\n--" + boundary + b"--\r\n")
    assert b"\r\nX-Part: 1\r\nContent-Type: text/plain\r\n\r\ndata\r\n" in body
    assert request.headers["Content-Length"] == str(len(body))


def test_client_requests_use_the_boundary_of_their_content_type_header() -> None:
    seen: list[httpduo.Request] = []

    def handler(request: httpduo.Request) -> httpduo.Response:
        seen.append(request)
        return httpduo.Response(200)

    header = {"Content-Type": "multipart/form-data; boundary=from-the-client"}
    with httpduo.Client(transport=httpduo.MockTransport(handler), headers=header) as client:
        built = client.build_request("POST", "https://example.org/", files={"f": b"x"})
        client.post("https://example.org/", files={"f": b"x"})
        client.post(
            "https://example.org/",
            files={"f": b"x"},
            headers={"Content-Type": "multipart/form-data; boundary=per-request"},
        )
    assert built.read().startswith(b"--from-the-client\r\n")
    assert seen[0].content.startswith(b"--from-the-client\r\n")
    assert seen[1].content.startswith(b"--per-request\r\n")
    assert seen[1].content.endswith(b"--per-request--\r\n")


def test_a_multipart_content_type_without_boundary_gets_a_random_one_in_the_body() -> None:
    request = httpduo.Request(
        "POST",
        "https://example.org/",
        headers={"Content-Type": "multipart/form-data"},
        files={"f": b"x"},
    )
    assert request.headers["Content-Type"] == "multipart/form-data"
    assert re.match(rb"--[0-9a-f]{32}\r\n", request.read())


def test_an_invalid_boundary_in_the_content_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Invalid multipart boundary"):
        httpduo.Request(
            "POST",
            "https://example.org/",
            headers={"Content-Type": 'multipart/form-data; boundary="' + "b" * 71 + '"'},
            files={"f": b"x"},
        )


def test_content_type_rules() -> None:
    stream = MultipartStream(
        {},
        [
            ("guessed", ("page.html", b"<p>")),
            ("unknown", ("file.unknownext", b"?")),
            ("explicit", ("page.html", b"<p>", "application/xhtml+xml")),
            ("none-given", ("data.json", b"{}", None)),
            ("no-filename", (None, b"plain value")),
            ("no-filename-typed", (None, b"{}", "application/json")),
            ("empty-filename", ("", b"z")),
        ],
        boundary=b"B",
    )
    parts = parse(stream)
    content_types = [part.get("Content-Type") for part in parts]
    assert content_types == [
        "text/html",
        "application/octet-stream",
        "application/xhtml+xml",
        "application/json",
        None,
        "application/json",
        None,
    ]
    assert [part.get_filename() for part in parts] == [
        "page.html", "file.unknownext", "page.html", "data.json", None, None, None
    ]  # fmt: skip


def test_custom_part_headers_keep_order_and_may_override_content_type() -> None:
    stream = MultipartStream(
        {},
        {
            "a": ("a.bin", b"1", None, {"X-Checksum": "abc"}),
            "b": ("b.bin", b"2", "ignored/type", {"content-type": "over/ride"}),
        },
        boundary=b"B",
    )
    body = b"".join(stream)
    assert (
        b'name="a"; filename="a.bin"\r\nX-Checksum: abc\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n1" in body
    )
    assert b'name="b"; filename="b.bin"\r\ncontent-type: over/ride\r\n\r\n2' in body
    assert b"ignored/type" not in body


def test_line_break_in_a_part_header_is_refused() -> None:
    with pytest.raises(ValueError, match="line break"):
        MultipartStream({}, {"f": ("f", b"x", None, {"X-A": "1\r\nX-Injected: 2"})})


def test_line_break_in_a_part_content_type_is_refused() -> None:
    with pytest.raises(ValueError, match="line breaks"):
        MultipartStream({}, {"f": ("f.txt", b"x", "text/plain\r\nX-Injected: true")})


def test_str_file_content_is_utf8() -> None:
    (part,) = parse(MultipartStream({}, {"f": ("t.txt", "héllo")}))
    assert part.get_payload(decode=True) == "héllo".encode()


@pytest.mark.parametrize(
    ("data", "files", "message"),
    [
        ({"a": object()}, {"f": b"x"}, "Invalid type for a multipart form value"),
        ({"a": {"nested": 1}}, {"f": b"x"}, "Invalid type"),
        ({b"a": "1"}, {"f": b"x"}, "field names must be str"),
        ({}, {1: b"x"}, "field names must be str"),
        ({}, {"f": 123}, "must be a file opened in binary mode"),
        ({}, {"f": ("name",)}, "got a tuple of 1 items"),
        ({}, {"f": ("n", b"x", None, {}, "extra")}, "got a tuple of 5 items"),
        ({}, {"f": (b"name.txt", b"x")}, "filename .* must be str or None"),
    ],
)
def test_bad_input_raises_type_error(data: Any, files: Any, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        MultipartStream(data, files)


def test_text_mode_files_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "text.txt"
    path.write_text("hello")
    with open(path) as text_file, pytest.raises(TypeError, match="binary mode"):
        MultipartStream({}, {"f": loose(text_file)})
    with pytest.raises(TypeError, match="binary mode"):
        MultipartStream({}, {"f": ("t.txt", loose(io.StringIO("hello")))})
    spooled = tempfile.SpooledTemporaryFile(mode="w+")  # noqa: SIM115 (closed below)
    try:
        with pytest.raises(TypeError, match="binary mode"):
            MultipartStream({}, {"f": loose(spooled)})
    finally:
        spooled.close()


def test_big_file_is_streamed_in_bounded_reads(big_file: tuple[Path, bytes]) -> None:
    path, content = big_file
    with open(path, "rb") as raw:
        recorder = ReadRecorder(raw)
        stream = MultipartStream({"meta": "x"}, {"upload": loose(recorder)}, boundary=b"B")

        chunks = iter(stream)
        # "meta" headers, "meta" value, file part headers, first file chunk.
        head = [next(chunks) for _ in range(4)]
        assert len(recorder.sizes) == 1  # lazy: nothing read ahead
        assert len(head[-1]) == CHUNK_SIZE

        body = b"".join([*head, *chunks])
        assert all(0 < size <= CHUNK_SIZE for size in recorder.sizes), set(recorder.sizes)
        assert stream.get_headers()["Content-Length"] == str(len(body))
        parts = parse(stream, body)
        assert parts[1].get_filename() == "big.bin"
        assert parts[1].get_payload(decode=True) == content


def test_real_file_content_length_comes_from_its_size(big_file: tuple[Path, bytes]) -> None:
    path, content = big_file
    with open(path, "rb") as file:
        file.read(100)  # a partly read file is still sent whole
        headers, stream = encode_request(files={"f": file}, boundary=b"B")
        assert isinstance(stream, MultipartStream)
        body = b"".join(stream)
        assert headers["Content-Length"] == str(len(body))
        (part,) = parse(stream, body)
        assert part.get_payload(decode=True) == content
        assert part.get_filename() == "big.bin"


def test_seekable_files_replay_identically(big_file: tuple[Path, bytes]) -> None:
    path, _ = big_file
    with open(path, "rb") as file:
        stream = MultipartStream({"a": "1"}, {"f": file, "g": io.BytesIO(b"small")})
        first = b"".join(stream)
        second = b"".join(stream)
    assert first == second
    assert len(first) == stream.get_content_length()


def test_non_seekable_file_streams_chunked_and_only_once() -> None:
    pipe = loose(NonSeekable(b"x" * 200_000))
    stream = MultipartStream({}, {"f": ("pipe.bin", pipe)}, boundary=b"B")
    assert stream.get_headers() == {
        "Transfer-Encoding": "chunked",
        "Content-Type": "multipart/form-data; boundary=B",
    }
    assert stream.get_content_length() is None
    (part,) = parse(stream)
    assert part.get_payload(decode=True) == b"x" * 200_000
    with pytest.raises(StreamConsumed):
        iter(stream)


def test_bytes_only_form_replays() -> None:
    stream = MultipartStream({"a": "1"}, {"f": b"x"})
    assert b"".join(stream) == b"".join(stream)


@pytest.mark.anyio
async def test_async_iteration_matches_sync(opened_big_file: Any) -> None:
    stream = MultipartStream({"a": "1"}, {"f": opened_big_file})
    async_body = b"".join([chunk async for chunk in stream])
    assert async_body == b"".join(stream)
    assert len(async_body) == stream.get_content_length()
