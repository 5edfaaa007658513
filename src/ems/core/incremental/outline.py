"""The outline the module-scoped rules run over on every change: the module with stubbed
bodies and classes, every node brought to its document line only when it is in it."""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ems.core.incremental.state import _NO_POSITION, RawHit, StubbedBody, _Chunk, _Class, _State
from ems.core.incremental.stubs import stands_in
from ems.core.rule import AnalysisContext
from ems.core.source import SourceText


def _positioned(roots: list[ast.AST], stop: frozenset[int] = frozenset()) -> Iterator[ast.AST]:
    """Every node under ``roots`` (each once) that has a line, not entering ``stop`` ids.

    Runs over the outline on every edit that adds or removes a line, so it is kept tight:
    context and operator nodes (``Load``, ``Add`` ...: a third of all nodes, no position)
    are never pushed, and the stack's methods are bound once."""
    seen: set[int] = set()
    mark = seen.add
    stack = [r for r in roots if id(r) not in stop]
    push, pop = stack.append, stack.pop
    node_class, no_position = ast.AST, _NO_POSITION
    while stack:
        node = pop()
        key = id(node)
        if key in seen:
            continue
        mark(key)
        if getattr(node, "lineno", None) is not None:
            yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                for item in value:
                    if (
                        isinstance(item, node_class)
                        and not isinstance(item, no_position)
                        and id(item) not in stop
                    ):
                        push(item)
            elif (
                isinstance(value, node_class) and not isinstance(value, no_position) and id(value) not in stop
            ):
                push(value)


def _shift_nodes(roots: list[ast.AST], delta: int, stop: frozenset[int] = frozenset()) -> None:
    """Move nodes ``delta`` lines, not entering the nodes whose ids are in ``stop``."""
    if not delta:
        return
    for node in _positioned(roots, stop):
        node.lineno += delta  # type: ignore[attr-defined]
        if getattr(node, "end_lineno", None) is not None:
            node.end_lineno += delta  # type: ignore[attr-defined]


@dataclass(frozen=True)
class _Outline:
    module: ast.Module
    # A replayed read stands for every read of its name: the others, by the first's place.
    repeats: dict[tuple[int, int], list[ast.AST]]


def _variant(slot: StubbedBody | _Class, name: str) -> ast.stmt:
    node = slot.full if name == "full" else slot.stub
    assert node is not None
    return node


def _settled(chunk: _Chunk, target: int) -> bool:
    """Whether everything in the outline is already at ``target`` (the usual case)."""
    for cls in chunk.classes:
        if cls.shifts[cls.active] != target:
            return False
    for body in chunk.bodies:
        if body.in_class is not None and body.in_class.active == "stub":
            if body.active == "stub" and body.reads and body.shifts["reads"] != target:
                return False
            continue
        if body.shifts[body.active] != target:
            return False
        if body.active == "stub" and body.reads and body.shifts["reads"] != target:
            return False
    return True


def _settle(chunk: _Chunk, every_variant: bool) -> None:
    """Bring the chunk's nodes to its document lines: those in the outline, or all of them."""
    target = chunk.shift
    if not every_variant and chunk.applied == target and _settled(chunk, target):
        return
    slots: list[StubbedBody | _Class] = [*chunk.classes, *chunk.bodies]
    roots = frozenset(id(n) for slot in slots for n in (slot.full, slot.stub) if n is not None)
    for slot in slots:
        if every_variant:
            names = ["full", "stub"] if slot.stub is not None else ["full"]
        elif isinstance(slot, StubbedBody) and slot.in_class is not None and slot.in_class.active == "stub":
            continue  # not in the outline: moved when its class is
        else:
            names = [slot.active]
        for name in names:
            node = _variant(slot, name)
            _shift_nodes([node], target - slot.shifts[name], roots - {id(node)})
            slot.shifts[name] = target
    for body in chunk.bodies:
        if body.reads and body.shifts["reads"] != target and (every_variant or body.active == "stub"):
            _shift_nodes(list(body.reads), target - body.shifts["reads"])
            body.shifts["reads"] = target
    if chunk.applied != target:
        _shift_nodes(list(chunk.statements), target - chunk.applied, roots)
        chunk.applied = target


def _place(chunk: _Chunk, imported: frozenset[str], typing: frozenset[str]) -> list[ast.stmt]:
    """Put each of the chunk's classes and bodies in the outline as its stub or whole
    (``stubs.stands_in``), bring what is in the outline to the chunk's lines, and give
    the reads its stubbed bodies replay, in order."""
    for cls in chunk.classes:
        wanted = "stub" if stands_in(cls, imported, typing) else "full"
        if wanted != cls.active:
            cls.holder[cls.index] = _variant(cls, wanted)
            cls.active = wanted
    for body in chunk.bodies:
        wanted = "stub" if stands_in(body, imported, typing) else "full"
        if wanted != body.active:
            body.holder[body.index] = _variant(body, wanted)
            body.active = wanted
    _settle(chunk, every_variant=False)
    return [read for body in chunk.bodies if body.active == "stub" for read in body.reads]


def _outline(state: _State) -> _Outline:
    """The module with stubbed classes and bodies, every node at its document line.

    Each swappable piece (a class or a def, full or stub) keeps the shift its own nodes
    have received, and is brought to its chunk's shift only when it is in the outline;
    the rest of a chunk's nodes move together. So an edit that adds a line moves only the
    outline's few nodes below it, never whole function bodies.

    Whether a name read from outside is defined (F821) or marks an import used does not
    depend on which body reads it or how often: the outline replays each name once, and
    ``repeats`` keeps the other reads so that an undefined-name finding covers them all.

    A chunk's placing is kept (``_Chunk.outlined``) while its shift and the module's
    imported and typing names are the same: an edit elsewhere does not walk its bodies
    again. An edit that changes a chunk in place (``edits``) drops it.
    """
    imported = frozenset().union(*(c.imports for c in state.chunks))
    typing = frozenset().union(*(c.typing for c in state.chunks))
    statements: list[ast.stmt] = []
    reads: list[ast.stmt] = []
    first_read: dict[str, tuple[int, int]] = {}
    repeats: dict[tuple[int, int], list[ast.AST]] = {}
    for chunk in state.chunks:
        memo = chunk.outlined
        if memo is not None and memo[0] == chunk.shift and memo[1] == imported and memo[2] == typing:
            replayed = memo[3]
        else:
            replayed = _place(chunk, imported, typing)
            chunk.outlined = (chunk.shift, imported, typing, replayed)
        replay(replayed, first_read, repeats, reads)
        statements.extend(chunk.statements)
    if reads:
        statements.append(outside(reads))
    return _Outline(ast.Module(body=statements, type_ignores=[]), repeats)


def replay(
    stub_reads: Iterable[ast.stmt],
    first_read: dict[str, tuple[int, int]],
    repeats: dict[tuple[int, int], list[ast.AST]],
    replayed: list[ast.stmt],
) -> None:
    """A stubbed body's reads from outside: each name's first read joins ``replayed``; the
    others are kept in ``repeats`` under the first's place, as places an undefined-name
    finding also covers (``with_repeats``)."""
    for read in stub_reads:
        name = read.value  # type: ignore[attr-defined]
        where = first_read.get(name.id)
        if where is None:
            first_read[name.id] = where = (name.lineno, name.col_offset)
            repeats[where] = []
            replayed.append(read)
        else:
            repeats[where].append(name)


def outside(replayed: list[ast.stmt]) -> ast.FunctionDef:
    """The function at the outline's end that replays the stubbed bodies' reads: a function
    body's reads that leave it skip class scopes and meet only the module, whichever def
    they come from."""
    first = replayed[0]
    arguments = ast.arguments(
        posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
    )
    return ast.FunctionDef(
        name="\0outside",
        args=arguments,
        body=replayed,
        decorator_list=[],
        lineno=first.lineno,
        col_offset=0,
        end_lineno=first.lineno,
        end_col_offset=0,
    )


def with_repeats(
    scoped: list[RawHit], repeats: dict[tuple[int, int], list[ast.AST]], ctx: AnalysisContext, src: SourceText
) -> list[RawHit]:
    """The module-scoped rules' hits over an outline, each hit on a replayed read repeated
    at every other read of that name it stands for."""
    raw: list[RawHit] = []
    add = raw.append
    for rule, hit in scoped:
        add((rule, hit))
        if hit.line == hit.end_line and repeats:
            for node in repeats.get((hit.line, src.byte_column(hit.line, hit.column))) or ():
                add(
                    (
                        rule,
                        ctx.hit(node, hit.message, related=hit.related, data=hit.data, template=hit.template),
                    )
                )
    return raw
