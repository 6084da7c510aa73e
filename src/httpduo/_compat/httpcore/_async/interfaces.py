"""httpcore's async request interfaces: `request()` and `stream()` over
`handle_async_request()`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any, Optional, TypeVar, Union

from .._models import URL, Body, HeaderTypes, Request, Response, build_request
from .._protocols import ConnectionQuestions

__all__ = ["AsyncClosesOnExit", "AsyncConnectionInterface", "AsyncRequestInterface"]


class AsyncRequestInterface:
    """Something that sends requests: subclasses implement `handle_async_request()`."""

    async def request(
        self,
        method: Union[bytes, str],
        url: Union[URL, bytes, str],
        *,
        headers: HeaderTypes = None,
        content: Body = None,
        extensions: Optional[dict[str, Any]] = None,
    ) -> Response:
        """Send a request and return the response with its body read."""
        request = build_request(method, url, headers, content, extensions)
        response = await self.handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response

    @asynccontextmanager
    async def stream(
        self,
        method: Union[bytes, str],
        url: Union[URL, bytes, str],
        *,
        headers: HeaderTypes = None,
        content: Body = None,
        extensions: Optional[dict[str, Any]] = None,
    ) -> AsyncIterator[Response]:
        """Send a request; the response's body is read inside the block."""
        request = build_request(method, url, headers, content, extensions)
        response = await self.handle_async_request(request)
        try:
            yield response
        finally:
            await response.aclose()

    async def handle_async_request(self, request: Request) -> Response:
        raise NotImplementedError(
            f"{type(self).__name__} does not implement handle_async_request()"
        )


class AsyncConnectionInterface(AsyncRequestInterface, ConnectionQuestions):
    """One connection's questions, as httpcore's pool asks them (async)."""

    async def aclose(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement aclose()")


_Closing = TypeVar("_Closing", bound="AsyncClosesOnExit")


class AsyncClosesOnExit:
    """`async with pool:` closes the pool (or connection) when the block ends."""

    async def aclose(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement aclose()")

    async def __aenter__(self: _Closing) -> _Closing:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        await self.aclose()
