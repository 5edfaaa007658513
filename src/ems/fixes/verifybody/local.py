"""The chunk-local rules over the changed statements alone (a def, a method in a copy of
its class, import statements), or over the top-level statement that holds a deeper def."""

from __future__ import annotations

import ast
import copy
from collections import Counter

from ems.core.analyse import run_rules
from ems.core.incremental.state import Rules
from ems.core.rule import AnalysisContext, FactEntry, FactKey, Hit, Rule
from ems.core.source import SourceText
from ems.fixes.verifybody.parts import Body, Change, Judged, parse_at

_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists of a compound statement (an ``if``, a ``try``)."""
    blocks = [getattr(statement, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", ())]
    return [block for block in blocks if isinstance(block, list)]


def local_runs(judged: Judged, body: Body) -> bool:
    """Whether ``local_hits`` can run over a new def at ``body``'s place (a top-level def,
    or a method of a top-level class): no statement beside it may make it unreachable."""
    parent = body.parent
    if parent is None:
        block = judged.tree.body
    elif isinstance(parent, ast.ClassDef):
        block = parent.body
    else:
        return False
    return not any(isinstance(s, _TERMINATORS) for s in block)


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
    asked: dict[FactKey, FactEntry] | None = None,
) -> list[tuple[type[Rule], Hit]] | None:
    """The chunk-local rules' hits on the new statements (a def, or import statements): as
    a module of their own when they are top-level ones, else as the body of a copy of their
    top-level class (whose body holds no statement that could make them unreachable); None
    when a rule errs or reports outside them. ``asked``: where the facts the rules asked of
    the module go."""
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
    facts: dict[FactKey, FactEntry] = {} if asked is None else asked
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


def local_hits_in_chunk(
    judged: Judged,
    change: Change,
    changes: list[Change],
    new: list[str],
    source: SourceText,
    path: str,
    rules: Rules,
    text: str,
    imports: list[ast.stmt],
    facts_now: dict[tuple[str, ...], object],
    scoped_codes: frozenset[str],
) -> list[tuple[type[Rule], Hit]] | None:
    """The chunk-local rules' hits on a changed def nested deeper than a method of a
    top-level class (a def in a top-level ``if``, a method of a nested class), or on the
    ``pass`` that took the place of a block's only imports: they run over
    the whole top-level statement that holds it, parsed from the fixed text (the unit whose
    findings chunk-local rules may depend on, as the language server's incremental analysis
    caches them). The hits outside the def must be the judged report's chunk-local findings
    there, at the same places relative to the statement; None otherwise, when another
    change lies in the same statement, or when a rule errs."""
    body = change.body
    found = judged.top_of(body)
    if found is None:
        return None
    statement, first, end = found
    if any(c is not change and first <= c.body.first <= end for c in changes):
        return None
    if any(isinstance(s, _TERMINATORS) for s in judged.tree.body):
        return None
    delta = change.new_end - body.end
    new_first, new_end = first + change.offset, end + delta
    parsed = parse_at(new[new_first - 1 : new_end], new_first, None)
    if parsed is None or len(parsed) != 1 or type(parsed[0]) is not type(statement):
        return None
    if parsed[0].end_lineno != new_end:
        return None
    ctx = AnalysisContext(
        path=path,
        source=source,
        tree=ast.Module(body=parsed, type_ignores=[]),
        module_text=text,
        fact_log={},
        bound_anywhere=judged.binds_anywhere,
        module_imports=lambda: imports,
        module_facts=dict(facts_now),
    )
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    if errors:
        return None
    kept = []
    around: Counter[tuple[object, ...]] = Counter()
    for rule, hit in hits:
        if change.new_first <= hit.line <= change.new_end:
            kept.append((rule, hit))
        else:
            a, b = hit.line - new_first, hit.end_line - new_first
            around[(rule.code, a, hit.column, b, hit.end_column, hit.message)] += 1
    before: Counter[tuple[object, ...]] = Counter()
    for finding in judged.report.findings:
        line = finding.range.start.line
        if finding.code in scoped_codes or not first <= line <= end or body.first <= line <= body.end:
            continue

        def relative(at: int) -> int:
            return at - first + (delta if at > body.end else 0)

        at = finding.range
        key = (
            finding.code,
            relative(at.start.line),
            at.start.column,
            relative(at.end.line),
            at.end.column,
        )
        before[(*key, finding.message)] += 1
    if around != before:
        return None
    return kept
