"""httpcore's AsyncHTTP2Connection: HTTP/2 over a stream the caller opened.

Rules: the protocol work is httpduo's own `AsyncHTTP2Connection`; see `../_protocols.py`.
`handle_async_request` is the patch point, as on httpcore's class.
"""

from __future__ import annotations

from typing import Any, Optional

from httpduo._async._http2 import AsyncHTTP2Connection as _DuoHTTP2Connection
from httpduo._async._http2 import load_h2
from httpduo._async._pool import _default_backend

from .._models import Request, Response
from .._network import async_httpduo_stream
from .connection_pool import send
from .http11 import AsyncProtocolConnection

__all__ = ["AsyncHTTP2Connection"]


def _connect(stream: Any, keepalive_expiry: Optional[float]) -> _DuoHTTP2Connection:
    load_h2()
    return _DuoHTTP2Connection(
        async_httpduo_stream(stream), _default_backend(), keepalive_expiry=keepalive_expiry
    )


class AsyncHTTP2Connection(AsyncProtocolConnection):
    """HTTP/2 requests over one open network stream (httpduo's protocol code)."""

    _make_connection = staticmethod(_connect)

    _start_lock: Any = None
    _started = False

    async def handle_async_request(self, request: Request) -> Response:
        connection = self._protocol(request.url)
        if not self._started:
            # The first requests wait for the connection preface and SETTINGS, once.
            if self._start_lock is None:
                self._start_lock = connection._backend.create_lock()
            async with self._start_lock:
                if not self._started:
                    timeouts = request.extensions.get("timeout") or {}
                    await connection.start(timeouts.get("connect"))
                    self._started = True
        return await send(connection, request)
