"""`httpx._types`: the type aliases of httpx's signatures (Starlette and litellm import
them at runtime, e.g. as default-argument annotations)."""

from __future__ import annotations

from typing import Union

from httpduo._models._config import Proxy
from httpduo._models._ssl import VerifyTypes
from httpduo._models._streams import AsyncByteStream, SyncByteStream
from httpduo._models._types import (
    AuthTypes,
    CertTypes,
    CookieTypes,
    FileContent,
    FileTypes,
    HeaderTypes,
    PrimitiveData,
    QueryParamTypes,
    RequestContent,
    RequestData,
    RequestExtensions,
    RequestFiles,
    ResponseContent,
    ResponseExtensions,
    TimeoutTypes,
    URLTypes,
)
from httpduo._models._urls import URL

ProxyTypes = Union[URL, str, Proxy]

__all__ = [
    "AsyncByteStream",
    "AuthTypes",
    "CertTypes",
    "CookieTypes",
    "FileContent",
    "FileTypes",
    "HeaderTypes",
    "PrimitiveData",
    "ProxyTypes",
    "QueryParamTypes",
    "RequestContent",
    "RequestData",
    "RequestExtensions",
    "RequestFiles",
    "ResponseContent",
    "ResponseExtensions",
    "SyncByteStream",
    "TimeoutTypes",
    "URLTypes",
    "VerifyTypes",
]
