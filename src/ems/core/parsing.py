"""``parse_module``: ``ast.parse``, in pieces for a very large module.

Why: CPython's ``ast.parse`` holds the whole module's C-level tree (its arena) and the
Python ``ast`` objects together while it converts one into the other, and the freed arena
is not returned to the system: a generated 5 MB module peaks at ~700 MiB for the parse
alone, where the Python objects are ~300 MiB (issue 13; docs/implementation/performance.md,
"The 5 MB file's memory"). Parsing a large module a few hundred kilobytes at a time keeps
only one small arena alive.

The tree must be exactly ``ast.parse``'s (equal ``ast.dump(..., include_attributes=True)``):
pieces are cut only at lines that start at column 0 and where the text before parses on
its own (so no bracket, string or backslash continuation is open), never before an
``else``/``elif``/``except``/``finally`` clause at column 0, and each piece is parsed after
as many newlines as lines precede it, so its line numbers are the file's (columns are
untouched: every piece starts a line). Anything odd — a lone ``\\r`` line break (the
newline count would differ from the parser's), a future import that changes the grammar,
a piece that keeps failing, any error — falls back to one whole ``ast.parse``, which also
gives syntax errors their usual message.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass

# Sources at least this long (in characters) are parsed in pieces; smaller ones whole.
PIECEWISE_MIN_CHARS = 1024 * 1024
# How much text a piece aims at: the arena of a piece this size is a few tens of MiB.
PIECE_CHARS = 256 * 1024
# Text parsed in all (failed tries and padding included), as a multiple of the source's
# length, before giving up on pieces: a module whose column-0 lines are mostly inside one
# huge string would otherwise re-parse ever longer prefixes.
_MAX_WORK = 4

# A line that may start a top-level statement: not indented, blank, a comment or a
# closing bracket.
_LINE_START = re.compile(r"^(?![ \t\f#)\]}\r\n\\])", re.MULTILINE)
# Clauses that continue the compound statement above them at column 0.
_CLAUSE = re.compile(r"(?:else|elif|except|finally)\b")


@dataclass(frozen=True, slots=True)
class Piece:
    """Where a piece lies in the text, and how many lines precede it."""

    start: int
    end: int
    lines_before: int


class WholeParse(Exception):
    """The module is to be parsed whole: a lone ``\\r``, a grammar-changing future import,
    a piece that keeps failing (a syntax error, or past the work budget)."""


def parse_module(text: str, filename: str = "<unknown>", piece_chars: int | None = None) -> ast.Module:
    """``ast.parse(text, filename=filename)``; in pieces of about ``piece_chars`` characters
    when the text is at least ``PIECEWISE_MIN_CHARS`` long (or ``piece_chars`` is given).
    Raises what ``ast.parse`` raises."""
    if piece_chars is None:
        if len(text) < PIECEWISE_MIN_CHARS:
            return ast.parse(text, filename=filename)
        piece_chars = PIECE_CHARS
    body: list[ast.stmt] = []
    type_ignores: list[ast.TypeIgnore] = []
    try:
        for _, tree in pieces(text, filename, piece_chars):
            body.extend(tree.body)
            type_ignores.extend(tree.type_ignores)
    except WholeParse:
        return ast.parse(text, filename=filename)
    return ast.Module(body=body, type_ignores=type_ignores)


def pieces(
    text: str, filename: str = "<unknown>", piece_chars: int = PIECE_CHARS
) -> Iterator[tuple[Piece, ast.Module]]:
    """The module's pieces in order, each with its tree (line numbers the file's); raises
    ``WholeParse`` (possibly after some pieces) when the module should be parsed whole.

    Only the piece being handed out is alive here: a caller that drops each tree holds
    one piece's tree at a time (``ems.core.piecewise``)."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):
        raise WholeParse("a lone \\r ends a line for the parser, not for the newline count")
    if "barry_as_FLUFL" in text:
        raise WholeParse("a future import that changes the grammar of the lines after it")
    piece_chars = max(piece_chars, 1)
    size = len(text)
    budget = _MAX_WORK * size
    start = 0
    lines_before = 0
    while start < size:
        want = piece_chars
        while True:
            end = _cut_at_or_after(text, start + want)
            budget -= end - start + lines_before
            if budget < 0:
                raise WholeParse("past the work budget")
            piece = Piece(start, end, lines_before)
            try:
                tree = parse_piece(text, piece, filename)
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                if end >= size:
                    raise WholeParse("the last piece does not parse") from None
                want *= 2  # the cut fell inside a statement (a string, brackets): grow
                continue
            break
        yield piece, tree
        del tree  # not kept while the next piece is parsed
        lines_before += text.count("\n", start, end)
        start = end


def parse_piece(text: str, piece: Piece, filename: str = "<unknown>") -> ast.Module:
    """The tree of one piece ``pieces`` found, parsed again (line numbers the file's)."""
    return ast.parse("\n" * piece.lines_before + text[piece.start : piece.end], filename=filename)


def _cut_at_or_after(text: str, offset: int) -> int:
    """The first line start at or after ``offset`` that may begin a top-level statement
    (not a clause continuing the one above), or the end of the text."""
    if offset >= len(text):
        return len(text)
    match = _LINE_START.search(text, offset)
    while match is not None and _CLAUSE.match(text, match.start()):
        match = _LINE_START.search(text, match.start() + 1)
    return match.start() if match is not None else len(text)
