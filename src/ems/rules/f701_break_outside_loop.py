"""F701: `break` outside a loop."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import inside_loop


class BreakOutsideLoop(Rule):
    code = "F701"
    guards_fixes = True  # a fix that leaves it outside its block broke the code (SyntaxError)
    name = "break-outside-loop"
    severity = Severity.ERROR
    summary = "`break` outside loop"
    explanation = (
        "`break` only makes sense inside a `for` or `while` body. Outside one, the module "
        "parses but Python refuses to compile it (`SyntaxError: 'break' outside loop`), so "
        "the file cannot be imported. A loop in an enclosing function does not count, nor "
        "does the loop whose `else:` clause holds the `break`."
    )
    node_types = (ast.Break,)
    valid = (
        Valid("for x in y:\n    break\n"),
        Valid("while True:\n    if x:\n        break\n"),
        Valid("for x in y:\n    for z in x:\n        pass\n    else:\n        break\n"),
    )
    invalid = (
        Invalid("break\n", at="1:0-1:5", message="`break` outside loop"),
        Invalid("for x in y:\n    pass\nelse:\n    break\n", at="4:4-4:9", message="`break` outside loop"),
        Invalid("for x in y:\n    def f():\n        break\n", at="3:8-3:13", message="`break` outside loop"),
        Invalid("while True:\n    class A:\n        break\n", at="3:8-3:13", message="`break` outside loop"),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if not inside_loop(node, ctx):
            yield ctx.hit(node, "`break` outside loop")
