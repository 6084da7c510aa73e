"""The ASGI 3 application every real test server serves (no framework, stdlib only).

Rules:
- Deterministic: every body a test may check is documented here and reproducible with
  the helpers below (`pattern_bytes`, `charset_text`, `BINARY_BODY`, ...).
- Endpoints that do not consume the request body still drain it, so a keep-alive
  connection stays usable whatever the client sent.
- Waits (`delay=`) end early when the client disconnects, so server shutdown is never
  held up by a test that gave up.
- `/echo_body` reads the whole body before answering: echoing while still receiving
  deadlocks any client that writes its entire request before reading (as HTTP/1.1 clients
  do) once both socket buffers are full. The chunks are kept as received, never joined.

Endpoints (query parameters in brackets are optional):
  /                          200 "Hello, world!" text/plain
  /echo_method               the request method as text/plain
  /request_info              JSON method, http_version, scheme, path, raw_path,
                             query_string, client, server
  /echo_headers              JSON list of [name, value] pairs, order and repeats kept
                             (names lower-cased, as ASGI servers deliver them)
  /echo_body                 the request body back, same Content-Type (default
                             application/octet-stream), with Content-Length
  /echo_body_hash            JSON {"sha256": hex, "length": n}, computed while streaming
  /json                      JSON {"Hello": "world!"}
  /status/{code}             that status (200-599, else 400); body "{code} {phrase}"
                             except for 204 and 304
  /bytes/{n}                 n bytes of `pattern_bytes`, with Content-Length
  /stream/{n}[?chunk=K&delay=S]  n pattern bytes in K-byte chunks (default 1024), no
                             Content-Length (chunked on HTTP/1.1), S seconds between chunks
  /large?size=N              N pattern bytes sent in 64 KiB chunks, with Content-Length
  /slow_body?delay=S         headers (Content-Length 9) at once, body b"slow body" after S
  /slow_headers?delay=S      the whole response ("slow headers") after S seconds
  /gzip /deflate /brotli /zstd [?size=N]  COMPRESSIBLE_TEXT (or N pattern bytes) encoded,
                             Content-Encoding set; /deflate?raw=1 sends raw RFC 1951 data
  /redirect/{n}              302 to /redirect/{n-1}; /redirect/0 is 200 "Hello, world!"
  /redirect_to?url=U[&status=302]  that status with Location: U
  /relative_redirect         302 Location: json (relative reference, resolves to /json)
  /absolute_redirect         302 Location: {scheme}://{host}/json (from the Host header)
  /cookies/set?name=value... 200 JSON {"set": {...}}, one Set-Cookie (Path=/) per pair
  /cookies/delete?name...    200, Set-Cookie with Max-Age=0 for each name
  /cookies                   JSON {"cookie": raw Cookie header or null, "cookies": {...}}
  /basic_auth/{user}/{pass}  401 + WWW-Authenticate: Basic unless the credentials match;
                             then 200 JSON {"authenticated": true, "user": user}
  /digest_auth/{qop}/{user}/{pass}/{algorithm}  RFC 7616 digest check, see digest.py
  /connection_id             JSON {"client": [host, port] or null} from the ASGI scope
  /headers_size[?n=16384]    200 with about n bytes of X-Filler-* response headers
  /charset?enc=E[&declare=0] `charset_text(E)` encoded in E; Content-Type text/plain with
                             charset=E unless declare=0
  /html /xml /binary         HTML_BODY text/html, XML_BODY application/xml,
                             BINARY_BODY image/png (PNG signature + pseudo-random bytes)
  anything else              404 "Not Found"
"""

from __future__ import annotations

import asyncio
import base64
import gzip
import hashlib
import http
import json
import re
import zlib
from typing import Any, Awaitable, Callable, Dict, Iterator, List, Optional, Tuple
from urllib.parse import parse_qsl

from tests.servers.digest import DigestAuthority

Scope = Dict[str, Any]
Message = Dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
RawHeaders = List[Tuple[bytes, bytes]]

HELLO = b"Hello, world!"
PATTERN = b"0123456789"
LARGE_CHUNK = 64 * 1024
# Long enough to slice any chunk of up to 64 KiB starting at any offset into PATTERN.
_PATTERN_BLOCK = PATTERN * (LARGE_CHUNK // len(PATTERN) + 2)
COMPRESSIBLE_TEXT = b"Hello, world! " * 200
HTML_BODY = (
    b"<!DOCTYPE html>\n<html><head><title>httpduo</title></head>"
    b"<body><h1>Hello, world!</h1></body></html>\n"
)
XML_BODY = b'<?xml version="1.0" encoding="UTF-8"?>\n<greeting>Hello, world!</greeting>\n'
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pseudo_random(size: int, seed: bytes) -> bytes:
    out = bytearray()
    block = seed
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


BINARY_BODY = _PNG_SIGNATURE + _pseudo_random(1024, b"httpduo")

# Sample texts for /charset: the first one encodable in the requested encoding is sent.
CHARSET_TEXTS = (
    "Привет, мир! Съешь же ещё этих мягких французских булок, да выпей чаю.",
    "こんにちは、世界! いろはにほへと ちりぬるを わかよたれそ つねならむ。",
    "Grüße aus Köln! Ça va très bien, merci. ¿Qué tal? Æble, øl og å.",
    "Hello, world! Plain ASCII text.",
)


def pattern_bytes(size: int, offset: int = 0) -> bytes:
    """`size` bytes of the repeating b"0123456789" stream, starting at stream `offset`."""
    start = offset % len(PATTERN)
    if start + size <= len(_PATTERN_BLOCK):
        return _PATTERN_BLOCK[start : start + size]
    repeats = (start + size) // len(PATTERN) + 1
    return (PATTERN * repeats)[start : start + size]


def iter_pattern(size: int, chunk_size: int) -> Iterator[bytes]:
    """The `pattern_bytes(size)` stream cut into `chunk_size` pieces."""
    offset = 0
    while offset < size:
        n = min(chunk_size, size - offset)
        yield pattern_bytes(n, offset)
        offset += n


def charset_text(encoding: str) -> str:
    """The text /charset?enc=`encoding` sends."""
    for text in CHARSET_TEXTS:
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            continue
        return text
    raise LookupError(f"no sample text encodable in {encoding!r}")


_ROUTE = re.compile(
    r"^/(?:(status)/(\d{3})|(bytes|stream|redirect)/(\d+)|(basic_auth)/([^/]*)/([^/]*)"
    r"|(digest_auth)/([^/]+)/([^/]*)/([^/]*)/([^/]+))$"
)
_COOKIE_PAIR = re.compile(r"\s*([^=;\s]+)\s*=\s*([^;]*)")
_BODILESS = frozenset({204, 304})


async def drain(receive: Receive) -> bool:
    """Discard the request body; False when the client disconnected."""
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return False
        if not message.get("more_body", False):
            return True


async def wait_or_disconnect(receive: Receive, delay: float) -> bool:
    """Sleep `delay` seconds after draining the body; False when the client left first."""
    if not await drain(receive):
        return False
    try:
        message = await asyncio.wait_for(receive(), delay)
    except asyncio.TimeoutError:
        return True
    return bool(message["type"] != "http.disconnect")


async def start(send: Send, status: int, headers: RawHeaders) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})


async def respond(
    send: Send,
    status: int,
    body: bytes = b"",
    content_type: Optional[bytes] = b"text/plain",
    headers: Optional[RawHeaders] = None,
) -> None:
    raw: RawHeaders = []
    if content_type is not None:
        raw.append((b"content-type", content_type))
    raw.append((b"content-length", str(len(body)).encode()))
    if headers:
        raw.extend(headers)
    await start(send, status, raw)
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def respond_json(
    send: Send, data: Any, status: int = 200, headers: Optional[RawHeaders] = None
) -> None:
    body = json.dumps(data).encode()
    await respond(send, status, body, b"application/json", headers)


def _header(scope: Scope, name: bytes) -> Optional[bytes]:
    for key, value in scope["headers"]:
        if key.lower() == name:
            return bytes(value)
    return None


def _query(scope: Scope) -> Dict[str, str]:
    return dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))


def _float_param(query: Dict[str, str], name: str, default: float) -> float:
    # Capped so a typo cannot keep a server (and its shutdown) busy for minutes.
    return min(float(query.get(name, default)), 60.0)


def _encode(name: str, data: bytes, query: Dict[str, str]) -> bytes:
    if name == "gzip":
        return gzip.compress(data)
    if name == "deflate":
        if query.get("raw") == "1":
            compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
            return compressor.compress(data) + compressor.flush()
        return zlib.compress(data)
    if name == "br":
        import brotli

        return bytes(brotli.compress(data))
    import zstandard

    return bytes(zstandard.ZstdCompressor().compress(data))


_ENCODINGS = {"/gzip": "gzip", "/deflate": "deflate", "/brotli": "br", "/zstd": "zstd"}


class TestApp:
    """The application; one instance per server so digest nonces are not shared."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(self) -> None:
        self.digest = DigestAuthority()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            raise RuntimeError(f"unsupported ASGI scope type {scope['type']!r}")
        await self._http(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path == "/echo_body":
            await self._echo_body(scope, receive, send)
            return
        if path == "/echo_body_hash":
            await self._echo_body_hash(receive, send)
            return
        if path.startswith("/digest_auth/"):
            # Reads the body itself: qop=auth-int hashes it.
            await self._digest(scope, receive, send)
            return
        query = _query(scope)
        if path in ("/slow_headers", "/slow_body"):
            await self._slow(path, query, receive, send)
            return
        if path.startswith("/stream/"):
            await self._stream(path, query, receive, send)
            return
        if not await drain(receive):
            return
        await self._simple(scope, path, query, send)

    async def _simple(self, scope: Scope, path: str, query: Dict[str, str], send: Send) -> None:
        if path == "/":
            await respond(send, 200, HELLO)
        elif path == "/echo_method":
            await respond(send, 200, scope["method"].encode())
        elif path == "/request_info":
            await respond_json(send, _request_info(scope))
        elif path == "/echo_headers":
            pairs = [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]]
            await respond_json(send, pairs)
        elif path == "/json":
            await respond_json(send, {"Hello": "world!"})
        elif path == "/large":
            await self._large(int(query.get("size", 1024 * 1024)), send)
        elif path in _ENCODINGS:
            name = _ENCODINGS[path]
            size = query.get("size")
            data = COMPRESSIBLE_TEXT if size is None else pattern_bytes(int(size))
            await respond(
                send,
                200,
                _encode(name, data, query),
                headers=[(b"content-encoding", name.encode())],
            )
        elif path == "/redirect_to":
            status = int(query.get("status", 302))
            await respond(send, status, headers=[(b"location", query["url"].encode())])
        elif path == "/relative_redirect":
            await respond(send, 302, headers=[(b"location", b"json")])
        elif path == "/absolute_redirect":
            location = f"{scope['scheme']}://{_authority(scope)}/json"
            await respond(send, 302, headers=[(b"location", location.encode())])
        elif path == "/cookies/set":
            cookies = [(b"set-cookie", f"{k}={v}; Path=/".encode()) for k, v in query.items()]
            await respond_json(send, {"set": query}, headers=cookies)
        elif path == "/cookies/delete":
            gone = [(b"set-cookie", f"{k}=; Max-Age=0; Path=/".encode()) for k in query]
            await respond(send, 200, headers=gone)
        elif path == "/cookies":
            await respond_json(send, _cookies(scope))
        elif path == "/connection_id":
            client = scope.get("client")
            await respond_json(send, {"client": list(client) if client else None})
        elif path == "/headers_size":
            await respond(send, 200, HELLO, headers=_filler_headers(int(query.get("n", 16384))))
        elif path == "/charset":
            await self._charset(query, send)
        elif path == "/html":
            await respond(send, 200, HTML_BODY, b"text/html; charset=utf-8")
        elif path == "/xml":
            await respond(send, 200, XML_BODY, b"application/xml")
        elif path == "/binary":
            await respond(send, 200, BINARY_BODY, b"image/png")
        else:
            await self._parametrised(scope, path, send)

    async def _parametrised(self, scope: Scope, path: str, send: Send) -> None:
        match = _ROUTE.match(path)
        if match is None:
            await respond(send, 404, b"Not Found")
        elif match.group(1):
            await self._status(int(match.group(2)), send)
        elif match.group(3) == "bytes":
            body = pattern_bytes(int(match.group(4)))
            await respond(send, 200, body, b"application/octet-stream")
        elif match.group(3) == "redirect":
            n = int(match.group(4))
            if n == 0:
                await respond(send, 200, HELLO)
            else:
                await respond(send, 302, headers=[(b"location", f"/redirect/{n - 1}".encode())])
        elif match.group(5):
            await self._basic(scope, match.group(6), match.group(7), send)
        else:
            await respond(send, 404, b"Not Found")

    async def _status(self, code: int, send: Send) -> None:
        if not 200 <= code <= 599:  # uvicorn cannot send others; use raw.py for them
            await respond(send, 400, b"status must be within 200-599")
            return
        try:
            phrase = http.HTTPStatus(code).phrase
        except ValueError:
            phrase = ""
        if code in _BODILESS:
            await start(send, code, [])
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        else:
            await respond(send, code, f"{code} {phrase}".strip().encode())

    async def _echo_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        chunks: List[bytes] = []
        total = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
                total += len(chunk)
            if not message.get("more_body", False):
                break
        content_type = _header(scope, b"content-type") or b"application/octet-stream"
        headers = [(b"content-type", content_type), (b"content-length", str(total).encode())]
        await start(send, 200, headers)
        chunks.reverse()  # pop() from the end hands chunks back in order and frees them
        while chunks:
            await send({"type": "http.response.body", "body": chunks.pop(), "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _echo_body_hash(self, receive: Receive, send: Send) -> None:
        digest = hashlib.sha256()
        length = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            digest.update(chunk)
            length += len(chunk)
            if not message.get("more_body", False):
                break
        await respond_json(send, {"sha256": digest.hexdigest(), "length": length})

    async def _large(self, size: int, send: Send) -> None:
        headers = [
            (b"content-type", b"application/octet-stream"),
            (b"content-length", str(size).encode()),
        ]
        await start(send, 200, headers)
        for chunk in iter_pattern(size, LARGE_CHUNK):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _stream(
        self, path: str, query: Dict[str, str], receive: Receive, send: Send
    ) -> None:
        match = _ROUTE.match(path)
        if match is None or match.group(3) != "stream":
            await drain(receive)
            await respond(send, 404, b"Not Found")
            return
        size = int(match.group(4))
        chunk_size = max(1, int(query.get("chunk", 1024)))
        delay = _float_param(query, "delay", 0.0)
        if not await drain(receive):
            return
        await start(send, 200, [(b"content-type", b"application/octet-stream")])
        for chunk in iter_pattern(size, chunk_size):
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
            if delay:
                await asyncio.sleep(delay)
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _slow(self, path: str, query: Dict[str, str], receive: Receive, send: Send) -> None:
        delay = _float_param(query, "delay", 1.0)
        if path == "/slow_headers":
            if await wait_or_disconnect(receive, delay):
                await respond(send, 200, b"slow headers")
            return
        body = b"slow body"
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        if not await drain(receive):
            return
        await start(send, 200, headers)
        await send({"type": "http.response.body", "body": b"", "more_body": True})
        try:
            message = await asyncio.wait_for(receive(), delay)
        except asyncio.TimeoutError:
            pass
        else:
            if message["type"] == "http.disconnect":
                return
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def _charset(self, query: Dict[str, str], send: Send) -> None:
        encoding = query.get("enc", "utf-8")
        body = charset_text(encoding).encode(encoding)
        content_type = b"text/plain"
        if query.get("declare", "1") != "0":
            content_type += b"; charset=" + encoding.encode()
        await respond(send, 200, body, content_type)

    async def _basic(self, scope: Scope, user: str, password: str, send: Send) -> None:
        expected = b"Basic " + base64.b64encode(f"{user}:{password}".encode())
        if _header(scope, b"authorization") == expected:
            await respond_json(send, {"authenticated": True, "user": user})
        else:
            challenge = [(b"www-authenticate", b'Basic realm="httpduo-tests"')]
            await respond(send, 401, b"Unauthorized", headers=challenge)

    async def _digest(self, scope: Scope, receive: Receive, send: Send) -> None:
        match = _ROUTE.match(scope["path"])
        chunks: List[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        if match is None or not match.group(8):
            await respond(send, 404, b"Not Found")
            return
        qop, user, password, algorithm = match.group(9, 10, 11, 12)
        target = scope.get("raw_path") or scope["path"].encode()
        if scope["query_string"]:
            target += b"?" + scope["query_string"]
        outcome = self.digest.check(
            qop=qop,
            user=user,
            password=password,
            algorithm=algorithm,
            method=scope["method"],
            target=target.decode("latin-1"),
            body=b"".join(chunks),
            authorization=_header(scope, b"authorization"),
        )
        if outcome.status == 200:
            await respond_json(send, {"authenticated": True, "user": user})
        elif outcome.status == 401:
            challenge = [
                (b"www-authenticate", outcome.challenge.encode()),
                (b"x-digest-failure", outcome.reason.encode()),
            ]
            await respond(send, 401, b"Unauthorized", headers=challenge)
        else:
            await respond(send, outcome.status, outcome.reason.encode())


def _request_info(scope: Scope) -> Dict[str, Any]:
    client = scope.get("client")
    server = scope.get("server")
    raw_path = scope.get("raw_path")
    return {
        "method": scope["method"],
        "http_version": scope["http_version"],
        "scheme": scope["scheme"],
        "path": scope["path"],
        "raw_path": raw_path.decode("latin-1") if raw_path is not None else None,
        "query_string": scope["query_string"].decode("latin-1"),
        "client": list(client) if client else None,
        "server": list(server) if server else None,
    }


def _authority(scope: Scope) -> str:
    host = _header(scope, b"host")
    if host:
        return host.decode("latin-1")
    server = scope.get("server")
    if not server:
        return "localhost"
    name, port = server
    return f"[{name}]:{port}" if ":" in name else f"{name}:{port}"


def _cookies(scope: Scope) -> Dict[str, Any]:
    raw = _header(scope, b"cookie")
    if raw is None:
        return {"cookie": None, "cookies": {}}
    text = raw.decode("latin-1")
    parsed = {m.group(1): m.group(2).strip() for m in _COOKIE_PAIR.finditer(text)}
    return {"cookie": text, "cookies": parsed}


def _filler_headers(total: int) -> RawHeaders:
    headers: RawHeaders = []
    index = 0
    while total > 0:
        size = min(1000, total)
        headers.append((f"x-filler-{index}".encode(), b"x" * size))
        total -= size
        index += 1
    return headers


def make_app() -> TestApp:
    """A fresh application instance (own digest nonce store)."""
    return TestApp()
