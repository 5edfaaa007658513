"""E711: comparison to None with == or !=."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs


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
    node_types = (ast.Compare,)
    valid = (
        Valid("if x is None:\n    pass\n"),
        Valid("if x is not None:\n    pass\n"),
        Valid("y = x == 0\n"),
    )
    invalid = (
        Invalid(
            "if x == None:  # check\n    pass\n", fixed="if x is None:  # check\n    pass\n", unsafe=True
        ),
        Invalid("y = None != x\n", fixed="y = None is not x\n", unsafe=True),
        Invalid("y = a == b == None\n", fixed="y = a == b is None\n", unsafe=True),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.Compare)
        left = node.left
        for index, (op, right) in enumerate(zip(node.ops, node.comparators, strict=True)):
            if isinstance(op, (ast.Eq, ast.NotEq)) and (_is_none(left) or _is_none(right)):
                symbol = "==" if isinstance(op, ast.Eq) else "!="
                better = "is" if isinstance(op, ast.Eq) else "is not"
                yield ctx.hit(
                    node,
                    f"comparison to None should be `{better}`, not `{symbol}`",
                    data=(("index", str(index)),),
                )
            left = right

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        compare = ctx.find(cst.Comparison, finding.range)
        if compare is None:
            return None
        index = int(finding.datum("index", "0"))
        targets = list(compare.comparisons)
        if index >= len(targets):
            return None
        target = targets[index]
        if isinstance(target.operator, cst.Equal):
            op: cst.BaseCompOp = cst.Is(
                whitespace_before=target.operator.whitespace_before,
                whitespace_after=target.operator.whitespace_after,
            )
        elif isinstance(target.operator, cst.NotEqual):
            op = cst.IsNot(
                whitespace_before=target.operator.whitespace_before,
                whitespace_after=target.operator.whitespace_after,
            )
        else:
            return None
        targets[index] = target.with_changes(operator=op)
        return ctx.replace(
            compare, compare.with_changes(comparisons=targets), self.fix_title, self.fix_safety, finding
        )


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None
