"""Authentication flows (httpx 0.28 API): `Auth`, `FunctionAuth`, `BasicAuth`, `DigestAuth`,
`NetRCAuth`, plus the client's helpers `build_auth` and `auth_from_url`.

Rules of this module:
- I/O-free. An auth flow is a generator: it yields requests and is sent back their
  responses. `Auth.sync_auth_flow` / `Auth.async_auth_flow` wrap `auth_flow` and do the
  only I/O an auth flow may need (reading request/response bodies) when the class says
  so with `requires_request_body` / `requires_response_body`.
- A flow mutates the request it is given and yields it again, as httpx does: the retried
  request keeps its identity, extensions and body stream.
- Credentials given as `str` are encoded as UTF-8 (httpx does the same); `bytes` are used
  as given. Values derived from credentials are computed once, at construction.
- Digest auth (RFC 7616, RFC 2069 when no qop is offered) keeps the last challenge and
  answers it proactively on later requests through the same instance, counting nonce
  uses (nc) per nonce. Challenges are parsed from the raw header bytes, so hashing sees
  exactly the bytes the server sent.
"""

from __future__ import annotations

import functools
import hashlib
import netrc
import os
import re
from base64 import b64encode
from collections.abc import AsyncGenerator, Generator
from typing import Callable, Dict, List, Optional, Union

from ._cookies import Cookies
from ._exceptions import ProtocolError
from ._headers import Headers
from ._requests import Request
from ._responses import Response
from ._types import AuthTypes
from ._urls import URL

__all__ = [
    "Auth",
    "BasicAuth",
    "DigestAuth",
    "FunctionAuth",
    "NetRCAuth",
    "auth_from_url",
    "build_auth",
]


def _to_bytes(value: Union[str, bytes], what: str) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes):
        return value
    raise TypeError(f"The {what} must be str or bytes, not {type(value).__name__}")


class Auth:
    """Base class for authentication schemes.

    Subclasses override `auth_flow`, a generator that yields each request to send and
    receives the matching response (`response = yield request`). Returning ends the flow;
    the client then returns the last response. A scheme that must do its own I/O
    overrides `sync_auth_flow` and/or `async_auth_flow` instead.
    """

    requires_request_body = False
    requires_response_body = False

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Yield requests to send; each `yield` evaluates to the response received."""
        yield request

    def sync_auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        """Drive `auth_flow` for `Client`, reading bodies as the class requires."""
        if self.requires_request_body:
            request.read()
        flow = self.auth_flow(request)
        try:
            try:
                outgoing = next(flow)
            except StopIteration:
                return
            while True:
                response = yield outgoing
                if self.requires_response_body:
                    response.read()
                try:
                    outgoing = flow.send(response)
                except StopIteration:
                    return
        finally:
            # Abandoned by the client (error, cancellation): let the flow clean up too.
            flow.close()

    async def async_auth_flow(self, request: Request) -> AsyncGenerator[Request, Response]:
        """Drive `auth_flow` for `AsyncClient`, reading bodies as the class requires."""
        if self.requires_request_body:
            await request.aread()
        flow = self.auth_flow(request)
        try:
            try:
                outgoing = next(flow)
            except StopIteration:
                return
            while True:
                response = yield outgoing
                if self.requires_response_body:
                    await response.aread()
                try:
                    outgoing = flow.send(response)
                except StopIteration:
                    return
        finally:
            flow.close()


class FunctionAuth(Auth):
    """Authenticate with a plain callable that takes a request and returns it (or another)."""

    def __init__(self, func: Callable[[Request], Request]) -> None:
        self._func = func

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        yield self._func(request)


def _basic_header(username: Union[str, bytes], password: Union[str, bytes]) -> str:
    userpass = _to_bytes(username, "username") + b":" + _to_bytes(password, "password")
    return "Basic " + b64encode(userpass).decode("ascii")


class BasicAuth(Auth):
    """HTTP Basic authentication: an `Authorization: Basic ...` header on every request."""

    def __init__(self, username: Union[str, bytes], password: Union[str, bytes]) -> None:
        self._auth_header = _basic_header(username, password)

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        request.headers["Authorization"] = self._auth_header
        yield request


class NetRCAuth(Auth):
    """Basic authentication with credentials looked up by host in a netrc file.

    The file (default `~/.netrc`) is parsed once, here; a missing file raises
    `FileNotFoundError`. Requests to hosts without an entry (or without a password) are
    sent unchanged. The standard library parses the file: on Python 3.9 it refuses an
    entry without a password (`netrc.NetrcParseError`), as it always has.
    """

    def __init__(self, file: Union[str, os.PathLike[str], None] = None) -> None:
        self._netrc_info = netrc.netrc(None if file is None else os.fspath(file))

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        entry = self._netrc_info.authenticators(request.url.host)
        if entry is not None:
            login, _account, password = entry
            if password:
                request.headers["Authorization"] = _basic_header(login or "", password)
        yield request


# -- Digest ----------------------------------------------------------------------------


def _hexdigest(name: str, data: bytes) -> bytes:
    return hashlib.new(name, data).hexdigest().encode("ascii")


def _digest_hashes() -> Dict[str, Callable[[bytes], bytes]]:
    names = {
        "MD5": "md5",
        "SHA": "sha1",
        "SHA-256": "sha256",
        "SHA-512": "sha512",
        "SHA-512-256": "sha512_256",  # RFC 7616; not every OpenSSL build has it
    }
    table: Dict[str, Callable[[bytes], bytes]] = {}
    for algorithm, name in names.items():
        try:
            hashlib.new(name)
        except ValueError:
            continue
        table[algorithm] = functools.partial(_hexdigest, name)
    return table


# Algorithm name (upper-case, without "-SESS") -> hex digest function over bytes.
_DIGEST_HASHES = _digest_hashes()
_SUPPORTED_ALGORITHMS = ", ".join(f"{name}, {name}-SESS" for name in _DIGEST_HASHES)

# One item of a WWW-Authenticate value: a bare token (an auth-scheme, or a token68 we do
# not use) or token=value, the value quoted (group 2) or a token (group 3).
_AUTH_ITEM = re.compile(
    rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+)"
    rb'(?:[ \t]*=[ \t]*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]*)))?'
)
_QUOTED_PAIR = re.compile(rb"\\(.)", re.DOTALL)
_WWW_AUTHENTICATE = b"www-authenticate"


def _digest_challenges(headers: Headers) -> List[Dict[bytes, bytes]]:
    """The parameters (names lower-cased, values unquoted) of every Digest challenge."""
    found: List[Dict[bytes, bytes]] = []
    for name, value in headers.raw:
        if name.lower() != _WWW_AUTHENTICATE:
            continue
        # One header line may carry several challenges ("Basic realm=x, Digest ...").
        params: Optional[Dict[bytes, bytes]] = None
        for match in _AUTH_ITEM.finditer(value):
            token, quoted, plain = match.groups()
            if quoted is None and plain is None:
                if token.lower() == b"digest":
                    params = {}
                    found.append(params)
                else:
                    params = None
            elif params is not None:
                item = _QUOTED_PAIR.sub(rb"\1", quoted) if quoted is not None else plain
                params.setdefault(token.lower(), item)
    return found


def _quote(value: bytes) -> bytes:
    return b'"' + value.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


class _DigestChallenge:
    """A usable Digest challenge: validated once, when it arrives."""

    __slots__ = ("algorithm", "hash", "nonce", "opaque", "qop", "realm", "session")

    def __init__(self, params: Dict[bytes, bytes], request: Request) -> None:
        for required in (b"realm", b"nonce"):
            if required not in params:
                raise ProtocolError(
                    "Malformed Digest WWW-Authenticate header: "
                    f"no {required.decode()!r} parameter",
                    request=request,
                )
        self.realm = params[b"realm"]
        self.nonce = params[b"nonce"]
        self.opaque = params.get(b"opaque")
        # Echoed as the server spelt it; matched case-insensitively.
        self.algorithm = params.get(b"algorithm", b"MD5")
        name = self.algorithm.decode("latin-1").upper()
        self.session = name.endswith("-SESS")
        if self.session:
            name = name[: -len("-SESS")]
        hash_fn = _DIGEST_HASHES.get(name)
        if hash_fn is None:
            raise ProtocolError(
                f"Unsupported Digest algorithm {self.algorithm.decode('latin-1')!r} "
                f"(supported: {_SUPPORTED_ALGORITHMS})",
                request=request,
            )
        self.hash = hash_fn
        self.qop = self._resolve_qop(params.get(b"qop"), request)

    @staticmethod
    def _resolve_qop(qop: Optional[bytes], request: Request) -> Optional[bytes]:
        if qop is None:
            return None  # RFC 2069 compatibility: no qop, no nc/cnonce
        offered = [item.strip().lower() for item in qop.split(b",")]
        if b"auth" in offered:
            return b"auth"
        if offered == [b"auth-int"]:
            # httpx raises NotImplementedError here too.
            raise NotImplementedError(
                'Digest qop "auth-int" (integrity protection) is not supported; '
                'the server offers no "auth"'
            )
        raise ProtocolError(
            f"Unexpected qop value {qop.decode('latin-1')!r} in Digest WWW-Authenticate",
            request=request,
        )


class _Answered:
    """A response paired with the request that was actually sent, for the cookie jar."""

    __slots__ = ("headers", "request")

    def __init__(self, headers: Headers, request: Request) -> None:
        self.headers = headers
        self.request = request


class _CookieProbe:
    """A bare url+headers pair: lets the jar compute a Cookie header without side effects."""

    __slots__ = ("headers", "url")

    def __init__(self, url: URL) -> None:
        self.url = url
        self.headers = Headers()


def _carry_cookies(response: Response, request: Request) -> None:
    """Add the cookies `response` sets to `request`'s Cookie header, new values winning."""
    headers = response.headers
    if "set-cookie" not in headers and "set-cookie2" not in headers:
        return
    jar = Cookies()
    jar.extract_cookies(_Answered(headers, request))
    probe = _CookieProbe(request.url)
    jar.set_cookie_header(probe)
    fresh = probe.headers.get("cookie")
    if not fresh:
        return
    existing = request.headers.get("cookie")
    if existing:
        fresh_pairs = [pair.strip() for pair in fresh.split(";") if pair.strip()]
        fresh_names = {pair.partition("=")[0] for pair in fresh_pairs}
        kept = [
            pair.strip()
            for pair in existing.split(";")
            if pair.strip() and pair.strip().partition("=")[0] not in fresh_names
        ]
        fresh = "; ".join(kept + fresh_pairs)
    request.headers["Cookie"] = fresh


class DigestAuth(Auth):
    """HTTP Digest authentication (RFC 7616): answers a 401 Digest challenge once.

    Algorithms MD5, SHA, SHA-256, SHA-512 and SHA-512-256 (where hashlib has it), each
    also as "-sess"; qop "auth" or none. The last challenge is reused proactively on the
    next request through this instance, with the nonce count incremented.
    """

    def __init__(self, username: Union[str, bytes], password: Union[str, bytes]) -> None:
        self._username = _to_bytes(username, "username")
        self._password = _to_bytes(password, "password")
        self._challenge: Optional[_DigestChallenge] = None
        self._nonce_count = 0

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        challenge = self._challenge
        if challenge is not None:
            self._authorize(request, challenge)

        response = yield request

        if response.status_code != 401:
            return
        challenge = self._select_challenge(response, request)
        if challenge is None:
            return
        previous = self._challenge
        if previous is None or previous.nonce != challenge.nonce:
            # A nonce's count starts afresh; a repeated nonce keeps counting (nc must
            # never repeat for the same nonce, or servers may take it for a replay).
            self._nonce_count = 0
        self._challenge = challenge

        self._authorize(request, challenge)
        _carry_cookies(response, request)
        yield request

    @staticmethod
    def _select_challenge(response: Response, request: Request) -> Optional[_DigestChallenge]:
        """The first usable Digest challenge; None if there is none at all.

        When every Digest challenge is unusable, the first one's error is raised.
        """
        first_error: Optional[Exception] = None
        for params in _digest_challenges(response.headers):
            try:
                return _DigestChallenge(params, request)
            except (ProtocolError, NotImplementedError) as exc:
                if first_error is None:
                    first_error = exc
        if first_error is not None:
            raise first_error
        return None

    def _get_client_nonce(self, nonce_count: int, nonce: bytes) -> bytes:
        """A fresh client nonce (cnonce): 16 random hex digits.

        httpx's name and signature, called through `self` for every authorization, so
        tests can patch it for a reproducible header.
        """
        return os.urandom(8).hex().encode("ascii")

    def _authorize(self, request: Request, challenge: _DigestChallenge) -> None:
        self._nonce_count += 1
        nc = b"%08x" % self._nonce_count
        digest = challenge.hash
        nonce = challenge.nonce
        cnonce = self._get_client_nonce(self._nonce_count, nonce)

        ha1 = digest(b"%s:%s:%s" % (self._username, challenge.realm, self._password))
        if challenge.session:
            ha1 = digest(b"%s:%s:%s" % (ha1, nonce, cnonce))
        uri = request.url.raw_path
        ha2 = digest(b"%s:%s" % (request.method.encode("ascii"), uri))
        qop = challenge.qop
        if qop is None:
            response = digest(b"%s:%s:%s" % (ha1, nonce, ha2))
        else:
            response = digest(b"%s:%s:%s:%s:%s:%s" % (ha1, nonce, nc, cnonce, qop, ha2))

        parts = [
            b"username=" + _quote(self._username),
            b"realm=" + _quote(challenge.realm),
            b"nonce=" + _quote(nonce),
            b"uri=" + _quote(uri),
            b"response=" + _quote(response),
            b"algorithm=" + challenge.algorithm,
        ]
        if challenge.opaque is not None:
            parts.append(b"opaque=" + _quote(challenge.opaque))
        if qop is not None:
            parts.append(b"qop=" + qop)
            parts.append(b"nc=" + nc)
        if qop is not None or challenge.session:
            # -sess needs the cnonce even in the RFC 2069 form (no qop).
            parts.append(b"cnonce=" + _quote(cnonce))
        request.headers.update({b"Authorization": b"Digest " + b", ".join(parts)})


# -- the client's helpers ----------------------------------------------------------------


def build_auth(auth: Optional[AuthTypes]) -> Optional[Auth]:
    """Turn an `auth=` argument into an `Auth` (None stays None)."""
    if auth is None or isinstance(auth, Auth):
        return auth
    if isinstance(auth, tuple):
        if len(auth) != 2:
            raise TypeError(
                f'Invalid "auth" argument: a tuple must be (username, password), '
                f"got {len(auth)} items"
            )
        return BasicAuth(auth[0], auth[1])
    if callable(auth):
        return FunctionAuth(auth)
    # The value itself is not shown: it may hold credentials.
    raise TypeError(
        'Invalid "auth" argument: expected a (username, password) tuple, a callable or '
        f"an Auth instance, not {type(auth).__name__}"
    )


def auth_from_url(url: URL) -> Optional[BasicAuth]:
    """Basic auth from the URL's userinfo (percent-decoded), or None if it has none."""
    if not url.userinfo:
        return None
    username, password = url.username, url.password
    if username or password:
        return BasicAuth(username, password)
    return None
