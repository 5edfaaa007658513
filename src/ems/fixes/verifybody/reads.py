"""What a function reads from outside its body (its header, its stub's replayed reads):
the module-scoped rules judge a changed body alike when these are alike."""

from __future__ import annotations

import ast
from collections import Counter

from ems.core.incremental.state import StubbedBody
from ems.core.scope import BUILTINS
from ems.fixes.verifybody.parts import Judged


def header_reads(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Name]:
    """The names a def's header reads where the def stands (decorators, defaults,
    annotations, return annotation), in a fixed order."""
    args = node.args
    parts: list[ast.AST | None] = [*node.decorator_list, *args.defaults, *args.kw_defaults, node.returns]
    every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    parts += [a.annotation for a in every if a is not None]
    return [n for part in parts if part is not None for n in ast.walk(part) if isinstance(n, ast.Name)]


def reads(slot: StubbedBody) -> list[ast.Name] | None:
    """The names a body's stub replays (what it reads from outside), in order."""
    names = [statement.value for statement in slot.reads if isinstance(statement, ast.Expr)]
    if len(names) != len(slot.reads) or not all(isinstance(n, ast.Name) for n in names):
        return None
    return names  # type: ignore[return-value]


def free_differences(judged: Judged, old: list[ast.Name], new: list[ast.Name]) -> frozenset[str] | None:
    """The names the two bodies do not read alike, when all of them are builtins the
    module binds nowhere (``Judged.free``: they judge the same outside); else None."""
    before, after = Counter(r.id for r in old), Counter(r.id for r in new)
    differing = frozenset((before - after) + (after - before))
    if all(name in BUILTINS for name in differing) and all(judged.free(name) for name in differing):
        return differing
    return None
