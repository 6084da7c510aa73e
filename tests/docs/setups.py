"""Named preparations an example asks for with `<!-- test: setup=NAME -->`.

Rules: a setup only prepares the example's surroundings (files in its working directory,
environment variables through `monkeypatch`, text substitutions for placeholder paths);
it never changes the example's code otherwise, so what a reader sees is what runs.
Everything it creates lives in the example's own temporary directory.
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Callable, Optional

import pytest
import trustme


@dataclasses.dataclass
class ExampleContext:
    """What a setup may use and change for one example run."""

    request: pytest.FixtureRequest
    monkeypatch: pytest.MonkeyPatch
    workdir: Path
    server_url: str
    proxy_url: Optional[str]
    substitutions: dict[str, str]

    @property
    def server_netloc(self) -> str:
        return self.server_url.split("://", 1)[1]

    def fixture(self, name: str) -> object:
        return self.request.getfixturevalue(name)


def _ca(context: ExampleContext) -> None:
    """`/path/to/ca.pem` is the test CA's certificate (the one that signed the servers')."""
    ca_cert_path = context.fixture("ca_cert_path")
    assert isinstance(ca_cert_path, str)
    context.substitutions["/path/to/ca.pem"] = ca_cert_path


def _client_cert(context: ExampleContext) -> None:
    """`client.pem` / `client.key` in the working directory: a client certificate."""
    authority = context.fixture("cert_authority")
    assert isinstance(authority, trustme.CA)
    leaf = authority.issue_cert("alice@example.org")
    leaf.cert_chain_pems[0].write_to_path(str(context.workdir / "client.pem"))
    leaf.private_key_pem.write_to_path(str(context.workdir / "client.key"))
    _ca(context)


def _netrc(context: ExampleContext) -> None:
    """A `~/.netrc` (HOME is the working directory) with alice's password for the server."""
    host = context.server_netloc.rsplit(":", 1)[0]
    path = context.workdir / ".netrc"
    path.write_text(f"machine {host}\nlogin alice\npassword secret\n", encoding="utf-8")
    path.chmod(0o600)
    context.monkeypatch.setenv("HOME", str(context.workdir))
    context.substitutions["/path/to/netrc"] = str(path)


def _proxy_env(context: ExampleContext) -> None:
    """HTTP_PROXY and HTTPS_PROXY name the example's proxy."""
    if context.proxy_url is None:
        raise ValueError("setup=proxy_env needs a proxy= directive")
    context.monkeypatch.setenv("HTTP_PROXY", context.proxy_url)
    context.monkeypatch.setenv("HTTPS_PROXY", context.proxy_url)


def _files(context: ExampleContext) -> None:
    """Small files to upload or send: report.csv, photo.png, payload.json, notes.txt."""
    (context.workdir / "report.csv").write_text("day,visits\nmon,12\ntue,15\n", encoding="utf-8")
    (context.workdir / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    (context.workdir / "payload.json").write_text(
        json.dumps({"name": "duo", "tags": ["http", "python"]}), encoding="utf-8"
    )
    (context.workdir / "notes.txt").write_text("first line\nsecond line\n", encoding="utf-8")


def _as_httpx(context: ExampleContext) -> None:
    """The example serves httpx from httpduo, process-wide: undone after it."""
    import httpduo

    context.request.addfinalizer(httpduo.uninstall_as_httpx)


SETUPS: dict[str, Callable[[ExampleContext], None]] = {
    "as_httpx": _as_httpx,
    "ca": _ca,
    "client_cert": _client_cert,
    "files": _files,
    "netrc": _netrc,
    "proxy_env": _proxy_env,
}
