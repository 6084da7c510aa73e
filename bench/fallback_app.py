"""The ASGI app behind the uvicorn fallback server: the same two routes as the nginx one.

`/small` answers `Hello, world!`; `/large` streams $BENCH_LARGE_SIZE bytes, the same bytes
as the file nginx serves, in 1 MiB chunks with a Content-Length (generated, not read: no
blocking file I/O in the event loop); `/large-gzip` the same gzipped body as nginx's
(built on first use), with `Content-Encoding: gzip`. Anything else is a 404. Only
bench/server.py runs it.
"""

from __future__ import annotations

import functools
import os
from typing import Any, Callable

from bench.server import LARGE_BLOCK, SMALL_BODY, gzip_body

__all__ = ["app"]

Scope = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    path = scope["path"]
    if path == "/small":
        await _start(send, 200, len(SMALL_BODY), b"text/plain")
        await send({"type": "http.response.body", "body": SMALL_BODY})
    elif path == "/large":
        size = int(os.environ["BENCH_LARGE_SIZE"])
        await _start(send, 200, size, b"application/octet-stream")
        whole, rest = divmod(size, len(LARGE_BLOCK))
        for chunk in [LARGE_BLOCK] * whole + [LARGE_BLOCK[:rest]]:
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    elif path == "/large-gzip":
        body = _gzip_body(int(os.environ["BENCH_LARGE_SIZE"]))
        headers = [
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"text/plain"),
            (b"content-encoding", b"gzip"),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
    else:
        await _start(send, 404, 0, b"text/plain")
        await send({"type": "http.response.body", "body": b""})


_gzip_body = functools.lru_cache(maxsize=1)(gzip_body)


async def _start(send: Send, status: int, length: int, content_type: bytes) -> None:
    headers = [(b"content-length", str(length).encode()), (b"content-type", content_type)]
    await send({"type": "http.response.start", "status": status, "headers": headers})
