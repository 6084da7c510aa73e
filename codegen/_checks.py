"""Line scans: async constructs with no sync twin (in sources), async words left in outputs.

Rules: each scan is a regex per line with the reason and the way out, so a failure names
file, line and fix. Source scans see the async trees as written (docstrings and comments
included); output scans see the generated text minus its banner line. The one construct
that depends on where it stands, `raise StopAsyncIteration`, is checked on the syntax
tree instead (`misplaced_stop_iteration`).
"""

from __future__ import annotations

import ast
import re
from typing import NamedTuple


class Pattern(NamedTuple):
    regex: re.Pattern[str]
    trees: tuple[str, ...]
    message: str


class Finding(NamedTuple):
    line: int
    message: str


_BOTH = ("src", "tests")
# `anyio` used as the library (`anyio.x`, `import anyio`), not as a module path segment
# such as `httpduo._backends.anyio`.
_ANYIO_LIBRARY = r"(?<![\w./])anyio\.\w|^\s*(?:import|from)\s+anyio\b"

UNTRANSLATABLE: tuple[Pattern, ...] = (
    Pattern(
        re.compile(r"\banext\("),
        _BOTH,
        "`anext(` has no sync twin: iterate with `async for`",
    ),
    Pattern(
        re.compile(r"\bAsyncGenerator\["),
        _BOTH,
        "`AsyncGenerator[...]` has no sync twin of the same arity: annotate async generators"
        " as `AsyncIterator[...]`",
    ),
    Pattern(
        re.compile(r"\b(?:fail_after|move_on_after|fail_at|move_on_at)\b"),
        _BOTH,
        "anyio cancel scopes have no sync twin: pass timeouts to the backend"
        " (`read(n, timeout)`), sleep with `backend.sleep()`",
    ),
    Pattern(
        re.compile(_ANYIO_LIBRARY),
        ("src",),
        "`anyio` is used only by src/httpduo/_backends/anyio.py: go through the backend"
        " interface (imported from `.._backends`)",
    ),
    Pattern(
        re.compile(_ANYIO_LIBRARY),
        ("tests",),
        "two-mode tests cannot use anyio itself (the twin has no event loop): put tests"
        " that need it in a single-sided test module outside tests/_async",
    ),
    Pattern(
        re.compile(r"(?<![\w./])(?:asyncio|trio)\.\w|^\s*(?:import|from)\s+(?:asyncio|trio)\b"),
        _BOTH,
        "event-loop libraries have no sync twin: go through the backend, or move the test"
        " to a single-sided module",
    ),
)

# "async"/"await" as words or identifier parts (`_async`, `is_async`), not `asyncio`.
_NAME_HINT = "add an entry to codegen/rules.py NAMES, or rename/reword it in the source"
LEFTOVERS: tuple[Pattern, ...] = (
    Pattern(
        re.compile(r"(?<![A-Za-z0-9])(?:async|await)(?![A-Za-z0-9])"),
        _BOTH,
        "reword the source (keep `async`/`await` out of prose), or add a NAMES entry",
    ),
    Pattern(re.compile(r"Async(?![a-z])"), _BOTH, _NAME_HINT),
    Pattern(
        re.compile(
            r"(?<![A-Za-z0-9])a(?:close|read|write|send|flush|iter|next|enter|exit)"
            r"(?![a-z0-9])"
        ),
        _BOTH,
        _NAME_HINT,
    ),
    Pattern(
        re.compile(r"\banyio_backend\b"),
        ("tests",),
        "the sync twin has no async backend: map this use with a line rule in"
        " codegen/rules.py LINES, or move the test to a single-sided module",
    ),
)


def scan(text: str, tree: str, patterns: tuple[Pattern, ...], skip_first: bool) -> list[Finding]:
    """Return one finding per matching pattern and line (1-based line numbers)."""
    active = [p for p in patterns if tree in p.trees]
    findings: list[Finding] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if skip_first and number == 1:
            continue
        for pattern in active:
            match = pattern.regex.search(line)
            if match is not None:
                findings.append(Finding(number, f"`{_word_at(line, match)}`: {pattern.message}"))
    return findings


def _word_at(line: str, match: re.Match[str]) -> str:
    """The match widened to the whole identifier around it, for a readable message."""
    start, end = match.span()
    if _is_word_char(line[start]):
        while start > 0 and _is_word_char(line[start - 1]):
            start -= 1
    if _is_word_char(line[end - 1]):
        while end < len(line) and _is_word_char(line[end]):
            end += 1
    return line[start:end].strip()


def _is_word_char(char: str) -> bool:
    return char.isalnum() or char == "_"


STOP_OUTSIDE_ANEXT = (
    "`raise StopAsyncIteration` is allowed only directly in an iterator class's"
    " `async def __anext__` (its twin `__next__` raises StopIteration; in a generator that"
    " would be an error): move it there, or `return` from an async generator"
)


def misplaced_stop_iteration(text: str) -> list[Finding]:
    """Each `raise StopAsyncIteration` not in the body of a class's `async def __anext__`
    (a function nested in `__anext__` does not count: it may be a generator)."""
    try:
        module = ast.parse(text)
    except SyntaxError:
        return []  # reported when the source is tokenized
    findings: list[Finding] = []

    def visit(node: ast.AST, allowed: bool) -> None:
        if isinstance(node, ast.Raise) and not allowed and _raises_stop_async_iteration(node):
            findings.append(Finding(node.lineno, STOP_OUTSIDE_ANEXT))
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                # Allowed again only in an `async def __anext__` straight in a class body.
                anext_method = (
                    isinstance(node, ast.ClassDef)
                    and isinstance(child, ast.AsyncFunctionDef)
                    and child.name == "__anext__"
                )
                visit(child, anext_method)
            elif isinstance(child, ast.ClassDef):
                visit(child, False)
            else:
                visit(child, allowed)

    visit(module, False)
    return sorted(findings)


def _raises_stop_async_iteration(node: ast.Raise) -> bool:
    exc = node.exc
    if isinstance(exc, ast.Call):
        exc = exc.func
    return isinstance(exc, ast.Name) and exc.id == "StopAsyncIteration"
