"""The benchmark scenarios: what is measured, with which clients, and how one repetition runs.

Rules:
- `SCENARIOS` maps a name to a function that builds a `Plan` from the options and the
  server. A new scenario (HTTP/2, TLS, uploads...) is one function plus one dict entry;
  a new client is one adapter in bench/clients.py.
- A contestant's `run()` is ONE repetition: build a fresh client, warm it up (connections
  open, lazy imports done), time ONLY the workload, close the client. Wall time is
  `time.perf_counter()`, CPU time `time.process_time()`: this process only, since the
  server is a process of its own.
- Every answer is checked (status and body, or byte count): a fast wrong client is not a
  result, so a wrong answer aborts the run with `BenchError`.
- The async scenarios run each repetition in a fresh `asyncio.run()` loop.
- The TLS scenarios (`h2-*`) talk to the server's TLS listener; a server without one
  makes them raise `Unavailable` when planned, and the run skips them with the reason.
  A `Target` states a goal as a ratio of two rows' medians; the report says whether
  it was met.
"""

from __future__ import annotations

import asyncio
import cProfile
import dataclasses
import gc
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar

from bench.clients import (
    AsyncAdapter,
    AsyncSpec,
    BenchError,
    ClientConfig,
    SyncAdapter,
    SyncSpec,
    Unavailable,
    async_clients,
    async_tls_clients,
    sync_clients,
)
from bench.floors import AsyncProtocolFloor, SocketFloor
from bench.server import H2_MAX_CONCURRENT_STREAMS, SMALL_BODY, ServerInfo

__all__ = [
    "SCENARIOS",
    "Contestant",
    "Options",
    "Plan",
    "Runner",
    "Sample",
    "ScenarioFn",
    "Target",
]

MIB = 1024 * 1024


@dataclass(frozen=True)
class Options:
    """The workload sizes chosen on the command line."""

    requests: int = 2000
    async_requests: int = 10_000
    concurrency: int = 100
    clients: Optional[frozenset[str]] = None  # None: every client; the baseline always runs


@dataclass(frozen=True)
class Sample:
    """One timed repetition, in seconds."""

    wall: float
    cpu: float


# One repetition; a profiler, if given, is enabled around the timed part only.
Runner = Callable[[Optional[cProfile.Profile]], Sample]


@dataclass(frozen=True)
class Contestant:
    name: str
    role: str  # "baseline" (httpduo: the ratios divide by it), "client" or "floor"
    detail: str
    run: Runner


@dataclass(frozen=True)
class Target:
    """A goal: time ratio of `row` / time ratio of `per` (medians) is at least `minimum`.

    Time ratios are row time / baseline time, so this is `per`'s throughput over `row`'s
    (with `per` the baseline: how many times faster httpduo is than `row`). Without a
    `minimum` the value is reported for reference only.
    """

    text: str
    row: str
    per: str
    minimum: Optional[float] = None

    def value(self, ratios: dict[str, float]) -> Optional[float]:
        """The achieved value, or None when one of the two rows did not run."""
        if self.row not in ratios or self.per not in ratios:
            return None
        return ratios[self.row] / ratios[self.per]


@dataclass
class Plan:
    """A scenario ready to run: its rows, and what one repetition amounts to."""

    name: str
    title: str
    unit: str  # what the CPU column is per: "request" or "MiB"
    units: float  # units per repetition
    contestants: list[Contestant]
    prime: Callable[[], None]  # untimed, before the first repetition: warms the server
    notes: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)


ScenarioFn = Callable[[Options, ServerInfo], Plan]


class _Clock:
    """Times one section of a repetition, optionally under a profiler."""

    def __init__(self, profiler: Optional[cProfile.Profile]) -> None:
        self._profiler = profiler
        self._wall = 0.0
        self._cpu = 0.0

    def start(self) -> None:
        gc.collect()  # garbage from the warm-up is not the workload's
        if self._profiler is not None:
            self._profiler.enable()
        self._cpu = time.process_time()
        self._wall = time.perf_counter()

    def stop(self) -> Sample:
        wall = time.perf_counter() - self._wall
        cpu = time.process_time() - self._cpu
        if self._profiler is not None:
            self._profiler.disable()
        return Sample(wall, cpu)


_SyncWork = Callable[[SyncAdapter, _Clock], Sample]
_AsyncWork = Callable[[AsyncAdapter, _Clock], Awaitable[Sample]]
_SpecT = TypeVar("_SpecT", SyncSpec, AsyncSpec)


def _expect_small(body: bytes) -> None:
    if body != SMALL_BODY:
        raise BenchError(f"expected {SMALL_BODY!r}, got {body[:60]!r}")


def _expect_size(got: int, expected: int) -> None:
    if got != expected:
        raise BenchError(f"downloaded {got} bytes, expected {expected}")


def _selected(specs: dict[str, _SpecT], options: Options) -> list[_SpecT]:
    return [
        spec
        for spec in specs.values()
        if options.clients is None or spec.role == "baseline" or spec.name in options.clients
    ]


# --- sync ---------------------------------------------------------------------------------


def _sync_contestant(spec: SyncSpec, config: ClientConfig, work: _SyncWork) -> Contestant:
    def run(profiler: Optional[cProfile.Profile]) -> Sample:
        client = spec.build(config)
        try:
            return work(client, _Clock(profiler))
        finally:
            client.close()

    return Contestant(spec.name, spec.role, spec.detail, run)


def sync_sequential(options: Options, server: ServerInfo) -> Plan:
    """N keep-alive GETs of /small, one after the other, over one connection."""
    n, url = options.requests, server.small_url
    warmup = min(100, n)

    def work(client: SyncAdapter, clock: _Clock) -> Sample:
        get = client.get
        for _ in range(warmup):
            _expect_small(get(url))
        clock.start()
        for _ in range(n):
            _expect_small(get(url))
        return clock.stop()

    def prime() -> None:
        floor = SocketFloor()
        try:
            for _ in range(warmup):
                floor.get(url)
        finally:
            floor.close()

    config = ClientConfig(max_connections=1)
    return Plan(
        name="sync-sequential",
        title=f"{n} sequential keep-alive GETs of /small ({len(SMALL_BODY)} bytes), sync",
        unit="request",
        units=n,
        contestants=[
            _sync_contestant(spec, config, work) for spec in _selected(sync_clients(), options)
        ],
        prime=prime,
    )


def sync_download(options: Options, server: ServerInfo) -> Plan:
    """One streamed GET of /large, counted and discarded chunk by chunk."""
    title = f"streamed download of /large ({server.large_size / MIB:g} MiB), sync"
    return _sync_download_plan("sync-download", title, server.large_url, options, server)


def sync_gzip_download(options: Options, server: ServerInfo) -> Plan:
    """One streamed GET of /large-gzip (gzip, about 3:1), decoded by each client."""
    title = (
        f"streamed download of /large-gzip ({server.large_size / MIB:g} MiB decoded, "
        "Content-Encoding: gzip), sync"
    )
    return _sync_download_plan("sync-gzip-download", title, server.gzip_url, options, server)


def _sync_download_plan(
    name: str, title: str, url: str, options: Options, server: ServerInfo
) -> Plan:
    size = server.large_size
    decodes = url != server.large_url  # the floors do not decode: no row for them

    def work(client: SyncAdapter, clock: _Clock) -> Sample:
        _expect_small(client.get(server.small_url))  # opens the connection
        clock.start()
        got = client.download(url)
        sample = clock.stop()
        _expect_size(got, size)
        return sample

    def prime() -> None:
        floor = SocketFloor()
        try:
            got = floor.download(url)[1]  # the file is in the page cache now
            if not decodes:
                _expect_size(got, size)
        finally:
            floor.close()

    config = ClientConfig(max_connections=1)
    specs = _selected(sync_clients(), options)
    return Plan(
        name=name,
        title=title,
        unit="MiB",
        units=size / MIB,
        contestants=[
            _sync_contestant(spec, config, work)
            for spec in specs
            if not (decodes and spec.role == "floor")
        ],
        prime=prime,
    )


# --- async --------------------------------------------------------------------------------


def _async_contestant(spec: AsyncSpec, config: ClientConfig, work: _AsyncWork) -> Contestant:
    async def main(profiler: Optional[cProfile.Profile]) -> Sample:
        client = spec.build(config)
        await client.open()
        try:
            return await work(client, _Clock(profiler))
        finally:
            await client.aclose()

    def run(profiler: Optional[cProfile.Profile]) -> Sample:
        return asyncio.run(main(profiler))

    return Contestant(spec.name, spec.role, spec.detail, run)


async def _concurrent_gets(
    get: Callable[[str], Awaitable[bytes]], url: str, total: int, concurrency: int
) -> None:
    """`total` GETs from `concurrency` worker tasks, each doing its share in a loop."""

    async def worker(count: int) -> None:
        for _ in range(count):
            _expect_small(await get(url))

    share, extra = divmod(total, concurrency)
    await asyncio.gather(*(worker(share + (i < extra)) for i in range(concurrency)))


def async_concurrent(options: Options, server: ServerInfo) -> Plan:
    """N GETs of /small from `concurrency` tasks sharing one pool of that many connections."""
    n, c, url = options.async_requests, options.concurrency, server.small_url

    async def work(client: AsyncAdapter, clock: _Clock) -> Sample:
        await _concurrent_gets(client.get, url, 2 * c, c)  # fills the pool
        clock.start()
        await _concurrent_gets(client.get, url, n, c)
        return clock.stop()

    async def prime_async() -> None:
        floor = AsyncProtocolFloor()
        try:
            await _concurrent_gets(_floor_get(floor), url, 2 * c, c)
        finally:
            floor.close()

    config = ClientConfig(max_connections=c)
    return Plan(
        name="async-concurrent",
        title=f"{n} GETs of /small, {c} concurrent tasks, pool of {c} connections, asyncio",
        unit="request",
        units=n,
        contestants=[
            _async_contestant(spec, config, work) for spec in _selected(async_clients(), options)
        ],
        prime=lambda: asyncio.run(prime_async()),
    )


def async_download(options: Options, server: ServerInfo) -> Plan:
    """One streamed GET of /large from one task, counted and discarded chunk by chunk."""
    title = f"streamed download of /large ({server.large_size / MIB:g} MiB), asyncio"
    return _async_download_plan("async-download", title, server.large_url, options, server)


def async_gzip_download(options: Options, server: ServerInfo) -> Plan:
    """One streamed GET of /large-gzip from one task, decoded by each client."""
    title = (
        f"streamed download of /large-gzip ({server.large_size / MIB:g} MiB decoded, "
        "Content-Encoding: gzip), asyncio"
    )
    return _async_download_plan("async-gzip-download", title, server.gzip_url, options, server)


def _async_download_plan(
    name: str, title: str, url: str, options: Options, server: ServerInfo
) -> Plan:
    size = server.large_size
    decodes = url != server.large_url  # the floors do not decode: no row for them

    async def work(client: AsyncAdapter, clock: _Clock) -> Sample:
        _expect_small(await client.get(server.small_url))  # opens the connection
        clock.start()
        got = await client.download(url)
        sample = clock.stop()
        _expect_size(got, size)
        return sample

    async def prime_async() -> None:
        floor = AsyncProtocolFloor()
        try:
            got = (await floor.download(url))[1]
            if not decodes:
                _expect_size(got, size)
        finally:
            floor.close()

    config = ClientConfig(max_connections=1)
    specs = _selected(async_clients(), options)
    return Plan(
        name=name,
        title=title,
        unit="MiB",
        units=size / MIB,
        contestants=[
            _async_contestant(spec, config, work)
            for spec in specs
            if not (decodes and spec.role == "floor")
        ],
        prime=lambda: asyncio.run(prime_async()),
    )


# --- HTTP/2 over TLS -------------------------------------------------------------------


def _require_tls(server: ServerInfo) -> None:
    if server.ca_path is None:
        raise Unavailable(f"the server has no TLS listener: {server.tls_missing}")


def _tls_contestants(
    options: Options, server: ServerInfo, rows: list[str], config: ClientConfig, work: _AsyncWork
) -> list[Contestant]:
    """The named rows of `async_tls_clients()`, in that order, as `--clients` allows."""
    config = dataclasses.replace(config, ca_path=server.ca_path)
    specs = async_tls_clients()
    chosen = {spec.name: spec for spec in _selected(specs, options)}
    return [_async_contestant(chosen[name], config, work) for name in rows if name in chosen]


def h2_concurrent(options: Options, server: ServerInfo) -> Plan:
    """N GETs of /small from `concurrency` tasks over HTTP/2 and TLS (one connection)."""
    _require_tls(server)
    n, c, url = options.async_requests, options.concurrency, server.tls_small_url

    async def work(client: AsyncAdapter, clock: _Clock) -> Sample:
        await _concurrent_gets(client.get, url, 2 * c, c)  # connects, fills the pool
        clock.start()
        await _concurrent_gets(client.get, url, n, c)
        return clock.stop()

    async def prime_async() -> None:
        floor = AsyncProtocolFloor()
        try:
            await _concurrent_gets(_floor_get(floor), server.small_url, 2 * c, c)
        finally:
            floor.close()

    config = ClientConfig(max_connections=c)
    rows = ["httpduo", "httpx", "httpduo http/1.1"]
    return Plan(
        name="h2-concurrent",
        title=(
            f"{n} GETs of /small, {c} concurrent tasks, HTTP/2 over TLS (the http/1.1 row: "
            f"a pool of {c} TLS connections), asyncio"
        ),
        unit="request",
        units=n,
        contestants=_tls_contestants(options, server, rows, config, work),
        prime=lambda: asyncio.run(prime_async()),
        notes=[
            "HTTP/2 rows multiplex every task over one connection "
            f"(nginx http2_max_concurrent_streams {H2_MAX_CONCURRENT_STREAMS})",
        ],
        targets=[Target("httpduo HTTP/2 req/s >= 2x httpx HTTP/2", "httpx", "httpduo", 2.0)],
    )


def h2_download(options: Options, server: ServerInfo) -> Plan:
    """One streamed GET of /large over HTTP/2 and TLS, and the same over HTTP/1.1 and TLS."""
    _require_tls(server)
    url, size = server.tls_large_url, server.large_size

    async def work(client: AsyncAdapter, clock: _Clock) -> Sample:
        _expect_small(await client.get(server.tls_small_url))  # opens the connection
        clock.start()
        got = await client.download(url)
        sample = clock.stop()
        _expect_size(got, size)
        return sample

    async def prime_async() -> None:
        floor = AsyncProtocolFloor()
        try:
            _expect_size((await floor.download(server.large_url))[1], size)
        finally:
            floor.close()

    rows = ["httpduo", "httpduo http/1.1", "httpx", "httpx http/1.1"]
    return Plan(
        name="h2-download",
        title=f"streamed download of /large ({size / MIB:g} MiB) over TLS, HTTP/2 vs HTTP/1.1",
        unit="MiB",
        units=size / MIB,
        contestants=_tls_contestants(options, server, rows, ClientConfig(), work),
        prime=lambda: asyncio.run(prime_async()),
        notes=[
            "rows without a suffix use HTTP/2; a time ratio below 1 is a row faster than "
            "httpduo over HTTP/2",
        ],
        targets=[
            Target(
                "httpduo HTTP/2 download rate >= 0.70x its HTTP/1.1 rate",
                "httpduo http/1.1",
                "httpduo",
                0.70,
            ),
            Target("httpx HTTP/2 download rate / its HTTP/1.1 rate", "httpx http/1.1", "httpx"),
        ],
    )


def _floor_get(floor: AsyncProtocolFloor) -> Callable[[str], Awaitable[bytes]]:
    async def get(url: str) -> bytes:
        status, body = await floor.get(url)
        if status != 200:
            raise BenchError(f"GET {url} answered {status}")
        return body

    return get


def transport_creation(options: Options, server: ServerInfo) -> Plan:
    """Creating a default transport (and closing it), after the first one.

    The first creation in a process builds and caches the SSL context; what users pay
    per client after that is what this measures. No request is sent.
    """
    n = max(options.requests // 4, 50)

    def contestant(name: str, role: str, module_name: str, attr: str) -> Contestant:
        def run(profiler: Optional[cProfile.Profile]) -> Sample:
            module = __import__(module_name)
            factory = getattr(module, attr)
            factory()  # the first one pays for the SSL context
            clock = _Clock(profiler)
            clock.start()
            for _ in range(n):
                factory()
            return clock.stop()

        return Contestant(name, role, f"{module_name}.{attr}()", run)

    rows = [
        contestant("httpduo", "baseline", "httpduo", "HTTPTransport"),
        contestant("httpduo async", "client", "httpduo", "AsyncHTTPTransport"),
        contestant("httpx", "client", "httpx", "HTTPTransport"),
        contestant("httpx async", "client", "httpx", "AsyncHTTPTransport"),
    ]
    rows = [
        row
        for row in rows
        if options.clients is None or row.role == "baseline" or row.name in options.clients
    ]
    return Plan(
        name="transport-creation",
        title=f"{n} default transports created after the first (no requests)",
        unit="transport",
        units=n,
        contestants=rows,
        prime=lambda: None,
    )


# The registry. Order is the order of the report.
SCENARIOS: dict[str, ScenarioFn] = {
    "sync-sequential": sync_sequential,
    "async-concurrent": async_concurrent,
    "sync-download": sync_download,
    "async-download": async_download,
    "sync-gzip-download": sync_gzip_download,
    "async-gzip-download": async_gzip_download,
    "transport-creation": transport_creation,
    "h2-concurrent": h2_concurrent,
    "h2-download": h2_download,
}
