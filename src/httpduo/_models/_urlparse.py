"""URL parsing, validation and normalisation: the machinery behind `URL`.

Rules:
- A URL is held as seven *already encoded* components, the `Components` tuple:
  (scheme, userinfo, host, port, path, query, fragment). Every string in it is ASCII
  and valid for its place, so readers never re-validate or re-encode.
  scheme and host are lower-cased; host is IDNA-encoded (IPv6 kept without brackets);
  port is None when absent or equal to the scheme's default; query and fragment are
  None when absent ("" when present but empty).
- Parsing is one precompiled regex split plus a per-component check; a component is
  only rewritten (percent-encoded) when the check finds something to encode. "%" is
  never encoded: valid %XX escapes stay as they are, and so does a stray "%" (the WHATWG
  URL standard, httpx, curl and browsers all send "/foo%" as written).
- Percent-encode sets follow httpx 0.28 (WHATWG-style): spaces become %20 everywhere.
- Hosts: an ASCII reg-name may hold what the standard's host parser lets through
  (unreserved, sub-delims, '"', "`", "{", "}", "%"); the rest of its forbidden host code
  points (space, "<", ">", "^", "|", "\\", ...) raise `InvalidURL`.
- Dot segments are removed from the path of URLs with a scheme or an authority.
- Anything that cannot be made valid raises `InvalidURL` naming the offending part.
- Results are memoised per string (short strings, a bounded LRU), as are IDNA
  conversions: the components are an immutable tuple, so sharing them is safe.
"""

from __future__ import annotations

import functools
import re
from typing import Any, NoReturn, Optional, Tuple
from urllib.parse import unquote

import idna

from ._exceptions import InvalidURL

__all__ = [
    "DEFAULT_PORTS",
    "MAX_URL_LENGTH",
    "Components",
    "check_kwargs",
    "decode_host",
    "default_port",
    "encode_host",
    "join_url",
    "parse_url",
    "remove_dot_segments",
    "replace_components",
    "resolve",
    "unparse",
    "unquote",
]

MAX_URL_LENGTH = 65536

DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21}
# The WHATWG URL standard's special schemes: "http:x" against an http: base is relative.
_SPECIAL_SCHEMES = frozenset(("ftp", "file", "http", "https", "ws", "wss"))

# (scheme, userinfo, host, port, path, query, fragment), all encoded and validated.
Components = Tuple[str, str, str, Optional[int], str, Optional[str], Optional[str]]

# A control character can appear in none of the groups, so a URL containing one fails
# to match at all: the common case needs one regex call to split *and* screen the URL.
_URL_RE = re.compile(
    r"(?:([A-Za-z][A-Za-z0-9+.\-]*):)?"  # scheme
    r"(?://([^/?#\x00-\x1f\x7f]*))?"  # authority
    r"([^?#\x00-\x1f\x7f]*)"  # path
    r"(?:\?([^#\x00-\x1f\x7f]*))?"  # query
    r"(?:#([^\x00-\x1f\x7f]*))?"  # fragment
)
# The same split without the screening, to locate a bad character for the message.
_URL_LAX_RE = re.compile(
    r"(?:([A-Za-z][A-Za-z0-9+.\-]*):)?(?://([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#(.*))?",
    re.DOTALL,
)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME_RE = re.compile(r"[a-z][a-z0-9+.\-]*")
# A relative path whose first segment looks like "scheme:" must be written "./seg".
_SCHEME_LIKE_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:")

# Runs of characters to percent-encode, per component. Each set holds the C0 controls,
# space, DEL and all non-ASCII, plus the component's own (never "%": see the rules).
_BAD = r"\x00-\x20\x7f-\U0010ffff"
_PATH_QUOTE_RE = re.compile(r"[" + _BAD + r"\"#<>?`{}]+")
_QUERY_QUOTE_RE = re.compile(r"[" + _BAD + r"\"#<>]+")
# The union of the three sets above, minus the "?" and "#" that delimit them.
_TAIL_QUOTE_RE = re.compile(r"[" + _BAD + r"\"<>`{}]")
_FRAGMENT_QUOTE_RE = re.compile(r"[" + _BAD + r"\"<>`]+")
# userinfo as a whole keeps its ":" separator; username/password alone encode it.
_USERINFO_QUOTE_RE = re.compile(r"[" + _BAD + r"\"#<>?`{}/;=@\[\\\]^|]+")
_USERPART_QUOTE_RE = re.compile(r"[" + _BAD + r"\"#<>?`{}/:;=@\[\\\]^|]+")

# Host shapes: the common case (already lower-case LDH name or IPv4 literal) is one match.
_HOST_FAST_RE = re.compile(r"[a-z0-9][a-z0-9.\-]*")
_PLAIN_AUTHORITY_RE = re.compile(r"([a-z0-9][a-z0-9.\-]*)(?::([0-9]{1,5}))?")
_IPV4_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
# A reg-name holds unreserved, sub-delims, "%" and the '"', "`", "{", "}" that the WHATWG
# host parser accepts (httpx does too); any other character is an error.
_HOST_INVALID_RE = re.compile(r"[^a-z0-9\-._~!$&'()*+,;=%\"`{}]")
_ZONE_ID_RE = re.compile(r"(?:[A-Za-z0-9\-._~]|%[0-9A-Fa-f]{2})+")

_HEX = [f"%{i:02X}" for i in range(256)]


def _pct_encode(match: re.Match[str]) -> str:
    return "".join([_HEX[b] for b in match.group().encode("utf-8")])


def _quote(pattern: re.Pattern[str], value: str, component: str) -> str:
    try:
        return pattern.sub(_pct_encode, value)
    except UnicodeEncodeError as exc:  # a lone surrogate cannot be UTF-8 encoded
        char = exc.object[exc.start]
        raise InvalidURL(
            f"Invalid character in URL {component} component, {char!r} cannot be UTF-8 encoded"
        ) from None


def _raise_non_printable(url: str) -> NoReturn:
    match = _CONTROL_RE.search(url)
    assert match is not None  # only called when the strict split failed
    index = match.start()
    component = "path"
    lax = _URL_LAX_RE.fullmatch(url)
    if lax is not None:  # always matches; the guard keeps mypy honest
        names = ("scheme", "authority", "path", "query", "fragment")
        for group, name in enumerate(names, start=1):
            start, end = lax.span(group)
            if start <= index < end:
                component = name
                break
    raise InvalidURL(
        f"Invalid non-printable ASCII character in URL {component} component, "
        f"{match.group()!r} at position {index}."
    )


def _check_component(value: str, component: str) -> None:
    if len(value) > MAX_URL_LENGTH:
        raise InvalidURL(f"URL component {component!r} too long")
    match = _CONTROL_RE.search(value)
    if match is not None:
        raise InvalidURL(
            f"Invalid non-printable ASCII character in URL {component} component, "
            f"{match.group()!r} at position {match.start()}."
        )


def default_port(scheme: str) -> Optional[int]:
    """The port a scheme implies when none is given (None for unknown schemes)."""
    return DEFAULT_PORTS.get(scheme)


def _parse_port(port: str, scheme: str) -> Optional[int]:
    if not (port.isascii() and port.isdigit()):
        raise InvalidURL(f"Invalid port: {port!r}")
    number = int(port)
    if number > 65535:
        raise InvalidURL(f"Invalid port: {port!r}")
    if DEFAULT_PORTS.get(scheme) == number:
        return None
    return number


def _check_ipv4(host: str) -> None:
    for octet in host.split("."):
        # Leading zeros are rejected: some resolvers read them as octal.
        if len(octet) > 3 or int(octet) > 255 or (octet[0] == "0" and len(octet) > 1):
            raise InvalidURL(f"Invalid IPv4 address: {host!r}")


def _encode_ipv6(address: str, original: str) -> str:
    import ipaddress  # only IPv6 literals pay for the import

    address, percent, zone = address.partition("%")
    # RFC 6874: the zone is introduced by an encoded "%", i.e. "%25".
    if percent and (not zone.startswith("25") or not _ZONE_ID_RE.fullmatch(zone[2:])):
        raise InvalidURL(f"Invalid IPv6 address: {original!r}")
    try:
        ipaddress.IPv6Address(address)
    except ValueError:
        raise InvalidURL(f"Invalid IPv6 address: {original!r}") from None
    return address.lower() + (percent + zone if percent else "")


def encode_host(host: str) -> str:
    """Validate a host and return its normalised ASCII form.

    Lower-cases, IDNA-encodes (UTS 46) non-ASCII names, strips IPv6 brackets and
    validates IPv4/IPv6 literals. Raises `InvalidURL` naming the host otherwise.
    """
    if _HOST_FAST_RE.fullmatch(host):
        if "0" <= host[-1] <= "9" and _IPV4_RE.fullmatch(host):
            _check_ipv4(host)
        return host
    if not host:
        return ""
    if host[0] == "[":
        if host[-1] != "]":
            raise InvalidURL(f"Invalid IPv6 address: {host!r}")
        return _encode_ipv6(host[1:-1], host)
    if ":" in host:  # a bare IPv6 literal, as given to copy_with(host=...)
        return _encode_ipv6(host, host)
    if host.isascii():
        lowered = host.lower()
        bad = _HOST_INVALID_RE.search(lowered)
        if bad is not None:
            raise InvalidURL(f"Invalid host: {host!r} ({bad.group()!r} is not allowed)")
        if _IPV4_RE.fullmatch(lowered):
            _check_ipv4(lowered)
        return lowered
    return _idna_encode(host)


# IDNA processing costs ~10 µs a host and hosts repeat, so results are memoised.
@functools.lru_cache(maxsize=512)
def _idna_encode(host: str) -> str:
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        raise InvalidURL(f"Invalid IDNA hostname: {host!r}") from None


def decode_host(host: str) -> str:
    """The display form of an encoded host: IDNA "xn--" labels decoded to unicode."""
    if "xn--" not in host:
        return host
    return _idna_decode(host)


@functools.lru_cache(maxsize=512)
def _idna_decode(host: str) -> str:
    labels = host.split(".")
    for index, label in enumerate(labels):
        if label.startswith("xn--"):
            try:
                labels[index] = idna.decode(label)
            except (idna.IDNAError, UnicodeError):
                pass  # not valid punycode: show it as it is
    return ".".join(labels)


def _parse_authority(authority: str, scheme: str) -> tuple[str, str, Optional[int]]:
    userinfo, _, hostport = authority.rpartition("@")
    if userinfo and _USERINFO_QUOTE_RE.search(userinfo):
        userinfo = _quote(_USERINFO_QUOTE_RE, userinfo, "userinfo")
    if hostport[:1] == "[":
        end = hostport.find("]")
        if end == -1:
            raise InvalidURL(f"Invalid IPv6 address: {hostport!r}")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if rest and rest[0] != ":":
            raise InvalidURL(f"Invalid host: {hostport!r}")
        port = rest[1:]
    else:
        host, _, port = hostport.partition(":")
    return userinfo, encode_host(host), _parse_port(port, scheme) if port else None


def _protect_relative_path(path: str) -> str:
    # RFC 3986 §4.2: a relative path whose first segment contains ":" is written
    # "./seg:..." so it cannot be read back as "scheme:...".
    return "./" + path if _SCHEME_LIKE_RE.match(path) else path


def _needs_dot_removal(path: str) -> bool:
    return "/." in path or path[:1] == "."


def remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4, in linear time (no repeated slicing of the input)."""
    if not _needs_dot_removal(path):
        return path
    output: list[str] = []
    i = 0
    n = len(path)
    while i < n:
        if path.startswith("../", i):
            i += 3
        elif path.startswith("./", i) or path.startswith("/./", i):
            i += 2
        elif i + 2 == n and path.startswith("/.", i):
            output.append("/")
            i = n
        elif path.startswith("/../", i):
            i += 3
            if output:
                output.pop()
        elif i + 3 == n and path.startswith("/..", i):
            if output:
                output.pop()
            output.append("/")
            i = n
        elif (i + 1 == n and path[i] == ".") or (i + 2 == n and path.startswith("..", i)):
            i = n
        else:
            end = path.find("/", i + 1)
            if end == -1:
                end = n
            output.append(path[i:end])
            i = end
    return "".join(output)


# Programs request the same URLs again and again: results for strings up to this long
# are memoised (a bounded cache: at most 512 strings of 512 characters each).
_MEMO_URL_LENGTH = 512


def parse_url(url: str) -> Components:
    """Split, validate and normalise an absolute or relative URL string."""
    if len(url) <= _MEMO_URL_LENGTH:
        return _parse_short_url(url)
    return _parse_url(url)


@functools.lru_cache(maxsize=512)
def _parse_short_url(url: str) -> Components:
    return _parse_url(url)


def _parse_url(url: str) -> Components:
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL("URL too long")
    match = _URL_RE.fullmatch(url)
    if match is None:
        _raise_non_printable(url)
    scheme, authority, path, query, fragment = match.groups()
    scheme = "" if scheme is None else scheme.lower()
    if authority is None:
        userinfo = host = ""
        port = None
    else:
        plain = _PLAIN_AUTHORITY_RE.fullmatch(authority)
        if plain is None:
            userinfo, host, port = _parse_authority(authority, scheme)
        else:  # the common "host" or "host:port": no userinfo, IDNA or IPv6 to handle
            userinfo = ""
            host, port_text = plain.groups()
            if "0" <= host[-1] <= "9" and _IPV4_RE.fullmatch(host):
                _check_ipv4(host)
            port = None if port_text is None else _parse_port(port_text, scheme)
    # One scan of path, query and fragment finds whether any of them needs encoding.
    if _TAIL_QUOTE_RE.search(url, match.start(3)):
        if _PATH_QUOTE_RE.search(path):
            path = _quote(_PATH_QUOTE_RE, path, "path")
        if query and _QUERY_QUOTE_RE.search(query):
            query = _quote(_QUERY_QUOTE_RE, query, "query")
        if fragment and _FRAGMENT_QUOTE_RE.search(fragment):
            fragment = _quote(_FRAGMENT_QUOTE_RE, fragment, "fragment")
    if (scheme or authority is not None) and ("/." in path or path[:1] == "."):
        path = remove_dot_segments(path)
    return scheme, userinfo, host, port, path, query, fragment


_KWARG_TYPES: dict[str, type] = {
    "scheme": str,
    "username": str,
    "password": str,
    "userinfo": bytes,
    "host": str,
    "port": int,
    "netloc": bytes,
    "path": str,
    "query": bytes,
    "raw_path": bytes,
    "fragment": str,
    "params": object,
}


def check_kwargs(kwargs: dict[str, Any]) -> None:
    """Reject unknown keyword arguments and values of the wrong type (TypeError)."""
    for key, value in kwargs.items():
        expected = _KWARG_TYPES.get(key)
        if expected is None:
            raise TypeError(f"{key!r} is an invalid keyword argument for URL()")
        if value is not None and not isinstance(value, expected):
            raise TypeError(
                f"Argument {key!r} must be {expected.__name__} but got {type(value).__name__}"
            )


def _ascii(value: bytes, component: str) -> str:
    try:
        return value.decode("ascii")
    except UnicodeDecodeError:
        raise InvalidURL(
            f"Invalid URL component {component!r}: bytes must be ASCII, got {value!r}"
        ) from None


def replace_components(parts: Components, kwargs: dict[str, Any]) -> Components:
    """Return `parts` with the components named in `kwargs` replaced.

    `kwargs` must already have passed `check_kwargs`; `params` must already have been
    turned into a `query` string by the caller (it needs `QueryParams`).
    """
    scheme, userinfo, host, port, path, query, fragment = parts

    if "raw_path" in kwargs:
        kwargs = dict(kwargs)
        raw_path = kwargs.pop("raw_path")
        if raw_path is None:
            kwargs["path"], kwargs["query"] = "", None
        else:
            new_path, question, new_query = raw_path.partition(b"?")
            kwargs["path"] = _ascii(new_path, "raw_path")
            kwargs["query"] = new_query if question else None

    if "scheme" in kwargs:
        value = kwargs["scheme"] or ""
        scheme = value.lower()
        if scheme and not _SCHEME_RE.fullmatch(scheme):
            raise InvalidURL(f"Invalid URL component 'scheme': {value!r}")

    if "userinfo" in kwargs:
        value = _ascii(kwargs["userinfo"] or b"", "userinfo")
        _check_component(value, "userinfo")
        userinfo = _quote(_USERINFO_QUOTE_RE, value, "userinfo")
    if "username" in kwargs or "password" in kwargs:
        old_user, colon, old_password = userinfo.partition(":")
        user = old_user
        password: Optional[str] = old_password if colon else None
        if "username" in kwargs:
            user = kwargs["username"] or ""
            _check_component(user, "username")
            user = _quote(_USERPART_QUOTE_RE, user, "username")
        if "password" in kwargs:
            password = kwargs["password"]
            if password is not None:
                _check_component(password, "password")
                password = _quote(_USERPART_QUOTE_RE, password, "password")
        userinfo = user if password is None else f"{user}:{password}"

    if "netloc" in kwargs:
        netloc = _ascii(kwargs["netloc"] or b"", "netloc")
        _check_component(netloc, "netloc")
        new_userinfo, host, new_port = _parse_authority(netloc, scheme)
        port = new_port
        if "@" in netloc:
            userinfo = new_userinfo
    if "host" in kwargs:
        value = kwargs["host"] or ""
        _check_component(value, "host")
        host = encode_host(value)
    if "port" in kwargs:
        port = kwargs["port"]
        if port is not None and not 0 <= port <= 65535:
            raise InvalidURL(f"Invalid port: {port!r}")
    if port is not None and DEFAULT_PORTS.get(scheme) == port:
        port = None

    if "path" in kwargs:
        path = kwargs["path"] or ""
        _check_component(path, "path")
        path = _quote(_PATH_QUOTE_RE, path, "path")
    if "query" in kwargs:
        raw_query = kwargs["query"]
        if raw_query is None:
            query = None
        else:
            query = _ascii(raw_query, "query")
            _check_component(query, "query")
            query = _quote(_QUERY_QUOTE_RE, query, "query")
    if "fragment" in kwargs:
        fragment = kwargs["fragment"]
        if fragment is not None:
            _check_component(fragment, "fragment")
            fragment = _quote(_FRAGMENT_QUOTE_RE, fragment, "fragment")

    has_authority = bool(host or userinfo) or port is not None
    if has_authority:
        if path and path[0] != "/":
            raise InvalidURL("For absolute URLs, path must be empty or begin with '/'")
    elif not scheme:
        if path.startswith("//"):
            raise InvalidURL(
                "URLs with no authority component cannot have a path starting with '//'"
            )
        path = _protect_relative_path(path)
    if scheme or has_authority:  # also when a scheme or host was just added
        path = remove_dot_segments(path)
    return scheme, userinfo, host, port, path, query, fragment


def resolve(
    base: Components, ref: Components, ref_has_authority: Optional[bool] = None
) -> Components:
    """Resolve a reference against a base URL (RFC 3986 §5.2.2).

    A reference with a scheme is used as it is, except that one naming the base's own
    special scheme without an authority ("http:x", "file:?q") is relative to the base,
    as in the WHATWG URL standard (RFC 3986's non-strict parser; httpx agrees).
    `ref_has_authority` says whether the reference string had "//" after its scheme;
    None (a parsed `URL`) counts a host, userinfo, port or a path starting with "/".
    """
    r_scheme, r_userinfo, r_host, r_port, r_path, r_query, r_fragment = ref
    b_scheme, b_userinfo, b_host, b_port, b_path, b_query, _ = base
    if r_scheme:
        # Already normalised when parsed: such a reference is used as it is.
        if r_scheme != b_scheme or r_scheme not in _SPECIAL_SCHEMES:
            return ref
        if ref_has_authority is None:
            ref_has_authority = bool(r_host or r_userinfo) or r_port is not None
            ref_has_authority = ref_has_authority or r_path[:1] == "/"
        if ref_has_authority:
            return ref
    if ref_has_authority or r_host or r_userinfo or r_port is not None:
        port = r_port if r_port is None or DEFAULT_PORTS.get(b_scheme) != r_port else None
        path = remove_dot_segments(r_path)
        return b_scheme, r_userinfo, r_host, port, path, r_query, r_fragment
    if not r_path:
        path = b_path
        query = r_query if r_query is not None else b_query
    else:
        if r_path[0] == "/":
            path = remove_dot_segments(r_path)
        elif not b_path and (b_host or b_userinfo or b_port is not None):
            path = remove_dot_segments("/" + r_path)
        else:
            path = remove_dot_segments(b_path[: b_path.rfind("/") + 1] + r_path)
        query = r_query
    if not b_scheme and not (b_host or b_userinfo or b_port is not None):
        path = _protect_relative_path(path)
    return b_scheme, b_userinfo, b_host, b_port, path, query, r_fragment


def join_url(base: Components, url: str) -> Components:
    """Resolve the reference string `url` against `base` (see `resolve`)."""
    ref = parse_url(url)
    scheme = ref[0]
    if scheme:
        if scheme == base[0]:
            # The scheme is the string's first characters: the split matches from the start.
            return resolve(base, ref, url.startswith("//", len(scheme) + 1))
    elif url[:2] == "//" and base[0] not in _SPECIAL_SCHEMES:
        # "///x" against "sc://h/" is "sc:///x": an empty authority still replaces the
        # base's. (Special schemes skip the extra slashes in the standard; we keep the
        # base's host there, as httpx does.)
        return resolve(base, ref, True)
    return resolve(base, ref)


def unparse(parts: Components) -> str:
    """Recompose a URL string from validated components (RFC 3986 §5.3)."""
    scheme, userinfo, host, port, path, query, fragment = parts
    result = f"{scheme}:" if scheme else ""
    # A path starting with "//" must be preceded by an (empty) authority, or it would
    # read back as one: "http:////evil.com" must not become "http://evil.com". A file
    # URL always has an authority in the standard: "file:///tmp/x", not "file:/tmp/x".
    if (
        host
        or userinfo
        or port is not None
        or path[:2] == "//"
        or (path[:1] == "/" and scheme == "file")
    ):
        result += "//"
        if userinfo:
            result += userinfo + "@"
        result += f"[{host}]" if ":" in host else host
        if port is not None:
            result += f":{port}"
    result += path
    if query is not None:
        result += "?" + query
    if fragment is not None:
        result += "#" + fragment
    return result
