"""Exit statuses and the one-line messages for failures.

Rules:
- Codes follow curl's where curl has one for the same failure, so scripts written for
  curl's codes keep working; `EXIT_CODES_HELP` is the table shown by --help and must stay
  in step with `classify()`.
- Every failure becomes a single human line: no traceback, no embedded newlines.
"""

from __future__ import annotations

import socket
import ssl
from typing import Optional

import httpduo

__all__ = [
    "EXIT_CODES_HELP",
    "CliError",
    "classify",
    "one_line",
]

OK = 0
GENERIC = 1
USAGE = 2
INVALID_URL = 3
RESOLVE = 6
CONNECT = 7
HTTP_ERROR = 22
WRITE = 23
TIMEOUT = 28
TLS_HANDSHAKE = 35
REDIRECTS = 47
RECEIVE = 56
DECODING = 61
TLS_VERIFY = 60
PROXY = 97
INTERRUPTED = 130

EXIT_CODES_HELP = """\
\b
Exit status (curl's numbers where curl has one):
  0    a response was received, whatever its status (see --fail)
  1    other request failure (unsupported protocol or feature, local error)
  2    invalid command line
  3    invalid URL
  6    could not resolve the host name
  7    could not connect to the server
  22   --fail was given and the status was 400 or above
  23   could not write the output (download file exists without --force,
       disk full, ...)
  28   timed out (connect, read, write or pool timeout)
  35   TLS handshake failed
  47   too many redirects
  56   connection lost or invalid response while receiving
  60   the server's TLS certificate could not be verified
  61   the body could not be decoded (bad Content-Encoding data)
  97   proxy error
  130  interrupted (Ctrl-C)
"""


class CliError(Exception):
    """A failure to report as one line on stderr, ending the command with `code`."""

    def __init__(self, message: str, code: int = GENERIC) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines included) folded to one space."""
    return " ".join(text.split())


def _cause_chain(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: Optional[BaseException] = exc
    while current is not None and len(chain) < 8:  # bounded: chains can be cyclic
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _connect_failure(exc: httpduo.ConnectError) -> tuple[int, str]:
    for cause in _cause_chain(exc)[1:]:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return TLS_VERIFY, "TLS certificate verification failed"
        if isinstance(cause, ssl.SSLError):
            return TLS_HANDSHAKE, "TLS handshake failed"
        if isinstance(cause, socket.gaierror):
            return RESOLVE, "could not resolve host"
    return CONNECT, "could not connect"


def classify(exc: BaseException) -> CliError:
    """The exit status and one-line message for an exception raised by a request."""
    code, what = GENERIC, "request failed"
    if isinstance(exc, httpduo.InvalidURL):
        code, what = INVALID_URL, "invalid URL"
    elif isinstance(exc, httpduo.UnsupportedProtocol):
        what = "unsupported protocol"
    elif isinstance(exc, httpduo.TimeoutException):
        code, what = TIMEOUT, "timed out"
    elif isinstance(exc, httpduo.ProxyError):
        code, what = PROXY, "proxy error"
    elif isinstance(exc, httpduo.ConnectError):
        code, what = _connect_failure(exc)
    elif isinstance(exc, httpduo.TooManyRedirects):
        code, what = REDIRECTS, "too many redirects"
    elif isinstance(exc, (httpduo.NetworkError, httpduo.RemoteProtocolError)):
        code, what = RECEIVE, "connection failed while talking to the server"
    elif isinstance(exc, httpduo.DecodingError):
        code, what = DECODING, "could not decode the response body"
    elif isinstance(exc, (NotImplementedError, ImportError)):
        # Features not available in this build or environment (a proxy, HTTP/2 without
        # the h2 package, ...): a plain statement, not a crash.
        what = "not supported"
    detail = one_line(str(exc)) or type(exc).__name__
    return CliError(f"{what}: {detail}", code)
