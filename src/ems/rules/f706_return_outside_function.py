"""F706: `return` outside a function."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import FUNCTION_NODES, NO_HITS, parent_getter

_FUNCTIONS = frozenset(FUNCTION_NODES)


class ReturnOutsideFunction(Rule):
    code = "F706"
    guards_fixes = True  # a fix that leaves it outside its block broke the code (SyntaxError)
    name = "return-outside-function"
    severity = Severity.ERROR
    summary = "`return` outside function"
    explanation = (
        "`return` at module level or directly in a class body parses, but Python refuses to "
        "compile it (`SyntaxError: 'return' outside function`), so the module cannot be "
        "imported. Usually the statement lost its indentation or its `def` line."
    )
    node_types = (ast.Return,)
    outside_functions_only = True
    valid = (
        Valid("def f():\n    return 1\n"),
        Valid("class A:\n    def f(self):\n        if self:\n            return 1\n"),
        Valid("async def f():\n    for x in y:\n        return x\n"),
    )
    invalid = (
        Invalid("return 1\n", at="1:0-1:8", message="`return` outside function"),
        Invalid("class A:\n    return\n", at="2:4-2:10", message="`return` outside function"),
        Invalid(
            "def f():\n    class A:\n        if x:\n            return 1\n",
            at="4:12-4:20",
            message="`return` outside function",
        ),
        Invalid(
            "for x in y:\n    with z:\n        return x\n", at="3:8-3:16", message="`return` outside function"
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every `return` when another rule visits them all (B012): a plain loop
        # up the parents, no generator.
        parent_of = parent_getter(node, ctx)
        parent = parent_of(node)
        while parent is not None:
            cls = parent.__class__
            if cls in _FUNCTIONS:
                return NO_HITS  # nearly every `return`: no generator
            if cls is ast.ClassDef:
                break
            parent = parent_of(parent)
        return iter((ctx.hit(node, "`return` outside function"),))
