"""The `httpduo` command: parse the command line (click), send one request with the sync
`Client`, show the response (rich).

Rules:
- Options and their meanings follow httpx's command-line client; `-h` is --headers, so
  help is `--help` only. Additions: --digest, --force, --no-color, --fail, --version.
- Request bodies from -c/--content and -j/--json: the value itself, `@FILE` for a file's
  contents, `-` for standard input. A file given to -c is streamed, not loaded.
- Where output goes (stdout on a terminal or not, stderr) is decided in `_render.py`;
  exit statuses and error lines in `_errors.py`. Nothing here prints a traceback for a
  failed request: every failure ends as one line on stderr and a documented status.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from typing import IO, Any, Optional, Union

import click

import httpduo

from ._download import check_target, download
from ._errors import (
    EXIT_CODES_HELP,
    HTTP_ERROR,
    INTERRUPTED,
    OK,
    USAGE,
    WRITE,
    CliError,
    classify,
    one_line,
)
from ._render import Output, make_output, print_head, render_body, write_raw
from ._verbose import Tracer

__all__ = ["cli", "main"]

HELP = """Send an HTTP request to URL and show the response.

\b
Output:
  When stdout is a terminal: the status line and response headers, a blank
  line, then the body made readable (JSON pretty-printed and highlighted,
  HTML/XML highlighted, text decoded with its charset, binary bodies
  summarised as "<N bytes of binary data (TYPE)>").
  When stdout is not a terminal (a pipe or a file): exactly the body bytes,
  Content-Encoding decoded, and nothing else, so `httpduo URL > FILE` saves
  the body. The status line and headers then go to stderr with --verbose.
  stderr always carries errors (one line each), --verbose details and the
  --download progress bar. Colours are used on a terminal only, never with
  --no-color or when NO_COLOR is set.

\b
Request bodies:
  -c/--content and -j/--json take the body itself, @FILE to read it from a
  file, or - to read it from stdin. The method defaults to GET, or to POST
  when -c, -d, -f or -j is given.
"""

_CONTEXT = {"help_option_names": ["--help"], "max_content_width": 100}

Body = Union[str, bytes, IO[bytes]]


@dataclass
class Options:
    """The parsed command line: what to send and how to show it."""

    url: str
    method: str
    request: dict[str, Any]
    cookies: dict[str, str]
    proxy: Optional[str]
    timeout: float
    follow_redirects: bool
    verify: bool
    http2: bool
    download: Optional[str]
    force: bool
    verbose: bool
    fail: bool


def _read_stdin() -> bytes:
    # Read whole, so the body can be replayed (redirects, digest auth) and has a length.
    return sys.stdin.buffer.read()


def _open_file(ctx: click.Context, value: str, option: str) -> IO[bytes]:
    path = value[1:]
    try:
        file = open(path, "rb")  # noqa: SIM115 - closed with the click context
    except OSError as exc:
        raise click.BadParameter(
            f"cannot read {path!r}: {exc.strerror or exc}", param_hint=option
        ) from None
    ctx.call_on_close(file.close)
    return file


def _content(ctx: click.Context, value: Optional[str]) -> Optional[Body]:
    if value is None:
        return None
    if value == "-":
        return _read_stdin()
    if value.startswith("@"):
        # An open binary file: httpduo streams it with its Content-Length.
        return _open_file(ctx, value, "'-c' / '--content'")
    return value


def _json(ctx: click.Context, value: Optional[str]) -> Any:
    if value is None:
        return None
    option = "'-j' / '--json'"
    raw: Union[str, bytes]
    if value == "-":
        raw = _read_stdin()
    elif value.startswith("@"):
        raw = _open_file(ctx, value, option).read()
    else:
        raw = value
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise click.BadParameter(f"not valid JSON ({exc})", param_hint=option) from None


def _form(pairs: tuple[tuple[str, str], ...]) -> dict[str, Union[str, list[str]]]:
    form: dict[str, Union[str, list[str]]] = {}
    for name, value in pairs:
        current = form.get(name)
        if current is None:
            form[name] = value
        elif isinstance(current, list):
            current.append(value)
        else:
            form[name] = [current, value]
    return form


def _auth(auth: Optional[tuple[str, str]], digest: bool) -> Optional[httpduo.Auth]:
    if auth is None:
        if digest:
            raise click.UsageError("--digest needs --auth USER PASS.")
        return None
    user, password = auth
    if password == "-":
        password = click.prompt(f"Password for {user}", hide_input=True, err=True)
    if digest:
        return httpduo.DigestAuth(user, password)
    return httpduo.BasicAuth(user, password)


def _send(options: Options, output: Output) -> int:
    if options.download is not None:
        check_target(options.download, force=options.force)
    tracer = Tracer(output.err, verify=options.verify) if options.verbose else None
    hooks: dict[str, list[Any]] = {}
    if tracer is not None:
        hooks = {"request": [tracer.on_request], "response": [tracer.on_response]}
    try:
        client = httpduo.Client(
            verify=options.verify,
            http2=options.http2,
            proxy=options.proxy,
            timeout=options.timeout,
            follow_redirects=options.follow_redirects,
            event_hooks=hooks,
            # On the client: per-request cookies are deprecated (as in httpx).
            cookies=options.cookies,
        )
    except (httpduo.InvalidURL, httpduo.HTTPError):
        raise
    except ValueError as exc:  # e.g. a proxy URL with an unusable scheme
        raise CliError(f"invalid option: {one_line(str(exc))}", USAGE) from None
    with client, client.stream(options.method, options.url, **options.request) as response:
        if output.out_is_terminal:
            print_head(output.out, response)
        elif tracer is not None:
            print_head(output.err, response, "< ")
        if options.fail and response.status_code >= 400:
            reason = f"{response.status_code} {response.reason_phrase}".rstrip()
            raise CliError(f"the server answered {reason} (--fail)", HTTP_ERROR)
        if options.download is not None:
            download(response, options.download, force=options.force, output=output)
        elif output.out_is_terminal:
            render_body(output.out, response, response.iter_bytes())
        else:
            write_raw(output.binary_stdout(), response.iter_bytes())
    if tracer is not None:
        tracer.finish()
    return OK


def _silence_stdout() -> None:
    # The reader went away (`httpduo URL | head`): point stdout at /dev/null so the
    # interpreter's final flush does not complain about the broken pipe again.
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def run(options: Options, output: Output) -> int:
    """Send the request and show the response; returns the exit status."""
    try:
        return _send(options, output)
    except CliError as exc:
        output.error(exc.message)
        return exc.code
    except BrokenPipeError:
        _silence_stdout()
        return WRITE
    except KeyboardInterrupt:
        output.error("interrupted")
        return INTERRUPTED
    except (
        httpduo.HTTPError,
        httpduo.InvalidURL,
        httpduo.StreamError,
        NotImplementedError,
        ImportError,
    ) as exc:
        failure = classify(exc)
        output.error(failure.message)
        return failure.code


@click.command("httpduo", context_settings=_CONTEXT, help=HELP, epilog=EXIT_CODES_HELP)
@click.argument("url")
@click.option(
    "-m",
    "--method",
    metavar="METHOD",
    help="Request method, such as GET, POST, PUT, PATCH, DELETE, OPTIONS, HEAD. "
    "[default: GET, or POST if a request body is included]",
)
@click.option(
    "-p",
    "--params",
    type=(str, str),
    multiple=True,
    metavar="<NAME VALUE>",
    help="Query parameter to include in the request URL (repeatable).",
)
@click.option(
    "-c",
    "--content",
    metavar="TEXT|@FILE|-",
    help="Byte content to include in the request body: the text, @FILE or - for stdin.",
)
@click.option(
    "-d",
    "--data",
    type=(str, str),
    multiple=True,
    metavar="<NAME VALUE>",
    help="Form field to include in the request body (repeatable).",
)
@click.option(
    "-f",
    "--files",
    type=(str, click.File("rb")),
    multiple=True,
    metavar="<NAME FILENAME>",
    help="Form file to include in the request body, as multipart (repeatable).",
)
@click.option(
    "-j",
    "--json",
    "json_",
    metavar="JSON|@FILE|-",
    help="JSON data to include in the request body: the JSON, @FILE or - for stdin.",
)
@click.option(
    "-h",
    "--headers",
    type=(str, str),
    multiple=True,
    metavar="<NAME VALUE>",
    help="HTTP header to include in the request (repeatable).",
)
@click.option(
    "--cookies",
    type=(str, str),
    multiple=True,
    metavar="<NAME VALUE>",
    help="Cookie to include in the request (repeatable).",
)
@click.option(
    "--auth",
    type=(str, str),
    default=None,
    metavar="<USER PASS>",
    help="Username and password to include in the request. Give - as the password to "
    "be prompted for it (hidden). Note that --verbose shows the Authorization header, "
    "whose encoding is trivially reversible.",
)
@click.option("--digest", is_flag=True, help="Use HTTP Digest authentication for --auth.")
@click.option("--proxy", metavar="URL", help="Send the request via the proxy at URL.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=5.0,
    show_default=True,
    metavar="SECONDS",
    help="Timeout for each network operation (connecting, reading, writing).",
)
@click.option("--follow-redirects", is_flag=True, help="Automatically follow redirects.")
@click.option("--no-verify", is_flag=True, help="Disable TLS certificate verification.")
@click.option(
    "--http2", is_flag=True, help="Send the request using HTTP/2, if the server supports it."
)
@click.option(
    "--download",
    type=click.Path(dir_okay=False),
    metavar="FILE",
    help="Save the response body to FILE (streamed, with a progress bar on a terminal) "
    "rather than displaying it.",
)
@click.option("--force", is_flag=True, help="Let --download overwrite an existing FILE.")
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Show the request sent, connection and TLS details, redirects and timings (on stderr).",
)
@click.option("--no-color", is_flag=True, help="Never use colours (as does NO_COLOR=1).")
@click.option(
    "--fail", is_flag=True, help="Exit with status 22 when the response status is 400 or above."
)
@click.version_option(
    httpduo.__version__, "--version", prog_name="httpduo", message="%(prog)s %(version)s"
)
@click.pass_context
def cli(
    ctx: click.Context,
    url: str,
    method: Optional[str],
    params: tuple[tuple[str, str], ...],
    content: Optional[str],
    data: tuple[tuple[str, str], ...],
    files: tuple[tuple[str, IO[bytes]], ...],
    json_: Optional[str],
    headers: tuple[tuple[str, str], ...],
    cookies: tuple[tuple[str, str], ...],
    auth: Optional[tuple[str, str]],
    digest: bool,
    proxy: Optional[str],
    timeout: float,
    follow_redirects: bool,
    no_verify: bool,
    http2: bool,
    download: Optional[str],
    force: bool,
    verbose: bool,
    no_color: bool,
    fail: bool,
) -> None:
    bodies = [
        name
        for name, given in (
            ("-c/--content", content is not None),
            ("-j/--json", json_ is not None),
            ("-d/--data or -f/--files", bool(data or files)),
        )
        if given
    ]
    if len(bodies) > 1:
        raise click.UsageError(f"Give only one kind of request body, not {' and '.join(bodies)}.")
    request: dict[str, Any] = {
        "params": list(params),
        "headers": list(headers),
    }
    credentials = _auth(auth, digest)
    if credentials is not None:
        request["auth"] = credentials
    body = _content(ctx, content)
    if body is not None:
        request["content"] = body
    if json_ is not None:
        request["json"] = _json(ctx, json_)
    if data:
        request["data"] = _form(data)
    if files:
        request["files"] = list(files)
    options = Options(
        url=url,
        method=method.upper() if method else ("POST" if bodies else "GET"),
        request=request,
        cookies=dict(cookies),
        proxy=proxy,
        timeout=timeout,
        follow_redirects=follow_redirects,
        verify=not no_verify,
        http2=http2,
        download=download,
        force=force,
        verbose=verbose,
        fail=fail,
    )
    code = run(options, make_output(no_color=no_color))
    if code != OK:
        ctx.exit(code)


def main() -> None:
    """Entry point of the `httpduo` console script and of `python -m httpduo`."""
    cli.main(prog_name="httpduo")
