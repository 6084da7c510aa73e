"""--verbose: what happened on the way to the response, written to stderr as it happens.

Rules:
- Lines are curl-like: "* " for what httpduo did or learned (connection, TLS, redirects,
  timings), "> " for the request head as sent, "< " for the heads of intermediate
  responses (redirects, auth challenges). The final response head is shown by the
  caller, on stdout on a terminal.
- Fed by the client's event hooks and the `trace` request extension only; the tracer
  never touches the connection or the request beyond reading them.
- An intermediate response is recognised when the next request starts, so every head is
  printed once and in order.
- Certificate details come from `getpeercert()`; when verification is off that is empty,
  and the DER form is parsed with the optional `cryptography` package if it is installed.
"""

from __future__ import annotations

import datetime
import importlib
import ssl
from time import perf_counter
from typing import Any, Optional

from rich.console import Console
from rich.text import Text

import httpduo

from ._render import print_head, visible

__all__ = ["Tracer", "format_duration"]

_SHORT_NAMES = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "stateOrProvinceName": "ST",
    "localityName": "L",
    "emailAddress": "E",
}
_SAN_PREFIXES = {"DNS": "DNS", "IP Address": "IP", "email": "email", "URI": "URI"}
_PROTOCOLS = {"http11": "HTTP/1.1", "http2": "HTTP/2"}


def format_duration(seconds: float) -> str:
    if seconds < 1.0:
        return f"{seconds * 1000:.1f} ms"
    return f"{seconds:.2f} s"


def _format_address(address: Any) -> str:
    if isinstance(address, tuple) and len(address) >= 2:
        host = str(address[0])
        return f"[{host}]:{address[1]}" if ":" in host else f"{host}:{address[1]}"
    return str(address)


def _format_name(rdns: Any) -> str:
    parts = []
    for rdn in rdns:
        for key, value in rdn:
            parts.append(f"{_SHORT_NAMES.get(key, key)}={value}")
    return ", ".join(parts)


def _format_time(value: datetime.datetime) -> str:
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


class _Certificate:
    """The parts of a peer certificate worth showing."""

    def __init__(
        self,
        subject: str,
        issuer: str,
        not_before: Optional[datetime.datetime],
        not_after: Optional[datetime.datetime],
        alt_names: list[str],
    ) -> None:
        self.subject = subject
        self.issuer = issuer
        self.not_before = not_before
        self.not_after = not_after
        self.alt_names = alt_names

    @classmethod
    def from_dict(cls, cert: dict[str, Any]) -> _Certificate:
        def when(key: str) -> Optional[datetime.datetime]:
            if key not in cert:
                return None
            seconds = ssl.cert_time_to_seconds(cert[key])
            return datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)

        alt_names = [
            f"{_SAN_PREFIXES.get(kind, kind)}:{value}"
            for kind, value in cert.get("subjectAltName", ())
        ]
        return cls(
            _format_name(cert.get("subject", ())),
            _format_name(cert.get("issuer", ())),
            when("notBefore"),
            when("notAfter"),
            alt_names,
        )

    @classmethod
    def from_der(cls, der: bytes) -> Optional[_Certificate]:
        try:
            x509: Any = importlib.import_module("cryptography.x509")
        except ImportError:
            return None
        try:
            cert = x509.load_der_x509_certificate(der)
        except ValueError:
            return None
        alt_names: list[str] = []
        try:
            extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            pass
        else:
            san = extension.value
            alt_names += [f"DNS:{name}" for name in san.get_values_for_type(x509.DNSName)]
            alt_names += [f"IP:{ip}" for ip in san.get_values_for_type(x509.IPAddress)]
        before = getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before
        after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after
        if before.tzinfo is None:
            before = before.replace(tzinfo=datetime.timezone.utc)
            after = after.replace(tzinfo=datetime.timezone.utc)
        return cls(
            # Attribute by attribute, in certificate order, like the getpeercert() path.
            ", ".join(attribute.rfc4514_string() for attribute in cert.subject),
            ", ".join(attribute.rfc4514_string() for attribute in cert.issuer),
            before,
            after,
            alt_names,
        )


class Tracer:
    """Event hooks and a `trace` callback that narrate a request on `console`."""

    def __init__(self, console: Console, *, verify: bool) -> None:
        self._console = console
        self._verify = verify
        self._start = perf_counter()
        self._started: dict[str, float] = {}
        self._previous: Optional[httpduo.Response] = None
        self._connected = False
        self._request: Optional[httpduo.Request] = None
        self.connect_time = 0.0
        self.tls_time: Optional[float] = None
        self.first_byte: Optional[float] = None

    # ---- output ---------------------------------------------------------------------

    def info(self, message: str) -> None:
        line = Text.assemble(("* ", "bold magenta"))
        line.append(visible(message))
        self._console.print(line)

    def _sent(self, message: str) -> None:
        line = Text.assemble(("> ", "bold green"))
        line.append(visible(message), style="green")
        self._console.print(line)

    # ---- event hooks ------------------------------------------------------------------

    def on_request(self, request: httpduo.Request) -> None:
        previous = self._previous
        if previous is not None:
            print_head(self._console, previous, "< ")
            reason = f"{previous.status_code} {previous.reason_phrase}".rstrip()
            if previous.has_redirect_location:
                self.info(f"Following redirect ({reason}) to {request.url}")
            elif previous.status_code == 401:
                self.info(f"Retrying with credentials ({reason})")
            else:
                self.info(f"Sending {request.method} {request.url} ({reason} before)")
        self._previous = None
        self._request = request
        self._connected = False
        request.extensions["trace"] = self.trace

    def on_response(self, response: httpduo.Response) -> None:
        self.first_byte = perf_counter() - self._start
        self._previous = response

    # ---- trace extension --------------------------------------------------------------

    def trace(self, event: str, info: dict[str, Any]) -> None:
        now = perf_counter()
        name, _, phase = event.rpartition(".")
        if phase == "started":
            self._started[name] = now
        elapsed = now - self._started.get(name, now)
        if name == "connection.connect_tcp":
            self._on_connect(phase, info, elapsed)
        elif name == "connection.connect_unix_socket" and phase == "complete":
            self._connected = True
            self.connect_time += elapsed
            self.info(f"Connected to Unix socket {info.get('path', '')}")
        elif name == "connection.start_tls":
            self._on_tls(phase, info, elapsed)
        elif name == "connection.retry" and phase == "started":
            self.info(f"Connecting failed; retrying in {info.get('delay', 0):g} s")
        elif name.endswith(".send_request_headers") and phase == "started":
            protocol = _PROTOCOLS.get(name.split(".", 1)[0], name.split(".", 1)[0])
            self._on_send_headers(protocol)

    def _on_connect(self, phase: str, info: dict[str, Any], elapsed: float) -> None:
        if phase == "started":
            self.info(f"Connecting to {_format_address((info['host'], info['port']))}")
        elif phase == "complete":
            self._connected = True
            self.connect_time += elapsed
            stream = info.get("return_value")
            server = client = None
            if stream is not None:
                server = stream.get_extra_info("server_addr")
                client = stream.get_extra_info("client_addr")
            where = "" if server is None else f" {_format_address(server)}"
            local = "" if client is None else f" from {_format_address(client)}"
            self.info(f"Connected to{where}{local} in {format_duration(elapsed)}")

    def _on_tls(self, phase: str, info: dict[str, Any], elapsed: float) -> None:
        if phase == "started":
            self.info(f"TLS handshake with {info.get('server_hostname')}")
            return
        if phase != "complete":
            return
        self.tls_time = (self.tls_time or 0.0) + elapsed
        stream = info.get("return_value")
        ssl_object = None if stream is None else stream.get_extra_info("ssl_object")
        if ssl_object is None:
            self.info(f"TLS established in {format_duration(elapsed)}")
            return
        cipher = ssl_object.cipher()
        cipher_text = "unknown cipher" if cipher is None else f"{cipher[0]} ({cipher[2]}-bit)"
        alpn = ssl_object.selected_alpn_protocol()
        self.info(
            f"TLS established in {format_duration(elapsed)}: {ssl_object.version()}, "
            f"cipher {cipher_text}, ALPN {alpn if alpn else 'not negotiated'}"
        )
        self._certificate(ssl_object)

    def _certificate(self, ssl_object: Any) -> None:
        cert: Optional[_Certificate] = None
        details = ssl_object.getpeercert()
        if details:
            cert = _Certificate.from_dict(details)
        else:
            der = ssl_object.getpeercert(binary_form=True)
            if der:
                cert = _Certificate.from_der(der)
        verified = "yes" if self._verify else "NO (--no-verify)"
        if cert is None:
            self.info(f"Server certificate: details unavailable; verified: {verified}")
            return
        self.info("Server certificate:")
        self.info(f"  subject: {cert.subject}")
        self.info(f"  issuer: {cert.issuer}")
        if cert.not_before is not None and cert.not_after is not None:
            now = datetime.datetime.now(datetime.timezone.utc)
            state = ""
            if now > cert.not_after:
                state = " (EXPIRED)"
            elif now < cert.not_before:
                state = " (NOT YET VALID)"
            self.info(
                f"  valid: {_format_time(cert.not_before)} to "
                f"{_format_time(cert.not_after)}{state}"
            )
        if cert.alt_names:
            self.info(f"  alt names: {', '.join(cert.alt_names)}")
        self.info(f"  verified: {verified}")

    def _on_send_headers(self, protocol: str) -> None:
        request = self._request
        if request is None:
            return
        if not self._connected:
            self.info("Re-using an existing connection")
        target = request.url.raw_path.decode("ascii", errors="replace")
        self._sent(f"{request.method} {target} {protocol}")
        for name, value in request.headers.raw:
            self._sent(f"{name.decode('latin-1')}: {value.decode('latin-1')}")
        self._sent("")

    # ---- the end ----------------------------------------------------------------------

    def finish(self) -> None:
        """Report the timings once the body has been received."""
        total = perf_counter() - self._start
        parts = [f"connect {format_duration(self.connect_time)}"]
        if self.tls_time is not None:
            parts.append(f"TLS {format_duration(self.tls_time)}")
        if self.first_byte is not None:
            parts.append(f"first byte {format_duration(self.first_byte)}")
        parts.append(f"total {format_duration(total)}")
        self.info("Timings: " + ", ".join(parts))
