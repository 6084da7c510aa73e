"""Top-level functions (`httpduo.get(...)`, `httpduo.stream(...)`): one request each,
through a short-lived sync `Client`.

They are for scripts and the REPL: each call opens and closes its own connection. Code
making several requests should use a `Client`, which pools connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Optional, Union

from ._models._config import DEFAULT_TIMEOUT_CONFIG, Proxy
from ._models._responses import Response
from ._models._types import (
    AuthTypes,
    CertTypes,
    CookieTypes,
    HeaderTypes,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    TimeoutTypes,
)
from ._models._urls import URL
from ._sync._client import Client

__all__ = ["delete", "get", "head", "options", "patch", "post", "put", "request", "stream"]


def request(
    method: str,
    url: Union[URL, str],
    *,
    params: Optional[QueryParamTypes] = None,
    content: Optional[RequestContent] = None,
    data: Optional[RequestData] = None,
    files: Optional[RequestFiles] = None,
    json: Optional[Any] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    follow_redirects: bool = False,
    verify: Any = True,
    cert: Optional[CertTypes] = None,
    trust_env: bool = True,
    extensions: Optional[RequestExtensions] = None,
) -> Response:
    """Send one request and return the response, its body read.

    >>> response = httpduo.request("GET", "https://www.example.org/")
    """
    with Client(
        cookies=cookies,
        proxy=proxy,
        verify=verify,
        cert=cert,
        timeout=timeout,
        trust_env=trust_env,
    ) as client:
        return client.request(
            method=method,
            url=url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            auth=auth,
            follow_redirects=follow_redirects,
            extensions=extensions,
        )


@contextmanager
def stream(
    method: str,
    url: Union[URL, str],
    *,
    params: Optional[QueryParamTypes] = None,
    content: Optional[RequestContent] = None,
    data: Optional[RequestData] = None,
    files: Optional[RequestFiles] = None,
    json: Optional[Any] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    follow_redirects: bool = False,
    verify: Any = True,
    cert: Optional[CertTypes] = None,
    trust_env: bool = True,
    extensions: Optional[RequestExtensions] = None,
) -> Iterator[Response]:
    """Send one request and yield the response with its body unread (closed on exit).

    >>> with httpduo.stream("GET", "https://www.example.org/") as response:
    ...     for chunk in response.iter_bytes():
    ...         ...
    """
    with (
        Client(
            cookies=cookies,
            proxy=proxy,
            verify=verify,
            cert=cert,
            timeout=timeout,
            trust_env=trust_env,
        ) as client,
        client.stream(
            method=method,
            url=url,
            content=content,
            data=data,
            files=files,
            json=json,
            params=params,
            headers=headers,
            auth=auth,
            follow_redirects=follow_redirects,
            extensions=extensions,
        ) as response,
    ):
        yield response


def get(
    url: Union[URL, str],
    *,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a GET request (see `request`)."""
    return request(
        "GET",
        url,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )


def options(
    url: Union[URL, str],
    *,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a OPTIONS request (see `request`)."""
    return request(
        "OPTIONS",
        url,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )


def head(
    url: Union[URL, str],
    *,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a HEAD request (see `request`)."""
    return request(
        "HEAD",
        url,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )


def post(
    url: Union[URL, str],
    *,
    content: Optional[RequestContent] = None,
    data: Optional[RequestData] = None,
    files: Optional[RequestFiles] = None,
    json: Optional[Any] = None,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a POST request (see `request`)."""
    return request(
        "POST",
        url,
        content=content,
        data=data,
        files=files,
        json=json,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )


def put(
    url: Union[URL, str],
    *,
    content: Optional[RequestContent] = None,
    data: Optional[RequestData] = None,
    files: Optional[RequestFiles] = None,
    json: Optional[Any] = None,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a PUT request (see `request`)."""
    return request(
        "PUT",
        url,
        content=content,
        data=data,
        files=files,
        json=json,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )


def patch(
    url: Union[URL, str],
    *,
    content: Optional[RequestContent] = None,
    data: Optional[RequestData] = None,
    files: Optional[RequestFiles] = None,
    json: Optional[Any] = None,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a PATCH request (see `request`)."""
    return request(
        "PATCH",
        url,
        content=content,
        data=data,
        files=files,
        json=json,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )


def delete(
    url: Union[URL, str],
    *,
    params: Optional[QueryParamTypes] = None,
    headers: Optional[HeaderTypes] = None,
    cookies: Optional[CookieTypes] = None,
    auth: Optional[AuthTypes] = None,
    proxy: Union[URL, str, Proxy, None] = None,
    follow_redirects: bool = False,
    verify: Any = True,
    timeout: TimeoutTypes = DEFAULT_TIMEOUT_CONFIG,
    trust_env: bool = True,
) -> Response:
    """Send a DELETE request (see `request`)."""
    return request(
        "DELETE",
        url,
        params=params,
        headers=headers,
        cookies=cookies,
        auth=auth,
        proxy=proxy,
        follow_redirects=follow_redirects,
        verify=verify,
        timeout=timeout,
        trust_env=trust_env,
    )
