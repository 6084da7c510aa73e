"""The transport interface: the one seam between a client and the network.

Rules: a transport turns one Request into one Response whose body is not yet read, and owns
whatever it opens until `aclose()`. Leaving a `with` block closes the transport, whether the
block ended normally or by an exception (which then propagates).
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Optional, TypeVar

if TYPE_CHECKING:
    from httpduo._models._requests import Request
    from httpduo._models._responses import Response

__all__ = ["AsyncBaseTransport"]

_Transport = TypeVar("_Transport", bound="AsyncBaseTransport")


class AsyncBaseTransport:
    """Base class for transports: implement `handle_async_request()`.

    Override `aclose()` too if the transport holds connections or other resources.
    """

    async def handle_async_request(self, request: Request) -> Response:
        """Send `request` and return the response, with its body still to be read."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement handle_async_request(); "
            "subclasses of AsyncBaseTransport must override it"
        )

    async def aclose(self) -> None:
        """Release the transport's resources; the base class holds none."""

    async def __aenter__(self: _Transport) -> _Transport:
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        await self.aclose()
