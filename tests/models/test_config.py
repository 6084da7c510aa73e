from __future__ import annotations

import base64
import copy
import inspect
import math
import pickle
from typing import Any

import pytest

import httpduo
from httpduo._models._config import (
    DEFAULT_LIMITS,
    DEFAULT_MAX_REDIRECTS,
    DEFAULT_TIMEOUT_CONFIG,
    Limits,
    Proxy,
    Timeout,
)
from httpduo._models._urls import URL

FIELDS = ("connect", "read", "write", "pool")


def values(timeout: Timeout) -> tuple[Any, ...]:
    return tuple(getattr(timeout, name) for name in FIELDS)


# --- Timeout: construction rules -------------------------------------------------------


def test_timeout_single_value_sets_all_four() -> None:
    timeout = Timeout(5.0)
    assert values(timeout) == (5.0, 5.0, 5.0, 5.0)
    assert Timeout(timeout=5.0) == timeout


def test_timeout_none_disables_all_four() -> None:
    assert values(Timeout(None)) == (None, None, None, None)


def test_timeout_from_tuple_is_connect_read_write_pool() -> None:
    assert values(Timeout((1.0, 2.0, 3.0, 4.0))) == (1.0, 2.0, 3.0, 4.0)
    assert values(Timeout((1.0, None, 3.0, None))) == (1.0, None, 3.0, None)


@pytest.mark.parametrize("bad", [(), (1.0,), (1.0, 2.0), (1.0, 2.0, 3.0, 4.0, 5.0)])
def test_timeout_tuple_must_have_four_entries(bad: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="four entries"):
        Timeout(bad)  # type: ignore[arg-type]


def test_timeout_from_timeout_copies() -> None:
    original = Timeout(1.0, read=2.0)
    copied = Timeout(original)
    assert copied == original
    assert values(copied) == (1.0, 2.0, 1.0, 1.0)


def test_timeout_keyword_overrides_the_default() -> None:
    assert values(Timeout(5.0, connect=10.0)) == (10.0, 5.0, 5.0, 5.0)
    assert values(Timeout(None, read=3.0)) == (None, 3.0, None, None)
    assert values(Timeout(5.0, pool=None)) == (5.0, 5.0, 5.0, None)


def test_timeout_keyword_overrides_a_tuple_or_a_timeout() -> None:
    assert values(Timeout((1.0, 2.0, 3.0, 4.0), write=None)) == (1.0, 2.0, None, 4.0)
    assert values(Timeout(Timeout(1.0), connect=9.0)) == (9.0, 1.0, 1.0, 1.0)


def test_timeout_all_four_keywords_without_default() -> None:
    timeout = Timeout(connect=1.0, read=2.0, write=None, pool=4.0)
    assert values(timeout) == (1.0, 2.0, None, 4.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"connect": 5.0},
        {"connect": 5.0, "read": 5.0, "write": 5.0},
        {"read": None, "write": None, "pool": None},
    ],
)
def test_timeout_without_default_needs_all_four(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as info:
        Timeout(**kwargs)
    message = str(info.value)
    assert "must either include a default, or set all four parameters explicitly" in message


@pytest.mark.parametrize("field", FIELDS)
def test_timeout_negative_value_names_the_field(field: str) -> None:
    with pytest.raises(ValueError, match=f"'{field}'"):
        Timeout(5.0, **{field: -1.0})


def test_timeout_negative_default_is_rejected() -> None:
    with pytest.raises(ValueError, match="'timeout' must be a non-negative"):
        Timeout(-0.5)
    with pytest.raises(ValueError, match="'write'"):
        Timeout((1.0, 1.0, -1.0, 1.0))


@pytest.mark.parametrize("bad", ["5", b"5", [5.0], True, object()])
def test_timeout_rejects_non_numbers(bad: object) -> None:
    with pytest.raises(TypeError, match="'read'"):
        Timeout(5.0, read=bad)  # type: ignore[arg-type]


def test_timeout_rejects_nan_and_accepts_zero_and_infinity() -> None:
    with pytest.raises(ValueError, match="'timeout'"):
        Timeout(math.nan)
    assert Timeout(0).connect == 0
    assert Timeout(math.inf).pool == math.inf


def test_timeout_keeps_ints_as_given() -> None:
    timeout = Timeout(3)
    assert timeout.read == 3
    assert repr(timeout) == "Timeout(timeout=3)"


# --- Timeout: behaviour of the object --------------------------------------------------


def test_timeout_as_dict() -> None:
    timeout = Timeout(5.0, connect=1.0)
    assert timeout.as_dict() == {"connect": 1.0, "read": 5.0, "write": 5.0, "pool": 5.0}
    assert list(timeout.as_dict()) == ["connect", "read", "write", "pool"]
    # Built once: it is handed to every request.
    assert timeout.as_dict() is timeout.as_dict()


@pytest.mark.parametrize("field", FIELDS)
def test_timeout_is_immutable(field: str) -> None:
    timeout = Timeout(5.0)
    with pytest.raises(AttributeError):
        setattr(timeout, field, 1.0)
    with pytest.raises(AttributeError):
        delattr(timeout, field)
    with pytest.raises(AttributeError):
        timeout.other = 1  # type: ignore[attr-defined]
    assert getattr(timeout, field) == 5.0


def test_timeout_equality_and_hash() -> None:
    assert Timeout(5.0) == Timeout((5.0, 5.0, 5.0, 5.0))
    assert Timeout(5.0) == Timeout(5)
    assert Timeout(5.0) != Timeout(5.0, pool=1.0)
    assert Timeout(None) != Timeout(0)
    assert Timeout(5.0) != 5.0
    assert Timeout(5.0) != (5.0, 5.0, 5.0, 5.0)
    assert len({Timeout(5.0), Timeout(5.0), Timeout(timeout=5.0), Timeout(1.0)}) == 2
    assert {Timeout(2.0): "x"}[Timeout((2.0, 2.0, 2.0, 2.0))] == "x"


def test_timeout_repr() -> None:
    assert repr(Timeout(5.0)) == "Timeout(timeout=5.0)"
    assert repr(Timeout(None)) == "Timeout(timeout=None)"
    assert repr(Timeout(5.0, connect=10.0)) == (
        "Timeout(connect=10.0, read=5.0, write=5.0, pool=5.0)"
    )
    assert repr(Timeout((1, None, 3, 4))) == "Timeout(connect=1, read=None, write=3, pool=4)"


def test_timeout_survives_copy_and_pickle() -> None:
    timeout = Timeout(5.0, read=None)
    assert copy.copy(timeout) == timeout
    assert copy.deepcopy(timeout) == timeout
    restored = pickle.loads(pickle.dumps(timeout))
    assert restored == timeout
    assert restored.as_dict() == timeout.as_dict()
    assert hash(restored) == hash(timeout)


def test_default_timeout() -> None:
    assert Timeout(5.0) == DEFAULT_TIMEOUT_CONFIG
    assert repr(DEFAULT_TIMEOUT_CONFIG) == "Timeout(timeout=5.0)"


# --- Limits ------------------------------------------------------------------------------


def test_limits_defaults_mean_no_limit_as_in_httpx() -> None:
    limits = Limits()
    assert limits.max_connections is None
    assert limits.max_keepalive_connections is None
    assert limits.keepalive_expiry == 5.0
    assert limits != DEFAULT_LIMITS
    assert repr(limits) == (
        "Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=5.0)"
    )
    # One setting given leaves the others unlimited.
    assert Limits(max_connections=10).max_keepalive_connections is None


def test_clients_and_transports_default_to_100_and_20() -> None:
    assert Limits(max_connections=100, max_keepalive_connections=20) == DEFAULT_LIMITS
    assert repr(DEFAULT_LIMITS) == (
        "Limits(max_connections=100, max_keepalive_connections=20, keepalive_expiry=5.0)"
    )
    for owner in (httpduo.Client, httpduo.AsyncClient, httpduo.HTTPTransport):
        default = inspect.signature(owner).parameters["limits"].default
        assert default == DEFAULT_LIMITS, owner


def test_limits_none_means_unlimited() -> None:
    limits = Limits(max_connections=None, max_keepalive_connections=None, keepalive_expiry=None)
    assert (limits.max_connections, limits.max_keepalive_connections) == (None, None)
    assert limits.keepalive_expiry is None


def test_limits_accepts_edge_values() -> None:
    limits = Limits(max_connections=1, max_keepalive_connections=0, keepalive_expiry=0)
    assert (limits.max_connections, limits.max_keepalive_connections) == (1, 0)
    assert limits.keepalive_expiry == 0


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_connections": 0}, "max_connections"),
        ({"max_connections": -5}, "max_connections"),
        ({"max_keepalive_connections": -1}, "max_keepalive_connections"),
        ({"keepalive_expiry": -1.0}, "keepalive_expiry"),
        ({"keepalive_expiry": math.nan}, "keepalive_expiry"),
    ],
)
def test_limits_rejects_out_of_range_values(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ValueError, match=name):
        Limits(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"max_connections": 10.5}, "max_connections"),
        ({"max_connections": "10"}, "max_connections"),
        ({"max_keepalive_connections": True}, "max_keepalive_connections"),
        ({"keepalive_expiry": "5"}, "keepalive_expiry"),
    ],
)
def test_limits_rejects_wrong_types(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(TypeError, match=name):
        Limits(**kwargs)


def test_limits_arguments_are_keyword_only() -> None:
    with pytest.raises(TypeError):
        Limits(10)  # type: ignore[call-arg]


def test_limits_is_immutable_hashable_and_comparable() -> None:
    limits = Limits(max_connections=10)
    with pytest.raises(AttributeError):
        limits.max_connections = 20
    assert limits.max_connections == 10
    assert limits == Limits(max_connections=10, max_keepalive_connections=None)
    assert limits != Limits(max_connections=11)
    assert limits != "Limits"
    assert len({limits, Limits(max_connections=10), Limits()}) == 2
    assert pickle.loads(pickle.dumps(limits)) == limits


def test_default_redirects() -> None:
    assert DEFAULT_MAX_REDIRECTS == 20


# --- Proxy -------------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_proxy_without_credentials() -> None:
    proxy = Proxy("http://proxy.example:8080")
    assert isinstance(proxy.url, URL)
    assert str(proxy.url) == "http://proxy.example:8080"
    assert proxy.auth is None
    assert proxy.raw_auth is None
    assert proxy.ssl_context is None
    assert dict(proxy.headers) == {}
    assert "proxy-authorization" not in proxy.request_headers
    assert repr(proxy) == "Proxy('http://proxy.example:8080')"


def test_proxy_accepts_a_url_instance() -> None:
    proxy = Proxy(URL("https://proxy.example"))
    assert proxy.url == URL("https://proxy.example")
    assert proxy.url.scheme == "https"


def test_proxy_auth_from_url_is_percent_decoded_and_removed_from_url() -> None:
    proxy = Proxy("http://us%40er:p%3Ass%2Fw%C3%B6rd@proxy.example:8080")
    assert proxy.auth == ("us@er", "p:ss/wörd")
    assert proxy.raw_auth == (b"us@er", "p:ss/wörd".encode())
    assert str(proxy.url) == "http://proxy.example:8080"
    assert proxy.url.userinfo == b""
    assert proxy.url.username == ""


def test_proxy_username_without_password() -> None:
    proxy = Proxy("http://user@proxy.example")
    assert proxy.auth == ("user", "")
    assert proxy.request_headers["Proxy-Authorization"] == basic("user", "")


def test_proxy_auth_argument() -> None:
    proxy = Proxy("http://proxy.example:8080", auth=("user", "secret"))
    assert proxy.auth == ("user", "secret")
    assert proxy.raw_auth == (b"user", b"secret")
    assert str(proxy.url) == "http://proxy.example:8080"


def test_proxy_url_credentials_win_over_auth_argument() -> None:
    proxy = Proxy("http://a:b@proxy.example", auth=("x", "y"))
    assert proxy.auth == ("a", "b")


@pytest.mark.parametrize("auth", ["user:pass", ("user",), ("user", 1), ["user", "pass"]])
def test_proxy_rejects_malformed_auth(auth: Any) -> None:
    with pytest.raises(TypeError, match="auth"):
        Proxy("http://proxy.example", auth=auth)


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_proxy_authorization_header_for_http_proxies(scheme: str) -> None:
    proxy = Proxy(f"{scheme}://proxy.example", auth=("user", "pässword"), headers={"X-A": "1"})
    expected = "Basic " + base64.b64encode("user:pässword".encode()).decode()
    assert proxy.request_headers["Proxy-Authorization"] == expected
    assert proxy.request_headers["X-A"] == "1"
    # `.headers` stays what the caller passed, as in httpx.
    assert dict(proxy.headers) == {"x-a": "1"}


def test_proxy_keeps_a_caller_supplied_authorization_header() -> None:
    proxy = Proxy(
        "http://proxy.example",
        auth=("user", "secret"),
        headers={"Proxy-Authorization": "Bearer token"},
    )
    assert proxy.request_headers.get_list("proxy-authorization") == ["Bearer token"]


@pytest.mark.parametrize("scheme", ["socks5", "socks5h", "socks4", "socks4a"])
def test_socks_proxy_has_no_authorization_header(scheme: str) -> None:
    proxy = Proxy(f"{scheme}://user:secret@proxy.example:1080")
    assert proxy.url.scheme == scheme
    assert proxy.raw_auth == (b"user", b"secret")
    assert "proxy-authorization" not in proxy.request_headers


@pytest.mark.parametrize("url", ["ftp://proxy.example", "ws://proxy.example", "proxy.example"])
def test_proxy_rejects_unknown_schemes(url: str) -> None:
    with pytest.raises(ValueError, match="Unknown scheme for proxy URL"):
        Proxy(url)


def test_proxy_rejects_wrong_url_type() -> None:
    with pytest.raises(TypeError, match="Invalid type for url"):
        Proxy(123)  # type: ignore[arg-type]


def test_proxy_repr_hides_the_password() -> None:
    from_url = Proxy("http://user:hunter2@proxy.example:8080")
    from_kwarg = Proxy("http://proxy.example:8080", auth=("user", "hunter2"))
    for proxy in (from_url, from_kwarg):
        text = repr(proxy)
        assert "hunter2" not in text
        assert text == "Proxy('http://proxy.example:8080', auth=('user', '********'))"


def test_proxy_repr_shows_headers_but_masks_authorization() -> None:
    proxy = Proxy(
        "http://proxy.example",
        headers={"X-Custom": "1", "Proxy-Authorization": "Basic c2VjcmV0"},
    )
    text = repr(proxy)
    assert "c2VjcmV0" not in text
    assert "'x-custom': '1'" in text


def test_proxy_is_immutable_and_hashable() -> None:
    proxy = Proxy("http://user:pw@proxy.example", headers={"X": "1"})
    with pytest.raises(AttributeError):
        proxy.url = URL("http://elsewhere")
    with pytest.raises(AttributeError):
        proxy.auth = None
    same = Proxy("http://proxy.example", auth=("user", "pw"), headers={"X": "1"})
    assert proxy == same
    assert hash(proxy) == hash(same)
    assert proxy != Proxy("http://proxy.example", auth=("user", "other"), headers={"X": "1"})
    assert proxy != Proxy("http://user:pw@proxy.example")
    assert proxy != "http://proxy.example"


def test_proxy_survives_pickle() -> None:
    proxy = Proxy("http://user:pw@proxy.example:3128", headers={"X": "1"})
    restored = pickle.loads(pickle.dumps(proxy))
    assert restored == proxy
    assert restored.request_headers["proxy-authorization"] == basic("user", "pw")
