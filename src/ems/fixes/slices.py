"""The part of a file libcst must see to fix some findings: the statements holding them.

Parsing a whole file with libcst costs about ten times ``ast.parse``; judging the
fixability of every finding in a cold ``ems check`` made that the largest cost of a scan.
A fix only rewrites the statement holding its finding, so libcst is given a *slice*: the
same text in which every line outside those statements is replaced, line break kept, so
lines and columns are those of the file. A unit is the innermost function (decorators
included) holding the finding and its related places, with the comment lines around it;
a finding outside any function takes its whole top-level statement. An indented unit is
opened by an ``if 1:`` written on the line above it, and each run of other lines becomes
one string spanning them (one libcst node, where emptied lines would be several each).

``FixContext`` turns the slice's edits back into edits of the file and gives up (the
caller then parses the whole file) whenever the slice could differ from the file: an
edit that reaches beyond a unit's own lines, a fix that regenerates the module, a slice whose
default indentation is not the file's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ems.core.model import Range
from ems.core.source import SourceText

# A slice holding more than this share of the file's characters is not worth its
# bookkeeping: the whole file is parsed instead.
MAX_SLICE_SHARE = 0.6

_WRAPPER = "if 1:"
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


class WholeFileNeeded(Exception):
    """A fix computed on a slice might differ from the same fix on the whole file."""


@dataclass(frozen=True)
class Slice:
    text: str
    # 1-based line numbers shown as in the file: the units' statements and the comment
    # and blank lines around them (which libcst may give to a neighbour instead).
    kept: frozenset[int]
    statements: frozenset[int]  # the units' own lines: where an edit may fall
    default_indent: str  # what libcst detects on the whole file

    def holds(self, start: tuple[int, int], end: tuple[int, int]) -> bool:
        """Whether an edit of ``[start, end)`` (line, column) is the same edit of the file:
        every line it touches is a unit's own line, except that a bound may sit at the
        very start of the line after one (the same place in both texts). An edit of the
        comments around a unit is not trusted: libcst gives such lines to the statement
        below or to the block above by their indentation, which the slice may change."""
        (first, first_column), (last, last_column) = start, end
        own = self.statements
        if first not in own and not (first_column == 0 and first - 1 in own):
            return False
        if last not in own and not (last_column == 0 and last - 1 in own):
            return False
        return all(line in own for line in range(first + 1, last))


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return min([statement.lineno, *(d.lineno for d in decorators)]) if decorators else statement.lineno


def _blocks(statement: ast.stmt) -> Iterable[list[ast.stmt]]:
    """The statement blocks of a compound statement, in source order (none empty)."""
    if isinstance(statement, ast.Try | ast.TryStar):
        yield statement.body
        for handler in statement.handlers:
            yield handler.body
        if statement.orelse:
            yield statement.orelse
        if statement.finalbody:
            yield statement.finalbody
    elif isinstance(statement, ast.Match):
        for case in statement.cases:
            yield case.body
    else:
        for name in ("body", "orelse"):
            block = getattr(statement, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block


def default_indent(tree: ast.Module, source: SourceText) -> str | None:
    """The indentation of the file's first indented block, as libcst detects it (its
    ``Module.default_indent``, the first INDENT token); None when it cannot be told here."""
    for statement in tree.body:
        found = _first_indent(statement, source)
        if found is not None:
            return found or None
    return "    "


def _first_indent(statement: ast.stmt, source: SourceText) -> str | None:
    """The first block of ``statement`` that opens on a line of its own: its indentation
    ("" when unknowable); None when every block is a one-line suite."""
    if isinstance(statement, ast.Match):
        return ""  # ``case`` lines open the first block: not worth the cases
    for block in _blocks(statement):
        first = block[0]
        line_number = _first_line(first)
        line = source.line(line_number)
        column = len(line) - len(line.lstrip(" \t\f"))
        if "\f" in line[:column]:
            return ""  # a form feed in an indentation: left to libcst
        if column and line_number > statement.lineno and column == first.col_offset:
            return line[:column]
        if (
            block is getattr(statement, "orelse", None)
            and isinstance(first, ast.If)
            and line.lstrip().startswith("elif")
        ):
            found = _first_indent(first, source)  # an ``elif``: its blocks are this level's
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class _Unit:
    above: int  # the first line after the previous statement of the same block
    first: int  # the statement's first line (its first decorator's)
    last: int
    indented: bool


def _units(tree: ast.Module, ranges: Sequence[Range]) -> list[_Unit] | None:
    """For each range, the smallest unit holding it; None if one lies outside every
    top-level statement."""
    units: set[_Unit] = set()
    top = tree.body
    for place in ranges:
        start = (place.start.line, place.start.column)
        end_line = place.end.line
        holder: _Unit | None = None
        for index, statement in enumerate(top):
            first = _first_line(statement)
            last = statement.end_lineno or statement.lineno
            if first <= place.start.line and end_line <= last:
                kept_from = top[index - 1].end_lineno + 1 if index else first  # type: ignore[operator]
                holder = _innermost(statement, start, end_line, kept_from) or _Unit(
                    min(kept_from, first), first, last, False
                )
                break
        if holder is None:
            return None
        units.add(holder)
    return sorted(units, key=lambda u: (u.above, u.last))


def _innermost(statement: ast.stmt, start: tuple[int, int], end_line: int, kept_from: int) -> _Unit | None:
    """The innermost function (below ``statement``) whose body holds the place."""
    found: _Unit | None = None
    siblings: list[ast.stmt] = [statement]
    above = kept_from
    while True:
        step: tuple[ast.stmt, int] | None = None
        for index, node in enumerate(siblings):
            first = _first_line(node)
            last = node.end_lineno or node.lineno
            if not first <= start[0] <= end_line <= last:
                continue
            previous = siblings[index - 1].end_lineno if index else None
            step = node, (previous + 1) if previous is not None else above
            break
        if step is None:
            return found
        node, kept_from_here = step
        if isinstance(node, _FUNCTIONS) and node.col_offset > 0:
            first = _first_line(node)
            found = _Unit(min(kept_from_here, first), first, node.end_lineno or node.lineno, True)
        nested = next(
            (
                b
                for b in _blocks(node)
                if _first_line(b[0]) <= start[0] and end_line <= (b[-1].end_lineno or 0)
            ),
            None,
        )
        if nested is None:
            return found
        siblings = nested
        above = _first_line(nested[0])


def slice_for(text: str, ranges: Iterable[Range]) -> Slice | None:
    """The slice of ``text`` holding ``ranges``; None when the whole file is as good (or
    the slice cannot be trusted: a file ``ast`` refuses, a place outside every statement)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    source = SourceText(text)
    indent = default_indent(tree, source)
    units = _units(tree, list(ranges))
    if indent is None or not units:
        return None
    starts = source.line_starts
    total_lines = len(starts)
    lines = source.lines
    kept: set[int] = set()
    statements: set[int] = set()
    for unit in units:
        after = unit.last
        while after < len(lines) and _trivia(lines[after]):
            after += 1  # comment and blank lines below, up to the next statement
        kept.update(range(unit.above, after + 1))
        statements.update(range(unit.first, unit.last + 1))
    wrappers: set[int] = set()
    for unit in units:
        if unit.indented and unit.above - 1 not in kept:
            if unit.above - 1 < 1:
                return None
            wrappers.add(unit.above - 1)
    share = sum(_line_length(text, starts, line) for line in kept)
    if share > MAX_SLICE_SHARE * len(text):
        return None
    if starts[-1] == len(text):
        total_lines -= 1  # the text ends with a line break: no line after it
    pieces: list[str] = []
    line = 1
    while line <= total_lines:
        if line in kept or line in wrappers:
            begin = starts[line - 1]
            end = starts[line] if line < total_lines else len(text)
            pieces.append(text[begin:end] if line in kept else _WRAPPER + _line_break(text, begin, end))
            line += 1
            continue
        run = line
        while run + 1 <= total_lines and run + 1 not in kept and run + 1 not in wrappers:
            run += 1
        pieces.append(_filler(text, starts, line, run))
        line = run + 1
    return Slice("".join(pieces), frozenset(kept), frozenset(statements), indent)


def _line_break(text: str, begin: int, end: int) -> str:
    line = text[begin:end]
    return line[len(line.rstrip("\r\n")) :]


def _filler(text: str, starts: list[int], first: int, last: int) -> str:
    """Lines ``first..last`` as one statement spanning them (a string over several lines),
    keeping each line break: libcst then makes one node of a region it would otherwise
    make several nodes per line of, and the lines below keep their numbers."""
    breaks = [
        _line_break(text, starts[n - 1], starts[n] if n < len(starts) else len(text))
        for n in range(first, last + 1)
    ]
    if first == last:
        return "0" + breaks[0]
    return '"""' + "".join(breaks[:-1]) + '"""' + breaks[-1]


def _trivia(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _line_length(text: str, starts: list[int], line: int) -> int:
    end = starts[line] if line < len(starts) else len(text)
    return end - starts[line - 1]
