"""Proxies from the environment: get_environment_proxies() and mount_pattern()."""

from __future__ import annotations

from typing import Optional

import pytest

from httpduo._models._proxy_env import get_environment_proxies, mount_pattern
from httpduo._models._urls import URL

PROXY = "http://proxy.internal:3128"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """A monkeypatched environment without any proxy variable (nor REQUEST_METHOD)."""
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


def route(url: str) -> Optional[str]:
    """The proxy the environment sends `url` through (None: direct), as a client does:
    the most specific matching pattern wins."""
    patterns = sorted(
        ((mount_pattern(key), value) for key, value in get_environment_proxies().items()),
        key=lambda item: item[0].priority,
    )
    for pattern, value in patterns:
        if pattern.matches(URL(url)):
            return value
    return None


# -- the proxy variables ----------------------------------------------------------------


def test_no_variables_means_no_proxies(env: pytest.MonkeyPatch) -> None:
    assert get_environment_proxies() == {}
    env.setenv("NO_PROXY", "example.com")
    assert get_environment_proxies() == {}  # nothing to bypass


@pytest.mark.parametrize("case", [str.upper, str.lower])
def test_each_variable_in_either_case(env: pytest.MonkeyPatch, case: object) -> None:
    assert callable(case)
    env.setenv(case("http_proxy"), "http://h:1")
    env.setenv(case("https_proxy"), "http://s:2")
    env.setenv(case("all_proxy"), "socks5://a:3")
    assert get_environment_proxies() == {
        "http://": "http://h:1",
        "https://": "http://s:2",
        "all://": "socks5://a:3",
    }
    assert route("http://example.com/") == "http://h:1"
    assert route("https://example.com/") == "http://s:2"
    assert route("ws://example.com/") == "socks5://a:3"


def test_lower_case_wins_and_empty_counts_as_unset(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "http://upper:1")
    env.setenv("https_proxy", "http://lower:2")
    env.setenv("HTTP_PROXY", "http://upper:3")
    env.setenv("http_proxy", "  ")
    assert get_environment_proxies() == {"http://": "http://upper:3", "https://": "http://lower:2"}


def test_value_without_scheme_is_an_http_proxy(env: pytest.MonkeyPatch) -> None:
    env.setenv("HTTPS_PROXY", "proxy.internal:3128")
    assert get_environment_proxies() == {"https://": "http://proxy.internal:3128"}


def test_cgi_ignores_upper_case_http_proxy(env: pytest.MonkeyPatch) -> None:
    # Under CGI, HTTP_PROXY can come from a request's "Proxy:" header (httpoxy).
    env.setenv("REQUEST_METHOD", "GET")
    env.setenv("HTTP_PROXY", "http://attacker:1")
    env.setenv("HTTPS_PROXY", "http://s:2")
    assert get_environment_proxies() == {"https://": "http://s:2"}
    env.setenv("http_proxy", "http://admin:3")
    assert get_environment_proxies()["http://"] == "http://admin:3"


# -- NO_PROXY ---------------------------------------------------------------------------


@pytest.fixture
def proxied(env: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    env.setenv("ALL_PROXY", PROXY)
    return env


def test_no_proxy_star_disables_every_proxy(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv("NO_PROXY", "example.com, *")
    assert get_environment_proxies() == {}


@pytest.mark.parametrize("entry", ["example.com", ".example.com", "*.example.com", "EXAMPLE.COM"])
def test_no_proxy_host_name_covers_the_domain_and_subdomains(
    proxied: pytest.MonkeyPatch, entry: str
) -> None:
    proxied.setenv("NO_PROXY", entry)
    assert get_environment_proxies() == {"all://": PROXY, "all://*example.com": None}
    assert route("http://example.com/") is None
    assert route("https://www.example.com:8443/x") is None
    assert route("http://a.b.example.com/") is None
    assert route("http://notexample.com/") == PROXY
    assert route("http://example.com.evil.net/") == PROXY


def test_no_proxy_list_with_spaces_and_blanks(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv("no_proxy", " localhost , ,internal.corp,")
    assert get_environment_proxies() == {
        "all://": PROXY,
        "all://localhost": None,
        "all://*internal.corp": None,
    }
    assert route("http://localhost:8000/") is None
    assert route("http://git.internal.corp/") is None
    assert route("http://example.com/") == PROXY


def test_no_proxy_ip_addresses(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv("NO_PROXY", "127.0.0.1,::1,[fe80::1]")
    assert get_environment_proxies() == {
        "all://": PROXY,
        "all://127.0.0.1": None,
        "all://[::1]": None,
        "all://[fe80::1]": None,
    }
    assert route("http://127.0.0.1:8000/") is None
    assert route("http://[::1]:8000/") is None
    assert route("http://[0:0::1]/") is None  # the same address, written differently
    assert route("http://[fe80::1]/") is None
    assert route("http://127.0.0.2/") == PROXY
    assert route("http://[::2]/") == PROXY


def test_no_proxy_cidr_ranges(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv("NO_PROXY", "10.0.0.0/8,192.168.1.0/24,fd00::/8,172.16.5.4/12")
    assert get_environment_proxies() == {
        "all://": PROXY,
        "all://10.0.0.0/8": None,
        "all://192.168.1.0/24": None,
        "all://[fd00::]/8": None,
        "all://172.16.0.0/12": None,  # host bits dropped, as curl does
    }
    assert route("http://10.1.2.3/") is None
    assert route("https://10.255.255.255:8443/") is None
    assert route("http://192.168.1.77/") is None
    assert route("http://[fd12:3456::1]/") is None
    assert route("http://172.31.0.1/") is None
    assert route("http://11.0.0.1/") == PROXY
    assert route("http://192.168.2.1/") == PROXY
    assert route("http://[fe80::1]/") == PROXY
    # Names are never resolved: a name in a range's network still goes to the proxy.
    assert route("http://localhost/") == PROXY
    assert route("http://10.example.com/") == PROXY


def test_no_proxy_ports(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv("NO_PROXY", "example.com:8080,127.0.0.1:80,[::1]:443,internal.corp:443")
    assert get_environment_proxies() == {
        "all://": PROXY,
        "all://*example.com:8080": None,
        "all://127.0.0.1:80": None,
        "all://[::1]:443": None,
        "all://*internal.corp:443": None,
    }
    assert route("http://example.com:8080/") is None
    assert route("http://api.example.com:8080/") is None
    assert route("http://example.com/") == PROXY
    assert route("http://example.com:8081/") == PROXY
    # A URL without a port has its scheme's default port.
    assert route("http://127.0.0.1/") is None
    assert route("http://127.0.0.1:8000/") == PROXY
    assert route("https://[::1]/") is None
    assert route("http://[::1]/") == PROXY
    assert route("https://git.internal.corp/") is None
    assert route("http://git.internal.corp/") == PROXY


def test_no_proxy_scheme_qualified_entry(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv("NO_PROXY", "http://example.com,https://10.0.0.0/8")
    assert route("http://example.com/") is None
    assert route("https://example.com/") == PROXY
    assert route("https://10.2.3.4/") is None
    assert route("http://10.2.3.4/") == PROXY


def test_no_proxy_ignores_invalid_entries(proxied: pytest.MonkeyPatch) -> None:
    proxied.setenv(
        "NO_PROXY", "exa mple.com,10.0.0.0/33,host:99999,a:b:c:d:e:f:g:h:i,ok.example,::1/200"
    )
    assert get_environment_proxies() == {"all://": PROXY, "all://*ok.example": None}


def test_more_specific_routes_win(env: pytest.MonkeyPatch) -> None:
    env.setenv("ALL_PROXY", "socks5://all:1")
    env.setenv("HTTPS_PROXY", "http://tls:2")
    env.setenv("NO_PROXY", "10.0.0.0/8")
    assert route("https://example.com/") == "http://tls:2"
    assert route("http://example.com/") == "socks5://all:1"
    assert route("https://10.0.0.1/") is None


# -- mount_pattern for mounts= keys ------------------------------------------------------


def test_mount_pattern_plain_keys_behave_as_urlpattern() -> None:
    from httpduo._models._urlpatterns import URLPattern

    for key in ("all://", "https://", "all://*example.com", "http://example.com"):
        pattern = mount_pattern(key)
        assert type(pattern) is URLPattern
        assert pattern == URLPattern(key)


def test_mount_pattern_networks_and_ports() -> None:
    assert mount_pattern("all://10.0.0.0/8").matches(URL("http://10.9.9.9/"))
    assert not mount_pattern("all://10.0.0.0/8").matches(URL("http://11.0.0.1/"))
    assert mount_pattern("https://[fd00::]/8").matches(URL("https://[fd00::5]/"))
    assert not mount_pattern("https://[fd00::]/8").matches(URL("http://[fd00::5]/"))
    assert mount_pattern("http://example.com:80").matches(URL("http://example.com/"))
    with pytest.raises(ValueError, match="invalid IP network"):
        mount_pattern("all://10.0.0.0/99")
    with pytest.raises(ValueError, match="no scheme"):
        mount_pattern("example.com")


def test_mount_pattern_priority_orders_networks_before_schemes() -> None:
    patterns = sorted(
        [mount_pattern("all://"), mount_pattern("https://"), mount_pattern("all://10.0.0.0/8")],
        key=lambda pattern: pattern.priority,
    )
    assert [pattern.pattern for pattern in patterns] == ["all://10.0.0.0/8", "https://", "all://"]
