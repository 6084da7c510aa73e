"""Shared pytest fixtures."""

from __future__ import annotations

import pytest

# Real loopback servers (uvicorn, hypercorn, raw fault scripts): tests/servers/fixtures.py;
# real proxy daemons (squid, tinyproxy, dante, microsocks): tests/servers/proxies.py.
pytest_plugins = ["tests.servers.fixtures", "tests.servers.h2_scripted", "tests.servers.proxies"]

# --- anyio backends (codegen skeleton) --------------------------------------------------------
# Two-mode tests in tests/_async are marked `@pytest.mark.anyio`; anyio's pytest plugin runs
# each once per value of this fixture. Their generated twins in tests/_sync run once, plainly.


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    backend: str = request.param
    return backend


# --- end of anyio backends ---------------------------------------------------------------------


@pytest.fixture
def unused_port() -> int:
    """A loopback TCP port with nothing listening on it (connections are refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
