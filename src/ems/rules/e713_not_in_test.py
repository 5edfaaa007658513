"""E713: `not x in y` instead of `x not in y`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, is_negated_comparison, negated_comparison


class NotInTest(Rule):
    code = "E713"
    name = "not-in-test"
    severity = Severity.WARNING
    summary = "test for membership should be `x not in y`"
    explanation = (
        "`not x in y` parses as `not (x in y)`, which is right but reads as `(not x) in y`. "
        "`x not in y` is the operator Python has for this, and says what it means."
    )
    fix_safety = Safety.SAFE
    fix_title = "Rewrite as `x not in y`"
    local_fix = True
    node_types = (ast.UnaryOp,)
    valid = (
        Valid("if x not in y:\n    pass\n"),
        Valid("if not x:\n    pass\n"),
        Valid("if (not x) in y:\n    pass\n"),
        Valid("if not a in b in c:\n    pass\n"),
    )
    invalid = (
        Invalid(
            "if not x in y:  # why\n    pass\n",
            fixed="if x not in y:  # why\n    pass\n",
            at="1:3-1:13",
            message="test for membership should be `not in`",
        ),
        Invalid(
            "z = a and not (x in y)\n",
            fixed="z = a and (x not in y)\n",
            at="1:10-1:22",
            message="test for membership should be `not in`",
        ),
        Invalid(
            "z = not é.get('中') in y\n",
            fixed="z = é.get('中') not in y\n",
            at="1:4-1:23",
            message="test for membership should be `not in`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Most unary operations are no `not` of a comparison: told apart inline first.
        if node.operand.__class__ is not ast.Compare or not is_negated_comparison(node, ast.In):  # type: ignore[attr-defined]
            return NO_HITS  # most unary operations: no generator
        return iter((ctx.hit(node, "test for membership should be `not in`"),))

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        return negated_comparison(finding, ctx, cst.In, cst.NotIn, self.fix_title)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line `not a in b`."""
        return textedit.negated_comparison(finding, ctx.source, ast.In, "in", "not in", self.fix_title)
