"""The WHATWG URL standard's test corpus, run through the public `URL` API.

data/urltestdata.json is web-platform-tests' url/resources/urltestdata.json (see
data/README.md). Every valid case (no "failure": true) is parsed the way a program
would: `URL(input)`, or `URL(base).join(input)` when the case has a base. The result
is compared, component by component as `URL` exposes them, with the standard's answer:
scheme, username and password (raw userinfo), raw_host, port, the path of raw_path,
query and the fragment of str(url).

Where httpx 0.28 departs from the standard, httpduo keeps httpx's behaviour (it rejects
control characters instead of silently dropping them, keeps backslashes, does not read
"0x7f.1" as an IPv4 address, ...). Those cases are listed, each with its reason, in
data/urltestdata-deviations.json together with httpduo's outcome, and the test checks
that outcome too: a regression fails, and so does a fix until the list is updated.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Tuple, Union

import pytest

from httpduo import URL, InvalidURL

DATA = Path(__file__).parent / "data"

Outcome = Tuple[str, str, str, str, Optional[int], str, str, str]

# Why a case may differ from the standard; every listed deviation names one of these.
REASONS = {
    "control-characters": "the standard drops tab/CR/LF and trims C0 controls; we raise",
    "lone-surrogates": "a lone surrogate cannot be UTF-8 encoded; we raise",
    "leading-or-trailing-spaces": "the standard trims them; we percent-encode them",
    "backslash-as-slash": "special schemes read '\\' as '/' in the standard; we do not",
    "file-url-rules": "file: drive letters, 'localhost' and slash rules of the standard",
    "special-scheme-without-slashes": "'http:host/' names a host in the standard",
    "extra-slashes-before-host": "'///host' names a host under a special base",
    "ipv4-number-forms": "hex, octal and short IPv4 forms are not rewritten",
    "ipv6-compression": "IPv6 addresses are kept as written, not compressed",
    "opaque-host-idna-and-case": "non-special hosts are IDNA-encoded and lower-cased",
    "host-percent-decoding": "escapes in special hosts are not decoded before IDNA",
    "percent-encoded-dot-segments": "'%2e' is not read as a dot segment",
    "userinfo-colon-encoding": "a ':' in the password is not percent-encoded",
    "special-query-apostrophe": '"\'" in special-scheme queries is not encoded',
    "opaque-path-spaces": "spaces in opaque paths are percent-encoded",
    "empty-authority-not-kept": "an empty authority ('a://') is not kept apart from none",
}


def _load(name: str) -> Any:
    with open(DATA / name, encoding="utf-8") as file:
        return json.load(file)


CASES = [case for case in _load("urltestdata.json") if isinstance(case, dict)]
VALID = [case for case in CASES if not case.get("failure")]
DEVIATIONS = {(d["input"], d["base"]): d for d in _load("urltestdata-deviations.json")}


def _expected(case: dict[str, str]) -> Outcome:
    host = case["hostname"]
    if host.startswith("["):
        host = host[1:-1]  # URL.raw_host holds an IPv6 address without brackets
    port = int(case["port"]) if case["port"] else None
    # raw_path is never empty (it is the request target): "" reads as "/".
    path = case["pathname"] or "/"
    return (
        case["protocol"][:-1],
        case["username"],
        case["password"],
        host,
        port,
        path,
        case["search"][1:],
        case["hash"][1:],
    )


def _observed(url: URL) -> Outcome:
    username, _, password = url.userinfo.decode("ascii").partition(":")
    return (
        url.scheme,
        username,
        password,
        url.raw_host.decode("ascii"),
        url.port,
        url.raw_path.decode("ascii").partition("?")[0],
        url.query.decode("ascii"),
        str(url).partition("#")[2],
    )


def _parse(case: dict[str, Any]) -> Union[Outcome, str]:
    try:
        base = case.get("base")
        url = URL(case["input"]) if base is None else URL(base).join(case["input"])
    except InvalidURL:
        return "InvalidURL"
    # What is printed (and sent) must parse back to the same URL.
    assert _observed(URL(str(url))) == _observed(url)
    return _observed(url)


def _case_id(case: dict[str, Any]) -> str:
    return ascii(case["input"])[1:-1][:60] + (
        f" @ {ascii(case['base'])[1:-1]}" if case.get("base") else ""
    )


def test_corpus_is_the_expected_revision() -> None:
    assert len(CASES) == 835
    assert len(VALID) == 563


def test_deviations_list_only_valid_cases_with_a_known_reason() -> None:
    valid = {(case["input"], case.get("base")) for case in VALID}
    assert set(DEVIATIONS) <= valid
    assert {d["reason"] for d in DEVIATIONS.values()} <= set(REASONS)


@pytest.mark.parametrize("case", VALID, ids=[_case_id(case) for case in VALID])
def test_valid_case(case: dict[str, Any]) -> None:
    outcome = _parse(case)
    deviation = DEVIATIONS.get((case["input"], case.get("base")))
    if deviation is None:
        assert outcome == _expected(case)
    else:
        recorded = deviation["outcome"]
        assert outcome == (recorded if isinstance(recorded, str) else tuple(recorded))
        assert outcome != _expected(case), "now matches the standard: drop it from the list"
