"""Building chunks: a parsed region of the document split into top-level statements, each
checked by the chunk-local rules, with its bodies and classes analysed alone."""

from __future__ import annotations

import ast
import bisect
from typing import Any

from ems.core.analyse import run_rules
from ems.core.config import Config
from ems.core.fingerprint import definition_spans
from ems.core.incremental.state import (
    RawHit,
    Rules,
    StubbedBody,
    _Chunk,
    _Class,
    _first_line,
    _parse,
    _State,
    split_rules,
)
from ems.core.incremental.stubs import (
    analyse_bodies,
    analyse_classes,
    global_imports,
    import_names,
    outermost_functions,
    typing_names,
)
from ems.core.registry import RuleSet
from ems.core.rule import AnalysisContext, FactLog
from ems.core.source import SourceText
from ems.core.watched import names_bound


def _build(
    text: str, lines: list[str], path: str, config: Config, ruleset: RuleSet, key: tuple[object, ...]
) -> _State | None:
    tree = _parse(text)
    if tree is None:
        return None
    rules = split_rules(ruleset, config, path)
    chunks = _chunks_of(tree, SourceText(text), 1, len(lines), path, rules, text, frozenset(), ([], []))
    return _State(key, lines, chunks, rules)


def _chunks_of(
    tree: ast.Module,
    src: SourceText,
    start: int,
    end: int,
    path: str,
    rules: Rules,
    text: str,
    others_bound: frozenset[str],
    imports_around: tuple[list[ast.stmt], list[ast.stmt]],
) -> list[_Chunk]:
    """Chunks for a parsed region covering document lines ``start..end`` of ``text``.

    ``others_bound``: the watched names the rest of the document binds; ``imports_around``:
    the top-level imports of the document before and after the region.
    """
    shift = start - 1
    last = end - shift  # the region's last line, in its own numbering
    if last < 1:
        return []
    # Top-level statements grouped where one ends on the line the next starts (`a; b`).
    groups: list[tuple[int, list[ast.stmt]]] = []  # (last line, statements)
    for statement in tree.body:
        if groups and _first_line(statement) <= groups[-1][0]:
            groups[-1][1].append(statement)
            groups[-1] = (max(groups[-1][0], statement.end_lineno or statement.lineno), groups[-1][1])
        else:
            groups.append((statement.end_lineno or statement.lineno, [statement]))
    if not groups:
        groups = [(last, [])]
    else:
        groups[-1] = (last, groups[-1][1])  # the trailing blank and comment lines

    bound: list[frozenset[str]] = [frozenset()] * len(groups)
    if rules.watched and any(name in src.text for name in rules.watched):
        region_lines = src.text.split("\n")
        lower = 0
        for index, (upper, statements) in enumerate(groups):  # each chunk gated by its own text
            bound[index] = names_bound(statements, rules.watched, "\n".join(region_lines[lower:upper]))
            lower = upper
    module_bound = others_bound.union(*bound)
    top_imports: list[list[ast.stmt]] = [
        [s for s in statements if isinstance(s, (ast.Import, ast.ImportFrom))] for _, statements in groups
    ]
    every_import = [*imports_around[0], *(s for group in top_imports for s in group), *imports_around[1]]
    facts = FactLog()
    ctx = AnalysisContext(
        path=path,
        source=src,
        tree=tree,
        module_text=text,
        fact_log=facts,
        bound_anywhere=module_bound.__contains__,
        module_imports=lambda: every_import,
    )
    local_hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    # Definition spans (for fingerprints) include nested defs: take them before stubbing.
    spans_by_chunk = [
        definition_spans(ast.Module(body=statements, type_ignores=[])) for _, statements in groups
    ]
    bodies = outermost_functions([statements for _, statements in groups])
    errors += analyse_bodies(bodies, src, path, rules, text, facts)
    classes, class_errors = analyse_classes(groups, bodies, src, path, rules, text, facts)
    errors += class_errors

    chunks: list[_Chunk] = []
    lower = 0
    ends = [g[0] for g in groups]
    hits_by_chunk: list[list[RawHit]] = [[] for _ in groups]
    for hit in local_hits:
        hits_by_chunk[min(bisect.bisect_left(ends, hit[1].line), len(groups) - 1)].append(hit)
    bodies_by_chunk: list[list[StubbedBody]] = [[] for _ in groups]
    for body in bodies:
        bodies_by_chunk[min(bisect.bisect_left(ends, body.full.lineno), len(groups) - 1)].append(body)
    classes_by_chunk: list[list[_Class]] = [[] for _ in groups]
    for cls in classes:
        classes_by_chunk[min(bisect.bisect_left(ends, cls.full.lineno), len(groups) - 1)].append(cls)
    imports_by_chunk = [import_names(statements) for _, statements in groups]
    # A fact whose askers named their nodes belongs to the chunks that hold them: a change
    # of its answer then re-checks those alone (most facts name none: shared by every chunk).
    located = {key: lines for key, lines in facts.places.items() if lines is not None}
    for index, (upper, statements) in enumerate(groups):
        spans = spans_by_chunk[index]
        chunks.append(
            _Chunk(
                start=lower + 1 + shift,
                end=upper + shift,
                shift=shift,
                statements=statements,
                hits=hits_by_chunk[index],
                errors=errors,
                bodies=bodies_by_chunk[index],
                classes=classes_by_chunk[index],
                imports=imports_by_chunk[index],
                typing=typing_names(statements),
                spans=spans,
                span_starts=[s.start for s in spans],
                bound=bound[index],
                import_statements=top_imports[index],
                global_imports=global_imports(statements),
                facts=_facts_within(facts, located, lower, upper) if located else facts,
                terminates=any(isinstance(s, _TERMINATORS) for s in statements),
            )
        )
        lower = upper
    return chunks


_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _facts_within(
    facts: FactLog, located: dict[tuple[str, ...], set[int]], lower: int, upper: int
) -> dict[tuple[str, ...], tuple[str, Any, object]]:
    """The facts asked by the chunk of region lines ``lower + 1..upper``: every fact asked
    without a place, and those asked at a node on these lines."""
    return {
        key: entry
        for key, entry in facts.items()
        if key not in located or any(lower < line <= upper for line in located[key])
    }


def _region(
    before: list[_Chunk],
    after: list[_Chunk],
    region_text: str,
    start: int,
    end: int,
    path: str,
    rules: Rules,
    text: str,
) -> list[_Chunk] | None:
    """The chunks of lines ``start..end`` parsed alone, between the chunks around them;
    None when those lines do not parse on their own."""
    tree = _parse(region_text)
    if tree is None:
        return None
    others = frozenset().union(*(c.bound for c in before), *(c.bound for c in after))
    around = (_imports_of(before), _imports_of(after))
    return _chunks_of(tree, SourceText(region_text), start, end, path, rules, text, others, around)


def _imports_of(chunks: list[_Chunk]) -> list[ast.stmt]:
    return [statement for chunk in chunks for statement in chunk.import_statements]
