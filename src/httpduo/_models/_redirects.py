"""Building the request that follows a redirect response (no I/O; both clients use it).

The rules, as httpx documents and browsers behave:
- 301 and 302 turn a POST into a GET, 303 turns anything but HEAD into a GET; the
  body (and Content-Length / Transfer-Encoding) is dropped when the method changes.
  307 and 308 keep the method and the body.
- `Location` may be absolute, scheme-relative (`//host/path`) or relative; relative ones
  are resolved against the request URL. A missing fragment is inherited.
- `Authorization` is dropped when the redirect leaves the origin, except for the
  upgrade of the same host from http:80 to https:443; it is always dropped on an
  https → http downgrade (a different origin).
- `Cookie` is dropped: the client re-applies its jar for the new URL.
"""

from __future__ import annotations

from typing import Optional

from ._exceptions import InvalidURL, RemoteProtocolError, UnsupportedProtocol
from ._headers import Headers
from ._requests import Request
from ._responses import Response
from ._status_codes import codes
from ._streams import AsyncByteStream, SyncByteStream
from ._urls import URL

__all__ = ["build_redirect_request"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def build_redirect_request(request: Request, response: Response) -> Request:
    """The request to send for `response`, a redirect (3xx with a Location) to `request`."""
    method = redirect_method(request.method, response.status_code)
    url = redirect_url(request, response)
    headers = redirect_headers(request, url, method)
    stream: Optional[SyncByteStream | AsyncByteStream] = request.stream
    if method != request.method and method == "GET":
        stream = None
    return Request(method, url, headers=headers, stream=stream, extensions=request.extensions)


def redirect_method(method: str, status_code: int) -> str:
    if status_code == codes.SEE_OTHER and method != "HEAD":
        return "GET"
    if status_code in (codes.FOUND, codes.MOVED_PERMANENTLY) and method == "POST":
        return "GET"
    return method


def redirect_url(request: Request, response: Response) -> URL:
    location = response.headers["Location"]
    try:
        url = URL(location)
    except InvalidURL as exc:
        raise RemoteProtocolError(
            f"Invalid URL in the redirect's Location header {location!r}: {exc}",
            request=request,
        ) from None
    if url.scheme and url.scheme not in _DEFAULT_PORTS:
        # Checked before anything is filled in, so the error names what the server sent.
        raise UnsupportedProtocol(
            f"Redirect to {location!r}: the scheme {url.scheme!r} is not supported "
            "(only http and https are).",
            request=request,
        )
    # A "scheme-only" location like "https:///path" keeps the request's host.
    if url.scheme and not url.host:
        url = url.copy_with(host=request.url.host)
    if url.is_relative_url:
        url = request.url.join(url)
    if request.url.fragment and not url.fragment:
        url = url.copy_with(fragment=request.url.fragment)
    if url.scheme not in _DEFAULT_PORTS:
        raise UnsupportedProtocol(
            f"Redirect to {str(url)!r}: the scheme {url.scheme!r} is not supported "
            "(only http and https are).",
            request=request,
        )
    return url


def same_origin(url: URL, other: URL) -> bool:
    return url.scheme == other.scheme and url.host == other.host and _port(url) == _port(other)


def is_https_upgrade(url: URL, location: URL) -> bool:
    """http://host[:80] → https://host[:443]: the same site, now encrypted."""
    return (
        url.host == location.host
        and url.scheme == "http"
        and _port(url) == 80
        and location.scheme == "https"
        and _port(location) == 443
    )


def _port(url: URL) -> Optional[int]:
    return url.port or _DEFAULT_PORTS.get(url.scheme)


def redirect_headers(request: Request, url: URL, method: str) -> Headers:
    headers = request.headers.copy()
    if not same_origin(url, request.url):
        if not is_https_upgrade(request.url, url):
            headers.pop("Authorization", None)
        headers["Host"] = url.netloc.decode("ascii")
    if method != request.method and method == "GET":
        headers.pop("Content-Length", None)
        headers.pop("Transfer-Encoding", None)
        headers.pop("Content-Type", None)
    headers.pop("Cookie", None)
    return headers
