"""Decompression bombs from local servers: streaming one keeps memory bounded.

Each case runs the client in a subprocess (tests/hostile/client.py) and reads how far its
peak resident size (`resource.getrusage`) rose while streaming. The bound, PEAK_BOUND,
is 8 MiB: the decoders hold at most one piece (<= 128 KiB) per coding layer plus one
network read, so anything near the bound means a whole expansion was buffered again.
Before bounded decoding the same gzip bomb cost +319 MiB per GiB streamed, a zstd
bomb a MemoryError.

Every coding streams 1 GiB once (sync, the default HTTP/1.1 codec); the matrix of
sync/async x llhttp/h11/HTTP/2 streams 32 MiB per case, which still expanded whole from
one network read before.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import httpduo
from tests.hostile.bombs import BOMBS, MIB, bomb_script, h2_bomb_script
from tests.servers.raw import RawServer

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="reads /proc and ru_maxrss in KiB (Linux)"
)

PEAK_BOUND_KIB = 8 * 1024
ROOT = Path(__file__).resolve().parents[2]
CODINGS = ["gzip", "deflate", "br", "zstd", "stacked"]


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, RawServer]]:
    started = {"http1": RawServer(bomb_script), "h2": RawServer(h2_bomb_script)}
    try:
        yield started
    finally:
        for server in started.values():
            server.stop()


def run_client(
    servers: dict[str, RawServer],
    labels: list[str],
    mib: int,
    mode: str = "sync",
    protocol: str = "llhttp",
    *,
    chunk: int = 1024,
    read: bool = False,
    stop_after: int = 0,
) -> dict[str, dict[str, Any]]:
    """Stream each bomb in `labels` (`mib` MiB decoded) in one client subprocess; the
    outcome for each label."""
    server = servers["h2" if protocol == "h2" else "http1"]
    urls = []
    for label in labels:
        BOMBS[label][1](mib * MIB)  # built (and cached) before the client starts
        urls.append(f"{server.url}/{label}/{mib}")
    args = [mode, protocol, str(chunk), str(stop_after or mib * MIB)]
    args += [*(["read"] if read else []), *urls]
    # The same httpduo as this process, and the tests package.
    package_root = str(Path(httpduo.__file__).resolve().parents[1])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, str(ROOT)]))
    result = subprocess.run(
        [sys.executable, "-m", "tests.hostile.client", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return dict(zip(labels, json.loads(result.stdout)))


def assert_streamed(outcomes: dict[str, dict[str, Any]], size: int) -> None:
    for label, outcome in outcomes.items():
        assert (outcome["error"], outcome["decoded"]) == (None, size), (label, outcome)
        assert outcome["peak_growth_kib"] < PEAK_BOUND_KIB, (label, outcome)


def test_streaming_a_gigabyte_bomb_of_each_coding(servers: dict[str, RawServer]) -> None:
    assert_streamed(run_client(servers, CODINGS, 1024), 1024 * MIB)


@pytest.mark.parametrize("protocol", ["llhttp", "h11", "h2"])
@pytest.mark.parametrize("mode", ["sync", "async"])
def test_bomb_matrix(servers: dict[str, RawServer], mode: str, protocol: str) -> None:
    assert_streamed(run_client(servers, CODINGS, 32, mode, protocol), 32 * MIB)


@pytest.mark.parametrize("protocol", ["llhttp", "h2"])
def test_ten_thousand_codings_are_refused(servers: dict[str, RawServer], protocol: str) -> None:
    outcome = run_client(servers, ["many"], 64, "async", protocol)["many"]
    assert outcome["error"].startswith("DecodingError: The Content-Encoding header lists more")
    assert outcome["decoded"] == 0
    assert outcome["peak_growth_kib"] < PEAK_BOUND_KIB, outcome


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_read_under_a_body_limit_stops_early(servers: dict[str, RawServer], mode: str) -> None:
    outcome = run_client(servers, ["gzip"], 1024, mode, read=True, stop_after=MIB)["gzip"]
    assert outcome["error"].startswith("ResponseTooLarge: The response body is larger than")
    assert outcome["peak_growth_kib"] < PEAK_BOUND_KIB, outcome
