"""AsyncBaseTransport: the interface every transport implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pytest

from httpduo._async._base_transport import AsyncBaseTransport

if TYPE_CHECKING:
    from httpduo._models._requests import Request

# The base class never looks at the request, so any object stands in for one.
REQUEST = cast("Request", object())


class CountingTransport(AsyncBaseTransport):
    """A transport that only records how often it was closed."""

    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.anyio
async def test_context_manager_returns_the_transport_and_closes_it_once() -> None:
    transport = CountingTransport()
    async with transport as entered:
        assert entered is transport
        assert transport.closed == 0
    assert transport.closed == 1


async def fail_inside(transport: AsyncBaseTransport) -> None:
    async with transport:
        raise LookupError("boom")


@pytest.mark.anyio
async def test_context_manager_closes_on_error_and_lets_the_error_through() -> None:
    transport = CountingTransport()
    with pytest.raises(LookupError, match="boom"):
        await fail_inside(transport)
    assert transport.closed == 1


@pytest.mark.anyio
async def test_base_transport_is_a_context_manager_that_closes_quietly() -> None:
    async with AsyncBaseTransport() as transport:
        assert isinstance(transport, AsyncBaseTransport)
    await transport.aclose()  # closing twice is harmless


@pytest.mark.anyio
async def test_base_transport_names_the_missing_method() -> None:
    transport = AsyncBaseTransport()
    with pytest.raises(NotImplementedError, match=r"handle_async_request\(\)") as info:
        await transport.handle_async_request(REQUEST)
    assert str(info.value).startswith("AsyncBaseTransport does not implement")


@pytest.mark.anyio
async def test_subclass_error_names_the_subclass() -> None:
    with pytest.raises(NotImplementedError, match=r"^CountingTransport does not implement"):
        await CountingTransport().handle_async_request(REQUEST)
