"""B015: a comparison used as a statement, whose result is thrown away."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import NO_HITS


class UselessComparison(Rule):
    code = "B015"
    name = "useless-comparison"
    severity = Severity.WARNING
    summary = "pointless comparison: the result is not used"
    explanation = (
        "A comparison on its own line computes a bool and drops it. Usually an `assert` or an "
        "`if` was meant (a common slip in tests: `result == expected`), or `==` was typed for "
        "`=`. No automatic fix: which was meant is a guess."
    )
    node_types = (ast.Expr,)
    visit_values = frozenset({ast.Compare})  # ``visit`` reports a comparison statement only
    valid = (
        Valid("assert x == 1\n"),
        Valid("ok = x == 1\n"),
        Valid("if x == 1:\n    pass\n"),
    )
    invalid = (
        Invalid(
            "def test():\n    result == 3\n",
            at="2:4-2:15",
            message="pointless comparison: did you mean `assert` or an assignment?",
        ),
        Invalid(
            "x == 1  # assigned?\n",
            at="1:0-1:6",
            message="pointless comparison: did you mean `assert` or an assignment?",
        ),
        Invalid(
            "a < b < c\n",
            at="1:0-1:9",
            message="pointless comparison: did you mean `assert` or an assignment?",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        value = node.value  # type: ignore[attr-defined]
        if not isinstance(value, ast.Compare):
            return NO_HITS  # most expression statements (calls): no generator
        return iter((ctx.hit(value, "pointless comparison: did you mean `assert` or an assignment?"),))
