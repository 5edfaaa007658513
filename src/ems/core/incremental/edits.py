"""Locating an edit and re-parsing only what it touched: the chunks it overlaps, or only
the method of a class it falls inside; facts about the rest of the document re-checked."""

from __future__ import annotations

import ast
import bisect
import copy
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ems.core.analyse import (
    run_rules,
)
from ems.core.fingerprint import DefinitionSpan, definition_spans
from ems.core.incremental.chunks import _imports_of, _region
from ems.core.incremental.outline import _positioned, _settle
from ems.core.incremental.state import (
    _FUNCTIONS,
    RawHit,
    Rules,
    StubbedBody,
    _Chunk,
    _Class,
    _first_line,
    _parse,
    _shift_hit,
    _State,
)
from ems.core.incremental.stubs import analyse_bodies, analyse_classes, import_names, outermost_functions
from ems.core.model import RuleError
from ems.core.rule import IMPORTS, STATEMENTS, AnalysisContext
from ems.core.source import SourceText
from ems.core.watched import names_bound


def _unchanged_lines(old: str, new: str) -> tuple[int, int]:
    """How many whole lines at the start and at the end the two texts share (not overlapping).

    Found by bisecting on slice comparisons (C speed) instead of comparing line by line.
    """
    same_start = _shared_length(old, new, min(len(old), len(new)), from_end=False)
    prefix = old.count("\n", 0, same_start)
    if (same_start == len(old) and new[same_start : same_start + 1] == "\n") or (
        same_start == len(new) and old[same_start : same_start + 1] == "\n"
    ):
        prefix += 1  # one text ends where the other ends a line: that last line is the same
        cut_old = cut_new = same_start + 1
    else:  # the first changed line starts after the last newline both texts share
        cut_old = cut_new = old.rfind("\n", 0, same_start) + 1
    limit = min(len(old) - cut_old, len(new) - cut_new)
    if limit < 0:
        return prefix, 0
    same_end = _shared_length(old, new, limit, from_end=True)
    start_old, start_new = len(old) - same_end, len(new) - same_end
    suffix = old.count("\n", start_old) if same_end else 0
    if (start_old == cut_old or old[start_old - 1] == "\n") and (
        start_new == cut_new or new[start_new - 1] == "\n"
    ):
        suffix += 1  # the shared end starts a line in both texts
    return prefix, suffix


def common_ends(old: str, new: str) -> tuple[int, int]:
    """How many characters the two texts share at their start, then at their end (not
    overlapping the start): what the language server sends its worker of a new version
    is only what lies between (``ems.runtime.guard.TextEdit``)."""
    prefix = _shared_length(old, new, min(len(old), len(new)), from_end=False)
    limit = min(len(old), len(new)) - prefix
    return prefix, _shared_length(old, new, limit, from_end=True)


def spliced_lines(old_lines: list[str], old: str, new: str) -> list[str]:
    """``new.split("\n")`` from ``old``'s lines (``old_lines``): the unchanged lines at both
    ends shared, only the changed ones split (splitting a 4,600-line text on every
    keystroke was ~0.2 ms)."""
    prefix, suffix = common_ends(old, new)
    head = old.count("\n", 0, prefix)
    start = old.rfind("\n", 0, prefix) + 1  # where the first changed line starts (both texts)
    tail = old.count("\n", len(old) - suffix)
    end_new = new.find("\n", len(new) - suffix) if tail else len(new)
    return [*old_lines[:head], *new[start:end_new].split("\n"), *old_lines[len(old_lines) - tail :]]


def _shared_length(old: str, new: str, limit: int, from_end: bool) -> int:
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if from_end:
            same = old[len(old) - middle : len(old) - low] == new[len(new) - middle : len(new) - low]
        else:
            same = old[low:middle] == new[low:middle]
        if same:
            low = middle
        else:
            high = middle - 1
    return low


def _update(state: _State, new: list[str], text: str, path: str) -> int | None:
    """Re-parse the chunks the edit overlaps: how many lines; None when only a rebuild will do."""
    old = state.lines
    chunks = state.chunks
    if not chunks:
        return None
    n_old, n_new = len(old), len(new)
    prefix, suffix = _unchanged_lines(state.text, text)
    delta = n_new - n_old
    low = min(prefix + 1, n_old)
    high = min(max(low, n_old - suffix), n_old)
    ends = [c.end for c in chunks]
    first = bisect.bisect_left(ends, low)
    last = bisect.bisect_left(ends, high)
    changed = ("\n".join(old[prefix : n_old - suffix]), "\n".join(new[prefix : n_new - suffix]))
    state.edit = (*changed, False, False)
    if any(chunk.terminates for chunk in chunks):
        # a top-level `return`/`raise`... leaves every later statement unreachable: EMS102
        # reports them as one block, to the module's end (a rare module: analysed whole)
        return None
    if first == last:
        at, before = first, (chunks[first].start, chunks[first].end)
        reparsed = _update_method(chunks, first, low, high, delta, old, new, text, path, state.rules)
        if reparsed is None:
            # lines only added: they touch no old line, only the place between two
            added = prefix + suffix >= n_old
            touched = (prefix + 1, prefix) if added else (low, high)
            reparsed = _update_class_body(chunks, first, *touched, delta, old, new, text, path, state.rules)
            if (
                reparsed is None
                and added
                and first > 0
                and all(_blank(line) for line in old[chunks[first].start - 1 : prefix])
            ):
                # typed below the last statement of a class that ends the chunk before
                at, before = first - 1, (chunks[first - 1].start, chunks[first - 1].end)
                reparsed = _update_class_body(
                    chunks, first - 1, *touched, delta, old, new, text, path, state.rules
                )
        if reparsed is not None:
            state.touched = (*before, chunks[at].start, chunks[at].end)
            return reparsed
    for widen in (0, 1):
        a = max(0, first - widen)
        b = min(len(chunks) - 1, last + widen)
        region_start = chunks[a].start
        region_end = chunks[b].end + delta
        region_text = "\n".join(new[region_start - 1 : region_end])
        fresh = _region(
            chunks[:a], chunks[b + 1 :], region_text, region_start, region_end, path, state.rules, text
        )
        if fresh is None:
            continue
        replaced = frozenset().union(*(c.bound for c in chunks[a : b + 1]))
        state.edit = (
            *changed,
            replaced != frozenset().union(*(c.bound for c in fresh)),
            any(c.import_statements for c in chunks[a : b + 1]) or any(c.import_statements for c in fresh),
        )
        state.touched = (region_start, chunks[b].end, region_start, region_end)
        for chunk in chunks[b + 1 :]:
            chunk.start += delta
            chunk.end += delta
            chunk.shift += delta
        state.chunks = chunks[:a] + fresh + chunks[b + 1 :]
        if any(chunk.terminates for chunk in fresh):
            return None  # (as above)
        return max(0, region_end - region_start + 1)
    return None


def _refresh(state: _State, text: str, lines: list[str], path: str) -> bool:
    """Re-check the chunks whose facts about the rest of the document the last edit changed.

    A fact is looked at only when the edit touched its word (or, for "is NAME bound
    anywhere", when the watched names bound in the module changed): usually none is.
    False when a chunk no longer parses alone (the caller rebuilds).
    """
    old_text, new_text, bound_changed, imports_changed = state.edit
    touched: tuple[str, str] | None = None  # the touched statements' text, old and new
    module_bound: frozenset[str] | None = None
    every_import: list[ast.stmt] | None = None
    now: dict[tuple[str, ...], object] = {}
    stale: list[int] = []
    for index, chunk in enumerate(state.chunks):
        for key, (word, compute, value) in chunk.facts.items():
            if compute is None:
                if not bound_changed:
                    continue
                if module_bound is None:
                    module_bound = frozenset().union(*(c.bound for c in state.chunks))
                current: object = word in module_bound
            elif word == IMPORTS:
                if not imports_changed:
                    continue
                if every_import is None:
                    every_import = _imports_of(state.chunks)
                if key not in now:
                    now[key] = compute(every_import)
                current = now[key]
            elif key[0] == STATEMENTS:
                if touched is None:
                    touched = touched_texts(state, lines)
                if not any(word in part or not part.isascii() for part in touched):
                    continue  # (a name spelled otherwise than in ASCII may still be it)
                if key not in now:
                    now[key] = compute(text)
                current = now[key]
            elif word not in old_text and word not in new_text:
                continue
            elif key in now:
                current = now[key]
            else:
                current = now[key] = compute(text)
            if current != value:
                stale.append(index)
                break
    for index in reversed(stale):
        chunk = state.chunks[index]
        region_text = "\n".join(lines[chunk.start - 1 : chunk.end])
        before, after = state.chunks[:index], state.chunks[index + 1 :]
        fresh = _region(before, after, region_text, chunk.start, chunk.end, path, state.rules, text)
        if fresh is None:
            return False
        state.chunks[index : index + 1] = fresh
    return True


def touched_texts(state: _State, lines: list[str]) -> tuple[str, str]:
    """The text of the top-level statements the last edit touched, before and after it
    (``lines``: the new text's; ``state.lines`` are still the old one's)."""
    old_first, old_last, new_first, new_last = state.touched
    return "\n".join(state.lines[old_first - 1 : old_last]), "\n".join(lines[new_first - 1 : new_last])


def _update_method(
    chunks: list[_Chunk],
    position: int,
    low: int,
    high: int,
    delta: int,
    old: list[str],
    new: list[str],
    text: str,
    path: str,
    rules: Rules,
) -> int | None:
    """An edit inside one method of a top-level class (``delta`` lines added or removed).

    Typing inside a method of a 1,000-line class should not re-check the class: the method is
    re-parsed alone (inside a stand-in ``class`` line, blank lines keeping its line numbers),
    re-checked with the real class as its parent, and swapped in; what follows it moves by
    ``delta`` lines. None when the edit is not of that kind (the caller re-checks the whole
    statement).
    """
    chunk = chunks[position]
    tops = {id(s) for s in chunk.statements} | {id(c.full) for c in chunk.classes}
    shift = chunk.shift
    found = next(
        (
            body
            for body in chunk.bodies
            if isinstance(body.parent, ast.ClassDef)
            and id(body.parent) in tops
            and _first_line(body.full) - body.shifts["full"] + shift <= low
            and high <= (body.full.end_lineno or 0) - body.shifts["full"] + shift + (delta > 0)
        ),
        None,
    )
    if found is None:
        return None
    _settle(chunk, every_variant=True)  # every node at its document line from here on
    chunk.outlined = None  # changed in place from here on: the outline places it again
    parent = found.parent
    assert isinstance(parent, ast.ClassDef)
    if any(isinstance(s, _TERMINATORS) for s in parent.body):
        return None  # the method may be unreachable: EMS102 judges the whole block
    first, last = _first_line(found.full), found.full.end_lineno or found.full.lineno
    if first < 2:
        return None
    padded = "\n" * (first - 2) + "class _:\n" + "\n".join(new[first - 1 : last + delta])
    tree = _parse(padded)
    if tree is None or len(tree.body) != 1 or len(tree.body[0].body) != 1:  # type: ignore[attr-defined]
        return None
    method = tree.body[0].body[0]  # type: ignore[attr-defined]
    if (
        not isinstance(method, _FUNCTIONS)
        or _first_line(method) != first
        or method.end_lineno != last + delta
        or method.col_offset != found.full.col_offset
    ):
        return None
    if rules.watched and names_bound(
        [method], rules.watched, "\n".join(new[first - 1 : last + delta])
    ) != names_bound([found.full], rules.watched, "\n".join(old[first - 1 : last])):
        return None  # the method binds a watched name it did not (or the reverse)
    shift = chunk.shift
    # the old method's findings and definitions go; what follows it moves
    chunk.hits = [h for h in chunk.hits if not first <= h[1].line + shift <= last]
    chunk.spans = [s for s in chunk.spans if not first <= s.start + shift <= last]
    if delta:
        _move_after(chunks, position, [found], first, last, delta)
    src = SourceText(padded)
    facts: dict[tuple[str, ...], tuple[str, Any, object]] = {}
    stand_in, errors = _check_in_class(
        [method], parent, chunks, position, src, path, rules, text, facts, first, last + delta
    )

    fresh = StubbedBody(found.holder, found.index, method, None, frozenset(), [], parent=parent)
    errors += analyse_bodies([fresh], src, path, rules, text, facts)
    fresh.hits = [(rule, _shift_hit(hit, -shift)) for rule, hit in fresh.hits]
    fresh.shifts = {"full": shift, "stub": shift, "reads": shift}
    chunk.bodies[chunk.bodies.index(found)] = fresh
    # the class's own reads and findings, now with the new method's signature; the same
    # when the method's stub is (no line added): the class is not analysed again
    before = _class_slot(chunk, parent)
    same = (
        delta == 0
        and before is not None
        and found.stub is not None
        and fresh.stub is not None
        and _dump([found.stub]) == _dump([fresh.stub])
    )
    errors += _reanalyse_class(chunk, parent, src, path, rules, text, facts, before if same else None)
    if not (
        delta == 0
        and _ascii(old[first - 1 : last], new[first - 1 : last + delta])
        and _same_in_outline(before, _class_slot(chunk, parent), [found], [fresh])
    ):
        chunk.revision += 1
    if errors:
        chunk.errors = chunk.errors + errors
    chunk.facts = {**chunk.facts, **facts}  # what the method's checks asked of the document

    spans = list(chunk.spans)
    spans += [
        DefinitionSpan(s.start - shift, s.end - shift, s.qualname)
        for s in definition_spans(ast.Module(body=[stand_in], type_ignores=[]))
        if first <= s.start <= last + delta
    ]
    spans.sort(key=lambda s: (s.start, -s.end))
    chunk.spans = spans
    chunk.span_starts = [s.start for s in spans]
    return last + delta - first + 1


# A statement of these kinds directly in a class body makes what follows it unreachable
# (EMS102 judges the whole block): such a class is re-checked whole.
_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


def _blank(line: str) -> bool:
    """A line that holds no code (blank, or only a comment)."""
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def _top_classes(chunk: _Chunk) -> list[tuple[ast.ClassDef, int]]:
    """The chunk's top-level classes (their full variant), each with the shift its nodes
    have received: document line = node line + chunk shift - that shift."""
    found: list[tuple[ast.ClassDef, int]] = [(c.full, c.shifts["full"]) for c in chunk.classes]
    stubs = {id(c.stub) for c in chunk.classes}
    for statement in chunk.statements:
        if (
            isinstance(statement, ast.ClassDef)
            and id(statement) not in stubs
            and not any(full is statement for full, _ in found)
        ):
            found.append((statement, chunk.applied))
    return found


def _class_region(parent: ast.ClassDef, offset: int, low: int, high: int) -> tuple[int, int, int, int] | None:
    """The statements of ``parent``'s body that lines ``low..high`` touch (``high = low - 1``:
    lines were added before line ``low``), widened to whole lines: ``(a, b, first, last)``,
    statements ``a..b`` (``b = a - 1``: none, the edit is in the gap before ``a``) and the
    document lines ``first..last`` they and the gap above them hold (none when ``last =
    first - 1``). None when the edit is not inside the body (the header, the lines before
    the first statement or after the last).
    """
    body = parent.body
    starts = [_first_line(s) + offset for s in body]
    ends = [(s.end_lineno or s.lineno) + offset for s in body]
    if low < starts[0]:
        return None
    if high == low - 1 and low > ends[-1]:
        # lines added after the last statement (below blank or comment lines only: the
        # caller's chunk holds nothing else after the class)
        return len(body), len(body) - 1, ends[-1] + 1, high
    if high > ends[-1]:
        return None
    a = bisect.bisect_left(ends, low)  # the first statement ending at or after ``low``
    b = bisect.bisect_right(starts, high) - 1  # the last starting at or before ``high``
    while a > 0 and ends[a - 1] >= starts[a]:  # `x = 1; y = 2`: both, or neither
        a -= 1
    while b + 1 < len(body) and starts[b + 1] <= ends[b]:
        b += 1
    if a == 0:
        first = starts[0]
        if first <= parent.lineno + offset:  # `class A: x = 1`: the header line itself
            return None
    else:
        first = ends[a - 1] + 1
    last = starts[b + 1] - 1 if b + 1 < len(body) else ends[-1]
    if not first <= low <= last + 1:
        return None
    return a, b, first, last


def _update_class_body(
    chunks: list[_Chunk],
    position: int,
    low: int,
    high: int,
    delta: int,
    old: list[str],
    new: list[str],
    text: str,
    path: str,
    rules: Rules,
) -> int | None:
    """An edit in the body of a top-level class but not inside one method: a class
    attribute typed, a line added between two methods, an edit spanning two of them.

    The class-level statements the edit touches (with the lines above them) are re-parsed
    alone inside a stand-in ``class`` line, checked with the real class as their parent and
    swapped into its body; the defs among them get their bodies analysed alone; the class's
    own reads are found again. None when the edit is not of that kind or the lines do not
    stand alone (the caller re-checks the whole statement).
    """
    chunk = chunks[position]
    shift = chunk.shift
    where = next(
        (
            (parent, place)
            for parent, applied in _top_classes(chunk)
            if not getattr(parent, "type_params", None)
            and (place := _class_region(parent, shift - applied, low, high)) is not None
        ),
        None,
    )
    if where is None:
        return None
    parent, (a, b, first, last) = where
    if first < 2 or any(isinstance(s, _TERMINATORS) for s in parent.body):
        return None
    region = new[first - 1 : last + delta]
    replaced = parent.body[a : b + 1]
    statements: list[ast.stmt] = []
    if not all(_blank(line) for line in region):
        tree = _parse("\n" * (first - 2) + "class _:\n" + "\n".join(region))
        if tree is None or len(tree.body) != 1 or not isinstance(tree.body[0], ast.ClassDef):
            return None
        statements = tree.body[0].body
        column = parent.body[0].col_offset
        if _first_line(statements[0]) < first or any(isinstance(s, _TERMINATORS) for s in statements):
            return None
        previous_end = 0
        for statement in statements:  # each line's first statement at the body's indentation
            if _first_line(statement) > previous_end and statement.col_offset != column:
                return None
            previous_end = statement.end_lineno or statement.lineno
    elif len(replaced) == len(parent.body):
        return None  # the class would have no statement left: not valid Python
    appended = a == len(parent.body)
    if appended:
        at = next(
            (
                i
                for i, s in enumerate(chunk.statements)
                if s is parent or any(c.stub is s and c.full is parent for c in chunk.classes)
            ),
            None,
        )
        if not statements or at != len(chunk.statements) - 1:
            return None  # only blank or comment lines, or the class does not end its chunk
    if import_names(replaced) != import_names(statements):
        return None  # the chunk's imports change: its own statement is re-checked
    if rules.watched:
        # the replaced defs as they were written: a stub in the body hides what its def binds
        full = {id(body.stub): body.full for body in chunk.bodies if body.stub is not None}
        written = [full.get(id(s), s) for s in replaced]
        if names_bound(statements, rules.watched, "\n".join(region)) != names_bound(
            written, rules.watched, "\n".join(old[first - 1 : last])
        ):
            return None  # the lines bind a watched name they did not (or the reverse)
    _settle(chunk, every_variant=True)  # every node at its document line from here on
    chunk.outlined = None  # changed in place from here on: the outline places it again
    gone = [body for body in chunk.bodies if first <= body.full.lineno <= last]
    # the old lines' findings and definitions go; what follows them moves
    chunk.hits = [h for h in chunk.hits if not first <= h[1].line + shift <= last]
    chunk.spans = [s for s in chunk.spans if not first <= s.start + shift <= last]
    if delta:
        _move_after(chunks, position, gone, first, last, delta)
    chunk.bodies = [body for body in chunk.bodies if body not in gone]
    for body in chunk.bodies:  # every def of the class back in place, full; the outline decides
        if body.holder is parent.body:
            body.holder[body.index] = body.full
    added = len(statements) - len(replaced)
    for body in chunk.bodies:
        if body.holder is parent.body and body.index > b:
            body.index += added
    parent.body[a : b + 1] = statements
    if appended:  # the class now ends with the new lines, and its chunk with it
        end = statements[-1].end_lineno or statements[-1].lineno
        parent.end_lineno, parent.end_col_offset = end, statements[-1].end_col_offset
        chunk.spans = [
            DefinitionSpan(s.start, end - shift, s.qualname)
            if s.start + shift == parent.lineno and s.qualname == parent.name
            else s
            for s in chunk.spans
        ]
        chunk.end = max(chunk.end, last + delta)
        if position + 1 < len(chunks) and chunks[position + 1].start <= chunk.end:
            chunks[position + 1].start = chunk.end + 1

    src = SourceText(text)  # the document's own lines: the class's other statements too
    facts: dict[tuple[str, ...], tuple[str, Any, object]] = {}
    stand_in, errors = _check_in_class(
        statements, parent, chunks, position, src, path, rules, text, facts, first, last + delta
    )

    fresh = outermost_functions([statements])
    for body in fresh:
        if body.holder is statements:
            body.holder, body.index, body.parent = parent.body, body.index + a, parent
    errors += analyse_bodies(fresh, src, path, rules, text, facts)
    for body in fresh:
        body.hits = [(rule, _shift_hit(hit, -shift)) for rule, hit in body.hits]
        body.shifts = {"full": shift, "stub": shift, "reads": shift}
    chunk.bodies = sorted([*chunk.bodies, *fresh], key=lambda body: body.full.lineno)
    before = _class_slot(chunk, parent)
    errors += _reanalyse_class(chunk, parent, src, path, rules, text, facts)
    if not (
        delta == 0
        and not appended
        and _ascii(old[first - 1 : last], region)
        and _same_in_outline(before, _class_slot(chunk, parent), gone, fresh, replaced, statements)
    ):
        chunk.revision += 1
    if errors:
        chunk.errors = chunk.errors + errors
    chunk.facts = {**chunk.facts, **facts}  # what the new lines' checks asked of the document

    spans = list(chunk.spans)
    spans += [
        DefinitionSpan(s.start - shift, s.end - shift, s.qualname)
        for s in definition_spans(ast.Module(body=[stand_in], type_ignores=[]))
        if first <= s.start <= last + delta
    ]
    spans.sort(key=lambda s: (s.start, -s.end))
    chunk.spans = spans
    chunk.span_starts = [s.start for s in spans]
    return last + delta - first + 1


def _class_slot(chunk: _Chunk, parent: ast.ClassDef) -> _Class | None:
    return next((c for c in chunk.classes if c.full is parent), None)


def _ascii(old: list[str], new: list[str]) -> bool:
    """Both versions of every changed line (``old`` and ``new`` line up: no line added) are
    ASCII: a column on them is the same in bytes (``ast``) and code points (findings), so
    a finding there converts as before."""
    return all(a.isascii() and b.isascii() for a, b in zip(old, new, strict=True) if a != b)


def _same_in_outline(
    before: _Class | None,
    after: _Class | None,
    gone: list[StubbedBody],
    fresh: list[StubbedBody],
    replaced: Sequence[ast.stmt] = (),
    statements: Sequence[ast.stmt] = (),
) -> bool:
    """Whether an edit inside a top-level class left the outline exactly as it was,
    compared with positions, so the module-scoped rules would find exactly what they found.

    A stubbed class (its full body not in the outline) must keep an equal stub and bind the
    same names, and each body swapped in must stand in as the one it replaced (the same
    names bound, an equal stub, equal reads replayed). A class that is in the outline whole
    must also keep its other class-level statements (``replaced`` → ``statements``) and
    each def equal."""
    if (before is None) != (after is None) or len(gone) != len(fresh):
        return False
    whole = before is None
    if before is not None and after is not None:
        if (
            before.active != "stub"
            or before.binds != after.binds
            or _dump([before.stub]) != _dump([after.stub])
        ):
            return False
    elif _dump([s for s in replaced if not isinstance(s, _FUNCTIONS)]) != _dump(
        [s for s in statements if not isinstance(s, _FUNCTIONS)]
    ):
        return False
    for old, new in zip(gone, fresh, strict=True):
        if old.binds != new.binds or (old.stub is None) != (new.stub is None):
            return False
        if _dump([old.stub] if old.stub else []) != _dump([new.stub] if new.stub else []):
            return False
        if _dump(old.reads) != _dump(new.reads) or (whole and _dump([old.full]) != _dump([new.full])):
            return False
    return True


def _dump(nodes: Sequence[Any]) -> str:
    return "\0".join(ast.dump(node, include_attributes=True) for node in nodes)


def _check_in_class(
    statements: list[ast.stmt],
    parent: ast.ClassDef,
    chunks: list[_Chunk],
    position: int,
    src: SourceText,
    path: str,
    rules: Rules,
    text: str,
    facts: dict[tuple[str, ...], Any],
    first: int,
    last: int,
) -> tuple[ast.ClassDef, list[RuleError]]:
    """Run the chunk-local rules over ``statements`` as the whole body of a copy of the
    real class (so they see it as their parent), keep the hits on document lines
    ``first..last`` in the chunk; the stand-in class and the rules' errors."""
    chunk = chunks[position]
    stand_in = copy.copy(parent)
    stand_in.body = statements
    module_bound = frozenset().union(*(c.bound for c in chunks))
    ctx = AnalysisContext(
        path=path,
        source=src,
        tree=ast.Module(body=[stand_in], type_ignores=[]),
        module_text=text,
        fact_log=facts,
        bound_anywhere=module_bound.__contains__,
        module_imports=lambda: _imports_of(chunks),
    )
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch) if statements else ([], [])
    shift = chunk.shift
    chunk.hits += [(rule, _shift_hit(hit, -shift)) for rule, hit in hits if first <= hit.line <= last]
    chunk.findings = None
    return stand_in, errors


def _reanalyse_class(
    chunk: _Chunk,
    parent: ast.ClassDef,
    src: SourceText,
    path: str,
    rules: Rules,
    text: str,
    facts: dict[tuple[str, ...], Any],
    kept: _Class | None = None,
) -> list[RuleError]:
    """The class's own reads and module-scoped findings found again after a change inside
    it (its slot replaced); every def in it back in place, full: the outline decides.

    ``kept``: the class's slot from before a change that left the class as a scope pass
    over it with every def stubbed sees it (a body changed, its stub equal, no line
    added): its reads and findings are kept, with its bodies' bindings and reads again."""
    shift = chunk.shift
    end = parent.end_lineno or parent.lineno
    inside = [body for body in chunk.bodies if parent.lineno <= body.full.lineno <= end]
    for body in inside:
        body.holder[body.index] = body.full
        body.active = "full"
        body.in_class = None
    slot = next((c for c in chunk.classes if c.full is parent), None)
    index = slot.index if slot is not None else next(i for i, s in enumerate(chunk.statements) if s is parent)
    chunk.statements[index] = parent
    chunk.classes = [c for c in chunk.classes if c.full is not parent]
    if kept is not None and all(body.stub is not None for body in inside):
        cls = replace(
            kept,
            binds=kept.own_binds.union(*(b.binds for b in inside)),
            read_names=kept.own_reads.union(*(b.read_names for b in inside)),
            shifts={"full": shift, "stub": shift},  # (settled: every variant at the chunk's lines)
            active="full",
        )
        for body in inside:
            body.in_class = cls
        chunk.classes.append(cls)
        return []
    classes, errors = analyse_classes([(0, [parent])], inside, src, path, rules, text, facts)
    for cls in classes:
        cls.holder, cls.index = chunk.statements, index
        cls.shifts = {"full": shift, "stub": shift}
        cls.hits = [(rule, _shift_hit(hit, -shift)) for rule, hit in cls.hits]
        chunk.classes.append(cls)
    return errors


def _move_after(
    chunks: list[_Chunk], position: int, replaced: list[StubbedBody], first: int, last: int, delta: int
) -> None:
    """Move by ``delta`` lines what follows document line ``last`` (the end of the lines
    being replaced, with the ``replaced`` bodies in them) and stretch what encloses it; the
    chunk is settled (all its nodes at document lines). Later chunks just shift."""
    chunk = chunks[position]
    chunk.revision += 1  # its outline's nodes move
    shift = chunk.shift
    slots: list[StubbedBody | _Class] = [*chunk.classes, *chunk.bodies]
    roots = frozenset(id(n) for slot in slots for n in (slot.full, slot.stub) if n is not None)
    trees: list[ast.AST] = list(chunk.statements)
    gone = {id(body) for body in replaced}
    through = max(first, last)  # what reaches it encloses the lines (or the place: none)
    for slot in slots:
        if id(slot) not in gone:
            trees += [n for n in (slot.full, slot.stub) if n is not None]
            if isinstance(slot, StubbedBody):
                trees += slot.reads
    for node in _positioned(trees, roots - {id(t) for t in trees}):
        line = node.lineno  # type: ignore[attr-defined]
        end = getattr(node, "end_lineno", None) or line
        if line > last:
            node.lineno = line + delta  # type: ignore[attr-defined]
            node.end_lineno = end + delta  # type: ignore[attr-defined]
        elif line < first and end >= through:
            node.end_lineno = end + delta  # type: ignore[attr-defined]

    def moved(hits: list[RawHit]) -> list[RawHit]:
        return [(rule, _shift_hit(hit, delta) if hit.line + shift > last else hit) for rule, hit in hits]

    chunk.hits = moved(chunk.hits)
    chunk.findings = None
    for slot in slots:
        if id(slot) not in gone:
            slot.hits = moved(slot.hits)
            slot.findings = None
    chunk.spans = [
        DefinitionSpan(s.start + delta, s.end + delta, s.qualname)
        if s.start + shift > last
        else DefinitionSpan(s.start, s.end + delta, s.qualname)
        if s.start + shift < first and s.end + shift >= through
        else s
        for s in chunk.spans
    ]
    chunk.span_starts = [s.start for s in chunk.spans]
    chunk.end += delta
    for later in chunks[position + 1 :]:
        later.start += delta
        later.end += delta
        later.shift += delta
