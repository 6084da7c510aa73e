"""Helpers shared by the async backend tests.

`every_async_backend` parametrizes a test over each (backend, event loop) pair that must
satisfy it: AnyIOBackend on asyncio and on trio, AsyncioBackend on asyncio only. It sets
`anyio_backend` directly (overriding the asyncio/trio fixture of tests/conftest.py, so the
asyncio backend never runs under trio) and `backend` indirectly (the fixture in
tests/backends/conftest.py builds a fresh instance per test).
"""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
from typing import Any, List

import anyio
import pytest

from httpduo._backends.base import AsyncNetworkBackend, AsyncNetworkStream
from httpduo._models._exceptions import ReadError

every_async_backend = pytest.mark.parametrize(
    ("anyio_backend", "backend"),
    [
        pytest.param("asyncio", "anyio", id="anyio-asyncio"),
        pytest.param("trio", "anyio", id="anyio-trio"),
        pytest.param("asyncio", "asyncio", id="asyncio"),
    ],
    indirect=["backend"],
)


async def read_exactly(stream: AsyncNetworkStream, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = await stream.read(size - len(data), timeout=5)
        assert chunk, "unexpected EOF"
        data += chunk
    return data


def fake_getaddrinfo(monkeypatch: pytest.MonkeyPatch, name: str, addresses: List[str]) -> None:
    """Make `name` resolve to `addresses`, in that order; no addresses: it does not resolve.

    Call it inside the running test. It patches both resolvers a backend may use: anyio's
    (AnyIOBackend, any loop) and the running asyncio loop's (AsyncioBackend).
    """

    def fake(real: Any) -> Any:
        async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
            if host != name:
                return await real(host, port, **kwargs)
            if not addresses:
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            results = []
            for address in addresses:
                family = socket.AF_INET6 if ":" in address else socket.AF_INET
                results.append((family, socket.SOCK_STREAM, 6, "", (address, port)))
            return results

        return getaddrinfo

    monkeypatch.setattr(anyio, "getaddrinfo", fake(anyio.getaddrinfo))
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return  # trio: only anyio's resolver is in play
    monkeypatch.setattr(loop, "getaddrinfo", fake(loop.getaddrinfo))


async def check_tls_in_tls(
    backend: AsyncNetworkBackend, tunnel_port: int, ssl_context: ssl.SSLContext
) -> AsyncNetworkStream:
    """Run a TLS session inside another through `tls_tunnel`, check that it carries data
    and that closing it closes the tunnel too; return the (closed) inner stream."""
    stream = await backend.connect_tcp("127.0.0.1", tunnel_port, timeout=5)
    outer = await stream.start_tls(ssl_context, server_hostname="localhost", timeout=5)
    inner = await outer.start_tls(ssl_context, server_hostname="localhost", timeout=5)
    try:
        assert inner.get_extra_info("ssl_object") is not outer.get_extra_info("ssl_object")
        assert inner.get_extra_info("server_addr") == ("127.0.0.1", tunnel_port)
        payload = os.urandom(200_000)
        await inner.write(payload, timeout=5)
        assert await read_exactly(inner, len(payload)) == payload
        assert inner.get_extra_info("is_readable") is False
    finally:
        await inner.aclose()
    with pytest.raises(ReadError):
        await outer.read(10)
    return inner
