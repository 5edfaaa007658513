"""A changed run of import statements: parsed at its place, and proven to have only lost
names nothing else in the fixed text names."""

from __future__ import annotations

import ast
from collections.abc import Sequence

from ems.core.source import SourceText
from ems.fixes.verifybody.parts import Body, Change, Judged, has_word, parse_at
from ems.fixes.verifybody.splice import span


def parse_imports(new: list[str], change: Change) -> list[ast.Import | ast.ImportFrom] | None:
    """The statements at ``change``'s lines of the fixed text, parsed alone at their own
    line numbers and columns (in a block: inside a stand-in ``if`` line); None unless they
    are all imports at the run's column (none: the run removed, unless it was a block's
    only statements; then a ``pass`` must stand in their place, and none is returned too:
    ``emptied``)."""
    first, end = change.new_first, change.new_end
    region = new[first - 1 : end]
    if (region and region[-1].endswith("\\")) or (first > 1 and new[first - 2].endswith("\\")):
        return None
    column = change.body.imports[0].col_offset
    # a run removed from a block that keeps other statements leaves nothing to parse (a
    # stand-in `if 1:` with no body would not parse)
    statements = parse_at(region, first, ast.If if column else None) if region else []
    if statements is None:
        return None
    if emptied(change) and not statements:
        return None
    if emptied(change) and len(statements) == 1 and type(statements[0]) is ast.Pass:
        return [] if statements[0].col_offset == column else None
    if not all(
        (isinstance(s, ast.Import) or (isinstance(s, ast.ImportFrom) and s.module != "__future__"))
        and s.col_offset == column
        for s in statements
    ):
        return None
    return statements  # type: ignore[return-value]


def emptied(change: Change) -> bool:
    """Whether the run is a block's only statements (in a top-level ``if``/``try``): then
    it can only go with a ``pass`` left in its place."""
    return change.body.entire and change.body.parent is not None


def aliases(
    statements: Sequence[ast.Import | ast.ImportFrom],
) -> list[tuple[tuple[object, ...], ast.alias]]:
    found: list[tuple[tuple[object, ...], ast.alias]] = []
    for statement in statements:
        module = (
            getattr(statement, "module", None),
            getattr(statement, "level", None),
            type(statement).__name__,
        )
        found += [((*module, alias.name, alias.asname), alias) for alias in statement.names]
    return found


def only_removed(
    judged: Judged,
    body: Body,
    statements: list[ast.Import | ast.ImportFrom],
    text: str,
    gone: list,
    fresh: list[str],
) -> bool:
    """Whether the new import statements are the run's with some names removed, each of
    which nothing else in the fixed text binds, reads or names (the module-scoped rules
    judge every other name as before); the removed ones' places go to ``gone``.

    A name that is no word of the fixed text qualifies at once; else the judged tree must
    name it only in the removed aliases (``Judged.named``: as an identifier anywhere, or a
    word of a string that is not a statement of its own: `__all__`, an annotation), and no
    changed part's new text (``fresh``) may hold it."""
    old, kept = aliases(body.imports), [key for key, _ in aliases(statements)]
    at = 0
    removed: dict[str, int] = {}
    for key, alias in old:
        if at < len(kept) and kept[at] == key:
            at += 1
            continue
        name = alias.asname or alias.name.partition(".")[0]
        if name == "*":
            return False
        removed[name] = removed.get(name, 0) + 1
        gone.append(span(alias, judged.source))
    if at != len(kept):
        return False
    for name, count in removed.items():
        if has_word(name, text) and (
            judged.named(name) != count or any(has_word(name, part) for part in fresh)
        ):
            return False
    return True


def alias_moves(
    judged: Judged,
    body: Body,
    statements: list[ast.Import | ast.ImportFrom],
    source: SourceText,
) -> dict[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Each kept alias's place in the judged text -> its place in the fixed text (the
    run's names that stay, in order: ``only_removed`` proved the rest are gone); and the
    place of each statement that kept a name -> the statement that holds it now (F401's
    related "statement" place), when all its kept names are in that one."""
    holders = {id(alias): statement for statement in statements for alias in statement.names}
    kept = aliases(statements)
    moves = {}
    at = 0
    for statement in body.imports:
        into: set[int] = set()
        for key, alias in aliases([statement]):
            if at < len(kept) and kept[at][0] == key:
                moves[span(alias, judged.source)] = span(kept[at][1], source)
                into.add(id(holders[id(kept[at][1])]))
                at += 1
        if len(into) == 1:
            holder = next(s for s in statements if id(s) in into)
            moves[span(statement, judged.source)] = span(holder, source)
    return moves


def kept_as_they_were(
    judged: Judged,
    body: Body,
    statements: list[ast.Import | ast.ImportFrom],
    new: list[str],
) -> list[tuple[int, int, int]]:
    """The run's statements the fixed text keeps word for word (same names, same lines of
    text): (first line, last line, lines moved) of each."""
    found = []
    by_text: dict[tuple[str, ...], list[ast.Import | ast.ImportFrom]] = {}
    for statement in statements:
        lines = tuple(new[statement.lineno - 1 : statement.end_lineno])
        by_text.setdefault(lines, []).append(statement)
    for statement in body.imports:
        end = statement.end_lineno or statement.lineno
        twins = by_text.get(tuple(judged.lines[statement.lineno - 1 : end]))
        if twins and twins[0].col_offset == statement.col_offset:
            twin = twins.pop(0)
            found.append((statement.lineno, end, twin.lineno - statement.lineno))
    return found
