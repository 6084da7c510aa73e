"""`Cookies`: a dict-like view over an `http.cookiejar.CookieJar` (httpx 0.28 API).

Rules of this module:
- All cookie policy (domain, path, secure, expiry, port) is the jar's: `CookieJar` and its
  `CookiePolicy` decide, this module only adapts our Request/Response to the slice of
  `urllib.request.Request` / `http.client.HTTPResponse` the jar reads.
- Both per-request hooks return at once when there is nothing to do: `extract_cookies`
  when the response carries no Set-Cookie header, `set_cookie_header` when the jar is
  empty. No adapter is built on those paths.
- Requests and responses are typed structurally (anything with `.url`/`.headers`, and
  `.headers`/`.request`), so this module needs neither `_requests` nor `_responses`.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from http.cookiejar import Cookie, CookieJar
from operator import itemgetter
from typing import Any, Dict, Optional, Protocol, Tuple
from urllib.parse import urlsplit

from ._exceptions import CookieConflict
from ._headers import Headers
from ._types import CookieTypes

__all__ = ["Cookies"]

_SET_COOKIE_NAMES = frozenset((b"set-cookie", b"set-cookie2"))
_LOWER_NAME = itemgetter(1)  # of a `Headers._list` entry


class _RequestLike(Protocol):
    @property
    def url(self) -> Any: ...

    @property
    def headers(self) -> Headers: ...


class _ResponseLike(Protocol):
    @property
    def headers(self) -> Headers: ...

    @property
    def request(self) -> Any: ...


def _url_parts(url: Any) -> Tuple[str, str, str]:
    """(full URL without userinfo, scheme, host[:port]) for the cookie jar."""
    scheme = getattr(url, "scheme", None)
    netloc = getattr(url, "netloc", None)
    raw_path = getattr(url, "raw_path", None)
    if isinstance(scheme, str) and isinstance(netloc, bytes) and isinstance(raw_path, bytes):
        # httpduo.URL: netloc already excludes userinfo and is IDNA-encoded ASCII.
        host = netloc.decode("ascii")
        return f"{scheme}://{host}{raw_path.decode('latin-1')}", scheme, host
    text = str(url)
    parts = urlsplit(text)
    host = parts.netloc.rpartition("@")[2]
    if host != parts.netloc:
        # Credentials in the URL must not become part of the cookie request-host.
        text = parts._replace(netloc=host).geturl()
    return text, parts.scheme, host


class _CookieJarRequest:
    """The slice of `urllib.request.Request` that `CookieJar` uses, over our Request."""

    __slots__ = ("_headers", "_url", "host", "type")

    # A request made by the user is never an "unverifiable" third-party transaction.
    unverifiable = False

    def __init__(self, request: _RequestLike) -> None:
        self._headers = request.headers
        self._url, self.type, self.host = _url_parts(request.url)

    def get_full_url(self) -> str:
        return self._url

    @property
    def origin_req_host(self) -> str:
        # The request-host of RFC 2965: host without port, lower-cased.
        head, sep, port = self.host.rpartition(":")
        host = head if sep and port.isdigit() else self.host
        return host.lower()

    def has_header(self, name: str) -> bool:
        return name in self._headers

    def get_header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        value: Optional[str] = self._headers.get(name, default)
        return value

    def add_unredirected_header(self, name: str, value: str) -> None:
        # The jar writes the Cookie header straight onto the real request.
        self._headers[name] = value


class _CookieJarResponse:
    """The slice of an urllib response (`.info().get_all()`) that `CookieJar` reads."""

    __slots__ = ("_headers",)

    def __init__(self, headers: Headers) -> None:
        self._headers = headers

    def info(self) -> _CookieJarResponse:
        return self

    def get_all(self, name: str, default: Any = None) -> Any:
        values = self._headers.get_list(name)
        return values if values else default


def _has_set_cookie(headers: Headers) -> bool:
    if isinstance(headers, Headers):
        return not _SET_COOKIE_NAMES.isdisjoint(map(_LOWER_NAME, headers._list))
    return "set-cookie" in headers or "set-cookie2" in headers


def _jar_is_empty(jar: CookieJar) -> bool:
    # `_cookies` is the jar's domain -> path -> name store; an empty top-level dict means
    # no cookies at all. (A non-empty one may still hold only empty branches: that case
    # simply takes the normal path.)
    store = getattr(jar, "_cookies", None)
    if isinstance(store, dict):
        return not store
    return next(iter(jar), None) is None


class Cookies(MutableMapping[str, str]):
    """HTTP cookies with a dict-like interface, stored in an `http.cookiejar.CookieJar`."""

    __slots__ = ("jar",)

    jar: CookieJar

    def __init__(self, cookies: Optional[CookieTypes] = None) -> None:
        if isinstance(cookies, CookieJar):
            self.jar = cookies  # shared on purpose, as httpx does
            return
        self.jar = CookieJar()
        if cookies is None:
            return
        if isinstance(cookies, Cookies):
            for cookie in cookies.jar:
                self.jar.set_cookie(cookie)
        elif isinstance(cookies, dict):
            for name, value in cookies.items():
                self.set(name, value)
        elif isinstance(cookies, (list, tuple)):
            for pair in cookies:
                try:
                    name, value = pair
                except (TypeError, ValueError):
                    raise TypeError(
                        f"Cookie items must be (name, value) pairs, got {pair!r}"
                    ) from None
                self.set(name, value)
        else:
            raise TypeError(
                "Cookies must be a dict, a list of (name, value) pairs, a CookieJar or "
                f"Cookies, not {type(cookies).__name__}"
            )

    # -- the per-request hooks ---------------------------------------------------------

    def extract_cookies(self, response: _ResponseLike) -> None:
        """Store the cookies a response sets, as the jar's policy allows for its request."""
        headers = response.headers
        if not _has_set_cookie(headers):
            return
        self.jar.extract_cookies(
            _CookieJarResponse(headers),  # type: ignore[arg-type]
            _CookieJarRequest(response.request),  # type: ignore[arg-type]
        )

    def set_cookie_header(self, request: _RequestLike) -> None:
        """Set the Cookie header on `request` from the matching cookies in the jar.

        A Cookie header already present on the request is left untouched.
        """
        if _jar_is_empty(self.jar):
            return
        self.jar.add_cookie_header(_CookieJarRequest(request))  # type: ignore[arg-type]

    # -- dict-like API -----------------------------------------------------------------

    def set(self, name: str, value: str, domain: str = "", path: str = "/") -> None:
        """Set a cookie (for `domain` and `path` if given)."""
        cookie = Cookie(
            version=0,
            name=name,
            value=value,
            port=None,
            port_specified=False,
            domain=domain,
            domain_specified=bool(domain),
            domain_initial_dot=domain.startswith("."),
            path=path,
            path_specified=bool(path),
            secure=False,
            expires=None,
            discard=True,
            comment=None,
            comment_url=None,
            rest={"HttpOnly": None},  # type: ignore[dict-item]
            rfc2109=False,
        )
        self.jar.set_cookie(cookie)

    def get(  # type: ignore[override]
        self,
        name: str,
        default: Optional[str] = None,
        domain: Optional[str] = None,
        path: Optional[str] = None,
    ) -> Optional[str]:
        """The value of cookie `name`, or `default`.

        Raises `CookieConflict` when several cookies match; narrow it with `domain`/`path`.
        """
        value: Optional[str] = None
        found = False
        for cookie in self.jar:
            if cookie.name != name:
                continue
            if domain is not None and cookie.domain != domain:
                continue
            if path is not None and cookie.path != path:
                continue
            if found:
                raise CookieConflict(f"Multiple cookies exist with name={name}")
            found = True
            value = cookie.value
        return default if value is None else value

    def delete(self, name: str, domain: Optional[str] = None, path: Optional[str] = None) -> None:
        """Delete every cookie named `name` (restricted to `domain`/`path` if given)."""
        if domain is not None and path is not None:
            try:
                self.jar.clear(domain, path, name)
            except KeyError:
                pass
            return
        doomed = [
            cookie
            for cookie in self.jar
            if cookie.name == name
            and (domain is None or cookie.domain == domain)
            and (path is None or cookie.path == path)
        ]
        for cookie in doomed:
            self.jar.clear(cookie.domain, cookie.path, cookie.name)

    def clear(self, domain: Optional[str] = None, path: Optional[str] = None) -> None:
        """Delete all cookies, or those of `domain`, or of `domain` and `path`.

        `path` alone deletes the cookies with that path in every domain (httpx asserts
        that a domain is given).
        """
        if domain is None and path is None:
            self.jar.clear()
            return
        if domain is not None:
            try:
                if path is None:
                    self.jar.clear(domain)
                else:
                    self.jar.clear(domain, path)
            except KeyError:
                pass
            return
        doomed = [cookie for cookie in self.jar if cookie.path == path]
        for cookie in doomed:
            self.jar.clear(cookie.domain, cookie.path, cookie.name)

    def update(self, cookies: Optional[CookieTypes] = None) -> None:  # type: ignore[override]
        """Add every cookie from `cookies`, replacing same name/domain/path ones."""
        other = cookies if isinstance(cookies, Cookies) else Cookies(cookies)
        for cookie in other.jar:
            self.jar.set_cookie(cookie)

    def __setitem__(self, name: str, value: str) -> None:
        self.set(name, value)

    def __getitem__(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def __delitem__(self, name: str) -> None:
        # As httpx: deleting a missing cookie is not an error.
        self.delete(name)

    def __contains__(self, name: object) -> bool:
        # Unlike `get`, never raises CookieConflict: several cookies named so still count.
        return any(cookie.name == name for cookie in self.jar)

    def __len__(self) -> int:
        return len(self.jar)

    def __iter__(self) -> Iterator[str]:
        return (cookie.name for cookie in self.jar)

    def __bool__(self) -> bool:
        return not _jar_is_empty(self.jar) and next(iter(self.jar), None) is not None

    def __repr__(self) -> str:
        inner = ", ".join(
            f"<Cookie {cookie.name}={cookie.value} for {cookie.domain} />" for cookie in self.jar
        )
        return f"<Cookies[{inner}]>"

    # -- pickling: the jar holds an RLock, which cannot be pickled ---------------------

    def __getstate__(self) -> Dict[str, Any]:
        jar = self.jar
        state = {key: value for key, value in vars(jar).items() if key != "_cookies_lock"}
        return {"jar_class": type(jar), "jar_state": state}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        jar_class = state["jar_class"]
        jar = jar_class.__new__(jar_class)
        CookieJar.__init__(jar)  # a fresh lock and the base attributes
        vars(jar).update(state["jar_state"])
        self.jar = jar
