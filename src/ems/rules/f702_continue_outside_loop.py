"""F702: `continue` outside a loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import inside_loop


class ContinueOutsideLoop(Rule):
    code = "F702"
    guards_fixes = True  # a fix that leaves it outside its block broke the code (SyntaxError)
    name = "continue-outside-loop"
    severity = Severity.ERROR
    summary = "`continue` not properly in loop"
    explanation = (
        "`continue` only makes sense inside a `for` or `while` body. Outside one, the module "
        "parses but Python refuses to compile it (`SyntaxError: 'continue' not properly in "
        "loop`), so the file cannot be imported. A loop in an enclosing function does not "
        "count, nor does the loop whose `else:` clause holds the `continue`."
    )
    node_types = (ast.Continue,)
    valid = (
        Valid("for x in y:\n    continue\n"),
        Valid("while True:\n    try:\n        pass\n    finally:\n        continue\n"),
        Valid("async def f():\n    async for x in y:\n        if x:\n            continue\n"),
    )
    invalid = (
        Invalid("continue\n", at="1:0-1:8", message="`continue` not properly in loop"),
        Invalid(
            "while x:\n    pass\nelse:\n    continue\n",
            at="4:4-4:12",
            message="`continue` not properly in loop",
        ),
        Invalid(
            "for x in y:\n    f = lambda: 0\n    def g():\n        if x:\n            continue\n",
            at="5:12-5:20",
            message="`continue` not properly in loop",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if not inside_loop(node, ctx):
            yield ctx.hit(node, "`continue` not properly in loop")
