"""httpcore's async request interfaces: `request()` and `stream()` over
`handle_async_request()`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Optional, Union

from .._models import URL, Body, HeaderTypes, Request, Response, build_request

__all__ = ["AsyncConnectionInterface", "AsyncRequestInterface"]


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


class AsyncConnectionInterface(AsyncRequestInterface):
    """One connection's questions, as httpcore's pool asks them (async)."""

    async def aclose(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement aclose()")

    def info(self) -> str:
        raise NotImplementedError(f"{type(self).__name__} does not implement info()")

    def can_handle_request(self, origin: Any) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement can_handle_request()")

    def is_available(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement is_available()")

    def has_expired(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement has_expired()")

    def is_idle(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement is_idle()")

    def is_closed(self) -> bool:
        raise NotImplementedError(f"{type(self).__name__} does not implement is_closed()")
