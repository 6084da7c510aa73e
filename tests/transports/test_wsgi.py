"""WSGITransport: the PEP 3333 environ, streaming both ways, errors and exc_info."""

from __future__ import annotations

import io
import json
import sys
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any, Callable, Optional

import pytest

import httpduo
from httpduo._transports.wsgi import WSGITransport

StartResponse = Callable[..., Callable[[bytes], None]]
Environ = dict[str, Any]


class AppError(Exception):
    pass


def echo_environ(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Answers with every str-valued environ entry (and a few others) as JSON."""
    report: dict[str, Any] = {
        key: value for key, value in environ.items() if isinstance(value, str)
    }
    report["wsgi.version"] = list(environ["wsgi.version"])
    for key in ("wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"):
        report[key] = environ[key]
    report["wsgi.errors is stderr"] = environ["wsgi.errors"] is sys.stderr
    report["body"] = environ["wsgi.input"].read().decode("latin-1")
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps(report).encode()]


def environ_for(url: str, transport: Optional[WSGITransport] = None, **kwargs: Any) -> Any:
    transport = transport or WSGITransport(echo_environ)
    with httpduo.Client(transport=transport) as client:
        response = client.request(kwargs.pop("method", "GET"), url, **kwargs)
    assert response.status_code == 200
    return response.json()


def test_environ_basics() -> None:
    environ = environ_for("http://testserver/a/b?x=1&y=%20", headers={"X-Custom": "hello"})
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["SCRIPT_NAME"] == ""
    assert environ["PATH_INFO"] == "/a/b"
    assert environ["QUERY_STRING"] == "x=1&y=%20"
    assert environ["SERVER_NAME"] == "testserver"
    assert environ["SERVER_PORT"] == "80"
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["REMOTE_ADDR"] == "127.0.0.1"
    assert environ["HTTP_HOST"] == "testserver"
    assert environ["HTTP_X_CUSTOM"] == "hello"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["wsgi.version"] == [1, 0]
    assert environ["wsgi.multithread"] is True
    assert environ["wsgi.multiprocess"] is False
    assert environ["wsgi.run_once"] is False
    assert environ["wsgi.errors is stderr"] is True
    assert environ["body"] == ""
    assert "CONTENT_LENGTH" not in environ  # a GET has no body


def test_environ_ports_and_schemes() -> None:
    assert environ_for("https://example.org/")["SERVER_PORT"] == "443"
    environ = environ_for("https://example.org:8443/")
    assert environ["SERVER_PORT"] == "8443"
    assert environ["wsgi.url_scheme"] == "https"
    assert environ["HTTP_HOST"] == "example.org:8443"
    assert environ_for("http://[::1]:8080/")["SERVER_NAME"] == "::1"


def test_content_headers_have_no_http_prefix() -> None:
    environ = environ_for(
        "http://testserver/",
        method="POST",
        content=b'{"a": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert environ["CONTENT_TYPE"] == "application/json"
    assert environ["CONTENT_LENGTH"] == "8"
    assert "HTTP_CONTENT_TYPE" not in environ
    assert "HTTP_CONTENT_LENGTH" not in environ
    assert environ["body"] == '{"a": 1}'


def test_repeated_headers_are_joined() -> None:
    environ = environ_for(
        "http://testserver/",
        headers=[
            ("Accept", "text/html"),
            ("X-Multi", "one"),
            ("Accept", "application/json"),
            ("X-Multi", "two"),
            ("Cookie", "a=1"),
            ("Cookie", "b=2"),
        ],
    )
    assert environ["HTTP_ACCEPT"] == "text/html,application/json"
    assert environ["HTTP_X_MULTI"] == "one,two"
    assert environ["HTTP_COOKIE"] == "a=1; b=2"


def test_unicode_and_escaped_paths_follow_pep_3333() -> None:
    environ = environ_for("http://testserver/caf\u00e9/a%2Fb%20c?q=caf%C3%A9")
    # PATH_INFO holds the path's bytes, percent-decoded, as latin-1 characters.
    assert environ["PATH_INFO"].encode("latin-1").decode("utf-8") == "/caf\u00e9/a/b c"
    assert environ["PATH_INFO"] == "/caf\u00c3\u00a9/a/b c"
    # The query string stays as it was sent.
    assert environ["QUERY_STRING"] == "q=caf%C3%A9"
    header_value = "caf\u00e9"
    latin = header_value.encode("latin-1")
    environ = environ_for("http://testserver/", headers={"X-Latin": latin})
    assert environ["HTTP_X_LATIN"] == header_value


def test_script_name_leaves_the_path_alone() -> None:
    transport = WSGITransport(echo_environ, script_name="/mount")
    environ = environ_for("http://testserver/users/1", transport)
    assert environ["SCRIPT_NAME"] == "/mount"
    assert environ["PATH_INFO"] == "/users/1"


@pytest.mark.parametrize(
    ("url", "script_name", "path_info"),
    [
        ("http://testserver/mount/users/1", "/mount", "/users/1"),
        ("http://testserver/mount", "/mount", ""),
        ("http://testserver/mount/", "/mount", "/"),
        # Not under the prefix (the prefix must end at a segment boundary): untouched.
        ("http://testserver/mountain/users", "", "/mountain/users"),
        ("http://testserver/other", "", "/other"),
    ],
)
def test_root_path_moves_the_prefix_into_script_name(
    url: str, script_name: str, path_info: str
) -> None:
    for root_path in ("/mount", "/mount/"):
        environ = environ_for(url, WSGITransport(echo_environ, root_path=root_path))
        assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == (script_name, path_info)


def test_root_path_adds_to_script_name() -> None:
    transport = WSGITransport(echo_environ, script_name="/outer", root_path="/inner")
    environ = environ_for("http://testserver/inner/x", transport)
    assert (environ["SCRIPT_NAME"], environ["PATH_INFO"]) == ("/outer/inner", "/x")


def test_remote_addr_and_wsgi_errors() -> None:
    errors = io.StringIO()

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        environ["wsgi.errors"].write("logged by the app\n")
        start_response("200 OK", [])
        return [environ["REMOTE_ADDR"].encode()]

    transport = WSGITransport(app, remote_addr="1.2.3.4", wsgi_errors=errors)
    with httpduo.Client(transport=transport) as client:
        assert client.get("http://testserver/").text == "1.2.3.4"
    assert errors.getvalue() == "logged by the app\n"


# -- request bodies -----------------------------------------------------------------------


def test_post_form_body() -> None:
    environ = environ_for("http://testserver/form", method="POST", data={"a": "1", "b": "x y"})
    assert environ["body"] == "a=1&b=x+y"
    assert environ["CONTENT_TYPE"] == "application/x-www-form-urlencoded"
    assert environ["CONTENT_LENGTH"] == str(len("a=1&b=x+y"))


class CountingBody:
    """A streamed request body that records how many chunks were pulled from it."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.pulled = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.pulled += 1
            yield chunk


def test_wsgi_input_is_read_lazily_from_a_streamed_body() -> None:
    body = CountingBody([b"first line\nsec", b"ond line\n", b"tail", b"-end"])
    seen: dict[str, Any] = {}

    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        stream = environ["wsgi.input"]
        seen["terminated"] = environ["wsgi.input_terminated"]
        seen["chunked"] = environ.get("HTTP_TRANSFER_ENCODING")
        seen["read(5)"] = stream.read(5)
        seen["pulled after read(5)"] = body.pulled
        seen["readline"] = stream.readline()
        seen["readline(4)"] = stream.readline(4)
        seen["pulled after readlines"] = body.pulled
        seen["read(0)"] = stream.read(0)
        seen["iterated"] = list(stream)
        seen["read() at end"] = stream.read()
        start_response("204 No Content", [])
        return []

    with httpduo.Client(transport=WSGITransport(app)) as client:
        response = client.post("http://testserver/", content=body)
    assert response.status_code == 204
    assert seen == {
        "terminated": True,
        "chunked": "chunked",
        "read(5)": b"first",
        "pulled after read(5)": 1,
        "readline": b" line\n",
        "readline(4)": b"seco",
        "pulled after readlines": 2,
        "read(0)": b"",
        "iterated": [b"nd line\n", b"tail-end"],
        "read() at end": b"",
    }


def test_wsgi_input_read_all_and_readlines() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        stream = environ["wsgi.input"]
        first = stream.read(3)
        lines = stream.readlines()
        start_response("200 OK", [])
        return [first, b"|", b"|".join(lines)]

    with httpduo.Client(transport=WSGITransport(app)) as client:
        response = client.post("http://testserver/", content=iter([b"abcd\n", b"e\nf"]))
        assert response.content == b"abc|d\n|e\n|f"
        response = client.post("http://testserver/", content=b"xyz\n12\n")
        assert response.content == b"xyz|\n|12\n"


def test_request_body_must_be_sync() -> None:
    async def body() -> AsyncIterator[bytes]:
        yield b"x"

    request = httpduo.Request("POST", "http://testserver/", content=body())
    with pytest.raises(RuntimeError, match="SyncByteStream"):
        WSGITransport(echo_environ).handle_request(request)


# -- responses ----------------------------------------------------------------------------


class StreamingApp:
    """Yields chunks lazily and records what happened, including close()."""

    def __init__(self, chunks: list[bytes], fail_at: Optional[int] = None) -> None:
        self.chunks = chunks
        self.fail_at = fail_at
        self.produced = 0
        self.closed = 0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("X-Stream", "yes")])
        return self.Body(self)

    class Body:
        def __init__(self, app: StreamingApp) -> None:
            self.app = app

        def __iter__(self) -> Iterator[bytes]:
            for index, chunk in enumerate(self.app.chunks):
                if index == self.app.fail_at:
                    raise AppError(f"failed at chunk {index}")
                self.app.produced += 1
                yield chunk

        def close(self) -> None:
            self.app.closed += 1


def test_streaming_response_is_pulled_lazily_and_closed_once() -> None:
    app = StreamingApp([b"one", b"", b"two", b"three"])
    with httpduo.Client(transport=WSGITransport(app)) as client:
        with client.stream("GET", "http://testserver/") as response:
            assert response.headers["x-stream"] == "yes"
            chunks = response.iter_raw()
            assert next(chunks) == b"one"
            assert app.produced == 1
            assert next(chunks) == b"two"
            assert app.produced == 3
            assert app.closed == 0
            assert list(chunks) == [b"three"]
        assert app.closed == 1
        assert client.get("http://testserver/").content == b"onetwothree"
    assert app.closed == 2


def test_closing_a_response_early_closes_the_app_iterable() -> None:
    app = StreamingApp([b"one", b"two", b"three"])
    with httpduo.Client(transport=WSGITransport(app)) as client:
        with client.stream("GET", "http://testserver/") as response:
            assert next(response.iter_raw()) == b"one"
        assert response.is_closed
    assert app.produced == 1
    assert app.closed == 1


def test_generator_app_finally_runs_on_early_close() -> None:
    events: list[str] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        try:
            for index in range(1000):
                events.append(f"yield {index}")
                yield b"x"
        finally:
            events.append("finally")

    transport = WSGITransport(app)
    response = transport.handle_request(httpduo.Request("GET", "http://testserver/"))
    stream = response.stream
    assert isinstance(stream, httpduo.SyncByteStream)
    assert next(iter(stream)) == b"x"
    response.close()
    assert events == ["yield 0", "finally"]


def test_lazy_start_response_inside_a_generator() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        yield b""  # empty chunks before the headers are final are skipped
        start_response("201 Created", [("Location", "/new")])
        yield b""
        yield b"made"

    with httpduo.Client(transport=WSGITransport(app)) as client:
        response = client.post("http://testserver/")
    assert response.status_code == 201
    assert response.headers["location"] == "/new"
    assert response.content == b"made"


def test_write_callable_comes_before_the_iterable() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        write = start_response("200 OK", [])
        write(b"written ")
        return iter([b"returned", b" then"])

    def mixed(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        write = start_response("200 OK", [])
        yield b"a"
        write(b"b")
        write(b"")
        yield b"c"

    with httpduo.Client(transport=WSGITransport(app)) as client:
        assert client.get("http://testserver/").content == b"written returned then"
    with httpduo.Client(transport=WSGITransport(mixed)) as client:
        assert client.get("http://testserver/").content == b"abc"


def test_status_line_reason_phrase_and_headers() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("299 Very Custom", [("X-A", "1"), ("X-A", "2"), ("Set-Cookie", "s=1")])
        return [b"ok"]

    with httpduo.Client(transport=WSGITransport(app)) as client:
        response = client.get("http://testserver/")
    assert response.status_code == 299
    assert response.reason_phrase == "Very Custom"
    assert response.headers.get_list("x-a") == ["1", "2"]
    assert response.cookies["s"] == "1"


def test_head_response_has_no_body() -> None:
    app = StreamingApp([b"body", b"more"])
    with httpduo.Client(transport=WSGITransport(app)) as client:
        response = client.head("http://testserver/")
    assert response.status_code == 200
    assert response.content == b""
    assert app.closed == 1


# -- app errors ---------------------------------------------------------------------------


def failing_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    raise AppError("broken app")


def test_app_exception_propagates_unwrapped_by_default() -> None:
    with (
        httpduo.Client(transport=WSGITransport(failing_app)) as client,
        pytest.raises(AppError, match="broken app"),
    ):
        client.get("http://testserver/")


def test_app_exception_becomes_a_500_when_not_raised() -> None:
    errors = io.StringIO()
    transport = WSGITransport(failing_app, raise_app_exceptions=False, wsgi_errors=errors)
    with httpduo.Client(transport=transport) as client:
        response = client.get("http://testserver/")
    assert response.status_code == 500
    assert response.content == b""
    assert "AppError: broken app" in errors.getvalue()


@pytest.mark.parametrize("raise_app_exceptions", [True, False])
def test_error_in_the_iterable_before_the_first_chunk(raise_app_exceptions: bool) -> None:
    app = StreamingApp([b"never"], fail_at=0)
    transport = WSGITransport(
        app, raise_app_exceptions=raise_app_exceptions, wsgi_errors=io.StringIO()
    )
    with httpduo.Client(transport=transport) as client:
        if raise_app_exceptions:
            with pytest.raises(AppError, match="chunk 0"):
                client.get("http://testserver/")
        else:
            assert client.get("http://testserver/").status_code == 500
    assert app.closed == 1


@pytest.mark.parametrize("raise_app_exceptions", [True, False])
def test_error_in_the_middle_of_the_body_always_propagates(raise_app_exceptions: bool) -> None:
    # The status is out by then: there is no 500 to turn it into.
    app = StreamingApp([b"one", b"two", b"three"], fail_at=2)
    transport = WSGITransport(app, raise_app_exceptions=raise_app_exceptions)
    with (
        httpduo.Client(transport=transport) as client,
        pytest.raises(AppError, match="chunk 2"),
    ):
        client.get("http://testserver/")
    assert app.produced == 2
    assert app.closed == 1


def error_page_app(environ: Environ, start_response: StartResponse) -> list[bytes]:
    """Reports its own failure the PEP 3333 way: start_response(..., exc_info)."""
    start_response("200 OK", [("Content-Type", "text/plain")])
    try:
        raise AppError("handled by the app")
    except AppError:
        start_response("500 Internal Server Error", [("X-Error", "1")], sys.exc_info())
    return [b"error page"]


def test_exc_info_is_raised_when_raising_app_exceptions() -> None:
    with (
        httpduo.Client(transport=WSGITransport(error_page_app)) as client,
        pytest.raises(AppError, match="handled by the app"),
    ):
        client.get("http://testserver/")


def test_exc_info_replaces_the_headers_when_not_raising() -> None:
    transport = WSGITransport(error_page_app, raise_app_exceptions=False)
    with httpduo.Client(transport=transport) as client:
        response = client.get("http://testserver/")
    assert response.status_code == 500
    assert response.headers.get("x-error") == "1"
    assert "content-type" not in response.headers
    assert response.content == b"error page"


def test_exc_info_after_the_headers_were_sent_is_re_raised() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"partial"
        try:
            raise AppError("too late")
        except AppError:
            start_response("500 Internal Server Error", [], sys.exc_info())
        yield b"never sent"

    transport = WSGITransport(app, raise_app_exceptions=False)
    with (
        httpduo.Client(transport=transport) as client,
        client.stream("GET", "http://testserver/") as response,
    ):
        assert response.status_code == 200
        chunks = response.iter_raw()
        assert next(chunks) == b"partial"
        with pytest.raises(AppError, match="too late"):
            next(chunks)


@pytest.mark.parametrize(
    ("app", "error", "message"),
    [
        (lambda env, start: [b"no start_response"], RuntimeError, "start_response"),
        (lambda env, start: [start("200 OK", []), start("200 OK", [])], RuntimeError, "twice"),
        (lambda env, start: [start("OK", [])], ValueError, "'OK'"),
        (lambda env, start: [start("200 OK", []) and "text"], TypeError, "str"),
        (lambda env, start: start("200 OK", []) and None, TypeError, "NoneType"),
    ],
    ids=["no-start-response", "start-twice", "bad-status", "str-chunk", "not-iterable"],
)
def test_broken_apps_get_clear_errors(app: Any, error: type[Exception], message: str) -> None:
    with (
        httpduo.Client(transport=WSGITransport(app)) as client,
        pytest.raises(error, match=message),
    ):
        client.get("http://testserver/")
    transport = WSGITransport(app, raise_app_exceptions=False, wsgi_errors=io.StringIO())
    with httpduo.Client(transport=transport) as client:
        assert client.get("http://testserver/").status_code == 500


def test_response_headers_are_latin_1_text() -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", [("X-Latin", "caf\u00e9"), ("X-Utf8", "\u00e2\u0082\u00ac")])
        return []

    with httpduo.Client(transport=WSGITransport(app)) as client:
        response = client.get("http://testserver/")
    assert dict(response.headers.raw)[b"X-Latin"] == b"caf\xe9"
    # UTF-8 bytes passed the PEP 3333 way come through as those bytes.
    assert dict(response.headers.raw)[b"X-Utf8"] == "\u20ac".encode()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ([("X-Bad", "line\r\nbreak")], "X-Bad"),
        ([("X-Wide", "\u65e5\u672c")], "latin-1"),
        (["not-a-pair"], "pairs"),
    ],
)
def test_bad_response_headers_are_app_errors(headers: list[Any], message: str) -> None:
    def app(environ: Environ, start_response: StartResponse) -> list[bytes]:
        start_response("200 OK", headers)
        return []

    with (
        httpduo.Client(transport=WSGITransport(app)) as client,
        pytest.raises((ValueError, TypeError), match=message),
    ):
        client.get("http://testserver/")
    transport = WSGITransport(app, raise_app_exceptions=False, wsgi_errors=io.StringIO())
    with httpduo.Client(transport=transport) as client:
        assert client.get("http://testserver/").status_code == 500
