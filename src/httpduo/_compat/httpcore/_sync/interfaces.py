"""httpcore's sync request interfaces: `request()` and `stream()` over `handle_request()`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any, Optional, TypeVar, Union

from .._models import URL, Body, HeaderTypes, Request, Response, build_request
from .._protocols import ConnectionQuestions

__all__ = ["ClosesOnExit", "ConnectionInterface", "RequestInterface"]


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


class ConnectionInterface(RequestInterface, ConnectionQuestions):
    """One connection's questions, as httpcore's pool asks them."""

    def close(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement close()")


_Closing = TypeVar("_Closing", bound="ClosesOnExit")


class ClosesOnExit:
    """`with pool:` closes the pool (or connection) when the block ends."""

    def close(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement close()")

    def __enter__(self: _Closing) -> _Closing:
        return self

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        self.close()
