"""B018: an expression statement that does nothing."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import NO_HITS

_EFFECTS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr, ast.Subscript)
# Expression statements never reported (none of the kinds tested below).
_NEVER_USELESS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.Compare)


class UselessExpression(Rule):
    code = "B018"
    name = "useless-expression"
    severity = Severity.WARNING
    summary = "useless expression: its value is computed and thrown away"
    explanation = (
        "A bare name, attribute, number or container literal on its own line does nothing "
        "(at most it raises NameError/AttributeError). It is usually left over from editing, "
        "or a forgotten `return`, assignment or call (`obj.close` instead of `obj.close()`). "
        "Strings (docstrings) and `...` are not reported; comparisons are B015; expressions "
        "containing calls, subscripts or `await`, and operators on names (`a >> b` builds a "
        "pipeline in some libraries), may have effects and are not reported."
    )
    node_types = (ast.Expr,)
    valid = (
        Valid('def f():\n    """Docstring."""\n    ...\n'),
        Valid("[print(x) for x in y]\n"),
        Valid("x == 1\n"),
        Valid("extract >> transform >> load\n"),
    )
    invalid = (
        Invalid("obj.close  # forgot the call\n"),
        Invalid("def f(x):\n    x\n"),
        Invalid("1, -2\n"),
        Invalid("[a, b]\nNone\n", count=2),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, _NEVER_USELESS):
            return NO_HITS  # most expression statements (calls): no generator
        return self._visit(value, ctx)

    def _visit(self, value: ast.expr, ctx: AnalysisContext) -> Iterator[Hit]:
        if isinstance(value, ast.Attribute):
            yield ctx.hit(value, "useless attribute access: assign it, call it, or remove it")
        elif isinstance(value, ast.Name):
            yield ctx.hit(value, f"useless expression: `{value.id}` on its own does nothing")
        elif isinstance(value, ast.Constant):
            if not isinstance(value.value, str) and value.value is not Ellipsis:
                yield ctx.hit(value, "useless expression: a constant on its own does nothing")
        elif (
            isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BoolOp))
            and not any(isinstance(n, _EFFECTS) for n in ast.walk(value))
        ) or (isinstance(value, (ast.BinOp, ast.UnaryOp)) and _constant_arithmetic(value)):
            yield ctx.hit(value, "useless expression: its value is thrown away")


def _constant_arithmetic(node: ast.expr) -> bool:
    """`1 + 2`, `-1`: operators on literals only (`a >> b` may be an overloaded DSL).

    Iterative: a 900-term `1 + 1 + ...` is valid Python and would overflow a recursion.
    """
    stack: list[ast.expr] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.BinOp):
            stack.extend((current.left, current.right))
        elif isinstance(current, ast.UnaryOp):
            stack.append(current.operand)
        elif not isinstance(current, ast.Constant):
            return False
    return True
