"""`MockTransport`: answers every request by calling a handler function (httpx 0.28 API).

Rules:
- The request body is read before the handler runs, so `request.content` always works in
  the handler, whatever kind of stream the request had.
- With `Client` the handler must be a plain function returning a `Response`; with
  `AsyncClient` it may also be an `async def` (its result is awaited).
- Whatever the handler raises propagates unchanged; anything it returns that is not a
  `Response` is a `TypeError` naming what it returned.
"""

from __future__ import annotations

import inspect
from typing import Awaitable, Callable, Union

from .._async._base_transport import AsyncBaseTransport
from .._models._requests import Request
from .._models._responses import Response
from .._sync._base_transport import BaseTransport

__all__ = ["MockTransport"]

MockHandler = Callable[[Request], Union[Response, Awaitable[Response]]]


def _not_a_response(value: object) -> TypeError:
    return TypeError(
        f"The MockTransport handler must return an httpduo.Response, not {type(value).__name__!r}."
    )


class MockTransport(AsyncBaseTransport, BaseTransport):
    """A transport whose responses come from `handler(request)`; usable sync or async."""

    def __init__(self, handler: MockHandler) -> None:
        self.handler = handler

    def handle_request(self, request: Request) -> Response:
        request.read()
        response = self.handler(request)
        if isinstance(response, Response):
            return response
        if inspect.isawaitable(response):
            # Close an un-awaited coroutine now, so it does not also warn "never awaited".
            close = getattr(response, "close", None)
            if callable(close):
                close()
            raise TypeError(
                "The MockTransport handler returned an awaitable: use an async handler only "
                "with AsyncClient (a Client needs a handler that returns a Response)."
            )
        raise _not_a_response(response)

    async def handle_async_request(self, request: Request) -> Response:
        await request.aread()
        response = self.handler(request)
        if not isinstance(response, Response) and inspect.isawaitable(response):
            response = await response
        if not isinstance(response, Response):
            raise _not_a_response(response)
        return response
