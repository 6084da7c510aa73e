"""load_h2() swaps in a cheaper DATA-frame repr that must read exactly like hyperframe's."""

from __future__ import annotations

import binascii

import pytest

from tests.missing import import_or_missing

import_or_missing("h2", module_level=True)

import hyperframe.frame  # noqa: E402

from httpduo._codecs.h2 import load_h2  # noqa: E402


def reference_repr(data: bytes) -> str:
    # hyperframe's own rule, written out: hex of the serialised body, cut to 20 digits.
    if not data:
        return "None"
    digits = binascii.hexlify(data).decode("ascii")
    if len(digits) > 20:
        digits = digits[:20] + "..."
    return "<hex:" + digits + ">"


@pytest.mark.parametrize("size", [0, 1, 9, 10, 11, 12, 16384])
def test_data_frame_repr_is_unchanged(size: int) -> None:
    load_h2()
    assert hyperframe.frame._raw_data_repr.__module__ == "httpduo._codecs.h2"  # installed
    data = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = hyperframe.frame.DataFrame(1, data=data)
    assert repr(frame) == f"DataFrame(stream_id=1, flags=[]): {reference_repr(data)}"
    assert hyperframe.frame.DataFrame._body_repr.__module__ == "httpduo._codecs.h2"


@pytest.mark.parametrize("size", [0, 1, 5, 11, 40])
@pytest.mark.parametrize("pad_length", [0, 1, 3, 20])
def test_padded_data_frame_repr_is_unchanged(size: int, pad_length: int) -> None:
    load_h2()
    data = bytes(range(1, size + 1))
    frame = hyperframe.frame.DataFrame(3, data=data, flags=["PADDED"], pad_length=pad_length)
    expected = reference_repr(frame.serialize_body())  # the serialised body hyperframe shows
    assert repr(frame) == f"DataFrame(stream_id=3, flags=['PADDED']): {expected}"
