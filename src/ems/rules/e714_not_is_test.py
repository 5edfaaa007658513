"""E714: `not x is y` instead of `x is not y`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, is_negated_comparison, negated_comparison


class NotIsTest(Rule):
    code = "E714"
    name = "not-is-test"
    severity = Severity.WARNING
    summary = "test for object identity should be `x is not y`"
    explanation = (
        "`not x is y` parses as `not (x is y)`, which is right but reads as `(not x) is y`. "
        "`x is not y` is the operator Python has for this, and says what it means."
    )
    fix_safety = Safety.SAFE
    fix_title = "Rewrite as `x is not y`"
    local_fix = True
    node_types = (ast.UnaryOp,)
    valid = (
        Valid("if x is not None:\n    pass\n"),
        Valid("if not x:\n    pass\n"),
        Valid("if (not x) is y:\n    pass\n"),
    )
    invalid = (
        Invalid(
            "if not x is None:  # why\n    pass\n",
            fixed="if x is not None:  # why\n    pass\n",
            at="1:3-1:16",
            message="test for object identity should be `is not`",
        ),
        Invalid(
            "z = a or not (x is y)\n",
            fixed="z = a or (x is not y)\n",
            at="1:9-1:21",
            message="test for object identity should be `is not`",
        ),
        Invalid(
            "assert not type(x) is int\n",
            fixed="assert type(x) is not int\n",
            at="1:7-1:25",
            message="test for object identity should be `is not`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Most unary operations are no `not` of a comparison: told apart inline first.
        if node.operand.__class__ is not ast.Compare or not is_negated_comparison(node, ast.Is):  # type: ignore[attr-defined]
            return NO_HITS  # most unary operations: no generator
        return iter((ctx.hit(node, "test for object identity should be `is not`"),))

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        return negated_comparison(finding, ctx, cst.Is, cst.IsNot, self.fix_title)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line `not a is b`."""
        return textedit.negated_comparison(finding, ctx.source, ast.Is, "is", "is not", self.fix_title)
