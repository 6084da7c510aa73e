from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any, Optional

import certifi
import pytest
import trustme
from cryptography.hazmat.primitives import serialization
from tests.missing import missing

from httpduo._models._ssl import create_ssl_context

ENV_VARS = ("SSL_CERT_FILE", "SSL_CERT_DIR", "SSLKEYLOGFILE")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


class Files:
    """A trustme CA, a server certificate and a client certificate, as PEM files."""

    def __init__(self, ca: trustme.CA, root: Path) -> None:
        self.root = root
        self.ca_file = str(root / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.server = ca.issue_cert("localhost", "127.0.0.1")
        client = ca.issue_cert("client@example.com")
        self.client_combined = str(root / "client-combined.pem")
        client.private_key_and_cert_chain_pem.write_to_path(self.client_combined)
        self.client_cert = str(root / "client-cert.pem")
        client.cert_chain_pems[0].write_to_path(self.client_cert)
        self.client_key = str(root / "client-key.pem")
        client.private_key_pem.write_to_path(self.client_key)
        key = serialization.load_pem_private_key(client.private_key_pem.bytes(), None)
        self.client_key_encrypted = str(root / "client-key-encrypted.pem")
        Path(self.client_key_encrypted).write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(b"s3cret"),
            )
        )


@pytest.fixture
def files(ca: trustme.CA, tmp_path: Path) -> Files:
    # Per test (not per module): contexts are cached per path, so fresh paths keep tests
    # independent of each other's cache entries.
    return Files(ca, tmp_path)


def ca_subjects(context: ssl.SSLContext) -> set[Any]:
    return {cert["subject"] for cert in context.get_ca_certs()}


def certifi_subjects() -> set[Any]:
    return ca_subjects(ssl.create_default_context(cafile=certifi.where()))


# --- A real handshake on 127.0.0.1 -------------------------------------------------------


class Handshake:
    def __init__(self) -> None:
        self.alpn: Optional[str] = None
        self.client_error: Optional[BaseException] = None
        self.server_error: Optional[BaseException] = None
        self.client_cert: Optional[dict[str, Any]] = None


def handshake(
    client_context: ssl.SSLContext,
    server_context: ssl.SSLContext,
    server_hostname: str = "localhost",
) -> Handshake:
    """Run one TLS handshake between the two contexts over a loopback socket."""
    outcome = Handshake()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError as exc:  # pragma: no cover - the client never connected
            outcome.server_error = exc
            return
        with conn:
            conn.settimeout(5)
            try:
                with server_context.wrap_socket(conn, server_side=True) as tls:
                    outcome.client_cert = tls.getpeercert()
                    tls.recv(1)  # the client's "done" byte, so both sides finish cleanly
            except (OSError, ssl.SSLError) as exc:
                outcome.server_error = exc

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        with socket.create_connection(listener.getsockname()[:2], timeout=5) as raw:
            try:
                with client_context.wrap_socket(raw, server_hostname=server_hostname) as tls:
                    outcome.alpn = tls.selected_alpn_protocol()
                    tls.sendall(b"!")
            except (OSError, ssl.SSLError) as exc:
                outcome.client_error = exc
    finally:
        thread.join(10)
        listener.close()
    assert not thread.is_alive()
    return outcome


@pytest.fixture
def server_context(files: Files) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    files.server.configure_cert(context)
    context.set_alpn_protocols(["h2", "http/1.1"])
    return context


@pytest.fixture
def mtls_server_context(server_context: ssl.SSLContext, files: Files) -> ssl.SSLContext:
    server_context.verify_mode = ssl.CERT_REQUIRED
    server_context.load_verify_locations(cafile=files.ca_file)
    return server_context


def hashed_ca_dir(files: Files) -> str:
    """A CA directory in OpenSSL's hashed layout (needs the `openssl` command)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        missing("the openssl command builds a hashed CA directory (apt-get install openssl)")
    digest = subprocess.run(
        [openssl, "x509", "-hash", "-noout", "-in", files.ca_file],
        capture_output=True,
        check=True,
        text=True,
        timeout=30,
    ).stdout.strip()
    directory = files.root / "ca-dir"
    directory.mkdir()
    shutil.copy(files.ca_file, directory / f"{digest}.0")
    return str(directory)


def verify_with(path: str, **kwargs: Any) -> ssl.SSLContext:
    with pytest.warns(DeprecationWarning, match="verify=<str>"):
        return create_ssl_context(verify=path, **kwargs)


# --- verify ------------------------------------------------------------------------------


def test_default_context_verifies_against_certifi() -> None:
    context = create_ssl_context()
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert ca_subjects(context) == certifi_subjects()


def test_context_security_settings() -> None:
    for context in (create_ssl_context(), create_ssl_context(verify=False)):
        assert context.minimum_version == ssl.TLSVersion.TLSv1_2
        assert context.options & ssl.OP_NO_COMPRESSION
        assert context.post_handshake_auth is True
        assert context.keylog_filename is None


def test_verify_false_disables_verification() -> None:
    context = create_ssl_context(verify=False)
    assert context.verify_mode == ssl.CERT_NONE
    assert context.check_hostname is False


def test_verify_file_path(files: Files) -> None:
    context = verify_with(files.ca_file)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert len(context.get_ca_certs()) == 1
    assert ca_subjects(context) != certifi_subjects()


def test_verify_path_like(files: Files) -> None:
    assert len(verify_with(Path(files.ca_file)).get_ca_certs()) == 1  # type: ignore[arg-type]


def test_verify_directory_path(files: Files, server_context: ssl.SSLContext) -> None:
    context = verify_with(hashed_ca_dir(files))
    assert context.verify_mode == ssl.CERT_REQUIRED
    # A CA directory is read lazily, during verification: prove it with a handshake.
    assert handshake(context, server_context).client_error is None


def test_verify_directory_without_the_ca_fails(
    files: Files, server_context: ssl.SSLContext
) -> None:
    empty = files.root / "empty"
    empty.mkdir()
    outcome = handshake(verify_with(str(empty)), server_context)
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)


def test_verify_missing_path_names_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "no" / "such-bundle.pem")
    with (
        pytest.raises(FileNotFoundError) as info,
        pytest.warns(DeprecationWarning, match="verify"),
    ):
        create_ssl_context(verify=missing)
    assert info.value.filename == missing
    assert missing in str(info.value)


def test_verify_ssl_context_is_returned_untouched(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSLKEYLOGFILE", str(tmp_path / "keys.log"))
    mine = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    mine.minimum_version = ssl.TLSVersion.TLSv1_3
    assert create_ssl_context(verify=mine) is mine
    assert create_ssl_context(verify=mine, http2=True) is mine
    assert mine.keylog_filename is None
    assert mine.minimum_version == ssl.TLSVersion.TLSv1_3


@pytest.mark.parametrize("bad", [None, 1, b"/etc/ssl", ["cafile.pem"]])
def test_verify_rejects_other_types(bad: Any) -> None:
    with pytest.raises(TypeError, match="verify"):
        create_ssl_context(verify=bad)


# --- cert --------------------------------------------------------------------------------


def test_client_cert_forms_load(files: Files) -> None:
    forms: list[Any] = [
        files.client_combined,
        (files.client_cert, files.client_key),
        (files.client_cert, files.client_key_encrypted, "s3cret"),
    ]
    for cert in forms:
        with pytest.warns(DeprecationWarning, match="cert="):
            context = create_ssl_context(cert=cert)
        assert context.verify_mode == ssl.CERT_REQUIRED


def test_client_cert_wrong_password(files: Files) -> None:
    with pytest.raises(ssl.SSLError), pytest.warns(DeprecationWarning, match="cert="):
        create_ssl_context(cert=(files.client_cert, files.client_key_encrypted, "wrong"))


def test_client_cert_missing_file_names_it(files: Files) -> None:
    missing = str(files.root / "missing-key.pem")
    with pytest.raises(FileNotFoundError) as info, pytest.warns(DeprecationWarning, match="cert="):
        create_ssl_context(cert=(files.client_cert, missing))
    assert info.value.filename == missing


@pytest.mark.parametrize("bad", [42, ("a",), ("a", "b", "c", "d")])
def test_client_cert_rejects_malformed_values(bad: Any) -> None:
    with pytest.raises(TypeError, match="cert"), pytest.warns(DeprecationWarning, match="cert="):
        create_ssl_context(cert=bad)


def test_client_cert_is_presented_to_a_server_requiring_one(
    files: Files, mtls_server_context: ssl.SSLContext
) -> None:
    with pytest.warns(DeprecationWarning, match="cert="):
        context = verify_with(files.ca_file, cert=(files.client_cert, files.client_key))
    outcome = handshake(context, mtls_server_context)
    assert outcome.server_error is None
    assert outcome.client_cert is not None
    assert "client@example.com" in str(outcome.client_cert["subjectAltName"])


def test_no_client_cert_is_refused_by_a_server_requiring_one(
    files: Files, mtls_server_context: ssl.SSLContext
) -> None:
    outcome = handshake(verify_with(files.ca_file), mtls_server_context)
    assert isinstance(outcome.server_error, ssl.SSLError)
    assert outcome.client_cert is None


# --- environment -------------------------------------------------------------------------


def test_ssl_cert_file_honoured_with_trust_env(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", files.ca_file)
    context = create_ssl_context()
    assert len(context.get_ca_certs()) == 1
    assert ca_subjects(create_ssl_context(trust_env=False)) == certifi_subjects()


def test_ssl_cert_file_ignored_with_explicit_verify_path(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())
    assert len(verify_with(files.ca_file).get_ca_certs()) == 1


def test_ssl_cert_file_missing_falls_back_to_certifi(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "nope.pem"))
    assert ca_subjects(create_ssl_context()) == certifi_subjects()


def test_ssl_cert_dir_honoured_with_trust_env(
    files: Files, monkeypatch: pytest.MonkeyPatch, server_context: ssl.SSLContext
) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", hashed_ca_dir(files))
    context = create_ssl_context()
    assert context.get_ca_certs() == []  # certifi is not loaded
    assert handshake(context, server_context).client_error is None

    ignored = create_ssl_context(trust_env=False)
    outcome = handshake(ignored, server_context)
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)


def test_sslkeylogfile_with_trust_env(
    files: Files, monkeypatch: pytest.MonkeyPatch, server_context: ssl.SSLContext
) -> None:
    keylog = files.root / "keys.log"
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    assert create_ssl_context(trust_env=False).keylog_filename is None
    assert create_ssl_context(verify=False).keylog_filename == str(keylog)

    context = verify_with(files.ca_file)
    assert context.keylog_filename == str(keylog)
    assert handshake(context, server_context).client_error is None
    assert "CLIENT_" in keylog.read_text()


def test_empty_environment_values_are_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_VARS:
        monkeypatch.setenv(name, "")
    context = create_ssl_context()
    assert context is create_ssl_context(trust_env=False)
    assert context.keylog_filename is None


# --- caching -----------------------------------------------------------------------------


def test_same_configuration_returns_the_same_context() -> None:
    assert create_ssl_context() is create_ssl_context()
    assert create_ssl_context(verify=False) is create_ssl_context(verify=False)
    assert create_ssl_context(http2=True) is create_ssl_context(http2=True)


def test_different_configurations_return_different_contexts(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    contexts = [
        create_ssl_context(),
        create_ssl_context(verify=False),
        create_ssl_context(http2=True),
        create_ssl_context(verify=False, http2=True),
    ]
    monkeypatch.setenv("SSL_CERT_FILE", files.ca_file)
    contexts.append(create_ssl_context())
    assert len({id(context) for context in contexts}) == len(contexts)
    # The environment is part of the key: the same variables give the same context back.
    assert create_ssl_context() is contexts[-1]
    assert create_ssl_context(trust_env=False) is contexts[0]
    monkeypatch.delenv("SSL_CERT_FILE")
    assert create_ssl_context() is contexts[0]


def test_cached_with_cert_and_path(files: Files) -> None:
    with pytest.warns(DeprecationWarning, match="cert="):
        first = verify_with(files.ca_file, cert=files.client_combined)
    with pytest.warns(DeprecationWarning, match="cert="):
        again = verify_with(files.ca_file, cert=files.client_combined)
    without_cert = verify_with(files.ca_file)
    assert first is again
    assert first is not without_cert


def test_concurrent_creation_returns_one_context(
    files: Files, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A configuration no other test builds, reached without warnings (they are not
    # thread-safe to capture).
    monkeypatch.setenv("SSL_CERT_FILE", files.ca_file)
    results: list[ssl.SSLContext] = []
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait(timeout=10)
        results.append(create_ssl_context())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert len(results) == 8
    assert all(context is results[0] for context in results)


# --- handshakes: verification and ALPN ---------------------------------------------------


@pytest.mark.parametrize("server_hostname", ["localhost", "127.0.0.1"])
def test_handshake_with_trusted_ca(
    files: Files, server_context: ssl.SSLContext, server_hostname: str
) -> None:
    outcome = handshake(verify_with(files.ca_file), server_context, server_hostname)
    assert outcome.client_error is None
    assert outcome.server_error is None


def test_handshake_checks_the_hostname(files: Files, server_context: ssl.SSLContext) -> None:
    outcome = handshake(verify_with(files.ca_file), server_context, "example.com")
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)
    assert "example.com" in str(outcome.client_error)


def test_handshake_fails_with_default_certifi_verification(
    server_context: ssl.SSLContext,
) -> None:
    outcome = handshake(create_ssl_context(), server_context)
    assert isinstance(outcome.client_error, ssl.SSLCertVerificationError)


def test_handshake_succeeds_without_verification(server_context: ssl.SSLContext) -> None:
    outcome = handshake(create_ssl_context(verify=False), server_context, "wrong.example")
    assert outcome.client_error is None


@pytest.mark.parametrize(("http2", "expected"), [(False, "http/1.1"), (True, "h2")])
def test_alpn_offers_h2_only_with_http2(
    files: Files, server_context: ssl.SSLContext, http2: bool, expected: str
) -> None:
    outcome = handshake(verify_with(files.ca_file, http2=http2), server_context)
    assert outcome.client_error is None
    assert outcome.alpn == expected
