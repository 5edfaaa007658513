"""What function bodies and classes read from outside, found once per chunk: the stubs
that stand in for them in the outline, and the module-scoped findings inside them.

The public names here (with ``state.Rules``/``split_rules`` and ``outline.replay``/
``outside``/``with_repeats``) are what ``ems.core.piecewise`` shares with the incremental
analysis: a huge module's pieces are stubbed exactly as an edited document's chunks are."""

from __future__ import annotations

import ast
import bisect
import copy
from collections.abc import Iterator
from collections.abc import Set as AbstractSet
from typing import Any

from ems.core.analyse import (
    run_rules,
)
from ems.core.incremental.state import (
    _FUNCTIONS,
    _NO_POSITION,
    _STATEMENT_LISTS,
    RawHit,
    Rules,
    StubbedBody,
    _Class,
    _first_line,
)
from ems.core.model import RuleError
from ems.core.rule import AnalysisContext
from ems.core.scope import CLASS_MAGIC, TYPING_MODULES, FreeLoad, build_scope_model
from ems.core.source import SourceText


def outermost_functions(groups: list[list[ast.stmt]]) -> list[StubbedBody]:
    """Every def not inside another def, with the list that holds it (no expression walk)."""
    found: list[StubbedBody] = []
    lists: list[tuple[list[ast.stmt], ast.AST | None]] = [(group, None) for group in groups]
    while lists:
        children, parent = lists.pop()
        for index, child in enumerate(children):
            if isinstance(child, _FUNCTIONS):
                found.append(StubbedBody(children, index, child, None, frozenset(), [], parent=parent))
            elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                for name in _STATEMENT_LISTS:
                    nested = getattr(child, name, None)
                    if nested.__class__ is list:
                        lists.append((nested, child))
    found.sort(key=lambda b: b.full.lineno)
    return found


def imports_outside_functions(statements: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements among ``statements`` and in their blocks, not inside a function."""
    stack: list[ast.AST] = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif not isinstance(node, _FUNCTIONS):
            for name in _STATEMENT_LISTS:
                children = getattr(node, name, None)
                if children.__class__ is list:
                    stack.extend(children)


def import_names(statements: list[ast.stmt]) -> frozenset[str]:
    """Names that imports outside functions bind."""
    return frozenset(
        alias.asname or alias.name.partition(".")[0]
        for node in imports_outside_functions(statements)
        for alias in node.names
    )


def global_imports(statements: list[ast.stmt]) -> list[ast.ImportFrom]:
    """The star and ``__future__`` imports outside functions: each changes how the scope
    pass judges every name after it, not only the names it binds."""
    return [
        node
        for node in imports_outside_functions(statements)
        if isinstance(node, ast.ImportFrom)
        and (node.module == "__future__" or any(alias.name == "*" for alias in node.names))
    ]


def typing_names(statements: list[ast.stmt]) -> frozenset[str]:
    """Names that imports outside functions bind to a typing module or one of its members:
    a superset of what ``scope``'s ``_is_typing`` can answer yes for at module level."""
    names: set[str] = set()
    for node in imports_outside_functions(statements):
        if isinstance(node, ast.ImportFrom):
            if node.module in TYPING_MODULES:
                names.update(alias.asname or alias.name for alias in node.names)
        else:
            names.update(alias.asname or alias.name for alias in node.names if alias.name in TYPING_MODULES)
    return frozenset(names)


def stands_in(slot: StubbedBody | _Class, imported: AbstractSet[str], typing: AbstractSet[str]) -> bool:
    """Whether the slot's stub gives the module-scoped rules exactly what its full variant
    gives, in a module whose imports outside functions bind ``imported`` (``typing``: those
    bound to typing). Not when it binds an imported name (a parameter or a binding in the
    body may be what makes the import unused or redefined: F811), nor when it reads a typing
    name (the strings in ``cast("T", x)``, ``Optional["T"]`` are annotations only with the
    module's bindings, which the body analysed alone did not have)."""
    if isinstance(slot, StubbedBody) and slot.stub is None:
        return False
    return slot.binds.isdisjoint(imported) and slot.read_names.isdisjoint(typing)


def analyse_bodies(
    bodies: list[StubbedBody],
    src: SourceText,
    path: str,
    rules: Rules,
    text: str,
    facts: dict[tuple[str, ...], Any],
) -> list[RuleError]:
    """Analyse every outermost body alone: what it reads from outside, what it finds inside.

    Each body becomes a def in a synthetic module with no builtins and no other names, so
    every read that leaves the body is reported as a ``FreeLoad`` (in pyflakes' order
    semantics, which the stub then replays in the outline) and the module-scoped rules'
    findings are the ones that do not depend on anything outside the body.
    """
    if not bodies:
        return []
    defs: list[ast.stmt] = []
    for number, body in enumerate(bodies):
        synthetic = copy.copy(body.full)
        synthetic.name = f"\0{number}"  # a name no code can read or bind
        synthetic.args = _bare_arguments(body.full.args)
        synthetic.decorator_list = []
        synthetic.returns = None
        defs.append(synthetic)
    reads, hits, errors = _alone(defs, [b.full.lineno for b in bodies], src, path, rules, text, facts)
    for body, loads, found in zip(bodies, reads, hits, strict=True):
        body.hits.extend(found)
        binds, exact = _binds(body.full)
        body.binds = binds | _parameters(body.full)
        if exact and all(_replayable(load) for load in loads):
            body.stub, body.reads = _stub(body.full, loads)
            body.read_names = frozenset(load.name for load in loads)
    return errors


def _alone(
    statements: list[ast.stmt],
    starts: list[int],
    src: SourceText,
    path: str,
    rules: Rules,
    text: str,
    facts: dict[tuple[str, ...], Any],
) -> tuple[list[list[FreeLoad]], list[list[RawHit]], list[RuleError]]:
    """Statements analysed as a module of their own, with no builtins: for each (whose
    first lines are ``starts``), the reads no scope inside it answered, in order, and the
    module-scoped rules' findings within it."""
    module = ast.Module(body=statements, type_ignores=[])
    free: list[FreeLoad] = []
    ctx = AnalysisContext(path=path, source=src, tree=module, module_text=text, fact_log=facts)
    ctx._cache["scopes"] = build_scope_model(module, ctx, free_loads=free)
    found, errors = run_rules(ctx, rules.scoped_rules, rules.scoped_dispatch)

    def owner(line: int) -> int:
        return max(0, bisect.bisect_right(starts, line) - 1)

    reads: list[list[FreeLoad]] = [[] for _ in statements]
    hits: list[list[RawHit]] = [[] for _ in statements]
    for load in free:
        reads[owner(load.node.lineno)].append(load)  # type: ignore[attr-defined]
    for hit in found:
        hits[owner(hit[1].line)].append(hit)
    return reads, hits, errors


def analyse_classes(
    groups: list[tuple[int, list[ast.stmt]]],
    bodies: list[StubbedBody],
    src: SourceText,
    path: str,
    rules: Rules,
    text: str,
    facts: dict[tuple[str, ...], Any],
) -> tuple[list[_Class], list[RuleError]]:
    """Top-level classes analysed alone (defs as stubs): what they read, what they find inside."""
    candidates: list[tuple[list[ast.stmt], int, ast.ClassDef, list[StubbedBody]]] = []
    by_line = sorted(bodies, key=lambda b: b.full.lineno)
    starts = [b.full.lineno for b in by_line]
    for _, statements in groups:
        for index, statement in enumerate(statements):
            if not isinstance(statement, ast.ClassDef) or getattr(statement, "type_params", None):
                continue
            low = bisect.bisect_left(starts, statement.lineno)
            high = bisect.bisect_right(starts, statement.end_lineno or statement.lineno)
            inside = by_line[low:high]
            if all(b.stub is not None for b in inside):
                candidates.append((statements, index, statement, inside))
    if not candidates:
        return [], []
    # the class bodies as the outline will hold them: every def a stub with an empty body
    for _, _, _, inside in candidates:
        for body in inside:
            body.holder[body.index] = body.stub  # type: ignore[assignment]
    synthetic: list[ast.stmt] = []
    for number, (_, _, statement, _) in enumerate(candidates):
        copied = copy.copy(statement)
        copied.name = f"\0class{number}"
        synthetic.append(copied)
    class_binds = [_binds(statement) for _, _, statement, _ in candidates]  # type: ignore[arg-type]
    starts = [_first_line(c[2]) for c in candidates]  # decorators are read first
    reads, found_hits, errors = _alone(synthetic, starts, src, path, rules, text, facts)
    for _, _, _, inside in candidates:
        for body in inside:
            body.holder[body.index] = body.full
    classes: list[_Class] = []
    for number, (holder, index, statement, inside) in enumerate(candidates):
        binds, exact = class_binds[number]
        if not exact or not all(_replayable(load, class_level=True) for load in reads[number]):
            continue
        where = _position_of(statement)
        stub = ast.ClassDef(
            name=statement.name,
            bases=[],
            keywords=[],
            body=_read_statements(reads[number]) or [ast.Pass(**where)],
            decorator_list=[],
            **where,
        )
        if hasattr(statement, "type_params"):
            stub.type_params = []  # type: ignore[attr-defined]
        cls = _Class(
            holder,
            index,
            statement,
            stub,
            binds.union(*(b.binds for b in inside)),
            found_hits[number],
            frozenset(load.name for load in reads[number]).union(*(b.read_names for b in inside)),
            own_binds=binds,
            own_reads=frozenset(load.name for load in reads[number]),
        )
        for body in inside:
            body.in_class = cls
        classes.append(cls)
    return classes, errors


def _replayable(load: FreeLoad, class_level: bool = False) -> bool:
    """Whether replaying this read elsewhere gives the same judgement as in place.

    Of the handlers around a read, only ``NameError`` changes its judgement (F821 spared,
    ``scope._undefined``): a read under ``except ValueError`` replays as itself, so a body
    with an ordinary ``try`` is still stubbed (most of tkinter's ``Misc`` was kept whole)."""
    if load.annotation or "NameError" in load.guards or not hasattr(load.node, "end_col_offset"):
        return False
    if load.name == "__class__":
        return False
    return not (class_level and load.name in CLASS_MAGIC)


def _position_of(node: ast.AST) -> dict[str, int]:
    return {
        "lineno": node.lineno,  # type: ignore[attr-defined]
        "col_offset": node.col_offset,  # type: ignore[attr-defined]
        "end_lineno": node.end_lineno,  # type: ignore[attr-defined]
        "end_col_offset": node.end_col_offset,  # type: ignore[attr-defined]
    }


def _read_statements(loads: list[FreeLoad]) -> list[ast.stmt]:
    """``name`` expression statements at the reads' own places, in order."""
    statements: list[ast.stmt] = []
    for load in loads:
        where = _position_of(load.node)
        statements.append(ast.Expr(value=ast.Name(id=load.name, ctx=ast.Load(), **where), **where))
    return statements


def _bare_arguments(args: ast.arguments) -> ast.arguments:
    """The parameters as bindings only: defaults and annotations belong to the outline."""

    def bare(arg: ast.arg) -> ast.arg:
        plain = copy.copy(arg)
        plain.annotation = None
        return plain

    return ast.arguments(
        posonlyargs=[bare(a) for a in args.posonlyargs],
        args=[bare(a) for a in args.args],
        vararg=None if args.vararg is None else bare(args.vararg),
        kwonlyargs=[bare(a) for a in args.kwonlyargs],
        kw_defaults=[None for _ in args.kwonlyargs],
        kwarg=None if args.kwarg is None else bare(args.kwarg),
        defaults=[],
    )


def _parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> frozenset[str]:
    """The def's own parameter names: a parameter named like an unused import redefines it
    (F811), which the stub's empty body would not show (``_binds`` walks the body only)."""
    args = function.args
    every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
    every.extend(a for a in (args.vararg, args.kwarg) if a is not None)
    return frozenset(a.arg for a in every)


def _binds(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[frozenset[str], bool]:
    """Names the body binds at any depth, and whether a stub can stand in for it."""
    names: set[str] = set()
    stack: list[ast.AST] = list(function.body)
    exact = not getattr(function, "type_params", None)
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is ast.Name:
            if type(node.ctx) is not ast.Load:  # type: ignore[attr-defined]
                names.add(node.id)  # type: ignore[attr-defined]
            continue
        if cls in (ast.Global, ast.Nonlocal):
            exact = False
        elif cls in (ast.Import, ast.ImportFrom):
            for alias in node.names:  # type: ignore[attr-defined]
                if alias.name == "*":
                    exact = False
                names.add(alias.asname or alias.name.partition(".")[0])
        elif cls in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            names.add(node.name)  # type: ignore[attr-defined]
            if getattr(node, "type_params", None):
                exact = False
        elif cls is ast.ExceptHandler or cls is ast.MatchAs or cls is ast.MatchStar:
            if node.name:  # type: ignore[attr-defined]
                names.add(node.name)  # type: ignore[attr-defined]
        elif cls is ast.MatchMapping:
            if node.rest:  # type: ignore[attr-defined]
                names.add(node.rest)  # type: ignore[attr-defined]
        elif cls is ast.arg:
            names.add(node.arg)  # type: ignore[attr-defined]
        for name in cls._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                stack.extend(v for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST) and not isinstance(value, _NO_POSITION):
                stack.append(value)
    return frozenset(names), exact


def _clone(value: Any) -> Any:
    """A copy of an ``ast`` subtree (or list of them); contexts and operators are shared."""
    if value.__class__ is list:
        return [_clone(v) for v in value]
    if not isinstance(value, ast.AST) or isinstance(value, _NO_POSITION):
        return value
    new = copy.copy(value)
    for name in value._fields:
        child = getattr(value, name, None)
        if child.__class__ is list or isinstance(child, ast.AST):
            setattr(new, name, _clone(child))
    return new


def _stub(
    function: ast.FunctionDef | ast.AsyncFunctionDef, loads: list[FreeLoad]
) -> tuple[ast.FunctionDef | ast.AsyncFunctionDef, list[ast.stmt]]:
    """The def with an empty body (the scope model's mark for "analysed elsewhere"), and
    statements that read, in order, what the real body reads from outside.

    A function body's reads that leave it skip class scopes and meet only the module (and
    builtins), whichever def they come from: so the outline replays every stubbed body's
    reads in one function at its end, instead of running thousands of one-line bodies.
    """
    stub = copy.copy(function)
    # the signature is evaluated where the def stands and stays in the outline; the stub
    # gets its own copy so that moving one variant's nodes never moves the other's
    stub.decorator_list = _clone(function.decorator_list)
    stub.args = _clone(function.args)
    stub.returns = _clone(function.returns)
    stub.body = []
    return stub, _read_statements(loads)
