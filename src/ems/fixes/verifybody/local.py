"""The chunk-local rules over the changed statements alone (a def, a method in a copy of
its class, import statements)."""

from __future__ import annotations

import ast
import copy

from ems.core.analyse import run_rules
from ems.core.incremental.state import Rules
from ems.core.rule import AnalysisContext, Hit, Rule
from ems.core.source import SourceText
from ems.fixes.verifybody.parts import Body, Change, Judged

_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists of a compound statement (an ``if``, a ``try``)."""
    blocks = [getattr(statement, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", ())]
    return [block for block in blocks if isinstance(block, list)]


def local_hits(
    judged: Judged,
    body: Body,
    statements: list[ast.stmt],
    change: Change,
    source: SourceText,
    path: str,
    rules: Rules,
    text: str,
    imports: list[ast.stmt],
    facts_now: dict[tuple[str, ...], object],
) -> list[tuple[type[Rule], Hit]] | None:
    """The chunk-local rules' hits on the new statements (a def, or import statements): as
    a module of their own when they are top-level ones, else as the body of a copy of their
    top-level class (whose body holds no statement that could make them unreachable); None
    when a rule errs or reports outside them."""
    parent = body.parent
    if parent is None or body.node is None:  # a top-level def, or import statements
        blocks = [judged.tree.body] if parent is None else _blocks(parent)  # type: ignore[arg-type]
        if any(isinstance(s, _TERMINATORS) for block in blocks for s in block):
            return None
        module = ast.Module(body=statements, type_ignores=[])
    elif isinstance(parent, ast.ClassDef):
        if any(isinstance(s, _TERMINATORS) for s in parent.body):
            return None
        stand_in = copy.copy(parent)
        stand_in.body = statements
        module = ast.Module(body=[stand_in], type_ignores=[])
    else:
        return None
    facts: dict = {}
    ctx = AnalysisContext(
        path=path,
        source=source,
        tree=module,
        module_text=text,
        fact_log=facts,
        bound_anywhere=judged.binds_anywhere,
        module_imports=lambda: imports,
        module_facts=dict(facts_now),  # the judged text's answers that still hold
    )
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    if errors:
        return None
    kept = [(rule, hit) for rule, hit in hits if change.new_first <= hit.line <= change.new_end]
    if parent is None and len(kept) != len(hits):
        return None
    return kept
