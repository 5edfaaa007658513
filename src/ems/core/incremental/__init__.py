"""Incremental analysis: after an edit, re-parse and re-check only what the edit touched.

The language server analyses a document on every keystroke; a whole-module analysis of a
5,000-line file costs ~130 ms (``ast.parse`` alone ~45 ms). Instead, a document is kept as
*chunks*: each top-level statement with the blank and comment lines before it. An edit is
located by comparing the old and new lines; only the chunks it overlaps are re-parsed (as
one region, on their own) and re-checked. The result equals ``analyse(text)`` exactly; the
tests compare the two over real files and random edits.

Two kinds of rules:

* **chunk-local** rules (the default) only look at one statement's subtree, so their
  findings are cached per chunk, in the chunk's own line numbers, and shifted on output;
* **module-scoped** rules (``Rule.module_scoped``: unused imports, undefined names,
  redefinitions) depend on names bound and read anywhere in the module. They run on every
  change over an *outline* of the module: every statement, except that the bodies of
  outermost functions are replaced by a stub that reads exactly the names the body reads
  from outside (found once per chunk by analysing the bodies with no enclosing scope and
  no builtins, ``build_scope_model(free_loads=...)``). What such a rule finds *inside* a
  body (an unused local import, say) comes from that same per-chunk analysis. A body is
  kept whole in the outline when a stub could not stand in for it exactly: it declares
  ``global``/``nonlocal``, reads a name inside an annotation or under an ``except
  NameError`` guard, or binds a name that the module imports.

Anything unusual (a syntax error, ``\\r`` line ends, ``# ems: skip-file``) takes the plain
``analyse`` path, and the previous chunks are kept for the next edit.
"""

from __future__ import annotations

import ast
import bisect
import copy
import time
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from ems.core.analyse import (
    _apply_suppressions,
    _rule_error_finding,
    _select,
    _to_finding,
    analyse,
    run_rules,
)
from ems.core.config import Config
from ems.core.fingerprint import DefinitionSpan, definition_spans, enclosing_definition, fingerprints
from ems.core.model import Finding, Range, Related, Report, RuleError, render_message
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import IMPORTS, AnalysisContext, Hit, Rule
from ems.core.scope import CLASS_MAGIC, FreeLoad, build_scope_model
from ems.core.source import SourceText
from ems.core.suppressions import skips_file
from ems.core.watched import names_bound

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_STATEMENT_LISTS = ("body", "orelse", "handlers", "finalbody", "cases")
_NO_POSITION = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)

RawHit = tuple[type[Rule], Hit]


# --------------------------------------------------------------------------- the state


@dataclass
class _Body:
    """An outermost function, with the stub that stands in for its body in the outline."""

    holder: list[ast.stmt]  # the statement list that holds the def
    index: int
    full: ast.FunctionDef | ast.AsyncFunctionDef
    stub: ast.FunctionDef | ast.AsyncFunctionDef | None  # None: no stub can stand in
    binds: frozenset[str]  # every name the body binds, at any depth
    hits: list[RawHit]  # module-scoped rules' findings inside the body (chunk lines)
    reads: list[ast.stmt] = field(default_factory=list)  # what the body reads from outside
    shifts: dict[str, int] = field(default_factory=lambda: {"full": 0, "stub": 0, "reads": 0})
    active: str = "full"
    in_class: _Class | None = None
    parent: ast.AST | None = None  # the statement whose list holds the def (None: the chunk's)
    findings: tuple[int, list[Finding]] | None = None


@dataclass
class _Class:
    """A top-level class whose body can be replaced in the outline by its reads from outside.

    Only when every def in it is stubbed: then nothing in the class can change a module-scoped
    finding elsewhere except what its body (decorators, bases, class-level statements and the
    defs' signatures) reads from the module, which the stub replays in order.
    """

    holder: list[ast.stmt]
    index: int
    full: ast.ClassDef
    stub: ast.ClassDef
    binds: frozenset[str]  # names bound in the class or any of its bodies
    hits: list[RawHit]  # module-scoped rules' findings inside the class (chunk lines)
    shifts: dict[str, int] = field(default_factory=lambda: {"full": 0, "stub": 0})
    active: str = "full"
    findings: tuple[int, list[Finding]] | None = None


@dataclass
class _Chunk:
    start: int  # first line in the document (1-based)
    end: int  # last line
    shift: int  # document line = chunk (ast) line + shift
    statements: list[ast.stmt]  # the outline's statements (bodies swapped for stubs)
    hits: list[RawHit]  # chunk-local rules' findings, in chunk lines
    errors: list[RuleError]
    bodies: list[_Body]
    classes: list[_Class]
    imports: frozenset[str]  # names bound by imports outside any function
    spans: list[DefinitionSpan]  # every def/class, in chunk lines
    span_starts: list[int]
    applied: int = 0  # shift already applied to the outline's nodes
    findings: tuple[int, list[Finding]] | None = None  # (shift, findings of ``hits``)
    bound: frozenset[str] = frozenset()  # watched names bound anywhere in the chunk
    import_statements: list[ast.stmt] = field(default_factory=list)  # its top-level imports
    # facts about the rest of the document its findings were computed under (rule.py)
    facts: dict[tuple[str, ...], tuple[str, Any, object]] = field(default_factory=dict)


@dataclass
class _Rules:
    local_rules: tuple[Rule, ...]
    local_dispatch: dict[type[ast.AST], tuple[Rule, ...]]
    scoped_rules: tuple[Rule, ...]
    scoped_dispatch: dict[type[ast.AST], tuple[Rule, ...]]
    enabled: frozenset[str]
    watched: frozenset[str]  # names whose binding anywhere matters to a chunk-local rule


@dataclass
class _State:
    key: tuple[object, ...]
    lines: list[str]
    chunks: list[_Chunk]
    rules: _Rules
    text: str = ""
    report: Report | None = None
    # the last edit: old and new text of the changed lines, and whether the watched names
    # bound in the module changed (what can make another chunk's facts stale)
    edit: tuple[str, str, bool, bool] = ("", "", False, False)  # ... and whether imports changed


class IncrementalAnalyser:
    """``analyse`` for documents that change a little at a time; one state per path."""

    def __init__(self, max_documents: int = 32) -> None:
        self._states: OrderedDict[str, _State] = OrderedDict()
        self._max = max_documents
        # Lines parsed by the last call (the whole text, or only the re-parsed region):
        # what tests and ``ems.status`` read to see that an edit stayed incremental.
        self.last_reparsed_lines = 0
        # Documents answered by a plain analysis whose state is still to be built, in order:
        # building costs a few whole analyses, so an opened file gets its diagnostics first
        # and the state is built when the worker is idle (``prepare``).
        self._pending: OrderedDict[str, tuple[str, Config, RuleSet]] = OrderedDict()

    def forget(self, path: str) -> None:
        self._states.pop(path, None)
        self._pending.pop(path, None)

    def has_pending(self) -> bool:
        return bool(self._pending)

    def prepare(self) -> None:
        """Build the state of the oldest document answered without one (idle-time work)."""
        if not self._pending:
            return
        path, (text, config, ruleset) = next(iter(self._pending.items()))
        self.analyse(text, path, config, ruleset)  # pending: builds, and leaves the queue

    def analyse(
        self,
        text: str,
        path: str = "<stdin>",
        config: Config | None = None,
        ruleset: RuleSet | None = None,
    ) -> Report:
        config = config or Config()
        ruleset = ruleset or load_rules()
        if "\r" in text or "\0" in text or skips_file(text):
            self._states.pop(path, None)
            self.last_reparsed_lines = text.count("\n") + 1
            return analyse(text, path, config, ruleset)
        started = time.perf_counter()
        key = (config.fingerprint(), tuple(ruleset.codes))
        state = self._states.get(path)
        lines = text.split("\n")
        if state is not None and state.key == key:
            if state.text == text and state.report is not None:
                self.last_reparsed_lines = 0
                return state.report
            reparsed = _update(state, lines, text, path)
            if reparsed is not None and not _refresh(state, text, lines, path):
                reparsed = None
        else:
            state = None
            reparsed = None
            pending = self._pending.get(path)
            if pending is None or pending[0] != text:  # new: answer now, build when idle
                self._pending[path] = (text, config, ruleset)
                self.last_reparsed_lines = len(lines)
                return analyse(text, path, config, ruleset)
        self._pending.pop(path, None)
        self.last_reparsed_lines = len(lines) if reparsed is None else reparsed
        if reparsed is None:
            state = _build(text, lines, path, config, ruleset, key)
            if state is None:  # the text does not parse: the plain path reports E999
                return analyse(text, path, config, ruleset)
        assert state is not None
        self._states[path] = state
        self._states.move_to_end(path)
        while len(self._states) > self._max:
            self._states.popitem(last=False)
        state.lines = lines
        state.text = text
        state.report = _report(state, text, path, config, ruleset, started)
        return state.report


# --------------------------------------------------------------------------- building


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _split_rules(ruleset: RuleSet, config: Config, path: str) -> _Rules:
    selected, enabled = _select(ruleset, config, path)
    local = tuple(r for r in selected.rules if not r.module_scoped)
    scoped = tuple(r for r in selected.rules if r.module_scoped)

    def dispatch(rules: tuple[Rule, ...]) -> dict[type[ast.AST], tuple[Rule, ...]]:
        table: dict[type[ast.AST], list[Rule]] = {}
        for rule in rules:
            for node_type in rule.node_types:
                table.setdefault(node_type, []).append(rule)
        return {k: tuple(v) for k, v in table.items()}

    watched = frozenset().union(*(r.watched_names for r in local))
    return _Rules(local, dispatch(local), scoped, dispatch(scoped), enabled, watched)


def _build(
    text: str, lines: list[str], path: str, config: Config, ruleset: RuleSet, key: tuple[object, ...]
) -> _State | None:
    tree = _parse(text)
    if tree is None:
        return None
    rules = _split_rules(ruleset, config, path)
    chunks = _chunks_of(tree, SourceText(text), 1, len(lines), path, rules, text, frozenset(), ([], []))
    return _State(key, lines, chunks, rules)


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
    if first == last:
        reparsed = _update_method(chunks, first, low, high, delta, old, new, text, path, state.rules)
        if reparsed is not None:
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
        for chunk in chunks[b + 1 :]:
            chunk.start += delta
            chunk.end += delta
            chunk.shift += delta
        state.chunks = chunks[:a] + fresh + chunks[b + 1 :]
        return max(0, region_end - region_start + 1)
    return None


def _imports_of(chunks: list[_Chunk]) -> list[ast.stmt]:
    return [statement for chunk in chunks for statement in chunk.import_statements]


def _refresh(state: _State, text: str, lines: list[str], path: str) -> bool:
    """Re-check the chunks whose facts about the rest of the document the last edit changed.

    A fact is looked at only when the edit touched its word (or, for "is NAME bound
    anywhere", when the watched names bound in the module changed): usually none is.
    False when a chunk no longer parses alone (the caller rebuilds).
    """
    old_text, new_text, bound_changed, imports_changed = state.edit
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


def _region(
    before: list[_Chunk],
    after: list[_Chunk],
    region_text: str,
    start: int,
    end: int,
    path: str,
    rules: _Rules,
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
    rules: _Rules,
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
    parent = found.parent
    assert isinstance(parent, ast.ClassDef)
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
        _move_after(chunks, position, found, first, last, delta)
    src = SourceText(padded)
    stand_in = copy.copy(parent)
    stand_in.body = [method]
    facts: dict[tuple[str, ...], tuple[str, Any, object]] = {}
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
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    chunk.hits += [(rule, _shift_hit(hit, -shift)) for rule, hit in hits if first <= hit.line <= last + delta]
    chunk.findings = None

    fresh = _Body(found.holder, found.index, method, None, frozenset(), [], parent=parent)
    errors += _analyse_bodies([fresh], src, path, rules, text, facts)
    fresh.hits = [(rule, _shift_hit(hit, -shift)) for rule, hit in fresh.hits]
    fresh.shifts = {"full": shift, "stub": shift, "reads": shift}
    chunk.bodies[chunk.bodies.index(found)] = fresh
    siblings = [b for b in chunk.bodies if b.parent is parent]
    for body in siblings:  # every def of the class back in place, full; the outline decides
        body.holder[body.index] = body.full
        body.active = "full"
        body.in_class = None

    # the class's own reads and findings, now with the new method's signature
    slot = next((c for c in chunk.classes if c.full is parent), None)
    index = slot.index if slot is not None else next(i for i, s in enumerate(chunk.statements) if s is parent)
    chunk.statements[index] = parent
    chunk.classes = [c for c in chunk.classes if c.full is not parent]
    classes, class_errors = _analyse_classes([(0, [parent])], siblings, src, path, rules, text, facts)
    errors += class_errors
    for cls in classes:
        cls.holder, cls.index = chunk.statements, index
        cls.shifts = {"full": shift, "stub": shift}
        cls.hits = [(rule, _shift_hit(hit, -shift)) for rule, hit in cls.hits]
        chunk.classes.append(cls)
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


def _move_after(
    chunks: list[_Chunk], position: int, method: _Body, first: int, last: int, delta: int
) -> None:
    """Move by ``delta`` lines what follows document line ``last`` (the end of ``method``,
    which is being replaced) and stretch what encloses it; the chunk is settled (all its
    nodes at document lines). Later chunks just shift."""
    chunk = chunks[position]
    shift = chunk.shift
    slots: list[_Body | _Class] = [*chunk.classes, *chunk.bodies]
    roots = frozenset(id(n) for slot in slots for n in (slot.full, slot.stub) if n is not None)
    trees: list[ast.AST] = list(chunk.statements)
    for slot in slots:
        if slot is not method:
            trees += [n for n in (slot.full, slot.stub) if n is not None]
            if isinstance(slot, _Body):
                trees += slot.reads
    for node in _positioned(trees, roots - {id(t) for t in trees}):
        line = node.lineno  # type: ignore[attr-defined]
        end = getattr(node, "end_lineno", None) or line
        if line > last:
            node.lineno = line + delta  # type: ignore[attr-defined]
            node.end_lineno = end + delta  # type: ignore[attr-defined]
        elif line < first and end >= last:
            node.end_lineno = end + delta  # type: ignore[attr-defined]

    def moved(hits: list[RawHit]) -> list[RawHit]:
        return [(rule, _shift_hit(hit, delta) if hit.line + shift > last else hit) for rule, hit in hits]

    chunk.hits = moved(chunk.hits)
    chunk.findings = None
    for slot in slots:
        if slot is not method:
            slot.hits = moved(slot.hits)
            slot.findings = None
    chunk.spans = [
        DefinitionSpan(s.start + delta, s.end + delta, s.qualname)
        if s.start + shift > last
        else DefinitionSpan(s.start, s.end + delta, s.qualname)
        if s.start + shift < first and s.end + shift >= last
        else s
        for s in chunk.spans
    ]
    chunk.span_starts = [s.start for s in chunk.spans]
    chunk.end += delta
    for later in chunks[position + 1 :]:
        later.start += delta
        later.end += delta
        later.shift += delta


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    if decorators:
        return min(statement.lineno, *(d.lineno for d in decorators))
    return statement.lineno


def _chunks_of(
    tree: ast.Module,
    src: SourceText,
    start: int,
    end: int,
    path: str,
    rules: _Rules,
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
    facts: dict[tuple[str, ...], tuple[str, Any, object]] = {}
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
    bodies = _outermost_functions([statements for _, statements in groups])
    errors += _analyse_bodies(bodies, src, path, rules, text, facts)
    classes, class_errors = _analyse_classes(groups, bodies, src, path, rules, text, facts)
    errors += class_errors

    chunks: list[_Chunk] = []
    lower = 0
    ends = [g[0] for g in groups]
    hits_by_chunk: list[list[RawHit]] = [[] for _ in groups]
    for hit in local_hits:
        hits_by_chunk[min(bisect.bisect_left(ends, hit[1].line), len(groups) - 1)].append(hit)
    bodies_by_chunk: list[list[_Body]] = [[] for _ in groups]
    for body in bodies:
        bodies_by_chunk[min(bisect.bisect_left(ends, body.full.lineno), len(groups) - 1)].append(body)
    classes_by_chunk: list[list[_Class]] = [[] for _ in groups]
    for cls in classes:
        classes_by_chunk[min(bisect.bisect_left(ends, cls.full.lineno), len(groups) - 1)].append(cls)
    imports_by_chunk = [_import_names(statements) for _, statements in groups]
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
                spans=spans,
                span_starts=[s.start for s in spans],
                bound=bound[index],
                import_statements=top_imports[index],
                facts=facts,
            )
        )
        lower = upper
    return chunks


def _outermost_functions(groups: list[list[ast.stmt]]) -> list[_Body]:
    """Every def not inside another def, with the list that holds it (no expression walk)."""
    found: list[_Body] = []
    lists: list[tuple[list[ast.stmt], ast.AST | None]] = [(group, None) for group in groups]
    while lists:
        children, parent = lists.pop()
        for index, child in enumerate(children):
            if isinstance(child, _FUNCTIONS):
                found.append(_Body(children, index, child, None, frozenset(), [], parent=parent))
            elif isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)):
                for name in _STATEMENT_LISTS:
                    nested = getattr(child, name, None)
                    if nested.__class__ is list:
                        lists.append((nested, child))
    found.sort(key=lambda b: b.full.lineno)
    return found


def _import_names(statements: list[ast.stmt]) -> frozenset[str]:
    names: set[str] = set()
    stack: list[ast.AST] = list(statements)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.add(alias.asname or alias.name.partition(".")[0])
        elif not isinstance(node, _FUNCTIONS):
            for name in _STATEMENT_LISTS:
                children = getattr(node, name, None)
                if children.__class__ is list:
                    stack.extend(children)
    return frozenset(names)


def _analyse_bodies(
    bodies: list[_Body],
    src: SourceText,
    path: str,
    rules: _Rules,
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
        body.binds, exact = _binds(body.full)
        if exact and all(_replayable(load) for load in loads):
            body.stub, body.reads = _stub(body.full, loads)
    return errors


def _alone(
    statements: list[ast.stmt],
    starts: list[int],
    src: SourceText,
    path: str,
    rules: _Rules,
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


def _analyse_classes(
    groups: list[tuple[int, list[ast.stmt]]],
    bodies: list[_Body],
    src: SourceText,
    path: str,
    rules: _Rules,
    text: str,
    facts: dict[tuple[str, ...], Any],
) -> tuple[list[_Class], list[RuleError]]:
    """Top-level classes analysed alone (defs as stubs): what they read, what they find inside."""
    candidates: list[tuple[list[ast.stmt], int, ast.ClassDef, list[_Body]]] = []
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
        )
        for body in inside:
            body.in_class = cls
        classes.append(cls)
    return classes, errors


def _replayable(load: FreeLoad, class_level: bool = False) -> bool:
    """Whether replaying this read elsewhere gives the same judgement as in place."""
    if load.annotation or load.guards or not hasattr(load.node, "end_col_offset"):
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


# --------------------------------------------------------------------------- reporting


def _positioned(roots: list[ast.AST], stop: frozenset[int] = frozenset()) -> Iterator[ast.AST]:
    """Every node under ``roots`` (each once) that has a line, not entering ``stop`` ids."""
    seen: set[int] = set()
    stack = [r for r in roots if id(r) not in stop]
    while stack:
        node = stack.pop()
        if id(node) in seen or isinstance(node, _NO_POSITION):
            continue
        seen.add(id(node))
        if getattr(node, "lineno", None) is not None:
            yield node
        for name in node._fields:
            value = getattr(node, name, None)
            if value.__class__ is list:
                stack.extend(v for v in value if isinstance(v, ast.AST) and id(v) not in stop)
            elif isinstance(value, ast.AST) and id(value) not in stop:
                stack.append(value)


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


def _variant(slot: _Body | _Class, name: str) -> ast.stmt:
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
    slots: list[_Body | _Class] = [*chunk.classes, *chunk.bodies]
    roots = frozenset(id(n) for slot in slots for n in (slot.full, slot.stub) if n is not None)
    for slot in slots:
        if every_variant:
            names = ["full", "stub"] if slot.stub is not None else ["full"]
        elif isinstance(slot, _Body) and slot.in_class is not None and slot.in_class.active == "stub":
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


def _outline(state: _State) -> _Outline:
    """The module with stubbed classes and bodies, every node at its document line.

    Each swappable piece (a class or a def, full or stub) keeps the shift its own nodes
    have received, and is brought to its chunk's shift only when it is in the outline;
    the rest of a chunk's nodes move together. So an edit that adds a line moves only the
    outline's few nodes below it, never whole function bodies.

    Whether a name read from outside is defined (F821) or marks an import used does not
    depend on which body reads it or how often: the outline replays each name once, and
    ``repeats`` keeps the other reads so that an undefined-name finding covers them all.
    """
    imported = frozenset().union(*(c.imports for c in state.chunks))
    statements: list[ast.stmt] = []
    reads: list[ast.stmt] = []
    first_read: dict[str, tuple[int, int]] = {}
    repeats: dict[tuple[int, int], list[ast.AST]] = {}
    for chunk in state.chunks:
        for cls in chunk.classes:
            wanted = "full" if cls.binds & imported else "stub"
            if wanted != cls.active:
                cls.holder[cls.index] = _variant(cls, wanted)
                cls.active = wanted
        for body in chunk.bodies:
            wanted = "stub" if body.stub is not None and not (body.binds & imported) else "full"
            if wanted != body.active:
                body.holder[body.index] = _variant(body, wanted)
                body.active = wanted
        _settle(chunk, every_variant=False)
        for body in chunk.bodies:
            if body.active == "stub" and body.reads:
                for read in body.reads:
                    name = read.value  # type: ignore[attr-defined]
                    where = first_read.get(name.id)
                    if where is None:
                        first_read[name.id] = (name.lineno, name.col_offset)
                        repeats[(name.lineno, name.col_offset)] = []
                        reads.append(read)
                    else:
                        repeats[where].append(name)
        statements.extend(chunk.statements)
    if reads:
        first = reads[0]
        arguments = ast.arguments(
            posonlyargs=[], args=[], vararg=None, kwonlyargs=[], kw_defaults=[], kwarg=None, defaults=[]
        )
        outside = ast.FunctionDef(
            name="\0outside",
            args=arguments,
            body=reads,
            decorator_list=[],
            lineno=first.lineno,
            col_offset=0,
            end_lineno=first.lineno,
            end_col_offset=0,
        )
        statements.append(outside)
    return _Outline(ast.Module(body=statements, type_ignores=[]), repeats)


def _shift_hit(hit: Hit, delta: int) -> Hit:
    """``hit`` moved ``delta`` lines: its range, its related places, and its message when
    it names their lines (rendered again from its template)."""
    if not delta:
        return hit
    related = tuple(
        Related(
            Range.of(
                r.range.start.line + delta, r.range.start.column, r.range.end.line + delta, r.range.end.column
            ),
            r.message,
            r.name,
        )
        for r in hit.related
    )
    message = render_message(hit.template, related) if hit.template else hit.message
    return Hit(
        hit.line + delta,
        hit.column,
        hit.end_line + delta,
        hit.end_column,
        message,
        related,
        hit.data,
        hit.template,
    )


def _report(state: _State, text: str, path: str, config: Config, ruleset: RuleSet, started: float) -> Report:
    findings: list[Finding] = []
    errors: dict[str, RuleError] = {}
    for chunk in state.chunks:
        findings += _cached_findings(chunk, chunk.shift, path, config)
        for error in chunk.errors:
            errors.setdefault(error.code, error)
    outline = _outline(state)
    for chunk in state.chunks:
        slots: tuple[_Body | _Class, ...] = (*chunk.bodies, *chunk.classes)
        for slot in slots:
            if slot.active == "stub" and slot.hits:
                findings += _cached_findings(slot, chunk.shift, path, config)
    raw: list[RawHit] = []
    src = SourceText(text)
    ctx = AnalysisContext(path=path, source=src, tree=outline.module)
    scoped, scoped_errors = run_rules(ctx, state.rules.scoped_rules, state.rules.scoped_dispatch)
    for rule, hit in scoped:
        raw.append((rule, hit))
        if hit.line == hit.end_line:
            repeated = outline.repeats.get((hit.line, _byte_column(src, hit.line, hit.column)))
            for node in repeated or ():
                raw.append(
                    (
                        rule,
                        ctx.hit(node, hit.message, related=hit.related, data=hit.data, template=hit.template),
                    )
                )
    for error in scoped_errors:
        errors.setdefault(error.code, error)
    findings += [_to_finding(rule, hit, path, config) for rule, hit in raw]
    findings.extend(_rule_error_finding(err, path) for err in errors.values())
    findings = _apply_suppressions(findings, text, ruleset, state.rules.enabled, path, config)
    findings.sort(key=lambda f: (f.range.start, f.code))
    findings = _fingerprinted(findings, state, src, path)
    elapsed = time.perf_counter() - started
    return Report(path, tuple(findings), False, tuple(errors.values()), {"total": elapsed})


def _cached_findings(owner: _Chunk | _Body | _Class, shift: int, path: str, config: Config) -> list[Finding]:
    """The owner's cached hits as findings at its current place (rebuilt when it moves)."""
    if owner.findings is None or owner.findings[0] != shift:
        owner.findings = (
            shift,
            [_to_finding(rule, _shift_hit(hit, shift), path, config) for rule, hit in owner.hits],
        )
    return owner.findings[1]


def _byte_column(src: SourceText, line: int, column: int) -> int:
    """The UTF-8 offset ``ast`` gives for a code-point column (ASCII lines: the same)."""
    text = src.line(line)
    return column if text.isascii() else len(text[:column].encode("utf-8"))


def _fingerprinted(findings: list[Finding], state: _State, src: SourceText, path: str) -> list[Finding]:
    if not findings:
        return findings
    starts = [c.start for c in state.chunks]

    def enclosing(line: int) -> str:
        chunk = state.chunks[max(0, bisect.bisect_right(starts, line) - 1)]
        if not chunk.spans:
            return ""
        return enclosing_definition(chunk.spans, chunk.span_starts, line - chunk.shift)

    keys = [(f.code, path, src.line(f.line), enclosing(f.line)) for f in findings]
    return [replace(f, fingerprint=fp) for f, fp in zip(findings, fingerprints(keys), strict=True)]


__all__ = ["IncrementalAnalyser"]
