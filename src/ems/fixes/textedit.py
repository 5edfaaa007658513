"""Fixes computed as text edits from ``ast`` positions and the source text, without libcst.

Why: judging fixability (``with_fixability``) runs on every cold ``ems check``; libcst's
import and parse of the finding's statements cost about as much as the analysis itself.
Every built-in fix's common shapes are simple: a rule's ``text_fix`` (``Rule.text_fix``)
handles those and raises ``CstNeeded`` for any other shape (comments or line breaks inside
the statement, a statement sharing its line, brackets), which the engine then fixes with
libcst as before. Fixes that move lines (B006's guard, PLW0120's dedent, EMS102's deletion)
write indentation as libcst does (``line_kinds``, ``reindented``). The text produced is the one libcst's fix produces (a
differential over the standard library checks every offer, ``tests/unit/test_text_fixes.py``
keeps a representative set); edits go through ``minimal_edit_between`` as libcst's do.
"""

from __future__ import annotations

import ast
import bisect
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cached_property

from ems.core.model import Finding, Fix, Range, Safety, TextEdit
from ems.core.rule import CstNeeded  # what a text route raises for a shape it leaves to libcst
from ems.core.source import SourceText, line_char_column


@dataclass(frozen=True, slots=True)
class Place:
    """A statement found in the tree: the node, the body list holding it, and whether that
    body is a block of its own lines (not the module's, not a one-line suite)."""

    node: ast.stmt
    siblings: list[ast.stmt]
    indented: bool


def _lineno(node: ast.stmt) -> int:
    return node.lineno


class Statements:
    """The file's statements by start position (line, code-point column), from one
    ``ast.parse`` walked over statement bodies only (no expressions), made on first use."""

    def __init__(self, text: str, source: SourceText) -> None:
        self.text = text
        self.source = source

    @cached_property
    def tree(self) -> ast.Module:
        return ast.parse(self.text)

    @cached_property
    def _by_start(self) -> dict[tuple[int, int], Place]:
        tree = self.tree
        found: dict[tuple[int, int], Place] = {}
        char_column = self.source.char_column
        stack: list[tuple[list[ast.stmt], bool]] = [(tree.body, False)]
        while stack:
            body, indented = stack.pop()
            for node in body:
                found[(node.lineno, char_column(node.lineno, node.col_offset))] = Place(node, body, indented)
                stack.extend(self._inner(node))
        return found

    def _own_lines(self, owner: ast.AST, body: list[ast.stmt]) -> bool:
        """Whether ``body`` starts on a line after its header (an indented block), not on
        the header's line (``if x: y``, a one-line suite)."""
        first = body[0]
        line = self.source.line(first.lineno)
        column = self.source.char_column(first.lineno, first.col_offset)
        return not line[:column].strip()

    def places(self) -> Iterable[Place]:
        return self._by_start.values()

    def at(self, line: int, column: int) -> Place | None:
        """The statement starting at (line, code-point column), as ``places`` holds it.

        Found by descending only into the statements whose lines hold ``line``: a fix asks
        for one or two statements, and indexing every statement of a large file (as
        ``places`` does) cost more than the rest of its text route."""
        if "_by_start" in self.__dict__:
            return self._by_start.get((line, column))
        char_column = self.source.char_column
        for place in self.containing(line):
            node = place.node
            if node.lineno == line and char_column(line, node.col_offset) == column:
                return place
        return None

    def containing(self, line: int) -> Iterator[Place]:
        """The places of the statements whose lines (``lineno`` to ``end_lineno``) hold
        ``line``, each before the statements nested in it."""
        stack: list[tuple[list[ast.stmt], bool]] = [(self.tree.body, False)]
        while stack:
            body, indented = stack.pop()
            # statements in a list do not overlap but may share a line (`a; b`), so the
            # ones holding ``line`` are the last of those starting on or before it
            index = bisect.bisect_right(body, line, key=_lineno)
            while index > 0 and (body[index - 1].end_lineno or 0) >= line:
                index -= 1
                node = body[index]
                yield Place(node, body, indented)
                stack.extend(self._inner(node))

    def _inner(self, node: ast.stmt) -> list[tuple[list[ast.stmt], bool]]:
        """The statement lists nested directly in ``node``, as ``_by_start`` walks them."""
        inner: list[tuple[list[ast.stmt], bool]] = []
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if block and isinstance(block, list) and isinstance(block[0], ast.stmt):
                inner.append((block, self._own_lines(node, block)))
        for handler in getattr(node, "handlers", ()):
            inner.append((handler.body, self._own_lines(handler, handler.body)))
        for case in getattr(node, "cases", ()):
            inner.append((case.body, self._own_lines(case, case.body)))
        return inner


def node_range(source: SourceText, node: ast.AST) -> tuple[int, int]:
    """A node's span as offsets in the text (``ast`` columns are UTF-8 bytes)."""
    start = source.offset(node.lineno, source.char_column(node.lineno, node.col_offset))  # type: ignore[attr-defined]
    end_line = node.end_lineno  # type: ignore[attr-defined]
    end = source.offset(end_line, source.char_column(end_line, node.end_col_offset))  # type: ignore[attr-defined]
    return start, end


def offsets(source: SourceText, at: Range) -> tuple[int, int]:
    return source.offset(at.start.line, at.start.column), source.offset(at.end.line, at.end.column)


def replacement(
    source: SourceText, start: int, end: int, text: str, title: str, safety: Safety, finding: Finding
) -> Fix:
    """The fix replacing ``[start, end)`` by ``text``, as the narrowest edit (the form
    libcst's fixes take)."""
    from ems.fixes.context import minimal_edit_between

    return Fix(title, safety, (minimal_edit_between(source, start, end, text),), finding.code)


def only_code(text: str) -> bool:
    """Whether ``text`` (a piece of one logical line) is free of comments, line breaks and
    backslash continuations: a span a text edit may rewrite without losing anything."""
    return "#" not in text and "\n" not in text and "\r" not in text and "\\" not in text


def blank(text: str) -> bool:
    return not text.strip(" \t")


def statement_place(
    statements: Statements, source: SourceText, finding: Finding, name: str = "statement"
) -> Place:
    """The statement named by the finding's related place ``name``; ``CstNeeded`` if absent."""
    related = finding.place(name)
    if related is None:
        raise CstNeeded
    place = statements.at(related.start.line, related.start.column)
    if place is None:
        raise CstNeeded
    return place


def remove_statement(source: SourceText, place: Place, title: str, safety: Safety, finding: Finding) -> Fix:
    """``ems.fixes.imports.remove_statement`` for a statement alone on its lines: the last
    statement of an indented block becomes ``pass``, any other loses its whole lines.
    A statement sharing a line (``;``, a one-line suite) needs libcst."""
    node = place.node
    start, end = node_range(source, node)
    first = source.line(node.lineno)
    head = first[: source.char_column(node.lineno, node.col_offset)]
    if not blank(head):
        raise CstNeeded  # after a `;` or on its block's header line
    rest = source.text[end : source.offset(node.end_lineno, len(source.line(node.end_lineno)))]  # type: ignore[arg-type]
    if not only_comment(rest):
        raise CstNeeded  # a `;` follows
    if place.indented and len(place.siblings) == 1:
        if node.lineno != node.end_lineno:
            raise CstNeeded
        return replacement(source, start, end, "pass", title, safety, finding)
    edit = TextEdit(Range.of(node.lineno, 0, node.end_lineno + 1, 0), "")  # type: ignore[operator]
    return Fix(title, safety, (edit,), finding.code)


def only_comment(rest: str) -> bool:
    stripped = rest.strip(" \t")
    return not stripped or (stripped.startswith("#") and "\\" not in stripped)


def remove_import_name(
    source: SourceText, place: Place, at: Range, title: str, safety: Safety, finding: Finding
) -> Fix:
    """``ems.fixes.imports.remove_import_alias`` for the name at ``at`` of the import
    statement ``place``: a statement importing one name goes (``remove_statement``); any
    other name goes with its comma up to the next name (backslash continuations and line
    breaks in brackets included, as libcst's ``names.pop`` does); the last name goes with
    the comma before it, or in brackets as ``_drop_last_bracketed`` says. Whatever would
    lose a comment, or a ``\r``: ``CstNeeded``."""
    node = place.node
    if not isinstance(node, (ast.Import, ast.ImportFrom)):
        raise CstNeeded
    if len(node.names) == 1:
        return remove_statement(source, place, title, safety, finding)
    start, end = node_range(source, node)
    text = source.text[start:end]
    spans = []
    for alias in node.names:
        low = source.offset(alias.lineno, source.char_column(alias.lineno, alias.col_offset))
        high = source.offset(alias.end_lineno, source.char_column(alias.end_lineno, alias.end_col_offset))  # type: ignore[arg-type]
        spans.append((low, high))
    where = source.offset(at.start.line, at.start.column)
    index = next((i for i, (low, _) in enumerate(spans) if low == where), None)
    if index is None or "\r" in text:
        raise CstNeeded
    bracketed = isinstance(node, ast.ImportFrom) and text.endswith(")")
    if not bracketed and ("(" in text or "#" in text):
        raise CstNeeded
    if index + 1 < len(spans):  # the name and its comma go, up to the next name
        cut = spans[index][0], spans[index + 1][0]
        if "#" in source.text[cut[0] : cut[1]]:
            raise CstNeeded
        return replacement(source, cut[0], cut[1], "", title, safety, finding)
    if not bracketed:  # the last name goes with the comma before it
        return replacement(source, spans[index - 1][1], spans[index][1], "", title, safety, finding)
    if "\\" in source.text[spans[-2][1] : end]:
        raise CstNeeded  # a backslash in brackets: libcst's whitespace is not a line break there
    first = source.line(node.lineno)
    statement_indent = first[: source.char_column(node.lineno, node.col_offset)]
    if not blank(statement_indent):
        raise CstNeeded  # after a `;`: libcst's block indentation is not the line's
    return _drop_last_bracketed(source, spans, end - 1, statement_indent, title, safety, finding)


def _drop_last_bracketed(
    source: SourceText,
    spans: list[tuple[int, int]],
    rpar: int,
    statement_indent: str,
    title: str,
    safety: Safety,
    finding: Finding,
) -> Fix:
    """``remove_import_alias`` for the last name of ``from m import (...)``: the name
    before it keeps its comma (``ems.fixes.imports._new_last``). After that comma, what
    followed it up to its line break (a comment) and the lines up to the removed name are
    kept, then the indentation before ``)``, or the statement's when ``)`` followed the
    removed name on its line; with no line break after the comma, what follows the
    removed name (or its comma) up to ``)`` is kept. A comment in what goes: ``CstNeeded``."""
    text = source.text
    before, (low, _) = spans[-2], spans[-1]
    comma = before[1]
    while text[comma] in " \t":
        comma += 1
    if text[comma] != ",":
        raise CstNeeded
    mine = text[comma + 1 : low]  # after the kept comma, up to the removed name
    after = spans[-1][1]
    while text[after] in " \t":
        after += 1
    closing_start = after + 1 if text[after] == "," else spans[-1][1]
    closing = text[closing_start:rpar]  # before `)`
    if "\n" in mine:
        line_start = closing.rfind("\n") + 1
        kept = mine[: mine.rfind("\n") + 1] + (closing[line_start:] if line_start else statement_indent)
        lost = text[low : closing_start + line_start]
    else:
        kept, lost = closing, text[low:closing_start]
    if "#" in lost:
        raise CstNeeded
    return replacement(source, comma + 1, rpar, kept, title, safety, finding)


def expression_at(source: SourceText, at: Range) -> tuple[ast.expr, int, str]:
    """The one-line expression spanning ``at``, parsed alone: its node (columns relative to
    the expression's text, in UTF-8 bytes), the text's offset in the file, and the text.
    A one-line span holds no comment and no continuation."""
    if at.start.line != at.end.line:
        raise CstNeeded
    start, end = offsets(source, at)
    text = source.text[start:end]
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError:
        raise CstNeeded from None
    return tree.body, start, text


def operator_between(
    text: str, left: ast.expr, right: ast.expr, operators: tuple[str, ...]
) -> tuple[int, int, str]:
    """Where the comparison operator between ``left`` and ``right`` is in ``text`` (nodes
    of ``expression_at``): only brackets and spaces may surround it."""
    low = line_char_column(text, left.end_col_offset)  # type: ignore[arg-type]
    high = line_char_column(text, right.col_offset)
    between = text[low:high]
    core = between.strip(" \t()")
    if core not in operators:
        raise CstNeeded
    at = low + between.index(core)
    if between[: between.index(core)].strip(" \t)") or between[between.index(core) + len(core) :].strip(
        " \t("
    ):
        raise CstNeeded
    return at, at + len(core), core


def swap_operator(
    finding: Finding, source: SourceText, swaps: dict[str, str], title: str, safety: Safety
) -> Fix:
    """``rules._helpers.swap_comparison_operator`` for a one-line comparison: the ``index``
    datum's operator becomes its swap, the spaces around it kept."""
    node, base, text = expression_at(source, finding.range)
    if not isinstance(node, ast.Compare):
        raise CstNeeded
    index = int(finding.datum("index", "0"))
    if index >= len(node.ops):
        raise CstNeeded
    left = node.left if index == 0 else node.comparators[index - 1]
    low, high, operator = operator_between(text, left, node.comparators[index], tuple(swaps))
    if swaps[operator][0].isalpha() and not (
        text[low - 1 : low].isspace() and text[high : high + 1].isspace()
    ):
        raise CstNeeded  # `x==None`: libcst judges where a word operator may touch its operands
    return replacement(source, base + low, base + high, swaps[operator], title, safety, finding)


def negated_comparison(
    finding: Finding, source: SourceText, positive: type[ast.cmpop], word: str, negated: str, title: str
) -> Fix:
    """``rules._helpers.negated_comparison`` for a one-line ``not a OP b``: ``not`` and the
    spaces after it go, ``OP`` becomes its negation."""
    node, base, text = expression_at(source, finding.range)
    if not (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.Not)
        and isinstance(node.operand, ast.Compare)
        and len(node.operand.ops) == 1
        and isinstance(node.operand.ops[0], positive)
        and text.startswith("not")
    ):
        raise CstNeeded
    compare = node.operand
    low, high, _ = operator_between(text, compare.left, compare.comparators[0], (word,))
    if not (text[low - 1 : low].isspace() and text[high : high + 1].isspace()):
        raise CstNeeded  # `(x)in(y)`: libcst judges where a word operator may touch its operands
    after = 3
    while text[after : after + 1] in (" ", "\t"):
        after += 1
    new = text[after:low] + negated + text[high:]
    return replacement(source, base, base + len(text), new, title, Safety.SAFE, finding)


def one_string(text: str) -> bool:
    """Whether ``text`` is exactly one string token (a literal, not a concatenation)."""
    import io
    import tokenize

    try:
        found = [
            t
            for t in tokenize.generate_tokens(io.StringIO(text).readline)
            if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER)
        ]
    except (tokenize.TokenError, SyntaxError):
        return False
    return len(found) == 1 and found[0].type == tokenize.STRING and found[0].string == text


def import_statement_at(statements: Statements, source: SourceText, at: Range) -> Place:
    """The import statement whose span holds ``at`` (``CstNeeded`` if none)."""
    for place in statements.containing(at.start.line):
        node = place.node
        if isinstance(node, (ast.Import, ast.ImportFrom)) and node.lineno <= at.start.line <= node.end_lineno:  # type: ignore[operator]
            low, high = node_range(source, node)
            if low <= source.offset(at.start.line, at.start.column) < high:
                return place
    raise CstNeeded


def dict_with_key(statements: Statements, source: SourceText, at: Range) -> ast.Dict:
    """The dictionary display one of whose keys starts at ``at`` (``CstNeeded`` if none)."""
    where = (at.start.line, at.start.column)
    for place in statements.containing(at.start.line):  # (a key's position is one dict's)
        node = place.node
        for inner in ast.walk(node):
            if isinstance(inner, ast.Dict):
                for key in inner.keys:
                    if (
                        key is not None
                        and (key.lineno, source.char_column(key.lineno, key.col_offset)) == where
                    ):
                        return inner
    raise CstNeeded


def comma_after(text: str, end: int) -> int:
    """The offset of the comma after an element ending at ``end`` (spaces only between)."""
    while text[end : end + 1] in (" ", "\t"):
        end += 1
    if text[end : end + 1] != ",":
        raise CstNeeded
    return end


# A statement parsed alone is given up on past this many lines (``Statements`` then).
_LONGEST = 40


def statement_starting(source: SourceText, line: int, column: int) -> ast.stmt:
    """The statement that starts at (``line``, ``column``), parsed alone (no tree of the
    file): its lines from the first, one more at a time until they parse (the first prefix
    that parses is the logical line: an open bracket, string or backslash fails before).
    An indented statement is parsed under an ``if 1:`` line, so columns are the file's;
    lines are moved to the file's."""
    if not blank(source.line(line)[:column]):
        raise CstNeeded
    text = source.text
    starts = source.line_starts
    begin = starts[line - 1]
    wrap = "if 1:\n" if column else ""
    for last in range(line, min(line + _LONGEST, len(starts) + 1)):
        end = starts[last] if last < len(starts) else len(text)
        try:
            tree = ast.parse(wrap + text[begin:end])
        except SyntaxError:
            continue
        except (ValueError, RecursionError, MemoryError):
            break
        ast.increment_lineno(tree, line - 2 if wrap else line - 1)
        return tree.body[0].body[0] if wrap else tree.body[0]  # type: ignore[attr-defined]
    raise CstNeeded


_PRIMARY = (
    ast.Name,
    ast.Attribute,
    ast.Call,
    ast.Subscript,
    ast.List,
    ast.Dict,
    ast.Set,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
)


def call_arguments(text: str, node: ast.Call, func: str, count: int) -> list[str]:
    """The texts of a one-line call's ``count`` plain positional arguments (from
    ``expression_at``), each exactly its node's text: an argument in brackets of its own, a
    keyword or a star raises ``CstNeeded``."""
    if not (
        isinstance(node.func, ast.Name)
        and node.func.id == func
        and len(node.args) == count
        and not node.keywords
        and not any(isinstance(a, ast.Starred) for a in node.args)
    ):
        raise CstNeeded
    pieces = []
    after = line_char_column(text, node.func.end_col_offset)  # type: ignore[arg-type]
    for index, argument in enumerate(node.args):
        low = line_char_column(text, argument.col_offset)
        high = line_char_column(text, argument.end_col_offset)  # type: ignore[arg-type]
        opener = "(" if index == 0 else ","
        if text[after:low].strip(" \t") != opener:
            raise CstNeeded  # brackets around the argument (not its own node's)
        pieces.append(text[low:high])
        after = high
    if text[after:].strip(" \t").rstrip(",").strip(" \t") != ")":
        raise CstNeeded
    return pieces


def as_primary(node: ast.expr, code: str) -> str:
    """``rules._helpers.as_primary`` on the text: ``code`` as it stands when it takes
    ``.attr`` (a name, call, subscript, display, one string literal, or in brackets of its
    own), else in parentheses."""
    if isinstance(node, _PRIMARY) or code.startswith("("):
        return code
    if (
        isinstance(node, (ast.Constant, ast.JoinedStr))
        and isinstance(getattr(node, "value", ""), (str, bytes))
        and one_string(code)
    ):
        return code
    return f"({code})"


def indentation(line: str) -> str:
    return line[: len(line) - len(line.lstrip(" \t"))]


@dataclass(frozen=True, slots=True)
class LineKind:
    """How libcst sees one line (``line_kinds``): ``kind`` is ``"code"`` where a logical
    line starts (libcst writes its indentation anew), ``"comment"`` for a comment alone on
    its line, ``"blank"``, ``"bracket"`` for a line inside brackets (libcst writes its
    indentation anew when the line starts with ``statement``'s, the indentation of the
    logical line it continues, and keeps it as written otherwise) and ``"verbatim"``
    inside a string or after a backslash (kept as written)."""

    kind: str
    statement: str = ""


def line_kinds(source: SourceText, first: int, last: int) -> dict[int, LineKind]:
    """``LineKind`` of lines ``first`` to ``last``, which hold whole logical lines (the
    first one's indentation the least). ``CstNeeded`` if they do not tokenize on their own
    or a backslash continues a line inside brackets."""
    import io
    import tokenize

    text = source.text[source.offset(first, 0) : source.offset(last + 1, 0)]
    kinds: dict[int, LineKind] = {}
    at_start = True
    depth = strings = 0  # open brackets; open f-strings (3.12 tokenizes their insides)
    statement = ""
    skip = (tokenize.INDENT, tokenize.DEDENT, tokenize.ENDMARKER)
    opens, closes = getattr(tokenize, "FSTRING_START", -1), getattr(tokenize, "FSTRING_END", -1)
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in skip:
                continue
            if token.type == tokenize.NEWLINE:
                at_start = True
                continue
            row = token.start[0] + first - 1
            if row not in kinds:
                line = source.line(row)
                if at_start:
                    kind = {tokenize.COMMENT: "comment", tokenize.NL: "blank"}.get(token.type, "code")
                    kinds[row] = LineKind(kind)
                    if kind == "code":
                        statement = indentation(line)
                elif strings:
                    kinds[row] = LineKind("verbatim")
                elif depth and source.line(row - 1).endswith("\\"):
                    raise CstNeeded  # a backslash inside brackets
                else:
                    kinds[row] = LineKind("bracket", statement) if depth else LineKind("verbatim")
            for inside in range(token.start[0] + 1, token.end[0] + 1):  # a string's lines
                kinds.setdefault(inside + first - 1, LineKind("verbatim"))
            strings += (token.type == opens) - (token.type == closes)
            if token.type == tokenize.OP and token.string in "([{":
                depth += 1
            elif token.type == tokenize.OP and token.string in ")]}":
                depth -= 1
            if token.type not in (tokenize.COMMENT, tokenize.NL):
                at_start = False
    except (tokenize.TokenError, SyntaxError):
        raise CstNeeded from None
    return {line: kinds.get(line, LineKind("verbatim")) for line in range(first, last + 1)}


def reindented(line: str, kind: LineKind, old: str, new: str) -> str:
    """``line`` (of kind ``kind``) as libcst writes it when its block moves from
    indentation ``old`` to ``new``; ``CstNeeded`` for a blank line it might write anew."""
    if kind.kind == "verbatim" or (kind.kind == "bracket" and not line.startswith(kind.statement)):
        return line
    if not line.strip(" \t"):
        if line or kind.kind != "blank":
            raise CstNeeded  # spaces on a blank line, a blank line in brackets
        return line
    if not line.startswith(old):
        raise CstNeeded
    return new + line[len(old) :]


def ends_cleanly(text: str) -> bool:
    """Whether ``text`` ends with a line break and holds no ``\\r``: what the routes that
    move or delete whole lines handle (libcst writes other line ends its own way)."""
    return text.endswith("\n") and "\r" not in text
