"""Fuzz target: arbitrary bytes, cut at arbitrary points, into the llhttp codec.

Run with atheris (pip install atheris):  python fuzz/fuzz_llhttp_codec.py -atheris_runs=20000
Without atheris, tests/codecs/test_fuzz_smoke.py runs `check_one_input` on generated inputs.

Input layout: byte 0 picks the request (method, Upgrade or not, EOF at the end or not),
byte 1 seeds the cut points and their size, byte 2 may prepend a response-head template
(so the fuzzer starts inside heads, chunked bodies and 1xx sequences), the rest is the
response. Checked for every input:
- only `RemoteProtocolError` ever escapes the codec (any other exception is a bug);
- events come in order: heads (1xx first), body bytes, `END`, and nothing is empty;
- the outcome does not depend on how the bytes were cut: whole or in pieces, the same
  heads, body, end, reusability and trailing bytes, or an error both times;
- a reusable connection has nothing pending, and can start a second exchange.
"""

from __future__ import annotations

import importlib
import random
import sys
from typing import Any, Optional

METHODS = (b"GET", b"HEAD", b"POST", b"CONNECT")
TEMPLATES = (
    b"HTTP/1.1 200 OK\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 ",
    b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\n",
    b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
    b"HTTP/1.1 204 No Content\r\nContent-Length: ",
)
# As the codecs take headers: `Headers._list` entries (name, lower-cased name, value).
HOST = [(b"Host", b"host", b"example.com")]
UPGRADE = [
    *HOST,
    (b"Connection", b"connection", b"Upgrade"),
    (b"Upgrade", b"upgrade", b"websocket"),
]

_codec_class: Optional[Any] = None


def _codec() -> Any:
    global _codec_class
    if _codec_class is None:  # imported late so that atheris can instrument it
        from httpduo._codecs.llhttp import LLHTTPCodec

        _codec_class = LLHTTPCodec
    return _codec_class()


def _run(pieces: list[bytes], method: bytes, headers: Any, eof: bool) -> tuple[Any, ...]:
    """Feed `pieces` (then EOF if asked) into a fresh codec; return what it made of them."""
    from httpduo._codecs.base import END, NEED_DATA, ResponseHead
    from httpduo._models._exceptions import RemoteProtocolError

    codec = _codec()
    codec.encode_request_head(method, b"/", headers)
    codec.encode_end()
    heads: list[tuple[Any, ...]] = []
    body: list[bytes] = []
    ended = False
    try:
        for piece in [*pieces, b""] if eof else pieces:
            codec.feed(piece)
            while not ended:
                event = codec.next_event()
                if event is NEED_DATA:
                    break
                if event is END:
                    ended = True
                elif isinstance(event, ResponseHead):
                    assert not body, "a response head after body bytes"
                    assert not heads or heads[-1][0] < 200, "a head after the final head"
                    assert 100 <= event.status_code <= 999, event
                    heads.append(
                        (event.status_code, event.reason, event.http_version, event.headers)
                    )
                else:
                    assert type(event) is bytes, f"bad body event {event!r}"
                    assert event, "an empty body event"
                    assert heads, "body bytes before the response head"
                    assert heads[-1][0] >= 200, "body bytes after a 1xx head"
                    body.append(event)
    except RemoteProtocolError:
        return ("error",)
    if not ended:
        return ("incomplete", heads, b"".join(body))
    assert heads, "END without a response head"
    reusable = codec.reusable()
    trailing = codec.trailing_data()
    if reusable:
        assert not trailing, "reusable with bytes pending"
        assert not eof, "reusable after EOF"
        codec.start_next_cycle()
        codec.encode_request_head(b"GET", b"/", HOST)
        codec.encode_end()
        codec.feed(b"HTTP/1.1 204 No Content\r\n\r\n")
        assert codec.next_event().status_code == 204
        assert codec.next_event() is END
    return ("ended", heads, b"".join(body), reusable, trailing)


def _cut(data: bytes, rng: random.Random, largest: int) -> list[bytes]:
    pieces = []
    position = 0
    while position < len(data):
        size = rng.randint(1, largest)
        pieces.append(data[position : position + size])
        position += size
    return pieces


def check_one_input(data: bytes) -> None:
    """The fuzz target; raises AssertionError (or the codec's unexpected exception)."""
    control = data[:3].ljust(3, b"\0")
    payload = data[3:]
    method = METHODS[control[0] & 3]
    headers = UPGRADE if control[0] & 4 else HOST
    eof = bool(control[0] & 8)
    if control[2] & 0x80:
        payload = TEMPLATES[control[2] % len(TEMPLATES)] + payload
    rng = random.Random(control[1])
    largest = (1, 2, 7, 64)[control[1] & 3]
    whole = _run([payload] if payload else [], method, headers, eof)
    pieces = _run(_cut(payload, rng, largest), method, headers, eof)
    assert whole == pieces, f"outcome depends on the cut points:\n{whole}\n{pieces}"


def main() -> None:
    import atheris  # type: ignore[import-untyped,import-not-found,unused-ignore]

    with atheris.instrument_imports():
        for module in ("httpduo._codecs.serialize", "httpduo._codecs.llhttp"):
            importlib.import_module(module)

    atheris.Setup(sys.argv, check_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
