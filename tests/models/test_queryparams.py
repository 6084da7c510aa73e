"""Behaviour of `QueryParams`: an immutable multi-dict with the httpx 0.28 API."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Mapping

import pytest

from httpduo._models._urls import QueryParams

# -- construction ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "a=1&b=2&a=3",
        "?a=1&b=2&a=3",
        b"a=1&b=2&a=3",
        {"a": ["1", "3"], "b": "2"},
        {"a": ("1", "3"), "b": "2"},
        [("a", "1"), ("b", "2"), ("a", "3")],
        (("a", "1"), ("b", "2"), ("a", "3")),
        QueryParams("a=1&b=2&a=3"),
    ],
)
def test_every_input_form(given: object) -> None:
    params = QueryParams(given)  # type: ignore[arg-type]
    assert params.multi_items() == [("a", "1"), ("a", "3"), ("b", "2")]
    assert str(params) == "a=1&a=3&b=2"


def test_keyword_arguments() -> None:
    assert QueryParams(a=1, b="x").multi_items() == [("a", "1"), ("b", "x")]


@pytest.mark.parametrize("empty", [None, "", "?", b"", {}, [], ()])
def test_empty_inputs(empty: object) -> None:
    params = QueryParams(empty)  # type: ignore[arg-type]
    assert not params
    assert len(params) == 0
    assert str(params) == ""
    assert params == QueryParams()


def test_primitive_values_are_converted_like_httpx() -> None:
    params = QueryParams({"a": [1, 2.5, None, True, False, "s"], 1: 2})  # type: ignore[dict-item]
    assert params.multi_items() == [
        ("a", "1"),
        ("a", "2.5"),
        ("a", ""),
        ("a", "true"),
        ("a", "false"),
        ("a", "s"),
        ("1", "2"),
    ]


def test_pairs_with_primitive_values() -> None:
    params = QueryParams([("a", 1), ("b", None), ("a", True)])
    assert str(params) == "a=1&a=true&b="


def test_a_key_with_no_values_is_left_out() -> None:
    params = QueryParams({"a": [], "b": ()})
    assert not params
    assert "a" not in params


def test_parsing_decodes_percent_escapes_and_plus() -> None:
    params = QueryParams("a%20b=c+d%2Be&%C3%A9=%E4%BE%8B")
    assert params["a b"] == "c d+e"
    assert params["é"] == "例"


def test_parsing_blank_values_and_empty_fields() -> None:
    params = QueryParams("a=1&&b&c=&=x")
    assert params.multi_items() == [("a", "1"), ("b", ""), ("c", ""), ("", "x")]


def test_only_ampersand_separates_fields() -> None:
    assert QueryParams("a=1;b=2").multi_items() == [("a", "1;b=2")]


def test_value_may_contain_equals_signs() -> None:
    assert QueryParams("a=b=c")["a"] == "b=c"


def test_undecodable_escapes() -> None:
    params = QueryParams("a=%zz&b=%E4")
    assert params["a"] == "%zz"
    assert params["b"] == "\ufffd"


def test_only_one_leading_question_mark_is_ignored() -> None:
    assert QueryParams("??a=1").multi_items() == [("?a", "1")]


@pytest.mark.parametrize("bad", [3, 1.5, object()])
def test_invalid_input_type(bad: object) -> None:
    with pytest.raises(TypeError, match="Invalid type for params"):
        QueryParams(bad)  # type: ignore[arg-type]


def test_too_many_arguments() -> None:
    with pytest.raises(TypeError):
        QueryParams("a=1", "b=2")
    with pytest.raises(TypeError):
        QueryParams("a=1", b="2")


# -- reading ---------------------------------------------------------------------------


def test_mapping_interface_sees_the_first_value() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert isinstance(params, Mapping)
    assert list(params.keys()) == ["a", "b"]
    assert list(params.values()) == ["1", "2"]
    assert list(params.items()) == [("a", "1"), ("b", "2")]
    assert list(params) == ["a", "b"]
    assert len(params) == 2
    assert params["a"] == "1"
    assert dict(params) == {"a": "1", "b": "2"}
    assert "a" in params
    assert "z" not in params
    assert 1 not in params  # type: ignore[comparison-overlap]


def test_missing_key() -> None:
    params = QueryParams("a=1")
    with pytest.raises(KeyError):
        params["z"]
    assert params.get("z") is None
    assert params.get("z", 5) == 5
    assert params.get("a", 5) == "1"
    assert params.get_list("z") == []


def test_get_list_returns_a_copy() -> None:
    params = QueryParams("a=1&a=2")
    values = params.get_list("a")
    assert values == ["1", "2"]
    values.append("3")
    assert params.get_list("a") == ["1", "2"]


# -- deriving new instances ------------------------------------------------------------


def test_set_replaces_all_values_in_place() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert str(params.set("a", 9)) == "a=9&b=2"
    assert str(params.set("c", None)) == "a=1&a=3&b=2&c="
    assert str(params) == "a=1&a=3&b=2"


def test_add_appends() -> None:
    params = QueryParams("a=1")
    added = params.add("a", True).add("b", 2)
    assert added.multi_items() == [("a", "1"), ("a", "true"), ("b", "2")]
    assert params.multi_items() == [("a", "1")]


def test_remove() -> None:
    params = QueryParams("a=1&b=2&a=3")
    assert str(params.remove("a")) == "b=2"
    assert str(params.remove("z")) == "a=1&a=3&b=2"
    assert str(params) == "a=1&a=3&b=2"


def test_merge_replaces_keys_and_appends_new_ones() -> None:
    params = QueryParams("a=1&b=2&a=5")
    merged = params.merge({"a": 3, "c": [4, 5]})
    assert str(merged) == "a=3&b=2&c=4&c=5"
    assert str(params.merge()) == "a=1&a=5&b=2"
    assert str(params.merge("b=x&b=y")) == "a=1&a=5&b=x&b=y"
    assert str(params) == "a=1&a=5&b=2"


def test_derived_instances_do_not_share_value_lists() -> None:
    params = QueryParams("a=1")
    added = params.add("a", 2)
    added_again = params.add("a", 3)
    assert params.get_list("a") == ["1"]
    assert added.get_list("a") == ["1", "2"]
    assert added_again.get_list("a") == ["1", "3"]


# -- immutability ----------------------------------------------------------------------


def test_mutation_is_refused_with_a_hint() -> None:
    params = QueryParams("a=1")
    with pytest.raises(RuntimeError, match=r"immutable.*\.set\(key, value\).*\.add"):
        params["b"] = "2"
    with pytest.raises(RuntimeError, match=r"immutable.*merge"):
        params.update({"b": "2"})
    with pytest.raises(RuntimeError, match="immutable"):
        del params["a"]
    with pytest.raises(AttributeError):
        params.other = 1  # type: ignore[attr-defined]
    assert str(params) == "a=1"


# -- equality, hashing, text -----------------------------------------------------------


def test_equality_ignores_order() -> None:
    assert QueryParams("a=1&b=2") == QueryParams("b=2&a=1")
    assert QueryParams("a=1&a=2") == QueryParams("a=2&a=1")
    assert QueryParams("a=1&a=2") != QueryParams("a=1")
    assert QueryParams("a=1") != QueryParams("a=2")


def test_equality_with_other_types_is_false() -> None:
    assert QueryParams("a=1") != "a=1"
    assert QueryParams("a=1") != {"a": "1"}


def test_equal_instances_hash_equal() -> None:
    assert hash(QueryParams("a=1&b=2")) == hash(QueryParams("b=2&a=1"))
    assert len({QueryParams("a=1&b=2"), QueryParams("b=2&a=1")}) == 1


def test_str_is_form_urlencoded() -> None:
    params = QueryParams({"a b": "c&d=e", "é": "/?#", "x": "a+b", "t": "~-._"})
    assert str(params) == "a+b=c%26d%3De&%C3%A9=%2F%3F%23&x=a%2Bb&t=~-._"


def test_str_round_trips() -> None:
    params = QueryParams({"a b": ["c&d=e", "+%"], "é": "例", "": "empty key"})
    assert QueryParams(str(params)) == params
    assert str(QueryParams(str(params))) == str(params)


def test_repr() -> None:
    assert repr(QueryParams({"a": "b c"})) == "QueryParams('a=b+c')"
    assert repr(QueryParams()) == "QueryParams('')"


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickle_round_trip(protocol: int) -> None:
    params = QueryParams("a=1&b=x y&a=2&c")
    restored = pickle.loads(pickle.dumps(params, protocol=protocol))
    assert type(restored) is QueryParams
    assert restored.multi_items() == params.multi_items()
    assert str(restored) == str(params)


def test_copy() -> None:
    params = QueryParams("a=1&a=2")
    assert copy.copy(params).multi_items() == params.multi_items()
    assert copy.deepcopy(params).multi_items() == params.multi_items()
