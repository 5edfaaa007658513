"""Fix helpers that delete statements and import names, shared by rules' fixes
(F401 unused imports, F811 redefinitions, F841 unused variables)."""

from __future__ import annotations

from ems.core.model import Finding, Fix, Range, Safety, TextEdit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs


def remove_import_alias(
    ctx: FixContext, finding: Finding, at: Range, title: str, safety: Safety
) -> Fix | None:
    """Drop the import name at ``at``; drop the statement when it was the last name."""
    alias = ctx.find(cst.ImportAlias, at)
    if alias is None:
        return None
    statement = ctx.parents.get(alias)
    if not isinstance(statement, (cst.Import, cst.ImportFrom)) or isinstance(statement.names, cst.ImportStar):
        return None
    names = list(statement.names)
    if len(names) == 1:
        return remove_statement(ctx, statement, finding, title, safety)
    index = next(i for i, n in enumerate(names) if n is alias)
    removed = names.pop(index)
    # The new last name is fixed up before the statement is rebuilt: libcst refuses an
    # ``import a,`` (a trailing comma) even transiently (``import os, os`` raised here).
    changes: dict[str, object] = {}
    if index == len(names):
        names[-1] = _new_last(names[-1], removed, statement)
        if (
            isinstance(statement, cst.ImportFrom)
            and statement.rpar is not None
            and isinstance(names[-1].comma, cst.Comma)
        ):
            # the line break before `)` now follows the kept comma
            changes["rpar"] = statement.rpar.with_changes(whitespace_before=cst.SimpleWhitespace(""))
    new = statement.with_changes(names=names, **changes)
    return ctx.replace(statement, new, title, safety, finding)


def _new_last(
    last: cst.ImportAlias, removed: cst.ImportAlias, statement: cst.Import | cst.ImportFrom
) -> cst.ImportAlias:
    """The name that becomes last: without parentheses it loses its comma; inside them
    it keeps the comma (and a comment after it) but takes the line break before ``)``."""
    if not (isinstance(statement, cst.ImportFrom) and statement.rpar is not None):
        return last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    comma = last.comma
    if not isinstance(comma, cst.Comma):
        return last
    if isinstance(removed.comma, cst.Comma):
        closing = removed.comma.whitespace_after
    else:
        closing = statement.rpar.whitespace_before
    mine = comma.whitespace_after
    if isinstance(mine, cst.ParenthesizedWhitespace):
        if isinstance(closing, cst.ParenthesizedWhitespace):
            mine = mine.with_changes(indent=closing.indent, last_line=closing.last_line)
        else:
            mine = mine.with_changes(indent=True, last_line=cst.SimpleWhitespace(""))
    else:
        mine = closing
    return last.with_changes(comma=comma.with_changes(whitespace_after=mine))


def remove_statement(
    ctx: FixContext, small: cst.BaseSmallStatement, finding: Finding, title: str, safety: Safety
) -> Fix | None:
    """Delete one small statement, keeping comments on other lines.

    A statement sharing its line (``a; b``) is cut out of the line; the last statement
    of an indented block becomes ``pass``; otherwise the whole line goes.
    """
    line = ctx.parents.get(small)
    if isinstance(line, (cst.SimpleStatementLine, cst.SimpleStatementSuite)) and len(line.body) > 1:
        body = [s for s in line.body if s is not small]
        if line.body[-1] is small:
            body[-1] = body[-1].with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
        return ctx.replace(line, line.with_changes(body=body), title, safety, finding)
    if isinstance(line, cst.SimpleStatementSuite):
        return ctx.replace(small, cst.Pass(), title, safety, finding)
    if not isinstance(line, cst.SimpleStatementLine):
        return None
    block = ctx.parents.get(line)
    if isinstance(block, cst.IndentedBlock) and len(block.body) == 1:
        return ctx.replace(small, cst.Pass(), title, safety, finding)
    return remove_lines(ctx, line, finding, title, safety)


def remove_lines(ctx: FixContext, node: cst.CSTNode, finding: Finding, title: str, safety: Safety) -> Fix:
    """Delete the full lines ``node`` spans, line breaks included."""
    span = ctx.range_of(node)
    edit = TextEdit(Range.of(span.start.line, 0, span.end.line + 1, 0), "")
    return Fix(title, safety, (edit,), finding.code)
