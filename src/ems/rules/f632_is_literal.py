"""F632: `is` / `is not` comparison with a str, bytes, number or tuple literal."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, comparison_pairs, has_operator, swap_comparison_operator

_OPERATORS = (ast.Is, ast.IsNot)


class IsLiteral(Rule):
    code = "F632"
    name = "is-literal"
    severity = Severity.WARNING
    summary = "use `==` / `!=` to compare with a str, bytes, number or tuple literal"
    explanation = (
        "`is` compares object identity. Whether two equal strings, numbers or tuples are the "
        "same object is an interpreter detail (interning, constant folding, small-int caching), "
        "so `x is 'abc'` may be true in one run and false in another; CPython even emits a "
        "SyntaxWarning for it. Equality (`==`) is what such code means."
    )
    fix_safety = Safety.SAFE
    fix_title = "Replace `is`/`is not` with `==`/`!=`"
    local_fix = True
    node_types = (ast.Compare,)
    valid = (
        Valid("if x is None or y is True:\n    pass\n"),
        Valid("if x == 'abc':\n    pass\n"),
        Valid("if x is ...:\n    pass\n"),
        Valid("if x is (a, b):\n    pass\n"),
    )
    invalid = (
        Invalid(
            "if x is 'abc':  # note\n    pass\n",
            fixed="if x == 'abc':  # note\n    pass\n",
            at="1:3-1:13",
            message="use `==` to compare with a literal, not `is`",
        ),
        Invalid(
            "y = 1 is not x\n",
            fixed="y = 1 != x\n",
            at="1:4-1:14",
            message="use `!=` to compare with a literal, not `is not`",
        ),
        Invalid(
            "y = x is () or x is b''\n",
            fixed="y = x == () or x == b''\n",
            count=2,
            at=("1:4-1:11", "1:15-1:23"),
            message=(
                "use `==` to compare with a literal, not `is`",
                "use `==` to compare with a literal, not `is`",
            ),
        ),
        Invalid(
            "y = a < 0 is -1\n",
            fixed="y = a < 0 == -1\n",
            at="1:4-1:15",
            message="use `==` to compare with a literal, not `is`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if not has_operator(node, _OPERATORS):  # type: ignore[arg-type]
            return NO_HITS  # most comparisons: no generator
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.Compare, ctx: AnalysisContext) -> Iterator[Hit]:
        for index, left, op, right in comparison_pairs(node):
            if isinstance(op, (ast.Is, ast.IsNot)) and (_literal(left) or _literal(right)):
                symbol, better = ("is", "==") if isinstance(op, ast.Is) else ("is not", "!=")
                yield ctx.hit(
                    node,
                    f"use `{better}` to compare with a literal, not `{symbol}`",
                    data=(("index", str(index)),),
                )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        swaps = ((cst.Is, cst.Equal), (cst.IsNot, cst.NotEqual))
        return swap_comparison_operator(finding, ctx, swaps, self.fix_title, Safety.SAFE)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line comparison."""
        swaps = {"is": "==", "is not": "!="}
        return textedit.swap_operator(finding, ctx.source, swaps, self.fix_title, Safety.SAFE)


def _literal(node: ast.expr) -> bool:
    """A constant that is not a singleton (None, True, False, ...), or a tuple of constants."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand  # `-1` is a literal too
    if isinstance(node, ast.Constant):
        return not isinstance(node.value, (bool, type(None), type(Ellipsis)))
    return _tuple_of_constants(node)


def _tuple_of_constants(node: ast.expr) -> bool:
    return isinstance(node, ast.Tuple) and all(
        isinstance(e, ast.Constant) or _tuple_of_constants(e) for e in node.elts
    )
