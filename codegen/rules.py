r"""THE substitution table: how the async source trees become their sync twins.

`python -m codegen` reads src/httpduo/_async/ and tests/_async/ and writes
src/httpduo/_sync/ and tests/_sync/. It runs unasync's token pass (which drops `async` and
`await`) with exactly the names below and nothing else: unasync's own built-in table and
its `Async*` -> `Sync*` guess are switched off, so every rename is written down here once,
with its reason.

NAMES -- one `Name(old, new, reason)` per identifier.
  * `old` is replaced by `new` wherever it stands as a whole word: in code, in strings,
    docstrings, comments and f-string text alike (`aclose` matches `aclose()` but not
    `aclose_all`, and `anyio` does not match `anyio_backend`). Keep names out of prose
    that should not change.
  * Every entry must fire somewhere in the async trees. `python -m codegen --check` reports
    an entry that fires nowhere as an error, so the table never carries dead or guessed
    names: add an entry in the same change as the first async code that uses the name.
  * An `Async*`, `aclose`/`aread`/`aiter_*`-style or `async`/`await` word left in the
    generated output is an error too (there is no fallback guess): the fix is an entry
    here, or rewording the source.
  * No chains: a `new` may not also be an `old`.

LINES -- `Line(pattern, replacement, reason, trees)`: whole-line rewrites applied to each
source line (without its newline) BEFORE names are replaced, only in the listed trees
("src" = src/httpduo/_async, "tests" = tests/_async).
  * `pattern` must match the whole line (`re.fullmatch`); the first matching rule wins.
  * `replacement=None` drops the line; otherwise it is a `re` template for the new line
    (`\1` refers to the pattern's groups).
  * Same rule as NAMES: every line rule must fire, or `--check` reports it.
  Two-mode tests (tests/_async) are plain anyio-marked tests: `@pytest.mark.anyio` on its
  own line above a test, or `pytestmark = pytest.mark.anyio` for the module (both dropped
  below). The `anyio_backend` fixture (tests/conftest.py) parametrises them over asyncio
  and trio; the sync twin has no backend, so a test that reads `anyio_backend` is
  reported as a leftover unless a line rule maps that use, e.g.
  `Line(r"(\s*)async def (\w+)\(anyio_backend: str\)(.*)", r"\1async def \2()\3",
  "...", ("tests",))` (patterns see the async source). A test that needs anyio itself
  (task groups, cancel scopes) is not two-mode: it belongs in a single-sided test module
  outside tests/_async.

To add an entry: put it in its group below (keep each group sorted), give the reason in a
few words, run `python -m codegen`, then `python -m codegen --check`. Entries that the
design already foresees are listed, commented out, at the end: move one up when the code
that uses it lands.
"""

from __future__ import annotations

from typing import NamedTuple, Optional


class Name(NamedTuple):
    """Replace the identifier `old` by `new`; `reason` says why the twin is named so."""

    old: str
    new: str
    reason: str


class Line(NamedTuple):
    """Rewrite (or, with `replacement=None`, drop) source lines that fully match `pattern`."""

    pattern: str
    replacement: Optional[str]
    reason: str
    trees: tuple[str, ...] = ("src", "tests")


NAMES: tuple[Name, ...] = (
    # -- classes: each async class's twin, named as httpx (or _backends/base.py) names it ---
    Name("AsyncBaseTransport", "BaseTransport", "the transport interface (httpx names)"),
    Name("AsyncByteStream", "SyncByteStream", "httpx's stream bases; ByteStream serves both"),
    Name("AsyncClient", "Client", "the public client (httpx names)"),
    Name("AsyncConnectionPool", "ConnectionPool", "the connection pool"),
    Name("AsyncEvent", "Event", "backend primitive (_backends/base.py twins)"),
    Name("AsyncForwardConnection", "ForwardConnection", "a connection forwarding via a proxy"),
    Name("AsyncForwardHTTP11Connection", "ForwardHTTP11Connection", "absolute-form HTTP/1.1"),
    Name("AsyncHTTP11Connection", "HTTP11Connection", "the h11-driven connection"),
    Name("AsyncHTTP2Connection", "HTTP2Connection", "the h2-driven connection"),
    Name("AsyncHTTPConnection", "HTTPConnection", "one origin's connection, any version"),
    Name("AsyncHTTPTransport", "HTTPTransport", "the default transport (httpx names)"),
    Name("AsyncMutex", "Mutex", "the pool's decision mutex (_backends/mutex.py)"),
    Name("AsyncNetworkBackend", "NetworkBackend", "backend interface (_backends/base.py twins)"),
    Name("AsyncNetworkStream", "NetworkStream", "backend interface (_backends/base.py twins)"),
    Name("AsyncProxyPool", "ProxyPool", "the pool of one proxy's connections (_proxies.py)"),
    Name("AsyncSocksConnection", "SocksConnection", "a connection through a SOCKS tunnel"),
    Name("AsyncTrace", "Trace", "one traced step of a request (_trace.py)"),
    Name("AsyncTunnelConnection", "TunnelConnection", "a connection through a CONNECT tunnel"),
    # -- methods: httpx's async method names and their sync twins ---------------------------
    Name("aclose", "close", "closing: httpx's aclose()/close() pair"),
    Name("aiter_bytes", "iter_bytes", "response iteration (httpx names)"),
    Name("aiter_raw", "iter_raw", "raw body iteration (httpx names)"),
    Name("aread", "read", "body reading: httpx's aread()/read() pair"),
    Name("_aread_all", "_read_all", "a whole body at once (_models/_streams.py twins)"),
    Name("asend", "send", "driving an auth-flow generator: asend() -> send()"),
    Name("async_auth_flow", "sync_auth_flow", "httpx.Auth's two flow entry points"),
    Name("handle_async_request", "handle_request", "transport entry point (httpx names)"),
    # -- protocols and typing ---------------------------------------------------------------
    Name("AsyncIterator", "Iterator", "async generators are annotated AsyncIterator[...]"),
    Name("__aenter__", "__enter__", "async context manager -> context manager"),
    Name("__aexit__", "__exit__", "async context manager -> context manager"),
    Name("__aiter__", "__iter__", "async iteration -> iteration"),
    Name("__anext__", "__next__", "iterator classes' step; first step of an auth flow"),
    Name("StopAsyncIteration", "StopIteration", "an iterator class's end; an auth flow's end"),
    Name("asynccontextmanager", "contextmanager", "client.stream() is a context manager"),
    Name("arun_concurrently", "run_concurrently", "tests/helpers.py: task group -> threads"),
    Name("asleep", "sleep", "tests/helpers.py: anyio.sleep -> time.sleep"),
    # -- modules ----------------------------------------------------------------------------
    Name("_async", "_sync", "two-mode tests import httpduo._async.*; twins use httpduo._sync.*"),
    Name("anyio", "sync", "the backend module: _backends/anyio.py -> _backends/sync.py"),
)

LINES: tuple[Line, ...] = (
    Line(
        r"\s*@pytest\.mark\.anyio",
        None,
        "anyio's marker runs a test under an event loop; sync tests need none",
        ("tests",),
    ),
    Line(
        r"pytestmark = pytest\.mark\.anyio",
        None,
        "the same marker for a whole module",
        ("tests",),
    ),
)

# Foreseen entries (DESIGN.md); NOT active. Move one into its group above, uncommented, in the
# change that adds the first code using it -- an inactive entry cannot fire, so it stays here.
#
#   Name("AsyncLock", "Lock", "backend primitive (_backends/base.py twins)"),
#   Name("AsyncSemaphore", "Semaphore", "backend primitive (_backends/base.py twins)"),
#   Name("AsyncMockBackend", "MockBackend", "_backends/mock.py scripted bytes, both sides"),
#   Name("aiter_text", "iter_text", "response iteration (httpx names)"),
#   Name("aiter_lines", "iter_lines", "response iteration (httpx names)"),
#   Name("AsyncIterable", "Iterable", "typing: async iterables -> iterables"),
#   Name("asynccontextmanager", "contextmanager", "contextlib's decorators"),
