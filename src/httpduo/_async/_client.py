"""`AsyncClient`: the user-facing client, written once (its sync twin is `Client`).

Rules:
- Request building (merging base_url, params, headers, cookies; per-request timeout) is
  pure and happens in `build_request`; `send` then runs the auth flow, which runs the
  redirect loop, which sends single requests through the transport mounted for the URL.
- Every response, redirect hops and auth retries included, passes through the event
  hooks and has its cookies stored; exceptions from hooks and transports written by
  users propagate unwrapped.
- A client is opened once and closed once; a closed client refuses requests.
- A response handed to the user owns its connection until it is read or closed; on any
  error while handling it, the client closes it before re-raising.
- httpx's private call chain is kept, names, arguments and order, because packages built
  on httpx override or patch its links: `__init__` builds transports through
  `_init_transport` and `_init_proxy_transport` (hishel, the OpenAI SDK override them);
  `send` → `_send_handling_auth` → `_send_handling_redirects` → `_send_single_request` →
  `_transport_for_url(url)`, the last two for every request sent (respx patches
  `_transport_for_url`, vcrpy `_send_single_request`). `_mounts` is httpx's
  `{URLPattern: transport or None}`, most specific pattern first.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from functools import partial
from types import TracebackType
from typing import Any, Callable, Optional, TypeVar, Union

from .._backends.clock import perf_counter
from .._models._auth import Auth
from .._models._client_config import CLOSED, OPENED, UNOPENED, BaseClient, EventHook
from .._models._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT_CONFIG,
    USE_CLIENT_DEFAULT,
    Limits,
    Proxy,
    UseClientDefault,
)
from .._models._exceptions import RequestError, TooManyRedirects, attach_request
from .._models._proxy_env import mount_pattern
from .._models._proxy_routes import ProxiesTypes, proxy_routes
from .._models._redirects import build_redirect_request
from .._models._requests import Request
from .._models._responses import Response
from .._models._streams import AsyncByteStream
from .._models._types import (
    AuthTypes,
    CertTypes,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    TimeoutTypes,
)
from .._models._urlpatterns import URLPattern
from .._models._urls import URL
from ._base_transport import AsyncBaseTransport
from ._transport import AsyncHTTPTransport

__all__ = ["AsyncClient"]

logger = logging.getLogger("httpduo")

T = TypeVar("T", bound="AsyncClient")


def _record_elapsed(start: float, response: Response) -> None:
    """The close hook of every response a client sends: `elapsed` runs until then."""
    response._set_elapsed_seconds(perf_counter() - start)


class AsyncClient(BaseClient):
    """An HTTP client with connection pooling, redirects, auth, cookies and event hooks.

    Use it as a context manager (or close it) so pooled connections are released; its
    settings (`base_url`, `params`, `headers`, `cookies`, `auth`, `timeout`) are merged
    into every request it sends.

    Proxies: `proxy=` sends every request through one proxy; `mounts=` routes URL
    patterns to transports, e.g. `{"https://": httpduo.AsyncHTTPTransport(proxy=...)}`.
    Without either, and with `trust_env=True`, the proxy environment variables apply
    (the routes of `httpduo.get_environment_proxies()`) -- but only when the client
    builds its own transport: passing `transport=` leaves routing to you, so the
    environment's proxies are not used unless you mount them yourself. Mounts you pass
    replace environment routes with the same pattern. `proxies=` (httpx < 0.28) still
    works, with a `DeprecationWarning` saying what to write instead.
    """

    def __init__(
        self,
        *,
        auth: Optional[AuthTypes] = None,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        verify: Any = True,
        cert: Optional[CertTypes] = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        proxy: Union[URL, str, Proxy, None] = None,
        proxies: Optional[ProxiesTypes] = None,
        mounts: Optional[Mapping[str, Optional[AsyncBaseTransport]]] = None,
        timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
        follow_redirects: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        event_hooks: Optional[Mapping[str, list[EventHook]]] = None,
        base_url: Union[URL, str] = "",
        transport: Optional[AsyncBaseTransport] = None,
        default_encoding: Union[str, Callable[[bytes], Optional[str]]] = "utf-8",
    ) -> None:
        super().__init__(
            auth=auth,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            follow_redirects=follow_redirects,
            max_redirects=max_redirects,
            event_hooks=event_hooks,
            base_url=base_url,
            trust_env=trust_env,
            default_encoding=default_encoding,
        )
        proxy_map = proxy_routes(
            proxy,
            proxies,
            use_environment=trust_env and transport is None,
            transport_name=AsyncHTTPTransport.__name__,
        )
        self._transport = self._init_transport(
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            transport=transport,
        )
        # As httpx: proxies are mounted (the base transport stays direct, for mounts set
        # to None and NO_PROXY routes), and mounts given here override equal patterns.
        routes: dict[URLPattern, Optional[AsyncBaseTransport]] = {
            mount_pattern(key): None
            if value is None
            else self._init_proxy_transport(
                value,
                verify=verify,
                cert=cert,
                trust_env=trust_env,
                http1=http1,
                http2=http2,
                limits=limits,
            )
            for key, value in proxy_map.items()
        }
        if mounts is not None:
            routes.update((mount_pattern(key), value) for key, value in mounts.items())
        # Sorted once, most specific first, so lookup stops at the first match.
        self._mounts: dict[URLPattern, Optional[AsyncBaseTransport]] = dict(
            sorted(routes.items(), key=lambda item: item[0].priority)
        )

    def _init_transport(
        self,
        verify: Any = True,
        cert: Optional[CertTypes] = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
        transport: Optional[AsyncBaseTransport] = None,
    ) -> AsyncBaseTransport:
        """The transport for URLs no mount claims: `transport`, else a new
        `AsyncHTTPTransport` (httpx's hook, overridden by hishel and the OpenAI SDK)."""
        if transport is not None:
            return transport
        return AsyncHTTPTransport(
            verify=verify, cert=cert, trust_env=trust_env, http1=http1, http2=http2, limits=limits
        )

    def _init_proxy_transport(
        self,
        proxy: Proxy,
        verify: Any = True,
        cert: Optional[CertTypes] = None,
        trust_env: bool = True,
        http1: bool = True,
        http2: bool = False,
        limits: Limits = DEFAULT_LIMITS,
    ) -> AsyncBaseTransport:
        """The transport mounted for a proxy (`proxy=` or the environment's), httpx's
        hook for subclasses."""
        return AsyncHTTPTransport(
            verify=verify,
            cert=cert,
            trust_env=trust_env,
            http1=http1,
            http2=http2,
            limits=limits,
            proxy=proxy,
        )

    def _transport_for_url(self, url: URL) -> AsyncBaseTransport:
        """The transport mounted for `url`, else the client's own (called per request)."""
        if self._mounts:
            for pattern, transport in self._mounts.items():
                if pattern.matches(url):
                    return self._transport if transport is None else transport
        return self._transport

    # ---- sending ---------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: Union[URL, str],
        *,
        content: Optional[RequestContent] = None,
        data: Optional[RequestData] = None,
        files: Optional[RequestFiles] = None,
        json: Optional[Any] = None,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Build and send a request; the response body is read before returning."""
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        return await self.send(request, auth=auth, follow_redirects=follow_redirects)

    @asynccontextmanager
    async def stream(
        self,
        method: str,
        url: Union[URL, str],
        *,
        content: Optional[RequestContent] = None,
        data: Optional[RequestData] = None,
        files: Optional[RequestFiles] = None,
        json: Optional[Any] = None,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> AsyncIterator[Response]:
        """Send a request and yield the response unread; it is closed on exit."""
        request = self.build_request(
            method,
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            timeout=timeout,
            extensions=extensions,
        )
        response = await self.send(
            request, auth=auth, follow_redirects=follow_redirects, stream=True
        )
        try:
            yield response
        finally:
            await response.aclose()

    async def send(
        self,
        request: Request,
        *,
        stream: bool = False,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
    ) -> Response:
        """Send a built request, following the auth flow and (if asked) redirects."""
        if self._state is CLOSED:
            raise RuntimeError("Cannot send a request, as the client has been closed.")
        self._state = OPENED
        follow = (
            self.follow_redirects
            if isinstance(follow_redirects, UseClientDefault)
            else follow_redirects
        )
        if "timeout" not in request.extensions:
            request.extensions = dict(request.extensions, timeout=self._timeout.as_dict())
        response = await self._send_handling_auth(
            request,
            auth=self._request_auth(request, auth),
            follow_redirects=follow,
            history=[],
        )
        try:
            if not stream:
                await response.aread()
            return response
        except BaseException:
            await response.aclose()
            raise

    async def _send_handling_auth(
        self, request: Request, auth: Auth, follow_redirects: bool, history: list[Response]
    ) -> Response:
        if type(auth) is Auth:
            # The no-op flow (no auth at all): no generator to drive.
            return await self._send_handling_redirects(
                request, follow_redirects=follow_redirects, history=history
            )
        auth_flow = auth.async_auth_flow(request)
        try:
            request = await auth_flow.__anext__()
            while True:
                response = await self._send_handling_redirects(
                    request, follow_redirects=follow_redirects, history=history
                )
                try:
                    try:
                        next_request = await auth_flow.asend(response)
                    except StopAsyncIteration:
                        return response
                    response.history = list(history)
                    await response.aread()
                except BaseException:
                    await response.aclose()
                    raise
                request = next_request
                history.append(response)
        finally:
            await auth_flow.aclose()

    async def _send_handling_redirects(
        self, request: Request, follow_redirects: bool, history: list[Response]
    ) -> Response:
        while True:
            if len(history) > self.max_redirects:
                raise TooManyRedirects(
                    f"Exceeded the maximum of {self.max_redirects} redirects.", request=request
                )
            for hook in self._event_hooks["request"]:
                await hook(request)
            response = await self._send_single_request(request)
            try:
                for hook in self._event_hooks["response"]:
                    await hook(response)
                if history or response.history:
                    response.history = list(history)
                if not response.has_redirect_location:
                    return response
                request = build_redirect_request(request, response)
                history = [*history, response]
                if not follow_redirects:
                    response.next_request = request
                    return response
                await response.aread()
            except BaseException:
                await response.aclose()
                raise
            if self._cookies:
                self._cookies.set_cookie_header(request)

    async def _send_single_request(self, request: Request) -> Response:
        transport = self._transport_for_url(request.url)
        if not isinstance(request.stream, AsyncByteStream):
            raise RuntimeError(
                f"Attempted to send a request whose body is not an "
                f"{AsyncByteStream.__name__} with an {type(self).__name__} instance."
            )
        start = perf_counter()
        try:
            response = await transport.handle_async_request(request)
        except RequestError as exc:
            attach_request(exc, request)  # custom transports may raise without it
            raise
        stream = response.stream
        if not isinstance(stream, AsyncByteStream):
            raise TypeError(
                f"{type(transport).__name__} returned a response whose stream is not an "
                f"{AsyncByteStream.__name__}."
            )
        response.request = request
        response._on_close(partial(_record_elapsed, start))
        self._cookies.extract_cookies(response)
        response.default_encoding = self._default_encoding
        if logger.isEnabledFor(logging.INFO):
            logger.info(
                'HTTP Request: %s %s "%s %d %s"',
                request.method,
                request.url,
                response.http_version,
                response.status_code,
                response.reason_phrase,
            )
        return response

    # ---- the verbs ---------------------------------------------------------------------

    async def get(
        self,
        url: Union[URL, str],
        *,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a GET request."""
        return await self.request(
            "GET",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def options(
        self,
        url: Union[URL, str],
        *,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a OPTIONS request."""
        return await self.request(
            "OPTIONS",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def head(
        self,
        url: Union[URL, str],
        *,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a HEAD request."""
        return await self.request(
            "HEAD",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def post(
        self,
        url: Union[URL, str],
        *,
        content: Optional[RequestContent] = None,
        data: Optional[RequestData] = None,
        files: Optional[RequestFiles] = None,
        json: Optional[Any] = None,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a POST request."""
        return await self.request(
            "POST",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def put(
        self,
        url: Union[URL, str],
        *,
        content: Optional[RequestContent] = None,
        data: Optional[RequestData] = None,
        files: Optional[RequestFiles] = None,
        json: Optional[Any] = None,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a PUT request."""
        return await self.request(
            "PUT",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def patch(
        self,
        url: Union[URL, str],
        *,
        content: Optional[RequestContent] = None,
        data: Optional[RequestData] = None,
        files: Optional[RequestFiles] = None,
        json: Optional[Any] = None,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a PATCH request."""
        return await self.request(
            "PATCH",
            url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    async def delete(
        self,
        url: Union[URL, str],
        *,
        params: Optional[QueryParamTypes] = None,
        headers: Optional[HeaderTypes] = None,
        cookies: Optional[CookieTypes] = None,
        auth: Union[AuthTypes, UseClientDefault, None] = USE_CLIENT_DEFAULT,
        follow_redirects: Union[bool, UseClientDefault] = USE_CLIENT_DEFAULT,
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Response:
        """Send a DELETE request."""
        return await self.request(
            "DELETE",
            url,
            params=params,
            headers=headers,
            cookies=cookies,
            auth=auth,
            follow_redirects=follow_redirects,
            timeout=timeout,
            extensions=extensions,
        )

    # ---- lifetime ----------------------------------------------------------------------

    def _transports(self) -> list[AsyncBaseTransport]:
        mounted = [transport for transport in self._mounts.values() if transport is not None]
        return [self._transport, *mounted]

    async def aclose(self) -> None:
        """Close the transports and every pooled connection."""
        if self._state is not CLOSED:
            self._state = CLOSED
            for transport in self._transports():
                await transport.aclose()

    async def __aenter__(self: T) -> T:
        if self._state is not UNOPENED:
            if self._state is OPENED:
                raise RuntimeError("Cannot open a client instance more than once.")
            raise RuntimeError("Cannot reopen a client instance, once it has been closed.")
        self._state = OPENED
        for transport in self._transports():
            await transport.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: Optional[type[BaseException]] = None,
        exc_value: Optional[BaseException] = None,
        traceback: Optional[TracebackType] = None,
    ) -> None:
        self._state = CLOSED
        # Reverse order: transports holding task groups must exit as they were entered.
        for transport in reversed(self._transports()):
            await transport.__aexit__(exc_type, exc_value, traceback)
