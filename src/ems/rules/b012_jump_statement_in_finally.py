"""B012: `return` / `break` / `continue` inside `finally`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import LOOP_NODES, NO_HITS, TRY_NODES


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
    node_types = (ast.Try, ast.TryStar)
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
        # Visits the `try` statements (a few hundred per thousand returns): a jump is
        # reported when walking up from it reaches a `finally:` block holding it before a
        # function or class (or, for `break`/`continue`, before a loop's body). So a
        # `finally:` block is walked down through its statements, not into nested scopes,
        # nor into a nested `try`'s own `finally:` (that `try` reports those).
        finalbody = node.finalbody  # type: ignore[attr-defined]
        if not finalbody:
            return NO_HITS
        found: list[ast.stmt] = []
        _jumps(finalbody, False, found)
        if not found:
            return NO_HITS
        return iter(
            [
                ctx.hit(
                    jump, f"`{_KEYWORDS[jump.__class__]}` inside `finally` swallows any exception in flight"
                )
                for jump in found
            ]
        )


_KEYWORDS: dict[type[ast.AST], str] = {ast.Return: "return", ast.Break: "break", ast.Continue: "continue"}
_SCOPES = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef})
_LOOPS = frozenset(LOOP_NODES)
_TRIES = frozenset(TRY_NODES)


def _jumps(block: list[ast.stmt], in_loop: bool, found: list[ast.stmt]) -> None:
    """The jumps in ``block`` that leave it (``in_loop``: a loop's body holds the block,
    which keeps `break`/`continue` inside), in order."""
    for statement in block:
        cls = statement.__class__
        if cls is ast.Return:
            found.append(statement)
        elif cls is ast.Break or cls is ast.Continue:
            if not in_loop:
                found.append(statement)
        elif cls in _SCOPES:
            continue
        elif cls in _LOOPS:
            _jumps(statement.body, True, found)  # type: ignore[attr-defined]
            _jumps(statement.orelse, in_loop, found)  # type: ignore[attr-defined]
        elif cls in _TRIES:
            _jumps(statement.body, in_loop, found)  # type: ignore[attr-defined]
            for handler in statement.handlers:  # type: ignore[attr-defined]
                _jumps(handler.body, in_loop, found)
            _jumps(statement.orelse, in_loop, found)  # type: ignore[attr-defined]
        elif cls is ast.Match:
            for case in statement.cases:  # type: ignore[attr-defined]
                _jumps(case.body, in_loop, found)
        else:
            for field in _BLOCK_FIELDS:
                inner = getattr(statement, field, None)
                if inner:
                    _jumps(inner, in_loop, found)


_BLOCK_FIELDS = ("body", "orelse")  # `if`, `with`: the other statements hold no block
