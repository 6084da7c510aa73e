"""Behaviour of `Cookies`: the httpx 0.28 dict API and the jar round trip.

Requests and responses are the real `Request`/`Response` classes when they can be
imported; otherwise minimal stand-ins with the same attributes (`.url`, `.headers`,
`.method`; `.headers`, `.request`) that `Cookies` relies on.
"""

from __future__ import annotations

import pickle
import time
from dataclasses import dataclass, field
from http.cookiejar import Cookie, CookieJar, DefaultCookiePolicy
from typing import Any, Optional

import pytest

from httpduo._models._cookies import Cookies
from httpduo._models._exceptions import CookieConflict
from httpduo._models._headers import Headers

try:
    from httpduo._models._requests import Request as _RealRequest
except ImportError:  # pragma: no cover - depends on sibling modules being present
    _RealRequest = None  # type: ignore[assignment,misc]

try:
    from httpduo._models._responses import Response as _RealResponse
except ImportError:  # pragma: no cover
    _RealResponse = None  # type: ignore[assignment,misc]


@dataclass
class _StandInRequest:
    method: str
    url: str
    headers: Headers = field(default_factory=Headers)


@dataclass
class _StandInResponse:
    request: Any
    headers: Headers


def make_request(url: str, headers: Optional[dict[str, str]] = None) -> Any:
    if _RealRequest is not None:
        return _RealRequest("GET", url, headers=headers)
    return _StandInRequest("GET", url, Headers(headers))


def make_response(request: Any, *set_cookies: str) -> Any:
    headers = [("Set-Cookie", value) for value in set_cookies]
    if _RealResponse is not None:
        return _RealResponse(200, headers=headers, request=request)
    return _StandInResponse(request, Headers(headers))


def cookie_header(cookies: Cookies, url: str, **headers: str) -> Optional[str]:
    request = make_request(url, headers or None)
    cookies.set_cookie_header(request)
    value: Optional[str] = request.headers.get("cookie")
    return value


def receive(cookies: Cookies, url: str, *set_cookies: str) -> None:
    cookies.extract_cookies(make_response(make_request(url), *set_cookies))


def names(cookies: Cookies) -> list[tuple[str, str, str]]:
    return sorted((c.name, c.domain, c.path) for c in cookies.jar)


# -- construction ------------------------------------------------------------------------


def test_from_dict_and_list() -> None:
    assert dict(Cookies({"a": "1", "b": "2"})) == {"a": "1", "b": "2"}
    assert dict(Cookies([("a", "1"), ("b", "2")])) == {"a": "1", "b": "2"}
    assert dict(Cookies((("a", "1"),))) == {"a": "1"}  # type: ignore[arg-type]
    assert len(Cookies()) == 0
    assert len(Cookies(None)) == 0


def test_from_cookiejar_shares_it() -> None:
    jar = CookieJar()
    cookies = Cookies(jar)
    cookies["a"] = "1"
    assert cookies.jar is jar
    assert [c.name for c in jar] == ["a"]


def test_from_cookies_copies_the_jar() -> None:
    original = Cookies({"a": "1"})
    duplicate = Cookies(original)
    duplicate["b"] = "2"
    assert dict(duplicate) == {"a": "1", "b": "2"}
    assert dict(original) == {"a": "1"}


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="Cookies must be a dict"):
        Cookies("a=1")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"\(name, value\) pairs"):
        Cookies([("a",)])  # type: ignore[list-item]


# -- dict-like API -----------------------------------------------------------------------


def test_set_creates_a_session_cookie() -> None:
    cookies = Cookies()
    cookies.set("sid", "abc", domain=".example.org", path="/app")
    (cookie,) = cookies.jar
    assert (cookie.name, cookie.value) == ("sid", "abc")
    assert (cookie.domain, cookie.path) == (".example.org", "/app")
    assert cookie.domain_specified
    assert cookie.domain_initial_dot
    assert cookie.expires is None
    assert cookie.discard
    assert not cookie.secure


def test_get_and_conflicts() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="one.example")
    cookies.set("a", "2", domain="two.example")
    cookies.set("a", "3", domain="two.example", path="/sub")
    with pytest.raises(CookieConflict, match="Multiple cookies exist with name=a"):
        cookies.get("a")
    with pytest.raises(CookieConflict):
        cookies["a"]
    with pytest.raises(CookieConflict):
        cookies.get("a", domain="two.example")
    assert cookies.get("a", domain="one.example") == "1"
    assert cookies.get("a", domain="two.example", path="/") == "2"
    assert cookies.get("a", path="/sub") == "3"
    assert cookies.get("missing") is None
    assert cookies.get("missing", "fallback") == "fallback"
    assert cookies.get("a", "fallback", domain="three.example") == "fallback"


def test_getitem_missing_raises_keyerror() -> None:
    with pytest.raises(KeyError, match="'nope'"):
        Cookies({"a": "1"})["nope"]


def test_contains_len_iter_bool() -> None:
    cookies = Cookies()
    assert not cookies
    assert "a" not in cookies
    cookies.set("a", "1", domain="one.example")
    cookies.set("a", "2", domain="two.example")
    cookies["b"] = "3"
    assert cookies
    # Membership never raises CookieConflict, even with duplicates.
    assert "a" in cookies
    assert "c" not in cookies
    assert len(cookies) == 3
    assert sorted(cookies) == ["a", "a", "b"]


def test_bool_is_false_after_clearing_a_branch() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="example.org", path="/x")
    cookies.delete("a", domain="example.org", path="/x")
    assert not cookies
    assert len(cookies) == 0


def test_setitem_replaces_same_name_domain_path() -> None:
    cookies = Cookies()
    cookies["a"] = "1"
    cookies["a"] = "2"
    assert cookies["a"] == "2"
    assert len(cookies) == 1


def test_delete() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="one.example")
    cookies.set("a", "2", domain="two.example")
    cookies.set("a", "3", domain="two.example", path="/sub")
    cookies.set("b", "4", domain="two.example")
    cookies.delete("a", domain="two.example", path="/sub")
    assert names(cookies) == [
        ("a", "one.example", "/"),
        ("a", "two.example", "/"),
        ("b", "two.example", "/"),
    ]
    cookies.delete("a", domain="two.example")
    assert names(cookies) == [("a", "one.example", "/"), ("b", "two.example", "/")]
    cookies.delete("a")
    assert names(cookies) == [("b", "two.example", "/")]
    # Deleting what is not there is not an error (as httpx), whatever the arguments.
    cookies.delete("zzz")
    cookies.delete("zzz", domain="nowhere.example", path="/")
    del cookies["zzz"]
    del cookies["b"]
    assert len(cookies) == 0


def test_delete_by_path_only() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="one.example", path="/x")
    cookies.set("a", "2", domain="two.example", path="/y")
    cookies.delete("a", path="/x")
    assert names(cookies) == [("a", "two.example", "/y")]


def test_clear() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="one.example")
    cookies.set("b", "2", domain="one.example", path="/p")
    cookies.set("c", "3", domain="two.example", path="/p")
    cookies.clear(domain="one.example", path="/p")
    assert names(cookies) == [("a", "one.example", "/"), ("c", "two.example", "/p")]
    cookies.clear(domain="one.example")
    assert names(cookies) == [("c", "two.example", "/p")]
    cookies.clear(domain="absent.example")
    cookies.clear(domain="two.example", path="/absent")
    assert names(cookies) == [("c", "two.example", "/p")]
    cookies.clear()
    assert names(cookies) == []


def test_clear_by_path_alone_spans_domains() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="one.example", path="/p")
    cookies.set("b", "2", domain="two.example", path="/p")
    cookies.set("c", "3", domain="two.example", path="/q")
    cookies.clear(path="/p")
    assert names(cookies) == [("c", "two.example", "/q")]


def test_update() -> None:
    cookies = Cookies({"a": "1"})
    cookies.update({"a": "2", "b": "3"})
    assert dict(cookies) == {"a": "2", "b": "3"}
    other = Cookies()
    other.set("c", "4", domain="example.org")
    cookies.update(other)
    assert cookies.get("c", domain="example.org") == "4"
    cookies.update([("d", "5")])
    cookies.update(None)
    assert sorted(cookies) == ["a", "b", "c", "d"]


def test_repr() -> None:
    cookies = Cookies()
    assert repr(cookies) == "<Cookies[]>"
    cookies.set("a", "b", domain="example.org")
    assert repr(cookies) == "<Cookies[<Cookie a=b for example.org />]>"
    cookies["c"] = "d"
    text = repr(cookies)
    assert text.startswith("<Cookies[")
    assert text.endswith("]>")
    # In the jar's order, which the standard library's version decides.
    assert sorted(text[len("<Cookies[") : -len("]>")].split(", ")) == [
        "<Cookie a=b for example.org />",
        "<Cookie c=d for  />",
    ]


# -- round trips through the jar ---------------------------------------------------------


def test_set_cookie_round_trip() -> None:
    cookies = Cookies()
    receive(cookies, "http://example.org/", "session=abc; Path=/", "theme=dark")
    assert cookies["session"] == "abc"
    assert cookie_header(cookies, "http://example.org/anything") == "session=abc; theme=dark"


def test_host_only_cookies_stay_on_their_host() -> None:
    cookies = Cookies()
    receive(cookies, "http://example.org/", "a=1")
    assert cookie_header(cookies, "http://example.org/") == "a=1"
    assert cookie_header(cookies, "http://example.com/") is None
    assert cookie_header(cookies, "http://notexample.org/") is None


def test_domain_cookies_reach_subdomains() -> None:
    cookies = Cookies()
    receive(cookies, "http://www.example.org/", "wide=1; Domain=example.org")
    assert names(cookies) == [("wide", ".example.org", "/")]
    assert cookie_header(cookies, "http://api.example.org/") == "wide=1"
    assert cookie_header(cookies, "http://example.org/") == "wide=1"
    assert cookie_header(cookies, "http://example.net/") is None


def test_cookies_for_foreign_domains_are_refused() -> None:
    cookies = Cookies()
    receive(
        cookies,
        "http://example.org/",
        "evil=1; Domain=attacker.example",
        "tld=1; Domain=.org",
        "ok=1",
    )
    assert names(cookies) == [("ok", "example.org", "/")]


def test_path_matching() -> None:
    cookies = Cookies()
    receive(cookies, "http://example.org/api/v1/login", "scoped=1; Path=/api")
    assert cookie_header(cookies, "http://example.org/api") == "scoped=1"
    assert cookie_header(cookies, "http://example.org/api/v2/items") == "scoped=1"
    assert cookie_header(cookies, "http://example.org/") is None
    assert cookie_header(cookies, "http://example.org/other") is None


def test_default_path_is_the_request_directory() -> None:
    cookies = Cookies()
    receive(cookies, "http://example.org/docs/page", "d=1")
    assert names(cookies) == [("d", "example.org", "/docs")]
    assert cookie_header(cookies, "http://example.org/docs/other") == "d=1"
    assert cookie_header(cookies, "http://example.org/elsewhere") is None


def test_secure_cookies_are_not_sent_over_http() -> None:
    cookies = Cookies()
    receive(cookies, "https://example.org/", "s=1; Secure", "p=2")
    assert cookie_header(cookies, "https://example.org/") == "s=1; p=2"
    assert cookie_header(cookies, "http://example.org/") == "p=2"


def test_expired_cookies() -> None:
    cookies = Cookies()
    receive(
        cookies,
        "http://example.org/",
        "old=1; Expires=Thu, 01 Jan 1970 00:00:00 GMT",
        "fresh=1; Max-Age=3600",
    )
    assert list(cookies) == ["fresh"]
    (fresh,) = cookies.jar
    assert fresh.expires is not None
    assert fresh.expires > time.time()
    assert cookie_header(cookies, "http://example.org/") == "fresh=1"
    # The server deletes it again.
    receive(cookies, "http://example.org/", "fresh=gone; Max-Age=0")
    assert len(cookies) == 0
    assert cookie_header(cookies, "http://example.org/") is None


def test_cookies_expired_in_the_jar_are_not_sent() -> None:
    cookies = Cookies()
    cookies.jar.set_cookie(
        Cookie(
            version=0,
            name="stale",
            value="1",
            port=None,
            port_specified=False,
            domain="example.org",
            domain_specified=False,
            domain_initial_dot=False,
            path="/",
            path_specified=True,
            secure=False,
            expires=int(time.time()) - 10,
            discard=False,
            comment=None,
            comment_url=None,
            rest={},
            rfc2109=False,
        )
    )
    assert cookie_header(cookies, "http://example.org/") is None
    # Sending also purges it from the jar.
    assert len(cookies) == 0


def test_existing_cookie_header_is_left_alone() -> None:
    cookies = Cookies({"jar": "1"})
    cookies.set("a", "1", domain="example.org")
    assert cookie_header(cookies, "http://example.org/", Cookie="mine=1") == "mine=1"


def test_userinfo_does_not_confuse_the_domain() -> None:
    cookies = Cookies()
    receive(cookies, "http://user:secret@example.org/", "a=1")
    assert names(cookies) == [("a", "example.org", "/")]
    assert cookie_header(cookies, "http://other:pw@example.org/") == "a=1"


def test_ports_and_ip_addresses() -> None:
    cookies = Cookies()
    receive(cookies, "http://127.0.0.1:8080/", "ip=1")
    assert names(cookies) == [("ip", "127.0.0.1", "/")]
    # Cookies do not isolate by port (RFC 6265 section 8.5).
    assert cookie_header(cookies, "http://127.0.0.1:9090/") == "ip=1"
    assert cookie_header(cookies, "http://127.0.0.2:8080/") is None


def test_set_cookies_with_set_for_a_domain_are_sent_there() -> None:
    cookies = Cookies()
    cookies.set("a", "1", domain="example.org")
    assert cookie_header(cookies, "http://example.org/x") == "a=1"
    assert cookie_header(cookies, "http://example.com/x") is None


def test_jar_policy_is_respected() -> None:
    jar = CookieJar(policy=DefaultCookiePolicy(blocked_domains=["example.org"]))
    cookies = Cookies(jar)
    receive(cookies, "http://example.org/", "a=1")
    assert len(cookies) == 0


# -- the per-request fast paths ----------------------------------------------------------


class _Untouchable:
    """Raises on any access but `.headers`: proves a code path never looked further."""

    def __init__(self, headers: Headers) -> None:
        self.headers = headers

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"unexpected access to .{name}")


def test_extract_without_set_cookie_does_not_touch_the_request() -> None:
    cookies = Cookies({"a": "1"})
    response = _Untouchable(Headers({"Content-Type": "text/plain", "Cookie": "x=1"}))
    cookies.extract_cookies(response)
    assert dict(cookies) == {"a": "1"}


def test_extract_with_set_cookie_uses_the_request() -> None:
    response = _Untouchable(Headers({"SET-COOKIE": "a=1"}))
    with pytest.raises(AssertionError, match=r"unexpected access to \.request"):
        Cookies().extract_cookies(response)


def test_real_response_without_set_cookie() -> None:
    if _RealResponse is None:  # pragma: no cover
        pytest.skip("httpduo._models._responses is not available yet")
    cookies = Cookies()
    # No request attached: reaching for it would raise.
    cookies.extract_cookies(_RealResponse(200, headers={"X": "1"}))
    assert len(cookies) == 0


def test_set_cookie_header_with_an_empty_jar_does_not_touch_the_request() -> None:
    request = _Untouchable(Headers())
    Cookies().set_cookie_header(request)
    assert request.headers.raw == []


def test_set_cookie2_headers_are_noticed() -> None:
    response = _Untouchable(Headers({"Set-Cookie2": 'a="1"; Version="1"'}))
    with pytest.raises(AssertionError, match=r"unexpected access to \.request"):
        Cookies().extract_cookies(response)


# -- pickling ----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
def test_pickling(protocol: int) -> None:
    cookies = Cookies()
    receive(cookies, "https://example.org/app/page", "s=1; Secure; Path=/app", "p=2")
    restored = pickle.loads(pickle.dumps(cookies, protocol))
    assert names(restored) == names(cookies)
    assert repr(restored) == repr(cookies)
    # The restored jar is independent and fully working (it has its own lock).
    assert cookie_header(restored, "https://example.org/app/x") == "s=1; p=2"
    assert cookie_header(restored, "http://example.org/app/x") == "p=2"
    restored["new"] = "3"
    assert "new" not in cookies


class MyJar(CookieJar):
    """A jar subclass defined at module level, so that pickle can find it."""


def test_pickling_keeps_the_jar_class_and_policy() -> None:
    jar = MyJar(policy=DefaultCookiePolicy(blocked_domains=["blocked.example"]))
    jar_cookies = Cookies(jar)
    jar_cookies["a"] = "1"
    restored = pickle.loads(pickle.dumps(jar_cookies))
    assert type(restored.jar) is MyJar
    assert dict(restored) == {"a": "1"}
    receive(restored, "http://blocked.example/", "b=2")
    assert dict(restored) == {"a": "1"}


@dataclass
class _StandInURL:
    """The URL attributes the cookie adapter reads (httpduo.URL documents these)."""

    scheme: str
    netloc: bytes
    raw_path: bytes


def _url_object(text: str, scheme: str, netloc: bytes, raw_path: bytes) -> Any:
    try:
        from httpduo._models._urls import URL
    except ImportError:  # pragma: no cover - depends on the sibling module
        return _StandInURL(scheme, netloc, raw_path)
    return URL(text)


def test_url_objects_are_read_by_their_attributes() -> None:
    cookies = Cookies()
    url = _url_object(
        "https://user:pw@api.example.org:8443/v1/items?q=1",
        "https",
        b"api.example.org:8443",
        b"/v1/items?q=1",
    )
    request = _StandInRequest("GET", url)
    cookies.extract_cookies(_StandInResponse(request, Headers({"Set-Cookie": "t=1; Secure"})))
    assert names(cookies) == [("t", "api.example.org", "/v1")]
    again = _StandInRequest("GET", url)
    cookies.set_cookie_header(again)
    assert again.headers["cookie"] == "t=1"
