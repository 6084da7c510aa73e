"""Client adapters: one small class per HTTP client library, all with the same operations.

Rules:
- An adapter does what a user of that library would write, idiomatically, and nothing more:
  `get(url)` returns the body of a GET and raises `BenchError` on any status but 200;
  `download(url)` streams a body into nowhere and returns how many bytes it saw.
- Libraries are imported when an adapter is built, never at module import, so a missing
  library skips its rows (the factory raises `Unavailable`) instead of failing the run.
- Async adapters build their sessions in `open()`, inside the running event loop (aiohttp
  needs one), and release everything in `aclose()`.
- Each pool is sized so that every concurrent caller keeps its own connection alive:
  `max_connections` and the keep-alive limit are both `ClientConfig.max_connections`.
- httpduo and httpx share one adapter class per layer (Client, transport), handed the module:
  the code path is identical by construction, so their rows compare like for like.
- Over TLS (`ClientConfig.ca_path`) each client gets a fresh verifying context trusting
  the bench CA, with ALPN set by us (h2 and http/1.1, or http/1.1 alone): httpduo uses a
  context it is handed as it is. `ClientConfig.http_version` is then checked on every
  answer, so a client that silently fell back to HTTP/1.1 cannot pass for HTTP/2.
"""

from __future__ import annotations

import abc
import dataclasses
import importlib
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Callable, Optional

from bench.floors import AsyncProtocolFloor, BenchError, SocketFloor
from bench.server import client_ssl_context

__all__ = [
    "DOWNLOAD_CHUNK",
    "AsyncAdapter",
    "AsyncSpec",
    "BenchError",
    "ClientConfig",
    "SyncAdapter",
    "SyncSpec",
    "Unavailable",
    "async_clients",
    "async_tls_clients",
    "httpduo_layer",
    "sync_clients",
]

# Chunk size for the libraries whose streaming API asks for one (urllib3, requests); the
# others hand over whatever the connection read, which is their idiomatic use.
DOWNLOAD_CHUNK = 64 * 1024


class Unavailable(Exception):
    """The library behind an adapter cannot be used here; the message says why."""


@dataclass(frozen=True)
class ClientConfig:
    """What a scenario asks of every client it builds."""

    max_connections: int = 1
    # TLS: the CA file to trust (None: plain HTTP), and whether to offer HTTP/2 by ALPN.
    ca_path: Optional[str] = None
    http2: bool = False

    @property
    def http_version(self) -> Optional[str]:
        """The version every answer must have ("HTTP/2", "HTTP/1.1"); None: unchecked."""
        if self.ca_path is None:
            return None
        return "HTTP/2" if self.http2 else "HTTP/1.1"


class SyncAdapter(abc.ABC):
    """A blocking client: one request at a time."""

    @abc.abstractmethod
    def get(self, url: str) -> bytes: ...

    @abc.abstractmethod
    def download(self, url: str) -> int: ...

    @abc.abstractmethod
    def close(self) -> None: ...


class AsyncAdapter(abc.ABC):
    """An asyncio client: many concurrent requests from one event loop."""

    async def open(self) -> None:  # noqa: B027 - most adapters need no async setup
        """Build whatever must be built inside the running loop."""

    @abc.abstractmethod
    async def get(self, url: str) -> bytes: ...

    @abc.abstractmethod
    async def download(self, url: str) -> int: ...

    @abc.abstractmethod
    async def aclose(self) -> None: ...


@dataclass(frozen=True)
class SyncSpec:
    """A named way to build a sync adapter. `role` is "baseline", "client" or "floor"."""

    name: str
    role: str
    detail: str
    build: Callable[[ClientConfig], SyncAdapter]


@dataclass(frozen=True)
class AsyncSpec:
    """A named way to build an async adapter. `role` is "baseline", "client" or "floor"."""

    name: str
    role: str
    detail: str
    build: Callable[[ClientConfig], AsyncAdapter]


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise Unavailable(f"{name} is not installed ({exc})") from None


def _check_status(status: int, url: str) -> None:
    if status != 200:
        raise BenchError(f"GET {url} answered {status}, expected 200")


def _limits(module: Any, config: ClientConfig) -> Any:
    n = config.max_connections
    return module.Limits(max_connections=n, max_keepalive_connections=n)


def _httpx_api_options(module: Any, config: ClientConfig) -> dict[str, Any]:
    """Keyword arguments for a Client or a transport of the httpx API."""
    options: dict[str, Any] = {"limits": _limits(module, config)}
    if config.ca_path is not None:
        alpn = ["h2", "http/1.1"] if config.http2 else ["http/1.1"]
        options["verify"] = client_ssl_context(config.ca_path, alpn)
        options["http2"] = config.http2
    return options


def _check_version(response: Any, expected: Optional[str]) -> None:
    if expected is not None and response.http_version != expected:
        raise BenchError(f"answered over {response.http_version}, expected {expected}")


# --- the httpx API, shared by httpduo and httpx -------------------------------------------


class HttpxApiClient(SyncAdapter):
    """`module.Client`: `client.get(url)` and `client.stream("GET", url)`."""

    def __init__(self, module: Any, config: ClientConfig) -> None:
        self._client = module.Client(**_httpx_api_options(module, config))
        self._version = config.http_version

    def get(self, url: str) -> bytes:
        response = self._client.get(url)
        _check_status(response.status_code, url)
        _check_version(response, self._version)
        body: bytes = response.content
        return body

    def download(self, url: str) -> int:
        with self._client.stream("GET", url) as response:
            _check_status(response.status_code, url)
            _check_version(response, self._version)
            chunks: Iterator[bytes] = response.iter_bytes()
            return sum(len(chunk) for chunk in chunks)

    def close(self) -> None:
        self._client.close()


class HttpxApiTransport(SyncAdapter):
    """`module.HTTPTransport`: `handle_request(module.Request("GET", url))`, then read."""

    def __init__(self, module: Any, config: ClientConfig) -> None:
        self._request = module.Request
        self._transport = module.HTTPTransport(**_httpx_api_options(module, config))
        self._version = config.http_version

    def get(self, url: str) -> bytes:
        response = self._transport.handle_request(self._request("GET", url))
        _check_status(response.status_code, url)
        _check_version(response, self._version)
        body: bytes = response.read()
        return body

    def download(self, url: str) -> int:
        response = self._transport.handle_request(self._request("GET", url))
        try:
            _check_status(response.status_code, url)
            _check_version(response, self._version)
            chunks: Iterator[bytes] = response.iter_bytes()
            return sum(len(chunk) for chunk in chunks)
        finally:
            response.close()

    def close(self) -> None:
        self._transport.close()


class AsyncHttpxApiClient(AsyncAdapter):
    """`module.AsyncClient`: `await client.get(url)` and `client.stream("GET", url)`."""

    def __init__(self, module: Any, config: ClientConfig) -> None:
        self._client = module.AsyncClient(**_httpx_api_options(module, config))
        self._version = config.http_version

    async def get(self, url: str) -> bytes:
        response = await self._client.get(url)
        _check_status(response.status_code, url)
        _check_version(response, self._version)
        body: bytes = response.content
        return body

    async def download(self, url: str) -> int:
        total = 0
        async with self._client.stream("GET", url) as response:
            _check_status(response.status_code, url)
            _check_version(response, self._version)
            async for chunk in response.aiter_bytes():
                total += len(chunk)
        return total

    async def aclose(self) -> None:
        await self._client.aclose()


class AsyncHttpxApiTransport(AsyncAdapter):
    """`module.AsyncHTTPTransport`: `await handle_async_request(...)`, then `aread()`."""

    def __init__(self, module: Any, config: ClientConfig) -> None:
        self._request = module.Request
        self._transport = module.AsyncHTTPTransport(**_httpx_api_options(module, config))
        self._version = config.http_version

    async def get(self, url: str) -> bytes:
        response = await self._transport.handle_async_request(self._request("GET", url))
        _check_status(response.status_code, url)
        _check_version(response, self._version)
        body: bytes = await response.aread()
        return body

    async def download(self, url: str) -> int:
        response = await self._transport.handle_async_request(self._request("GET", url))
        total = 0
        try:
            _check_status(response.status_code, url)
            _check_version(response, self._version)
            async for chunk in response.aiter_bytes():
                total += len(chunk)
        finally:
            await response.aclose()
        return total

    async def aclose(self) -> None:
        await self._transport.aclose()


# --- the other libraries -------------------------------------------------------------------


class Urllib3Client(SyncAdapter):
    """`urllib3.PoolManager`: `request("GET", url)`; streaming with `preload_content=False`."""

    def __init__(self, config: ClientConfig) -> None:
        urllib3 = _import("urllib3")
        self._pool = urllib3.PoolManager(maxsize=config.max_connections)

    def get(self, url: str) -> bytes:
        response = self._pool.request("GET", url)
        _check_status(response.status, url)
        body: bytes = response.data
        return body

    def download(self, url: str) -> int:
        response = self._pool.request("GET", url, preload_content=False)
        try:
            _check_status(response.status, url)
            return sum(len(chunk) for chunk in response.stream(DOWNLOAD_CHUNK))
        finally:
            response.release_conn()

    def close(self) -> None:
        self._pool.clear()


class RequestsClient(SyncAdapter):
    """`requests.Session`: `session.get(url)`; streaming with `stream=True`."""

    def __init__(self, config: ClientConfig) -> None:
        # requests ships no type information; it is a bench-only dependency, used as Any.
        requests = _import("requests")
        self._session = requests.Session()
        if config.max_connections > 1:
            adapter = requests.adapters.HTTPAdapter(pool_maxsize=config.max_connections)
            self._session.mount("http://", adapter)

    def get(self, url: str) -> bytes:
        response = self._session.get(url)
        _check_status(response.status_code, url)
        body: bytes = response.content
        return body

    def download(self, url: str) -> int:
        with self._session.get(url, stream=True) as response:
            _check_status(response.status_code, url)
            chunks: Iterator[bytes] = response.iter_content(DOWNLOAD_CHUNK)
            return sum(len(chunk) for chunk in chunks)

    def close(self) -> None:
        self._session.close()


class AiohttpClient(AsyncAdapter):
    """`aiohttp.ClientSession` over `TCPConnector(limit=...)`."""

    def __init__(self, config: ClientConfig) -> None:
        self._aiohttp: Any = _import("aiohttp")
        self._limit = config.max_connections
        self._session: Any = None

    async def open(self) -> None:
        connector = self._aiohttp.TCPConnector(limit=self._limit)
        self._session = self._aiohttp.ClientSession(connector=connector)

    async def get(self, url: str) -> bytes:
        async with self._session.get(url) as response:
            _check_status(response.status, url)
            body: bytes = await response.read()
            return body

    async def download(self, url: str) -> int:
        total = 0
        async with self._session.get(url) as response:
            _check_status(response.status, url)
            async for chunk in response.content.iter_any():
                total += len(chunk)
        return total

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


# --- the registries ------------------------------------------------------------------------


def _httpduo() -> Any:
    return _import("httpduo")


def httpduo_layer() -> str:
    """Which httpduo layer the "httpduo" rows measure: "Client" once it exists."""
    try:
        module = _httpduo()
    except Unavailable:
        return "missing"
    return "Client" if getattr(module, "Client", None) is not None else "transport"


def sync_clients() -> dict[str, SyncSpec]:
    """Every sync adapter by row name; "httpduo" is the baseline the ratios divide by.

    "httpduo" measures `httpduo.Client` when it exists and the transport until then; once
    the Client exists the transport gets a row of its own, to show what the Client adds.
    """
    specs: list[SyncSpec] = []
    if httpduo_layer() == "Client":
        specs += [
            SyncSpec("httpduo", "baseline", "httpduo.Client", _client_of(_httpduo)),
            SyncSpec(
                "httpduo.HTTPTransport",
                "client",
                "the transport alone",
                _transport_of(_httpduo),
            ),
        ]
    else:
        specs.append(
            SyncSpec(
                "httpduo",
                "baseline",
                "httpduo.HTTPTransport (no Client yet)",
                _transport_of(_httpduo),
            )
        )
    specs += [
        SyncSpec("httpx", "client", "httpx.Client", _client_of(lambda: _import("httpx"))),
        SyncSpec(
            "httpx.HTTPTransport",
            "client",
            "the transport alone",
            _transport_of(lambda: _import("httpx")),
        ),
        SyncSpec("urllib3", "client", "urllib3.PoolManager", Urllib3Client),
        SyncSpec("requests", "client", "requests.Session", RequestsClient),
        SyncSpec("floor:socket", "floor", "raw socket, minimal HTTP/1.1", _socket_floor),
    ]
    return {spec.name: spec for spec in specs}


def async_clients() -> dict[str, AsyncSpec]:
    """Every async adapter by row name; "httpduo" is the baseline (see `sync_clients`)."""
    specs: list[AsyncSpec] = []
    if httpduo_layer() == "Client":
        specs += [
            AsyncSpec("httpduo", "baseline", "httpduo.AsyncClient", _async_client_of(_httpduo)),
            AsyncSpec(
                "httpduo.AsyncHTTPTransport",
                "client",
                "the transport alone",
                _async_transport_of(_httpduo),
            ),
        ]
    else:
        specs.append(
            AsyncSpec(
                "httpduo",
                "baseline",
                "httpduo.AsyncHTTPTransport (no AsyncClient yet)",
                _async_transport_of(_httpduo),
            )
        )
    specs += [
        AsyncSpec(
            "httpx",
            "client",
            "httpx.AsyncClient",
            _async_client_of(lambda: _import("httpx")),
        ),
        AsyncSpec(
            "httpx.AsyncHTTPTransport",
            "client",
            "the transport alone",
            _async_transport_of(lambda: _import("httpx")),
        ),
        AsyncSpec("aiohttp", "client", "aiohttp.ClientSession", AiohttpClient),
        AsyncSpec(
            "floor:asyncio",
            "floor",
            "asyncio BufferedProtocol, minimal HTTP/1.1",
            _asyncio_floor,
        ),
    ]
    return {spec.name: spec for spec in specs}


def async_tls_clients() -> dict[str, AsyncSpec]:
    """The TLS rows (ClientConfig.ca_path must be set): each client over HTTP/2 (the row
    named after it; "httpduo" is the baseline) and over HTTP/1.1 ("<name> http/1.1")."""

    def httpx() -> Any:
        return _import("httpx")

    specs = [
        AsyncSpec(
            "httpduo",
            "baseline",
            "httpduo.AsyncClient(http2=True), HTTP/2 over TLS",
            _async_client_of(_httpduo, http2=True),
        ),
        AsyncSpec(
            "httpx",
            "client",
            "httpx.AsyncClient(http2=True), HTTP/2 over TLS",
            _async_client_of(httpx, http2=True),
        ),
        AsyncSpec(
            "httpduo http/1.1",
            "client",
            "httpduo.AsyncClient(), HTTP/1.1 over TLS",
            _async_client_of(_httpduo, http2=False),
        ),
        AsyncSpec(
            "httpx http/1.1",
            "client",
            "httpx.AsyncClient(), HTTP/1.1 over TLS",
            _async_client_of(httpx, http2=False),
        ),
    ]
    return {spec.name: spec for spec in specs}


def _client_of(load: Callable[[], Any]) -> Callable[[ClientConfig], SyncAdapter]:
    def build(config: ClientConfig) -> SyncAdapter:
        return HttpxApiClient(load(), config)

    return build


def _transport_of(load: Callable[[], Any]) -> Callable[[ClientConfig], SyncAdapter]:
    def build(config: ClientConfig) -> SyncAdapter:
        return HttpxApiTransport(load(), config)

    return build


def _async_client_of(
    load: Callable[[], Any], *, http2: Optional[bool] = None
) -> Callable[[ClientConfig], AsyncAdapter]:
    """`http2`, if given, overrides the scenario's `ClientConfig.http2` for this row."""

    def build(config: ClientConfig) -> AsyncAdapter:
        if http2 is not None:
            config = dataclasses.replace(config, http2=http2)
        return AsyncHttpxApiClient(load(), config)

    return build


def _async_transport_of(load: Callable[[], Any]) -> Callable[[ClientConfig], AsyncAdapter]:
    def build(config: ClientConfig) -> AsyncAdapter:
        return AsyncHttpxApiTransport(load(), config)

    return build


class _SocketFloorAdapter(SyncAdapter):
    def __init__(self) -> None:
        self._floor = SocketFloor()

    def get(self, url: str) -> bytes:
        status, body = self._floor.get(url)
        _check_status(status, url)
        return body

    def download(self, url: str) -> int:
        status, size = self._floor.download(url)
        _check_status(status, url)
        return size

    def close(self) -> None:
        self._floor.close()


class _AsyncioFloorAdapter(AsyncAdapter):
    def __init__(self) -> None:
        self._floor: Optional[AsyncProtocolFloor] = None

    async def open(self) -> None:
        self._floor = AsyncProtocolFloor()

    async def get(self, url: str) -> bytes:
        assert self._floor is not None
        status, body = await self._floor.get(url)
        _check_status(status, url)
        return body

    async def download(self, url: str) -> int:
        assert self._floor is not None
        status, size = await self._floor.download(url)
        _check_status(status, url)
        return size

    async def aclose(self) -> None:
        if self._floor is not None:
            self._floor.close()


def _socket_floor(config: ClientConfig) -> SyncAdapter:
    return _SocketFloorAdapter()


def _asyncio_floor(config: ClientConfig) -> AsyncAdapter:
    return _AsyncioFloorAdapter()
