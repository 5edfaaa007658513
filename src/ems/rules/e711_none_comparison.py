"""E711: comparison to None with == or !=."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, comparison_pairs, swap_comparison_operator

_OPERATORS = (ast.Eq, ast.NotEq)
_OPERATOR_CLASSES = frozenset(_OPERATORS)
_CONSTANT = ast.Constant


class NoneComparison(Rule):
    code = "E711"
    name = "none-comparison"
    severity = Severity.WARNING
    summary = "comparison to None should use `is` / `is not`"
    explanation = (
        "`x == None` calls `x.__eq__`, which a class may override (NumPy arrays and ORM columns "
        "do), so the comparison can return something other than a bool or give the wrong answer. "
        "`None` is a singleton: `x is None` is exact and faster."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Replace `==`/`!=` with `is`/`is not`"
    local_fix = True
    node_types = (ast.Compare,)
    valid = (
        Valid("if x is None:\n    pass\n"),
        Valid("if x is not None:\n    pass\n"),
        Valid("y = x == 0\n"),
    )
    invalid = (
        Invalid(
            "if x == None:  # check\n    pass\n",
            fixed="if x is None:  # check\n    pass\n",
            unsafe=True,
            at="1:3-1:12",
            message="comparison to None should be `is`, not `==`",
        ),
        Invalid(
            "y = None != x\n",
            fixed="y = None is not x\n",
            unsafe=True,
            at="1:4-1:13",
            message="comparison to None should be `is not`, not `!=`",
        ),
        Invalid(
            "y = a == b == None\n",
            fixed="y = a == b is None\n",
            unsafe=True,
            at="1:4-1:18",
            message="comparison to None should be `is`, not `==`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every comparison: the first tests inline, an operand `None` first
        # (rarer than `==`), without a helper call (``any_operand``, ``has_operator``).
        left = node.left  # type: ignore[attr-defined]
        if not (left.__class__ is _CONSTANT and left.value is None):
            for operand in node.comparators:  # type: ignore[attr-defined]
                if operand.__class__ is _CONSTANT and operand.value is None:
                    break
            else:
                return NO_HITS  # most comparisons: no generator
        for op in node.ops:  # type: ignore[attr-defined]
            if op.__class__ in _OPERATOR_CLASSES:
                return self._visit(node, ctx)  # type: ignore[arg-type]
        return NO_HITS

    def _visit(self, node: ast.Compare, ctx: AnalysisContext) -> Iterator[Hit]:
        for index, left, op, right in comparison_pairs(node):
            if isinstance(op, (ast.Eq, ast.NotEq)) and (_is_none(left) or _is_none(right)):
                symbol, better = ("==", "is") if isinstance(op, ast.Eq) else ("!=", "is not")
                yield ctx.hit(
                    node,
                    f"comparison to None should be `{better}`, not `{symbol}`",
                    data=(("index", str(index)),),
                )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        swaps = ((cst.Equal, cst.Is), (cst.NotEqual, cst.IsNot))
        return swap_comparison_operator(finding, ctx, swaps, self.fix_title, self.fix_safety)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line comparison."""
        return textedit.swap_operator(
            finding, ctx.source, {"==": "is", "!=": "is not"}, self.fix_title, self.fix_safety
        )


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None
