"""F401: a module or name is imported but never used.

The statement-removal helpers here are shared by the other scope rules' fixes
(F811, F841), which also delete whole statements or single import names.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ems.core.model import Finding, Fix, Range, Safety, Severity, Tag, TextEdit
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel


class UnusedImport(Rule):
    code = "F401"
    module_scoped = True
    name = "unused-import"
    severity = Severity.WARNING
    summary = "module or name imported but unused"
    explanation = (
        "An import that nothing reads costs start-up time, can create import cycles and "
        "misleads readers about what a module depends on. Names listed in `__all__`, "
        "`from __future__` imports and explicit re-exports written `import x as x` or "
        "`from m import y as y` are not reported. In an `__init__.py` the import may be a "
        "public re-export, so the fix there is marked unsafe: prefer adding the name to `__all__`. "
        "A name another module of the same package imports from this one (`from .compat "
        "import urlparse`, `from pkg.compat import urlparse`) is a re-export too: it is still "
        "reported (detection sees one file), but never removed, by any fix; mark it with "
        "`__all__` or `import x as x`."
    )
    tags = frozenset({Tag.UNNECESSARY})
    fix_safety = Safety.SAFE
    fix_title = "Remove unused import"
    valid = (
        Valid("import os\nprint(os.sep)\n"),
        Valid(
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pathlib import Path\n\n\ndef f(p: 'Path') -> None:\n    pass\n"
        ),
        Valid("from .impl import helper\n__all__ = ['helper']\n"),
        Valid("from .impl import helper as helper\n", path="pkg/__init__.py"),
        Valid("from __future__ import annotations\n"),
        Valid("import os.path\nos.getcwd()\n"),
        Valid("def f():\n    return json.dumps({})\n\n\nimport json\n"),
        Valid("try:\n    import tomllib\nexcept ImportError:\n    tomllib = None\nprint(tomllib)\n"),
    )
    invalid = (
        Invalid("import os\n", fixed=""),
        Invalid("import os, sys\nprint(sys.argv)\n", fixed="import sys\nprint(sys.argv)\n"),
        Invalid(
            "from a import (\n    b,  # keep b\n    c,\n)\nprint(b)\n",
            fixed="from a import (\n    b,  # keep b\n)\nprint(b)\n",
        ),
        Invalid(
            "# header comment\nimport os  # unused\nimport sys\n\nsys.exit()\n",
            fixed="# header comment\nimport sys\n\nsys.exit()\n",
        ),
        Invalid("def f():\n    import json\n", fixed="def f():\n    pass\n"),
        Invalid("import os.path as osp\nimport re; print(re)\n", fixed="import re; print(re)\n"),
        Invalid("from m import x\n", fixed="", path="pkg/__init__.py", unsafe=True),
        Invalid("import a, b\n", fixed="", count=2),
    )

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        model: ScopeModel = ctx.scopes
        unsafe = "1" if ctx.is_init_module else "0"
        for unused in model.unused_imports:
            alias = unused.binding.alias
            node = alias if alias is not None else unused.binding.source
            assert node is not None
            yield ctx.hit(
                node,
                f"`{unused.binding.full_name}` imported but unused",
                # ruff honours a noqa comment on the first line of a multi-line import
                # (the statement is the finding's parent); the line is kept for that.
                data=(
                    ("name", unused.binding.name),
                    ("unsafe", unsafe),
                    ("statement_line", str(getattr(unused.binding.source, "lineno", node.lineno))),  # type: ignore[attr-defined]
                ),
            )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        from ems.fixes.reexports import imported_from_elsewhere

        if imported_from_elsewhere(ctx.path, finding.datum("name")):
            # A re-export (`from .compat import x` in a sibling module): removing it would
            # break the package, so there is no fix at all, safe or unsafe.
            return None
        safety = Safety.UNSAFE if finding.datum("unsafe") == "1" else Safety.SAFE
        return remove_import_alias(ctx, finding, finding.range, self.fix_title, safety)


# --------------------------------------------------------------------------- shared helpers


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
    new = statement.with_changes(names=names)
    if index == len(names):
        names[-1] = _new_last(names[-1], removed, statement)
        if (
            isinstance(statement, cst.ImportFrom)
            and statement.rpar is not None
            and isinstance(names[-1].comma, cst.Comma)
        ):
            # the line break before `)` now follows the kept comma
            new = new.with_changes(
                rpar=statement.rpar.with_changes(whitespace_before=cst.SimpleWhitespace(""))
            )
        new = new.with_changes(names=names)
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
