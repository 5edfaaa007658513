"""The test client's own text model: how an editor applies LSP edits to its buffer.

Written from the LSP specification, independently of the server's ``apply_change``, so a
bug in the server's position arithmetic cannot hide in the tests: lines end at ``\\r\\n``,
``\\n`` or ``\\r``; a position's ``character`` counts code units of the negotiated encoding
(UTF-16 unless the client chose ``utf-8`` or ``utf-32``); a character past the end of its
line means the end of the line, and a line past the end means the end of the text.
"""

from __future__ import annotations

from lsprotocol import types as lsp

_UNITS = {
    "utf-16": lambda ch: 2 if ord(ch) > 0xFFFF else 1,
    "utf-8": lambda ch: len(ch.encode("utf-8", "surrogatepass")),
    "utf-32": lambda ch: 1,
}


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end of content) of each line, in string indices."""
    spans: list[tuple[int, int]] = []
    start = i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\n" or ch == "\r":
            spans.append((start, i))
            i += 2 if text.startswith("\r\n", i) else 1
            start = i
        else:
            i += 1
    spans.append((start, len(text)))
    return spans


def index_of(text: str, position: lsp.Position, encoding: str = "utf-16") -> int:
    """The string index ``position`` names in ``text``."""
    lines = _lines(text)
    if position.line >= len(lines):
        return len(text)
    start, end = lines[position.line]
    units, i, width = 0, start, _UNITS[encoding]
    while i < end and units < position.character:
        units += width(text[i])
        i += 1
    return i


def apply_text_change(text: str, change: lsp.TextDocumentContentChangeEvent, encoding: str = "utf-16") -> str:
    """``text`` after one ``didChange`` content change (or one ``TextEdit``'s range and text)."""
    rng = getattr(change, "range", None)
    if rng is None:
        return change.text
    start = index_of(text, rng.start, encoding)
    end = max(start, index_of(text, rng.end, encoding))
    return text[:start] + change.text + text[end:]
