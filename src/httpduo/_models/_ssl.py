"""Building client `ssl.SSLContext` objects, once per configuration per process.

Rules:
- Loading a CA bundle costs milliseconds, so `create_ssl_context()` caches the context
  it builds, keyed on its arguments and on the environment values that shaped it
  (`SSL_CERT_FILE`, `SSL_CERT_DIR`, `SSLKEYLOGFILE`, read only with `trust_env`). The
  same configuration returns the same object. CA files and certificates named by a
  path are read when the context is first built; a later change to the file is not seen.
- Cached contexts are shared: httpduo code never mutates them, and neither should
  callers. Copy-on-customise: to change a setting, build your own context (for example
  with `ssl.create_default_context()`) and pass it as `verify=`.
- A context passed in as `verify=` is returned as is and never modified.
- The cache is a plain dict. Two threads building the same configuration at once may
  both build a context, but `dict.setdefault` (atomic) makes both return the one stored.
"""

from __future__ import annotations

import errno
import os
import ssl
import warnings
from typing import Optional, Tuple, Union

import certifi

from ._types import CertTypes

__all__ = ["create_ssl_context"]

VerifyTypes = Union[ssl.SSLContext, str, "os.PathLike[str]", bool]

_ALPN_HTTP1 = ("http/1.1",)
_ALPN_HTTP2 = ("http/1.1", "h2")

_Cert = Tuple[str, Optional[str], Optional[str]]  # certfile, keyfile, password
_CacheKey = Tuple[object, ...]
_cache: dict[_CacheKey, ssl.SSLContext] = {}

_VERIFY_STR_DEPRECATED = (
    "`verify=<str>` is deprecated. Use `verify=ssl.create_default_context(cafile=...)` "
    "or `verify=ssl.create_default_context(capath=...)` instead."
)
_CERT_DEPRECATED = (
    "`cert=...` is deprecated. Use `verify=<ssl_context>` instead, "
    "with `.load_cert_chain()` to configure the certificate chain."
)


def create_ssl_context(
    verify: VerifyTypes = True,
    cert: Optional[CertTypes] = None,
    trust_env: bool = True,
    *,
    http2: bool = False,
) -> ssl.SSLContext:
    """Return a client SSL context for this configuration (shared: do not mutate it).

    - `verify=True`: verify servers against the certifi CA bundle; with `trust_env`, the
      `SSL_CERT_FILE` (a file) and/or `SSL_CERT_DIR` (a directory) environment variables
      replace certifi when they name an existing path.
    - `verify=False`: no certificate or hostname verification.
    - `verify="path"` (deprecated, as in httpx 0.28): a CA bundle file or a hashed CA
      directory; a missing path raises `FileNotFoundError` naming it.
    - `verify=<ssl.SSLContext>`: that context, returned untouched (`cert` and `http2`
      are then ignored, since the context belongs to the caller).
    - `cert` (deprecated, as in httpx 0.28): a client certificate, as a path to a PEM
      file holding certificate and key, `(certfile, keyfile)` or
      `(certfile, keyfile, password)`.
    - `trust_env`: also honour `SSLKEYLOGFILE` (TLS key logging, e.g. for Wireshark).
    - `http2`: offer "h2" as well as "http/1.1" in ALPN.

    Contexts require TLS 1.2 or later, disable TLS compression and allow post-handshake
    client authentication. Hostnames are checked when verifying; for an IP-address host,
    passing the address as `server_hostname` checks it against the certificate's IP
    subject alternative names.
    """
    if isinstance(verify, ssl.SSLContext):
        return verify

    if isinstance(verify, bool):
        verify_key: object = verify
    elif isinstance(verify, (str, os.PathLike)):
        warnings.warn(_VERIFY_STR_DEPRECATED, DeprecationWarning, stacklevel=2)
        verify_key = os.fspath(verify)
    else:
        raise TypeError(
            f"'verify' must be True, False, a CA bundle path or an ssl.SSLContext, got {verify!r}"
        )

    cert_key: Optional[_Cert] = None
    if cert is not None:
        warnings.warn(_CERT_DEPRECATED, DeprecationWarning, stacklevel=2)
        cert_key = _normalise_cert(cert)

    environ = os.environ
    if trust_env:
        keylog = environ.get("SSLKEYLOGFILE") or None
        if verify_key is True:
            env_file = environ.get("SSL_CERT_FILE") or None
            env_dir = environ.get("SSL_CERT_DIR") or None
        else:
            env_file = env_dir = None
    else:
        keylog = env_file = env_dir = None

    key = (verify_key, cert_key, bool(http2), env_file, env_dir, keylog)
    context = _cache.get(key)
    if context is None:
        context = _build(verify_key, cert_key, http2, env_file, env_dir, keylog)
        context = _cache.setdefault(key, context)
    return context


def _normalise_cert(cert: object) -> _Cert:
    """Return `(certfile, keyfile, password)`, checking the shape of `cert`."""
    certfile: object
    keyfile: object
    password: object
    if isinstance(cert, (str, os.PathLike)):
        certfile, keyfile, password = cert, None, None
    elif isinstance(cert, (tuple, list)) and len(cert) in (2, 3):
        certfile, keyfile, password = (*cert, None)[:3]
    else:
        certfile = keyfile = password = None
    certpath = _as_path(certfile)
    keypath = None if keyfile is None else _as_path(keyfile)
    if (
        certpath is not None
        and (keyfile is None or keypath is not None)
        and (password is None or isinstance(password, str))
    ):
        return (certpath, keypath, password)
    raise TypeError(
        "'cert' must be a path, (certfile, keyfile) or (certfile, keyfile, password), "
        f"got {cert!r}"
    )


def _as_path(value: object) -> Optional[str]:
    path = os.fspath(value) if isinstance(value, os.PathLike) else value
    return path if isinstance(path, str) else None


def _build(
    verify: object,
    cert: Optional[_Cert],
    http2: bool,
    env_file: Optional[str],
    env_dir: Optional[str],
    keylog: Optional[str],
) -> ssl.SSLContext:
    if verify is False:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        cafile: Optional[str] = None
        capath: Optional[str] = None
        if verify is True:
            if env_file is not None and os.path.isfile(env_file):
                cafile = env_file
            if env_dir is not None and os.path.isdir(env_dir):
                capath = env_dir
            if cafile is None and capath is None:
                cafile = certifi.where()
        elif isinstance(verify, str):
            if os.path.isfile(verify):
                cafile = verify
            elif os.path.isdir(verify):
                capath = verify
            else:
                raise FileNotFoundError(
                    errno.ENOENT,
                    "Could not find a TLS CA certificate bundle or directory at the path "
                    "given as 'verify'",
                    verify,
                )
        # The standard library's defaults for this Python version (verify flags etc.);
        # with a cafile or capath given it loads only those, not the system store.
        context = ssl.create_default_context(cafile=cafile, capath=capath)

    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.options |= ssl.OP_NO_COMPRESSION
    if hasattr(context, "post_handshake_auth"):
        context.post_handshake_auth = True
    if ssl.HAS_ALPN:
        context.set_alpn_protocols(list(_ALPN_HTTP2 if http2 else _ALPN_HTTP1))
    if keylog is not None and hasattr(context, "keylog_filename"):
        context.keylog_filename = keylog
    if cert is not None:
        _load_cert(context, cert)
    return context


def _load_cert(context: ssl.SSLContext, cert: _Cert) -> None:
    certfile, keyfile, password = cert
    for path in (certfile, keyfile):
        if path is not None and not os.path.isfile(path):
            raise FileNotFoundError(
                errno.ENOENT, "Could not find the client certificate file given as 'cert'", path
            )
    context.load_cert_chain(certfile, keyfile, password)
