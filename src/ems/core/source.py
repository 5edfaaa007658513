"""Turning bytes into text the way the interpreter does, and mapping positions.

``ast`` reports columns as UTF-8 byte offsets; ems keeps code-point columns inside
(see ``ems.core.model``). ``SourceText`` owns the conversion so no rule needs to care.
"""

from __future__ import annotations

import codecs
import io
import re
import tokenize
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from itertools import accumulate
from operator import add

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class UndecodableSource(ValueError):
    """The bytes are not valid source in their declared encoding."""

    def __init__(self, message: str, line: int = 1, column: int = 0) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str
    bom: bool


def decode_source(data: bytes) -> Decoded:
    """Decode like ``python3 FILE``: BOM, PEP 263 cookie, strict errors."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise UndecodableSource(str(exc)) from None
    bom = data.startswith(codecs.BOM_UTF8)
    if encoding == "utf-8-sig":
        encoding = "utf-8"
    payload = data[len(codecs.BOM_UTF8) :] if bom else data
    try:
        text = payload.decode(encoding)
    except UnicodeDecodeError as exc:
        line_start = payload.rfind(b"\n", 0, exc.start) + 1
        # the position in SourceText's line model (a lone \r ends a line too), so it
        # stays inside the document the editor shows
        before = _LINE_BREAK.split(payload[: exc.start].decode(encoding, errors="replace"))
        raise UndecodableSource(
            f"(unicode error) '{encoding}' codec can't decode byte "
            f"0x{payload[exc.start]:02x} in position {exc.start - line_start}: {exc.reason}",
            len(before),
            len(before[-1]),
        ) from None
    except LookupError:
        raise UndecodableSource(f"unknown encoding: {encoding}") from None
    return Decoded(text, encoding, bom)


def encode_source(text: str, encoding: str, bom: bool) -> bytes:
    data = text.encode(encoding)
    return codecs.BOM_UTF8 + data if bom else data


def line_char_column(text: str, byte_column: int) -> int:
    """The code-point column of an ``ast`` UTF-8 byte column in one line's ``text``."""
    if text.isascii():
        return byte_column
    return len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))


class SourceText:
    """A document's text with line access and offset/position conversions."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def line_starts(self) -> list[int]:
        if "\r" not in self.text:
            # Line k starts after the k lines above it and their k newlines: prefix sums
            # of the lines' lengths plus their indexes, at C speed (a match object per
            # line cost judging fixability ~8 % of its time, in its text offsets).
            lengths = accumulate(map(len, self.lines), initial=0)
            return list(map(add, lengths, range(len(self.lines))))
        starts = [0]
        starts.extend(m.end() for m in _LINE_BREAK.finditer(self.text))
        return starts

    @cached_property
    def lines(self) -> list[str]:
        """Lines without their line breaks, split exactly where Python splits them."""
        if "\r" not in self.text:
            return self.text.split("\n")  # same result, several times faster
        return _LINE_BREAK.split(self.text)

    def line(self, number: int) -> str:
        lines = self.lines
        return lines[number - 1] if 0 < number <= len(lines) else ""

    @cached_property
    def is_ascii(self) -> bool:
        return self.text.isascii()

    def char_column(self, line: int, byte_column: int) -> int:
        """Convert an ``ast`` UTF-8 byte column to a code-point column."""
        if self.is_ascii:
            # Every line is ASCII: no need to split the text (which a rule's hits would
            # otherwise do for every file while its tree is still alive).
            return byte_column
        return line_char_column(self.line(line), byte_column)

    def byte_column(self, line: int, column: int) -> int:
        """The UTF-8 byte column ``ast`` gives for a code-point ``column`` of ``line``."""
        if self.is_ascii:
            return column
        text = self.line(line)
        return column if text.isascii() else len(text[:column].encode("utf-8"))

    def offset(self, line: int, column: int) -> int:
        """Absolute character offset of a (1-based line, code-point column) position."""
        starts = self.line_starts
        if line > len(starts):
            return len(self.text)
        if line < 1:
            return 0
        line_end = starts[line] if line < len(starts) else len(self.text)
        return min(starts[line - 1] + column, line_end)

    def position(self, offset: int) -> tuple[int, int]:
        import bisect

        index = bisect.bisect_right(self.line_starts, offset) - 1
        return index + 1, offset - self.line_starts[index]


def display_lines(data: bytes) -> list[str]:
    """The lines of ``data`` as output shows them: decoded like the interpreter, or, for
    undecodable bytes, as UTF-8 with replacement characters (an excerpt beats none)."""
    try:
        text = decode_source(data).text
    except UndecodableSource:
        text = data.decode("utf-8", errors="replace")
    return SourceText(text).lines


def excerpt_lines(data: bytes, numbers: Iterable[int]) -> dict[int, str]:
    """The ``display_lines`` of ``data`` numbered ``numbers`` (1-based; absent if out of range).

    The result cache stores these with a file's findings, so a warm text report shows its
    excerpts without reading or splitting the file again.
    """
    lines = display_lines(data)
    count = len(lines)
    return {n: lines[n - 1] for n in sorted(set(numbers)) if 0 < n <= count}
