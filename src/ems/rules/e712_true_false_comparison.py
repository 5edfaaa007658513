"""E712: comparison to True or False with == or !=."""

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


class TrueFalseComparison(Rule):
    """The fix turns `== True` into `is True` (pycodestyle's first suggestion).

    Rewriting to the bare condition (`if cond:`) would be shorter, but it changes which
    values pass (`1`, `[0]`, NumPy scalars); `is True` keeps "exactly the bool" in view
    and is still unsafe, since `1 == True` holds while `1 is True` does not.
    """

    code = "E712"
    name = "true-false-comparison"
    severity = Severity.WARNING
    summary = "comparison to True/False should use `is` / `is not`, or the bare condition"
    explanation = (
        "`x == True` is true for `1` and `1.0` too, and goes through `__eq__`, which NumPy "
        "arrays and ORM columns override. Write `if x:` when any truthy value will do, or "
        "`x is True` when only the bool `True` is meant. The fix writes `is` / `is not`; it "
        "is unsafe because `1 == True` but `1 is not True`."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Replace `==`/`!=` with `is`/`is not`"
    local_fix = True
    node_types = (ast.Compare,)
    valid = (
        Valid("if x:\n    pass\n"),
        Valid("if x is True or y is not False:\n    pass\n"),
        Valid("y = x == 1\n"),
    )
    invalid = (
        Invalid(
            "if x == True:  # check\n    pass\n",
            fixed="if x is True:  # check\n    pass\n",
            unsafe=True,
            at="1:3-1:12",
            message="comparison to True should be `is` or the bare condition, not `==`",
        ),
        Invalid(
            "y = False != x\n",
            fixed="y = False is not x\n",
            unsafe=True,
            at="1:4-1:14",
            message="comparison to False should be `is not` or the bare condition, not `!=`",
        ),
        Invalid(
            "y = (a == True) or (b != False)\n",
            fixed="y = (a is True) or (b is not False)\n",
            count=2,
            unsafe=True,
            at=("1:5-1:14", "1:20-1:30"),
            message=(
                "comparison to True should be `is` or the bare condition, not `==`",
                "comparison to False should be `is not` or the bare condition, not `!=`",
            ),
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every comparison: the first tests inline, an operand `True`/`False`
        # first (rarer than `==`), without a helper call (``any_operand``, ``has_operator``).
        left = node.left  # type: ignore[attr-defined]
        if not (left.__class__ is _CONSTANT and left.value.__class__ is bool):
            for operand in node.comparators:  # type: ignore[attr-defined]
                if operand.__class__ is _CONSTANT and operand.value.__class__ is bool:
                    break
            else:
                return NO_HITS  # most comparisons: no generator
        for op in node.ops:  # type: ignore[attr-defined]
            if op.__class__ in _OPERATOR_CLASSES:
                return self._visit(node, ctx)  # type: ignore[arg-type]
        return NO_HITS

    def _visit(self, node: ast.Compare, ctx: AnalysisContext) -> Iterator[Hit]:
        for index, left, op, right in comparison_pairs(node):
            if isinstance(op, (ast.Eq, ast.NotEq)):
                constant = _bool(left) if _bool(left) is not None else _bool(right)
                if constant is not None:
                    symbol, better = ("==", "is") if isinstance(op, ast.Eq) else ("!=", "is not")
                    yield ctx.hit(
                        node,
                        f"comparison to {constant} should be `{better}` or the bare condition, "
                        f"not `{symbol}`",
                        data=(("index", str(index)),),
                    )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        swaps = ((cst.Equal, cst.Is), (cst.NotEqual, cst.IsNot))
        return swap_comparison_operator(finding, ctx, swaps, self.fix_title, Safety.UNSAFE)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line comparison."""
        return textedit.swap_operator(
            finding, ctx.source, {"==": "is", "!=": "is not"}, self.fix_title, Safety.UNSAFE
        )


def _bool(node: ast.expr) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, bool):
        return str(node.value)
    return None


def _is_bool(node: ast.expr) -> bool:
    return _bool(node) is not None
