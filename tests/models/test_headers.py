"""Behaviour of `Headers`: the httpx 0.28 API plus validation at the door."""

from __future__ import annotations

import copy
import pickle

import pytest

from httpduo._models import _headers
from httpduo._models._headers import Headers
from httpduo._models._requests import Request

# -- construction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        {"Content-Type": "text/plain", "X-Id": "1"},
        {b"Content-Type": b"text/plain", b"X-Id": b"1"},
        [("Content-Type", "text/plain"), ("X-Id", "1")],
        [(b"Content-Type", b"text/plain"), (b"X-Id", b"1")],
        (("Content-Type", "text/plain"), ("X-Id", "1")),
    ],
)
def test_accepted_input_forms(given: object) -> None:
    headers = Headers(given)  # type: ignore[arg-type]
    assert headers.raw == [(b"Content-Type", b"text/plain"), (b"X-Id", b"1")]
    assert headers["content-type"] == "text/plain"


def test_empty_and_none() -> None:
    assert Headers().raw == []
    assert Headers(None) == {}
    assert Headers({}) == []
    assert len(Headers()) == 0
    assert list(Headers()) == []


def test_from_headers_copies_not_shares() -> None:
    original = Headers({"A": "1"})
    duplicate = Headers(original)
    duplicate["B"] = "2"
    assert "b" not in original
    assert duplicate.raw == [(b"A", b"1"), (b"B", b"2")]


def test_mixed_str_and_bytes_items() -> None:
    headers = Headers([("A", b"1"), (b"B", "2")])  # type: ignore[arg-type]
    assert headers.raw == [(b"A", b"1"), (b"B", b"2")]


@pytest.mark.parametrize("bad", ["a: b", b"a: b", bytearray(b"x")])
def test_str_or_bytes_as_whole_headers_is_rejected(bad: object) -> None:
    with pytest.raises(TypeError, match="mapping or a sequence of"):
        Headers(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("empty", ["", b"", bytearray()])
def test_empty_str_or_bytes_means_no_headers(empty: object) -> None:
    """As in httpx, which iterates what it is given: `Request(..., headers="")` is seen in
    the wild and sends no extra headers."""
    assert Headers(empty).raw == []  # type: ignore[arg-type]
    headers = Headers({"a": "1"})
    headers.update(empty)  # type: ignore[arg-type]
    assert headers.raw == [(b"a", b"1")]
    request = Request("GET", "https://example.org/", headers=empty)  # type: ignore[arg-type]
    assert request.headers.raw == [(b"Host", b"example.org")]


@pytest.mark.parametrize("item", [("a",), ("a", "b", "c"), 5, None])
def test_items_that_are_not_pairs(item: object) -> None:
    with pytest.raises(TypeError, match=r"\(name, value\) pairs"):
        Headers([item])  # type: ignore[arg-type]


def test_wrong_value_and_name_types() -> None:
    with pytest.raises(TypeError, match="Header value must be str or bytes, not <class 'int'>"):
        Headers({"a": 1})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Header value must be str or bytes"):
        Headers({"a": None})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="Header name must be str or bytes, not <class 'int'>"):
        Headers({1: "a"})  # type: ignore[arg-type]


# -- case-insensitivity, casing and order ------------------------------------------------


def test_lookup_is_case_insensitive_and_raw_casing_is_kept() -> None:
    headers = Headers([("X-Request-ID", "abc")])
    for key in ("x-request-id", "X-REQUEST-ID", "X-Request-Id"):
        assert headers[key] == "abc"
        assert key in headers
        assert headers.get(key) == "abc"
    assert headers.raw == [(b"X-Request-ID", b"abc")]
    assert headers.multi_items() == [("x-request-id", "abc")]
    assert list(headers.keys()) == ["x-request-id"]


def test_bytes_keys_work_for_lookup() -> None:
    headers = Headers({"Accept": "*/*"})
    assert b"ACCEPT" in headers  # type: ignore[comparison-overlap]
    assert headers[b"accept"] == "*/*"  # type: ignore[index]


def test_non_ascii_lookalike_keys_never_match() -> None:
    # "\u212a" (KELVIN SIGN) lower-cases to "k" in Unicode, but header names are ASCII.
    headers = Headers({"k": "1"})
    assert "\u212a" not in headers
    assert headers.get("\u212a") is None


def test_membership_of_non_strings_is_false() -> None:
    headers = Headers({"a": "1"})
    assert 1 not in headers  # type: ignore[comparison-overlap]
    assert None not in headers


def test_insertion_order_is_preserved() -> None:
    names = ["Zeta", "alpha", "Mid", "beta"]
    headers = Headers([(name, "v") for name in names])
    assert [raw for raw, _ in headers.raw] == [name.encode() for name in names]
    assert list(headers) == [name.lower() for name in names]


# -- repeated headers --------------------------------------------------------------------


@pytest.fixture
def repeated() -> Headers:
    return Headers([("Set-Cookie", "a=1"), ("X", "x"), ("set-cookie", "b=2")])


def test_repeated_headers_in_each_view(repeated: Headers) -> None:
    assert repeated.raw == [(b"Set-Cookie", b"a=1"), (b"X", b"x"), (b"set-cookie", b"b=2")]
    assert repeated.multi_items() == [("set-cookie", "a=1"), ("x", "x"), ("set-cookie", "b=2")]
    assert list(repeated.keys()) == ["set-cookie", "x"]
    assert list(repeated.values()) == ["a=1, b=2", "x"]
    assert list(repeated.items()) == [("set-cookie", "a=1, b=2"), ("x", "x")]
    assert repeated["SET-COOKIE"] == "a=1, b=2"
    assert repeated.get_list("set-cookie") == ["a=1", "b=2"]
    assert list(repeated) == ["set-cookie", "x"]
    # As httpx: len() counts header lines, not distinct names.
    assert len(repeated) == 3


def test_get_list_split_commas() -> None:
    headers = Headers([("Accept", "text/html,  application/json ,"), ("accept", "*/*")])
    assert headers.get_list("accept") == ["text/html,  application/json ,", "*/*"]
    assert headers.get_list("accept", split_commas=True) == [
        "text/html",
        "application/json",
        "",
        "*/*",
    ]
    assert headers.get_list("missing") == []
    assert headers.get_list("missing", split_commas=True) == []


def test_get_list_split_commas_does_not_respect_quotes() -> None:
    # Documented limitation (as httpx): every comma splits, quoted or not.
    headers = Headers({"X": 'a="1,2", b'})
    assert headers.get_list("x", split_commas=True) == ['a="1', '2"', "b"]


# -- missing keys ------------------------------------------------------------------------


def test_missing_keys() -> None:
    headers = Headers({"a": "1"})
    with pytest.raises(KeyError, match="'nope'"):
        headers["nope"]
    with pytest.raises(KeyError, match="'nope'"):
        del headers["nope"]
    assert headers.get("nope") is None
    assert headers.get("nope", "fallback") == "fallback"
    assert "nope" not in headers


# -- mutation ----------------------------------------------------------------------------


def test_setitem_replaces_every_value_at_first_position() -> None:
    headers = Headers([("A", "1"), ("B", "2"), ("a", "3"), ("C", "4")])
    headers["a"] = "new"
    assert headers.raw == [(b"a", b"new"), (b"B", b"2"), (b"C", b"4")]


def test_setitem_appends_new_names_with_their_casing() -> None:
    headers = Headers({"A": "1"})
    headers["X-New"] = "v"
    headers[b"X-Bytes"] = b"w"  # type: ignore[index, assignment]
    assert headers.raw == [(b"A", b"1"), (b"X-New", b"v"), (b"X-Bytes", b"w")]


def test_delitem_removes_every_occurrence(repeated: Headers) -> None:
    del repeated["SET-COOKIE"]
    assert repeated.raw == [(b"X", b"x")]


def test_mutable_mapping_mixins() -> None:
    headers = Headers([("A", "1"), ("a", "2"), ("B", "3")])
    assert headers.pop("a") == "1, 2"
    assert headers.raw == [(b"B", b"3")]
    assert headers.setdefault("C", "4") == "4"
    assert headers.setdefault("c", "5") == "4"
    headers.clear()
    assert headers.raw == []


def test_update_replaces_named_keys_and_keeps_repeats() -> None:
    headers = Headers([("A", "1"), ("a", "2"), ("B", "3")])
    headers.update({"a": "x"})
    # As httpx: replaced headers move to the end.
    assert headers.raw == [(b"B", b"3"), (b"a", b"x")]
    headers.update([("b", "y"), ("B", "z"), ("C", "c")])
    assert headers.raw == [(b"a", b"x"), (b"b", b"y"), (b"B", b"z"), (b"C", b"c")]
    assert headers.get_list("b") == ["y", "z"]


def test_update_with_headers_none_and_empty() -> None:
    headers = Headers({"A": "1"})
    headers.update(None)
    headers.update({})
    headers.update(Headers({"b": "2"}))
    assert headers.raw == [(b"A", b"1"), (b"b", b"2")]


def test_update_validates_its_input() -> None:
    headers = Headers({"A": "1"})
    with pytest.raises(ValueError, match="header injection"):
        headers.update({"B": "x\r\nEvil: 1"})
    assert headers.raw == [(b"A", b"1")]


def test_copy_is_independent_and_keeps_encoding() -> None:
    headers = Headers({"A": "1"}, encoding="utf-8")
    duplicate = headers.copy()
    duplicate["B"] = "2"
    assert "b" not in headers
    assert duplicate.encoding == "utf-8"
    assert duplicate == {"a": "1", "b": "2"}
    assert copy.copy(headers) == headers
    assert copy.deepcopy(headers) == headers


# -- equality ----------------------------------------------------------------------------


def test_equality_with_headers_dicts_and_lists() -> None:
    headers = Headers([("Accept", "*/*"), ("X-Id", "1")])
    assert headers == Headers({"x-id": "1", "ACCEPT": "*/*"})
    assert headers == {"accept": "*/*", "x-id": "1"}
    assert headers == [("X-ID", "1"), ("accept", "*/*")]
    assert headers == (("accept", "*/*"), ("x-id", "1"))
    assert headers != {"accept": "*/*"}
    assert headers != {"accept": "*/*", "x-id": "2"}


def test_equality_counts_repeats_but_not_their_order() -> None:
    headers = Headers([("a", "1"), ("a", "2")])
    assert headers == [("a", "2"), ("A", "1")]
    assert headers != [("a", "1")]
    assert headers != {"a": "1, 2"}


def test_equality_with_unrelated_or_invalid_things_is_false() -> None:
    headers = Headers({"a": "1"})
    assert headers != 1
    assert headers != "a: 1"
    assert headers != None  # noqa: E711
    assert headers != [("bad name", "1")]
    assert headers != [("a",)]


def test_headers_are_unhashable() -> None:
    with pytest.raises(TypeError):
        hash(Headers())


# -- values: whitespace, encodings, sizes ------------------------------------------------


def test_surrounding_whitespace_of_values_is_stripped() -> None:
    headers = Headers([("A", "  spaced  "), ("B", b"\t tabbed \t"), ("C", "in  side")])  # type: ignore[arg-type]
    assert headers.raw == [(b"A", b"spaced"), (b"B", b"tabbed"), (b"C", b"in  side")]
    headers["D"] = " x "
    assert headers["d"] == "x"


def test_empty_values_are_allowed() -> None:
    headers = Headers({"A": "", "B": b"", "C": "   "})  # type: ignore[arg-type]
    assert headers.raw == [(b"A", b""), (b"B", b""), (b"C", b"")]
    assert headers["a"] == ""


def test_ascii_encoding_is_the_default() -> None:
    headers = Headers({"a": "plain"})
    assert headers.encoding == "ascii"
    assert repr(headers) == "Headers({'a': 'plain'})"


def test_non_ascii_str_values_are_utf8_encoded_and_round_trip() -> None:
    headers = Headers({"X-Name": "café ☕"})
    assert headers.raw == [(b"X-Name", "café ☕".encode())]
    assert headers.encoding == "utf-8"
    assert headers["x-name"] == "café ☕"
    assert repr(headers) == "Headers({'x-name': 'café ☕'}, encoding='utf-8')"


def test_explicit_encoding_is_used_for_str_values() -> None:
    headers = Headers({"X": "é"}, encoding="iso-8859-1")
    assert headers.raw == [(b"X", b"\xe9")]
    assert headers["x"] == "é"
    headers["Y"] = "ü"
    assert headers.raw[-1] == (b"Y", b"\xfc")


def test_explicit_ascii_encoding_refuses_non_ascii_text() -> None:
    with pytest.raises(UnicodeEncodeError):
        Headers({"X": "é"}, encoding="ascii")


def test_latin1_bytes_fall_back_to_iso_8859_1() -> None:
    # obs-text from the network: not valid UTF-8, decoded byte for byte.
    headers = Headers._from_raw([(b"Content-Disposition", b"attachment; filename=\xe9t\xe9")])
    assert headers.encoding == "iso-8859-1"
    assert headers["content-disposition"] == "attachment; filename=été"


def test_utf8_bytes_are_detected() -> None:
    headers = Headers({b"X": "日本".encode()})
    assert headers.encoding == "utf-8"
    assert headers["x"] == "日本"


def test_encoding_can_be_set_to_change_decoding() -> None:
    headers = Headers({b"X": "é".encode()})
    assert headers["x"] == "é"
    headers.encoding = "iso-8859-1"
    assert headers.encoding == "iso-8859-1"
    assert headers["x"] == "Ã©"
    assert headers.multi_items() == [("x", "Ã©")]


def test_detected_encoding_follows_mutation() -> None:
    headers = Headers({"A": "plain"})
    assert headers.encoding == "ascii"
    headers["B"] = "naïve"
    assert headers.encoding == "utf-8"
    assert headers["b"] == "naïve"
    del headers["B"]
    assert headers.encoding == "ascii"


def test_sixty_four_kib_values() -> None:
    big = "v" * 65536
    headers = Headers({"X-Big": big})
    assert headers["x-big"] == big
    assert len(headers.raw[0][1]) == 65536
    headers["X-Big"] = big.encode()  # type: ignore[assignment]
    assert headers.raw == [(b"X-Big", big.encode())]


def test_injection_is_found_at_the_end_of_a_huge_value() -> None:
    with pytest.raises(ValueError, match=r"'X-Big' contains a newline"):
        Headers({"X-Big": "v" * 65536 + "\nEvil: yes"})


# -- validation --------------------------------------------------------------------------

_INJECTION_CHARACTERS = [
    ("\r", r"a carriage return \(\\r\)"),
    ("\n", r"a newline \(\\n\)"),
    ("\r\n", r"a carriage return \(\\r\)"),
    ("\x00", r"a NUL byte \(\\x00\)"),
]


@pytest.mark.parametrize(("char", "described"), _INJECTION_CHARACTERS)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_injection_in_values_is_rejected(char: str, described: str, as_bytes: bool) -> None:
    value: str | bytes = f"ok{char}Injected: 1"
    if as_bytes:
        value = value.encode()  # type: ignore[union-attr]
    expected = f"Header value for 'X-Foo' contains {described}, which would allow header injection"
    with pytest.raises(ValueError, match=expected):
        Headers({"X-Foo": value})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=expected):
        Headers([("X-Foo", value)])  # type: ignore[arg-type]
    headers = Headers({"X-Foo": "safe"})
    with pytest.raises(ValueError, match=expected):
        headers["X-Foo"] = value  # type: ignore[assignment]
    assert headers.raw == [(b"X-Foo", b"safe")]


@pytest.mark.parametrize(("char", "described"), _INJECTION_CHARACTERS)
@pytest.mark.parametrize("as_bytes", [False, True])
def test_injection_in_names_is_rejected(char: str, described: str, as_bytes: bool) -> None:
    name: str | bytes = f"X-Foo{char}Injected"
    if as_bytes:
        name = name.encode()  # type: ignore[union-attr]
    pattern = f"Header name 'X-Foo.*Injected' contains {described}, which would allow header"
    with pytest.raises(ValueError, match=pattern):
        Headers({name: "v"})  # type: ignore[arg-type]
    headers = Headers()
    with pytest.raises(ValueError, match=pattern):
        headers[name] = "v"  # type: ignore[index]
    assert headers.raw == []


@pytest.mark.parametrize(
    ("name", "char"),
    [
        ("X Foo", "' '"),
        (" X-Foo", "' '"),
        ("X-Foo ", "' '"),
        ("X-Foo:", "':'"),
        ("Host: evil", "':'"),
        ("X\tFoo", r"'\\t'"),
        ("X(Foo)", "'\\('"),
        ('X"Foo', "'\"'"),
        ("X/Foo", "'/'"),
        ("X-Fóo", "'ó'"),
        ("X\x7fFoo", r"'\\x7f'"),
    ],
)
def test_invalid_name_characters_are_rejected(name: str, char: str) -> None:
    with pytest.raises(ValueError, match=f"contains an invalid character {char}; header names"):
        Headers({name: "v"})


def test_all_token_characters_are_valid_names() -> None:
    name = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    headers = Headers({name: "v"})
    assert headers[name.upper()] == "v"


@pytest.mark.parametrize("name", ["", b""])
def test_empty_names_are_rejected(name: str | bytes) -> None:
    with pytest.raises(ValueError, match="Header name must not be empty"):
        Headers({name: "v"})  # type: ignore[arg-type]


def test_other_control_characters_in_values_are_kept() -> None:
    # Only the bytes that can end a header line are refused; the rest is opaque data.
    headers = Headers({"X": "a\x01b\x7fc"})
    assert headers.raw == [(b"X", b"a\x01b\x7fc")]


def test_the_name_cache_is_bounded() -> None:
    for number in range(_headers._NAME_CACHE_MAX + 100):
        Headers({f"X-Generated-{number}": "v"})
    assert len(_headers._NAME_CACHE) <= _headers._NAME_CACHE_MAX


# -- the transport's fast constructor ----------------------------------------------------


def test_from_raw_trusts_and_keeps_bytes() -> None:
    raw = [(b"Content-Type", b"text/html"), (b"SET-COOKIE", b"a=1"), (b"set-cookie", b"b=2")]
    headers = Headers._from_raw(raw)
    assert headers.raw == raw
    assert headers.raw is not raw
    assert headers.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert headers["content-type"] == "text/html"
    assert Headers._from_raw(raw, encoding="utf-8").encoding == "utf-8"


def test_from_raw_can_validate_untrusted_bytes() -> None:
    with pytest.raises(ValueError, match="header injection"):
        Headers._from_raw([(b"X", b"a\r\nb")], validated=False)
    with pytest.raises(ValueError, match="invalid character"):
        Headers._from_raw([(b"X Y", b"a")], validated=False)
    assert Headers._from_raw([(b"X", b" a ")], validated=False).raw == [(b"X", b"a")]


# -- repr and pickling -------------------------------------------------------------------


def test_repr() -> None:
    assert repr(Headers()) == "Headers({})"
    assert repr(Headers({"A": "1", "B": "2"})) == "Headers({'a': '1', 'b': '2'})"
    assert repr(Headers([("a", "1"), ("A", "2")])) == "Headers([('a', '1'), ('a', '2')])"


def test_repr_masks_credentials() -> None:
    headers = Headers(
        [("Authorization", "Bearer s3cret"), ("Proxy-Authorization", "Basic x"), ("X", "y")]
    )
    text = repr(headers)
    assert "s3cret" not in text
    assert "Basic" not in text
    assert text == (
        "Headers({'authorization': '[secure]', 'proxy-authorization': '[secure]', 'x': 'y'})"
    )
    # The values themselves are untouched.
    assert headers["authorization"] == "Bearer s3cret"


def test_repr_of_subclass_uses_its_name() -> None:
    class MyHeaders(Headers):
        __slots__ = ()

    assert repr(MyHeaders({"a": "b"})) == "MyHeaders({'a': 'b'})"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling(protocol: int) -> None:
    headers = Headers([("A", "1"), ("a", "2"), ("B", "é")], encoding="utf-8")
    restored = pickle.loads(pickle.dumps(headers, protocol))
    assert restored.raw == headers.raw
    assert restored.encoding == "utf-8"
    assert restored == headers
    restored["C"] = "3"
    assert "c" not in headers


def test_pickling_keeps_auto_detection() -> None:
    restored = pickle.loads(pickle.dumps(Headers._from_raw([(b"X", b"\xe9")])))
    assert restored.encoding == "iso-8859-1"
    assert restored["x"] == "é"
