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
import re
import time
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from itertools import pairwise

from ems.core.analyse import names_from_spans, run_rules, to_finding, with_fingerprints
from ems.core.config import Config
from ems.core.fingerprint import definition_spans
from ems.core.incremental.state import Rules, StubbedBody, split_rules
from ems.core.incremental.stubs import (
    analyse_bodies,
    global_imports,
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
    """A part of the judged text that a fix may change alone: an outermost function's body
    (``node``: the def, decorators from ``first``; ``start``: its body's first line), or a
    run of top-level import statements (``node`` None, ``imports``: them; ``start`` is
    ``first``). ``end``: its last line."""

    first: int
    start: int
    end: int
    node: ast.FunctionDef | ast.AsyncFunctionDef | None
    parent: ast.AST | None  # the statement whose list holds the def (None: a top-level list)
    top: bool  # directly in the module, or a method directly in a top-level class
    imports: tuple[ast.Import | ast.ImportFrom, ...] = ()
    entire: bool = False  # the import run is its whole block (`try:` with imports only)


@dataclass(frozen=True)
class _Change:
    body: Body
    new_first: int  # the part's first line in the fixed text
    new_end: int  # its last line there (``new_first - 1``: an import run removed)
    offset: int  # fixed line - judged line above the part
    header: bool = False  # whether the def's header changed too (its decorators, signature)


class Judged:
    """What the body-at-a-time analysis reads of the judged text, computed once per judged
    file (``FixMemo``): its outermost functions, their bodies analysed alone, its imports."""

    def __init__(self, text: str, tree: ast.Module, report: Report, facts: dict) -> None:
        self.text, self.tree, self.report, self.facts = text, tree, report, facts
        self.alone: dict[int, StubbedBody | None] = {}
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
    def future(self) -> bool:
        """Whether a ``__future__`` import changes how annotations are judged (``stubs.
        global_imports``): a body analysed alone would not see it, so a changed body must
        then hold no annotation. (A star import leaves a body's reads judged alike before
        and after, and a removed import's name is no word of the text.)"""
        return any(s.module == "__future__" for s in global_imports(self.tree.body))

    @cached_property
    def bodies(self) -> list[Body]:
        top = {id(s) for s in self.tree.body}
        found = []
        for found_body in outermost_functions([self.tree.body]):
            node = found_body.full
            first_statement = node.body[0]
            start = getattr(first_statement, "lineno", 0)
            for decorator in getattr(first_statement, "decorator_list", ()):
                start = min(start, decorator.lineno)
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            line = self.lines[start - 1] if 0 < start <= len(self.lines) else ""
            if start <= node.lineno or line[: first_statement.col_offset].strip():
                continue  # `def f(): return 1`: the body shares the header's line
            parent = found_body.parent
            in_top = parent is None and id(node) in top
            in_class = isinstance(parent, ast.ClassDef) and id(parent) in top
            found.append(Body(first, start, node.end_lineno or node.lineno, node, parent, in_top or in_class))
        found += self._import_runs()
        found.sort(key=lambda b: b.start)
        return found

    def _import_runs(self) -> list[Body]:
        """Runs of ``import`` statements (no ``__future__``) outside functions and classes
        (at the top level, or in the blocks of a top-level ``if`` or ``try``), each on
        lines of its own: what an unused-import fix changes."""
        found: list[Body] = []
        blocks: list[tuple[list[ast.stmt], ast.stmt | None]] = [(self.tree.body, None)]
        while blocks:
            block, parent = blocks.pop()
            runs: list[list[ast.Import | ast.ImportFrom]] = []
            previous_end = 0
            for index, statement in enumerate(block):
                if isinstance(statement, (ast.If, ast.Try)):
                    blocks += [(statement.body, statement), (statement.orelse, statement)]
                    if isinstance(statement, ast.Try):
                        blocks.append((statement.finalbody, statement))
                        blocks += [(handler.body, statement) for handler in statement.handlers]
                plain = isinstance(statement, ast.Import) or (
                    isinstance(statement, ast.ImportFrom) and statement.module != "__future__"
                )
                following = block[index + 1].lineno if index + 1 < len(block) else len(self.lines) + 1
                alone = statement.lineno > previous_end and (statement.end_lineno or 0) < following
                if plain and alone and (parent is not None or statement.col_offset == 0):
                    if runs and index and runs[-1][-1] is block[index - 1]:
                        runs[-1].append(statement)  # type: ignore[arg-type]
                    else:
                        runs.append([statement])  # type: ignore[list-item]
                previous_end = statement.end_lineno or statement.lineno
            found += [
                Body(
                    run[0].lineno,
                    run[0].lineno,
                    run[-1].end_lineno or run[-1].lineno,
                    None,
                    parent,
                    True,
                    tuple(run),
                    len(run) == len(block),
                )
                for run in runs
            ]
        return found

    @cached_property
    def starts(self) -> list[int]:
        """Where each part begins (a def at its first decorator): its header may change too."""
        return [b.first for b in self.bodies]

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

    def free(self, name: str) -> bool:
        """Whether a read of ``name`` leaving a function body is a builtin's whatever else
        happens: a builtin the module binds nowhere (nor can through a star import). Such
        a read neither uses a binding nor is undefined: adding or removing it leaves the
        module-scoped rules' outline judging the same."""
        if name not in BUILTINS or "*" in self.imported:
            return False
        if name not in self.bound and _only_called(name, self.text):
            self.bound[name] = False
        if name not in self.bound:
            self.bound[name] = name in names_bound([self.tree], frozenset({name}), self.text)
        return not self.bound[name]

    def binds_anywhere(self, name: str) -> bool:
        """Whether the judged text binds ``name`` anywhere (the fixed one does too when no
        changed body binds it differently): from the log when its analysis asked."""
        logged = self.facts.get(("binds", name))
        if logged is not None:
            return bool(logged[2])
        if name not in self.bound:
            self.bound[name] = name in names_bound([self.tree], frozenset({name}), self.text)
        return self.bound[name]

    def alone_of(self, index: int, path: str, rules: Rules) -> StubbedBody | None:
        """The body ``index`` analysed alone (``stubs.analyse_bodies``), once; None when a
        rule erred on it."""
        if index not in self.alone:
            node = self.bodies[index].node
            assert node is not None  # (a def's body, not an import run)
            slot = outermost_functions([[node]])[0]
            errors = analyse_bodies([slot], self.source, path, rules, self.text, {})
            self.alone[index] = None if errors else slot
        return self.alone[index]


def _only_called(name: str, text: str) -> bool:
    """Whether every occurrence of the word ``name`` in ``text`` is an attribute or is
    called (``len(``), and none follows ``def`` or ``class``: then nothing binds it (a
    binding is a target, a definition, an import, a parameter or a keyword argument, never
    followed by ``(``). A textual test, cheaper than a walk of the tree."""
    for match in re.finditer(rf"(?<![\w.]){re.escape(name)}(?!\w)", text):
        rest = text[match.end() : match.end() + 80].lstrip(" \t")
        before = text[max(0, match.start() - 80) : match.start()].rstrip(" \t")
        if not rest.startswith("(") or before.endswith(("def", "class")):
            return False
    return True


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
    defs: list[ast.stmt | None] = []
    gone: list[tuple[int, int, int, int]] = []  # the removed imports' places (judged text)
    same: list[tuple[int, int, int]] = []  # import statements kept as they were: lines, move
    imports_now = list(judged.top_imports)  # the fixed text's top-level imports
    runs: dict[int, list[ast.Import | ast.ImportFrom]] = {}
    for number, change in enumerate(changes):  # the import runs first: the fixed text's imports
        if change.body.node is None:
            statements = _parse_imports(new, change)
            if statements is None or not _only_removed(judged, change.body, statements, text, gone):
                return None
            same += _kept_as_they_were(judged, change.body, statements, new)
            if change.body.parent is None:  # (the module's imports are its top-level ones)
                at = imports_now.index(change.body.imports[0])
                imports_now[at : at + len(change.body.imports)] = statements
            runs[number] = statements
    for change in changes:
        changed_text.append("\n".join(judged.lines[change.body.first - 1 : change.body.end]))
        changed_text.append("\n".join(new[change.new_first - 1 : change.new_end]))
    seed = _facts_now(judged, text, changed_text, imports_now)
    if seed is None:
        return None
    for number, change in enumerate(changes):
        body = change.body
        if not body.top:
            return None
        old_region, new_region = changed_text[2 * number], changed_text[2 * number + 1]
        if body.node is None:
            statements = runs[number]
            if watched and names_bound(body.imports, watched, old_region) != names_bound(
                statements, watched, new_region
            ):
                return None
            defs.append(None)
            local = _local_hits(
                judged, body, list(statements), change, source, path, rules, text, imports_now, seed
            )
            if local is None:
                return None
            fresh += [to_finding(rule, hit, path, config) for rule, hit in local]
            continue
        index = judged.bodies.index(body)
        node = _parse_def(new, change, body)
        if node is None:
            return None
        defs.append(node)
        if judged.future and (_annotated(body.node) or _annotated(node)):
            return None
        start = _body_start(node)
        if start - change.new_first != body.start - body.first or (
            new[change.new_first - 1 : start - 1] != judged.lines[body.first - 1 : body.start - 1]
        ):
            # the signature changed (`x=[]` made `x=None`): what it reads from outside must
            # be the same names, and a finding at one of them moves with it
            old_names, new_names = _header_reads(body.node), _header_reads(node)
            if [n.id for n in old_names] != [n.id for n in new_names]:
                return None
            for old_name, new_name in zip(old_names, new_names, strict=True):
                moved[_span(old_name, judged.source)] = _span(new_name, source)
            changes[number] = change = replace(change, header=True)
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
        old_reads, new_reads = _reads(before), _reads(after)
        if old_reads is None or new_reads is None:
            return None
        if [r.id for r in old_reads] != [r.id for r in new_reads]:
            free = _free_differences(judged, old_reads, new_reads)
            if free is None:
                return None
            old_reads = [r for r in old_reads if r.id not in free]
            new_reads = [r for r in new_reads if r.id not in free]
            if [r.id for r in old_reads] != [r.id for r in new_reads]:
                return None
        for rule, hit in before.hits:
            expected[(rule.code, hit.line, hit.column, hit.end_line, hit.end_column, hit.message)] += 1
        for old_read, new_read in zip(old_reads, new_reads, strict=True):
            moved[_span(old_read, judged.source)] = _span(new_read, source)
        fresh += [to_finding(rule, hit, path, config) for rule, hit in after.hits]
        # chunk-local rules: the new def alone, or inside a copy of its class
        local = _local_hits(judged, body, [node], change, source, path, rules, text, imports_now, seed)
        if local is None:
            return None
        fresh += [to_finding(rule, hit, path, config) for rule, hit in local]

    findings: list[Finding] = []
    firsts = [c.body.first for c in changes]
    for finding in judged.report.findings:
        line = finding.range.start.line
        at = bisect.bisect_right(firsts, line) - 1
        around = changes[at] if at >= 0 and line <= changes[at].body.end else None
        if around is not None and line >= around.body.start:
            if finding.code not in scoped_codes:
                continue  # a chunk-local finding of the part: found again above
            if around.body.node is None:
                if any(_within(finding.range, place) for place in gone):
                    continue  # a removed import's (its name is no word of the fixed text)
                moving = _moved_with_statement(finding, same, changes, firsts)
                if moving is None:
                    return None  # a finding of an import that changed: its place may move
                findings.append(moving)
                continue
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
        if around is not None and around.header:
            place = moved.get(_range_key(finding.range))
            if place is None or finding.related:
                return None  # a finding on a changed signature, not at a read
            findings.append(replace(finding, range=Range.of(*place), fingerprint=""))
            continue
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
    findings = with_fingerprints(findings, names, source, path)
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
        if new_end < new_first - (body.node is None):  # (an import run may go entirely)
            return None
        changes.append(_Change(body, new_first, new_end, offset))
        i, j = body.end, new_end
        if len(old) - i <= tail and j - i == len(new) - len(old):
            return changes
        same = _same_run(old, new, i, j)
        i, j = i + same, j + same
        if i == len(old) and j == len(new):
            return changes
        if i == len(old) or j == len(new):
            return None


def _same_run(old: list[str], new: list[str], i: int, j: int) -> int:
    """How many lines ``old`` from ``i`` and ``new`` from ``j`` share, by slice comparisons
    of doubling then halving length (C speed) instead of a line at a time."""
    limit = min(len(old) - i, len(new) - j)
    low, step = 0, 16
    while low < limit:
        high = min(limit, low + step)
        if old[i + low : i + high] == new[j + low : j + high]:
            low, step = high, step * 2
        elif step > 1:
            step //= 2
        else:
            break
    return low


_STAND_INS: dict[type[ast.stmt], str] = {ast.ClassDef: "class _:", ast.If: "if 1:"}


def _parse_at(region: list[str], first: int, inside: type[ast.stmt] | None) -> list[ast.stmt] | None:
    """The statements of ``region`` parsed at their own line numbers (from ``first``) and
    columns: indented lines go inside a stand-in ``inside`` statement on the line before,
    taken off again. None when that does not parse or is not one such statement."""
    if inside is not None and first < 2:
        return None
    head = "\n" * (first - 2) + _STAND_INS[inside] + "\n" if inside is not None else "\n" * (first - 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(head + "\n".join(region))
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    if inside is None:
        return tree.body
    if len(tree.body) != 1 or not isinstance(tree.body[0], inside):
        return None
    return tree.body[0].body  # type: ignore[attr-defined]


def _parse_def(new: list[str], change: _Change, body: Body) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The def at ``change``'s lines of the fixed text parsed alone (at its own line numbers
    and columns: a method inside a stand-in ``class`` line); None unless it is one def of
    the same kind, name and place that ends exactly there."""
    first, end = change.new_first, change.new_end
    region = new[first - 1 : end]
    if not region or region[-1].endswith("\\") or (first > 1 and new[first - 2].endswith("\\")):
        return None
    assert body.node is not None  # (a def's body, not an import run)
    column = body.node.col_offset
    statements = _parse_at(region, first, ast.ClassDef if column else None)
    if statements is None or len(statements) != 1:
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


def _annotated(node: ast.FunctionDef | ast.AsyncFunctionDef | None) -> bool:
    """Whether the def's body holds an annotation (of a name, a nested def's parameter or
    return)."""
    for child in ast.walk(ast.Module(body=node.body if node else [], type_ignores=[])):
        if isinstance(child, ast.AnnAssign) or (isinstance(child, ast.arg) and child.annotation):
            return True
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.returns:
            return True
    return False


def _body_start(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    return min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", ()))])


def _header_reads(node: ast.FunctionDef | ast.AsyncFunctionDef) -> list[ast.Name]:
    """The names a def's header reads where the def stands (decorators, defaults,
    annotations, return annotation), in a fixed order."""
    args = node.args
    parts: list[ast.AST | None] = [*node.decorator_list, *args.defaults, *args.kw_defaults, node.returns]
    every = [*args.posonlyargs, *args.args, args.vararg, *args.kwonlyargs, args.kwarg]
    parts += [a.annotation for a in every if a is not None]
    return [n for part in parts if part is not None for n in ast.walk(part) if isinstance(n, ast.Name)]


def _reads(slot: StubbedBody) -> list[ast.Name] | None:
    """The names a body's stub replays (what it reads from outside), in order."""
    names = [statement.value for statement in slot.reads if isinstance(statement, ast.Expr)]
    if len(names) != len(slot.reads) or not all(isinstance(n, ast.Name) for n in names):
        return None
    return names  # type: ignore[return-value]


def _free_differences(judged: Judged, old: list[ast.Name], new: list[ast.Name]) -> frozenset[str] | None:
    """The names the two bodies do not read alike, when all of them are builtins the
    module binds nowhere (``Judged.free``: they judge the same outside); else None."""
    before, after = Counter(r.id for r in old), Counter(r.id for r in new)
    differing = frozenset((before - after) + (after - before))
    if all(name in BUILTINS for name in differing) and all(judged.free(name) for name in differing):
        return differing
    return None


def _parse_imports(new: list[str], change: _Change) -> list[ast.Import | ast.ImportFrom] | None:
    """The statements at ``change``'s lines of the fixed text, parsed alone at their own
    line numbers and columns (in a block: inside a stand-in ``if`` line); None unless they
    are all imports at the run's column (none: the run removed, unless it was a block's
    only statements)."""
    first, end = change.new_first, change.new_end
    region = new[first - 1 : end]
    if (region and region[-1].endswith("\\")) or (first > 1 and new[first - 2].endswith("\\")):
        return None
    column = change.body.imports[0].col_offset
    statements = _parse_at(region, first, ast.If if column else None)
    if statements is None:
        return None
    if not statements and change.body.entire and change.body.parent is not None:
        return None
    if not all(
        (isinstance(s, ast.Import) or (isinstance(s, ast.ImportFrom) and s.module != "__future__"))
        and s.col_offset == column
        for s in statements
    ):
        return None
    return statements  # type: ignore[return-value]


def _aliases(
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


def _only_removed(
    judged: Judged, body: Body, statements: list[ast.Import | ast.ImportFrom], text: str, gone: list
) -> bool:
    """Whether the new import statements are the run's with some names removed, each of
    which is no word of the fixed text (so nothing there binds, reads or names it: the
    module-scoped rules judge every other name as before); the removed ones' places go to
    ``gone``."""
    old, kept = _aliases(body.imports), [key for key, _ in _aliases(statements)]
    at = 0
    for key, alias in old:
        if at < len(kept) and kept[at] == key:
            at += 1
            continue
        name = alias.asname or alias.name.partition(".")[0]
        if name == "*" or re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text):
            return False
        gone.append(_span(alias, judged.source))
    return at == len(kept)


def _kept_as_they_were(
    judged: Judged, body: Body, statements: list[ast.Import | ast.ImportFrom], new: list[str]
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


def _moved_with_statement(
    finding: Finding, same: list[tuple[int, int, int]], changes: list[_Change], firsts: list[int]
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
        return _offset_at(at, changes, firsts)

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


def _within(at: Range, place: tuple[int, int, int, int]) -> bool:
    return (place[0], place[1]) <= (at.start.line, at.start.column) <= (place[2], place[3])


def _blocks(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists of a compound statement (an ``if``, a ``try``)."""
    blocks = [getattr(statement, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", ())]
    return [block for block in blocks if isinstance(block, list)]


def _local_hits(
    judged: Judged,
    body: Body,
    statements: list[ast.stmt],
    change: _Change,
    source: SourceText,
    path: str,
    rules: Rules,
    text: str,
    imports: list[ast.stmt],
    facts_now: dict[tuple[str, ...], object],
) -> list[tuple[type[Rule], Hit]] | None:
    """The chunk-local rules' hits on the new statements (a def, or import statements): as
    a module of their own when they are top-level ones, else as the body of a copy of their
    top-level class (whose body holds no statement that could make them unreachable); None
    when a rule errs or reports outside them."""
    parent = body.parent
    if parent is None or body.node is None:  # a top-level def, or import statements
        blocks = [judged.tree.body] if parent is None else _blocks(parent)  # type: ignore[arg-type]
        if any(isinstance(s, _TERMINATORS) for block in blocks for s in block):
            return None
        module = ast.Module(body=statements, type_ignores=[])
    elif isinstance(parent, ast.ClassDef):
        if any(isinstance(s, _TERMINATORS) for s in parent.body):
            return None
        stand_in = copy.copy(parent)
        stand_in.body = statements
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
        module_imports=lambda: imports,
    )
    ctx._cache["module-facts"] = dict(facts_now)  # the judged text's answers that still hold
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    if errors:
        return None
    kept = [(rule, hit) for rule, hit in hits if change.new_first <= hit.line <= change.new_end]
    if parent is None and len(kept) != len(hits):
        return None
    return kept


def _facts_now(
    judged: Judged, text: str, changed: list[str], imports: list[ast.stmt]
) -> dict[tuple[str, ...], object] | None:
    """The facts the judged text's analysis asked of the module, valued for the fixed text
    (whose top-level imports are ``imports``); None when one of them changed (a finding
    outside the changed parts may have). A fact whose word none of the ``changed`` texts
    (the changed parts, old and new) holds is not computed again (``AnalysisContext.
    module_fact``'s contract); one about the imports only if they changed."""
    same_imports = len(imports) == len(judged.top_imports) and all(
        a is b for a, b in zip(imports, judged.top_imports, strict=True)
    )
    now: dict[tuple[str, ...], object] = {}
    for key, (word, compute, value) in judged.facts.items():
        if compute is None:
            continue  # watched names are compared part by part
        if word == IMPORTS:
            if not same_imports and compute(imports) != value:
                return None
        elif any(word in part for part in changed) and compute(text) != value:
            return None
        now[key] = value
    return now


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
        return None if change.header else change.offset
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
    defs: list[ast.stmt | None],
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
        if node is None or change.body.node is None:  # top-level imports: no definition around
            names.update(dict.fromkeys(lines, ""))
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
