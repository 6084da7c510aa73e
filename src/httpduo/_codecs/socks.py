"""SOCKS5 and SOCKS4/4a client handshakes, sans-I/O, on socksio's message classes.

Rules:
- A handshake is a small state machine: `data_to_send()` gives the bytes to write,
  `feed(data)` takes the bytes read (b"" at end of stream) and `done` turns true once
  the proxy has connected the tunnel. socksio packs and parses each message; framing
  (how many bytes each reply needs) is done here, since socksio parses whole messages.
- Every failure raises `ProxyError` naming what the proxy said (its reply code in
  words, a refused login, a malformed reply, an early close): socksio's own errors are
  mapped here, once. Bytes beyond the final reply are an error, since the server on the
  far side has not been sent anything yet.
- Importing this module imports socksio: import it only once a SOCKS proxy is in use.
"""

from __future__ import annotations

import ipaddress
from typing import Final, Optional

from socksio import (
    ProtocolError as SocksProtocolError,
)
from socksio import (
    SOCKS4ARequest,
    SOCKS4Command,
    SOCKS4Reply,
    SOCKS4ReplyCode,
    SOCKS4Request,
    SOCKS5AuthMethod,
    SOCKS5AuthMethodsRequest,
    SOCKS5AuthReply,
    SOCKS5Command,
    SOCKS5CommandRequest,
    SOCKS5Reply,
    SOCKS5ReplyCode,
    SOCKS5UsernamePasswordRequest,
    SOCKSError,
)

from httpduo._models._exceptions import ProxyError

__all__ = ["Socks4Handshake", "Socks5Handshake", "SocksHandshake"]

_SOCKS5_REPLIES: Final = {
    SOCKS5ReplyCode.GENERAL_SERVER_FAILURE: "general SOCKS server failure",
    SOCKS5ReplyCode.CONNECTION_NOT_ALLOWED_BY_RULESET: "connection not allowed by ruleset",
    SOCKS5ReplyCode.NETWORK_UNREACHABLE: "network unreachable",
    SOCKS5ReplyCode.HOST_UNREACHABLE: "host unreachable",
    SOCKS5ReplyCode.CONNECTION_REFUSED: "connection refused",
    SOCKS5ReplyCode.TTL_EXPIRED: "TTL expired",
    SOCKS5ReplyCode.COMMAND_NOT_SUPPORTED: "command not supported",
    SOCKS5ReplyCode.ADDRESS_TYPE_NOT_SUPPORTED: "address type not supported",
}
_SOCKS4_REPLIES: Final = {
    SOCKS4ReplyCode.REQUEST_REJECTED_OR_FAILED: "request rejected or failed",
    SOCKS4ReplyCode.CONNECTION_FAILED: "the proxy could not reach the client's identd",
    SOCKS4ReplyCode.AUTHENTICATION_FAILED: "identd reported a different user id",
}

# Lengths of the SOCKS5 reply's address, by address type byte; a domain name is
# length-prefixed (None here).
_ADDRESS_LENGTHS: Final = {1: 4, 3: None, 4: 16}


class SocksHandshake:
    """Common driving interface of the SOCKS handshakes."""

    __slots__ = ("_buffer", "_out", "done", "name")

    def __init__(self, name: str) -> None:
        self.name = name  # e.g. "SOCKS5 proxy socks5://127.0.0.1:1080", for messages
        self._buffer = bytearray()
        self._out = bytearray()
        self.done = False

    def data_to_send(self) -> bytes:
        """The bytes to write to the proxy now (possibly none)."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def feed(self, data: bytes) -> None:
        """Take bytes read from the proxy (b"" when it closed the connection)."""
        if not data:
            raise ProxyError(f"The {self.name} closed the connection during the handshake")
        if self.done:
            raise ProxyError(f"The {self.name} sent data after completing the handshake")
        self._buffer += data
        try:
            self._advance()
        except (SocksProtocolError, SOCKSError, ValueError) as exc:
            raise ProxyError(f"The {self.name} sent a malformed reply: {exc}") from exc
        if self.done and self._buffer:
            raise ProxyError(f"The {self.name} sent data after completing the handshake")

    def _take(self, size: int) -> Optional[bytes]:
        if len(self._buffer) < size:
            return None
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def _advance(self) -> None:
        raise NotImplementedError


_METHOD, _LOGIN, _REPLY = 0, 1, 2


class Socks5Handshake(SocksHandshake):
    """RFC 1928 CONNECT, with RFC 1929 username/password authentication when given.

    `host` is sent as given: an IP address as an address, anything else as a domain name
    for the proxy to resolve. Resolving locally first (`socks5://`) is the caller's part.
    """

    __slots__ = ("_auth", "_host", "_port", "_state")

    def __init__(
        self, host: str, port: int, *, auth: Optional[tuple[bytes, bytes]], name: str
    ) -> None:
        super().__init__(name)
        if len(host) > 255:
            raise ProxyError(f"Host name too long for SOCKS5: {host!r}")
        if auth is not None and (len(auth[0]) > 255 or len(auth[1]) > 255):
            raise ProxyError("SOCKS5 usernames and passwords are limited to 255 bytes each")
        self._host = host
        self._port = port
        self._auth = auth
        self._state = _METHOD
        methods = [SOCKS5AuthMethod.NO_AUTH_REQUIRED]
        if auth is not None:
            methods.append(SOCKS5AuthMethod.USERNAME_PASSWORD)
        self._out += SOCKS5AuthMethodsRequest(methods).dumps()

    def _advance(self) -> None:
        while not self.done:
            if self._state == _METHOD:
                frame = self._take(2)
                if frame is None:
                    return
                self._method_chosen(SOCKS5AuthReply.loads(frame).method)
            elif self._state == _LOGIN:
                frame = self._take(2)
                if frame is None:
                    return
                # RFC 1929: VER 0x01, STATUS 0x00 for success. Some servers echo 0x05.
                if frame[1] != 0:
                    raise ProxyError(
                        f"The {self.name} rejected the username and password (status {frame[1]})"
                    )
                self._send_command()
            else:
                frame = self._take_reply()
                if frame is None:
                    return
                reply = SOCKS5Reply.loads(frame)
                if reply.reply_code != SOCKS5ReplyCode.SUCCEEDED:
                    reason = _SOCKS5_REPLIES.get(reply.reply_code, "unknown error")
                    code = reply.reply_code.value[0]
                    raise ProxyError(
                        f"The {self.name} could not connect to {self._authority()}: "
                        f"{reason} (SOCKS5 reply {code:#04x})"
                    )
                self.done = True

    def _method_chosen(self, method: SOCKS5AuthMethod) -> None:
        if method == SOCKS5AuthMethod.NO_AUTH_REQUIRED:
            self._send_command()
        elif method == SOCKS5AuthMethod.USERNAME_PASSWORD and self._auth is not None:
            self._state = _LOGIN
            username, password = self._auth
            self._out += SOCKS5UsernamePasswordRequest(username, password).dumps()
        elif method == SOCKS5AuthMethod.NO_ACCEPTABLE_METHODS:
            if self._auth is None:
                raise ProxyError(
                    f"The {self.name} requires authentication: give the proxy a username "
                    "and password (socks5://user:password@host:port)"
                )
            raise ProxyError(f"The {self.name} accepts no authentication method we offered")
        else:
            raise ProxyError(
                f"The {self.name} chose an authentication method we did not offer: {method.name}"
            )

    def _send_command(self) -> None:
        self._state = _REPLY
        request = SOCKS5CommandRequest.from_address(
            SOCKS5Command.CONNECT, (self._host, self._port)
        )
        self._out += request.dumps()

    def _take_reply(self) -> Optional[bytes]:
        buffer = self._buffer
        if len(buffer) < 5:
            return None
        if buffer[0] != 5:
            raise ProxyError(f"The {self.name} sent a malformed reply (version {buffer[0]})")
        if buffer[3] not in _ADDRESS_LENGTHS:
            raise ProxyError(f"The {self.name} sent an unknown address type {buffer[3]}")
        length = _ADDRESS_LENGTHS[buffer[3]]
        size = 4 + (1 + buffer[4] if length is None else length) + 2
        return self._take(size)

    def _authority(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"{host}:{self._port}"


class Socks4Handshake(SocksHandshake):
    """SOCKS4 CONNECT to an IPv4 address, or SOCKS4a (`remote_dns`) to a host name."""

    __slots__ = ("_authority",)

    def __init__(
        self, host: str, port: int, *, user_id: bytes, remote_dns: bool, name: str
    ) -> None:
        super().__init__(name)
        self._authority = f"{host}:{port}"
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is not None and address.version == 6:
            raise ProxyError(f"SOCKS4 cannot reach the IPv6 address {host}: use socks5://")
        if address is None and not remote_dns:
            raise ProxyError(f"SOCKS4 needs an IPv4 address, got {host!r}")
        if b"\x00" in user_id:
            raise ProxyError("A SOCKS4 user id cannot contain NUL bytes")
        request: SOCKS4Request | SOCKS4ARequest
        if address is None:
            request = SOCKS4ARequest.from_address(SOCKS4Command.CONNECT, (host, port), user_id)
        else:
            request = SOCKS4Request.from_address(SOCKS4Command.CONNECT, (host, port), user_id)
        self._out += request.dumps()

    def _advance(self) -> None:
        frame = self._take(8)
        if frame is None:
            return
        reply = SOCKS4Reply.loads(frame)
        if reply.reply_code != SOCKS4ReplyCode.REQUEST_GRANTED:
            reason = _SOCKS4_REPLIES.get(reply.reply_code, "unknown error")
            code = reply.reply_code.value[0]
            raise ProxyError(
                f"The {self.name} could not connect to {self._authority}: {reason} "
                f"(SOCKS4 reply {code:#04x})"
            )
        self.done = True
