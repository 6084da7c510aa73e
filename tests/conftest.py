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


def pytest_report_header(config: pytest.Config) -> str:
    """Say which HTTP/1.1 codec and asyncio backend this run uses (CI runs two passes)."""
    import os

    from httpduo._codecs.select import resolve_codec_factory

    codec = resolve_codec_factory("auto")().__class__.__name__
    forced = os.environ.get("HTTPDUO_ASYNC_BACKEND", "").strip().lower()
    backend = "anyio" if forced == "anyio" else "native asyncio"
    return f"httpduo: HTTP/1.1 codec {codec}; under asyncio the {backend} backend; trio: anyio"
