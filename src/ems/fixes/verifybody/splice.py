"""The judged report's findings outside the changed parts, moved to their places in the
fixed text; fingerprints' enclosing names; ties in the report's order."""

from __future__ import annotations

import ast
import bisect
from collections.abc import Mapping
from dataclasses import replace
from itertools import pairwise
from typing import TYPE_CHECKING

from ems.core.analyse import names_from_spans
from ems.core.fingerprint import definition_spans
from ems.core.model import Finding, Range, Related, render_message
from ems.core.source import SourceText
from ems.fixes.verifybody.parts import Change, Judged

if TYPE_CHECKING:
    from ems.fixes.verifybody.unbound import Removed


def span(node: ast.AST, source: SourceText) -> tuple[int, int, int, int]:
    line, end_line = node.lineno, node.end_lineno  # type: ignore[attr-defined]
    return (
        line,
        source.char_column(line, node.col_offset),  # type: ignore[attr-defined]
        end_line,
        source.char_column(end_line, node.end_col_offset),  # type: ignore[attr-defined]
    )


def range_key(at: Range) -> tuple[int, int, int, int]:
    return at.start.line, at.start.column, at.end.line, at.end.column


def within(at: Range, place: tuple[int, int, int, int]) -> bool:
    return (place[0], place[1]) <= (at.start.line, at.start.column) <= (place[2], place[3])


def offset_at(line: int, changes: list[Change], firsts: list[int]) -> int | None:
    """How far judged ``line`` moved in the fixed text; None inside a changed body."""
    at = bisect.bisect_right(firsts, line) - 1
    if at < 0:
        return 0
    change = changes[at]
    if line < change.body.start:
        return None if change.header else change.offset
    if line <= change.body.end:
        return None
    return change.new_end - change.body.end


def shifted_finding(finding: Finding, changes: list[Change], firsts: list[int]) -> Finding | None:
    """A judged finding outside the changed bodies at its place in the fixed text (its
    message written again from its template when it names related lines that moved)."""
    lines = [finding.range.start.line, finding.range.end.line]
    lines += [line for r in finding.related for line in (r.range.start.line, r.range.end.line)]
    maybe = [offset_at(line, changes, firsts) for line in lines]
    offsets = [o for o in maybe if o is not None]
    if len(offsets) < len(maybe):
        return None
    if not any(offsets):
        return replace(finding, fingerprint="")
    start, end = offsets[0], offsets[1]
    at = finding.range
    related = tuple(
        Related(
            Range.of(
                r.range.start.line + a,
                r.range.start.column,
                r.range.end.line + b,
                r.range.end.column,
            ),
            r.message,
            r.name,
        )
        for r, a, b in zip(finding.related, offsets[2::2], offsets[3::2], strict=True)
    )
    message = render_message(finding.template, related) if finding.template else finding.message
    return replace(
        finding,
        range=Range.of(at.start.line + start, at.start.column, at.end.line + end, at.end.column),
        related=related,
        message=message,
        fingerprint="",
    )


def moved_with_statement(
    finding: Finding,
    same: list[tuple[int, int, int]],
    changes: list[Change],
    firsts: list[int],
) -> Finding | None:
    """A judged finding on an import statement the fixed text keeps word for word, moved
    with it (its related places too, when in that statement or outside the changed parts)."""
    line = finding.range.start.line
    kept = next(((a, b, move) for a, b, move in same if a <= line <= b), None)
    if kept is None or not kept[0] <= finding.range.end.line <= kept[1]:
        return None
    first, last, move = kept

    def moved(at: int) -> int | None:
        if first <= at <= last:
            return move
        return offset_at(at, changes, firsts)

    lines = [(r.range.start.line, r.range.end.line) for r in finding.related]
    offsets = [(moved(a), moved(b)) for a, b in lines]
    if any(a is None or b is None for a, b in offsets):
        return None
    related = tuple(
        Related(
            Range.of(r.range.start.line + a, r.range.start.column, r.range.end.line + b, r.range.end.column),  # type: ignore[operator]
            r.message,
            r.name,
        )
        for r, (a, b) in zip(finding.related, offsets, strict=True)
    )
    at = finding.range
    message = render_message(finding.template, related) if finding.template else finding.message
    return replace(
        finding,
        range=Range.of(at.start.line + move, at.start.column, at.end.line + move, at.end.column),
        related=related,
        message=message,
        fingerprint="",
    )


def ties(findings: list[Finding], changes: list[Change]) -> bool:
    """Whether two findings at the same place with the same code meet in a changed body:
    their order in the report would be the rules' walk order, which this does not redo."""
    for a, b in pairwise(findings):
        if a.range.start == b.range.start and a.code == b.code:
            line = a.range.start.line
            if any(c.new_first <= line <= c.new_end for c in changes):
                return True
    return False


def enclosing_names(
    judged: Judged,
    findings: list[Finding],
    changes: list[Change],
    defs: list[ast.stmt | None],
    proven: Mapping[int, Removed] | None = None,
) -> dict[int, str]:
    """The enclosing definition of each finding's line in the fixed text (fingerprints):
    inside a changed def from the new def, elsewhere (and in a def ``proven`` to have only
    lost lines or columns: ``unbound``) from the judged tree."""
    names: dict[int, str] = {}
    proven = proven or {}
    outside: dict[int, int] = {}  # fixed line -> judged line
    inside: list[list[int]] = [[] for _ in changes]
    new_firsts = [c.new_first for c in changes]
    for finding in findings:
        line = finding.range.start.line
        at = bisect.bisect_right(new_firsts, line) - 1
        if at >= 0 and line <= changes[at].new_end:
            removed = proven.get(at)
            if removed is not None:
                outside[line] = removed.judged_line(line - changes[at].offset)
                continue
            inside[at].append(line)
            continue
        offset = 0 if at < 0 else changes[at].new_end - changes[at].body.end
        outside[line] = line - offset
    if outside:
        old_lines = sorted(set(outside.values()))
        old_names = names_from_spans(definition_spans(judged.tree, old_lines), old_lines)
        names.update((line, old_names.get(old, "")) for line, old in outside.items())
    for change, node, lines in zip(changes, defs, inside, strict=True):
        if not lines:
            continue
        if node is None or change.body.node is None:  # top-level imports: no definition around
            names.update(dict.fromkeys(lines, ""))
            continue
        own = names_from_spans(
            definition_spans(judged.tree, [change.body.node.lineno]),
            [change.body.node.lineno],
        )
        qualname = own.get(change.body.node.lineno, "")
        prefix = qualname.rpartition(".")[0]
        ordered = sorted(set(lines))
        relative = names_from_spans(
            definition_spans(ast.Module(body=[node], type_ignores=[]), ordered), ordered
        )
        for line in ordered:
            name = relative.get(line, "")
            names[line] = f"{prefix}.{name}" if prefix and name else (name or prefix)
    return names


def moved_alias(
    finding: Finding,
    aliased: dict[tuple[int, int, int, int], tuple[int, int, int, int]],
    changes: list[Change],
    firsts: list[int],
) -> Finding | None:
    """A judged finding at a name an import statement kept while losing others (F401 on
    `b` of `from m import a, b` when `a` went), at that name's new place; its related
    places too (each at a kept name, or outside the changed parts)."""
    place = aliased.get(range_key(finding.range))
    if place is None:
        return None
    related = []
    for r in finding.related:
        there = aliased.get(range_key(r.range))
        if there is None:
            a = offset_at(r.range.start.line, changes, firsts)
            b = offset_at(r.range.end.line, changes, firsts)
            if a is None or b is None:
                return None
            there = (
                r.range.start.line + a,
                r.range.start.column,
                r.range.end.line + b,
                r.range.end.column,
            )
        related.append(Related(Range.of(*there), r.message, r.name))
    message = render_message(finding.template, tuple(related)) if finding.template else finding.message
    return replace(
        finding,
        range=Range.of(*place),
        related=tuple(related),
        message=message,
        fingerprint="",
    )
