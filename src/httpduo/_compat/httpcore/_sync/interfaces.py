"""httpcore's sync request interfaces: `request()` and `stream()` over `handle_request()`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional, Union

from .._models import URL, Body, HeaderTypes, Request, Response, build_request

__all__ = ["ConnectionInterface", "RequestInterface"]


class RequestInterface:
    """Something that sends requests: subclasses implement `handle_request()`."""

    def request(
        self,
        method: Union[bytes, str],
        url: Union[URL, bytes, str],
        *,
        headers: HeaderTypes = None,
        content: Body = None,
        extensions: Optional[dict[str, Any]] = None,
    ) -> Response:
        """Send a request and return the response with its body read."""
        response = self.handle_request(build_request(method, url, headers, content, extensions))
        try:
            response.read()
        finally:
            response.close()
        return response

    @contextmanager
    def stream(
        self,
        method: Union[bytes, str],
        url: Union[URL, bytes, str],
        *,
        headers: HeaderTypes = None,
        content: Body = None,
        extensions: Optional[dict[str, Any]] = None,
    ) -> Iterator[Response]:
        """Send a request; the response's body is read inside the block."""
        response = self.handle_request(build_request(method, url, headers, content, extensions))
        try:
            yield response
        finally:
            response.close()

    def handle_request(self, request: Request) -> Response:
        raise NotImplementedError(f"{type(self).__name__} does not implement handle_request()")


class ConnectionInterface(RequestInterface):
    """One connection's questions, as httpcore's pool asks them."""

    def close(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement close()")

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
