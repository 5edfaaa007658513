"""The module-scoped rules after an edit that replaced a few chunks no other part of the
module names: the previous findings elsewhere kept (moved by the lines the edit added),
the new chunks' own found by a scope pass over them alone.

Why: a top-level edit changes the outline, and the scope pass over the whole outline was
~60 % of a top-level keystroke's time (tkinter: 1,387 nodes), although typing a new name
on its own line changes nothing any other statement sees.

Why it is the same answer. The module-scoped rules (F401, F811, F821, F402, B007) judge
names: a binding, the reads that reach it, the bindings before it of the same name. So
when no name the old or new chunks bind or read (their identifiers, and the words of
their strings when a string may be an annotation) occurs anywhere else in the text:

* no finding elsewhere can change: it is about a name the chunks never mention, and
  whether a name is a word of the text (B007's fact) is checked as the facts are
  (``report._facts_hold``);
* the chunks' own findings depend on the rest of the module only through what sets the
  pass's state for every name: ``from __future__`` imports and star imports. The scope
  pass over them alone has stand-ins for those before and after them, in order.

Anything else (a star or ``__future__`` import, ``__all__`` or ``locals`` in the chunks,
a chunk changed in place, a rule error) takes the whole pass.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from ems.core.analyse import run_rules
from ems.core.incremental.outline import _place, outside, replay, with_repeats
from ems.core.incremental.state import _NO_POSITION, RawHit, StubbedBody, _Chunk, _Class, _State
from ems.core.model import Range, Related, render_message
from ems.core.rule import AnalysisContext, Hit
from ems.core.source import SourceText

# Names whose binding or read the scope pass gives a meaning beyond the name itself.
_SPECIAL = frozenset({"__all__", "locals", "__path__"})
_WORD = re.compile(r"[^\W\d]\w*")
# Past this many lines, the chunks' names cost more to collect than they can save.
_MAX_LINES = 400
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def patched(
    state: _State,
    old: tuple[tuple[_Chunk, int, int], ...],
    raw: list[RawHit],
    signature: tuple[tuple[_Chunk, int, int], ...],
    src: SourceText,
    path: str,
    facts: dict[tuple[str, ...], tuple[str, Any, object]],
) -> list[RawHit] | None:
    """The module-scoped hits for ``signature``'s chunks from ``raw``, those found for the
    chunks ``old``, or None when the replaced chunks are not isolated (the whole pass)."""
    n_old, n_new = len(old), len(signature)
    shortest = min(n_old, n_new)
    head = 0
    while head < shortest and old[head][0] is signature[head][0] and old[head][1:] == signature[head][1:]:
        head += 1
    tail = 0
    moved: int | None = None
    while tail < shortest - head:
        before, after = old[n_old - 1 - tail], signature[n_new - 1 - tail]
        if before[0] is not after[0] or before[1] != after[1]:
            break
        if moved is None:
            moved = after[2] - before[2]
        elif after[2] - before[2] != moved:
            break
        tail += 1
    gone = [entry[0] for entry in old[head : n_old - tail]]
    fresh = state.chunks[head : n_new - tail]
    if not gone or not fresh or any(chunk in gone for chunk in fresh):
        return None  # a chunk changed in place: what it was is gone
    if any(
        (chunk.revision, chunk.shift) != (revision, shift)
        for chunk, revision, shift in old[head : n_old - tail]
    ):
        # A replaced chunk moved or changed after ``raw`` was found (an edit whose new text
        # did not parse, or was rebuilt, came between): its lines are no longer the ones
        # ``raw`` is in, so the kept hits could not be placed; the whole pass.
        return None
    low, high = gone[0].start, gone[-1].end  # the replaced lines, in the previous text
    first, last = fresh[0].start, fresh[-1].end  # the new ones
    delta = last - high
    if (moved is not None and moved != delta) or (high - low) + (last - first) > _MAX_LINES:
        return None
    kept = _kept(raw, low, high, delta)
    if kept is None:
        return None
    names: set[str] = set()
    for chunk in gone:
        found = _names(chunk)
        if found is None:
            return None
        names |= found
    imported = frozenset().union(*(c.imports for c in state.chunks))
    typing = frozenset().union(*(c.typing for c in state.chunks))
    placed: list[list[ast.stmt]] = []
    for chunk in fresh:  # the new chunks as the outline holds them
        replayed = _place(chunk, imported, typing)
        chunk.outlined = (chunk.shift, imported, typing, replayed)
        placed.append(replayed)
        found = _names(chunk)
        if found is None:
            return None
        names |= found
    text = src.text
    begin, end = _offset(src, first), _offset(src, last + 1)
    find = text.find
    if any(find(name, 0, begin) >= 0 or find(name, end) >= 0 for name in names):
        return None
    mine = _alone(state, head, n_new - tail, fresh, placed, src, path, facts)
    if mine is None:
        return None
    return kept + [hit for hit in mine if first <= hit[1].line and hit[1].end_line <= last]


def _kept(raw: list[RawHit], low: int, high: int, delta: int) -> list[RawHit] | None:
    """The hits outside lines ``low..high``, those after them moved ``delta`` lines; None
    when one of them points into those lines (it is about the replaced chunks)."""
    kept: list[RawHit] = []
    for rule, hit in raw:
        if hit.end_line >= low and hit.line <= high:
            if hit.line >= low and hit.end_line <= high:
                continue  # the replaced chunks' own: found again
            return None
        if any(r.range.end.line >= low and r.range.start.line <= high for r in hit.related):
            return None
        kept.append((rule, _moved(hit, high, delta)))
    return kept


def _moved(hit: Hit, after: int, delta: int) -> Hit:
    """``hit`` with every place after line ``after`` moved ``delta`` lines."""
    if not delta or (hit.line <= after and all(r.range.start.line <= after for r in hit.related)):
        return hit

    def line(n: int) -> int:
        return n + delta if n > after else n

    related = tuple(
        Related(
            Range.of(
                line(r.range.start.line), r.range.start.column, line(r.range.end.line), r.range.end.column
            ),
            r.message,
            r.name,
        )
        for r in hit.related
    )
    message = render_message(hit.template, related) if hit.template else hit.message
    return Hit(
        line(hit.line),
        hit.column,
        line(hit.end_line),
        hit.end_column,
        message,
        related,
        hit.data,
        hit.template,
    )


def _offset(src: SourceText, line: int) -> int:
    """Where document line ``line`` starts in the text (its length past the last line)."""
    lines = src.lines
    if line > len(lines):
        return len(src.text)
    return sum(map(len, lines[: line - 1])) + line - 1


def _names(chunk: _Chunk) -> set[str] | None:
    """Every name the chunk (as the outline holds it) may bind or read; None when it holds
    what reaches beyond names (a star or ``__future__`` import, ``__all__``, ``locals``)."""
    names: set[str] = set()
    # A stubbed body or class shows the module only its reads from outside, found when it
    # was analysed alone; its own bindings (parameters too) are in its scope, and none of
    # them is a name the module imports (``stubs.stands_in``: F811 is the one way a
    # binding in a function or class scope reaches a module's name).
    slots: list[StubbedBody | _Class] = [*chunk.bodies, *chunk.classes]
    for slot in slots:
        if slot.active == "stub":
            names |= slot.read_names
    stubs = {id(body.stub) for body in chunk.bodies if body.active == "stub"}
    strings: list[str] = []
    formatted: list[str] = []
    annotated = False
    stack: list[Any] = list(chunk.statements)
    while stack:
        node = stack.pop()
        cls = node.__class__
        if cls is ast.Name:
            names.add(node.id)
            continue
        if cls is ast.Constant:
            if isinstance(node.value, str):
                strings.append(node.value)
            continue
        if cls is ast.JoinedStr:  # its text is an annotation only where annotations are
            for value in node.values:
                if value.__class__ is ast.Constant:
                    formatted.append(str(value.value))
                else:
                    stack.append(value)
            continue
        if cls in _FUNCTIONS:
            names.add(node.name)
            annotated = annotated or node.returns is not None
            if id(node) in stubs:  # what the module evaluates of it: not its parameters' names
                args = node.args
                stack += node.decorator_list
                stack += [d for d in (*args.defaults, *args.kw_defaults, node.returns) if d is not None]
                for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
                    if arg is not None and arg.annotation is not None:
                        annotated = True
                        stack.append(arg.annotation)
                continue
        elif cls is ast.ClassDef:
            names.add(node.name)
        elif cls is ast.arg:
            names.add(node.arg)
            annotated = annotated or node.annotation is not None
        elif cls is ast.AnnAssign:
            annotated = True
        elif cls is ast.Import or cls is ast.ImportFrom:
            annotated = True  # it may bind typing's names, under which strings are types
            if cls is ast.ImportFrom and node.module == "__future__":
                return None
            for alias in node.names:
                if alias.name == "*":
                    return None
                names.add(alias.asname or alias.name.partition(".")[0])
        elif cls is ast.Global or cls is ast.Nonlocal:
            names.update(node.names)
        elif cls is ast.ExceptHandler or cls is ast.MatchAs or cls is ast.MatchStar:
            if node.name:
                names.add(node.name)
        elif cls is ast.MatchMapping and node.rest:
            names.add(node.rest)
        for field in cls._fields:
            value = getattr(node, field, None)
            if value.__class__ is list:
                stack.extend(v for v in value if isinstance(v, ast.AST) and not isinstance(v, _NO_POSITION))
            elif isinstance(value, ast.AST) and not isinstance(value, _NO_POSITION):
                stack.append(value)
    if annotated:
        strings += formatted
    for string in strings:
        names.update(_WORD.findall(string))
    return None if not _SPECIAL.isdisjoint(names) else names


def _alone(
    state: _State,
    start: int,
    stop: int,
    fresh: list[_Chunk],
    placed: list[list[ast.stmt]],
    src: SourceText,
    path: str,
    facts: dict[tuple[str, ...], tuple[str, Any, object]],
) -> list[RawHit] | None:
    """The module-scoped rules over ``fresh`` (chunks ``start..stop - 1``) alone, between
    stand-ins for the module's ``__future__`` and star imports before and after them."""
    first, last = fresh[0].start, fresh[-1].end
    statements: list[ast.stmt] = [
        _stand_in(s, first - 1) for chunk in state.chunks[:start] for s in chunk.global_imports
    ]
    first_read: dict[str, tuple[int, int]] = {}
    repeats: dict[tuple[int, int], list[ast.AST]] = {}
    reads: list[ast.stmt] = []
    for chunk, replayed in zip(fresh, placed, strict=True):
        replay(replayed, first_read, repeats, reads)
        statements.extend(chunk.statements)
    statements += [_stand_in(s, last + 1) for chunk in state.chunks[stop:] for s in chunk.global_imports]
    if reads:
        statements.append(outside(reads))
    ctx = AnalysisContext(
        path=path, source=src, tree=ast.Module(body=statements, type_ignores=[]), fact_log=facts
    )
    scoped, errors = run_rules(ctx, state.rules.scoped_rules, state.rules.scoped_dispatch)
    if errors:
        return None
    return with_repeats(scoped, repeats, ctx, src)


def _stand_in(statement: ast.ImportFrom, line: int) -> ast.ImportFrom:
    """A copy of a ``__future__`` or star import at ``line``, outside the chunks' lines (a
    finding on it is dropped: its own is found over the whole outline)."""
    where = {"lineno": line, "col_offset": 0, "end_lineno": line, "end_col_offset": 0}
    return ast.ImportFrom(
        module=statement.module,
        names=[ast.alias(name=a.name, asname=a.asname, **where) for a in statement.names],
        level=statement.level,
        **where,
    )
