"""B012: `return` / `break` / `continue` inside `finally`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import LOOP_NODES, NO_HITS, SCOPE_NODES, TRY_NODES, contains, parent_getter

_SCOPES, _LOOPS, _TRIES = frozenset(SCOPE_NODES), frozenset(LOOP_NODES), frozenset(TRY_NODES)


class JumpStatementInFinally(Rule):
    code = "B012"
    name = "jump-statement-in-finally"
    severity = Severity.WARNING
    summary = "`return`/`break`/`continue` in `finally` swallows the exception in flight"
    explanation = (
        "When the `try` body raises, leaving the `finally` block with `return`, `break` or "
        "`continue` discards that exception without a trace (and a `return` there also "
        "overrides the body's own return value). Python 3.14 warns about it (PEP 765). A loop "
        "or function nested inside the `finally` block is fine: its jumps stay inside."
    )
    node_types = (ast.Return, ast.Break, ast.Continue)
    valid = (
        Valid("def f():\n    try:\n        return 1\n    finally:\n        cleanup()\n"),
        Valid("try:\n    pass\nfinally:\n    for x in y:\n        if x:\n            break\n"),
        Valid("try:\n    pass\nfinally:\n    def g():\n        return 1\n"),
    )
    invalid = (
        Invalid(
            "def f():\n    try:\n        return work()\n    finally:\n        return None\n",
            at="5:8-5:19",
            message="`return` inside `finally` swallows any exception in flight",
        ),
        Invalid(
            "for x in y:\n    try:\n        work(x)\n    finally:\n        continue\n",
            at="5:8-5:16",
            message="`continue` inside `finally` swallows any exception in flight",
        ),
        Invalid(
            "while x:\n    try:\n        pass\n    finally:\n        if done:\n            break\n",
            at="6:12-6:17",
            message="`break` inside `finally` swallows any exception in flight",
        ),
        Invalid(
            "def f():\n    try:\n        pass\n    finally:\n        for x in y:\n            return x\n",
            at="6:12-6:20",
            message="`return` inside `finally` swallows any exception in flight",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every return/break/continue: a plain loop up the ancestors (no
        # generators); almost all stop at the enclosing function without a hit.
        returning = node.__class__ is ast.Return
        child = node
        parent_of = parent_getter(node, ctx)
        parent = parent_of(node)
        while parent is not None:
            cls = parent.__class__
            if cls in _SCOPES:
                return NO_HITS
            if not returning and cls in _LOOPS and not contains(parent.orelse, child):  # type: ignore[attr-defined]
                return NO_HITS
            if cls in _TRIES and contains(parent.finalbody, child):  # type: ignore[attr-defined]
                keyword = "return" if returning else "break" if isinstance(node, ast.Break) else "continue"
                return iter(
                    (ctx.hit(node, f"`{keyword}` inside `finally` swallows any exception in flight"),)
                )
            child = parent
            parent = parent_of(parent)
        return NO_HITS
