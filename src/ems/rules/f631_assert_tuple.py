"""F631: `assert` on a non-empty tuple, which is always true."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid


class AssertTuple(Rule):
    code = "F631"
    name = "assert-tuple"
    severity = Severity.WARNING
    summary = "assertion is always true: it tests a non-empty tuple"
    explanation = (
        "`assert (x, 'message')` asserts a two-element tuple, which is always truthy, so the "
        "check can never fail. The parentheses were meant for the whole statement: write "
        "`assert x, 'message'`. No automatic fix: the intended split is a guess."
    )
    node_types = (ast.Assert,)
    valid = (
        Valid("assert x, 'message'\n"),
        Valid("assert (x)\n"),
        Valid("assert ()\n"),
    )
    invalid = (
        Invalid(
            "assert (x, 'message')\n",
            at="1:0-1:21",
            message="assertion is always true: it tests a non-empty tuple",
        ),
        Invalid(
            "assert (x,)\n", at="1:0-1:11", message="assertion is always true: it tests a non-empty tuple"
        ),
        Invalid(
            "def f(a, b):\n    assert (a == b, f'{a} != {b}'), 'outer'\n",
            at="2:4-2:43",
            message="assertion is always true: it tests a non-empty tuple",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.Assert)
        if isinstance(node.test, ast.Tuple) and node.test.elts:
            yield ctx.hit(node, "assertion is always true: it tests a non-empty tuple")
