"""Decompression bombs, built by the tests, and the servers that send them.

Rules:
- A bomb decodes to `size` zero bytes (a multiple of 1 MiB). Building one must be cheap
  even for 1 GiB: deflate streams repeat one compressed segment cut by a full flush (the
  compressor starts afresh after it, so the segment is the same each time) and carry
  checksums computed over the zeros; zstd repeats one frame; brotli compresses for real
  (it is the smallest on the wire anyway). Results are cached per process.
- `bomb_script` serves them over HTTP/1.1 from a raw.py server, `h2_bomb_script` over
  HTTP/2 (h2c, prior knowledge); both answer `/small` with a short plain body (the
  client's warm-up) and `/<coding>/<MiB>` with the bomb, Content-Length set.
- A client that stops reading early is normal: the scripts end quietly when it goes away.
"""

from __future__ import annotations

import functools
import struct
import time
import zlib
from typing import Callable, Optional

import h2.exceptions

from tests.servers.h2_scripted import H2Peer, H2Request
from tests.servers.raw import Conn, PeerClosed

MIB = 1 << 20
_ZEROS = bytes(MIB)
SMALL_BODY = b"small and plain"


def _deflate_segments(size: int) -> tuple[bytes, bytes]:
    """Raw deflate for `size` zero bytes, as (body, 1 MiB segment used)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    segment = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(_ZEROS) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert again == segment, "a full flush did not reset the compressor"
    last = compressor.compress(_ZEROS) + compressor.flush()
    mib = size // MIB
    return segment * (mib - 1) + last, segment


def _checksum(function: Callable[[bytes, int], int], start: int, size: int) -> int:
    value = start
    for _ in range(size // MIB):
        value = function(_ZEROS, value)
    return value


@functools.cache
def gzip_bomb(size: int) -> bytes:
    body, _ = _deflate_segments(size)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", _checksum(zlib.crc32, 0, size), size & 0xFFFFFFFF)
    return header + body + trailer


@functools.cache
def deflate_bomb(size: int) -> bytes:
    body, _ = _deflate_segments(size)
    return b"\x78\xda" + body + struct.pack(">I", _checksum(zlib.adler32, 1, size))


@functools.cache
def br_bomb(size: int) -> bytes:
    import brotli

    compressor = brotli.Compressor(quality=5)
    parts = [compressor.process(_ZEROS) for _ in range(size // MIB)]
    parts.append(compressor.finish())
    return b"".join(parts)


@functools.cache
def zstd_bomb(size: int) -> bytes:
    import zstandard

    frame_size = min(size, 64 * MIB)
    frame = zstandard.ZstdCompressor(level=3).compress(bytes(frame_size))
    return frame * (size // frame_size)


@functools.cache
def stacked_bomb(size: int) -> bytes:
    """`Content-Encoding: gzip, gzip, gzip`: a gzip bomb gzipped twice more."""
    return _gzip(_gzip(gzip_bomb(size)))


def _gzip(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return compressor.compress(data) + compressor.flush()


# coding label -> (Content-Encoding header value, builder)
BOMBS: dict[str, tuple[str, Callable[[int], bytes]]] = {
    "gzip": ("gzip", gzip_bomb),
    "deflate": ("deflate", deflate_bomb),
    "br": ("br", br_bomb),
    "zstd": ("zstd", zstd_bomb),
    "stacked": ("gzip, gzip, gzip", stacked_bomb),
    "many": (", ".join(["gzip"] * 10000), gzip_bomb),
}


def response_for(path: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """Headers and body for a request path."""
    if path == b"/small":
        return [(b"content-type", b"text/plain")], SMALL_BODY
    _, label, mib = path.decode().split("/")
    coding, build = BOMBS[label]
    return [(b"content-encoding", coding.encode())], build(int(mib) * MIB)


def _path(head: bytes) -> bytes:
    return head.split(b"\r\n", 1)[0].split(b" ")[1]


def bomb_script(conn: Conn) -> None:
    """HTTP/1.1, keep-alive: answer requests until the client goes away."""
    try:
        while True:
            head, _ = conn.recv_request()
            headers, body = response_for(_path(head))
            lines = [b"HTTP/1.1 200 OK", b"Content-Length: %d" % len(body)]
            lines += [name + b": " + value for name, value in headers]
            conn.send(b"\r\n".join(lines) + b"\r\n\r\n")
            if head.startswith(b"HEAD "):
                continue
            view = memoryview(body)
            for start in range(0, len(body), 64 * 1024):
                conn.send(bytes(view[start : start + 64 * 1024]))
    except (PeerClosed, ConnectionError):
        return


def _answer(peer: H2Peer, request: H2Request) -> None:
    headers, body = response_for(request.path)
    try:
        peer.respond(request.stream_id, body, headers=headers)
    except h2.exceptions.StreamClosedError:
        pass  # the client reset the stream: it has read enough


def h2_bomb_script(conn: Conn) -> None:
    """HTTP/2 (h2c): answer requests until the client goes away."""
    try:
        H2Peer(conn).serve(_answer)
    except (PeerClosed, ConnectionError):
        return


FLOOD_SECONDS = 10.0


def interim_flood_script(count: Optional[int] = None) -> Callable[[Conn], None]:
    """HTTP/1.1: `100 Continue` after `100 Continue`, `count` of them, then a 200. With
    count None, a flood: a million (or FLOOD_SECONDS' worth), then a close."""

    def script(conn: Conn) -> None:
        conn.recv_request()
        sent = 0
        deadline = time.monotonic() + FLOOD_SECONDS
        try:
            while sent < (count or 1_000_000) and time.monotonic() < deadline:
                conn.send(b"HTTP/1.1 100 Continue\r\n\r\n" * 10)
                sent += 10
            if count is not None:
                conn.send(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                conn.recv_until_closed()
        except (PeerClosed, ConnectionError):
            return

    return script
