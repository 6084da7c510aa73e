"""`URL` and `QueryParams`: immutable URL models with the httpx 0.28 API.

Rules:
- Both classes are immutable: `copy_*`, `join`, `set`/`add`/`remove`/`merge` return new
  instances; mutation attempts on `QueryParams` raise `RuntimeError`.
- A `URL` holds the validated, encoded components produced by `_urlparse`; deriving a
  URL from another (`copy_with`, `join`, the `copy_*_param` helpers) never re-parses
  the parts it keeps. `str(url)` is computed once and cached.
- Package-internal callers get connection details from `URL._origin()`
  (raw scheme, raw host, effective port) and the request target from `raw_path`.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import ItemsView, Iterator, KeysView, Mapping, ValuesView
from typing import Any, NamedTuple, Optional, Union
from urllib.parse import quote_plus

from ._exceptions import InvalidURL
from ._types import QueryParamTypes
from ._uri_reference import URIReference
from ._urlparse import (
    DEFAULT_PORTS,
    Components,
    check_kwargs,
    decode_host,
    join_url,
    parse_url,
    replace_components,
    resolve,
    unparse,
    unquote,
)

__all__ = ["URL", "QueryParams"]


class _RawURL(NamedTuple):
    raw_scheme: bytes
    raw_host: bytes
    port: Optional[int]
    raw_path: bytes


class URL:
    """An immutable, normalised URL, absolute or relative.

    `URL("https://user:pw@例え.jp:8443/a b?q=1#top")` parses and validates a URL
    string; keyword arguments (`scheme`, `username`, `password`, `userinfo`, `host`,
    `port`, `netloc`, `path`, `query`, `raw_path`, `fragment`, `params`) override
    individual components. Invalid input raises `InvalidURL`.
    """

    __slots__ = (
        "_fragment",
        "_host",
        "_params",
        "_path",
        "_port",
        "_query",
        "_scheme",
        "_str",
        "_userinfo",
    )

    _scheme: str
    _userinfo: str
    _host: str
    _port: Optional[int]
    _path: str
    _query: Optional[str]
    _fragment: Optional[str]
    _str: Optional[str]
    _params: Optional[QueryParams]

    def __init__(self, url: Union[URL, str] = "", **kwargs: Any) -> None:
        if isinstance(url, str):
            parts = parse_url(url)
            if not kwargs:  # the hot path: spelled out to save calls
                (
                    self._scheme,
                    self._userinfo,
                    self._host,
                    self._port,
                    self._path,
                    self._query,
                    self._fragment,
                ) = parts
                self._str = None
                self._params = None
                return
        elif isinstance(url, URL):
            if not kwargs:
                self._set(url._parts())
                self._str = url._str
                self._params = url._params
                return
            parts = url._parts()
        else:
            raise TypeError(
                f"Invalid type for url. Expected str or httpduo.URL, got {type(url)}: {url!r}"
            )
        check_kwargs(kwargs)
        if "params" in kwargs:  # params replaces the query, as in httpx
            params = QueryParams(kwargs.pop("params"))
            kwargs["query"] = str(params).encode("ascii") if params else None
        self._set(replace_components(parts, kwargs))
        self._str = None
        self._params = None

    def _set(self, parts: Components) -> None:
        (
            self._scheme,
            self._userinfo,
            self._host,
            self._port,
            self._path,
            self._query,
            self._fragment,
        ) = parts

    def _parts(self) -> Components:
        return (
            self._scheme,
            self._userinfo,
            self._host,
            self._port,
            self._path,
            self._query,
            self._fragment,
        )

    @classmethod
    def _from_parts(cls, parts: Components) -> URL:
        # Trusted constructor: `parts` are already validated and normalised.
        url = object.__new__(cls)
        url._set(parts)
        url._str = None
        url._params = None
        return url

    def _origin(self) -> tuple[bytes, bytes, Optional[int]]:
        """(raw_scheme, raw_host, port) with the scheme's default port filled in.

        Package-internal: the connection pool key and the connect target.
        """
        port = self._port
        if port is None:
            port = DEFAULT_PORTS.get(self._scheme)
        return self._scheme.encode("ascii"), self._host.encode("ascii"), port

    # -- components ---------------------------------------------------------------

    @property
    def scheme(self) -> str:
        """The lower-cased scheme, e.g. "https" ("" for relative URLs)."""
        return self._scheme

    @property
    def raw_scheme(self) -> bytes:
        """The scheme as ASCII bytes."""
        return self._scheme.encode("ascii")

    @property
    def userinfo(self) -> bytes:
        """The percent-encoded "username:password" part, as bytes."""
        return self._userinfo.encode("ascii")

    @property
    def username(self) -> str:
        """The percent-decoded username ("" when absent)."""
        return unquote(self._userinfo.partition(":")[0])

    @property
    def password(self) -> str:
        """The percent-decoded password ("" when absent)."""
        return unquote(self._userinfo.partition(":")[2])

    @property
    def host(self) -> str:
        """The lower-cased host; IDNA names in unicode, IPv6 without brackets."""
        return decode_host(self._host)

    @property
    def raw_host(self) -> bytes:
        """The host as ASCII bytes: IDNA-encoded, IPv6 without brackets."""
        return self._host.encode("ascii")

    @property
    def port(self) -> Optional[int]:
        """The port, or None when absent or the scheme's default (80, 443, ...)."""
        return self._port

    @property
    def netloc(self) -> bytes:
        """host[:port] as bytes (IPv6 in brackets; no userinfo; default port omitted)."""
        host = self._host
        if ":" in host:
            host = f"[{host}]"
        if self._port is not None:
            host = f"{host}:{self._port}"
        return host.encode("ascii")

    @property
    def path(self) -> str:
        """The percent-decoded path ("/" when empty)."""
        return unquote(self._path or "/")

    @property
    def query(self) -> bytes:
        """The percent-encoded query string, without "?" (b"" when absent)."""
        query = self._query
        return b"" if query is None else query.encode("ascii")

    @property
    def params(self) -> QueryParams:
        """The query string parsed into `QueryParams`."""
        params = self._params
        if params is None:
            params = self._params = QueryParams._from_query(self._query or "")
        return params

    @property
    def raw_path(self) -> bytes:
        """The request target: encoded path ("/" when empty) plus "?query" if present."""
        path = self._path or "/"
        if self._query is not None:
            path = f"{path}?{self._query}"
        return path.encode("ascii")

    @property
    def fragment(self) -> str:
        """The percent-decoded fragment ("" when absent)."""
        return unquote(self._fragment or "")

    @property
    def raw(self) -> _RawURL:
        """Deprecated: (raw_scheme, raw_host, port, raw_path)."""
        warnings.warn("URL.raw is deprecated.", DeprecationWarning, stacklevel=2)
        return _RawURL(self.raw_scheme, self.raw_host, self._port, self.raw_path)

    @property
    def is_absolute_url(self) -> bool:
        """True when the URL has both a scheme and a host."""
        return bool(self._scheme and self._host)

    @property
    def is_relative_url(self) -> bool:
        """True unless the URL has both a scheme and a host."""
        return not (self._scheme and self._host)

    # -- derived URLs -------------------------------------------------------------

    def copy_with(self, **kwargs: Any) -> URL:
        """A copy with the given components replaced (same keywords as `URL()`)."""
        return URL(self, **kwargs)

    def _copy_with_params(self, params: QueryParams) -> URL:
        # str(QueryParams) is always a valid query, so it skips re-validation.
        parts = self._parts()
        query = str(params) if params else None
        url = URL._from_parts((*parts[:5], query, parts[6]))
        url._params = params
        return url

    def copy_set_param(self, key: str, value: Any = None) -> URL:
        """A copy with query parameter `key` set to `value` (replacing any others)."""
        return self._copy_with_params(self.params.set(key, value))

    def copy_add_param(self, key: str, value: Any = None) -> URL:
        """A copy with `key=value` appended to the query parameters."""
        return self._copy_with_params(self.params.add(key, value))

    def copy_remove_param(self, key: str) -> URL:
        """A copy without query parameter `key`."""
        return self._copy_with_params(self.params.remove(key))

    def copy_merge_params(self, params: QueryParamTypes) -> URL:
        """A copy with `params` merged over the existing query parameters."""
        return self._copy_with_params(self.params.merge(params))

    def join(self, url: Union[URL, str]) -> URL:
        """Resolve `url` against this URL (RFC 3986 §5.2; "http:x" is relative to an http URL)."""
        if isinstance(url, str):
            return URL._from_parts(join_url(self._parts(), url))
        if not isinstance(url, URL):
            url = URL(url)
        return URL._from_parts(resolve(self._parts(), url._parts()))

    # -- protocol -----------------------------------------------------------------

    def __str__(self) -> str:
        value = self._str
        if value is None:
            value = self._str = unparse(self._parts())
        return value

    def __repr__(self) -> str:
        scheme, userinfo, host, port, path, query, fragment = self._parts()
        username, colon, _ = userinfo.partition(":")
        if colon:
            userinfo = f"{username}:[secure]"
        text = unparse((scheme, userinfo, host, port, path, query, fragment))
        return f"{type(self).__name__}({text!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, URL):
            return str(self) == str(other)
        if isinstance(other, str):
            text = str(self)
            if other == text:
                return True
            try:
                return text == str(URL(other))
            except InvalidURL:
                return False
        return NotImplemented

    def __hash__(self) -> int:
        return hash(str(self))

    def __reduce__(self) -> tuple[type[URL], tuple[str]]:
        return URL, (str(self),)

    def __copy__(self) -> URL:
        return self

    def __deepcopy__(self, memo: dict[int, object]) -> URL:
        return self

    # -- compatibility ------------------------------------------------------------

    @property
    def _uri_reference(self) -> URIReference:
        """Compatibility name: httpx's parsed components (respx reads them here)."""
        return URIReference(*self._parts())


def _primitive(value: Any) -> str:
    if type(value) is str:
        return value
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return ""
    return str(value)


def _parse_query(query: str) -> dict[str, list[str]]:
    result: dict[str, list[str]] = {}
    for field in query.split("&"):
        if not field:
            continue
        key, _, value = field.partition("=")
        if "+" in key or "%" in key:
            key = unquote(key.replace("+", " "))
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "))
        values = result.get(key)
        if values is None:
            result[key] = [value]
        else:
            values.append(value)
    return result


# Characters quote_plus() never encodes: such keys and values skip the call.
_FORM_SAFE_RE = re.compile(r"[A-Za-z0-9_.\-~]*")


def _form_quote(text: str) -> str:
    return text if _FORM_SAFE_RE.fullmatch(text) else quote_plus(text, safe="")


_IMMUTABLE = (
    "QueryParams are immutable. Use `q = q.set(key, value)`, `q = q.add(key, value)` or "
    "`q = q.merge(...)` to create an updated copy."
)


class QueryParams(Mapping[str, str]):
    """An immutable multi-dict of URL query parameters.

    Built from a query string (a leading "?" is ignored), bytes, a mapping of keys to
    values or lists of values, a list of (key, value) pairs, or another QueryParams.
    Values are converted as httpx does: True -> "true", False -> "false", None -> "",
    anything else via `str()`. Indexing returns the first value for a key.
    """

    __slots__ = ("_dict", "_str")

    _dict: dict[str, list[str]]
    _str: Optional[str]

    def __init__(self, *args: Optional[QueryParamTypes], **kwargs: Any) -> None:
        if len(args) > 1:
            raise TypeError(
                f"QueryParams() takes at most 1 positional argument ({len(args)} given)"
            )
        if args and kwargs:
            raise TypeError(
                "QueryParams() takes either a positional argument or keywords, not both"
            )
        value: Any = args[0] if args else kwargs
        self._str = None
        # The value lists are never mutated once built, so instances may share them.
        if value is None:
            self._dict = {}
        elif isinstance(value, QueryParams):
            self._dict = value._dict
            self._str = value._str
        elif isinstance(value, str):
            self._dict = _parse_query(value[1:] if value[:1] == "?" else value)
        elif isinstance(value, bytes):
            text = value.decode("utf-8")
            self._dict = _parse_query(text[1:] if text[:1] == "?" else text)
        elif isinstance(value, Mapping):
            items: dict[str, list[str]] = {}
            for key, item in value.items():
                if isinstance(item, (list, tuple)):
                    if item:  # a key with no values has no place in a query string
                        items[str(key)] = [_primitive(v) for v in item]
                else:
                    items[str(key)] = [_primitive(item)]
            self._dict = items
        elif isinstance(value, (list, tuple)):
            items = {}
            for key, item in value:
                key = str(key)
                values = items.get(key)
                if values is None:
                    items[key] = [_primitive(item)]
                else:
                    values.append(_primitive(item))
            self._dict = items
        else:
            raise TypeError(
                "Invalid type for params. Expected str, bytes, a mapping, a list of pairs "
                f"or QueryParams, got {type(value).__name__}: {value!r}"
            )

    @classmethod
    def _from_dict(cls, items: dict[str, list[str]]) -> QueryParams:
        params = object.__new__(cls)
        params._dict = items
        params._str = None
        return params

    @classmethod
    def _from_query(cls, query: str) -> QueryParams:
        # A URL's query is taken verbatim: there a leading "?" is part of the first key.
        params = cls._from_dict(_parse_query(query))
        return params

    def keys(self) -> KeysView[str]:
        """The distinct keys, in first-seen order."""
        return self._dict.keys()

    def values(self) -> ValuesView[str]:
        """The first value of each key."""
        return {key: values[0] for key, values in self._dict.items()}.values()

    def items(self) -> ItemsView[str, str]:
        """(key, first value) for each key."""
        return {key: values[0] for key, values in self._dict.items()}.items()

    def multi_items(self) -> list[tuple[str, str]]:
        """Every (key, value) pair, values of a key grouped together."""
        return [(key, value) for key, values in self._dict.items() for value in values]

    def get(self, key: Any, default: Any = None) -> Any:
        """The first value for `key`, or `default`."""
        values = self._dict.get(key)
        return default if values is None else values[0]

    def get_list(self, key: str) -> list[str]:
        """All values for `key` (an empty list when absent)."""
        return list(self._dict.get(str(key), ()))

    def set(self, key: str, value: Any = None) -> QueryParams:
        """A copy with `key` set to the single `value`."""
        items = dict(self._dict)
        items[str(key)] = [_primitive(value)]
        return QueryParams._from_dict(items)

    def add(self, key: str, value: Any = None) -> QueryParams:
        """A copy with `value` appended to the values of `key`."""
        items = dict(self._dict)
        key = str(key)
        items[key] = [*items.get(key, ()), _primitive(value)]
        return QueryParams._from_dict(items)

    def remove(self, key: str) -> QueryParams:
        """A copy without `key`."""
        items = dict(self._dict)
        items.pop(str(key), None)
        return QueryParams._from_dict(items)

    def merge(self, params: Optional[QueryParamTypes] = None) -> QueryParams:
        """A copy where the keys of `params` replace those of this instance."""
        other = QueryParams(params)
        if not other:
            return self
        return QueryParams._from_dict({**self._dict, **other._dict})

    def __getitem__(self, key: Any) -> str:
        return self._dict[key][0]

    def __contains__(self, key: Any) -> bool:
        return key in self._dict

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def __bool__(self) -> bool:
        return bool(self._dict)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams):
            return NotImplemented
        return sorted(self.multi_items()) == sorted(other.multi_items())

    def __hash__(self) -> int:
        # Order-insensitive like __eq__, so equal instances hash equal.
        return hash(tuple(sorted(self.multi_items())))

    def __str__(self) -> str:
        value = self._str
        if value is None:
            value = self._str = "&".join(
                [
                    f"{_form_quote(key)}={_form_quote(item)}"
                    for key, values in self._dict.items()
                    for item in values
                ]
            )
        return value

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __reduce__(self) -> tuple[type[QueryParams], tuple[list[tuple[str, str]]]]:
        return QueryParams, (self.multi_items(),)

    def update(self, params: Optional[QueryParamTypes] = None) -> None:
        """Not supported: QueryParams are immutable (use `merge`)."""
        raise RuntimeError(_IMMUTABLE)

    def __setitem__(self, key: str, value: str) -> None:
        raise RuntimeError(_IMMUTABLE)

    def __delitem__(self, key: str) -> None:
        raise RuntimeError(_IMMUTABLE)
