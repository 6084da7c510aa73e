"""`BaseClient`: what `Client` and `AsyncClient` share — settings, defaults, merging.

Everything here is I/O-free, so it is written once for both clients rather than
generated twice. Rules:

- Settings validate on assignment (`client.timeout = 5` stores a `Timeout`).
- Default request headers: `Accept: */*`, `Accept-Encoding` listing only the decoders
  installed here, `Connection: keep-alive`, `User-Agent: python-httpduo/<version>`.
- `base_url` always ends with "/", and a relative request URL is appended to it with
  its leading "/" removed: `base_url="https://api/v1"` + `"/users"` → `https://api/v1/users`.
- httpx's private names that packages built on it use are kept, with httpx's meaning:
  `_base_url`, `_auth`, `_state` (a `ClientState`), `_merge_url(url)` (Starlette's
  TestClient calls it; `build_request` goes through it too).
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Mapping
from typing import Any, Callable, Final, Optional, Union

from .._version import __version__
from ._auth import Auth, auth_from_url, build_auth
from ._config import USE_CLIENT_DEFAULT, Timeout, UseClientDefault
from ._cookies import Cookies
from ._decoders import SUPPORTED_DECODERS
from ._headers import Headers
from ._requests import Request
from ._types import (
    AuthTypes,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    TimeoutTypes,
)
from ._urls import URL, QueryParams

__all__ = [
    "ACCEPT_ENCODING",
    "BaseClient",
    "ClientState",
    "HTTPDUO_USER_AGENT",
    "USER_AGENT",
    "default_headers",
    "enforce_trailing_slash",
    "merge_url",
]

HTTPDUO_USER_AGENT: Final = f"python-httpduo/{__version__}"
# The default User-Agent of new clients. Not Final: while `install_as_httpx()` serves
# httpx, clients introduce themselves as the httpx version served (`_compat/_install.py`).
USER_AGENT = HTTPDUO_USER_AGENT
ACCEPT_ENCODING: Final = ", ".join(name for name in SUPPORTED_DECODERS if name != "identity")


def default_headers() -> Headers:
    return Headers(
        [
            ("Accept", "*/*"),
            ("Accept-Encoding", ACCEPT_ENCODING),
            ("Connection", "keep-alive"),
            ("User-Agent", USER_AGENT),
        ]
    )


def enforce_trailing_slash(url: URL) -> URL:
    if url.raw_path.endswith(b"/"):
        return url
    return url.copy_with(raw_path=url.raw_path + b"/")


def merge_url(base_url: URL, url: URL) -> URL:
    """Resolve a request URL against the client's `base_url` (which ends with "/")."""
    if url.is_relative_url and base_url.raw_host:
        return base_url.copy_with(raw_path=base_url.raw_path + url.raw_path.lstrip(b"/"))
    return url


EventHook = Callable[..., Any]


class ClientState(enum.Enum):
    """A client's lifetime, as httpx names it (`httpx._client.ClientState`)."""

    UNOPENED = 1  # neither used nor entered yet
    OPENED = 2  # used to send a request, or entered as a context manager
    CLOSED = 3  # closed or exited: it sends no more requests


# The members as module constants: looking a member up on an Enum class is slow (it goes
# through the metaclass), and `send` checks the state on every request.
UNOPENED, OPENED, CLOSED = ClientState.UNOPENED, ClientState.OPENED, ClientState.CLOSED


class BaseClient:
    """Settings and request building shared by `Client` and `AsyncClient`."""

    def __init__(
        self,
        *,
        auth: Optional[AuthTypes],
        params: Optional[QueryParamTypes],
        headers: Optional[HeaderTypes],
        cookies: Optional[CookieTypes],
        timeout: TimeoutTypes,
        follow_redirects: bool,
        max_redirects: int,
        event_hooks: Optional[Mapping[str, list[EventHook]]],
        base_url: Union[URL, str],
        trust_env: bool,
        default_encoding: Union[str, Callable[[bytes], Optional[str]]],
    ) -> None:
        self._base_url = enforce_trailing_slash(URL(base_url))
        self._auth = build_auth(auth)
        self._params = QueryParams(params)
        self.headers = headers  # the setter merges in the default headers
        self._cookies = Cookies(cookies)
        self._timeout = Timeout(timeout)
        self.follow_redirects = follow_redirects
        self.max_redirects = max_redirects
        self.event_hooks = event_hooks  # the setter validates and copies
        self._trust_env = trust_env
        self._default_encoding = default_encoding
        self._state = UNOPENED

    # ---- configuration ---------------------------------------------------------------

    @property
    def is_closed(self) -> bool:
        """Whether the client has been closed."""
        return self._state is CLOSED

    @property
    def trust_env(self) -> bool:
        return self._trust_env

    @property
    def timeout(self) -> Timeout:
        return self._timeout

    @timeout.setter
    def timeout(self, timeout: TimeoutTypes) -> None:
        self._timeout = Timeout(timeout)

    @property
    def event_hooks(self) -> dict[str, list[EventHook]]:
        return self._event_hooks

    @event_hooks.setter
    def event_hooks(self, event_hooks: Optional[Mapping[str, list[EventHook]]]) -> None:
        hooks = dict(event_hooks or {})
        unknown = set(hooks) - {"request", "response"}
        if unknown:
            raise ValueError(
                f"Unknown event hook names {sorted(unknown)}: use 'request' and 'response'."
            )
        self._event_hooks = {
            "request": list(hooks.get("request", [])),
            "response": list(hooks.get("response", [])),
        }

    @property
    def auth(self) -> Optional[Auth]:
        return self._auth

    @auth.setter
    def auth(self, auth: Optional[AuthTypes]) -> None:
        self._auth = build_auth(auth)

    @property
    def base_url(self) -> URL:
        return self._base_url

    @base_url.setter
    def base_url(self, url: Union[URL, str]) -> None:
        self._base_url = enforce_trailing_slash(URL(url))

    @property
    def headers(self) -> Headers:
        return self._headers

    @headers.setter
    def headers(self, headers: Optional[HeaderTypes]) -> None:
        merged = default_headers()
        merged.update(headers)
        self._headers = merged

    @property
    def cookies(self) -> Cookies:
        return self._cookies

    @cookies.setter
    def cookies(self, cookies: Optional[CookieTypes]) -> None:
        self._cookies = Cookies(cookies)

    @property
    def params(self) -> QueryParams:
        return self._params

    @params.setter
    def params(self, params: Optional[QueryParamTypes]) -> None:
        self._params = QueryParams(params)

    # ---- building requests -----------------------------------------------------------

    def build_request(
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
        timeout: Union[TimeoutTypes, UseClientDefault] = USE_CLIENT_DEFAULT,
        extensions: Optional[RequestExtensions] = None,
    ) -> Request:
        """Build a request with the client's defaults merged in, without sending it."""
        merged_url = self._merge_url(url)
        # Request copies the headers it is given: a copy here is needed only to merge.
        merged_headers = self._headers
        if headers is not None:
            merged_headers = merged_headers.copy()
            merged_headers.update(headers)
        if cookies is not None:
            warnings.warn(
                "Setting per-request cookies=<...> is deprecated: set them on the client "
                "instead (client.cookies or Client(cookies=...)).",
                DeprecationWarning,
                stacklevel=2,
            )
        merged_cookies = self._merge_cookies(cookies)
        merged_params = self._params.merge(params) if (params or self._params) else None
        request_extensions = dict(extensions) if extensions else {}
        if "timeout" not in request_extensions:
            chosen = self._timeout if isinstance(timeout, UseClientDefault) else Timeout(timeout)
            request_extensions["timeout"] = chosen.as_dict()
        return Request(
            method,
            merged_url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=merged_params,
            headers=merged_headers,
            cookies=merged_cookies,
            extensions=request_extensions,
        )

    def _merge_url(self, url: Union[URL, str]) -> URL:
        """`url` resolved against `base_url` (httpx's name; Starlette's TestClient calls it)."""
        return merge_url(self._base_url, url if isinstance(url, URL) else URL(url))

    def _merge_cookies(self, cookies: Optional[CookieTypes]) -> Optional[Cookies]:
        if cookies is None:
            return self._cookies if self._cookies else None
        merged = Cookies(self._cookies)
        merged.update(cookies)
        return merged

    def _request_auth(
        self, request: Request, auth: Union[AuthTypes, UseClientDefault, None]
    ) -> Auth:
        chosen = self._auth if isinstance(auth, UseClientDefault) else build_auth(auth)
        if chosen is not None:
            return chosen
        from_url = auth_from_url(request.url)
        return from_url if from_url is not None else Auth()
