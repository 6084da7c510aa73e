from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import Iterable, Sequence

import brotli
import pytest
import zstandard

from httpduo._models._decoders import (
    SUPPORTED_DECODERS,
    BrotliDecoder,
    ByteChunker,
    ContentDecoder,
    DeflateDecoder,
    GZipDecoder,
    IdentityDecoder,
    LineDecoder,
    MultiDecoder,
    TextChunker,
    TextDecoder,
    ZStandardDecoder,
    get_content_decoder,
)
from httpduo._models._exceptions import DecodingError

# Compressible but not trivial: repeated words with a counter, ~40 KB.
PAYLOAD = b"".join(
    b"line %d: the quick brown fox jumps over the lazy dog\n" % i for i in range(800)
)


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def zstd_frame(data: bytes) -> bytes:
    return zstandard.ZstdCompressor().compress(data)


def zstd_streamed(data: bytes) -> bytes:
    # A frame without a declared content size, as a streaming server produces.
    compressor = zstandard.ZstdCompressor().compressobj()
    return compressor.compress(data) + compressor.flush()


def feed(decoder: ContentDecoder, chunks: Iterable[bytes]) -> bytes:
    output = b"".join(decoder.decode(chunk) for chunk in chunks)
    return output + decoder.flush()


def one_byte_chunks(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def random_chunks(data: bytes, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    chunks, position = [], 0
    while position < len(data):
        size = rng.randint(0, 300)  # zero-sized chunks included on purpose
        chunks.append(data[position : position + size])
        position += size
    return chunks


ENCODED = {
    "gzip": (GZipDecoder, gzip.compress(PAYLOAD)),
    "deflate-zlib": (DeflateDecoder, zlib.compress(PAYLOAD)),
    "deflate-raw": (DeflateDecoder, raw_deflate(PAYLOAD)),
    "br": (BrotliDecoder, brotli.compress(PAYLOAD)),
    "zstd": (ZStandardDecoder, zstd_frame(PAYLOAD)),
    "zstd-streamed": (ZStandardDecoder, zstd_streamed(PAYLOAD)),
}


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_decoder_in_one_chunk(name: str) -> None:
    decoder_class, body = ENCODED[name]
    assert feed(decoder_class(), [body]) == PAYLOAD


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_decoder_in_one_byte_chunks(name: str) -> None:
    decoder_class, body = ENCODED[name]
    assert feed(decoder_class(), one_byte_chunks(body)) == PAYLOAD


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", sorted(ENCODED))
def test_decoder_in_random_chunks(name: str, seed: int) -> None:
    decoder_class, body = ENCODED[name]
    assert feed(decoder_class(), random_chunks(body, seed)) == PAYLOAD


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_truncated_body_raises_at_flush(name: str) -> None:
    decoder_class, body = ENCODED[name]
    decoder = decoder_class()
    partial = decoder.decode(body[: len(body) // 2])
    assert PAYLOAD.startswith(partial)
    with pytest.raises(DecodingError) as info:
        decoder.flush()
    assert decoder_class.encoding in str(info.value)
    assert "truncated" in str(info.value)


@pytest.mark.parametrize("name", sorted(ENCODED))
def test_body_missing_only_its_last_byte_is_truncated(name: str) -> None:
    decoder_class, body = ENCODED[name]
    decoder = decoder_class()
    # Fed byte by byte, a decoder could not have seen the end early.
    for chunk in one_byte_chunks(body[:-1]):
        decoder.decode(chunk)
    with pytest.raises(DecodingError):
        decoder.flush()


@pytest.mark.parametrize(
    ("decoder_class", "encoding"),
    [
        (GZipDecoder, "gzip"),
        (DeflateDecoder, "deflate"),
        (BrotliDecoder, "br"),
        (ZStandardDecoder, "zstd"),
    ],
)
def test_garbage_raises_decoding_error_naming_the_encoding(
    decoder_class: type[ContentDecoder], encoding: str
) -> None:
    with pytest.raises(DecodingError, match=f"{encoding}-encoded"):
        feed(decoder_class(), [b"this is definitely not compressed data" * 4])


def test_gzip_corrupted_in_the_middle_raises() -> None:
    body = bytearray(gzip.compress(PAYLOAD))
    body[len(body) // 2] ^= 0xFF
    with pytest.raises(DecodingError, match="gzip"):
        feed(GZipDecoder(), [bytes(body)])


def test_gzip_crc_mismatch_raises() -> None:
    body = bytearray(gzip.compress(PAYLOAD))
    body[-6] ^= 0xFF  # inside the CRC32 trailer
    with pytest.raises(DecodingError, match="gzip"):
        feed(GZipDecoder(), [bytes(body)])


def test_empty_body_flushes_cleanly() -> None:
    # HEAD / 204 / 304 responses carry Content-Encoding but no body.
    for decoder_class in (GZipDecoder, DeflateDecoder, BrotliDecoder, ZStandardDecoder):
        decoder = decoder_class()
        assert decoder.decode(b"") == b""
        assert decoder.flush() == b""


def test_gzip_multiple_members_are_all_decoded() -> None:
    body = gzip.compress(b"hello ") + gzip.compress(b"world") + gzip.compress(PAYLOAD)
    expected = b"hello world" + PAYLOAD
    assert feed(GZipDecoder(), [body]) == expected
    assert feed(GZipDecoder(), one_byte_chunks(body)) == expected


def test_gzip_trailing_garbage_is_ignored() -> None:
    body = gzip.compress(b"hello") + b"\x00\x00\x00 padding"
    assert feed(GZipDecoder(), [body]) == b"hello"
    assert feed(GZipDecoder(), one_byte_chunks(body)) == b"hello"


def test_gzip_second_member_truncated_raises() -> None:
    body = gzip.compress(b"hello") + gzip.compress(b"world")[:12]
    decoder = GZipDecoder()
    assert decoder.decode(body).startswith(b"hello")
    with pytest.raises(DecodingError, match="truncated"):
        decoder.flush()


def test_deflate_detects_format_even_when_the_header_is_split() -> None:
    for text in (b"zlib wrapped", b"raw deflate"):
        body = zlib.compress(text) if text.startswith(b"zlib") else raw_deflate(text)
        decoder = DeflateDecoder()
        assert decoder.decode(body[:1]) == b""
        assert decoder.decode(body[1:]) + decoder.flush() == text


def test_deflate_ignores_bytes_after_the_stream_end() -> None:
    assert feed(DeflateDecoder(), [zlib.compress(b"abc") + b"junk"]) == b"abc"


def test_deflate_single_byte_then_end_is_truncated() -> None:
    decoder = DeflateDecoder()
    decoder.decode(zlib.compress(b"abc")[:1])
    with pytest.raises(DecodingError, match="deflate"):
        decoder.flush()


def test_zstd_two_frames() -> None:
    body = zstd_frame(b"first frame, ") + zstd_streamed(b"second frame")
    assert feed(ZStandardDecoder(), [body]) == b"first frame, second frame"
    assert feed(ZStandardDecoder(), one_byte_chunks(body)) == b"first frame, second frame"


def test_zstd_second_frame_truncated_raises() -> None:
    body = zstd_frame(b"first") + zstd_frame(b"second")[:-3]
    decoder = ZStandardDecoder()
    assert decoder.decode(body).startswith(b"first")
    with pytest.raises(DecodingError, match="zstd"):
        decoder.flush()


def test_zstd_corrupt_second_frame_raises() -> None:
    with pytest.raises(DecodingError, match="zstd"):
        feed(ZStandardDecoder(), [zstd_frame(b"first") + b"\x00\x01\x02\x03\x04\x05\x06\x07"])


def test_brotli_data_after_the_end_raises() -> None:
    with pytest.raises(DecodingError, match="br"):
        feed(BrotliDecoder(), [brotli.compress(b"abc") + b"extra"])


def test_identity_passes_through() -> None:
    decoder = IdentityDecoder()
    assert decoder.decode(b"abc") == b"abc"
    assert decoder.flush() == b""


def test_multi_decoder_undoes_codings_in_reverse_order() -> None:
    # Content-Encoding: deflate, gzip, br  -> deflate applied first, br last.
    body = brotli.compress(gzip.compress(zlib.compress(PAYLOAD)))
    decoder = MultiDecoder([DeflateDecoder(), GZipDecoder(), BrotliDecoder()])
    assert feed(decoder, one_byte_chunks(body)) == PAYLOAD


def test_multi_decoder_flush_reports_truncation_of_inner_coding() -> None:
    inner = zlib.compress(PAYLOAD)[:-5]  # truncated deflate inside a complete gzip
    decoder = MultiDecoder([DeflateDecoder(), GZipDecoder()])
    decoder.decode(gzip.compress(inner))
    with pytest.raises(DecodingError, match="deflate"):
        decoder.flush()


def test_supported_decoders() -> None:
    assert {
        "identity": IdentityDecoder,
        "gzip": GZipDecoder,
        "deflate": DeflateDecoder,
        "br": BrotliDecoder,
        "zstd": ZStandardDecoder,
    } == SUPPORTED_DECODERS


@pytest.mark.parametrize(
    ("header", "body"),
    [
        ("gzip", gzip.compress(PAYLOAD)),
        ("GZip ", gzip.compress(PAYLOAD)),
        ("deflate, gzip", gzip.compress(zlib.compress(PAYLOAD))),
        ("gzip,br", brotli.compress(gzip.compress(PAYLOAD))),
        ("identity, zstd", zstd_frame(PAYLOAD)),
        ("gzip, unknown-coding", gzip.compress(PAYLOAD)),
        ("", PAYLOAD),
        ("identity", PAYLOAD),
        ("x-made-up", PAYLOAD),
    ],
)
def test_get_content_decoder_from_header_value(header: str, body: bytes) -> None:
    assert feed(get_content_decoder(header), random_chunks(body, 1)) == PAYLOAD


def test_get_content_decoder_from_several_header_lines() -> None:
    body = brotli.compress(gzip.compress(PAYLOAD))
    decoder = get_content_decoder(["gzip", "br"])
    assert isinstance(decoder, MultiDecoder)
    assert feed(decoder, [body]) == PAYLOAD
    assert isinstance(get_content_decoder([]), IdentityDecoder)
    assert isinstance(get_content_decoder("br"), BrotliDecoder)


def test_missing_brotli_package_gives_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    from httpduo._models import _decoders

    monkeypatch.setattr(_decoders, "brotli", None)
    with pytest.raises(ImportError, match=r"pip install httpduo\[brotli\]"):
        BrotliDecoder()
    monkeypatch.setattr(_decoders, "zstandard", None)
    with pytest.raises(ImportError, match=r"pip install httpduo\[zstd\]"):
        ZStandardDecoder()


# ---- ByteChunker / TextChunker --------------------------------------------------------


def rechunk(chunker: ByteChunker, chunks: Sequence[bytes]) -> list[bytes]:
    out = [piece for chunk in chunks for piece in chunker.decode(chunk)]
    return out + chunker.flush()


def test_byte_chunker_fixed_size() -> None:
    data = bytes(range(256)) * 10
    pieces = rechunk(ByteChunker(100), random_chunks(data, 3))
    assert b"".join(pieces) == data
    assert [len(piece) for piece in pieces] == [100] * 25 + [60]


def test_byte_chunker_exact_multiple_has_no_empty_tail() -> None:
    assert rechunk(ByteChunker(3), [b"ab", b"cdef", b"", b"g", b"hi"]) == [b"abc", b"def", b"ghi"]


def test_byte_chunker_without_size_passes_chunks_through() -> None:
    assert rechunk(ByteChunker(), [b"a", b"", b"bcd"]) == [b"a", b"bcd"]


@pytest.mark.parametrize("size", [0, -1])
def test_chunkers_reject_non_positive_sizes(size: int) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        ByteChunker(size)
    with pytest.raises(ValueError, match="chunk_size"):
        TextChunker(size)


def test_text_chunker() -> None:
    chunker = TextChunker(4)
    out = chunker.decode("héllo") + chunker.decode("") + chunker.decode(" wörld") + chunker.flush()
    assert out == ["héll", "o wö", "rld"]
    passthrough = TextChunker()
    assert passthrough.decode("ab") + passthrough.decode("") + passthrough.flush() == ["ab"]


# ---- TextDecoder ----------------------------------------------------------------------


def test_text_decoder_multibyte_characters_split_across_chunks() -> None:
    text = "naïve café — 日本語 🎉 done"
    decoder = TextDecoder("utf-8")
    pieces = [decoder.decode(chunk) for chunk in one_byte_chunks(text.encode("utf-8"))]
    assert "".join(pieces) + decoder.flush() == text
    # No piece ever contains a half-decoded character.
    assert "\ufffd" not in "".join(pieces)


def test_text_decoder_replaces_invalid_bytes() -> None:
    decoder = TextDecoder("utf-8")
    assert decoder.decode(b"ok \xff then") + decoder.flush() == "ok \ufffd then"


def test_text_decoder_incomplete_sequence_at_end_is_replaced() -> None:
    decoder = TextDecoder()
    assert decoder.decode("é".encode()[:1]) == ""
    assert decoder.flush() == "\ufffd"


def test_text_decoder_other_encodings() -> None:
    decoder = TextDecoder("utf-16")
    data = "hé".encode("utf-16")
    assert "".join(decoder.decode(chunk) for chunk in one_byte_chunks(data)) == "hé"
    assert TextDecoder("latin-1").decode(b"\xe9") == "é"


# ---- LineDecoder ----------------------------------------------------------------------


def decode_lines(chunks: Iterable[str]) -> list[str]:
    decoder = LineDecoder()
    lines = [line for chunk in chunks for line in decoder.decode(chunk)]
    return lines + decoder.flush()


@pytest.mark.parametrize(
    "text",
    [
        "a\r\nb\r\nc",
        "a\nb\rc\r\n",
        "one\n\ntwo\r\r\nthree\r",
        "\r\n\r\n",
        "\r",
        "no newline at all",
        "trailing\n",
        "a\x0bb\x0cc\x1cd\x1de\x1ef\x85g\u2028h\u2029i",
        "",
    ],
)
def test_line_decoder_matches_splitlines_for_every_split(text: str) -> None:
    expected = text.splitlines()
    assert decode_lines([text]) == expected
    assert decode_lines(list(text)) == expected
    for cut in range(len(text) + 1):
        assert decode_lines([text[:cut], text[cut:]]) == expected, cut


def test_line_decoder_crlf_split_across_chunks_is_one_line_break() -> None:
    decoder = LineDecoder()
    assert decoder.decode("first\r") == []  # the "\r" waits: it may be half of "\r\n"
    assert decoder.decode("\nsecond\r\n") == ["first", "second"]
    assert decoder.flush() == []


def test_line_decoder_lone_cr_is_released_by_the_next_chunk() -> None:
    decoder = LineDecoder()
    assert decoder.decode("a\r") == []
    assert decoder.decode("b") == ["a"]
    assert decoder.flush() == ["b"]


def test_line_decoder_long_line_in_many_chunks() -> None:
    chunks = ["x" * 10] * 1000 + ["\nend"]
    assert decode_lines(chunks) == ["x" * 10000, "end"]
