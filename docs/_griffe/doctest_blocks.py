"""A griffe extension for the API reference: docstrings written for `help()` read well
as Markdown too.

httpduo's docstrings are plain text with Markdown-style code spans and lists. Two
plain-text habits render badly in Markdown, and are rewritten when the docs are built
(the source is untouched):
- `>>>` sessions would become nested block quotes: each run of `>>>`/`...` lines and
  the output lines after them becomes a `pycon` code block.
- A reST-style `Examples::` line before an indented block loses its second colon (the
  indented block is already a Markdown code block).
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_PROMPT = re.compile(r"(?P<indent>[ \t]*)>>> ")
_LITERAL_MARKER = re.compile(r"::[ \t]*$")


def rewrite(text: str) -> str:
    """`text` with its `>>>` sessions fenced and its `::` markers shortened."""
    lines = text.split("\n")
    out: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        match = _PROMPT.match(line)
        if match is None:
            out.append(_LITERAL_MARKER.sub(":", line))
            index += 1
            continue
        indent = match["indent"]
        if out and out[-1].strip():
            out.append("")
        out.append(f"{indent}```pycon")
        while index < len(lines) and lines[index].strip():
            out.append(lines[index])
            index += 1
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestBlocks(griffe.Extension):
    """Applies `rewrite` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)
