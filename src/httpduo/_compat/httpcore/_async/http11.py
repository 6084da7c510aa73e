"""httpcore's AsyncHTTP11Connection: HTTP/1.1 over a stream the caller opened.

Rules: the protocol work is httpduo's own `AsyncHTTP11Connection`; see `../_protocols.py`.
`handle_async_request` is the patch point, as on httpcore's class.
"""

from __future__ import annotations

from typing import Any, Optional

from httpduo._async._http11 import AsyncHTTP11Connection as _DuoHTTP11Connection
from httpduo._async._pool import _default_backend

from .._models import Request, Response
from .._network import async_httpduo_stream
from .._protocols import ProtocolFacade
from .connection_pool import send
from .interfaces import AsyncClosesOnExit, AsyncConnectionInterface

__all__ = ["AsyncHTTP11Connection", "AsyncProtocolConnection"]


def _connect(stream: Any, keepalive_expiry: Optional[float]) -> _DuoHTTP11Connection:
    return _DuoHTTP11Connection(
        async_httpduo_stream(stream), _default_backend(), keepalive_expiry=keepalive_expiry
    )


class AsyncProtocolConnection(ProtocolFacade, AsyncConnectionInterface, AsyncClosesOnExit):
    """What the AsyncHTTP11Connection and AsyncHTTP2Connection facades share: closing."""

    async def aclose(self) -> None:
        if self._connection is not None:
            await self._connection.aclose()
        else:
            await self._network_stream.aclose()


class AsyncHTTP11Connection(AsyncProtocolConnection):
    """HTTP/1.1 requests over one open network stream (httpduo's protocol code)."""

    _make_connection = staticmethod(_connect)

    async def handle_async_request(self, request: Request) -> Response:
        return await send(self._protocol(request.url), request)
