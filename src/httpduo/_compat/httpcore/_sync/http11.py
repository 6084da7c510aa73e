"""httpcore's HTTP11Connection: HTTP/1.1 over a stream the caller opened.

Rules: the protocol work is httpduo's own `HTTP11Connection`; see `../_protocols.py`.
`handle_request` is the patch point, as on httpcore's class.
"""

from __future__ import annotations

from typing import Any, Optional

from httpduo._sync._http11 import HTTP11Connection as _DuoHTTP11Connection
from httpduo._sync._pool import _default_backend

from .._models import Request, Response
from .._network import httpduo_stream
from .._protocols import ProtocolFacade
from .connection_pool import send
from .interfaces import ClosesOnExit, ConnectionInterface

__all__ = ["HTTP11Connection", "ProtocolConnection"]


def _connect(stream: Any, keepalive_expiry: Optional[float]) -> _DuoHTTP11Connection:
    return _DuoHTTP11Connection(
        httpduo_stream(stream), _default_backend(), keepalive_expiry=keepalive_expiry
    )


class ProtocolConnection(ProtocolFacade, ConnectionInterface, ClosesOnExit):
    """What the HTTP11Connection and HTTP2Connection facades share: closing."""

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
        else:
            self._network_stream.close()


class HTTP11Connection(ProtocolConnection):
    """HTTP/1.1 requests over one open network stream (httpduo's protocol code)."""

    _make_connection = staticmethod(_connect)

    def handle_request(self, request: Request) -> Response:
        return send(self._protocol(request.url), request)
