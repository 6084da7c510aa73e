"""Behaviour of `URL`: parsing, normalisation, validation and derivation (httpx 0.28 API)."""

from __future__ import annotations

import copy
import operator
import pickle
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from httpduo._models._exceptions import InvalidURL
from httpduo._models._urls import URL, QueryParams

# -- parsing a full URL ----------------------------------------------------------------


def test_every_component_of_a_full_url() -> None:
    url = URL("HTTPS://jo%40email.com:a%20secret@müller.de:1234/pa%20th?search=ab#anchorlink")
    assert url.scheme == "https"
    assert url.raw_scheme == b"https"
    assert url.userinfo == b"jo%40email.com:a%20secret"
    assert url.username == "jo@email.com"
    assert url.password == "a secret"
    assert url.host == "müller.de"
    assert url.raw_host == b"xn--mller-kva.de"
    assert url.port == 1234
    assert url.netloc == b"xn--mller-kva.de:1234"
    assert url.path == "/pa th"
    assert url.query == b"search=ab"
    assert url.raw_path == b"/pa%20th?search=ab"
    assert url.fragment == "anchorlink"
    assert url.params == QueryParams({"search": "ab"})
    assert url.is_absolute_url
    assert not url.is_relative_url
    assert str(url) == (
        "https://jo%40email.com:a%20secret@xn--mller-kva.de:1234/pa%20th?search=ab#anchorlink"
    )


def test_absent_components_have_empty_values() -> None:
    url = URL("http://example.com")
    assert url.userinfo == b""
    assert url.username == ""
    assert url.password == ""
    assert url.port is None
    assert url.path == "/"
    assert url.raw_path == b"/"
    assert url.query == b""
    assert url.fragment == ""
    assert str(url) == "http://example.com"


def test_empty_query_and_fragment_are_kept_distinct_from_absent_ones() -> None:
    url = URL("http://example.com?#")
    assert url.query == b""
    assert url.raw_path == b"/?"
    assert url.fragment == ""
    assert str(url) == "http://example.com?#"
    assert url != URL("http://example.com")


def test_scheme_and_host_are_lowercased_but_path_is_not() -> None:
    url = URL("HtTp://ExAmPle.COM/Some/PATH?Q=V#F")
    assert url.scheme == "http"
    assert url.host == "example.com"
    assert str(url) == "http://example.com/Some/PATH?Q=V#F"


def test_the_issue_one_liner() -> None:
    assert str(URL("https://例え.jp/パス?q=1")) == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=1"


def test_the_issue_one_liner_runs_standalone_from_the_repository_root() -> None:
    root = Path(__file__).resolve().parents[2]
    code = (
        "import sys; sys.path.insert(0,'src'); from httpduo._models._urls import URL; "
        "print(URL('https://例え.jp/パス?q=1'))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9?q=1"


# -- relative URLs ---------------------------------------------------------------------


def test_empty_url() -> None:
    url = URL()
    assert url == URL("")
    assert str(url) == ""
    assert url.path == "/"
    assert url.raw_path == b"/"
    assert url.is_relative_url


@pytest.mark.parametrize(
    ("given", "path", "query", "fragment"),
    [
        ("/a/b", "/a/b", b"", ""),
        ("a/b", "a/b", b"", ""),
        ("?x=1", "/", b"x=1", ""),
        ("#top", "/", b"", "top"),
        ("../a/./b", "../a/./b", b"", ""),
    ],
)
def test_relative_urls(given: str, path: str, query: bytes, fragment: str) -> None:
    url = URL(given)
    assert url.scheme == ""
    assert url.host == ""
    assert url.is_relative_url
    assert url.path == path
    assert url.query == query
    assert url.fragment == fragment
    assert str(url) == given  # relative paths keep their dot segments


def test_network_path_reference() -> None:
    url = URL("//example.com:8080/x")
    assert url.scheme == ""
    assert url.host == "example.com"
    assert url.port == 8080
    assert url.is_relative_url  # no scheme
    assert str(url) == "//example.com:8080/x"


def test_scheme_without_host_is_relative() -> None:
    url = URL("mailto:someone@example.com")
    assert url.scheme == "mailto"
    assert url.host == ""
    assert url.path == "someone@example.com"
    assert url.is_relative_url
    assert str(url) == "mailto:someone@example.com"


def test_a_bare_host_port_parses_the_host_as_a_scheme() -> None:
    # RFC 3986: "localhost:8000" is the scheme "localhost" with path "8000".
    url = URL("localhost:8000")
    assert url.scheme == "localhost"
    assert url.path == "8000"


# -- hosts: IDN ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "given",
    [
        "https://例え.jp/",
        "https://xn--r8jz45g.jp/",
        "https://XN--R8JZ45G.JP/",
        "https://例え.JP/",
    ],
)
def test_idn_host_in_any_spelling(given: str) -> None:
    url = URL(given)
    assert url.host == "例え.jp"
    assert url.raw_host == b"xn--r8jz45g.jp"
    assert str(url) == "https://xn--r8jz45g.jp/"
    assert url == URL("https://例え.jp/")


def test_idn_label_among_ascii_labels_is_decoded_for_display() -> None:
    url = URL("https://www.例え.jp/")
    assert url.raw_host == b"www.xn--r8jz45g.jp"
    assert url.host == "www.例え.jp"


def test_uppercase_unicode_host_is_lowercased() -> None:
    url = URL("https://BÜCHER.de/")
    assert url.raw_host == b"xn--bcher-kva.de"
    assert url.host == "bücher.de"


def test_idna_uts46_mapping() -> None:
    assert URL("https://ß.de/").raw_host == b"xn--zca.de"  # non-transitional
    assert URL("https://a。jp/").raw_host == b"a.jp"  # ideographic full stop


def test_invalid_punycode_is_shown_as_is() -> None:
    url = URL("https://xn--zz.jp/")
    assert url.host == "xn--zz.jp"
    assert url.raw_host == b"xn--zz.jp"


@pytest.mark.parametrize("host", ["☃.net", "例え-.jp", "例" * 70 + ".jp", "a\u00a0例.jp"])
def test_invalid_idna_hosts(host: str) -> None:
    with pytest.raises(InvalidURL, match="Invalid IDNA hostname"):
        URL(f"https://{host}/")


@pytest.mark.parametrize("host", ["exa mple.com", "exa<mple.com", "a\\b", "a^b", "a|b", "a>b"])
def test_invalid_characters_in_host(host: str) -> None:
    with pytest.raises(InvalidURL, match="Invalid host"):
        URL(f"http://{host}/")


def test_reg_name_characters_and_escapes_are_allowed_in_host() -> None:
    assert URL("http://my_host~1/").raw_host == b"my_host~1"
    assert URL("http://a%41b/").raw_host == b"a%41b"


@pytest.mark.parametrize("host", ["a{b}", 'a"b', "a`b", "a%zzb", "a%", "!$&'()*+,;=_~"])
def test_host_characters_the_url_standard_allows(host: str) -> None:
    # The WHATWG host parser lets these through (httpx too); only its forbidden code
    # points raise.
    url = URL(f"http://{host}/x")
    assert url.raw_host == host.encode("ascii")
    assert str(url) == f"http://{host}/x"
    assert URL("http://h/").copy_with(host=host).raw_host == host.encode("ascii")


def test_opaque_host_of_a_non_special_scheme_may_be_a_lone_percent() -> None:
    assert URL("sc://%/").raw_host == b"%"
    assert str(URL("sc://%/")) == "sc://%/"


# -- hosts: IP literals ----------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "0.0.0.0", "255.255.255.255", "10.0.0.1"])
def test_valid_ipv4(host: str) -> None:
    url = URL(f"http://{host}:8000/")
    assert url.host == host
    assert url.raw_host == host.encode()
    assert url.netloc == f"{host}:8000".encode()


@pytest.mark.parametrize("host", ["1.2.3.256", "256.0.0.1", "01.2.3.4", "1.2.3.0400"])
def test_invalid_ipv4(host: str) -> None:
    with pytest.raises(InvalidURL, match="Invalid IPv4 address"):
        URL(f"http://{host}/")


@pytest.mark.parametrize("host", ["1.2.3", "1.2.3.4.5", "1.2.3.4a"])
def test_dotted_numbers_that_are_not_ipv4_are_names(host: str) -> None:
    assert URL(f"http://{host}/").raw_host == host.encode()


def test_ipv6_loopback() -> None:
    url = URL("http://[::1]:8080/path")
    assert url.host == "::1"
    assert url.raw_host == b"::1"
    assert url.port == 8080
    assert url.netloc == b"[::1]:8080"
    assert str(url) == "http://[::1]:8080/path"
    assert url._origin() == (b"http", b"::1", 8080)


def test_ipv6_is_lowercased_and_default_port_dropped() -> None:
    url = URL("https://[FE80::AB:1]:443/")
    assert url.raw_host == b"fe80::ab:1"
    assert url.port is None
    assert str(url) == "https://[fe80::ab:1]/"


def test_ipv6_with_embedded_ipv4() -> None:
    assert URL("http://[::ffff:192.0.2.1]/").host == "::ffff:192.0.2.1"


def test_ipv6_zone_id_rfc6874() -> None:
    url = URL("http://[fe80::1%25eth0]:80/")
    assert url.raw_host == b"fe80::1%25eth0"
    assert str(url) == "http://[fe80::1%25eth0]/"


@pytest.mark.parametrize(
    "authority", ["[::g]", "[1:2:3:4:5:6:7:8:9]", "[v1.x]", "[::1", "[fe80::1%eth0]", "[]"]
)
def test_invalid_ipv6(authority: str) -> None:
    with pytest.raises(InvalidURL, match="Invalid IPv6 address"):
        URL(f"http://{authority}/")


def test_unbracketed_ipv6_in_a_url_string_is_an_invalid_port() -> None:
    with pytest.raises(InvalidURL, match="Invalid port"):
        URL("http://::1/")


def test_junk_after_ipv6_brackets() -> None:
    with pytest.raises(InvalidURL, match="Invalid host"):
        URL("http://[::1]x/")


# -- ports -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scheme", "port"), [("http", 80), ("https", 443), ("ws", 80), ("wss", 443), ("ftp", 21)]
)
def test_default_port_is_normalised_away(scheme: str, port: int) -> None:
    url = URL(f"{scheme}://a.com:{port}/")
    assert url.port is None
    assert str(url) == f"{scheme}://a.com/"
    assert url == URL(f"{scheme}://a.com/")
    assert url.netloc == b"a.com"
    assert url._origin() == (scheme.encode(), b"a.com", port)


def test_https_443_equals_no_port() -> None:
    assert URL("https://a.com:443") == URL("https://a.com")
    assert str(URL("https://a.com:443")) == "https://a.com"


@pytest.mark.parametrize(("url", "port"), [("http://a.com:443", 443), ("https://a.com:80", 80)])
def test_other_schemes_default_port_is_kept(url: str, port: int) -> None:
    assert URL(url).port == port
    assert str(URL(url)) == url


def test_port_with_leading_zeros_and_empty_port() -> None:
    assert URL("http://a:08080").port == 8080
    assert str(URL("http://a:0080")) == "http://a"
    assert URL("http://a.com:").port is None
    assert str(URL("http://a.com:/x")) == "http://a.com/x"


def test_port_bounds() -> None:
    assert URL("http://a:0/").port == 0
    assert URL("http://a:65535/").port == 65535


@pytest.mark.parametrize("port", ["abc", "65536", "99999999", "+1", "-1", "٣", "80:90", "8 0"])
def test_invalid_ports_name_the_port(port: str) -> None:
    with pytest.raises(InvalidURL, match=re.escape(f"Invalid port: {port!r}")):
        URL(f"http://a.com:{port}/")


def test_origin_of_unknown_scheme_without_port() -> None:
    assert URL("foo://a/")._origin() == (b"foo", b"a", None)


# -- userinfo --------------------------------------------------------------------------


def test_userinfo_with_special_characters_is_encoded() -> None:
    url = URL("https://us er:p@ss:w@rd@host/")
    assert url.userinfo == b"us%20er:p%40ss:w%40rd"
    assert url.username == "us er"
    assert url.password == "p@ss:w@rd"
    assert url.host == "host"


def test_userinfo_encode_set() -> None:
    url = URL("https://u;x:a=b[c]^|!$&()*+,~'@host/")
    assert url.userinfo == b"u%3Bx:a%3Db%5Bc%5D%5E%7C!$&()*+,~'"
    assert url.password == "a=b[c]^|!$&()*+,~'"


def test_encoded_userinfo_is_decoded_not_reencoded() -> None:
    url = URL("https://jo%40email.com:a%3Asecret@host/")
    assert url.userinfo == b"jo%40email.com:a%3Asecret"
    assert url.username == "jo@email.com"
    assert url.password == "a:secret"


def test_empty_userinfo() -> None:
    assert str(URL("http://@a.com/")) == "http://a.com/"
    url = URL("http://:@a.com/")
    assert url.userinfo == b":"
    assert url.username == ""
    assert url.password == ""


def test_repr_masks_the_password() -> None:
    assert repr(URL("https://user:pass@host/")) == "URL('https://user:[secure]@host/')"
    assert repr(URL("https://user:@host/")) == "URL('https://user:[secure]@host/')"
    assert repr(URL("https://user@host/")) == "URL('https://user@host/')"
    assert "pass" not in repr(URL("https://user:pass@host/"))
    assert str(URL("https://user:pass@host/")) == "https://user:pass@host/"


# -- percent-encoding ------------------------------------------------------------------


def test_spaces_become_percent_20_everywhere() -> None:
    url = URL("https://a.com/a b?c d=e f#g h")
    assert str(url) == "https://a.com/a%20b?c%20d=e%20f#g%20h"
    assert url.path == "/a b"
    assert url.fragment == "g h"
    assert url.params["c d"] == "e f"


def test_existing_escapes_are_never_double_encoded() -> None:
    url = URL("https://a.com/a%20b%2Fc?x=%26%3D#%23")
    assert str(url) == "https://a.com/a%20b%2Fc?x=%26%3D#%23"
    assert url.raw_path == b"/a%20b%2Fc?x=%26%3D"
    assert url.path == "/a b/c"
    assert url.params["x"] == "&="


def test_escape_case_is_preserved() -> None:
    assert str(URL("http://a.com/%7e%2f")) == "http://a.com/%7e%2f"
    assert URL("http://a.com/%7e%2f").path == "/~/"


def test_stray_percent_is_sent_as_written() -> None:
    # The URL standard, httpx, curl and browsers all leave a "%" that starts no escape.
    url = URL("https://u%:p%@a.com/100%?q=5%&r=%zz#%")
    assert str(url) == "https://u%:p%@a.com/100%?q=5%&r=%zz#%"
    assert url.raw_path == b"/100%?q=5%&r=%zz"
    assert url.userinfo == b"u%:p%"
    assert url.path == "/100%"
    assert url.params["q"] == "5%"
    assert url.fragment == "%"


def test_stray_percent_in_components_given_as_arguments() -> None:
    url = URL("https://a.com/").copy_with(path="/a%b c", query=b"q=%", fragment="%z")
    assert str(url) == "https://a.com/a%b%20c?q=%#%z"
    url = URL("https://a.com/", username="u%", password="p%:")
    assert url.userinfo == b"u%:p%%3A"


def test_non_ascii_is_utf8_percent_encoded() -> None:
    url = URL("https://a.com/ä?q=ü#é")
    assert str(url) == "https://a.com/%C3%A4?q=%C3%BC#%C3%A9"
    assert url.path == "/ä"
    assert url.params["q"] == "ü"
    assert url.fragment == "é"


def test_reserved_characters_are_preserved() -> None:
    given = "https://a.com/p:@!$&'()*+,;=/x?a=b/c?d:@!$&'()*+,;=#f/?:@!$&'()*+,;=#"
    assert str(URL(given)) == given


def test_component_specific_encode_sets() -> None:
    assert str(URL('http://a.com/[x]{y}|^`"<>')) == "http://a.com/[x]%7By%7D|^%60%22%3C%3E"
    assert str(URL("http://a.com/?[x]{y}|^`\"<>'")) == "http://a.com/?[x]{y}|^`%22%3C%3E'"
    assert str(URL('http://a.com/#[x]{y}|^`"<>#')) == "http://a.com/#[x]{y}|^%60%22%3C%3E#"


def test_plus_in_query_is_kept_literally() -> None:
    url = URL("https://a.com/?b=c+d%2B")
    assert url.query == b"b=c+d%2B"
    assert url.params["b"] == "c d+"


def test_lone_surrogate_is_rejected_naming_the_component() -> None:
    with pytest.raises(InvalidURL, match="path"):
        URL("https://a.com/\udcff")


# -- dot segments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("http://a/b/c/./../../g", "http://a/g"),
        ("http://a/a/../b/./c", "http://a/b/c"),
        ("http://a/b/..", "http://a/"),
        ("http://a/b/.", "http://a/b/"),
        ("http://a/..", "http://a/"),
        ("http://a/../../x", "http://a/x"),
        ("http://a/.hidden/..x/x..", "http://a/.hidden/..x/x.."),
        ("http://a/%2e%2e/b", "http://a/%2e%2e/b"),  # encoded dots are data
    ],
)
def test_dot_segments_are_removed_from_absolute_urls(given: str, expected: str) -> None:
    assert str(URL(given)) == expected


# -- RFC 3986 §5.4 reference resolution ------------------------------------------------

RFC3986_BASE = "http://a/b/c/d;p?q"

RFC3986_NORMAL = [
    ("g:h", "g:h"),
    ("g", "http://a/b/c/g"),
    ("./g", "http://a/b/c/g"),
    ("g/", "http://a/b/c/g/"),
    ("/g", "http://a/g"),
    ("//g", "http://g"),
    ("?y", "http://a/b/c/d;p?y"),
    ("g?y", "http://a/b/c/g?y"),
    ("#s", "http://a/b/c/d;p?q#s"),
    ("g#s", "http://a/b/c/g#s"),
    ("g?y#s", "http://a/b/c/g?y#s"),
    (";x", "http://a/b/c/;x"),
    ("g;x", "http://a/b/c/g;x"),
    ("g;x?y#s", "http://a/b/c/g;x?y#s"),
    ("", "http://a/b/c/d;p?q"),
    (".", "http://a/b/c/"),
    ("./", "http://a/b/c/"),
    ("..", "http://a/b/"),
    ("../", "http://a/b/"),
    ("../g", "http://a/b/g"),
    ("../..", "http://a/"),
    ("../../", "http://a/"),
    ("../../g", "http://a/g"),
]

RFC3986_ABNORMAL = [
    ("../../../g", "http://a/g"),
    ("../../../../g", "http://a/g"),
    ("/./g", "http://a/g"),
    ("/../g", "http://a/g"),
    ("g.", "http://a/b/c/g."),
    (".g", "http://a/b/c/.g"),
    ("g..", "http://a/b/c/g.."),
    ("..g", "http://a/b/c/..g"),
    ("./../g", "http://a/b/g"),
    ("./g/.", "http://a/b/c/g/"),
    ("g/./h", "http://a/b/c/g/h"),
    ("g/../h", "http://a/b/c/h"),
    ("g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("g;x=1/../y", "http://a/b/c/y"),
    ("g?y/./x", "http://a/b/c/g?y/./x"),
    ("g?y/../x", "http://a/b/c/g?y/../x"),
    ("g#s/./x", "http://a/b/c/g#s/./x"),
    ("g#s/../x", "http://a/b/c/g#s/../x"),
    # §5.4.2 allows either; the WHATWG URL standard and httpx take the non-strict reading.
    ("http:g", "http://a/b/c/g"),
]


@pytest.mark.parametrize(("reference", "expected"), RFC3986_NORMAL + RFC3986_ABNORMAL)
def test_rfc3986_reference_resolution(reference: str, expected: str) -> None:
    base = URL(RFC3986_BASE)
    assert str(base.join(reference)) == expected
    assert str(base.join(URL(reference))) == expected


def test_join_onto_a_url_without_path() -> None:
    assert str(URL("https://a.com").join("c")) == "https://a.com/c"
    assert str(URL("https://a.com?q").join("?r")) == "https://a.com?r"


def test_join_keeps_userinfo_and_port_of_the_base() -> None:
    base = URL("https://u:p@a.com:8443/x/y")
    assert str(base.join("z")) == "https://u:p@a.com:8443/x/z"
    assert str(base.join("//b.com/z")) == "https://b.com/z"


def test_join_normalises_the_default_port_of_a_network_path_reference() -> None:
    assert str(URL("https://a.com/").join("//b.com:443/z")) == "https://b.com/z"
    assert str(URL("http://a.com/").join("//b.com:443/z")) == "http://b.com:443/z"


def test_join_encodes_the_reference() -> None:
    assert str(URL("https://a.com/x/").join("a b/ü?q=1 2")) == (
        "https://a.com/x/a%20b/%C3%BC?q=1%202"
    )


def test_join_onto_a_relative_base() -> None:
    assert str(URL("/a/b").join("c")) == "/a/c"
    assert str(URL("/a/b").join("../c")) == "/c"


def test_join_rejects_bad_types_and_urls() -> None:
    with pytest.raises(TypeError):
        URL("https://a.com/").join(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidURL):
        URL("https://a.com/").join("http://a.com:99999/")


# -- malformed input -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "component", "position"),
    [
        ("http://a\x00b/", "authority", 8),
        ("http://a/b\nc", "path", 10),
        ("http://a/\x7f", "path", 9),
        ("http://a/?q=\t", "query", 12),
        ("http://a/#f\r", "fragment", 11),
    ],
)
def test_control_characters_are_rejected_naming_the_component(
    given: str, component: str, position: int
) -> None:
    with pytest.raises(InvalidURL) as info:
        URL(given)
    message = str(info.value)
    assert f"URL {component} component" in message
    assert f"at position {position}" in message


@pytest.mark.parametrize("value", [1, b"http://a.com", None, 1.5, ["http://a.com"]])
def test_non_str_url_is_a_type_error(value: object) -> None:
    with pytest.raises(TypeError, match="Invalid type for url"):
        URL(value)  # type: ignore[arg-type]


def test_length_limit() -> None:
    prefix = "http://a.com/"
    URL(prefix + "a" * (65536 - len(prefix)))  # exactly at the limit
    with pytest.raises(InvalidURL, match="URL too long"):
        URL(prefix + "a" * (65537 - len(prefix)))
    with pytest.raises(InvalidURL, match="'path' too long"):
        URL("http://a.com/", path="/" + "a" * 65536)


def test_unknown_keyword_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="'foo' is an invalid keyword argument for URL"):
        URL("http://a", foo=1)


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("port", "80", "int"),
        ("path", b"/x", "str"),
        ("query", "x=1", "bytes"),
        ("raw_path", "/x", "bytes"),
        ("netloc", "a.com", "bytes"),
        ("userinfo", "a:b", "bytes"),
        ("host", b"a.com", "str"),
        ("scheme", 1, "str"),
        ("fragment", b"x", "str"),
    ],
)
def test_keyword_of_the_wrong_type(key: str, value: object, expected: str) -> None:
    with pytest.raises(TypeError, match=f"Argument {key!r} must be {expected}"):
        URL("http://a/", **{key: value})


@pytest.mark.parametrize("scheme", ["ht tp", "1x", "a/b", "é"])
def test_invalid_scheme_keyword(scheme: str) -> None:
    with pytest.raises(InvalidURL, match="scheme"):
        URL("http://a/", scheme=scheme)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("path", "/x\n"),
        ("fragment", "\x00"),
        ("username", "a\tb"),
        ("password", "\x7f"),
        ("host", "a\rb"),
        ("query", b"a=\x01"),
        ("userinfo", b"\n"),
        ("netloc", b"a\x00"),
        ("raw_path", b"/\x1f"),
    ],
)
def test_control_characters_in_keywords_name_the_component(key: str, value: object) -> None:
    with pytest.raises(InvalidURL, match="non-printable ASCII character in URL"):
        URL("http://a/", **{key: value})


def test_non_ascii_bytes_keyword() -> None:
    with pytest.raises(InvalidURL, match="'query'"):
        URL("http://a/", query="é".encode())


def test_absolute_url_path_must_start_with_slash() -> None:
    with pytest.raises(InvalidURL, match="path must be empty or begin with '/'"):
        URL("https://a.com/").copy_with(path="a")


def test_path_starting_with_double_slash_needs_an_authority() -> None:
    with pytest.raises(InvalidURL, match="cannot have a path starting with '//'"):
        URL(path="//evil.com/x")


@pytest.mark.parametrize("port", [-1, 65536, 70000])
def test_out_of_range_port_keyword(port: int) -> None:
    with pytest.raises(InvalidURL, match=f"Invalid port: {port}"):
        URL("http://a/", port=port)


# -- building from keywords and copy_with ----------------------------------------------


def test_build_from_components() -> None:
    url = URL(scheme="https", host="example.com", port=8443, path="/a b", query=b"x=1")
    assert str(url) == "https://example.com:8443/a%20b?x=1"
    assert str(URL(host="a.com")) == "//a.com"
    assert str(URL(path="x")) == "x"


def test_copy_with_leaves_the_original_untouched() -> None:
    url = URL("https://a.com/x?y=1#z")
    copied = url.copy_with(path="/other")
    assert str(url) == "https://a.com/x?y=1#z"
    assert str(copied) == "https://a.com/other?y=1#z"


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"scheme": "HTTP"}, "http://u:p@a.com:8080/p?q=1#f"),
        ({"scheme": None}, "//u:p@a.com:8080/p?q=1#f"),
        ({"username": "x y"}, "https://x%20y:p@a.com:8080/p?q=1#f"),
        ({"username": "a:b@c"}, "https://a%3Ab%40c:p@a.com:8080/p?q=1#f"),
        ({"password": "s:e@c"}, "https://u:s%3Ae%40c@a.com:8080/p?q=1#f"),
        ({"password": None}, "https://u@a.com:8080/p?q=1#f"),
        ({"username": "", "password": None}, "https://a.com:8080/p?q=1#f"),
        ({"userinfo": b"a:b"}, "https://a:b@a.com:8080/p?q=1#f"),
        ({"userinfo": None}, "https://a.com:8080/p?q=1#f"),
        ({"host": "B.com"}, "https://u:p@b.com:8080/p?q=1#f"),
        ({"host": "例え.jp"}, "https://u:p@xn--r8jz45g.jp:8080/p?q=1#f"),
        ({"host": "::1"}, "https://u:p@[::1]:8080/p?q=1#f"),
        ({"host": "[::1]"}, "https://u:p@[::1]:8080/p?q=1#f"),
        ({"port": 443}, "https://u:p@a.com/p?q=1#f"),
        ({"port": None}, "https://u:p@a.com/p?q=1#f"),
        ({"port": 1}, "https://u:p@a.com:1/p?q=1#f"),
        ({"netloc": b"b.com:9"}, "https://u:p@b.com:9/p?q=1#f"),
        ({"netloc": b"b.com"}, "https://u:p@b.com/p?q=1#f"),
        ({"netloc": b"[::1]:8000"}, "https://u:p@[::1]:8000/p?q=1#f"),
        ({"netloc": b"v:w@b.com"}, "https://v:w@b.com/p?q=1#f"),
        ({"path": "/a b/ü"}, "https://u:p@a.com:8080/a%20b/%C3%BC?q=1#f"),
        ({"path": "/a?b#c"}, "https://u:p@a.com:8080/a%3Fb%23c?q=1#f"),
        ({"path": "/a/../b"}, "https://u:p@a.com:8080/b?q=1#f"),
        ({"path": ""}, "https://u:p@a.com:8080?q=1#f"),
        ({"query": b"a b=c#d"}, "https://u:p@a.com:8080/p?a%20b=c%23d#f"),
        ({"query": b""}, "https://u:p@a.com:8080/p?#f"),
        ({"query": None}, "https://u:p@a.com:8080/p#f"),
        ({"raw_path": b"/x y?z=1"}, "https://u:p@a.com:8080/x%20y?z=1#f"),
        ({"raw_path": b"/x"}, "https://u:p@a.com:8080/x#f"),
        ({"fragment": "a b#c"}, "https://u:p@a.com:8080/p?q=1#a%20b#c"),
        ({"fragment": ""}, "https://u:p@a.com:8080/p?q=1#"),
        ({"fragment": None}, "https://u:p@a.com:8080/p?q=1"),
        ({"params": {"a": "b c"}}, "https://u:p@a.com:8080/p?a=b+c#f"),
        ({"params": None}, "https://u:p@a.com:8080/p#f"),
        ({"params": {}}, "https://u:p@a.com:8080/p#f"),
    ],
)
def test_copy_with_each_component(kwargs: dict[str, object], expected: str) -> None:
    url = URL("https://u:p@a.com:8080/p?q=1#f")
    copied = url.copy_with(**kwargs)
    assert str(copied) == expected
    assert copied == URL(expected)


def test_copy_with_netloc_keeps_userinfo_unless_given() -> None:
    url = URL("https://u:p@a.com/").copy_with(netloc=URL("http://b.com:81/").netloc)
    assert url.userinfo == b"u:p"
    assert url.netloc == b"b.com:81"


def test_copy_with_round_trips_decoded_path() -> None:
    url = URL("https://a.com/a%20b/%C3%BC")
    assert url.copy_with(path=url.path) == url


def test_scheme_change_renormalises_the_port() -> None:
    assert str(URL("https://a.com:80/").copy_with(scheme="http")) == "http://a.com/"
    assert str(URL("http://a.com:443/").copy_with(scheme="https")) == "https://a.com/"
    assert str(URL("http://a.com/").copy_with(scheme="https")) == "https://a.com/"


def test_url_from_url_with_overrides() -> None:
    base = URL("https://a.com/x")
    assert URL(base) == base
    assert str(URL(base, fragment="top")) == "https://a.com/x#top"


def test_copy_with_invalid_host() -> None:
    with pytest.raises(InvalidURL, match="Invalid host"):
        URL("https://a.com/").copy_with(host="a b")


# -- query params ----------------------------------------------------------------------


def test_params_keyword_replaces_the_query() -> None:
    url = URL("https://a.com/p?x=1", params={"a": "b c", "d": ["1", 2], "e": None, "f": True})
    assert str(url) == "https://a.com/p?a=b+c&d=1&d=2&e=&f=true"
    assert url.params.get_list("d") == ["1", "2"]


def test_params_property_parses_the_query() -> None:
    url = URL("https://a.com/?a=1&b=2&a=3&c")
    assert url.params.multi_items() == [("a", "1"), ("a", "3"), ("b", "2"), ("c", "")]
    assert url.params is url.params  # parsed once


def test_copy_param_helpers() -> None:
    url = URL("https://a.com/?a=1&b=2")
    assert str(url.copy_set_param("a", "x y")) == "https://a.com/?a=x+y&b=2"
    assert str(url.copy_set_param("a")) == "https://a.com/?a=&b=2"
    assert str(url.copy_add_param("a", 3)) == "https://a.com/?a=1&a=3&b=2"
    assert str(url.copy_remove_param("a")) == "https://a.com/?b=2"
    assert str(url.copy_remove_param("a").copy_remove_param("b")) == "https://a.com/"
    assert str(url.copy_merge_params({"a": "9", "c": [1, 2]})) == (
        "https://a.com/?a=9&b=2&c=1&c=2"
    )
    assert str(url) == "https://a.com/?a=1&b=2"


def test_copy_param_helpers_keep_the_fragment_and_reencode() -> None:
    url = URL("https://a.com/p?q=a%20b#frag")
    assert str(url.copy_add_param("z", "1")) == "https://a.com/p?q=a+b&z=1#frag"
    assert url.copy_add_param("z", "1").params == QueryParams("q=a b&z=1")


def test_copy_merge_params_with_query_params_and_pairs() -> None:
    url = URL("https://a.com/?a=1")
    assert str(url.copy_merge_params(QueryParams("b=2"))) == "https://a.com/?a=1&b=2"
    assert str(url.copy_merge_params([("a", "x"), ("a", "y")])) == "https://a.com/?a=x&a=y"


# -- equality, hashing, pickling -------------------------------------------------------


def test_equality_with_str() -> None:
    url = URL("https://a.com")
    assert url == "https://a.com"
    assert operator.eq("https://a.com", url)  # the reflected comparison
    assert url == "HTTPS://A.COM:443"  # compared after normalisation
    assert url != "https://a.com/"
    assert url != "https://b.com"
    assert url != "http://a\x00"  # an invalid URL string is simply unequal


def test_equality_with_other_types() -> None:
    assert URL("x") != 3
    assert URL("x") != b"x"
    assert URL("a=1") != QueryParams("a=1")


def test_hash_matches_equality() -> None:
    assert hash(URL("https://a.com:443")) == hash(URL("https://a.com"))
    assert hash(URL("https://a.com")) == hash("https://a.com")
    lookup = {URL("https://a.com/x"): 1}
    assert lookup["https://a.com/x"] == 1  # type: ignore[index]
    assert lookup[URL("HTTPS://A.com:443/x")] == 1


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize(
    "given",
    [
        "https://u:p@例え.jp:8443/a b?q=1#f",
        "http://[fe80::1%25eth0]:8080/",
        "",
        "../rel?x",
        "http:////double",
        "mailto:a@b.com",
    ],
)
def test_pickle_round_trip(given: str, protocol: int) -> None:
    url = URL(given)
    restored = pickle.loads(pickle.dumps(url, protocol=protocol))
    assert type(restored) is URL
    assert restored == url
    assert restored.raw_path == url.raw_path
    assert restored.userinfo == url.userinfo
    assert restored.host == url.host


def test_copy_and_deepcopy_return_an_equal_url() -> None:
    url = URL("https://a.com/x")
    assert copy.copy(url) == url
    assert copy.deepcopy({"u": url})["u"] == url


def test_url_is_slotted() -> None:
    url = URL("https://a.com/")
    with pytest.raises(AttributeError):
        url.anything = 1  # type: ignore[attr-defined]


def test_raw_is_deprecated() -> None:
    with pytest.deprecated_call():
        raw = URL("https://a.com:8443/x?y").raw
    assert raw == (b"https", b"a.com", 8443, b"/x?y")


# -- serialisation safety --------------------------------------------------------------


def test_empty_authority_with_double_slash_path_round_trips() -> None:
    # "http:////evil.com/x" has an empty host; it must not turn into host "evil.com".
    url = URL("http:////evil.com/x")
    assert url.host == ""
    assert url.path == "//evil.com/x"
    assert str(url) == "http:////evil.com/x"
    assert URL(str(url)).host == ""
    assert url.copy_with(fragment=None).host == ""
    assert url.copy_set_param("a", "1").host == ""


def test_relative_path_that_looks_like_a_scheme_is_protected() -> None:
    url = URL(path="a:b")
    assert url.scheme == ""
    assert url.path == "./a:b"
    assert str(url) == "./a:b"
    assert URL(str(url)) == url
    assert str(URL("mailto:a:b").copy_with(scheme=None)) == "./a:b"
    assert str(URL("").join("./a:b")) == "./a:b"
    assert str(URL("1http://a")) == "1http://a"  # "1http" cannot be a scheme


def test_adding_scheme_and_host_normalises_the_path() -> None:
    assert str(URL("/a/../b", scheme="http", host="x")) == "http://x/b"
    with pytest.raises(InvalidURL, match="path must be empty or begin with '/'"):
        URL("a/b", host="x")


_URL_PIECES = st.sampled_from(
    [
        *"abcXYZ019:/?#[]@!$&'()*+,;=%-._~ \"<>`{}|\\^",
        *["é", "例", "%41", "%zz", "..", ".", "/../", "/./", "//", "xn--", "%25"],
    ]
)
_PREFIXES = st.sampled_from(
    ["", "http://", "https://a.com", "//", "HTTP://[::1]:8080", "/", "ws://u:p@h:80", "x:"]
)


@settings(max_examples=400, deadline=None)
@given(prefix=_PREFIXES, pieces=st.lists(_URL_PIECES, max_size=25))
def test_normalised_form_is_stable(prefix: str, pieces: list[str]) -> None:
    text = prefix + "".join(pieces)
    try:
        url = URL(text)
    except InvalidURL:
        return
    again = URL(str(url))
    assert str(again) == str(url)
    assert again == url
    assert again.raw_path == url.raw_path
    assert again.netloc == url.netloc
    assert again.userinfo == url.userinfo
    assert again.query == url.query
    assert again.fragment == url.fragment
    str(url).encode("ascii")  # the normalised form is always ASCII


def test_repeated_url_strings_parse_alike_and_errors_repeat() -> None:
    # Short URL strings are memoised: the same string must keep giving the same
    # components (and fresh URL objects), and a bad one must fail every time.
    text = "https://Example.COM:443/a/../b?q=1#f"
    first, second = URL(text), URL(text)
    assert first is not second
    assert first == second
    assert str(second) == "https://example.com/b?q=1#f"
    assert str(first.copy_with(path="/other")) == "https://example.com/other?q=1#f"
    assert str(URL(text)) == "https://example.com/b?q=1#f"  # the copy changed nothing
    for _ in range(2):
        with pytest.raises(InvalidURL):
            URL("http://exa mple.com/")
    long_path = "/" + "x" * 2000  # past the memo's length limit: parsed each time
    assert URL("http://example.com" + long_path).path == long_path


# -- httpx's private components (respx reads URL._uri_reference) -------------------------


@pytest.mark.parametrize(
    ("url", "fields", "authority"),
    [
        ("https://example.com", ("https", "", "example.com", None, "", None, None), None),
        (
            "https://u:p@Example.COM:443/a%20b?x=1#f",
            ("https", "u:p", "example.com", None, "/a%20b", "x=1", "f"),
            "u:p@example.com",
        ),
        ("http://[::1]:8080/", ("http", "", "::1", 8080, "/", None, None), "[::1]:8080"),
        (
            "https://例え.jp/パス?q=é",
            ("https", "", "xn--r8jz45g.jp", None, "/%E3%83%91%E3%82%B9", "q=%C3%A9", None),
            None,
        ),
        ("https://h/?#", ("https", "", "h", None, "/", "", ""), None),
        ("/relative", ("", "", "", None, "/relative", None, None), ""),
    ],
)
def test_uri_reference_components(url: str, fields: tuple[object, ...], authority: Any) -> None:
    ref = URL(url)._uri_reference
    assert tuple(ref) == fields
    assert (ref.scheme, ref.userinfo, ref.host, ref.port) == fields[:4]
    assert (ref.path, ref.query, ref.fragment) == fields[4:]
    assert ref.authority == (ref.netloc if authority is None else authority)
    assert str(ref) == str(URL(url))


def test_uri_reference_is_immutable_and_its_empty_path_tells_respx_to_add_one() -> None:
    ref = URL("https://example.com")._uri_reference
    assert not ref.path  # respx then compares `url.copy_with(path="/")`
    with pytest.raises(AttributeError):
        ref.path = "/"  # type: ignore[misc]
    assert URL("https://example.com/")._uri_reference.path == "/"


def test_join_reference_with_the_bases_special_scheme_is_relative() -> None:
    base = URL("http://h/a/b?q#f")
    assert str(base.join("http:c")) == "http://h/a/c"
    assert str(base.join("http:")) == "http://h/a/b?q"
    assert str(base.join("http:/c")) == "http://h/c"
    assert str(base.join(URL("http:c"))) == "http://h/a/c"
    assert str(base.join("http://x/c")) == "http://x/c"
    # Another scheme, or a non-special one, is used as it is.
    assert str(base.join("https:c")) == "https:c"
    assert str(URL("sc://h/a/b").join("sc:c")) == "sc:c"
    # A file URL with an empty authority keeps it: "file:///C:/" names no host.
    assert str(URL("file://host/").join("file:///C:/")) == "file:///C:/"


def test_file_urls_keep_their_authority_when_printed() -> None:
    assert str(URL("file:///tmp/x")) == "file:///tmp/x"
    assert str(URL("file:/tmp/x")) == "file:///tmp/x"
    assert URL(str(URL("file:/tmp/x"))) == URL("file:/tmp/x")


def test_join_empty_authority_of_a_non_special_scheme_replaces_the_host() -> None:
    joined = URL("sc://x/").join("///")
    assert (joined.host, joined.path) == ("", "/")
    joined = URL("sc://x/").join("////y/")
    assert (joined.host, joined.path) == ("", "//y/")
    assert str(joined) == "sc:////y/"
    # Special schemes keep the base's host, as httpx does.
    assert str(URL("http://x/").join("///y")) == "http://x/y"
