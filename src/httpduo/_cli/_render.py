"""Where output goes and how a response looks.

Rules:
- stdout is a terminal: the status line and headers, a blank line, then the body made
  readable (JSON pretty-printed and highlighted, markup highlighted, text decoded with its
  charset, binary data summarised, never dumped).
- stdout is not a terminal: exactly the body bytes (after Content-Encoding decoding) and
  nothing else, so `httpduo URL > file` saves the body.
- stderr carries everything else: errors, --verbose details, progress bars.
- Colour only on a terminal, never with --no-color or a non-empty NO_COLOR; without colour
  no escape sequences at all are written.
- Text from the server shown on a terminal has its control characters made visible, so a
  response cannot move the cursor or retitle the window.
- Only `HIGHLIGHT_LIMIT` bytes of a body are held for highlighting; a longer body is
  written as plain text while it streams, so memory stays flat whatever the size.
"""

from __future__ import annotations

import codecs
import importlib
import itertools
import json
import os
import sys
from dataclasses import dataclass
from typing import IO, Any, Iterable, Iterator, Optional

from rich.console import Console
from rich.syntax import Syntax
from rich.text import Text

import httpduo

__all__ = ["HIGHLIGHT_LIMIT", "Output", "head_lines", "is_terminal", "make_output"]

HIGHLIGHT_LIMIT = 1024 * 1024
SNIFF_SIZE = 4096
SYNTAX_THEME = "ansi_dark"  # the terminal's own palette, readable on dark and light

# C0 controls except tab and newline, DEL, and the C1 range (8-bit CSI and friends).
_CONTROL_CODES = [*range(0x09), *range(0x0B, 0x20), 0x7F, *range(0x80, 0xA0)]
_VISIBLE_CONTROLS = {code: f"\\x{code:02x}" for code in _CONTROL_CODES}

_JSON, _MARKUP, _TEXT, _BINARY = "json", "markup", "text", "binary"
_TEXTUAL_TYPES = frozenset(
    {
        "application/javascript",
        "application/ecmascript",
        "application/x-javascript",
        "application/x-www-form-urlencoded",
        "application/yaml",
        "application/x-yaml",
        "application/toml",
        "application/graphql",
        "application/sql",
        "application/x-sh",
        "application/x-httpd-php",
    }
)
_MARKUP_TYPES = frozenset({"text/html", "application/xhtml+xml", "text/xml", "application/xml"})
_WIDE_ENCODINGS = ("utf-16", "utf_16", "utf-32", "utf_32")


def is_terminal(stream: Any) -> bool:
    """Whether `stream` is an interactive terminal (False for anything odd)."""
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def no_color_requested(flag: bool) -> bool:
    """--no-color, or NO_COLOR set to anything but the empty string (no-color.org)."""
    return flag or bool(os.environ.get("NO_COLOR"))


def _console(file: IO[str], terminal: bool, color: bool) -> Console:
    return Console(
        file=file,
        force_terminal=terminal,
        color_system="auto" if color else None,
        no_color=not color,
        markup=False,
        emoji=False,
        highlight=False,
        # Long header values and error lines stay one logical line; the terminal wraps.
        soft_wrap=True,
    )


@dataclass
class Output:
    """The two streams and what they are attached to."""

    out: Console
    err: Console
    out_is_terminal: bool
    err_is_terminal: bool

    def binary_stdout(self) -> IO[bytes]:
        return sys.stdout.buffer

    def error(self, message: str) -> None:
        """Report a failure as one line on stderr."""
        line = Text.assemble(("httpduo: ", "bold red"))
        line.append(visible(message))
        self.err.print(line)

    def note(self, message: str) -> None:
        """A status line on stderr (e.g. where a download went)."""
        self.err.print(Text(visible(message), style="dim"))


def make_output(*, no_color: bool) -> Output:
    """Consoles for the real stdout and stderr (as they are now, so test runners work)."""
    out_terminal = is_terminal(sys.stdout)
    err_terminal = is_terminal(sys.stderr)
    plain = no_color_requested(no_color)
    return Output(
        out=_console(sys.stdout, out_terminal, out_terminal and not plain),
        err=_console(sys.stderr, err_terminal, err_terminal and not plain),
        out_is_terminal=out_terminal,
        err_is_terminal=err_terminal,
    )


def visible(text: str) -> str:
    """`text` with control characters shown as \\xNN escapes (CRLF becomes a newline)."""
    if "\r\n" in text:
        text = text.replace("\r\n", "\n")
    return text.translate(_VISIBLE_CONTROLS)


# ---- the response head ----------------------------------------------------------------


def _status_style(status_code: int) -> str:
    if status_code < 300:
        return "bold green"
    if status_code < 400:
        return "bold yellow"
    return "bold red"


def _decode_header(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")


def head_lines(response: httpduo.Response, prefix: str = "") -> list[Text]:
    """The status line and the headers as received (original names and order)."""
    status = Text()
    status.append(prefix, style="dim")
    status.append(response.http_version, style="bold blue")
    status.append(" ")
    status.append(
        f"{response.status_code} {response.reason_phrase}".rstrip(),
        style=_status_style(response.status_code),
    )
    lines = [status]
    for name, value in response.headers.raw:
        line = Text()
        line.append(prefix, style="dim")
        line.append(visible(_decode_header(name)), style="cyan")
        line.append(": ")
        line.append(visible(_decode_header(value)))
        lines.append(line)
    return lines


def print_head(console: Console, response: httpduo.Response, prefix: str = "") -> None:
    for line in head_lines(response, prefix):
        console.print(line)


# ---- the body ----------------------------------------------------------------------------


def _mime(content_type: Optional[str]) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def classify(content_type: Optional[str], charset: Optional[str], sample: bytes) -> str:
    """How to show a body: "json", "markup", "text" or "binary"."""
    mime = _mime(content_type)
    wide = charset is not None and charset.lower().startswith(_WIDE_ENCODINGS)
    if b"\x00" in sample and not wide:
        return _BINARY
    if mime.endswith(("/json", "+json")):
        return _JSON
    if mime in _MARKUP_TYPES or mime.endswith("+xml"):
        return _MARKUP
    if mime.startswith("text/") or mime in _TEXTUAL_TYPES or charset is not None or not mime:
        return _TEXT
    return _BINARY


def _decodes_as_utf8(sample: bytes, complete: bool) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        # A sample cut mid-character is fine unless it is the whole body.
        decoder.decode(sample, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def choose_encoding(
    charset: Optional[str], kind: str, sample: bytes, complete: bool
) -> Optional[str]:
    """The codec for a textual body: its declared charset, else UTF-8, else a guess."""
    if charset is not None:
        try:
            return codecs.lookup(charset).name
        except LookupError:
            pass  # an unknown charset: fall back as if none was declared
    if kind == _JSON or _decodes_as_utf8(sample, complete):
        return "utf-8"
    import charset_normalizer

    best = charset_normalizer.from_bytes(sample).best()
    return None if best is None else str(best.encoding)


def _lexer_for(mime: str) -> Optional[Any]:
    # Pygments (a rich dependency) ships no type information: use it untyped.
    lexers: Any = importlib.import_module("pygments.lexers")
    util: Any = importlib.import_module("pygments.util")
    try:
        return lexers.get_lexer_for_mimetype(mime)
    except util.ClassNotFound:
        return None


def _print_syntax(console: Console, code: str, lexer: Any) -> None:
    syntax = Syntax(code, lexer, theme=SYNTAX_THEME, background_color="default", word_wrap=True)
    # Syntax wraps long lines itself; soft wrapping would crop them at the console width.
    console.print(syntax, soft_wrap=False)


def _render_complete(console: Console, kind: str, mime: str, text: str) -> None:
    if kind == _JSON:
        try:
            parsed = json.loads(text)
        except ValueError:
            pass  # not really JSON: show it as it came
        else:
            # json.dumps escapes control characters itself.
            pretty = json.dumps(parsed, indent=4, ensure_ascii=False)
            _print_syntax(console, pretty, "json")
            return
    text = visible(text)
    lexer = _lexer_for(mime) if mime else None
    if lexer is None or lexer.name == "Text only":
        console.print(Text(text), soft_wrap=True)
    else:
        _print_syntax(console, text.rstrip("\n"), lexer)


def _binary_summary(size: int, mime: str) -> Text:
    described = mime or "unknown type"
    return Text(f"<{size:,} bytes of binary data ({described})>", style="dim")


def _take(chunks: Iterator[bytes], limit: int) -> tuple[list[bytes], int, bool]:
    """Chunks up to just past `limit` bytes, their size, and whether the body ended."""
    held: list[bytes] = []
    size = 0
    for chunk in chunks:
        held.append(chunk)
        size += len(chunk)
        if size > limit:
            return held, size, False
    return held, size, True


def render_body(console: Console, response: httpduo.Response, chunks: Iterable[bytes]) -> None:
    """Show the body on a terminal, reading it from `chunks` (the decoded stream)."""
    stream = iter(chunks)
    held, size, complete = _take(stream, HIGHLIGHT_LIMIT)
    if size == 0:
        return
    console.print()
    data = b"".join(held)
    del held
    mime = _mime(response.headers.get("content-type"))
    charset = response.charset_encoding
    sample = data[:SNIFF_SIZE]
    kind = classify(response.headers.get("content-type"), charset, sample)
    encoding = None if kind == _BINARY else choose_encoding(charset, kind, sample, complete)
    if encoding is None:
        size += sum(len(chunk) for chunk in stream)  # counted, never held
        console.print(_binary_summary(size, mime))
        return
    if complete:
        _render_complete(console, kind, mime, data.decode(encoding, errors="replace"))
        return
    # Too big to highlight: plain text, decoded and written as it arrives.
    _stream_text(
        console.file, codecs.getincrementaldecoder(encoding)(errors="replace"), data, stream
    )


def _stream_text(
    file: IO[str], decoder: codecs.IncrementalDecoder, first: bytes, rest: Iterator[bytes]
) -> None:
    pending = ""  # a trailing "\r" waits in case its "\n" comes in the next chunk
    last = ""
    for chunk in itertools.chain((first,), rest):
        text = pending + decoder.decode(chunk)
        pending = ""
        if text.endswith("\r"):
            text, pending = text[:-1], "\r"
        if text:
            file.write(visible(text))
            last = text[-1]
    text = pending + decoder.decode(b"", final=True)
    if text:
        file.write(visible(text))
        last = text[-1]
    if last != "\n":
        file.write("\n")
    file.flush()


def write_raw(target: IO[bytes], chunks: Iterable[bytes]) -> int:
    """Copy the body to `target` unchanged; returns the number of bytes written."""
    total = 0
    for chunk in chunks:
        target.write(chunk)
        total += len(chunk)
    target.flush()
    return total
