"""Client configuration objects: `Timeout`, `Limits` and `Proxy`, plus the defaults.

Rules:
- Every value is validated once, in the constructor; a bad value raises a `TypeError` or
  `ValueError` naming the offending parameter. Hot paths never re-validate.
- Instances are immutable (assignment raises `AttributeError`), compare by value and are
  hashable, so they can be shared freely and used as cache keys.
- `Timeout.as_dict()` returns one cached dict per instance, because it is handed to every
  request; callers must treat it as read-only.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn, Optional, Tuple, Union

from ._headers import Headers
from ._types import HeaderTypes, TimeoutTypes, URLTypes
from ._urls import URL

if TYPE_CHECKING:  # pragma: no cover
    import ssl

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_TIMEOUT_CONFIG",
    "Limits",
    "Proxy",
    "Timeout",
]


class _Unset:
    """Marks a `Timeout` argument the caller did not pass (`None` means "no timeout")."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

_TIMEOUT_FIELDS = ("connect", "read", "write", "pool")
_PROXY_SCHEMES = frozenset({"http", "https", "socks5", "socks5h", "socks4", "socks4a"})
_MASK = "********"


def _immutable(self: object, *args: object) -> NoReturn:
    raise AttributeError(f"{type(self).__name__} objects are immutable")


def _check_seconds(name: str, value: object, owner: str) -> Optional[float]:
    """Return `value` unchanged if it is None or a non-negative number of seconds."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{owner} '{name}' must be a number of seconds or None, got {value!r}")
    if value < 0 or math.isnan(value):
        raise ValueError(
            f"{owner} '{name}' must be a non-negative number of seconds or None, got {value!r}"
        )
    return value


def _check_count(name: str, value: object, minimum: int) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"Limits '{name}' must be an int or None, got {value!r}")
    if value < minimum:
        raise ValueError(f"Limits '{name}' must be >= {minimum} or None, got {value!r}")
    return value


class Timeout:
    """Timeout configuration, in seconds; `None` disables a timeout.

    Examples::

        Timeout(5.0)                  # 5s for connect, read, write and pool
        Timeout(None)                 # no timeouts at all
        Timeout(5.0, connect=10.0)    # 10s to connect, 5s for the rest
        Timeout((1.0, 5.0, 5.0, 2.0)) # (connect, read, write, pool)
        Timeout(other_timeout)        # a copy
        Timeout(connect=1.0, read=5.0, write=5.0, pool=2.0)

    Without a default (positional `timeout`, a tuple or another `Timeout`) all four values
    must be given. httpduo additionally rejects negative values and tuples that do not
    have exactly four entries, and lets keyword arguments override a tuple or a `Timeout`.
    """

    __slots__ = ("_dict", "_hash", "connect", "pool", "read", "write")

    connect: Optional[float]
    read: Optional[float]
    write: Optional[float]
    pool: Optional[float]
    _dict: dict[str, Optional[float]]
    _hash: int

    def __init__(
        self,
        timeout: TimeoutTypes = UNSET,
        *,
        connect: Union[float, _Unset, None] = UNSET,
        read: Union[float, _Unset, None] = UNSET,
        write: Union[float, _Unset, None] = UNSET,
        pool: Union[float, _Unset, None] = UNSET,
    ) -> None:
        overrides = (connect, read, write, pool)
        no_overrides = connect is read is write is pool is UNSET
        values: tuple[Optional[float], ...]
        if isinstance(timeout, Timeout):
            if no_overrides:
                # A plain copy: the values were validated when `timeout` was built.
                setattr_ = object.__setattr__
                setattr_(self, "connect", timeout.connect)
                setattr_(self, "read", timeout.read)
                setattr_(self, "write", timeout.write)
                setattr_(self, "pool", timeout.pool)
                setattr_(self, "_dict", timeout._dict)
                setattr_(self, "_hash", timeout._hash)
                return
            values = self._merge(overrides, timeout.as_dict().values())
        elif isinstance(timeout, tuple):
            if len(timeout) != 4:
                raise ValueError(
                    "A Timeout tuple must have four entries (connect, read, write, pool), "
                    f"got {timeout!r}"
                )
            values = self._merge(overrides, timeout)
        elif timeout is UNSET:
            if any(value is UNSET for value in overrides):
                raise ValueError(
                    "httpduo.Timeout must either include a default, or set all four "
                    "parameters explicitly."
                )
            values = self._merge(overrides, overrides)
        elif no_overrides:
            value = _check_seconds("timeout", timeout, "Timeout")
            values = (value, value, value, value)
        else:
            values = self._merge(overrides, (timeout, timeout, timeout, timeout))

        setattr_ = object.__setattr__
        setattr_(self, "connect", values[0])
        setattr_(self, "read", values[1])
        setattr_(self, "write", values[2])
        setattr_(self, "pool", values[3])
        setattr_(self, "_dict", dict(zip(_TIMEOUT_FIELDS, values)))
        setattr_(self, "_hash", hash(values))

    @staticmethod
    def _merge(overrides: Iterable[object], base: Iterable[object]) -> tuple[Optional[float], ...]:
        """Validate each field: its keyword argument if given, else its `base` value."""
        return tuple(
            _check_seconds(name, default if given is UNSET else given, "Timeout")
            for name, given, default in zip(_TIMEOUT_FIELDS, overrides, base)
        )

    __setattr__ = _immutable
    __delattr__ = _immutable

    def as_dict(self) -> dict[str, Optional[float]]:
        """The four timeouts keyed "connect", "read", "write", "pool".

        The same dict is returned on every call: do not mutate it.
        """
        return self._dict

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Timeout):
            return NotImplemented
        return (
            self.connect == other.connect
            and self.read == other.read
            and self.write == other.write
            and self.pool == other.pool
        )

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        return (Timeout, ((self.connect, self.read, self.write, self.pool),))

    def __repr__(self) -> str:
        name = type(self).__name__
        if self.connect == self.read == self.write == self.pool:
            return f"{name}(timeout={self.connect!r})"
        return (
            f"{name}(connect={self.connect!r}, read={self.read!r}, "
            f"write={self.write!r}, pool={self.pool!r})"
        )


class Limits:
    """Connection pool limits.

    - `max_connections`: the most connections open at once (>= 1), `None` for no limit.
    - `max_keepalive_connections`: the most idle connections kept for reuse (>= 0; 0
      disables keep-alive), `None` for no limit.
    - `keepalive_expiry`: seconds an idle connection may be kept, `None` for no limit.

    As in httpx, a setting not given means no limit (keep-alive expiry: 5 seconds); the
    clients' and transports' default, `DEFAULT_LIMITS`, is 100 connections of which 20
    may be kept alive.
    """

    __slots__ = ("_hash", "keepalive_expiry", "max_connections", "max_keepalive_connections")

    max_connections: Optional[int]
    max_keepalive_connections: Optional[int]
    keepalive_expiry: Optional[float]
    _hash: int

    def __init__(
        self,
        *,
        max_connections: Optional[int] = None,
        max_keepalive_connections: Optional[int] = None,
        keepalive_expiry: Optional[float] = 5.0,
    ) -> None:
        values = (
            _check_count("max_connections", max_connections, 1),
            _check_count("max_keepalive_connections", max_keepalive_connections, 0),
            _check_seconds("keepalive_expiry", keepalive_expiry, "Limits"),
        )
        setattr_ = object.__setattr__
        setattr_(self, "max_connections", values[0])
        setattr_(self, "max_keepalive_connections", values[1])
        setattr_(self, "keepalive_expiry", values[2])
        setattr_(self, "_hash", hash(values))

    __setattr__ = _immutable
    __delattr__ = _immutable

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Limits):
            return NotImplemented
        return (
            self.max_connections == other.max_connections
            and self.max_keepalive_connections == other.max_keepalive_connections
            and self.keepalive_expiry == other.keepalive_expiry
        )

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {
            "max_connections": self.max_connections,
            "max_keepalive_connections": self.max_keepalive_connections,
            "keepalive_expiry": self.keepalive_expiry,
        }
        return (_rebuild_limits, (kwargs,))

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(max_connections={self.max_connections!r}, "
            f"max_keepalive_connections={self.max_keepalive_connections!r}, "
            f"keepalive_expiry={self.keepalive_expiry!r})"
        )


def _rebuild_limits(kwargs: dict[str, Any]) -> Limits:
    return Limits(**kwargs)


class Proxy:
    """A proxy server: `Proxy("http://user:pass@proxy.example:8080")`.

    - `url`: the proxy URL without credentials. Its scheme must be one of http, https,
      socks5, socks5h, socks4 or socks4a.
    - `auth`: `(username, password)`, taken from the URL's userinfo (percent-decoded)
      when present, otherwise from the `auth` argument; `None` without credentials.
    - `raw_auth`: `auth` encoded as UTF-8 bytes, for the transports.
    - `headers`: the headers passed in, sent to the proxy (as httpx, they do not include
      the credentials).
    - `request_headers`: `headers` plus, for http/https proxies with credentials, a
      `Proxy-Authorization: Basic ...` header (unless `headers` already has one). This is
      what the transports send to the proxy, on forwarded requests and on CONNECT.
    - `ssl_context`: the context for TLS to an https proxy, or `None` for the default.

    The headers objects are shared: treat them as read-only. `repr()` never shows the
    password.
    """

    __slots__ = ("_key", "auth", "headers", "request_headers", "ssl_context", "url")

    url: URL
    auth: Optional[Tuple[str, str]]
    headers: Headers
    request_headers: Headers
    ssl_context: Optional[ssl.SSLContext]
    _key: tuple[object, ...]

    def __init__(
        self,
        url: URLTypes,
        *,
        ssl_context: Optional[ssl.SSLContext] = None,
        auth: Optional[Tuple[str, str]] = None,
        headers: Optional[HeaderTypes] = None,
    ) -> None:
        if isinstance(url, str):
            url = URL(url)
        elif not isinstance(url, URL):
            raise TypeError(
                f"Invalid type for url.  Expected str or httpduo.URL, got {type(url)}: {url!r}"
            )
        if url.scheme not in _PROXY_SCHEMES:
            raise ValueError(f"Unknown scheme for proxy URL {url!r}")

        if url.username or url.password:
            # As httpx: credentials in the URL win over the `auth` argument.
            auth = (url.username, url.password)
            url = url.copy_with(username=None, password=None)
        elif auth is not None and not (
            isinstance(auth, tuple)
            and len(auth) == 2
            and isinstance(auth[0], str)
            and isinstance(auth[1], str)
        ):
            raise TypeError(f"Proxy 'auth' must be a (username, password) tuple, got {auth!r}")

        user_headers = Headers(headers)
        request_headers = user_headers
        if (
            auth is not None
            and url.scheme in ("http", "https")
            and "proxy-authorization" not in user_headers
        ):
            request_headers = user_headers.copy()
            request_headers["Proxy-Authorization"] = _basic_auth(auth)

        setattr_ = object.__setattr__
        setattr_(self, "url", url)
        setattr_(self, "auth", auth)
        setattr_(self, "headers", user_headers)
        setattr_(self, "request_headers", request_headers)
        setattr_(self, "ssl_context", ssl_context)
        # ssl.SSLContext compares by identity, which is what we want here.
        setattr_(self, "_key", (str(url), auth, tuple(user_headers.raw), ssl_context))

    __setattr__ = _immutable
    __delattr__ = _immutable

    @property
    def raw_auth(self) -> Optional[Tuple[bytes, bytes]]:
        """`auth` as UTF-8 encoded bytes, or `None`."""
        if self.auth is None:
            return None
        return (self.auth[0].encode("utf-8"), self.auth[1].encode("utf-8"))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Proxy):
            return NotImplemented
        return bool(self._key == other._key)

    def __hash__(self) -> int:
        return hash(self._key)

    def __reduce__(self) -> tuple[Any, ...]:
        kwargs = {"auth": self.auth, "headers": self.headers.raw, "ssl_context": self.ssl_context}
        return (_rebuild_proxy, (str(self.url), kwargs))

    def __repr__(self) -> str:
        parts = [repr(str(self.url))]
        if self.auth is not None:
            parts.append(f"auth=({self.auth[0]!r}, {_MASK!r})")
        if self.headers:
            shown = {
                key: (_MASK if key.lower() == "proxy-authorization" else value)
                for key, value in self.headers.items()
            }
            parts.append(f"headers={shown!r}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _rebuild_proxy(url: str, kwargs: dict[str, Any]) -> Proxy:
    return Proxy(url, **kwargs)


def _basic_auth(auth: Tuple[str, str]) -> str:
    userpass = f"{auth[0]}:{auth[1]}".encode()
    return "Basic " + base64.b64encode(userpass).decode("ascii")


DEFAULT_TIMEOUT_CONFIG = Timeout(timeout=5.0)
DEFAULT_LIMITS = Limits(max_connections=100, max_keepalive_connections=20)
DEFAULT_MAX_REDIRECTS = 20


class UseClientDefault:
    """The type of `USE_CLIENT_DEFAULT`: "use the client's setting" for a per-request
    argument (`auth`, `follow_redirects`, `timeout`), where None has a meaning of its own
    (e.g. `timeout=None` disables timeouts)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "USE_CLIENT_DEFAULT"

    def __reduce__(self) -> str:
        return "USE_CLIENT_DEFAULT"


USE_CLIENT_DEFAULT = UseClientDefault()
