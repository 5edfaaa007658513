"""XPL001: a ``print()`` call left in library code (an example third-party rule)."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs


class NoPrint(Rule):
    code = "XPL001"
    name = "print-in-library"
    severity = Severity.INFO
    summary = "`print()` call in library code"
    explanation = (
        "Libraries should log through `logging` so applications decide where output goes; a "
        "stray `print` writes to the user's stdout, which can break programs that parse it."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Remove the print() call"
    node_types = (ast.Expr,)
    valid = (
        Valid("import logging\nlogging.getLogger(__name__).info('x')\n"),
        Valid("def print_report():\n    pass\n"),
    )
    invalid = (
        Invalid(
            "def f():\n    print('debug')  # temp\n    return 1\n",
            fixed="def f():\n    return 1\n",
            unsafe=True,
            at="2:4-2:18",
            message="`print()` call in library code; use logging",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.Expr)
        call = node.value
        if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
            yield ctx.hit(node, "`print()` call in library code; use logging")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        statement = ctx.find(cst.SimpleStatementLine, finding.range)
        if statement is None or len(statement.body) != 1:
            return None
        return ctx.replace(statement, cst.RemoveFromParent(), self.fix_title, self.fix_safety, finding)
