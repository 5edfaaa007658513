"""Verification's analysis of a fixed text whose changes all lie inside function bodies:
only those bodies are checked again; every other finding is the judged text's own.

Why: judging fixability analyses each fixed text (``engine.verify``), and most fixes
(an unused variable, a comparison, a loop's ``else``) change a line or two inside one
function. ``ems.fixes.reanalyse`` parses only the changed top-level statements, but the
scope model and every rule still ran over the whole module: most of a judged file's cost.

The two kinds of rules of ``ems.core.incremental`` are answered apart, on the same
grounds the language server's incremental analysis stands on:

* **chunk-local** rules over the changed function alone (a top-level def as its own
  module, a method inside a copy of its top-level class, as ``incremental.edits`` checks
  an edited method); their findings elsewhere are the judged text's, moved by the lines
  the fixes added or removed;
* **module-scoped** rules (unused imports, undefined names, redefinitions) see a function
  body only through what it reads from outside and what it binds: the body is analysed
  alone, before and after (``incremental.stubs.analyse_bodies``), and when both stand in
  as stubs (``stubs.stands_in``) that read the same names in the same order, the module's
  outline is the same, so the findings outside the body are the judged text's, the
  findings inside it are the new body's own, and a finding at a read outside (an
  undefined name) moves to the same read in the new body.

What the rules asked of the rest of the module (``analyse``'s fact log) is checked as the
incremental analysis re-checks it: a fact whose word the changed bodies hold is computed
again on the fixed text, and a body that binds a watched name it did not (or the reverse)
declines. Anything this cannot prove the same — a change outside a function body, a
suppression comment, a rule error, a nesting other than a top-level def or a method of a
top-level class, a body no stub stands in for, two findings that would tie in the report's
order — returns None, and the caller analyses the text another way.
"""

from __future__ import annotations

import ast
import bisect
import copy
import time
import warnings
from collections import Counter
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import pairwise

from ems.core.analyse import _to_finding, _with_fingerprints, names_from_spans, run_rules
from ems.core.config import Config
from ems.core.fingerprint import definition_spans
from ems.core.incremental.state import Rules, _Body, split_rules
from ems.core.incremental.stubs import (
    analyse_bodies,
    import_names,
    outermost_functions,
    stands_in,
    typing_names,
)
from ems.core.model import Finding, Range, Related, Report, render_message
from ems.core.parsing import PIECEWISE_MIN_CHARS
from ems.core.registry import RuleSet
from ems.core.rule import IMPORTS, AnalysisContext, Hit, Rule
from ems.core.scope import BUILTINS
from ems.core.source import SourceText
from ems.core.suppressions import parse_suppressions, skips_file
from ems.core.watched import names_bound
from ems.fixes.context import shared_ends

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
# A statement of these kinds directly in a class body may make a method unreachable
# (EMS102 judges the whole block): such a class is not checked a method at a time.
_TERMINATORS = (ast.Return, ast.Raise, ast.Continue, ast.Break)


@dataclass(frozen=True)
class Body:
    """An outermost function of the judged text: its def (decorators from ``first``), the
    first line of its body's first statement (``start``) and its last line (``end``)."""

    first: int
    start: int
    end: int
    node: ast.FunctionDef | ast.AsyncFunctionDef
    parent: ast.AST | None  # the statement whose list holds it (None: a top-level list)
    top: bool  # directly in the module, or a method directly in a top-level class


@dataclass(frozen=True)
class _Change:
    body: Body
    new_first: int  # the def's first line in the fixed text
    new_end: int  # its last line there
    offset: int  # fixed line - judged line above the def


class Judged:
    """What the body-at-a-time analysis reads of the judged text, computed once per judged
    file (``FixMemo``): its outermost functions, their bodies analysed alone, its imports."""

    def __init__(self, text: str, tree: ast.Module, report: Report, facts: dict) -> None:
        self.text, self.tree, self.report, self.facts = text, tree, report, facts
        self.alone: dict[int, _Body | None] = {}
        self.bound: dict[str, bool] = {}
        self.rules: dict[tuple[object, str], Rules] = {}

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def source(self) -> SourceText:
        return SourceText(self.text)

    @cached_property
    def usable(self) -> bool:
        report = self.report
        return not (
            report.syntax_error
            or report.rule_errors
            or len(self.text) >= PIECEWISE_MIN_CHARS
            or "\r" in self.text
            or "\0" in self.text
            or "barry_as_FLUFL" in self.text
            or skips_file(self.text)
            or parse_suppressions(self.text)
        )

    @cached_property
    def bodies(self) -> list[Body]:
        top = {id(s) for s in self.tree.body}
        found = []
        for body in outermost_functions([self.tree.body]):
            node = body.full
            first_statement = node.body[0]
            start = getattr(first_statement, "lineno", 0)
            for decorator in getattr(first_statement, "decorator_list", ()):
                start = min(start, decorator.lineno)
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            line = self.lines[start - 1] if 0 < start <= len(self.lines) else ""
            if start <= node.lineno or line[: first_statement.col_offset].strip():
                continue  # `def f(): return 1`: the body shares the header's line
            parent = body.parent
            in_top = parent is None and id(node) in top
            in_class = isinstance(parent, ast.ClassDef) and id(parent) in top
            found.append(Body(first, start, node.end_lineno or node.lineno, node, parent, in_top or in_class))
        found.sort(key=lambda b: b.start)
        return found

    @cached_property
    def starts(self) -> list[int]:
        return [b.start for b in self.bodies]

    @cached_property
    def imported(self) -> frozenset[str]:
        return import_names(self.tree.body)

    @cached_property
    def typing(self) -> frozenset[str]:
        return typing_names(self.tree.body)

    @cached_property
    def top_imports(self) -> list[ast.stmt]:
        return [s for s in self.tree.body if isinstance(s, (ast.Import, ast.ImportFrom))]

    def split(self, ruleset: RuleSet, config: Config, path: str) -> Rules:
        key = (config, path)
        rules = self.rules.get(key)
        if rules is None:
            rules = self.rules[key] = split_rules(ruleset, config, path)
        return rules

    @cached_property
    def bound_names(self) -> frozenset[str]:
        """Every name the judged text binds anywhere (``ems.core.watched``'s sense), and
        ``*`` for a star import: one walk of its tree, when a fix changed what a body reads."""
        names: set[str] = set()
        stack: list[ast.AST] = [self.tree]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Store):
                    names.add(node.id)
                continue
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names.update(alias.asname or alias.name.partition(".")[0] for alias in node.names)
            elif isinstance(node, (ast.ExceptHandler, ast.MatchAs, ast.MatchStar)) and node.name:
                names.add(node.name)
            elif isinstance(node, ast.MatchMapping) and node.rest:
                names.add(node.rest)
            elif isinstance(node, (ast.Global, ast.Nonlocal)):
                names.update(node.names)
            stack.extend(ast.iter_child_nodes(node))
        return frozenset(names)

    def free(self, name: str) -> bool:
        """Whether a read of ``name`` leaving a function body is a builtin's whatever else
        happens: a builtin the module binds nowhere (nor can through a star import). Such
        a read neither uses a binding nor is undefined: adding or removing it leaves the
        module-scoped rules' outline judging the same."""
        return name in BUILTINS and name not in self.bound_names and "*" not in self.bound_names

    def binds_anywhere(self, name: str) -> bool:
        """Whether the judged text binds ``name`` anywhere (the fixed one does too when no
        changed body binds it differently): from the log when its analysis asked."""
        logged = self.facts.get(("binds", name))
        if logged is not None:
            return bool(logged[2])
        if name not in self.bound:
            self.bound[name] = name in names_bound([self.tree], frozenset({name}), self.text)
        return self.bound[name]

    def alone_of(self, index: int, path: str, rules: Rules) -> _Body | None:
        """The body ``index`` analysed alone (``stubs.analyse_bodies``), once; None when a
        rule erred on it."""
        if index not in self.alone:
            slot = outermost_functions([[self.bodies[index].node]])[0]
            errors = analyse_bodies([slot], self.source, path, rules, self.text, {})
            self.alone[index] = None if errors else slot
        return self.alone[index]


def in_bodies(judged: Judged, text: str, path: str, config: Config, ruleset: RuleSet) -> Report | None:
    """``analyse(text)``'s report when every change from the judged text lies inside
    function bodies and the rest of the report is provably the judged one; else None."""
    started = time.perf_counter()
    if (
        not judged.usable
        or len(text) >= PIECEWISE_MIN_CHARS
        or "\r" in text
        or "\0" in text
        or "barry_as_FLUFL" in text
        or skips_file(text)
        or parse_suppressions(text)
    ):
        return None
    new = text.split("\n")
    changes = _changes(judged, new)
    if not changes:
        return None
    rules = judged.split(ruleset, config, path)
    source = SourceText(text)
    scoped_codes = frozenset(rule.code for rule in rules.scoped_rules)
    fresh: list[Finding] = []
    moved: dict[tuple[int, int, int, int], tuple[int, int, int, int]] = {}
    expected: Counter[tuple[str, int, int, int, int, str]] = Counter()
    watched = rules.watched | frozenset(word for word, compute, _ in judged.facts.values() if compute is None)
    changed_text: list[str] = []
    defs: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
    for change in changes:
        body = change.body
        if not body.top:
            return None
        index = judged.bodies.index(body)
        node = _parse_def(new, change, body)
        if node is None:
            return None
        defs.append(node)
        old_region = "\n".join(judged.lines[body.first - 1 : body.end])
        new_region = "\n".join(new[change.new_first - 1 : change.new_end])
        changed_text += (old_region, new_region)
        if watched and names_bound([body.node], watched, old_region) != names_bound(
            [node], watched, new_region
        ):
            return None
        # module-scoped rules: the body's stub must stand in, before and after, the same way
        before = judged.alone_of(index, path, rules)
        after = outermost_functions([[node]])[0]
        if before is None or analyse_bodies([after], source, path, rules, text, {}):
            return None
        if not all(stands_in(slot, judged.imported, judged.typing) for slot in (before, after)):
            return None
        old_reads = [r.value for r in before.reads if not judged.free(r.value.id)]  # type: ignore[attr-defined]
        new_reads = [r.value for r in after.reads if not judged.free(r.value.id)]  # type: ignore[attr-defined]
        assert all(isinstance(r, ast.Name) for r in (*old_reads, *new_reads))
        if [r.id for r in old_reads] != [r.id for r in new_reads]:
            return None
        for rule, hit in before.hits:
            expected[(rule.code, hit.line, hit.column, hit.end_line, hit.end_column, hit.message)] += 1
        for old_read, new_read in zip(old_reads, new_reads, strict=True):
            moved[_span(old_read, judged.source)] = _span(new_read, source)
        fresh += [_to_finding(rule, hit, path, config) for rule, hit in after.hits]
        # chunk-local rules: the new def alone, or inside a copy of its class
        local = _local_hits(judged, body, node, change, source, path, rules, text)
        if local is None:
            return None
        fresh += [_to_finding(rule, hit, path, config) for rule, hit in local]
    if not _facts_hold(judged, text, changed_text):
        return None

    findings: list[Finding] = []
    firsts = [c.body.first for c in changes]
    for finding in judged.report.findings:
        line = finding.range.start.line
        at = bisect.bisect_right(firsts, line) - 1
        around = changes[at] if at >= 0 and line <= changes[at].body.end else None
        if around is not None and line >= around.body.start:
            if finding.code not in scoped_codes:
                continue  # a chunk-local finding of the body: found again above
            key = (finding.code, line, finding.range.start.column, finding.range.end.line,
                   finding.range.end.column, finding.message)  # fmt: skip
            if expected[key] > 0:
                expected[key] -= 1  # the body's own, found again on the new body
                continue
            place = moved.get(_range_key(finding.range))
            if place is None or finding.related:
                return None
            findings.append(replace(finding, range=Range.of(*place), fingerprint=""))
            continue
        if around is not None and finding.code not in scoped_codes:
            continue  # a chunk-local finding on the def's header: found again above
        shifted = _shifted(finding, changes, firsts)
        if shifted is None:
            return None
        findings.append(shifted)
    if any(expected.values()):
        return None  # the alone analysis found what the judged report does not hold
    findings += fresh
    findings.sort(key=lambda f: (f.range.start, f.code))
    if _ties(findings, changes):
        return None
    names = _names(judged, findings, changes, defs)
    findings = _with_fingerprints(findings, names, source, path)
    return Report(path, tuple(findings), False, (), {"total": time.perf_counter() - started})


def _changes(judged: Judged, new: list[str]) -> list[_Change] | None:
    """The outermost functions whose bodies the fixed text changed, with where they are in
    it; None when a changed line lies outside every function body."""
    old = judged.lines
    head, tail = shared_ends(old, new)
    if head == len(old) == len(new):
        return None
    bodies, starts = judged.bodies, judged.starts
    changes: list[_Change] = []
    i = j = head  # the first differing lines (0-based)
    while True:
        k = bisect.bisect_right(starts, i + 1) - 1
        if k < 0 or bodies[k].end < i + 1 or (changes and changes[-1].body is bodies[k]):
            return None
        body = bodies[k]
        offset = j - i
        new_first = body.first + offset
        after = len(old) - body.end  # judged lines after the def
        if after <= tail:
            new_end = len(new) - after
        else:
            m = body.end  # the first line after the def that is code (not blank, no comment)
            while m < len(old) and (not old[m].strip() or old[m].lstrip().startswith("#")):
                m += 1
            if m == len(old):
                return None
            try:
                anchor = new.index(old[m], j)
            except ValueError:
                return None
            gap = m - body.end
            if anchor - gap < j or new[anchor - gap : anchor] != old[body.end : m]:
                return None
            new_end = anchor - gap
        if new_end < new_first:
            return None
        changes.append(_Change(body, new_first, new_end, offset))
        i, j = body.end, new_end
        if len(old) - i <= tail and j - i == len(new) - len(old):
            return changes
        while i < len(old) and j < len(new) and old[i] == new[j]:
            i += 1
            j += 1
        if i == len(old) and j == len(new):
            return changes
        if i == len(old) or j == len(new):
            return None


def _parse_def(new: list[str], change: _Change, body: Body) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The def at ``change``'s lines of the fixed text parsed alone (at its own line numbers
    and columns: a method inside a stand-in ``class`` line); None unless it is one def of
    the same kind, name and place that ends exactly there."""
    first, end = change.new_first, change.new_end
    region = new[first - 1 : end]
    if not region or region[-1].endswith("\\") or (first > 1 and new[first - 2].endswith("\\")):
        return None
    column = body.node.col_offset
    if column:
        if first < 2:
            return None
        source = "\n" * (first - 2) + "class _:\n" + "\n".join(region)
    else:
        source = "\n" * (first - 1) + "\n".join(region)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    statements = tree.body
    if column:
        if len(statements) != 1 or not isinstance(statements[0], ast.ClassDef):
            return None
        statements = statements[0].body
    if len(statements) != 1:
        return None
    node = statements[0]
    if (
        type(node) is not type(body.node)
        or node.name != body.node.name
        or node.col_offset != column
        or node.end_lineno != end
        or min([node.lineno, *(d.lineno for d in node.decorator_list)]) != first
    ):
        return None
    return node


def _local_hits(
    judged: Judged,
    body: Body,
    node: ast.FunctionDef | ast.AsyncFunctionDef,
    change: _Change,
    source: SourceText,
    path: str,
    rules: Rules,
    text: str,
) -> list[tuple[type[Rule], Hit]] | None:
    """The chunk-local rules' hits on the new def: alone as a module when it is a top-level
    def, else as the one statement of a copy of its top-level class (whose body holds no
    statement that could make it unreachable); None when a rule errs or reports outside it."""
    parent = body.parent
    if parent is None:
        if any(isinstance(s, _TERMINATORS) for s in judged.tree.body):
            return None
        module = ast.Module(body=[node], type_ignores=[])
    elif isinstance(parent, ast.ClassDef):
        if any(isinstance(s, _TERMINATORS) for s in parent.body):
            return None
        stand_in = copy.copy(parent)
        stand_in.body = [node]
        module = ast.Module(body=[stand_in], type_ignores=[])
    else:
        return None
    facts: dict = {}
    ctx = AnalysisContext(
        path=path,
        source=source,
        tree=module,
        module_text=text,
        fact_log=facts,
        bound_anywhere=judged.binds_anywhere,
        module_imports=lambda: judged.top_imports,
    )
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    if errors:
        return None
    kept = [(rule, hit) for rule, hit in hits if change.new_first <= hit.line <= change.new_end]
    if parent is None and len(kept) != len(hits):
        return None
    return kept


def _facts_hold(judged: Judged, text: str, changed: list[str]) -> bool:
    """Whether each fact the judged text's analysis asked of the module has the same value
    for the fixed text. A fact whose word none of the ``changed`` texts (the changed defs,
    old and new) holds is not computed again (``AnalysisContext.module_fact``'s contract)."""
    for word, compute, value in judged.facts.values():
        if compute is None or word == IMPORTS:
            continue  # watched names are compared per body; imports outside functions stay
        if any(word in part for part in changed) and compute(text) != value:
            return False
    return True


def _span(node: ast.AST, source: SourceText) -> tuple[int, int, int, int]:
    line, end_line = node.lineno, node.end_lineno  # type: ignore[attr-defined]
    return (
        line,
        source.char_column(line, node.col_offset),  # type: ignore[attr-defined]
        end_line,
        source.char_column(end_line, node.end_col_offset),  # type: ignore[attr-defined]
    )


def _range_key(at: Range) -> tuple[int, int, int, int]:
    return at.start.line, at.start.column, at.end.line, at.end.column


def _offset_at(line: int, changes: list[_Change], firsts: list[int]) -> int | None:
    """How far judged ``line`` moved in the fixed text; None inside a changed body."""
    at = bisect.bisect_right(firsts, line) - 1
    if at < 0:
        return 0
    change = changes[at]
    if line < change.body.start:
        return change.offset
    if line <= change.body.end:
        return None
    return change.new_end - change.body.end


def _shifted(finding: Finding, changes: list[_Change], firsts: list[int]) -> Finding | None:
    """A judged finding outside the changed bodies at its place in the fixed text (its
    message written again from its template when it names related lines that moved)."""
    lines = [finding.range.start.line, finding.range.end.line]
    lines += [line for r in finding.related for line in (r.range.start.line, r.range.end.line)]
    maybe = [_offset_at(line, changes, firsts) for line in lines]
    offsets = [o for o in maybe if o is not None]
    if len(offsets) < len(maybe):
        return None
    if not any(offsets):
        return replace(finding, fingerprint="")
    start, end = offsets[0], offsets[1]
    at = finding.range
    related = tuple(
        Related(
            Range.of(r.range.start.line + a, r.range.start.column, r.range.end.line + b, r.range.end.column),
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


def _ties(findings: list[Finding], changes: list[_Change]) -> bool:
    """Whether two findings at the same place with the same code meet in a changed body:
    their order in the report would be the rules' walk order, which this does not redo."""
    for a, b in pairwise(findings):
        if a.range.start == b.range.start and a.code == b.code:
            line = a.range.start.line
            if any(c.new_first <= line <= c.new_end for c in changes):
                return True
    return False


def _names(
    judged: Judged,
    findings: list[Finding],
    changes: list[_Change],
    defs: list[ast.FunctionDef | ast.AsyncFunctionDef],
) -> dict[int, str]:
    """The enclosing definition of each finding's line in the fixed text (fingerprints):
    inside a changed def from the new def, elsewhere from the judged tree."""
    names: dict[int, str] = {}
    outside: dict[int, int] = {}  # fixed line -> judged line
    inside: list[list[int]] = [[] for _ in changes]
    new_firsts = [c.new_first for c in changes]
    for finding in findings:
        line = finding.range.start.line
        at = bisect.bisect_right(new_firsts, line) - 1
        if at >= 0 and line <= changes[at].new_end:
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
        own = names_from_spans(
            definition_spans(judged.tree, [change.body.node.lineno]), [change.body.node.lineno]
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
