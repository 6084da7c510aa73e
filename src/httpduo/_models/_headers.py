"""`Headers`: the case-insensitive HTTP header multidict (httpx 0.28 API).

Rules of this module:
- One internal list of `(raw_name, lowercase_name, value)` byte triples, in insertion
  order. Names are validated and lower-cased exactly once, when they enter; the transport
  serialises `.raw` (or `_list`) without touching them again. Sibling modules may edit
  `_list` in place with already-valid triples; they must then reset `_detected` to None
  (the cached auto-detected encoding) unless the Headers object is brand new.
- Everything a user hands in is validated on entry: names must be RFC 9110 tokens, values
  must not contain CR, LF or NUL (header injection). Bad input raises `ValueError` naming
  the header and the character; a wrong type raises `TypeError`. Leading and trailing
  spaces/tabs of values are stripped (RFC 9110 section 5.5: they are not part of the
  value, and h11 would refuse to send them).
- Headers that come from the network (already checked by h11/h2) enter through
  `Headers._from_raw(..., validated=True)`, which skips validation entirely.
- `str` values are encoded with the explicit `encoding` if one was given, otherwise as
  ASCII, falling back to UTF-8 for non-ASCII text (httpx raises `UnicodeEncodeError` in
  the constructor; this is a lenient superset). Decoding uses `.encoding`: explicit if
  set, else detected as ascii, then utf-8, then iso-8859-1 (which never fails).
- `get_list(split_commas=True)` splits on every comma; quoted commas are not special.
"""

from __future__ import annotations

import re
from collections.abc import (
    ItemsView,
    Iterable,
    Iterator,
    KeysView,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import Any, List, Optional, Tuple, Union

from ._types import HeaderTypes

__all__ = ["Headers"]

_Triple = Tuple[bytes, bytes, bytes]

# RFC 9110 section 5.6.2: token = 1*tchar.
_TOKEN_STR = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch
_TOKEN_BYTES = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+").fullmatch

_SENSITIVE = frozenset((b"authorization", b"proxy-authorization"))

# Validated str names -> (raw bytes, lowercase bytes). Typical programs use a few dozen
# distinct names, so this turns the per-request name check into one dict lookup. Bounded
# so that a program generating names cannot grow it without limit.
_NAME_CACHE: dict[str, tuple[bytes, bytes]] = {}
_NAME_CACHE_MAX = 512

_CHAR_NAMES = {
    "\r": "a carriage return (\\r)",
    "\n": "a newline (\\n)",
    "\x00": "a NUL byte (\\x00)",
}


def _describe(char: str) -> str:
    named = _CHAR_NAMES.get(char)
    if named is not None:
        return named + ", which would allow header injection"
    return f"an invalid character {char!r}"


def _name_error(name: Union[str, bytes]) -> ValueError:
    text = name if isinstance(name, str) else name.decode("latin-1")
    if not text:
        return ValueError("Header name must not be empty")
    bad = next(c for c in text if not _TOKEN_STR(c))
    return ValueError(
        f"Header name {text!r} contains {_describe(bad)}; header names must be RFC 9110 "
        "tokens (letters, digits and !#$%&'*+-.^_`|~)"
    )


def _value_error(name: bytes, value: Union[str, bytes]) -> ValueError:
    text = value if isinstance(value, str) else value.decode("latin-1")
    bad = next(c for c in text if c in _CHAR_NAMES)
    return ValueError(f"Header value for {name.decode('ascii')!r} contains {_describe(bad)}")


def _normalize_name(name: Union[str, bytes]) -> tuple[bytes, bytes]:
    """Validate a user-supplied header name; return (raw, lowercase) bytes."""
    if type(name) is str:
        cached = _NAME_CACHE.get(name)
        if cached is not None:
            return cached
        if _TOKEN_STR(name) is None:
            raise _name_error(name)
        raw = name.encode("ascii")
        result = (raw, raw.lower())
        if len(_NAME_CACHE) < _NAME_CACHE_MAX:
            _NAME_CACHE[name] = result
        return result
    if isinstance(name, (bytes, bytearray, memoryview)):
        raw = bytes(name)
        if _TOKEN_BYTES(raw) is None:
            raise _name_error(raw)
        return raw, raw.lower()
    if isinstance(name, str):  # a str subclass: validate without caching
        return _normalize_name(str(name))
    raise TypeError(f"Header name must be str or bytes, not {type(name)}")


def _normalize_value(name: bytes, value: Union[str, bytes], encoding: Optional[str]) -> bytes:
    """Validate and encode a user-supplied header value."""
    if isinstance(value, str):
        if "\r" in value or "\n" in value or "\x00" in value:
            raise _value_error(name, value)
        value = value.strip(" \t")
        if encoding is not None:
            return value.encode(encoding)
        try:
            return value.encode("ascii")
        except UnicodeEncodeError:
            return value.encode("utf-8")
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        if 13 in data or 10 in data or 0 in data:  # int membership is a memchr
            raise _value_error(name, data)
        return data.strip(b" \t")
    raise TypeError(f"Header value must be str or bytes, not {type(value)}")


def _lookup_key(key: Union[str, bytes]) -> bytes:
    """The lowercase bytes form of a key used to search (no validation: misses are fine)."""
    if type(key) is str:
        cached = _NAME_CACHE.get(key)
        if cached is not None:
            return cached[1]
        # bytes.lower() only folds ASCII, so e.g. KELVIN SIGN never matches "k".
        return key.encode("utf-8", "surrogatepass").lower()
    if isinstance(key, bytes):
        return key.lower()
    if isinstance(key, str):
        return str(key).encode("utf-8", "surrogatepass").lower()
    raise TypeError(f"Header name must be str or bytes, not {type(key)}")


def _iter_pairs(headers: Any) -> Iterable[Any]:
    if type(headers) is dict or isinstance(headers, Mapping):
        return headers.items()
    if isinstance(headers, (str, bytes, bytearray)):
        if not headers:
            # httpx iterates what it is given, so "" reads as no headers (and
            # `Request(..., headers="")` is seen in the wild).
            return ()
        raise TypeError(
            "Headers must be a mapping or a sequence of (name, value) pairs, "
            f"not {type(headers).__name__}"
        )
    return headers  # type: ignore[no-any-return]


def _build(headers: Any, encoding: Optional[str]) -> list[_Triple]:
    result: list[_Triple] = []
    append = result.append
    cache_get = _NAME_CACHE.get
    for pair in _iter_pairs(headers):
        try:
            key, value = pair
        except (TypeError, ValueError):
            raise TypeError(f"Header items must be (name, value) pairs, got {pair!r}") from None
        names = cache_get(key) if type(key) is str else None
        if names is None:
            names = _normalize_name(key)
        # Inlined fast path for the usual printable ASCII str value: isprintable() rules
        # out CR, LF, NUL and tabs, so only surrounding spaces remain to strip.
        if type(value) is str and encoding is None and value.isprintable() and value.isascii():
            append((names[0], names[1], value.encode("ascii").strip(b" ")))
        else:
            append((names[0], names[1], _normalize_value(names[0], value, encoding)))
    return result


class Headers(MutableMapping[str, str]):
    """A case-insensitive multidict of HTTP headers that keeps raw casing and order."""

    __slots__ = ("_detected", "_encoding", "_list")

    _list: List[_Triple]
    _encoding: Optional[str]
    _detected: Optional[str]

    def __init__(
        self, headers: Optional[HeaderTypes] = None, encoding: Optional[str] = None
    ) -> None:
        self._encoding = encoding
        self._detected = None
        if headers is None:
            self._list = []
        elif isinstance(headers, Headers):
            self._list = list(headers._list)  # already validated
        else:
            self._list = _build(headers, encoding)

    @classmethod
    def _from_raw(
        cls,
        raw: Iterable[tuple[bytes, bytes]],
        encoding: Optional[str] = None,
        *,
        validated: bool = True,
    ) -> Headers:
        """Build from `(name, value)` byte pairs, e.g. the ones h11/h2 parsed.

        With `validated=True` (the transport's fast path) the pairs are trusted as they
        are; pass `validated=False` for bytes of unknown provenance.
        """
        self = cls.__new__(cls)
        self._encoding = encoding
        self._detected = None
        if validated:
            self._list = [(k, k.lower(), v) for k, v in raw]
        else:
            self._list = _build(raw, encoding)
        return self

    # -- encoding ----------------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """The codec used to decode (and encode) `str` names and values.

        Detected when not set: "ascii" if every byte is ASCII, else "utf-8" if every
        value decodes as UTF-8, else "iso-8859-1".
        """
        if self._encoding is not None:
            return self._encoding
        detected = self._detected
        if detected is None:
            detected = self._detected = self._detect()
        return detected

    @encoding.setter
    def encoding(self, value: str) -> None:
        self._encoding = value

    def _detect(self) -> str:
        values = [v for _, _, v in self._list]
        if b"".join(values).isascii():  # names are tokens, always ASCII
            return "ascii"
        try:
            for v in values:
                v.decode("utf-8")
        except UnicodeDecodeError:
            return "iso-8859-1"
        return "utf-8"

    # -- views -------------------------------------------------------------------------

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The headers as `(name, value)` bytes pairs, names in their original casing."""
        return [(raw, value) for raw, _, value in self._list]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every header as a `(lowercase name, value)` pair, repeated names included."""
        enc = self.encoding
        return [(lower.decode(enc), value.decode(enc)) for _, lower, value in self._list]

    def _joined(self) -> dict[str, str]:
        enc = self.encoding
        joined: dict[str, str] = {}
        for _, lower, value in self._list:
            key = lower.decode(enc)
            text = value.decode(enc)
            if key in joined:
                joined[key] = f"{joined[key]}, {text}"
            else:
                joined[key] = text
        return joined

    def keys(self) -> KeysView[str]:
        """Unique lowercase names, in order of first appearance."""
        enc = self.encoding
        return {lower.decode(enc): None for _, lower, _ in self._list}.keys()

    def values(self) -> ValuesView[str]:
        """One value per unique name; repeated headers are joined with ", "."""
        return self._joined().values()

    def items(self) -> ItemsView[str, str]:
        """`(lowercase name, value)` per unique name; repeated values joined with ", "."""
        return self._joined().items()

    # -- lookup ------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        """The value for `key` (repeated headers joined with ", "), or `default`."""
        try:
            return self[key]
        except KeyError:
            return default

    def get_list(self, key: str, split_commas: bool = False) -> list[str]:
        """Every value for `key`, in order.

        With `split_commas=True` each value is also split on "," and the parts stripped
        (commas inside quoted strings are split too).
        """
        lookup = _lookup_key(key)
        found = [value for _, lower, value in self._list if lower == lookup]
        if not found:
            return []  # without detecting the encoding: most lookups find nothing
        enc = self.encoding
        values = [value.decode(enc) for value in found]
        if not split_commas:
            return values
        return [part.strip() for value in values for part in value.split(",")]

    def __getitem__(self, key: str) -> str:
        lookup = _lookup_key(key)
        found = [value for _, lower, value in self._list if lower == lookup]
        if not found:
            raise KeyError(key)
        enc = self.encoding
        if len(found) == 1:
            return found[0].decode(enc)
        return ", ".join(value.decode(enc) for value in found)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, (str, bytes)):
            return False
        lookup = _lookup_key(key)
        return lookup in [lower for _, lower, _ in self._list]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        # As httpx: the number of header lines, repeated names counted each time.
        return len(self._list)

    # -- mutation ----------------------------------------------------------------------

    def __setitem__(self, key: str, value: str) -> None:
        """Set `key` to the single `value`, replacing every existing value for it.

        The header keeps the position of its first occurrence, with the new casing.
        """
        raw, lower = _normalize_name(key)
        triple = (raw, lower, _normalize_value(raw, value, self._encoding))
        new: list[_Triple] = []
        placed = False
        for item in self._list:
            if item[1] == lower:
                if not placed:
                    new.append(triple)
                    placed = True
            else:
                new.append(item)
        if not placed:
            new.append(triple)
        self._list = new
        self._detected = None

    def __delitem__(self, key: str) -> None:
        lookup = _lookup_key(key)
        kept = [item for item in self._list if item[1] != lookup]
        if len(kept) == len(self._list):
            raise KeyError(key)
        self._list = kept
        self._detected = None

    def clear(self) -> None:
        self._list = []
        self._detected = None

    def update(self, headers: Optional[HeaderTypes] = None) -> None:  # type: ignore[override]
        """Merge `headers` in: each name present there replaces all existing values for
        that name, and every value it carries (repeats included) is appended."""
        if headers is None:
            return
        incoming = headers._list if isinstance(headers, Headers) else _build(headers, None)
        if not incoming:
            return
        replaced = {lower for _, lower, _ in incoming}
        self._list = [item for item in self._list if item[1] not in replaced]
        self._list.extend(incoming)
        self._detected = None

    def copy(self) -> Headers:
        """A shallow copy (the byte triples are immutable), keeping an explicit encoding."""
        new = Headers.__new__(Headers)
        new._list = list(self._list)
        new._encoding = self._encoding
        new._detected = self._detected
        return new

    # -- comparison, repr, pickling ----------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Headers):
            other_list = other._list
        elif isinstance(other, (Mapping, list, tuple)):
            try:
                other_list = _build(other, self._encoding)
            except (TypeError, ValueError, UnicodeError):
                return False
        else:
            return NotImplemented
        mine = sorted((lower, value) for _, lower, value in self._list)
        theirs = sorted((lower, value) for _, lower, value in other_list)
        return mine == theirs

    __hash__ = None  # type: ignore[assignment]  # mutable

    def __repr__(self) -> str:
        enc = self.encoding
        items = [
            (
                lower.decode(enc),
                "[secure]" if lower in _SENSITIVE else value.decode(enc),
            )
            for _, lower, value in self._list
        ]
        encoding = "" if enc == "ascii" else f", encoding={enc!r}"
        as_dict = dict(items)
        body = repr(as_dict) if len(as_dict) == len(items) else repr(items)
        return f"{type(self).__name__}({body}{encoding})"

    def __getstate__(self) -> tuple[list[_Triple], Optional[str]]:
        return (self._list, self._encoding)

    def __setstate__(self, state: tuple[list[_Triple], Optional[str]]) -> None:
        self._list, self._encoding = list(state[0]), state[1]
        self._detected = None
