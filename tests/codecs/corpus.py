"""Hand-written HTTP/1.1 responses for the codec tests, and the harness that runs them.

Each `Case` is a response (plus the request it answers) and what both codecs must make
of it: `ERROR` (a `RemoteProtocolError`) or an `Ok` summary. A case where the codecs
legitimately differ names the reason in `differs` and gives llhttp's outcome apart.

`run(factory, ...)` drives one codec the way `HTTP11Connection` does: encode the request,
feed the response in the given pieces, take events until `END`; the remaining pieces are
fed all the same (a read can carry bytes past the response), then EOF if asked.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Callable, Optional, Union

from httpduo._codecs.base import END, NEED_DATA, HTTP11Codec, ResponseHead
from httpduo._models._exceptions import RemoteProtocolError

CodecFactory = Callable[[], HTTP11Codec]
Header = tuple[bytes, bytes]
HOST: tuple[Header, ...] = ((b"Host", b"example.com"),)
UPGRADE: tuple[Header, ...] = (*HOST, (b"Connection", b"Upgrade"), (b"Upgrade", b"websocket"))


def fields(headers: Iterable[Header]) -> list[tuple[bytes, bytes, bytes]]:
    """`(name, value)` pairs as the codecs take them: `Headers._list` entries."""
    return [(name, name.lower(), value) for name, value in headers]


@dataclass
class Outcome:
    """What a codec made of a response."""

    error: Optional[str] = None  # the RemoteProtocolError's message
    heads: list[tuple[int, bytes, bytes, list[Header]]] = field(default_factory=list)
    body: bytes = b""
    ended: bool = False
    reusable: bool = False
    trailing: bytes = b""

    def key(self) -> object:
        """What must be equal across codecs (error messages may differ)."""
        if self.error is not None:
            return "error"
        return (self.heads, self.body, self.ended, self.reusable, self.trailing)


def run(
    factory: CodecFactory,
    pieces: list[bytes],
    *,
    method: bytes = b"GET",
    headers: tuple[Header, ...] = HOST,
    eof: bool = False,
) -> Outcome:
    codec = factory()
    codec.encode_request_head(method, b"/", fields(headers))
    codec.encode_end()
    outcome = Outcome()
    body: list[bytes] = []
    try:
        for piece in [*pieces, b""] if eof else pieces:
            codec.feed(piece)
            while not outcome.ended:
                event = codec.next_event()
                if event is NEED_DATA:
                    break
                if event is END:
                    outcome.ended = True
                elif isinstance(event, ResponseHead):
                    assert not body, "a head after body data"
                    outcome.heads.append(
                        (event.status_code, event.reason, event.http_version, event.headers)
                    )
                else:
                    assert isinstance(event, bytes), f"unexpected event {event!r}"
                    assert event, "an empty body event"
                    body.append(event)
    except RemoteProtocolError as exc:
        outcome.error = str(exc)
    outcome.body = b"".join(body)
    if outcome.error is None and outcome.ended:
        outcome.reusable = codec.reusable()
        trailing_data = getattr(codec, "trailing_data")  # noqa: B009 - not on the base class
        outcome.trailing = trailing_data()
    return outcome


def split(data: bytes, rng: random.Random, max_piece: int = 16) -> list[bytes]:
    """`data` cut into random pieces of 1 to `max_piece` bytes."""
    pieces = []
    position = 0
    while position < len(data):
        size = rng.randint(1, max_piece)
        pieces.append(data[position : position + size])
        position += size
    return pieces


# -- expectations ------------------------------------------------------------------------


class _Error:
    def __repr__(self) -> str:
        return "ERROR"


ERROR = _Error()


@dataclass(frozen=True)
class Ok:
    """The expected outcome of a response that parses."""

    statuses: tuple[int, ...]  # every head, 1xx included
    body: bytes = b""
    reusable: bool = True
    ended: bool = True
    trailing: bytes = b""
    reason: Optional[bytes] = None
    version: Optional[bytes] = None
    headers: Optional[list[Header]] = None  # of the last head

    def check(self, outcome: Outcome) -> None:
        assert outcome.error is None, outcome.error
        assert tuple(head[0] for head in outcome.heads) == self.statuses
        assert outcome.body == self.body
        assert outcome.ended == self.ended
        if self.ended:
            assert outcome.reusable == self.reusable
            assert outcome.trailing == self.trailing
        if self.reason is not None:
            assert outcome.heads[-1][1] == self.reason
        if self.version is not None:
            assert outcome.heads[-1][2] == self.version
        if self.headers is not None:
            assert outcome.heads[-1][3] == self.headers


Expect = Union[Ok, _Error]


def check(expect: Expect, outcome: Outcome) -> None:
    if isinstance(expect, _Error):
        assert outcome.error is not None, f"expected an error, got {outcome}"
    else:
        expect.check(outcome)


@dataclass(frozen=True)
class Case:
    id: str
    response: bytes
    expect: Expect
    method: bytes = b"GET"
    headers: tuple[Header, ...] = HOST
    eof: bool = False
    differs: Optional[str] = None  # why llhttp's outcome is not h11's
    llhttp: Optional[Expect] = None  # llhttp's outcome when `differs`


def _ok200(head: bytes, body: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + body


CL0 = b"Content-Length: 0\r\n"
CHUNKED = b"Transfer-Encoding: chunked\r\n"
BIG = bytes(range(256)) * 256  # 64 KiB

CASES: list[Case] = [
    # ---- status lines ----------------------------------------------------------------
    Case("basic", _ok200(b"Content-Length: 5\r\n", b"hello"), Ok((200,), b"hello", reason=b"OK")),
    Case("reason-empty", b"HTTP/1.1 200 \r\n" + CL0 + b"\r\n", Ok((200,), reason=b"")),
    Case("reason-missing", b"HTTP/1.1 200\r\n" + CL0 + b"\r\n", Ok((200,), reason=b"")),
    Case(
        "reason-inner-and-trailing-whitespace",
        b"HTTP/1.1 404 Not  Found \t\r\n" + CL0 + b"\r\n",
        Ok((404,), reason=b"Not  Found \t"),
    ),
    Case(
        "reason-obs-text",
        b"HTTP/1.1 200 \xe9t\xe9\r\n" + CL0 + b"\r\n",
        Ok((200,), reason=b"\xe9t\xe9"),
    ),
    Case("reason-control-char", b"HTTP/1.1 200 O\x01K\r\n" + CL0 + b"\r\n", Ok((200,))),
    Case("reason-nul", b"HTTP/1.1 200 O\x00K\r\n" + CL0 + b"\r\n", ERROR),
    Case("reason-vertical-tab", b"HTTP/1.1 200 O\x0bK\r\n" + CL0 + b"\r\n", ERROR),
    Case("reason-lone-cr", b"HTTP/1.1 200 O\rK\r\n" + CL0 + b"\r\n", ERROR),
    Case("status-two-digits", b"HTTP/1.1 20 OK\r\n\r\n", ERROR),
    Case("status-four-digits", b"HTTP/1.1 2000 OK\r\n\r\n", ERROR),
    Case("status-below-100", b"HTTP/1.1 099 Odd\r\n\r\n", ERROR),
    Case("status-000", b"HTTP/1.1 000 Odd\r\n\r\n", ERROR),
    Case("status-999", b"HTTP/1.1 999 Odd\r\n" + CL0 + b"\r\n", Ok((999,))),
    Case("status-letters", b"HTTP/1.1 2x0 OK\r\n\r\n", ERROR),
    Case("status-no-space-before-reason", b"HTTP/1.1 200OK\r\n\r\n", ERROR),
    Case("status-tab-before-reason", b"HTTP/1.1 200\tOK\r\n\r\n", ERROR),
    Case("status-double-space", b"HTTP/1.1  200 OK\r\n\r\n", ERROR),
    Case("protocol-lowercase", b"http/1.1 200 OK\r\n\r\n", ERROR),
    Case("protocol-rtsp", b"RTSP/1.0 200 OK\r\n" + CL0 + b"\r\n", ERROR),
    Case("protocol-ice", b"ICE/1.0 200 OK\r\n" + CL0 + b"\r\n", ERROR),
    Case("version-missing", b"HTTP/ 200 OK\r\n\r\n", ERROR),
    Case("version-two-digit-minor", b"HTTP/1.10 200 OK\r\n\r\n", ERROR),
    Case("version-no-dot", b"HTTP/11 200 OK\r\n\r\n", ERROR),
    Case(
        "version-1.0",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        Ok((200,), b"hi", reusable=False, version=b"HTTP/1.0"),
    ),
    Case(
        "version-1.0-keep-alive-header",
        b"HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nhi",
        Ok((200,), b"hi", reusable=False),  # h11 keeps no HTTP/1.0 connection alive
    ),
    Case(
        "version-1.0-close-delimited",
        b"HTTP/1.0 200 OK\r\n\r\nall of it",
        Ok((200,), b"all of it", reusable=False),
        eof=True,
    ),
    Case("version-2.0", b"HTTP/2.0 200 OK\r\n" + CL0 + b"\r\n", Ok((200,), version=b"HTTP/2.0")),
    Case("version-1.2", b"HTTP/1.2 200 OK\r\n" + CL0 + b"\r\n", Ok((200,), version=b"HTTP/1.2")),
    Case(
        "version-0.9",
        b"HTTP/0.9 200 OK\r\n" + CL0 + b"\r\n",
        Ok((200,), reusable=False, version=b"HTTP/0.9"),
    ),
    Case("leading-crlf", b"\r\nHTTP/1.1 200 OK\r\n" + CL0 + b"\r\n", ERROR),
    Case("leading-lf", b"\nHTTP/1.1 200 OK\r\n" + CL0 + b"\r\n", ERROR),
    Case("leading-space", b" HTTP/1.1 200 OK\r\n" + CL0 + b"\r\n", ERROR),
    Case("tls-handshake-bytes", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", ERROR),
    Case("garbage-waits-for-more", b"hello world", Ok((), ended=False)),
    Case("garbage-line", b"hello world\r\n\r\n", ERROR),
    # ---- header lines ----------------------------------------------------------------
    Case(
        "header-whitespace-trimmed",
        _ok200(b"X-A:   a  b \t\r\nX-B:\tc\r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b"a  b"), (b"X-B", b"c"), (b"Content-Length", b"0")]),
    ),
    Case(
        "header-no-space-after-colon",
        _ok200(b"X-A:b\r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b"b"), (b"Content-Length", b"0")]),
    ),
    Case(
        "header-empty-value",
        _ok200(b"X-A:\r\nX-B: \r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b""), (b"X-B", b""), (b"Content-Length", b"0")]),
    ),
    Case(
        "header-name-case-kept",
        _ok200(b"x-lower: 1\r\nX-UPPER: 2\r\ncontent-LENGTH: 0\r\n"),
        Ok(
            (200,),
            headers=[(b"x-lower", b"1"), (b"X-UPPER", b"2"), (b"content-LENGTH", b"0")],
        ),
    ),
    Case("header-space-before-colon", _ok200(b"X-A : b\r\n" + CL0), ERROR),
    Case("header-tab-before-colon", _ok200(b"X-A\t: b\r\n" + CL0), ERROR),
    Case("header-no-colon", _ok200(b"X-A b\r\n" + CL0), ERROR),
    Case("header-empty-name", _ok200(b": b\r\n" + CL0), ERROR),
    Case("header-name-separator-char", _ok200(b"X(A): b\r\n" + CL0), ERROR),
    Case("header-name-obs-text", _ok200(b"X\xe9: b\r\n" + CL0), ERROR),
    Case("header-value-nul", _ok200(b"X-A: a\x00b\r\n" + CL0), ERROR),
    Case("header-value-lone-cr", _ok200(b"X-A: a\rb\r\n" + CL0), ERROR),
    Case("header-value-vertical-tab", _ok200(b"X-A: a\x0bb\r\n" + CL0), ERROR),
    Case("header-value-form-feed", _ok200(b"X-A: a\x0cb\r\n" + CL0), ERROR),
    Case(
        "header-value-control-char",
        _ok200(b"X-A: a\x01b\r\n" + CL0),
        Ok((200,)),
        differs="h11 admits any byte but NUL and whitespace controls in a field value; "
        "llhttp keeps to RFC 9110 section 5.5 (VCHAR, obs-text, SP, HTAB) and refuses "
        "the other control characters",
        llhttp=ERROR,
    ),
    Case(
        "header-value-delete-char",
        _ok200(b"X-A: a\x7fb\r\n" + CL0),
        Ok((200,)),
        differs="DEL is a control character: RFC 9110 section 5.5, as above",
        llhttp=ERROR,
    ),
    Case(
        "header-value-obs-text",
        _ok200(b"X-A: caf\xe9\r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b"caf\xe9"), (b"Content-Length", b"0")]),
    ),
    Case(
        "obs-fold",
        _ok200(b"X-A: a\r\n b\r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b"a b"), (b"Content-Length", b"0")]),
    ),
    Case(
        "obs-fold-tabs-and-lines",
        _ok200(b"X-A: a \r\n\t\tb\r\n   c\r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b"a  b c"), (b"Content-Length", b"0")]),
    ),
    Case(
        "obs-fold-whitespace-only-line",
        _ok200(b"X-A: a\r\n  \r\n" + CL0),
        Ok((200,), headers=[(b"X-A", b"a"), (b"Content-Length", b"0")]),
    ),
    Case(
        "obs-fold-content-length",
        _ok200(b"Content-Length:\r\n 3\r\n", b"abc"),
        Ok((200,), b"abc", headers=[(b"Content-Length", b"3")]),
    ),
    Case("obs-fold-after-status-line", b"HTTP/1.1 200 OK\r\n X-A: b\r\n" + CL0 + b"\r\n", ERROR),
    Case(
        "line-endings-bare-lf",
        b"HTTP/1.1 200 OK\nContent-Length: 2\nX-A: b\n\nhi",
        Ok((200,), b"hi", headers=[(b"Content-Length", b"2"), (b"X-A", b"b")]),
    ),
    Case(
        "line-endings-mixed",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\nX-A: b\r\n\nhi",
        Ok((200,), b"hi"),
    ),
    Case("line-ending-cr-cr-lf", _ok200(b"X-A: b\r\r\n" + CL0), ERROR),
    Case(
        "many-headers",
        _ok200(b"".join(b"X-%d: %d\r\n" % (i, i) for i in range(500)) + CL0),
        Ok((200,)),
    ),
    Case("head-too-large", b"HTTP/1.1 200 OK\r\nX-A: " + b"a" * (140 * 1024), ERROR),
    # ---- Content-Length --------------------------------------------------------------
    Case("content-length-zero", _ok200(CL0), Ok((200,))),
    Case(
        "content-length-leading-zeros",
        _ok200(b"Content-Length: 003\r\n", b"abc"),
        Ok((200,), b"abc"),
    ),
    Case(
        "content-length-repeated-identical",
        _ok200(b"Content-Length: 3\r\nX-A: b\r\nContent-Length: 3\r\n", b"abc"),
        Ok((200,), b"abc", headers=[(b"Content-Length", b"3"), (b"X-A", b"b")]),
    ),
    Case(
        "content-length-list-identical",
        _ok200(b"Content-Length: 3, 3,3\r\n", b"abc"),
        Ok((200,), b"abc", headers=[(b"Content-Length", b"3")]),
    ),
    Case(
        "content-length-conflicting", _ok200(b"Content-Length: 3\r\nContent-Length: 4\r\n"), ERROR
    ),
    Case("content-length-list-conflicting", _ok200(b"Content-Length: 3, 4\r\n", b"abcd"), ERROR),
    Case("content-length-list-empty-item", _ok200(b"Content-Length: 3,,3\r\n", b"abc"), ERROR),
    Case("content-length-negative", _ok200(b"Content-Length: -1\r\n"), ERROR),
    Case("content-length-plus", _ok200(b"Content-Length: +3\r\n", b"abc"), ERROR),
    Case("content-length-empty", _ok200(b"Content-Length: \r\n"), ERROR),
    Case("content-length-hex", _ok200(b"Content-Length: 0x3\r\n", b"abc"), ERROR),
    Case("content-length-inner-space", _ok200(b"Content-Length: 1 2\r\n", b"abc"), ERROR),
    Case(
        "content-length-short-then-eof",
        _ok200(b"Content-Length: 10\r\n", b"abcde"),
        ERROR,
        eof=True,
    ),
    Case(
        "content-length-short-waits",
        _ok200(b"Content-Length: 10\r\n", b"abcde"),
        Ok((200,), b"abcde", ended=False),
    ),
    Case(
        "content-length-bytes-after-body",
        _ok200(b"Content-Length: 2\r\n", b"hiXYZ"),
        Ok((200,), b"hi", reusable=False, trailing=b"XYZ"),
    ),
    Case(
        "content-length-crlf-after-body",
        _ok200(b"Content-Length: 2\r\n", b"hi\r\n"),
        Ok((200,), b"hi", reusable=False, trailing=b"\r\n"),
    ),
    Case(
        "content-length-eof-after-body",
        _ok200(b"Content-Length: 2\r\n", b"hi"),
        Ok((200,), b"hi", reusable=False),
        eof=True,
    ),
    Case("content-length-64k", _ok200(b"Content-Length: 65536\r\n", BIG), Ok((200,), BIG)),
    # ---- Transfer-Encoding -----------------------------------------------------------
    Case(
        "content-length-and-chunked",
        _ok200(b"Content-Length: 3\r\n" + CHUNKED, b"3\r\nabc\r\n0\r\n\r\n"),
        Ok((200,), b"abc"),
        differs="h11 lets chunked win; RFC 9112 section 6.3 says such a message ought to be "
        "handled as an error (request smuggling, response splitting): the llhttp codec refuses",
        llhttp=ERROR,
    ),
    Case("transfer-encoding-gzip", _ok200(b"Transfer-Encoding: gzip\r\n", b"x"), ERROR, eof=True),
    Case("transfer-encoding-gzip-chunked", _ok200(b"Transfer-Encoding: gzip, chunked\r\n"), ERROR),
    Case("transfer-encoding-chunked-twice", _ok200(CHUNKED + CHUNKED, b"0\r\n\r\n"), ERROR),
    Case(
        "transfer-encoding-chunked-list", _ok200(b"Transfer-Encoding: chunked, chunked\r\n"), ERROR
    ),
    Case(
        "transfer-encoding-uppercase",
        _ok200(b"Transfer-Encoding: Chunked\r\n", b"2\r\nhi\r\n0\r\n\r\n"),
        Ok((200,), b"hi", headers=[(b"Transfer-Encoding", b"chunked")]),
    ),
    # ---- chunked bodies --------------------------------------------------------------
    Case("chunked", _ok200(CHUNKED, b"5\r\nhello\r\n0\r\n\r\n"), Ok((200,), b"hello")),
    Case("chunked-empty", _ok200(CHUNKED, b"0\r\n\r\n"), Ok((200,))),
    Case(
        "chunked-several-hex-sizes",
        _ok200(CHUNKED, b"1\r\na\r\nA\r\n0123456789\r\nf\r\nabcdefghijklmno\r\n00\r\n\r\n"),
        Ok((200,), b"a0123456789abcdefghijklmno"),
    ),
    Case(
        "chunked-extensions",
        _ok200(CHUNKED, b'5;name=value;flag;q="a b"\r\nhello\r\n0;last=1\r\n\r\n'),
        Ok((200,), b"hello"),
    ),
    Case(
        "chunked-extension-control-char",
        _ok200(CHUNKED, b"5;a\x01\r\nhello\r\n0\r\n\r\n"),
        Ok((200,), b"hello"),
        differs="h11 takes anything after ';' up to the CRLF; the llhttp codec admits visible "
        "characters, space and tab only (RFC 9112 section 7.1.1 chunk-ext grammar)",
        llhttp=ERROR,
    ),
    Case(
        "chunked-size-trailing-whitespace",
        _ok200(CHUNKED, b"5 \t\r\nhello\r\n0\r\n\r\n"),
        Ok((200,), b"hello"),
    ),
    Case("chunked-size-space-before-ext", _ok200(CHUNKED, b"5 ;a\r\nhello\r\n0\r\n\r\n"), ERROR),
    Case("chunked-size-leading-space", _ok200(CHUNKED, b" 5\r\nhello\r\n0\r\n\r\n"), ERROR),
    Case("chunked-size-negative", _ok200(CHUNKED, b"-5\r\nhello\r\n0\r\n\r\n"), ERROR),
    Case("chunked-size-0x", _ok200(CHUNKED, b"0x5\r\nhello\r\n0\r\n\r\n"), ERROR),
    Case("chunked-size-empty", _ok200(CHUNKED, b"\r\nhello\r\n0\r\n\r\n"), ERROR),
    Case("chunked-size-not-hex", _ok200(CHUNKED, b"g\r\nhello\r\n0\r\n\r\n"), ERROR),
    Case(
        "chunked-size-20-digits",
        _ok200(CHUNKED, b"00000000000000000005\r\nhello\r\n0\r\n\r\n"),
        Ok((200,), b"hello"),
    ),
    Case("chunked-size-21-digits", _ok200(CHUNKED, b"000000000000000000005\r\nhello\r\n"), ERROR),
    Case("chunked-size-bare-lf", _ok200(CHUNKED, b"5\nhello\r\n0\r\n\r\n"), ERROR),
    Case("chunked-data-too-long", _ok200(CHUNKED, b"5\r\nhelloXX\r\n0\r\n\r\n"), ERROR),
    Case("chunked-data-bare-lf", _ok200(CHUNKED, b"5\r\nhello\n0\r\n\r\n"), ERROR),
    Case(
        "chunked-trailers",
        _ok200(CHUNKED, b"5\r\nhello\r\n0\r\nX-Sum: abc\r\nX-B: c\r\n\r\n"),
        Ok((200,), b"hello"),
    ),
    Case(
        "chunked-trailer-obs-fold",
        _ok200(CHUNKED, b"5\r\nhello\r\n0\r\nX-Sum: a\r\n b\r\n\r\n"),
        Ok((200,), b"hello"),
    ),
    Case(
        "chunked-trailers-bare-lf",
        _ok200(CHUNKED, b"5\r\nhello\r\n0\r\nX-Sum: abc\n\n"),
        Ok((200,), b"hello"),
    ),
    Case("chunked-end-bare-lf", _ok200(CHUNKED, b"5\r\nhello\r\n0\r\n\n"), Ok((200,), b"hello")),
    Case("chunked-trailer-no-colon", _ok200(CHUNKED, b"0\r\nnot a header\r\n\r\n"), ERROR),
    Case("chunked-trailer-fold-first", _ok200(CHUNKED, b"0\r\n X: y\r\n\r\n"), ERROR),
    Case("chunked-trailer-nul", _ok200(CHUNKED, b"0\r\nX: a\x00b\r\n\r\n"), ERROR),
    Case("chunked-eof-in-data", _ok200(CHUNKED, b"5\r\nhel"), ERROR, eof=True),
    Case("chunked-eof-before-last-chunk", _ok200(CHUNKED, b"5\r\nhello\r\n"), ERROR, eof=True),
    Case("chunked-eof-in-trailers", _ok200(CHUNKED, b"0\r\nX: y\r\n"), ERROR, eof=True),
    Case(
        "chunked-bytes-after-body",
        _ok200(CHUNKED, b"2\r\nhi\r\n0\r\n\r\nXYZ"),
        Ok((200,), b"hi", reusable=False, trailing=b"XYZ"),
    ),
    Case(
        "chunked-64k",
        _ok200(
            CHUNKED,
            b"".join(b"1000\r\n" + BIG[i : i + 4096] + b"\r\n" for i in range(0, 65536, 4096))
            + b"0\r\n\r\n",
        ),
        Ok((200,), BIG),
    ),
    # ---- methods and statuses without a body -----------------------------------------
    Case(
        "head-content-length",
        _ok200(b"Content-Length: 100\r\n"),
        Ok((200,)),
        method=b"HEAD",
    ),
    Case("head-chunked", _ok200(CHUNKED), Ok((200,)), method=b"HEAD"),
    Case(
        "head-bytes-after",
        _ok200(b"Content-Length: 5\r\n", b"hello"),
        Ok((200,), reusable=False, trailing=b"hello"),
        method=b"HEAD",
    ),
    Case("204", b"HTTP/1.1 204 No Content\r\n\r\n", Ok((204,))),
    Case(
        "204-content-length-and-body",
        b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\nhello",
        Ok((204,), reusable=False, trailing=b"hello"),
    ),
    Case(
        "304-content-length", b"HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", Ok((304,))
    ),
    Case(
        "100-continue",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        Ok((100, 200), b"hi"),
    ),
    Case(
        "103-early-hints",
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        + _ok200(b"Content-Length: 2\r\n", b"hi"),
        Ok((103, 200), b"hi"),
    ),
    Case(
        "several-1xx",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 102 Processing\r\n\r\n"
        b"HTTP/1.1 199 Whatever\r\nConnection: close\r\n\r\n" + _ok200(CL0),
        Ok((100, 102, 199, 200)),  # Connection: close on a 1xx does not count (h11)
    ),
    Case(
        "1xx-content-length-ignored",
        b"HTTP/1.1 150 Odd\r\nContent-Length: 5\r\n\r\n" + _ok200(b"Content-Length: 2\r\n", b"hi"),
        Ok((150, 200), b"hi"),
    ),
    Case(
        "1xx-bad-transfer-encoding",
        b"HTTP/1.1 100 Continue\r\nTransfer-Encoding: gzip\r\n\r\n",
        ERROR,
    ),
    Case("1xx-then-eof", b"HTTP/1.1 100 Continue\r\n\r\n", ERROR, eof=True),
    Case("101-not-asked-for", b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", ERROR),
    Case(
        "101-upgrade",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
        b"\x81\x05hello",
        Ok((101,), reusable=False, trailing=b"\x81\x05hello"),
        headers=UPGRADE,
    ),
    Case(
        "101-upgrade-after-100",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 101 Switching Protocols\r\n\r\nnew protocol",
        Ok((100, 101), reusable=False, trailing=b"new protocol"),
        headers=UPGRADE,
    ),
    Case(
        "upgrade-refused",
        _ok200(b"Content-Length: 2\r\n", b"hi"),
        Ok((200,), b"hi"),
        headers=UPGRADE,
    ),
    Case(
        "connect-200",
        b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03\x01",
        Ok((200,), reusable=False, trailing=b"\x16\x03\x01"),
        method=b"CONNECT",
    ),
    Case(
        "connect-200-content-length-ignored",
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\ntunnel",
        Ok((200,), reusable=False, trailing=b"tunnel"),
        method=b"CONNECT",
    ),
    Case(
        "connect-407",
        b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 2\r\n\r\nno",
        Ok((407,), b"no"),
        method=b"CONNECT",
    ),
    # ---- keep-alive ------------------------------------------------------------------
    Case("connection-close", _ok200(b"Connection: close\r\n" + CL0), Ok((200,), reusable=False)),
    Case(
        "connection-close-in-list",
        _ok200(b"Connection: keep-alive, Close\r\n" + CL0),
        Ok((200,), reusable=False),
    ),
    Case("connection-closed-is-not-close", _ok200(b"Connection: closed\r\n" + CL0), Ok((200,))),
    Case(
        "connection-close-second-header",
        _ok200(b"Connection: keep-alive\r\nConnection: upgrade, close\r\n" + CL0),
        Ok((200,), reusable=False),
    ),
    Case(
        "request-connection-close",
        _ok200(CL0),
        Ok((200,), reusable=False),
        headers=(*HOST, (b"Connection", b"close")),
    ),
    Case(
        "close-delimited",
        _ok200(b"", b"until the end"),
        Ok((200,), b"until the end", reusable=False),
        eof=True,
    ),
    Case("close-delimited-waits", _ok200(b"", b"so far"), Ok((200,), b"so far", ended=False)),
    Case("close-delimited-empty", _ok200(b""), Ok((200,), reusable=False), eof=True),
    # ---- the connection closing early ------------------------------------------------
    Case("eof-before-anything", b"", ERROR, eof=True),
    Case("eof-in-status-line", b"HTTP/1.1 20", ERROR, eof=True),
    Case("eof-in-headers", b"HTTP/1.1 200 OK\r\nContent-Len", ERROR, eof=True),
    Case("eof-after-head", _ok200(b"Content-Length: 2\r\n"), ERROR, eof=True),
]
