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
        "pipeline in some libraries), may have effects and are not reported; nor is a bare "
        "name (attribute) in a `try` that catches `NameError` (`AttributeError`): an "
        "existence check."
    )
    node_types = (ast.Expr,)
    # What ``_visit`` can report: a statement that is a call, a comparison (B015's) or a
    # yield is not handed over.
    visit_values = frozenset(
        {
            ast.Attribute,
            ast.Name,
            ast.Constant,
            ast.List,
            ast.Tuple,
            ast.Set,
            ast.Dict,
            ast.BoolOp,
            ast.BinOp,
            ast.UnaryOp,
        }
    )
    valid = (
        Valid('def f():\n    """Docstring."""\n    ...\n'),
        Valid("[print(x) for x in y]\n"),
        Valid("x == 1\n"),
        Valid("extract >> transform >> load\n"),
        Valid("try:\n    unicode\nexcept NameError:\n    unicode = str\n"),
        Valid("try:\n    sys.pypy_version_info\nexcept AttributeError:\n    PYPY = False\n"),
    )
    invalid = (
        Invalid(
            "obj.close  # forgot the call\n",
            at="1:0-1:9",
            message="useless attribute access: assign it, call it, or remove it",
        ),
        Invalid(
            "def f(x):\n    x\n", at="2:4-2:5", message="useless expression: `x` on its own does nothing"
        ),
        Invalid("1, -2\n", at="1:0-1:5", message="useless expression: its value is thrown away"),
        Invalid(
            "[a, b]\nNone\n",
            count=2,
            at=("1:0-1:6", "2:0-2:4"),
            message=(
                "useless expression: its value is thrown away",
                "useless expression: a constant on its own does nothing",
            ),
        ),
        Invalid(
            "try:\n    unicode\nexcept ImportError:\n    pass\n",
            at="2:4-2:11",
            message="useless expression: `unicode` on its own does nothing",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        value = node.value  # type: ignore[attr-defined]
        if isinstance(value, _NEVER_USELESS):
            return NO_HITS  # most expression statements (calls): no generator
        return self._visit(node, value, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.Expr, value: ast.expr, ctx: AnalysisContext) -> Iterator[Hit]:
        if isinstance(value, ast.Attribute):
            if not _probed(node, ctx, "AttributeError"):
                yield ctx.hit(value, "useless attribute access: assign it, call it, or remove it")
        elif isinstance(value, ast.Name):
            if not _probed(node, ctx, "NameError"):
                yield ctx.hit(value, f"useless expression: `{value.id}` on its own does nothing")
        elif isinstance(value, ast.Constant):
            if not isinstance(value.value, str) and value.value is not Ellipsis:
                yield ctx.hit(value, "useless expression: a constant on its own does nothing")
        elif (
            isinstance(value, (ast.List, ast.Tuple, ast.Set, ast.Dict, ast.BoolOp))
            and not any(isinstance(n, _EFFECTS) for n in ast.walk(value))
        ) or (isinstance(value, (ast.BinOp, ast.UnaryOp)) and _constant_arithmetic(value)):
            yield ctx.hit(value, "useless expression: its value is thrown away")


def _probed(statement: ast.stmt, ctx: AnalysisContext, error: str) -> bool:
    """Whether the statement is a deliberate existence check: inside the body of a `try`
    whose handlers catch ``error`` (`try: unicode` / `except NameError:`)."""
    child: ast.AST = statement
    for parent in reversed(ctx.ancestors):
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            return False
        if (
            isinstance(parent, (ast.Try, ast.TryStar))
            and child in parent.body
            and any(_catches(handler.type, error) for handler in parent.handlers)
        ):
            return True
        child = parent
    return False


def _catches(kind: ast.expr | None, error: str) -> bool:
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(
        (isinstance(n, ast.Name) and n.id == error) or (isinstance(n, ast.Attribute) and n.attr == error)
        for n in names
    )


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
