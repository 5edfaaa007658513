"""Verification's analysis of a fixed text, with only the top-level statements the fix
changed parsed again.

Why: judging fixability verifies every fix by analysing the fixed text (``engine.verify``),
one analysis per file with an offer, and half of such an analysis was ``ast.parse`` of a
text that differs from the one just analysed in a line or two. Here the fixed text's tree
is put together from the original's tree (kept by the scan that analysed it) and a parse
of the changed region alone, by the rule ``ems.core.parsing`` cuts a huge module by: a
module cut between top-level statements, where no bracket, string or line continuation is
open, parses to the same statements as the pieces parsed alone, each after as many
newlines as lines precede it (so its line numbers are the file's).

Each changed stretch of lines is found apart (``_hunks``: fixes far apart are parsed again
apart, not from the first to the last), and the top-level statements holding it are the
stretch's region. The statements after a region keep their original line numbers. When
the fix removed lines, the region is padded with as many blank lines, and the text
analysed is the fixed text with those blank lines in (its tree is exactly that text's);
the findings past the region are then moved back up. When it added lines, as many blank
lines (spaces and tabs only) are left out of the analysed text the same way: the region's
last lines when they are blank (a def made of a lambda, a guard added: the two blank lines
between top-level definitions take them), else blank lines of the gaps between the
region's statements that the fix left as they were (the region's parse shows that no
statement runs across them: they were not inside a string); with too few, the region runs
on to the next statement below, failing which to the end of the file. The rules'
findings do not depend on how far apart two top-level statements are (the language
server's incremental analysis relies on the same: ``ems.core.incremental``), so the report
is the fixed text's own. A region that is one top-level statement changed only inside a
block of it (a method's body, a class's, an ``if``'s) parses only the changed statements
of the innermost such block, after an ``if 1:`` of their own at their lines, and the
statements holding them are copied around them (``_nested``): the same blank lines are
padded in or left out at that level. Only for built-in rules: a plug-in might
count lines. Anything else — a region that does not parse alone, a lone ``\\r``, a
grammar-changing future import, a skipped or huge file — returns None, and the caller
analyses the whole text.
"""

from __future__ import annotations

import ast
import bisect
import copy
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property

from ems.core.analyse import FactLog, analyse_parsed, select_rules
from ems.core.config import Config
from ems.core.model import Finding, Range, Related, Report, render_message
from ems.core.parsing import PIECEWISE_MIN_CHARS
from ems.core.registry import RuleSet
from ems.core.suppressions import skips_file
from ems.fixes.context import shared_ends, shared_run

BUILT_IN = "ems.rules."  # the package of the rules whose findings are known to move with lines


@dataclass(frozen=True)
class Original:
    """A text that was analysed, and the tree its analysis parsed (``ast.parse``'s); with
    that analysis's report and the facts its rules asked of the module (``analyse``'s
    ``fact_log``) when the caller kept them: then a fixed text whose changes all lie in
    function bodies is analysed a body at a time (``ems.fixes.verifybody``)."""

    text: str
    tree: ast.Module
    report: Report | None = field(default=None, compare=False)
    facts: FactLog | None = field(default=None, compare=False)

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def spans(self) -> list[tuple[int, int]]:
        """(first line, decorators included; last line) of each top-level statement."""
        spans = []
        for statement in self.tree.body:
            first = statement.lineno
            for decorator in getattr(statement, "decorator_list", ()):
                first = min(first, decorator.lineno)
            spans.append((first, statement.end_lineno or statement.lineno))
        return spans


def reanalyse(original: Original, text: str, path: str, config: Config, ruleset: RuleSet) -> Report | None:
    """``analyse(text)``'s report, from ``original``'s tree and a parse of the top-level
    statements ``text`` changed; None when it cannot be had that way."""
    if (
        len(text) >= PIECEWISE_MIN_CHARS
        or "\r" in text
        or "\0" in text
        or "barry_as_FLUFL" in text
        or skips_file(text)
        or not _built_in_only(ruleset, config, path)
    ):
        return None
    old, new = original.lines, text.split("\n")
    hunks = _hunks(old, new)
    if not hunks:
        return None  # the same text: the caller has its report
    spans = original.spans
    regions = _regions(spans, hunks, new)
    body = original.tree.body
    statements: list[ast.stmt] = []
    analysed: list[str] = []
    shifts: list[tuple[int, int]] = []  # (last line, lines added) of each region moved past
    done = 0  # statements of the original taken so far
    for region in regions:
        before, after, delta, moved = region.before, region.after, region.delta, region.moved
        below = after < len(spans)
        start = spans[before - 1][1] + 1 if before else 1  # the region, in original lines
        end = spans[after][0] - 1 if below else len(old)
        if before and old[start - 2].endswith("\\"):
            return None  # (a continuation into the region: it is not cut off above)
        inside = _nested(region, body[before], hunks, old, new, start, end) if after == before + 1 else None
        if inside is not None:
            statements += body[done:before]
            statements.append(inside[0])
            done = after
            analysed += new[len(analysed) + moved : start - 1 + moved]
            analysed += inside[1]
            if inside[3]:
                shifts.append((inside[3], delta))
            shifts += [(point, 1) for point in inside[2]]
            continue
        lines: list[str] = []
        points: list[int] = []  # the lines of the analysed text after which a line is left out
        for number, line in enumerate(new[start - 1 + moved : end + moved + delta], start + moved):
            if number in region.drops:
                if lines and lines[-1].endswith("\\"):
                    return None
                points.append(start - 1 + len(lines))
            else:
                lines.append(line)
        if lines and lines[-1].endswith("\\"):
            return None
        source = "\n" * (start - 1) + "\n".join(lines) + ("\n" if below else "")
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                part = ast.parse(source)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return None
        if points and _crossed(part.body, points):
            return None
        statements += body[done:before]
        statements += part.body
        done = after
        analysed += new[len(analysed) + moved : start - 1 + moved]  # the unchanged lines above
        analysed += lines
        if below and delta < 0:
            analysed += [""] * -delta  # the removed lines' places, blank
            shifts.append((end, delta))
        shifts += [(point, 1) for point in points]
    statements += body[done:]
    moved = sum(delta for _, delta in shifts)
    analysed += new[len(analysed) + moved :]
    tree = ast.Module(body=statements, type_ignores=[])
    report = analyse_parsed(tree, "\n".join(analysed) if shifts else text, path, config, ruleset)
    if not shifts:
        return report
    return replace(report, findings=tuple(_moved(f, shifts) for f in report.findings))


@dataclass
class _Region:
    """Top-level statements ``before`` to ``after`` (exclusive) of the original, parsed again
    from the fixed text: in it, ``delta`` lines more than in the original; ``moved``: the
    lines the regions above added (where the region's first line is in the fixed text)."""

    before: int
    after: int
    delta: int
    moved: int
    hunks: list[tuple[int, int, int, int]]
    drops: frozenset[int] = frozenset()  # blank lines (of the fixed text) left out of it


def _hunks(old: list[str], new: list[str]) -> list[tuple[int, int, int, int]]:
    """The changed stretches of lines, as (start, end) in ``old`` and (start, end) in
    ``new`` (0-based, end excluded), between runs of equal lines; empty when the texts are
    the same. Fixes change a few lines each, far apart: each is found apart (a text fixed in
    two places is parsed again in two places, not from the first to the last), by the
    nearest place where ``_SYNC`` lines are equal again; failing one within ``_WINDOW``
    lines, the stretch runs to the shared end."""
    head, tail = shared_ends(old, new)
    old_end, new_end = len(old) - tail, len(new) - tail
    if head == old_end and head == new_end:
        return []
    found: list[tuple[int, int, int, int]] = []
    i = j = head
    while i < old_end or j < new_end:
        sync = _sync(old, new, i, j, old_end, new_end)
        if sync is None:
            found.append((i, old_end, j, new_end))
            break
        p, q = sync
        found.append((i, p, j, q))
        same = shared_run(old, new, min(old_end - p, new_end - q), p, q, 1)
        i, j = p + same, q + same
    return found


_SYNC = 3  # equal lines that end a changed stretch
_WINDOW = 40  # how far (lines, in each text) a changed stretch's end is looked for


def _sync(
    old: list[str], new: list[str], i: int, j: int, old_end: int, new_end: int
) -> tuple[int, int] | None:
    """The nearest (p, q) past (i, j) from which ``_SYNC`` lines are equal (or the rest
    up to the shared end, at the shared end's offset)."""
    for total in range(1, 2 * _WINDOW + 1):
        for dp in range(max(0, total - _WINDOW), min(total, _WINDOW) + 1):
            p, q = i + dp, j + total - dp
            if p > old_end or q > new_end:
                continue
            if p + _SYNC <= old_end and q + _SYNC <= new_end:
                if old[p] == new[q] and old[p : p + _SYNC] == new[q : q + _SYNC]:
                    return p, q
            elif old_end - p == new_end - q and old[p:old_end] == new[q:new_end]:
                return p, q  # (fewer lines left: equal up to the shared end)
    return None


def _blank(lines: list[str]) -> bool:
    return all(not line.strip(" \t") for line in lines)


def _drops(
    region: _Region, spans: list[tuple[int, int]], hunks: list[tuple[int, int, int, int]], new: list[str]
) -> frozenset[int] | None:
    """``region.delta`` blank lines of the fixed text to leave out of the analysed one (line
    numbers in the fixed text): the last lines of the region when they are blank, else
    blank lines of the gaps between its statements that the fixes left as they were
    (``reanalyse`` checks that no statement of the region's parse crosses them); None when
    there are too few."""
    return _blank_lines(spans, region.before, region.after, spans[region.after][0] - 1, region, hunks, new)


def _blank_lines(
    spans: list[tuple[int, int]],
    before: int,
    after: int,
    end: int,
    region: _Region,
    hunks: list[tuple[int, int, int, int]],
    new: list[str],
) -> frozenset[int] | None:
    """``_drops`` for the statements ``before`` to ``after`` of a block (``spans``: theirs),
    the last gap running to line ``end``."""
    moved, delta = region.moved, region.delta
    if _blank(new[end + moved : end + moved + delta]):
        return frozenset(range(end + moved + 1, end + moved + delta + 1))
    found: list[int] = []
    for statement in range(after - 1, before - 1, -1):
        below = spans[statement + 1][0] - 1 if statement + 1 < len(spans) else end
        for line in range(below, spans[statement][1], -1):  # its gap, upwards
            if any(i0 < line <= i1 for i0, i1, _, _ in hunks):
                continue  # a changed line
            at = line + sum((j1 - j0) - (i1 - i0) for i0, i1, j0, j1 in hunks if i1 < line)
            if not new[at - 1].strip(" \t"):
                found.append(at)
                if len(found) == delta:
                    return frozenset(found)
    return None


def _first(statement: ast.stmt) -> int:
    return min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])


_Block = tuple[list[ast.stmt], str, int]  # a statement list, its field, the handler's index


def _blocks(node: ast.stmt) -> list[_Block]:
    """The statement lists of a compound statement (not a ``match``'s cases)."""
    found: list[_Block] = []
    for name in ("body", "orelse", "finalbody"):
        value = getattr(node, name, None)
        if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
            found.append((value, name, 0))
    found += [(handler.body, "handlers", i) for i, handler in enumerate(getattr(node, "handlers", ()))]
    return found


def _span(statements: list[ast.stmt], first: int, last: int) -> tuple[int, int]:
    """The statements (from, to: exclusive) holding the changed lines ``first`` to ``last``."""
    spans = [(_first(s), s.end_lineno or s.lineno) for s in statements]
    before = bisect.bisect_left([e for _, e in spans], first)
    while 0 < before < len(spans) and spans[before][0] <= spans[before - 1][1]:
        before -= 1  # never cut a line two statements share
    after = before
    while after < len(spans) and (
        spans[after][0] <= last or (after > before and spans[after][0] <= spans[after - 1][1])
    ):
        after += 1
    return before, after


def _nested(
    region: _Region,
    statement: ast.stmt,
    hunks: list[tuple[int, int, int, int]],
    old: list[str],
    new: list[str],
    top: int,
    end: int,
) -> tuple[ast.stmt, list[str], list[int], int] | None:
    """A region that is one top-level statement changed only inside a block of it (a
    method's body, a class's body, an ``if``'s): only the changed statements of the
    innermost such block parsed again (after an ``if 1:`` of their own, at their lines:
    the parse of a block's statements does not depend on what holds them), the statements
    holding them copied around them. Returns the top-level statement, the region's lines
    in the analysed text (``top`` to ``end`` of the original's lines, with the padding or
    the blank lines left out at the block's level), the lines after which a blank line was
    left out, and the line after which ``-delta`` blank lines were put in (0: none); None
    when the change is not inside a block.

    Why: a method's fix in a 1,000-line class parsed the whole class again."""
    first = min(i0 + 1 for i0, _, _, _ in region.hunks)  # the changed lines (1-based)
    last = max(first, max(i1 for _, i1, _, _ in region.hunks))
    chain: list[tuple[ast.stmt, _Block, int]] = []  # holder, its block, the index held below
    node = statement
    level: tuple[list[ast.stmt], int, int] | None = None  # the innermost block, from, to
    while True:
        inside = [
            block
            for block in _blocks(node)
            if node.lineno < _first(block[0][0]) <= first and last <= (block[0][-1].end_lineno or 0)
        ]
        if len(inside) != 1:
            break
        block = inside[0]
        before, after = _span(block[0], first, last)
        chain.append((node, block, before))
        level = (block[0], before, after)
        if after != before + 1 or not _blocks(block[0][before]):
            break
        node = block[0][before]
    if level is None:
        return None
    statements, before, after = level
    inner = [(_first(s), s.end_lineno or s.lineno) for s in statements]
    holder_end = statement.end_lineno or statement.lineno
    delta, moved = region.delta, region.moved
    drops: frozenset[int] = frozenset()
    while delta > 0:
        if after < len(inner):
            stop = inner[after][0] - 1
        elif inner[-1][1] == holder_end:
            stop = end  # the block ends the top-level statement: the gap below it is the module's
        else:
            stop = inner[-1][1]  # blank lines right below the block, up to the next line of code
            while stop < end and not old[stop].strip(" \t"):
                stop += 1
        found = _blank_lines(inner, before, after, stop, region, hunks, new)
        if found is not None:
            drops = found
            break
        if after == len(inner):
            return None
        after += 1
        while after < len(inner) and inner[after][0] <= inner[after - 1][1]:
            after += 1
    start = inner[before - 1][1] + 1 if before else inner[0][0]  # the part, in original lines
    stop = inner[after][0] - 1 if after < len(inner) else inner[-1][1]
    if new[start - 2 + moved].endswith("\\"):
        return None  # (a continuation into the part)
    lines = new[top - 1 + moved : start - 1 + moved]  # the region's lines in the analysed text
    part: list[str] = []
    points: list[int] = []
    for number in range(start + moved, end + moved + delta + 1):
        line = new[number - 1]
        if number in drops:
            if lines[-1].endswith("\\"):
                return None
            points.append(top - 1 + len(lines))
            continue
        lines.append(line)
        if number <= stop + moved + delta:
            part.append(line)
        if number == stop + moved + delta and delta < 0:
            lines += [""] * -delta  # the removed lines' places, blank, after the part
    if not part or part[-1].endswith("\\"):
        return None
    if any("\t" in line[: len(line) - len(line.lstrip())] or "\f" in line for line in part):
        return None  # (a tab or form feed in an indentation: the whole statement is parsed)
    source = "\n" * (start - 2) + "if 1:\n" + "\n".join(part) + "\n"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = ast.parse(source).body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if len(parsed) != 1 or not isinstance(parsed[0], ast.If) or not parsed[0].body or parsed[0].orelse:
        return None
    made = parsed[0].body
    if made[0].col_offset != statements[0].col_offset:
        return None  # (indented as no statement of the block is: the file's parse decides)
    if points and _crossed(made, points):
        return None
    was = statements[after - 1]
    ends = (was.end_lineno, was.end_col_offset), (made[-1].end_lineno, made[-1].end_col_offset)
    replaced: list[ast.stmt] = [*statements[:before], *made, *statements[after:]]
    copied: ast.stmt | None = None
    for holder, (holding, name, index), held in reversed(chain):
        if copied is not None:
            replaced = [*holding[:held], copied, *holding[held + 1 :]]
        copied = _copied(holder, name, index, replaced, ends)
    assert copied is not None
    return copied, lines, points, stop if delta < 0 else 0


def _copied(
    node: ast.stmt,
    name: str,
    index: int,
    statements: list[ast.stmt],
    ends: tuple[tuple[int | None, int | None], tuple[int | None, int | None]],
) -> ast.stmt:
    """A copy of ``node`` with the block ``name`` (a handler's at ``index``) made of
    ``statements``: where it ended with the statements replaced (``ends``' first), it now
    ends where the new ones do."""
    copied = copy.copy(node)
    if name == "handlers":
        handlers = list(node.handlers)  # type: ignore[attr-defined]
        handler = handlers[index] = copy.copy(handlers[index])
        handler.body = statements
        if (handler.end_lineno, handler.end_col_offset) == ends[0]:
            handler.end_lineno, handler.end_col_offset = ends[1]
        copied.handlers = handlers  # type: ignore[attr-defined]
    else:
        setattr(copied, name, statements)
    if (node.end_lineno, node.end_col_offset) == ends[0]:
        copied.end_lineno, copied.end_col_offset = ends[1]
    return copied


def _crossed(statements: list[ast.stmt], points: list[int]) -> bool:
    """Whether a statement runs on past one of ``points`` (a line after which blank lines were
    left out): they were then inside it (a string, brackets), not between statements."""
    for statement in statements:
        first = min([statement.lineno, *(d.lineno for d in getattr(statement, "decorator_list", ()))])
        if any(first <= point < (statement.end_lineno or statement.lineno) for point in points):
            return True
    return False


def _regions(
    spans: list[tuple[int, int]], hunks: list[tuple[int, int, int, int]], new: list[str]
) -> list[_Region]:
    """The top-level statements to parse again for ``hunks`` (``_hunks``), as regions apart
    from one another.

    A region that gained lines ends at a gap (before the next statement) with as many
    blank lines, which the analysed text leaves out: the statements below keep their line
    numbers. The first gap with enough of them ends it (the statements above it are parsed
    again), failing which the end of the file does."""
    regions: list[_Region] = []
    ends = [last for _, last in spans]
    moved = 0  # lines the hunks so far added
    for hunk in hunks:
        old_start, old_end, new_start, new_end = hunk
        first, last = old_start + 1, old_end  # the changed lines of the original (1-based)
        delta = (new_end - new_start) - (old_end - old_start)
        before = bisect.bisect_left(ends, first)  # statements wholly above the change
        while 0 < before < len(spans) and spans[before][0] <= spans[before - 1][1]:
            before -= 1  # never cut a line two statements share (`a = 1; b = 2`)
        after = before  # then those wholly below it
        while after < len(spans) and (
            spans[after][0] <= last or (after > before and spans[after][0] <= spans[after - 1][1])
        ):
            after += 1
        if regions and before <= regions[-1].after:
            regions[-1].after = max(regions[-1].after, after)
            regions[-1].delta += delta
            regions[-1].hunks.append(hunk)
        else:
            regions.append(_Region(before, after, delta, moved, [hunk]))
        moved += delta
    at = 0
    while at < len(regions):
        region = regions[at]
        while region.delta > 0 and region.after < len(spans):
            drops = _drops(region, spans, hunks, new)
            if drops is not None:
                region.drops = drops
                break
            region.after += 1
            while region.after < len(spans) and spans[region.after][0] <= spans[region.after - 1][1]:
                region.after += 1  # (never cut a line two statements share)
            while at + 1 < len(regions) and regions[at + 1].before <= region.after:
                following = regions.pop(at + 1)
                region.after = max(region.after, following.after)
                region.delta += following.delta
                region.hunks += following.hunks
        at += 1
    return regions


def _built_in_only(ruleset: RuleSet, config: Config, path: str) -> bool:
    selected, _ = select_rules(ruleset, config, path)
    return all(type(rule).__module__.startswith(BUILT_IN) for rule in selected.rules)


def _moved(finding: Finding, shifts: list[tuple[int, int]]) -> Finding:
    """``finding`` with its places moved to the fixed text's lines (``shifts``: each region's
    last line in the analysed text and the lines it added there), its message written again
    from its template when it names their lines."""
    last = shifts[0][0]
    if finding.range.end.line <= last and all(r.range.end.line <= last for r in finding.related):
        return finding
    related = tuple(Related(_range(r.range, shifts), r.message, r.name) for r in finding.related)
    message = render_message(finding.template, related) if finding.template else finding.message
    return replace(finding, range=_range(finding.range, shifts), related=related, message=message)


def _line(line: int, shifts: list[tuple[int, int]]) -> int:
    return line + sum(delta for end, delta in shifts if end < line)


def _range(at: Range, shifts: list[tuple[int, int]]) -> Range:
    return Range.of(_line(at.start.line, shifts), at.start.column, _line(at.end.line, shifts), at.end.column)
