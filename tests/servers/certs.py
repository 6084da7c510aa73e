"""Test certificates from a throw-away trustme CA.

Rules: the server certificate is valid for "localhost", 127.0.0.1 and ::1 only; files are
written into a directory the caller owns (a pytest temporary directory), never elsewhere.
"""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import NamedTuple, Optional, Sequence, Union

import trustme

SERVER_IDENTITIES = ("localhost", "127.0.0.1", "::1")


class TLSFiles(NamedTuple):
    ca_cert: Path  # PEM of the CA, for verify=
    certfile: Path  # PEM chain of the server certificate
    keyfile: Path  # PEM private key of the server certificate


def write_ca_cert(ca: trustme.CA, directory: Path) -> Path:
    path = directory / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


def write_server_files(
    ca: trustme.CA, directory: Path, identities: Sequence[str] = SERVER_IDENTITIES
) -> TLSFiles:
    """Issue a server certificate for `identities` and write CA, chain and key files."""
    leaf = ca.issue_cert(*identities)
    certfile = directory / "server.pem"
    keyfile = directory / "server.key"
    certfile.write_bytes(b"".join(blob.bytes() for blob in leaf.cert_chain_pems))
    leaf.private_key_pem.write_to_path(str(keyfile))
    return TLSFiles(write_ca_cert(ca, directory), certfile, keyfile)


def client_context(
    ca_cert: Union[str, Path], alpn: Optional[Sequence[str]] = None
) -> ssl.SSLContext:
    """A verifying client context trusting only the test CA."""
    context = ssl.create_default_context(cafile=str(ca_cert))
    if alpn:
        context.set_alpn_protocols(list(alpn))
    return context
