"""The public API: `httpduo.__all__` is complete, sorted, and every class reports the
public module; every async method has a sync twin of the same shape."""

from __future__ import annotations

import inspect

import pytest

import httpduo

TWINS = [
    (httpduo.AsyncClient, httpduo.Client),
    (httpduo.AsyncHTTPTransport, httpduo.HTTPTransport),
    (httpduo.AsyncBaseTransport, httpduo.BaseTransport),
]


def test_all_is_sorted_and_complete() -> None:
    assert httpduo.__all__ == sorted(httpduo.__all__)
    for name in httpduo.__all__:
        assert hasattr(httpduo, name), name
    public = {name for name in vars(httpduo) if not name.startswith("_")}
    # Everything public at the top level is listed (submodules aside).
    listed = set(httpduo.__all__)
    assert {n for n in public if not inspect.ismodule(getattr(httpduo, n))} <= listed


def test_public_classes_report_httpduo_module() -> None:
    for name in httpduo.__all__:
        obj = getattr(httpduo, name)
        if inspect.isclass(obj):
            assert obj.__module__ == "httpduo", name


def test_httpx_names_are_present() -> None:
    # The part of httpx 0.28's public API that has landed so far.
    names = [
        "URL",
        "QueryParams",
        "Headers",
        "Cookies",
        "Request",
        "Response",
        "Timeout",
        "Limits",
        "Proxy",
        "codes",
        "Client",
        "AsyncClient",
        "HTTPTransport",
        "AsyncHTTPTransport",
        "BaseTransport",
        "AsyncBaseTransport",
        "SyncByteStream",
        "AsyncByteStream",
        "ByteStream",
        "Auth",
        "BasicAuth",
        "DigestAuth",
        "NetRCAuth",
        "FunctionAuth",
        "USE_CLIENT_DEFAULT",
        "create_ssl_context",
        "get",
        "options",
        "head",
        "post",
        "put",
        "patch",
        "delete",
        "request",
        "stream",
        "main",
        "HTTPError",
        "RequestError",
        "TransportError",
        "TimeoutException",
        "ConnectTimeout",
        "ReadTimeout",
        "WriteTimeout",
        "PoolTimeout",
        "NetworkError",
        "ConnectError",
        "ReadError",
        "WriteError",
        "CloseError",
        "ProtocolError",
        "LocalProtocolError",
        "RemoteProtocolError",
        "ProxyError",
        "UnsupportedProtocol",
        "DecodingError",
        "TooManyRedirects",
        "HTTPStatusError",
        "InvalidURL",
        "CookieConflict",
        "StreamError",
        "StreamConsumed",
        "StreamClosed",
        "ResponseNotRead",
        "RequestNotRead",
    ]
    missing = [name for name in names if not hasattr(httpduo, name)]
    assert missing == []


def _sync_name(name: str) -> str:
    renames = {"aclose": "close", "handle_async_request": "handle_request"}
    if name in renames:
        return renames[name]
    if name.startswith("__a") and name.endswith("__"):
        return "__" + name[3:]
    return name


@pytest.mark.parametrize(("async_cls", "sync_cls"), TWINS, ids=lambda c: c.__name__)
def test_every_async_method_has_a_sync_twin(async_cls: type, sync_cls: type) -> None:
    for name, member in inspect.getmembers(async_cls, inspect.isfunction):
        if name.startswith("_") and not name.startswith("__a"):
            continue
        twin = getattr(sync_cls, _sync_name(name), None)
        assert twin is not None, f"{sync_cls.__name__} lacks a twin of {name}"
        async_params = list(inspect.signature(member).parameters)
        sync_params = list(inspect.signature(twin).parameters)
        assert async_params == sync_params, name
