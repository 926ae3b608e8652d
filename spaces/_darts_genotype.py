"""DARTS genotype strings: the ``Genotype`` record and a strict parser (no ``eval``).

The DARTS repository prints genotypes as ``Genotype(normal=[('sep_conv_3x3', 0), ...],
normal_concat=range(2, 6), reduce=[...], reduce_concat=range(2, 6))``; this reads that
text with a small recursive-descent parser and names what is wrong in a bad one.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ._base import SpaceError


class Genotype(NamedTuple):
    """The DARTS repository's ``Genotype``: per cell 8 ``(op, source)`` pairs and the concat."""

    normal: list[tuple[str, int]]
    normal_concat: list[int]
    reduce: list[tuple[str, int]]
    reduce_concat: list[int]


_TOKEN = re.compile(r"""(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<int>\d+)|"""
                    r"""(?P<str>'[^'\\\n]*'|"[^"\\\n]*")|(?P<punct>[()\[\],=])""")
_KINDS = {"name": "a name", "int": "an integer", "str": "a quoted operator name",
          "punct": "punctuation"}
_FIELDS = ("normal", "normal_concat", "reduce", "reduce_concat")


class GenotypeParser:
    """Recursive-descent parser for ``Genotype(normal=[(op, src), ...], normal_concat=...)``."""

    def __init__(self, text: str) -> None:
        if not isinstance(text, str):
            raise SpaceError(f"darts: a genotype must be a string, got {type(text).__name__}")
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while True:
            while pos < len(text) and text[pos].isspace():
                pos += 1
            if pos == len(text):
                break
            m = _TOKEN.match(text, pos)
            if m is None or m.lastgroup is None:
                raise SpaceError(f"darts: malformed genotype: unexpected text "
                                 f"{text[pos:pos + 20]!r} at character {pos}")
            self.tokens.append((m.lastgroup, m.group(), pos))
            pos = m.end()
        self.i = 0

    def _fail(self, expected: str) -> SpaceError:
        if self.i < len(self.tokens):
            _, val, at = self.tokens[self.i]
            got = f"{val!r} at character {at}"
        else:
            got = "the end of the text"
        return SpaceError(f"darts: malformed genotype: expected {expected}, got {got}")

    def _take(self, kind: str, value: str | None = None) -> str:
        if self.i < len(self.tokens):
            k, v, _ = self.tokens[self.i]
            if k == kind and (value is None or v == value):
                self.i += 1
                return v
        raise self._fail(repr(value) if value is not None else _KINDS[kind])

    def _peek(self, value: str) -> bool:
        return self.i < len(self.tokens) and self.tokens[self.i][1] == value

    def _sep(self, close: str) -> bool:
        """Take a ',' after an item; True when ``close`` follows (the item was the last)."""
        if self._peek(","):
            self.i += 1
            return self._peek(close)
        if self._peek(close):
            return True
        raise self._fail(f"',' or {close!r}")

    def parse(self) -> Genotype:
        self._take("name", "Genotype")
        self._take("punct", "(")
        fields: dict[str, object] = {}
        while True:
            key = self._take("name")
            if key not in _FIELDS:
                self.i -= 1
                raise self._fail("one of " + ", ".join(_FIELDS))
            if key in fields:
                self.i -= 1
                raise self._fail(f"each field once ({key!r} is repeated)")
            self._take("punct", "=")
            fields[key] = self._concat() if key.endswith("concat") else self._pairs()
            if self._sep(")"):
                break
        self._take("punct", ")")
        if self.i != len(self.tokens):
            raise self._fail("the end of the genotype")
        missing = [f for f in _FIELDS if f not in fields]
        if missing:
            raise SpaceError(f"darts: malformed genotype: missing field(s) {', '.join(missing)}")
        return Genotype(**fields)  # type: ignore[arg-type]

    def _pairs(self) -> list[tuple[str, int]]:
        self._take("punct", "[")
        out: list[tuple[str, int]] = []
        while not self._peek("]"):
            self._take("punct", "(")
            op = self._take("str")[1:-1]
            self._take("punct", ",")
            src = int(self._take("int"))
            self._take("punct", ")")
            out.append((op, src))
            if self._sep("]"):
                break
        self._take("punct", "]")
        return out

    def _concat(self) -> list[int]:
        if self._peek("range"):
            self._take("name")
            self._take("punct", "(")
            lo = int(self._take("int"))
            self._take("punct", ",")
            hi = int(self._take("int"))
            self._take("punct", ")")
            return list(range(lo, hi))
        self._take("punct", "[")
        out: list[int] = []
        while not self._peek("]"):
            out.append(int(self._take("int")))
            if self._sep("]"):
                break
        self._take("punct", "]")
        return out
