"""PLW0120: `else` clause on a loop that has no `break`."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Range, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.core.source import SourceText
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import LOOP_NODES, NO_HITS, SCOPE_NODES


class UselessElseOnLoop(Rule):
    code = "PLW0120"
    name = "useless-else-on-loop"
    severity = Severity.WARNING
    summary = "`else` clause on a loop without a `break`"
    explanation = (
        "A loop's `else:` runs when the loop ends without `break`. With no `break` in the "
        "loop, it always runs (unless `return`/`raise` leave first, which skip the code after "
        "the loop too), so the `else:` only adds a level of indentation and suggests a "
        "`break` that is not there, often a sign one was forgotten. The fix removes the "
        "`else:` and dedents its body; it is safe for that reason. `break`s of nested loops "
        "and nested functions do not count."
    )
    fix_safety = Safety.SAFE
    fix_title = "Remove the `else` and dedent its body"
    local_fix = True
    node_types = (ast.For, ast.AsyncFor, ast.While)
    valid = (
        Valid("for x in y:\n    if x:\n        break\nelse:\n    print('none')\n"),
        Valid("while x:\n    try:\n        pass\n    finally:\n        break\nelse:\n    done()\n"),
        Valid(
            "for x in y:\n    for z in x:\n        if z:\n            break\n    else:\n        break\n"
            "else:\n    done()\n"
        ),
    )
    invalid = (
        Invalid(
            "def f(y):\n    for x in y:\n        print(x)\n    # after\n    else:  # done\n        print('end')\n"
            "        return 1\n",
            fixed="def f(y):\n    for x in y:\n        print(x)\n    # after\n    # done\n    print('end')\n"
            "    return 1\n",
            at="5:4-5:8",
            message="`else` clause on a loop without a `break`",
        ),
        Invalid(
            "while x:\n    for z in x:\n        break\nelse: done()\nnext()\n",
            fixed="while x:\n    for z in x:\n        break\ndone()\nnext()\n",
            at="4:0-4:4",
            message="`else` clause on a loop without a `break`",
        ),
        Invalid(
            "for x in y:\n    def f():\n        pass\nelse:\n    a = 1\n    # trailing note\nb = 2\n",
            fixed="for x in y:\n    def f():\n        pass\na = 1\n# trailing note\nb = 2\n",
            at="4:0-4:4",
            message="`else` clause on a loop without a `break`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if not node.orelse:  # type: ignore[attr-defined]
            return NO_HITS  # most loops: no generator
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.For | ast.AsyncFor | ast.While, ctx: AnalysisContext) -> Iterator[Hit]:
        if _breaks(node):
            return
        line, column = _else_keyword(node, ctx)
        yield Hit(
            line,
            column,
            line,
            column + len("else"),
            "`else` clause on a loop without a `break`",
            related=(ctx.related(node, name="loop"),),  # what the fix rewrites
        )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        at = finding.place("loop")
        loop = ctx.find((cst.For, cst.While), Range(at.start, at.start)) if at is not None else None
        block = ctx.parents.get(loop) if loop is not None else None
        if (
            not isinstance(loop, (cst.For, cst.While))
            or loop.orelse is None
            or not isinstance(block, (cst.IndentedBlock, cst.Module))
        ):
            return None
        orelse = loop.orelse
        body = orelse.body
        header: list[cst.EmptyLine] = []
        footer: list[cst.EmptyLine] = []
        if isinstance(body, cst.SimpleStatementSuite):
            moved: list[cst.BaseStatement] = [
                cst.SimpleStatementLine(body=body.body, trailing_whitespace=body.trailing_whitespace)
            ]
        else:
            assert isinstance(body, cst.IndentedBlock)  # the other kind of suite
            moved = list(body.body)
            if body.header.comment is not None:
                header = [cst.EmptyLine(comment=body.header.comment)]
            footer = [line.with_changes(indent=True) for line in body.footer]
        # Every statement (a simple line or a compound one) has ``leading_lines``.
        moved[0] = moved[0].with_changes(
            leading_lines=[*orelse.leading_lines, *header, *moved[0].leading_lines]  # type: ignore[attr-defined]
        )
        statements = list(block.body)
        index = next(i for i, s in enumerate(statements) if s is loop)
        statements[index : index + 1] = [loop.with_changes(orelse=None), *moved]
        new_block = block.with_changes(body=statements)
        if footer:
            after = index + len(moved) + 1
            if after < len(statements):
                following = statements[after]
                statements[after] = following.with_changes(
                    leading_lines=[*footer, *following.leading_lines]  # type: ignore[attr-defined]
                )
                new_block = block.with_changes(body=statements)
            else:
                new_block = new_block.with_changes(footer=[*footer, *block.footer])
        return ctx.replace(block, new_block, self.fix_title, Safety.SAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``): the `else:` line goes (its
        comment stays, on a line of its own), and the body's lines lose one level where
        libcst writes their indentation anew (``textedit.line_kinds``: statements, clauses,
        lines inside brackets at their statement's indentation or deeper, comments before
        a statement at its indentation, and comments right after the body at its
        indentation); strings and lines after a backslash stay as written. `else: stmt`
        loses `else: `. Another comment, a blank line holding spaces, `\r` line ends:
        libcst."""
        source, text = ctx.source, ctx.text
        if not textedit.ends_cleanly(text):
            raise textedit.CstNeeded
        place = textedit.statement_place(ctx.statements, source, finding, "loop")
        loop = place.node
        if not isinstance(loop, (ast.For, ast.AsyncFor, ast.While)) or not loop.orelse:
            raise textedit.CstNeeded
        number, column = finding.range.start.line, finding.range.start.column
        line = source.line(number)
        outer = textedit.indentation(source.line(loop.lineno))
        header = _ELSE.match(line, column)
        if header is None or line[:column] != outer:
            raise textedit.CstNeeded
        first = loop.orelse[0]
        low = source.offset(number, 0)
        if first.lineno == number:  # `else: stmt`
            if source.char_column(number, first.col_offset) != header.end():
                raise textedit.CstNeeded
            return textedit.replacement(
                source, low + column, low + header.end(), "", self.fix_title, Safety.SAFE, finding
            )
        comment = line[header.end() :]
        if comment and not comment.startswith("#"):
            raise textedit.CstNeeded
        inner = textedit.indentation(source.line(first.lineno))
        if not inner.startswith(outer) or inner == outer:
            raise textedit.CstNeeded
        last = loop.orelse[-1].end_lineno
        assert last is not None
        lines = [f"{outer}{comment}\n"] if comment else []
        kinds = textedit.line_kinds(source, number + 1, last)
        for at in range(number + 1, last + 1):
            lines.append(_dedented(source, at, kinds, inner, outer, last))
        at = last + 1  # comments right after the body at its indentation: libcst's footer
        while at <= len(source.line_starts) and _comment_at(source.line(at), inner):
            lines.append(f"{outer}{source.line(at)[len(inner) :]}\n")
            at += 1
        high = source.offset(at, 0)
        while at <= len(source.line_starts) and textedit.blank(source.line(at)):
            at += 1
        rest = source.line(at)
        if rest.lstrip(" \t").startswith("#") and rest.startswith(inner):
            raise textedit.CstNeeded  # a later comment that libcst's footer may take
        return textedit.replacement(source, low, high, "".join(lines), self.fix_title, Safety.SAFE, finding)


_ELSE = re.compile(r"else[ \t]*:[ \t]*")


def _comment_at(line: str, indent: str) -> bool:
    """Whether ``line`` is a comment indented by exactly ``indent``."""
    return line.startswith(indent) and line[len(indent) : len(indent) + 1] == "#"


def _dedented(
    source: SourceText, at: int, kinds: dict[int, textedit.LineKind], inner: str, outer: str, last: int
) -> str:
    """Line ``at`` of the else body (``kinds``: ``textedit.line_kinds``) as libcst writes it
    one level out, or ``CstNeeded``."""
    line = source.line(at)
    if kinds[at].kind == "comment":
        following = next((n for n in range(at + 1, last + 1) if kinds[n].kind == "code"), None)
        if following is None or textedit.indentation(source.line(following)) != textedit.indentation(line):
            raise textedit.CstNeeded  # maybe the footer of an inner block
    return textedit.reindented(line, kinds[at], inner, outer) + "\n"


def _breaks(loop: ast.For | ast.AsyncFor | ast.While) -> bool:
    """Whether a `break` in the loop's body leaves this loop (not a nested one)."""
    stack: list[ast.AST] = list(loop.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Break):
            return True
        if isinstance(node, SCOPE_NODES):
            continue
        if isinstance(node, LOOP_NODES):
            stack.extend(node.orelse)  # a nested loop's body breaks out of that loop only
            continue
        for field in ("body", "orelse", "finalbody", "handlers", "cases"):
            stack.extend(getattr(node, field, ()))
    return False


def _else_keyword(loop: ast.For | ast.AsyncFor | ast.While, ctx: AnalysisContext) -> tuple[int, int]:
    """Where the loop's `else` keyword is (ast has no node for it): the last line before
    the else body that starts with `else` at the loop's column."""
    column = ctx.source.char_column(loop.lineno, loop.col_offset)
    first = loop.orelse[0]
    for line_no in range(first.lineno, loop.lineno, -1):
        text = ctx.source.line(line_no)
        if text[column : column + 4] == "else" and not text[:column].strip():
            rest = text[column + 4 :].lstrip()
            if rest.startswith(":"):
                return line_no, column
    return loop.lineno, column
