"""Turn the text of one async source file into its sync twin's text (not yet formatted).

Rules: line rules run first, then unasync's token pass, which drops `async`/`await` and
renames NAME tokens and the inside of string tokens. unasync's built-in table and its
`Async*` -> `Sync*` guess are replaced by the names from codegen/rules.py alone; comments and
f-string text get the same whole-word renames as strings. Every firing rule is counted, so
the caller can report rules that fire nowhere.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Optional

import tokenize_rt  # type: ignore[import-untyped]
import unasync

from codegen.rules import Line, Name

# Token kinds holding free text that unasync leaves alone (3.12+ splits f-strings into parts).
_TEXT_TOKENS = frozenset({"COMMENT", "FSTRING_MIDDLE", "TSTRING_MIDDLE"})


class _Renamer(unasync.Rule):  # type: ignore[misc]  # unasync ships no type information
    """unasync's token pass with an explicit, counted name table and no guessing."""

    def __init__(self, names: Sequence[Name]) -> None:
        super().__init__(fromdir="/_async/", todir="/_sync/")
        self.token_replacements: dict[str, str] = {n.old: n.new for n in names}
        self.hits: Counter[str] = Counter()
        # Longest first, so that no name shadows a longer one sharing its start.
        olds = sorted(self.token_replacements, key=len, reverse=True)
        self._words: Optional[re.Pattern[str]] = (
            re.compile(r"\b(?:" + "|".join(map(re.escape, olds)) + r")\b") if olds else None
        )

    def _replace_word(self, match: re.Match[str]) -> str:
        self.hits[match[0]] += 1
        return self.token_replacements[match[0]]

    def rename_words(self, text: str) -> str:
        return text if self._words is None else self._words.sub(self._replace_word, text)

    def _unasync_name(self, name: str) -> str:
        # unasync calls this for NAME tokens and for the text between a string's quotes.
        new = self.token_replacements.get(name)
        if new is not None:
            self.hits[name] += 1
            return new
        return name if name.isidentifier() else self.rename_words(name)

    def _unasync_tokens(self, tokens: Iterable[Any]) -> Iterator[Any]:
        for token in super()._unasync_tokens(tokens):
            if token.name in _TEXT_TOKENS:
                token = token._replace(src=self.rename_words(token.src))
            yield token


class Translator:
    """Translates source texts and remembers which rules fired across all of them."""

    def __init__(self, names: Sequence[Name], lines: Sequence[Line]) -> None:
        self._renamer = _Renamer(names)
        self._lines = [(re.compile(rule.pattern), rule) for rule in lines]
        self.line_hits: Counter[Line] = Counter()

    @property
    def name_hits(self) -> Counter[str]:
        return self._renamer.hits

    def translate(self, text: str, tree: str) -> str:
        """Return the sync text for `text` from `tree` ("src" or "tests").

        Raises SyntaxError (or tokenize's errors) if the source cannot be tokenized.
        """
        text = self._apply_lines(text, tree)
        tokens = tokenize_rt.src_to_tokens(text)
        result: str = tokenize_rt.tokens_to_src(self._renamer._unasync_tokens(tokens))
        return result

    def _apply_lines(self, text: str, tree: str) -> str:
        rules = [(pattern, rule) for pattern, rule in self._lines if tree in rule.trees]
        if not rules:
            return text
        out: list[str] = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            for pattern, rule in rules:
                match = pattern.fullmatch(body)
                if match is None:
                    continue
                self.line_hits[rule] += 1
                if rule.replacement is not None:
                    out.append(match.expand(rule.replacement) + line[len(body) :])
                break
            else:
                out.append(line)
        return "".join(out)
