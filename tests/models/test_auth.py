"""Behaviour of the auth flows: the generator drivers, Basic, Function, NetRC and Digest.

Flows are driven here the way the clients drive them (`__next__`/`send`, or
`__anext__`/`asend`), against handler functions that stand in for a server. Digest auth
is checked against the independent verifier in tests/servers/digest.py, which recomputes
every response hash from the password.
"""

from __future__ import annotations

import base64
import sys
from collections.abc import AsyncIterator, Generator, Iterator
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import pytest
from tests.servers.digest import ALGORITHMS, REALM, DigestAuthority, parse_digest_params

from httpduo._models._auth import (
    Auth,
    BasicAuth,
    DigestAuth,
    FunctionAuth,
    NetRCAuth,
    auth_from_url,
    build_auth,
)
from httpduo._models._exceptions import ProtocolError, RequestNotRead, ResponseNotRead
from httpduo._models._headers import Headers
from httpduo._models._requests import Request
from httpduo._models._responses import Response
from httpduo._models._streams import AsyncByteStream, SyncByteStream
from httpduo._models._urls import URL

Handler = Callable[[Request], Response]
# What the "server" saw: the request's headers at the moment it was sent (flows mutate
# and resend the same request object), and the response it got.
Exchange = Tuple[Headers, Response]


def drive(auth: Auth, request: Request, handler: Handler) -> List[Exchange]:
    """Run `auth`'s sync flow to its end, as `Client` does."""
    exchanges: List[Exchange] = []
    flow = auth.sync_auth_flow(request)
    outgoing = flow.__next__()
    while True:
        response = handler(outgoing)
        response.request = outgoing
        exchanges.append((outgoing.headers.copy(), response))
        try:
            outgoing = flow.send(response)
        except StopIteration:
            return exchanges


async def adrive(auth: Auth, request: Request, handler: Handler) -> List[Exchange]:
    """Run `auth`'s async flow to its end, as `AsyncClient` does."""
    exchanges: List[Exchange] = []
    flow = auth.async_auth_flow(request)
    outgoing = await flow.__anext__()
    while True:
        response = handler(outgoing)
        response.request = outgoing
        exchanges.append((outgoing.headers.copy(), response))
        try:
            outgoing = await flow.asend(response)
        except StopAsyncIteration:
            return exchanges


def basic_value(username: bytes, password: bytes) -> str:
    return "Basic " + base64.b64encode(username + b":" + password).decode("ascii")


# -- the Auth base class and its drivers --------------------------------------------------


class RetryWithToken(Auth):
    """A two-step custom scheme: send bare, and on 401 resend with a token header."""

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        response = yield request
        if response.status_code == 401:
            request.headers["X-Token"] = "secret"
            yield request


def token_server(request: Request) -> Response:
    if request.headers.get("x-token") == "secret":
        return Response(200)
    return Response(401)


def test_default_auth_flow_sends_the_request_unchanged() -> None:
    request = Request("GET", "http://example.org/", headers={"X-A": "1"})
    exchanges = drive(Auth(), request, lambda r: Response(401))
    assert len(exchanges) == 1
    headers, response = exchanges[0]
    assert response.request is request
    assert headers == Headers({"Host": "example.org", "X-A": "1"})


def test_sync_driver_sends_responses_back_into_the_flow() -> None:
    exchanges = drive(RetryWithToken(), Request("GET", "http://example.org/"), token_server)
    assert [response.status_code for _, response in exchanges] == [401, 200]
    assert "x-token" not in exchanges[0][0]
    assert exchanges[1][0]["x-token"] == "secret"


@pytest.mark.anyio
async def test_async_driver_sends_responses_back_into_the_flow() -> None:
    exchanges = await adrive(RetryWithToken(), Request("GET", "http://example.org/"), token_server)
    assert [response.status_code for _, response in exchanges] == [401, 200]
    assert exchanges[1][0]["x-token"] == "secret"


def test_a_flow_that_yields_nothing_ends_the_driver_at_once() -> None:
    class Silent(Auth):
        def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
            return
            yield request  # unreachable: makes this a generator that yields nothing

    with pytest.raises(StopIteration):
        Silent().sync_auth_flow(Request("GET", "http://example.org/")).__next__()


def test_closing_the_driver_closes_the_flow() -> None:
    cleaned_up: List[bool] = []

    class Tracked(Auth):
        def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
            try:
                yield request
                yield request
            finally:
                cleaned_up.append(True)

    flow = Tracked().sync_auth_flow(Request("GET", "http://example.org/"))
    flow.__next__()
    flow.close()  # the client abandons the flow (an error while sending, say)
    assert cleaned_up == [True]


class BodyChecker(Auth):
    """Records what the flow can see of request and response bodies."""

    def __init__(self) -> None:
        self.request_body: Optional[bytes] = None
        self.response_body: Optional[bytes] = None

    def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
        self.request_body = request.content
        response = yield request
        self.response_body = response.content


class NeedsBodies(BodyChecker):
    requires_request_body = True
    requires_response_body = True


class ChunkStream(SyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    def __iter__(self) -> Iterator[bytes]:
        yield from self.chunks


class AsyncChunkStream(AsyncByteStream):
    def __init__(self, *chunks: bytes) -> None:
        self.chunks = chunks

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk


def test_sync_driver_reads_bodies_when_the_scheme_requires_them() -> None:
    auth = NeedsBodies()
    request = Request("POST", "http://example.org/", content=iter([b"re", b"quest"]))
    drive(auth, request, lambda r: Response(200, stream=ChunkStream(b"resp", b"onse")))
    assert auth.request_body == b"request"
    assert auth.response_body == b"response"
    # The request body was buffered, so the same request can be sent again.
    stream = request.stream
    assert isinstance(stream, SyncByteStream)
    assert b"".join(stream) == b"request"


def test_sync_driver_leaves_bodies_unread_by_default() -> None:
    request = Request("POST", "http://example.org/", content=iter([b"body"]))
    with pytest.raises(RequestNotRead):
        drive(BodyChecker(), request, lambda r: Response(200))

    class ResponseOnly(BodyChecker):
        def auth_flow(self, request: Request) -> Generator[Request, Response, None]:
            response = yield request
            self.response_body = response.content

    with pytest.raises(ResponseNotRead):
        drive(
            ResponseOnly(),
            Request("GET", "http://example.org/"),
            lambda r: Response(200, stream=ChunkStream(b"x")),
        )


@pytest.mark.anyio
async def test_async_driver_reads_bodies_when_the_scheme_requires_them() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"re"
        yield b"quest"

    auth = NeedsBodies()
    request = Request("POST", "http://example.org/", content=body())
    await adrive(auth, request, lambda r: Response(200, stream=AsyncChunkStream(b"resp", b"onse")))
    assert auth.request_body == b"request"
    assert auth.response_body == b"response"


# -- Basic, Function, build_auth, auth_from_url -------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "expected"),
    [
        ("user", "pass", "Basic dXNlcjpwYXNz"),
        # str credentials are UTF-8 encoded, as httpx does.
        ("üser", "pässword", "Basic w7xzZXI6cMOkc3N3b3Jk"),
        # bytes are sent as given.
        (b"u\xfc", b"p", "Basic dfw6cA=="),
        ("", "", "Basic Og=="),
    ],
)
def test_basic_auth_header(username: str, password: str, expected: str) -> None:
    request = Request("GET", "http://example.org/", headers={"Authorization": "old"})
    exchanges = drive(BasicAuth(username, password), request, lambda r: Response(200))
    assert len(exchanges) == 1
    assert exchanges[0][0].get_list("authorization") == [expected]


def test_basic_auth_rejects_other_types() -> None:
    with pytest.raises(TypeError, match="username must be str or bytes, not int"):
        BasicAuth(1, "pass")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="password must be str or bytes, not NoneType"):
        BasicAuth("user", None)  # type: ignore[arg-type]


def test_function_auth_sends_what_the_function_returns() -> None:
    def sign(request: Request) -> Request:
        request.headers["X-Signature"] = request.method
        return request

    exchanges = drive(FunctionAuth(sign), Request("PUT", "http://example.org/"), token_server)
    assert len(exchanges) == 1
    assert exchanges[0][0]["x-signature"] == "PUT"

    replacement = Request("GET", "http://other.example/")
    exchanges = drive(
        FunctionAuth(lambda r: replacement), Request("GET", "http://example.org/"), token_server
    )
    assert exchanges[0][1].request is replacement


def test_build_auth_conversions() -> None:
    assert build_auth(None) is None
    digest = DigestAuth("user", "pass")
    assert build_auth(digest) is digest

    basic = build_auth(("user", "pass"))
    assert isinstance(basic, BasicAuth)
    exchanges = drive(basic, Request("GET", "http://example.org/"), token_server)
    assert exchanges[0][0]["authorization"] == "Basic dXNlcjpwYXNz"

    def add_header(request: Request) -> Request:
        request.headers["X-Token"] = "secret"
        return request

    function = build_auth(add_header)
    assert isinstance(function, FunctionAuth)
    exchanges = drive(function, Request("GET", "http://example.org/"), token_server)
    assert exchanges[-1][1].status_code == 200


@pytest.mark.parametrize("bad", [["user", "hunter2"], "user:hunter2", 42, {"user": "hunter2"}])
def test_build_auth_rejects_other_values_without_echoing_them(bad: object) -> None:
    with pytest.raises(TypeError, match='Invalid "auth" argument') as info:
        build_auth(bad)  # type: ignore[arg-type]
    assert "hunter2" not in str(info.value)
    assert type(bad).__name__ in str(info.value)


def test_build_auth_rejects_a_tuple_of_the_wrong_size() -> None:
    with pytest.raises(TypeError, match=r"\(username, password\), got 3 items"):
        build_auth(("user", "pass", "extra"))  # type: ignore[arg-type]


def test_auth_from_url() -> None:
    auth = auth_from_url(URL("http://us%40er:p%3As%20s@example.org/path"))
    assert auth is not None
    exchanges = drive(auth, Request("GET", "http://example.org/"), token_server)
    assert exchanges[0][0]["authorization"] == basic_value(b"us@er", b"p:s s")

    only_user = auth_from_url(URL("http://user@example.org/"))
    assert only_user is not None
    exchanges = drive(only_user, Request("GET", "http://example.org/"), token_server)
    assert exchanges[0][0]["authorization"] == basic_value(b"user", b"")

    assert auth_from_url(URL("http://example.org/")) is None


# -- NetRC -----------------------------------------------------------------------------


@pytest.fixture
def netrc_file(tmp_path: Path) -> Path:
    path = tmp_path / "netrc"
    text = "machine example.org\n  login alice\n  password s3cret\n\n"
    if sys.version_info >= (3, 10):
        # Python 3.9's netrc parser refuses an entry without a password.
        text += "machine nopass.example login bob\n"
    path.write_text(text)
    path.chmod(0o600)
    return path


def test_netrc_auth_sets_basic_auth_for_a_matching_host(netrc_file: Path) -> None:
    auth = NetRCAuth(str(netrc_file))
    for url in ("http://example.org/", "https://example.org:8443/x"):
        exchanges = drive(auth, Request("GET", url), token_server)
        assert exchanges[0][0]["authorization"] == basic_value(b"alice", b"s3cret")


def test_netrc_auth_leaves_other_hosts_alone(netrc_file: Path) -> None:
    auth = NetRCAuth(netrc_file)
    for url in ("http://other.example/", "http://nopass.example/"):
        exchanges = drive(auth, Request("GET", url), token_server)
        assert "authorization" not in exchanges[0][0]


def test_netrc_auth_missing_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        NetRCAuth(str(tmp_path / "absent"))


# -- Digest against the verifier ----------------------------------------------------------


def raw_header(request: Request, name: bytes) -> Optional[bytes]:
    for key, value in request.headers.raw:
        if key.lower() == name:
            return value
    return None


def verifier(
    authority: DigestAuthority,
    *,
    algorithm: str = "MD5",
    qop: str = "auth",
    user: str = "user",
    password: str = "pass",
    extra_headers: Optional[List[Tuple[str, str]]] = None,
    rewrite: Optional[Callable[[str], List[str]]] = None,
) -> Handler:
    """A server that answers with what the DigestAuthority decides.

    `rewrite` turns the authority's challenge into the WWW-Authenticate header values to
    send; `extra_headers` are added to 401 responses.
    """

    def handle(request: Request) -> Response:
        outcome = authority.check(
            qop=qop,
            user=user,
            password=password,
            algorithm=algorithm,
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            body=request.content,
            authorization=raw_header(request, b"authorization"),
        )
        if outcome.status != 401:
            return Response(outcome.status, headers={"X-Digest-Failure": outcome.reason})
        values = rewrite(outcome.challenge) if rewrite else [outcome.challenge]
        headers = [("WWW-Authenticate", value) for value in values]
        headers.append(("X-Digest-Failure", outcome.reason))
        headers.extend(extra_headers or [])
        return Response(401, headers=headers)

    return handle


def sent_params(headers: Headers) -> Dict[str, str]:
    value = headers["authorization"]
    assert value.startswith("Digest ")
    return parse_digest_params(value[len("Digest ") :])


def assert_accepted(exchanges: List[Exchange]) -> None:
    final = exchanges[-1][1]
    assert final.status_code == 200, final.headers.get("x-digest-failure")


ALGORITHM_NAMES = [name for base in ALGORITHMS for name in (base, f"{base}-sess")]


@pytest.mark.parametrize("qop", ["auth", "none", "auth,auth-int"])
@pytest.mark.parametrize("algorithm", ALGORITHM_NAMES)
def test_digest_auth_is_accepted_by_the_verifier(algorithm: str, qop: str) -> None:
    authority = DigestAuthority()
    request = Request("GET", "http://example.org/digest/p%20q?x=1&y=%2F")
    exchanges = drive(
        DigestAuth("user", "pass"), request, verifier(authority, algorithm=algorithm, qop=qop)
    )
    assert len(exchanges) == 2
    assert "authorization" not in exchanges[0][0]
    assert_accepted(exchanges)
    params = sent_params(exchanges[1][0])
    assert params["uri"] == "/digest/p%20q?x=1&y=%2F"
    assert params["algorithm"] == algorithm
    if qop == "none":
        assert "qop" not in params
        assert "nc" not in params
    else:
        assert params["qop"] == "auth"
        assert params["nc"] == "00000001"


def test_digest_algorithm_names_are_case_insensitive() -> None:
    exchanges = drive(
        DigestAuth("user", "pass"),
        Request("GET", "http://example.org/"),
        verifier(DigestAuthority(), algorithm="sha-256-Sess"),
    )
    assert_accepted(exchanges)


def test_digest_auth_with_a_request_body_and_post() -> None:
    exchanges = drive(
        DigestAuth("user", "pass"),
        Request("POST", "http://example.org/upload", content=b"payload"),
        verifier(DigestAuthority(), algorithm="SHA-256"),
    )
    assert_accepted(exchanges)


def test_digest_auth_with_wrong_password_stops_after_one_retry() -> None:
    exchanges = drive(
        DigestAuth("user", "wrong"),
        Request("GET", "http://example.org/"),
        verifier(DigestAuthority()),
    )
    assert [response.status_code for _, response in exchanges] == [401, 401]
    assert exchanges[1][1].headers["x-digest-failure"] == "response mismatch"


def test_digest_quoting_of_credentials_with_special_characters() -> None:
    user = 'we"ird\\name'
    exchanges = drive(
        DigestAuth(user, "pa:ss"),
        Request("GET", "http://example.org/"),
        verifier(DigestAuthority(), user=user, password="pa:ss"),
    )
    assert_accepted(exchanges)
    assert sent_params(exchanges[1][0])["username"] == user


def test_digest_opaque_is_echoed() -> None:
    authority = DigestAuthority()
    exchanges = drive(
        DigestAuth("user", "pass"), Request("GET", "http://example.org/"), verifier(authority)
    )
    assert_accepted(exchanges)
    assert sent_params(exchanges[1][0])["opaque"] == authority.opaque


def test_digest_without_opaque_sends_none() -> None:
    def server(request: Request) -> Response:
        if "authorization" in request.headers:
            return Response(200)
        return Response(401, headers={"WWW-Authenticate": 'Digest realm="r", nonce="abc"'})

    exchanges = drive(DigestAuth("u", "p"), Request("GET", "http://example.org/"), server)
    params = sent_params(exchanges[1][0])
    assert "opaque" not in params
    assert params["algorithm"] == "MD5"  # the default is named explicitly, as httpx does


def with_basic_first(challenge: str) -> List[str]:
    return ['Basic realm="basic-realm"', challenge, 'Bearer realm="x"']


def on_one_line(challenge: str) -> List[str]:
    return [f'Basic realm="a, Digest b", {challenge}, Bearer error="x"']


def reordered_and_unquoted(challenge: str) -> List[str]:
    params = parse_digest_params(challenge[len("Digest ") :])
    items = []
    for name, value in reversed(list(params.items())):
        if name == "qop":
            items.append(f'{name}="{value}"')  # a list must stay quoted
        else:
            items.append(f"{name.upper()} = {value}")
    return ["DIGEST  " + " ,".join(items)]


@pytest.mark.parametrize("rewrite", [with_basic_first, on_one_line, reordered_and_unquoted])
def test_digest_finds_its_challenge_however_it_is_written(
    rewrite: Callable[[str], List[str]],
) -> None:
    exchanges = drive(
        DigestAuth("user", "pass"),
        Request("GET", "http://example.org/"),
        verifier(DigestAuthority(), algorithm="SHA-512-sess", rewrite=rewrite),
    )
    assert_accepted(exchanges)
    assert sent_params(exchanges[1][0])["realm"] == REALM


def test_digest_skips_a_challenge_it_cannot_answer_for_one_it_can() -> None:
    def offer_two(challenge: str) -> List[str]:
        return [challenge.replace("algorithm=MD5", "algorithm=MYSTERY-HASH"), challenge]

    exchanges = drive(
        DigestAuth("user", "pass"),
        Request("GET", "http://example.org/"),
        verifier(DigestAuthority(), rewrite=offer_two),
    )
    assert_accepted(exchanges)
    assert sent_params(exchanges[1][0])["algorithm"] == "MD5"


def test_digest_nonce_count_increments_across_requests() -> None:
    authority = DigestAuthority()
    auth = DigestAuth("user", "pass")
    server = verifier(authority, algorithm="SHA-256")

    first = drive(auth, Request("GET", "http://example.org/a"), server)
    assert_accepted(first)
    nonce = sent_params(first[1][0])["nonce"]

    # Later requests answer the stored challenge at once: one round trip each.
    for expected_nc in ("00000002", "00000003"):
        later = drive(auth, Request("GET", "http://example.org/b"), server)
        assert len(later) == 1
        assert_accepted(later)
        params = sent_params(later[0][0])
        assert params["nonce"] == nonce
        assert params["nc"] == expected_nc
        assert params["uri"] == "/b"

    cnonces = {sent_params(first[1][0])["cnonce"], params["cnonce"]}
    assert len(cnonces) == 2  # a fresh client nonce every time


def test_digest_new_nonce_restarts_the_count() -> None:
    auth = DigestAuth("user", "pass")
    assert_accepted(drive(auth, Request("GET", "http://a.example/"), verifier(DigestAuthority())))

    # Another authority does not know the stored nonce: it challenges again.
    exchanges = drive(auth, Request("GET", "http://a.example/"), verifier(DigestAuthority()))
    assert [response.status_code for _, response in exchanges] == [401, 200]
    assert sent_params(exchanges[0][0])["nc"] == "00000002"  # the stale, proactive try
    assert sent_params(exchanges[1][0])["nc"] == "00000001"


def test_digest_carries_cookies_set_by_the_challenge() -> None:
    def server(request: Request) -> Response:
        if "authorization" in request.headers:
            return Response(200, headers={"X-Cookie": request.headers.get("cookie", "")})
        return Response(
            401,
            headers=[
                ("WWW-Authenticate", 'Digest realm="r", nonce="n1", qop="auth"'),
                ("Set-Cookie", "session=fresh; Path=/"),
                ("Set-Cookie", "other=2; Path=/"),
            ],
        )

    exchanges = drive(DigestAuth("u", "p"), Request("GET", "http://example.org/"), server)
    assert "cookie" not in exchanges[0][0]
    assert exchanges[1][1].headers["x-cookie"] == "session=fresh; other=2"

    # A Cookie header the request already had is kept, with new values winning.
    request = Request("GET", "http://example.org/", headers={"Cookie": "a=1; session=stale"})
    exchanges = drive(DigestAuth("u", "p"), request, server)
    assert exchanges[1][1].headers["x-cookie"] == "a=1; session=fresh; other=2"


@pytest.mark.anyio
async def test_async_digest_auth_is_accepted_by_the_verifier() -> None:
    auth = DigestAuth("user", "pass")
    server = verifier(DigestAuthority(), algorithm="SHA-256-sess")
    exchanges = await adrive(auth, Request("GET", "http://example.org/"), server)
    assert len(exchanges) == 2
    assert_accepted(exchanges)
    again = await adrive(auth, Request("GET", "http://example.org/"), server)
    assert len(again) == 1
    assert_accepted(again)


def test_digest_auth_int_only_is_not_supported() -> None:
    with pytest.raises(NotImplementedError, match="auth-int"):
        drive(
            DigestAuth("user", "pass"),
            Request("GET", "http://example.org/"),
            verifier(DigestAuthority(), qop="auth-int"),
        )


def challenge_server(challenge: str) -> Handler:
    def handle(request: Request) -> Response:
        return Response(401, headers={"WWW-Authenticate": challenge})

    return handle


@pytest.mark.parametrize(
    ("challenge", "message"),
    [
        (
            'Digest realm="r", nonce="n", algorithm=FOO-256',
            "Unsupported Digest algorithm 'FOO-256'",
        ),
        ('Digest realm="r", nonce="n", qop="bogus"', "Unexpected qop value 'bogus'"),
        ('Digest realm="r"', "no 'nonce' parameter"),
        ('Digest nonce="n"', "no 'realm' parameter"),
    ],
)
def test_digest_unusable_challenges_raise_protocol_error(challenge: str, message: str) -> None:
    request = Request("GET", "http://example.org/")
    with pytest.raises(ProtocolError, match=message) as info:
        drive(DigestAuth("user", "pass"), request, challenge_server(challenge))
    assert info.value.request is request


@pytest.mark.parametrize(
    "response",
    [
        Response(200),
        Response(403, headers={"WWW-Authenticate": 'Digest realm="r", nonce="n"'}),
        Response(401),
        Response(401, headers={"WWW-Authenticate": 'Basic realm="r"'}),
    ],
)
def test_digest_does_not_retry_without_a_digest_challenge(response: Response) -> None:
    exchanges = drive(
        DigestAuth("user", "pass"), Request("GET", "http://example.org/"), lambda r: response
    )
    assert len(exchanges) == 1


def test_digest_client_nonce_comes_from_get_client_nonce(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """httpx's `_get_client_nonce(nonce_count, nonce)` is the cnonce's one source, looked
    up on the instance each time: suites patch it for reproducible headers."""
    calls: List[Tuple[int, bytes]] = []

    def fixed(self: DigestAuth, nonce_count: int, nonce: bytes) -> bytes:
        calls.append((nonce_count, nonce))
        return b"0123456789abcdef"

    monkeypatch.setattr(DigestAuth, "_get_client_nonce", fixed)
    authority = DigestAuthority()
    auth = DigestAuth("user", "pass")
    exchanges = drive(auth, Request("GET", "http://example.org/"), verifier(authority))
    assert_accepted(exchanges)
    params = sent_params(exchanges[1][0])
    assert params["cnonce"] == "0123456789abcdef"
    assert calls == [(1, params["nonce"].encode("ascii"))]
    assert len(DigestAuth("u", "p")._get_client_nonce(1, b"n")) == 16
