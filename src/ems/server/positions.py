"""Column conversion between the core's convention and the client's encoding.

Inside ems a position is (1-based line, 0-based column in code points), see
``ems.core.model``. LSP positions are (0-based line, 0-based column in code units of
the negotiated ``positionEncoding``): UTF-16 by default, UTF-8 or UTF-32 when the
client offers them. All conversion happens here, at the edge, so every range is exact
on lines with é, 中文 or emoji before the position.

Lines are split the way both Python and LSP split them: at ``\\r\\n``, ``\\r`` and ``\\n``
only (``str.splitlines`` would also split at form feeds and U+2028, which would shift
every later line).
"""

from __future__ import annotations

import bisect
import re
from itertools import accumulate

from lsprotocol import types as lsp

from ems.core.model import Position, Range

_LINE_BREAK = re.compile(r"\r\n|\r|\n")

UTF8 = lsp.PositionEncodingKind.Utf8.value
UTF16 = lsp.PositionEncodingKind.Utf16.value
UTF32 = lsp.PositionEncodingKind.Utf32.value


def units(text: str, encoding: str) -> int:
    """Length of ``text`` in code units of ``encoding``."""
    if text.isascii() or encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


def to_units(line_text: str, column: int, encoding: str) -> int:
    """Code-point column -> code-unit column on ``line_text`` (clamped to the line)."""
    column = max(0, min(column, len(line_text)))
    return units(line_text[:column], encoding)


def from_units(line_text: str, unit_column: int, encoding: str) -> int:
    """Code-unit column -> code-point column; a column inside a character snaps back to it."""
    if unit_column <= 0:
        return 0
    if line_text.isascii() or encoding == UTF32:
        return min(unit_column, len(line_text))
    consumed = 0
    for index, ch in enumerate(line_text):
        width = units(ch, encoding)
        if consumed + width > unit_column:
            return index
        consumed += width
    return len(line_text)


class LineIndex:
    """A document's line starts, for converting in both directions."""

    def __init__(self, text: str, starts: list[int] | None = None) -> None:
        self.text = text
        if starts is not None:
            self.starts = starts
        elif "\r" in text:
            self.starts = [0, *(m.end() for m in _LINE_BREAK.finditer(text))]
        else:  # the common case, much faster than the regex (performance.md)
            self.starts = list(accumulate((len(part) + 1 for part in text.split("\n")[:-1]), initial=0))

    def replaced(self, start: int, end: int, new: str) -> LineIndex:
        """The index of the text with offsets ``start..end`` replaced by ``new``, made from
        this one: the line starts before the edit kept, those after it moved. A keystroke
        in a 5,000-line file then costs a list shift, not a split of the whole text
        (performance.md); a text with ``\r`` (where a join can make a ``\r\n``) is indexed anew."""
        text = self.text
        result = text[:start] + new + text[end:]
        if "\r" in new or "\r" in text:
            return LineIndex(result)
        starts = self.starts
        kept = bisect.bisect_right(starts, start)  # the lines starting at or before the edit
        moved = bisect.bisect_right(starts, end)  # the first line starting after it
        added = []
        at = new.find("\n")
        while at >= 0:
            added.append(start + at + 1)
            at = new.find("\n", at + 1)
        delta = len(new) - (end - start)
        return LineIndex(result, [*starts[:kept], *added, *(s + delta for s in starts[moved:])])

    def line_text(self, index: int) -> str:
        """Text of 0-based line ``index`` without its line break."""
        if index < 0 or index >= len(self.starts):
            return ""
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else len(self.text)
        return self.text[start:end].rstrip("\r\n")

    def offset(self, position: lsp.Position, encoding: str) -> int:
        """Absolute code-point offset of an LSP position (clamped to the document)."""
        if position.line >= len(self.starts):
            return len(self.text)
        line = self.line_text(position.line)
        return self.starts[position.line] + from_units(line, position.character, encoding)

    def lsp_position(self, offset: int, encoding: str) -> lsp.Position:
        index = bisect.bisect_right(self.starts, offset) - 1
        line = self.line_text(index)
        return lsp.Position(index, to_units(line, offset - self.starts[index], encoding))


class PositionMapper:
    """Converts core positions/ranges of one document text to and from LSP ones."""

    def __init__(self, text: str, encoding: str = UTF16, index: LineIndex | None = None) -> None:
        self.index = index if index is not None and index.text is text else LineIndex(text)
        self.encoding = encoding

    def units(self, position: Position) -> tuple[int, int]:
        """``to_lsp`` as a plain (line, character) pair, for building JSON directly."""
        line = position.line - 1
        starts = self.index.starts
        if line < 0:
            return 0, 0
        if line >= len(starts):
            last = len(starts) - 1
            return last, units(self.index.line_text(last), self.encoding)
        return line, to_units(self.index.line_text(line), position.column, self.encoding)

    def to_lsp(self, position: Position) -> lsp.Position:
        line = position.line - 1
        if line < 0:
            return lsp.Position(0, 0)
        if line >= len(self.index.starts):  # past the end: the end of the document
            last = len(self.index.starts) - 1
            return lsp.Position(last, units(self.index.line_text(last), self.encoding))
        return lsp.Position(line, to_units(self.index.line_text(line), position.column, self.encoding))

    def range_to_lsp(self, rng: Range) -> lsp.Range:
        return lsp.Range(self.to_lsp(rng.start), self.to_lsp(rng.end))

    def from_lsp(self, position: lsp.Position) -> Position:
        text = self.index.line_text(position.line)
        return Position(position.line + 1, from_units(text, position.character, self.encoding))

    def range_from_lsp(self, rng: lsp.Range) -> Range:
        return Range(self.from_lsp(rng.start), self.from_lsp(rng.end))


def apply_change(
    text: str, change: lsp.TextDocumentContentChangeEvent, encoding: str, index: LineIndex | None = None
) -> tuple[str, LineIndex | None]:
    """Apply one ``didChange`` content change (incremental or full) to ``text``: the new
    text and its line index (``index``, the old text's, updated; None after a full change)."""
    rng = getattr(change, "range", None)
    if rng is None:
        return change.text, None
    if index is None or index.text is not text:
        index = LineIndex(text)
    start = index.offset(rng.start, encoding)
    end = index.offset(rng.end, encoding)
    index = index.replaced(start, max(start, end), change.text)
    return index.text, index
