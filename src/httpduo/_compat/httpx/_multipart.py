"""`httpx._multipart`: the multipart/form-data body and its fields."""

from __future__ import annotations

from typing import Optional

from httpduo._models._multipart import DataField, FileField, MultipartStream

__all__ = [
    "DataField",
    "FileField",
    "MultipartStream",
    "get_multipart_boundary_from_content_type",
]


def get_multipart_boundary_from_content_type(content_type: Optional[bytes]) -> Optional[bytes]:
    """The `boundary` parameter of a `multipart/form-data` Content-Type, or None."""
    if not content_type or not content_type.startswith(b"multipart/form-data"):
        return None
    for parameter in content_type.split(b";")[1:]:
        name, _, value = parameter.strip().partition(b"=")
        if name.lower() == b"boundary":
            return value.strip(b'"')
    return None
