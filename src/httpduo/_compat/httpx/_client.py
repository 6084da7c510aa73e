"""`httpx._client`: the clients and the names their signatures use.

Starlette's TestClient evaluates `httpx._client.USE_CLIENT_DEFAULT` as a default
argument value, and Authlib subclasses `BaseClient`; all are httpduo's own.
"""

from __future__ import annotations

from httpduo._async._client import AsyncClient
from httpduo._models._client_config import BaseClient, EventHook
from httpduo._models._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT_CONFIG,
    USE_CLIENT_DEFAULT,
    Limits,
    Proxy,
    Timeout,
    UseClientDefault,
)
from httpduo._models._cookies import Cookies
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._types import (
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
from httpduo._models._urls import URL, QueryParams
from httpduo._sync._client import Client

from ._types import ProxyTypes

__all__ = [
    "DEFAULT_LIMITS",
    "DEFAULT_MAX_REDIRECTS",
    "DEFAULT_TIMEOUT_CONFIG",
    "URL",
    "USE_CLIENT_DEFAULT",
    "AsyncClient",
    "AuthTypes",
    "BaseClient",
    "CertTypes",
    "Client",
    "CookieTypes",
    "Cookies",
    "EventHook",
    "HeaderTypes",
    "Headers",
    "Limits",
    "Proxy",
    "ProxyTypes",
    "QueryParamTypes",
    "QueryParams",
    "Request",
    "RequestContent",
    "RequestData",
    "RequestExtensions",
    "RequestFiles",
    "Response",
    "Timeout",
    "TimeoutTypes",
    "UseClientDefault",
]
