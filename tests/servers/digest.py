"""Server side of HTTP Digest authentication (RFC 7616, plus RFC 2069 when qop is "none").

Rules:
- A real check: the nonce must be one this authority issued, the realm, opaque, algorithm,
  uri (the request target exactly as sent) and username must match, and the response hash
  is recomputed from the password; anything else gets a fresh 401 challenge.
- Algorithms: MD5, SHA (SHA-1, as httpx offers it), SHA-256, SHA-512, SHA-512-256 (when
  hashlib provides "sha512_256"), each also as "-sess". Names are case-insensitive.
- qop path segment: "auth", "auth-int", "auth,auth-int" (both offered) or "none" (no qop
  in the challenge: the legacy response = H(HA1:nonce:HA2)).
- The reason for a rejection is sent in an X-Digest-Failure header to ease debugging.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import OrderedDict
from typing import Callable, Dict, List, NamedTuple, Optional

REALM = "httpduo@tests"
_PARAM = re.compile(r'([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s]*)')
_UNESCAPE = re.compile(r"\\(.)")
_MAX_NONCES = 4096


def _hasher(name: str) -> Callable[[bytes], str]:
    def digest(data: bytes) -> str:
        return hashlib.new(name, data).hexdigest()

    return digest


def _available_algorithms() -> Dict[str, Callable[[bytes], str]]:
    table = {"MD5": "md5", "SHA": "sha1", "SHA-256": "sha256", "SHA-512": "sha512"}
    try:
        hashlib.new("sha512_256")
    except ValueError:
        pass
    else:
        table["SHA-512-256"] = "sha512_256"
    return {name: _hasher(impl) for name, impl in table.items()}


ALGORITHMS = _available_algorithms()


class Outcome(NamedTuple):
    status: int  # 200 accepted, 401 challenge, 400/404 bad endpoint parameters
    challenge: str = ""
    reason: str = ""


def parse_digest_params(header: str) -> Dict[str, str]:
    """The key=value pairs of a Digest header value (keys lower-cased, quotes removed)."""
    params: Dict[str, str] = {}
    for match in _PARAM.finditer(header):
        value = match.group(2)
        if value.startswith('"'):
            value = _UNESCAPE.sub(r"\1", value[1:-1])
        params[match.group(1).lower()] = value
    return params


class DigestAuthority:
    """Issues nonces and verifies Authorization headers for /digest_auth/..."""

    def __init__(self) -> None:
        self.opaque = secrets.token_hex(8)
        self._nonces: OrderedDict[str, None] = OrderedDict()

    def challenge(self, algorithm: str, qops: List[str], reason: str = "") -> Outcome:
        nonce = secrets.token_hex(16)
        self._nonces[nonce] = None
        while len(self._nonces) > _MAX_NONCES:
            self._nonces.popitem(last=False)
        parts = [f'Digest realm="{REALM}"', f'nonce="{nonce}"', f'opaque="{self.opaque}"']
        if qops:
            parts.append(f'qop="{",".join(qops)}"')
        parts.append(f"algorithm={algorithm}")
        return Outcome(401, ", ".join(parts), reason)

    def check(
        self,
        *,
        qop: str,
        user: str,
        password: str,
        algorithm: str,
        method: str,
        target: str,
        body: bytes,
        authorization: Optional[bytes],
    ) -> Outcome:
        base = algorithm.upper()
        session = base.endswith("-SESS")
        if session:
            base = base[: -len("-SESS")]
        hash_fn = ALGORITHMS.get(base)
        if hash_fn is None:
            return Outcome(400, reason=f"unsupported algorithm {algorithm!r}")
        qops = [] if qop == "none" else qop.split(",")
        if any(q not in ("auth", "auth-int") for q in qops):
            return Outcome(400, reason=f"unsupported qop {qop!r}")

        if authorization is None or authorization[:7].lower() != b"digest ":
            return self.challenge(algorithm, qops, "no digest credentials")
        params = parse_digest_params(authorization[7:].decode("latin-1"))

        def reject(reason: str) -> Outcome:
            return self.challenge(algorithm, qops, reason)

        for name in ("username", "realm", "nonce", "uri", "response"):
            if name not in params:
                return reject(f"missing {name}")
        if params["username"] != user:
            return reject("unknown user")
        if params["realm"] != REALM:
            return reject("wrong realm")
        if params["nonce"] not in self._nonces:
            return reject("unknown nonce")
        if params.get("opaque") != self.opaque:
            return reject("wrong opaque")
        if params.get("algorithm", "MD5").upper() != algorithm.upper():
            return reject("wrong algorithm")
        if params["uri"] != target:
            return reject("uri does not match the request target")

        nonce = params["nonce"]
        ha1 = hash_fn(f"{user}:{REALM}:{password}".encode())
        client_qop = params.get("qop")
        if qops:
            if client_qop not in qops:
                return reject("qop missing or not offered")
            if "nc" not in params or "cnonce" not in params:
                return reject("missing nc or cnonce")
        elif client_qop is not None:
            return reject("qop sent but none offered")
        if session:
            if "cnonce" not in params:
                return reject("missing cnonce for -sess")
            ha1 = hash_fn(f"{ha1}:{nonce}:{params['cnonce']}".encode())
        a2 = f"{method}:{params['uri']}"
        if client_qop == "auth-int":
            a2 += ":" + hash_fn(body)
        ha2 = hash_fn(a2.encode())
        if client_qop is None:
            expected = hash_fn(f"{ha1}:{nonce}:{ha2}".encode())
        else:
            tail = f"{params['nc']}:{params['cnonce']}:{client_qop}:{ha2}"
            expected = hash_fn(f"{ha1}:{nonce}:{tail}".encode())
        if not hmac.compare_digest(expected, params["response"].lower()):
            return reject("response mismatch")
        return Outcome(200)
