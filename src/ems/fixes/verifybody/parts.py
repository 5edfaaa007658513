"""The parts of a judged text a fix may change alone (outermost function bodies, runs of
import statements), and where a fixed text's changes lie among them."""

from __future__ import annotations

import ast
import bisect
import re
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ems.core.config import Config
from ems.core.incremental.state import _STATEMENT_LISTS, Rules, StubbedBody, split_rules
from ems.core.incremental.stubs import (
    analyse_bodies,
    global_imports,
    import_names,
    imports_outside_functions,
    outermost_functions,
    typing_names,
)
from ems.core.model import Report
from ems.core.parsing import PIECEWISE_MIN_CHARS
from ems.core.registry import RuleSet
from ems.core.scope import BUILTINS
from ems.core.source import SourceText
from ems.core.suppressions import parse_suppressions, skips_file
from ems.core.watched import every_name_bound, names_bound
from ems.fixes.context import shared_ends, shared_run

if TYPE_CHECKING:
    from ems.fixes.verifybody.redone import Redone

_WORD = re.compile(r"[^\W\d]\w*")


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
class Change:
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
        self.named_counts: dict[str, int] = {}
        self.defs: dict[int, Body | None] = {}  # ``body_at``'s parts of defs, by the def's line
        self.watched: dict[tuple[int, frozenset[str]], frozenset[str]] = {}  # ``bound_in``'s
        # A changed def's checks by its place and text (``redone.Redone``), for later texts.
        self.redone: dict[tuple[object, ...], Redone] = {}

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
        )

    @cached_property
    def suppressed(self) -> frozenset[int]:
        """The lines of the judged text's suppression comments (``# noqa``): a change
        must not touch them (which findings they hide, and RUF100, would change)."""
        return frozenset(parse_suppressions(self.text))

    @cached_property
    def identifiers(self) -> Counter[str]:
        """How often the judged tree names each name: as an identifier of any kind (a read,
        a binding, a parameter, an import, a keyword, a ``global``), or as a word of a
        string constant that is not a statement of its own (it may be an annotation or an
        entry of ``__all__``). An attribute's name is not counted: no scope holds it."""
        return _names_in([self.tree])

    def named(self, name: str) -> int:
        """``identifiers[name]``, walking only the statements that may name it
        (``_may_name``): the whole walk cost 10 ms on a large file, for one import."""
        if "identifiers" in self.__dict__:
            return self.identifiers[name]
        count = self.named_counts.get(name)
        if count is None:
            roots = self._may_name(name)
            count = self.identifiers[name] if roots is None else _names_in(roots)[name]
            self.named_counts[name] = count
        return count

    @cached_property
    def _side_by_side(self) -> frozenset[str]:
        """Each pair of characters that may meet in a string written as literals side by
        side (``"r" "e"`` is the string ``"re"``): a word character before a quote, and
        each character just after a second quote past it, over quotes, blanks, line
        breaks, comments and prefix letters. More pairs than there are such places; never
        fewer (a backslash between them leaves its statement's lines to ``_unspelled``)."""
        text = self.text
        found: set[str] = set()
        for match in _WORD_THEN_QUOTE.finditer(text):
            before = text[match.start()]
            at = match.end()
            quotes = 1  # a closing quote and an opening one: two at least (not `it's`)
            while at < len(text):
                char = text[at]
                if char in _QUOTES:
                    quotes += 1
                elif quotes > 1 and text[at - 1] in _QUOTES:
                    found.add(before + char)
                if char in _PASSED:
                    at += 1
                elif char == "#":
                    at = text.find("\n", at)
                    if at < 0:
                        break
                else:
                    break
        return frozenset(found)

    def _across_literals(self, name: str) -> bool:
        """Whether ``name`` may be a word of a string written across literals side by side:
        two of its characters in a row may meet there (``_side_by_side``)."""
        pairs = self._side_by_side
        return any(name[i : i + 2] in pairs for i in range(len(name) - 1))

    @cached_property
    def _unspelled(self) -> set[int]:
        """The lines whose words may not be spelled as the tree has them: a backslash (an
        escape sequence, a continued line), a character not in ASCII (an identifier is
        normalised: NFKC)."""
        starts, text = self.source.line_starts, self.text
        offsets = _spelled("\\", text)
        if not self.source.is_ascii:
            offsets += [m.start() for m in _NOT_ASCII.finditer(text)]
        return {bisect.bisect_right(starts, at) for at in offsets}

    def _may_name(self, name: str) -> list[ast.stmt] | None:
        """Statements, none inside another, that hold every node naming ``name``; None
        when the text does not tell (then the whole tree is walked).

        On an ASCII line an identifier is spelled as it is named, with no letter, digit or
        ``_`` on either side; a string's word is spelled inside its literal unless an
        escape sequence makes it or it runs across two literals written side by side
        (``"re" "ad"``: ``_across_literals``, then None). So every node naming it lies on
        a line that spells ``name`` (with no letter or ``_`` before it: ``_WORD`` finds
        the word after digits too) or on one of the lines ``_unspelled`` gives, and the
        innermost statements holding those lines (``_innermost``) hold them all. Checked
        against the whole walk over 14,000 words of the standard library."""
        text = self.text
        if self._across_literals(name):
            return None
        starts = self.source.line_starts
        lines = {bisect.bisect_right(starts, at) for at in _spelled(name, text)} | self._unspelled
        chosen: dict[int, tuple[ast.stmt, frozenset[int]]] = {}
        for line in lines:
            for statement, outer in _innermost(self.tree.body, line, self.lines):
                chosen[id(statement)] = (statement, outer)
        # a statement inside another chosen one is walked with it
        return [statement for statement, outer in chosen.values() if outer.isdisjoint(chosen)]

    @cached_property
    def future(self) -> bool:
        """Whether a ``__future__`` import changes how annotations are judged (``stubs.
        global_imports``): a body analysed alone would not see it, so a changed body must
        then hold no annotation. (A star import leaves a body's reads judged alike before
        and after, and a removed import's name is no word of the text.)"""
        return any(s.module == "__future__" for s in global_imports(self.outside_imports))

    def body_at(self, line: int) -> Body | None:
        """The part holding ``line``: an import run, or an outermost def whose body does not
        share its header's line. Found by descending only into the statements that hold
        the line (a def is never entered): every statement list of a large file was walked
        for each judged file. The same object for every line of a part."""
        for run in self.import_runs:
            if run.first <= line <= run.end:
                return run
        lists: list[tuple[list[ast.AST], ast.AST | None]] = [(self.tree.body, None)]  # type: ignore[list-item]
        while lists:
            children, parent = lists.pop()
            for child in children:
                first, last = _lines_of(child)
                if first > line:
                    break
                if last < line:
                    continue
                if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    return self._def_part(child, parent)
                for name in _STATEMENT_LISTS:
                    nested = getattr(child, name, None)
                    if nested.__class__ is list:
                        lists.append((nested, child))
        return None

    def _def_part(self, node: ast.FunctionDef | ast.AsyncFunctionDef, parent: ast.AST | None) -> Body | None:
        """The part of the outermost def ``node`` (held by ``parent``'s list), once."""
        if node.lineno in self.defs:
            return self.defs[node.lineno]
        first_statement = node.body[0]
        start = getattr(first_statement, "lineno", 0)
        for decorator in getattr(first_statement, "decorator_list", ()):
            start = min(start, decorator.lineno)
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        line = self.lines[start - 1] if 0 < start <= len(self.lines) else ""
        found = None
        if not (start <= node.lineno or line[: first_statement.col_offset].strip()):
            # (else `def f(): return 1`: the body shares the header's line)
            top = self.tree.body
            in_top = parent is None and any(s is node for s in top)
            in_class = isinstance(parent, ast.ClassDef) and any(s is parent for s in top)
            found = Body(first, start, node.end_lineno or node.lineno, node, parent, in_top or in_class)
        self.defs[node.lineno] = found
        return found

    @cached_property
    def import_runs(self) -> list[Body]:
        return self._import_runs()

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
                    blocks += [
                        (statement.body, statement),
                        (statement.orelse, statement),
                    ]
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
    def top_spans(self) -> list[tuple[int, int]]:
        """(first line, decorators included; last line) of each top-level statement."""
        spans = []
        for statement in self.tree.body:
            first = min(
                [
                    statement.lineno,
                    *(d.lineno for d in getattr(statement, "decorator_list", ())),
                ]
            )
            spans.append((first, statement.end_lineno or statement.lineno))
        return spans

    def top_of(self, body: Body) -> tuple[ast.stmt, int, int] | None:
        """The top-level statement that holds the part, with its first and last lines."""
        spans = self.top_spans
        at = bisect.bisect_right(spans, (body.first, len(self.lines) + 1)) - 1
        if at < 0 or not spans[at][0] <= body.first <= body.end <= spans[at][1]:
            return None
        return self.tree.body[at], spans[at][0], spans[at][1]

    @cached_property
    def outside_imports(self) -> list[ast.stmt]:
        """The import statements outside functions, found in one walk: ``imported``,
        ``typing`` and ``future`` each walked the module's statements for them."""
        found: list[ast.stmt] = [*imports_outside_functions(self.tree.body)]
        return found

    @cached_property
    def imported(self) -> frozenset[str]:
        return import_names(self.outside_imports)

    @cached_property
    def typing(self) -> frozenset[str]:
        return typing_names(self.outside_imports)

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
        if name not in self.bound and only_called(name, self.text):
            self.bound[name] = False
        return not self._bound(name)

    @cached_property
    def every_bound(self) -> frozenset[str]:
        """Every name the judged tree binds (``watched.names_bound``'s judgement), found
        in one walk: a file met with a few builtins' reads added or removed asks for
        several."""
        return every_name_bound([self.tree])

    def binds_anywhere(self, name: str) -> bool:
        """Whether the judged text binds ``name`` anywhere (the fixed one does too when no
        changed body binds it differently): from the log when its analysis asked."""
        logged = self.facts.get(("binds", name))
        if logged is not None:
            return bool(logged[2])
        return self._bound(name)

    def _bound(self, name: str) -> bool:
        """Whether the judged tree binds ``name`` (``every_bound``), walking only the
        statements that may name it (``_may_name``: a binding names what it binds, as
        ``identifiers`` counts names) unless the whole walk was made: most of a file's
        statements are far from a builtin's few reads."""
        found = self.bound.get(name)
        if found is None:
            roots = None if "every_bound" in self.__dict__ else self._may_name(name)
            bound = self.every_bound if roots is None else every_name_bound(roots)
            found = self.bound[name] = name in bound
        return found

    def bound_in(self, body: Body, names: frozenset[str], region: str) -> frozenset[str]:
        """``names_bound`` of the def ``body`` (``region``: its lines), once per names."""
        key = (body.first, names)
        found = self.watched.get(key)
        if found is None:
            assert body.node is not None  # (a def's body, not an import run)
            found = self.watched[key] = names_bound([body.node], names, region)
        return found

    def alone_of(self, body: Body, path: str, rules: Rules) -> StubbedBody | None:
        """The def ``body`` analysed alone (``stubs.analyse_bodies``), once; None when a
        rule erred on it."""
        if body.first not in self.alone:
            assert body.node is not None  # (a def's body, not an import run)
            slot = outermost_functions([[body.node]])[0]
            errors = analyse_bodies([slot], self.source, path, rules, self.text, {})
            self.alone[body.first] = None if errors else slot
        return self.alone[body.first]


def _lines_of(node: ast.AST) -> tuple[int, int]:
    """The first (decorators included) and last lines of a statement, an ``except`` clause
    or a ``case`` (whose pattern is its first line)."""
    if isinstance(node, ast.match_case):
        return node.pattern.lineno, node.body[-1].end_lineno or node.body[-1].lineno
    first = node.lineno  # type: ignore[attr-defined]
    for decorator in getattr(node, "decorator_list", ()):
        first = min(first, decorator.lineno)
    return first, node.end_lineno or first  # type: ignore[attr-defined]


def _names_in(roots: Sequence[ast.AST]) -> Counter[str]:
    """``Judged.identifiers``' counts over the trees ``roots``."""
    counts: Counter[str] = Counter()
    stack: list[ast.AST] = list(roots)
    node_base = ast.AST
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is ast.Expr and type(node.value) is ast.Constant:  # type: ignore[attr-defined]
            continue  # a string statement (a docstring): no name is read from it
        if cls is ast.Name:
            counts[node.id] += 1  # type: ignore[attr-defined]
        elif cls is ast.arg:
            counts[node.arg] += 1  # type: ignore[attr-defined]
        elif cls is ast.alias:
            counts[node.asname or node.name.partition(".")[0]] += 1  # type: ignore[attr-defined]
        elif cls in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef):
            counts[node.name] += 1  # type: ignore[attr-defined]
        elif cls in (ast.Global, ast.Nonlocal):
            counts.update(node.names)  # type: ignore[attr-defined]
        elif cls in (ast.ExceptHandler, ast.MatchAs, ast.MatchStar):
            if node.name:  # type: ignore[attr-defined]
                counts[node.name] += 1  # type: ignore[attr-defined]
        elif cls is ast.MatchMapping:
            if node.rest:  # type: ignore[attr-defined]
                counts[node.rest] += 1  # type: ignore[attr-defined]
        elif cls is ast.keyword:
            if node.arg:  # type: ignore[attr-defined]
                counts[node.arg] += 1  # type: ignore[attr-defined]
        elif cls is ast.Constant and isinstance(node.value, str):  # type: ignore[attr-defined]
            counts.update(_WORD.findall(node.value))  # type: ignore[attr-defined]
        for field in node._fields:
            value = getattr(node, field, None)
            if value.__class__ is list:
                stack.extend(item for item in value if isinstance(item, node_base))
            elif isinstance(value, node_base):
                stack.append(value)
    return counts


def _innermost(body: list[ast.stmt], line: int, lines: list[str]) -> list[tuple[ast.stmt, frozenset[int]]]:
    """The innermost statements whose lines (decorators included) hold ``line``, each with
    the ids of the statements around it: every node on that line is in one of them. A
    compound statement is taken whole when its own parts (a header, an ``except E as
    e``) may lie on ``line``: it is entered only through a block holding the line on
    lines of the block's own."""
    index = bisect.bisect_right(body, line, key=_first_line)
    holding = []
    # statements of a list do not overlap but may share a line (`a; b`): the ones holding
    # ``line`` are the last of those starting on or before it
    while index > 0 and (body[index - 1].end_lineno or 0) >= line:
        index -= 1
        holding.append(body[index])
    if len(holding) != 1:
        return [(statement, frozenset()) for statement in holding]
    statement = holding[0]
    for block in _blocks_of(statement):
        first = _first_line(block[0])
        if not first <= line <= (block[-1].end_lineno or 0):
            continue
        text = lines[first - 1] if first <= len(lines) else ""
        if line == first and text[: block[0].col_offset].strip():
            break  # the block starts on its header's line (`if x: y`)
        nested = _innermost(block, line, lines)
        if not nested:
            break
        return [(found, around | {id(statement)}) for found, around in nested]
    return [(statement, frozenset())]


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    return min(statement.lineno, *(d.lineno for d in decorators)) if decorators else statement.lineno


def _blocks_of(statement: ast.stmt) -> list[list[ast.stmt]]:
    """The statement lists nested directly in ``statement`` (handlers' and cases' too)."""
    blocks = [getattr(statement, name, None) for name in ("body", "orelse", "finalbody")]
    blocks += [handler.body for handler in getattr(statement, "handlers", ())]
    blocks += [case.body for case in getattr(statement, "cases", ())]
    return [block for block in blocks if isinstance(block, list) and block and isinstance(block[0], ast.stmt)]


def _spelled(name: str, text: str) -> list[int]:
    """Offsets where ``name`` is written in ``text`` with no letter or ``_`` just before it
    and no letter, digit or ``_`` just after it (a backslash: every offset of one)."""
    found = []
    size = len(name)
    start = text.find(name)
    while start >= 0:
        before = text[start - 1] if start else " "
        after = text[start + size] if start + size < len(text) else " "
        if name == "\\" or (
            not (before.isalpha() or before == "_") and not (after.isalnum() or after == "_")
        ):
            found.append(start)
        start = text.find(name, start + 1)
    return found


_WORD_THEN_QUOTE = re.compile(r"""\w["']""")
_QUOTES = frozenset("\"'")
_PASSED = frozenset("\"' \t\f\nrRbBuUfF")  # quotes, blanks, prefix letters
_NOT_ASCII = re.compile(r"[^\x00-\x7f]")


def has_word(name: str, text: str) -> bool:
    """Whether ``name`` occurs in ``text`` with no word character just before or after it
    (``re``'s ``(?<!\\w)name(?!\\w)``, by ``str.find``: a pattern that starts with a
    look-behind is tried at every position)."""
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        before = text[start - 1] if start else " "
        after = text[end] if end < len(text) else " "
        if not (before.isalnum() or before == "_") and not (after.isalnum() or after == "_"):
            return True
        start = text.find(name, start + 1)
    return False


def only_called(name: str, text: str) -> bool:
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


def changes_in(judged: Judged, new: list[str]) -> list[Change] | None:
    """The outermost functions whose bodies the fixed text changed, with where they are in
    it; None when a changed line lies outside every function body."""
    old = judged.lines
    head, tail = shared_ends(old, new)
    if head == len(old) == len(new):
        return None
    changes: list[Change] = []
    i = j = head  # the first differing lines (0-based)
    while True:
        body = judged.body_at(i + 1)
        if body is None or (changes and changes[-1].body is body):
            return None
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
                anchor = -1
            gap = m - body.end
            if anchor >= 0 and anchor - gap >= j and new[anchor - gap : anchor] == old[body.end : m]:
                new_end = anchor - gap
            elif body.node is not None:
                # the line after the def changed too (the next def's signature): the def
                # ends where the indentation says (``parse_def`` checks it ends there)
                found = _end_by_indent(new, new_first, body.node.col_offset)
                if found is None:
                    return None
                new_end = found
            else:
                return None
        if new_end < new_first - (body.node is None):  # (an import run may go entirely)
            return None
        changes.append(Change(body, new_first, new_end, offset))
        i, j = body.end, new_end
        if len(old) - i <= tail and j - i == len(new) - len(old):
            return changes
        same = shared_run(old, new, min(len(old) - i, len(new) - j), i, j, 1)
        i, j = i + same, j + same
        if i == len(old) and j == len(new):
            return changes
        if i == len(old) or j == len(new):
            return None


def _end_by_indent(new: list[str], first: int, column: int) -> int | None:
    """The last line of the def at ``column`` whose first line (decorators included) is
    ``first`` in ``new``: the last code line before the first code line after its ``def``
    line that is indented ``column`` or less (a closing bracket of its signature excepted).

    A guess that ``parse_def`` proves: the region up to it must parse as that one def
    ending exactly there, so no bracket or string is open at its end, and the next code
    line then closes the def's block. None when a line's indentation holds a tab or form
    feed (its column is not its length) or no def line is found."""
    at = first - 1
    while at < len(new) and not new[at].lstrip().startswith(("def ", "async ")):
        at += 1
    last = None
    for index in range(at + 1, len(new)):
        line = new[index]
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        indent = line[: len(line) - len(stripped)]
        if "\t" in indent or "\f" in indent:
            return None
        if len(indent) <= column and not stripped.startswith((")", "]", "}")):
            break
        last = index + 1
    return last


_STAND_INS: dict[type[ast.stmt], str] = {ast.ClassDef: "class _:", ast.If: "if 1:"}


def parse_at(region: list[str], first: int, inside: type[ast.stmt] | None) -> list[ast.stmt] | None:
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


def parse_def(new: list[str], change: Change, body: Body) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    """The def at ``change``'s lines of the fixed text parsed alone (at its own line numbers
    and columns: a method inside a stand-in ``class`` line); None unless it is one def of
    the same kind, name and place that ends exactly there."""
    first, end = change.new_first, change.new_end
    region = new[first - 1 : end]
    if not region or region[-1].endswith("\\") or (first > 1 and new[first - 2].endswith("\\")):
        return None
    assert body.node is not None  # (a def's body, not an import run)
    column = body.node.col_offset
    statements = parse_at(region, first, ast.ClassDef if column else None)
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


def annotated(node: ast.FunctionDef | ast.AsyncFunctionDef | None) -> bool:
    """Whether the def's body holds an annotation (of a name, a nested def's parameter or
    return)."""
    for child in ast.walk(ast.Module(body=node.body if node else [], type_ignores=[])):
        if isinstance(child, ast.AnnAssign) or (isinstance(child, ast.arg) and child.annotation):
            return True
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) and child.returns:
            return True
    return False


def body_start(node: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    first = node.body[0]
    return min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", ()))])
