"""The code examples of docs/*.md, as the docs tests find and run them.

Rules:
- A fence's language decides what happens to it. `python` blocks run as scripts,
  `pycon` blocks as doctests (outputs compared, `...` matches anything), `console`
  blocks as transcripts of the `httpduo` command (each `$ httpduo ...` line is run and
  its output compared the same way). `bash`, `text` and the data languages in
  `NEVER_RUN` are shown, never run. Any other language, or none, is an error: no
  example escapes the tests by being labelled loosely.
- A block is configured by a `<!-- test: ... -->` comment on the nearest non-blank line
  above its fence (see `Directive`). Without one, it runs against the `server` fixture.
- Placeholder hosts: URLs on `www.example.org` are rewritten to the block's server,
  `api.example.org` to the same server reached as `localhost` (a second origin); mount
  patterns (`all://www.example.org`) to `all://` and that server's host and port; and
  the host and port of URLs on `proxy.example.org` to the block's proxy's (the URL's own
  scheme and credentials are kept, so `socks5h://` stays `socks5h://`).
  Expected outputs are rewritten the same way, so they may show the placeholder URLs.
  In console transcripts bare placeholders are rewritten too: `host:port` and a
  `Host: host` header line to the server's host and port, a lone host name to its host.
  Terminal control sequences (a progress bar's cursor moves) are removed from the
  command's output before it is compared.
- An async example defines `async def main()` and may end with a top-level
  `asyncio.run(main())`, `trio.run(main)` or `anyio.run(main)` line for the reader;
  the test drops that line and runs `main` itself, on each backend the example can run
  on (asyncio only if it uses `asyncio.`, trio only if it uses `trio.`, else both).
- In `python` blocks, a `print(...)` line with a trailing comment states its output:
  `print(response.status_code)  # 200`. The test checks it (`...` matches anything)
  every time the line runs, so explanations go on a line of their own.
- `requires=` names what an example needs from httpduo; while that is missing, the
  example is skipped with the missing name as the reason, and runs once it lands.
"""

from __future__ import annotations

import ast
import dataclasses
import doctest
import importlib
import importlib.util
import inspect
import re
import shlex
from collections.abc import Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Optional

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"

RUN_AS_SCRIPT = "python"
RUN_AS_DOCTEST = "pycon"
RUN_AS_TRANSCRIPT = "console"
RUN = frozenset({RUN_AS_SCRIPT, RUN_AS_DOCTEST, RUN_AS_TRANSCRIPT})
NEVER_RUN = frozenset({"bash", "text", "toml", "ini", "json", "yaml"})
BACKENDS = ("asyncio", "trio")

_FENCE_OPEN = re.compile(r"(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*)$")
_DIRECTIVE = re.compile(r"\s*<!--\s*test:(?P<body>.*?)-->\s*")
_RUN_LINE = re.compile(r"(?:asyncio\.run\(main\(\)\)|trio\.run\(main\)|anyio\.run\(main\))\s*")
_PLACEHOLDER_URL = re.compile(
    r"\b(?P<scheme>https?|all)://(?P<name>www|api)\.example\.org(?::\d+)?"
)
_PLACEHOLDER_HOST = re.compile(
    r"(?P<header>Host: )?\b(?P<name>www|api)\.example\.org(?P<port>:\d+)?", re.IGNORECASE
)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PROXY_URL = re.compile(
    r"\b(?P<scheme>[a-z][a-z0-9+.-]*)://(?P<userinfo>[^\s/@'\"]*@)?proxy\.example\.org(?::\d+)?"
)
_PRINT_WITH_COMMENT = re.compile(r"(?P<indent>\s*)print\((?P<args>.*)\)\s+#(?P<expected>.*)")
CHECKED_PRINT = "__docs_checked_print__"
_REQUIRES_PARAM = re.compile(r"(?P<path>[\w.]+)\((?P<param>\w+)\)")

DIRECTIVE_KEYS = frozenset(
    {"server", "proxy", "requires", "setup", "backends", "continue", "exit", "stdout"}
)


@dataclasses.dataclass(frozen=True)
class Directive:
    """What a `<!-- test: ... -->` comment says (space-separated `key=value` words).

    - `server=FIXTURE`: the server placeholder hosts point to (default `server`).
    - `proxy=FIXTURE[.ATTRIBUTE]`: what `proxy.example.org` URLs become (the fixture's
      `.url` unless an attribute is named, e.g. `squid.auth_url`).
    - `requires=SPEC[,SPEC]`: `httpduo.NAME`, `httpduo.NAME(PARAMETER)` or `import:MODULE`.
    - `setup=NAME[,NAME]`: preparations from `tests/docs/setups.py`, in order.
    - `backends=asyncio,trio`: overrides the backends an async example runs on.
    - `continue`: run the previous runnable block of the page first, in one namespace
      (the first block's `server=` and `proxy=` apply to the whole chain).
    - `exit=N` (console): the exit status of the block's last command (default 0); the
      commands before it must succeed.
    - `stdout=pipe` (console): run as if stdout were a pipe (default: a terminal).
    """

    server: str = "server"
    proxy: Optional[str] = None
    requires: tuple[str, ...] = ()
    setup: tuple[str, ...] = ()
    backends: Optional[tuple[str, ...]] = None
    continues: bool = False
    exit: int = 0
    terminal: bool = True

    @classmethod
    def parse(cls, text: str, where: str) -> Directive:
        values: dict[str, str] = {}
        for word in shlex.split(text):
            key, _, value = word.partition("=")
            if key not in DIRECTIVE_KEYS:
                raise ValueError(f"{where}: unknown test directive key {key!r}")
            values[key] = value
        backends = None
        if "backends" in values:
            backends = tuple(values["backends"].split(","))
            unknown = set(backends) - set(BACKENDS)
            if unknown:
                raise ValueError(f"{where}: unknown backends {sorted(unknown)}")
        stdout = values.get("stdout", "terminal")
        if stdout not in ("terminal", "pipe"):
            raise ValueError(f"{where}: stdout= must be 'terminal' or 'pipe', not {stdout!r}")
        return cls(
            server=values.get("server") or "server",
            proxy=values.get("proxy") or None,
            requires=_split(values.get("requires", "")),
            setup=_split(values.get("setup", "")),
            backends=backends,
            continues="continue" in values,
            exit=int(values.get("exit", "0")),
            terminal=stdout == "terminal",
        )


def _split(value: str) -> tuple[str, ...]:
    return tuple(item for item in value.split(",") if item)


@dataclasses.dataclass(frozen=True)
class Block:
    """One fenced block: where it is, its language, its text (dedented) and directive."""

    path: Path
    line: int  # 1-based line of the first line of code (after the opening fence)
    language: str
    code: str
    directive: Directive
    previous: Optional[Block] = None  # the block `continue` runs first

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(ROOT).as_posix()}:{self.line}"

    @property
    def runnable(self) -> bool:
        return self.language in RUN

    def chain(self) -> list[Block]:
        """The blocks to run, in order: those this one continues, then itself."""
        blocks: list[Block] = []
        block: Optional[Block] = self
        while block is not None:
            blocks.append(block)
            block = block.previous if block.directive.continues else None
        return blocks[::-1]


def markdown_files() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def parse_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file, in order."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    previous_runnable: Optional[Block] = None
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.fullmatch(lines[index])
        if match is None:
            index += 1
            continue
        indent, fence = match["indent"], match["fence"]
        info = match["info"].strip()
        language = info.split()[0] if info else ""
        where = f"{path.relative_to(ROOT).as_posix()}:{index + 1}"
        # Closed by the same character, at least as many times, at the same indentation.
        close = re.compile(f"{re.escape(indent)}{re.escape(fence[0])}{{{len(fence)},}}\\s*")
        end = index + 1
        while end < len(lines) and close.fullmatch(lines[end]) is None:
            end += 1
        if end == len(lines):
            raise ValueError(f"{where}: the fence opened here is never closed")
        body = [_dedent(line, indent, where) for line in lines[index + 1 : end]]
        directive = Directive.parse(_directive_text(lines, index), where)
        block = Block(
            path=path,
            line=index + 2,
            language=language,
            code="\n".join(body) + "\n",
            directive=directive,
            previous=previous_runnable,
        )
        if directive.continues and previous_runnable is None:
            raise ValueError(f"{where}: `continue` but no runnable block precedes it")
        blocks.append(block)
        if block.runnable:
            previous_runnable = block
        index = end + 1
    return blocks


def _dedent(line: str, indent: str, where: str) -> str:
    if not line.strip():
        return ""
    if not line.startswith(indent):
        raise ValueError(f"{where}: a line of this block is indented less than its fence")
    return line[len(indent) :]


def _directive_text(lines: list[str], fence_index: int) -> str:
    for line in reversed(lines[:fence_index]):
        if line.strip():
            match = _DIRECTIVE.fullmatch(line)
            return "" if match is None else match["body"]
    return ""


def all_blocks() -> list[Block]:
    return [block for path in markdown_files() for block in parse_blocks(path)]


# ---- requirements ---------------------------------------------------------------------


def missing_requirement(spec: str) -> Optional[str]:
    """Why `spec` is not available (None when it is)."""
    if spec.startswith("import:"):
        module = spec[len("import:") :]
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        return None if found else f"module {module} is not installed"
    match = _REQUIRES_PARAM.fullmatch(spec)
    path, param = (match["path"], match["param"]) if match else (spec, None)
    obj = _resolve(path)
    if obj is None:
        return f"{path} does not exist yet"
    if param is None:
        return None
    if not callable(obj):
        raise ValueError(f"requires={spec!r}: {path} is not callable")
    if param not in inspect.signature(obj).parameters:
        return f"{path} has no {param}= parameter yet"
    return None


def _resolve(path: str) -> Optional[object]:
    module_name, *attributes = path.split(".")
    if module_name != "httpduo":
        raise ValueError(f"requires= names things in httpduo, not {path!r}")
    obj: object = importlib.import_module(module_name)
    for attribute in attributes:
        if not hasattr(obj, attribute):
            return None
        obj = getattr(obj, attribute)
    return obj


# ---- rewriting placeholders -----------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Targets:
    """Where the placeholders of one example point: base URLs without trailing "/"."""

    www: str
    api: str
    proxy: Optional[str] = None
    extra: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def rewrite(self, text: str, *, bare_hosts: bool = False) -> str:
        bases = {"www": self.www, "api": self.api}
        netlocs = {name: base.split("://", 1)[1] for name, base in bases.items()}

        def url(match: re.Match[str]) -> str:
            # A mount pattern keeps its `all://` scheme and points at the same origin.
            if match["scheme"] == "all":
                return f"all://{netlocs[match['name']]}"
            return bases[match["name"]]

        text = _PLACEHOLDER_URL.sub(url, text)
        if bare_hosts:
            text = _PLACEHOLDER_HOST.sub(partial(_bare_host, netlocs), text)
        if self.proxy is not None:
            # The example's own scheme and credentials stay; the address is the proxy's.
            netloc = self.proxy.split("://", 1)[1]
            text = _PROXY_URL.sub(lambda m: f"{m['scheme']}://{m['userinfo'] or ''}{netloc}", text)
        for old, new in self.extra.items():
            text = text.replace(old, new)
        return text


def _bare_host(netlocs: Mapping[str, str], match: re.Match[str]) -> str:
    # A Host header names the port of a non-default origin, as does `host:port`; where
    # output shows a bare host name (e.g. "TLS handshake with HOST"), so does the server.
    netloc = netlocs[match["name"]]
    if match["header"] or match["port"]:
        return f"{match['header'] or ''}{netloc}"
    return netloc.rsplit(":", 1)[0]


def strip_ansi(text: str) -> str:
    """`text` without terminal control sequences (cursor moves, line clearing)."""
    return _ANSI.sub("", text)


def second_origin(url: str) -> str:
    """`url` (a loopback base URL) reached through the name `localhost` instead."""
    scheme, rest = url.split("://", 1)
    host, _, port = rest.rpartition(":")
    if host not in ("127.0.0.1", "[::1]"):
        raise ValueError(f"cannot make a second origin for {url!r}")
    return f"{scheme}://localhost:{port}"


# ---- running --------------------------------------------------------------------------


def check_print_comments(code: str) -> str:
    """`code` with each `print(...)  # expected` line calling `CHECKED_PRINT` instead."""
    lines = code.split("\n")
    for index, line in enumerate(lines):
        match = _PRINT_WITH_COMMENT.fullmatch(line)
        if match is not None:
            expected = match["expected"].strip()
            lines[index] = f"{match['indent']}{CHECKED_PRINT}({expected!r}, {match['args']})"
    return "\n".join(lines)


def checked_print(expected: str, *args: object, sep: str = " ") -> None:
    """Print `args` as `print` does, then check the line against `expected`."""
    text = sep.join(str(arg) for arg in args)
    print(text)
    checker = doctest.OutputChecker()
    if not checker.check_output(expected + "\n", text + "\n", doctest.ELLIPSIS):
        raise AssertionError(f"printed {text!r}, but the comment says {expected!r}")


def split_run_line(code: str) -> str:
    """`code` without a final top-level `asyncio.run(main())`-style line."""
    lines = code.rstrip("\n").split("\n")
    if lines and _RUN_LINE.fullmatch(lines[-1]):
        lines = lines[:-1]
    return "\n".join(lines) + "\n"


def defines_async_main(code: str) -> bool:
    tree = ast.parse(code)
    return any(
        isinstance(node, ast.AsyncFunctionDef) and node.name == "main" for node in tree.body
    )


def backends_for(block: Block) -> tuple[str, ...]:
    """The backends an async example runs on; () for a sync one."""
    code = "".join(part.code for part in block.chain() if part.language == RUN_AS_SCRIPT)
    if not code or not defines_async_main(code):
        return ()
    if block.directive.backends is not None:
        return block.directive.backends
    uses_asyncio = "asyncio." in split_run_line(code)
    uses_trio = "trio." in split_run_line(code)
    if uses_asyncio and not uses_trio:
        return ("asyncio",)
    if uses_trio and not uses_asyncio:
        return ("trio",)
    return BACKENDS


@dataclasses.dataclass(frozen=True)
class Command:
    """One `$ httpduo ...` line of a console transcript and the output shown after it."""

    argv: list[str]
    expected: str


def parse_transcript(text: str, where: str) -> Iterator[Command]:
    command: Optional[str] = None
    output: list[str] = []
    for line in text.splitlines():
        if line.startswith("$ "):
            if command is not None:
                yield _command(command, output, where)
            command, output = line[2:], []
        elif command is not None and command.endswith("\\"):
            command = command[:-1] + " " + line.strip()
        elif command is None:
            raise ValueError(f"{where}: a console block must start with a `$ ` command line")
        else:
            output.append(line)
    if command is not None:
        yield _command(command, output, where)


def _command(command: str, output: list[str], where: str) -> Command:
    argv = shlex.split(command)
    if not argv or argv[0] != "httpduo":
        raise ValueError(f"{where}: console blocks run `httpduo` only, not {command!r}")
    if any(word in ("|", ">", "<", ">>", "&&", ";") for word in argv):
        raise ValueError(f"{where}: shell syntax in {command!r}: use a bash block instead")
    return Command(argv=argv[1:], expected="\n".join(output).strip("\n") + "\n")
