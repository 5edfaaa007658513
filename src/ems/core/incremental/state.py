"""The incremental state of one document: chunks, the bodies and classes that stubs can
stand in for, and the small helpers every part shares (parsing, first lines, moving a hit)."""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from typing import Any

from ems.core.analyse import select_rules
from ems.core.config import Config
from ems.core.fingerprint import DefinitionSpan
from ems.core.model import Finding, Range, Related, Report, RuleError, render_message
from ems.core.registry import RuleSet
from ems.core.rule import Hit, Rule

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


_STATEMENT_LISTS = ("body", "orelse", "handlers", "finalbody", "cases")


_NO_POSITION = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


RawHit = tuple[type[Rule], Hit]


@dataclass
class StubbedBody:
    """An outermost function, with the stub that stands in for its body in the outline."""

    holder: list[ast.stmt]  # the statement list that holds the def
    index: int
    full: ast.FunctionDef | ast.AsyncFunctionDef
    stub: ast.FunctionDef | ast.AsyncFunctionDef | None  # None: no stub can stand in
    binds: frozenset[str]  # every name the def binds: its parameters, and its body's at any depth
    hits: list[RawHit]  # module-scoped rules' findings inside the body (chunk lines)
    reads: list[ast.stmt] = field(default_factory=list)  # what the body reads from outside
    read_names: frozenset[str] = frozenset()  # the names ``reads`` read
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
    read_names: frozenset[str]  # names its stub and its bodies' stubs read from outside
    shifts: dict[str, int] = field(default_factory=lambda: {"full": 0, "stub": 0})
    active: str = "full"
    findings: tuple[int, list[Finding]] | None = None
    # what the class itself binds and reads from outside, its defs as stubs (``binds`` and
    # ``read_names`` add its bodies'): kept for an edit inside a body (``edits``)
    own_binds: frozenset[str] = frozenset()
    own_reads: frozenset[str] = frozenset()


@dataclass
class _Chunk:
    start: int  # first line in the document (1-based)
    end: int  # last line
    shift: int  # document line = chunk (ast) line + shift
    statements: list[ast.stmt]  # the outline's statements (bodies swapped for stubs)
    hits: list[RawHit]  # chunk-local rules' findings, in chunk lines
    errors: list[RuleError]
    bodies: list[StubbedBody]
    classes: list[_Class]
    imports: frozenset[str]  # names bound by imports outside any function
    typing: frozenset[str]  # those bound to a typing module or one of its members
    spans: list[DefinitionSpan]  # every def/class, in chunk lines
    span_starts: list[int]
    applied: int = 0  # shift already applied to the outline's nodes
    findings: tuple[int, list[Finding]] | None = None  # (shift, findings of ``hits``)
    bound: frozenset[str] = frozenset()  # watched names bound anywhere in the chunk
    # whether a statement directly in the chunk is a `return`/`raise`/`continue`/`break`:
    # every later top-level statement is then unreachable (EMS102 judges the module's block)
    terminates: bool = False
    import_statements: list[ast.stmt] = field(default_factory=list)  # its top-level imports
    # its star and ``__future__`` imports outside functions: what sets the scope pass's
    # judgement of every later name (``isolated``)
    global_imports: list[ast.ImportFrom] = field(default_factory=list)
    # facts about the rest of the document its findings were computed under (rule.py)
    facts: dict[tuple[str, ...], tuple[str, Any, object]] = field(default_factory=dict)
    # bumped whenever the chunk's part of the outline changes in place (a method or
    # class-level statements swapped in so that the outline differs, lines moved): with
    # the chunk's identity and shift, what says the module-scoped rules' results still hold
    revision: int = 0
    # how the outline last placed it (``outline._place``): under which shift, imported and
    # typing names, and the reads its stubbed bodies replay; None after an in-place change
    outlined: tuple[int, frozenset[str], frozenset[str], list[ast.stmt]] | None = None


@dataclass
class Rules:
    """The selected rules split into chunk-local and module-scoped, each with its node-type
    dispatch (``split_rules``): what a chunk, a body analysed alone and the outline run."""

    local_rules: tuple[Rule, ...]
    local_dispatch: dict[type[ast.AST], tuple[Rule, ...]]
    scoped_rules: tuple[Rule, ...]
    scoped_dispatch: dict[type[ast.AST], tuple[Rule, ...]]
    enabled: frozenset[str]
    watched: frozenset[str]  # names whose binding anywhere matters to a chunk-local rule


def split_rules(ruleset: RuleSet, config: Config, path: str) -> Rules:
    """The rules ``config`` selects for ``path``, split by ``Rule.module_scoped``."""
    selected, enabled = select_rules(ruleset, config, path)
    local = tuple(r for r in selected.rules if not r.module_scoped)
    scoped = tuple(r for r in selected.rules if r.module_scoped)

    def dispatch(rules: tuple[Rule, ...]) -> dict[type[ast.AST], tuple[Rule, ...]]:
        table: dict[type[ast.AST], list[Rule]] = {}
        for rule in rules:
            for node_type in rule.node_types:
                table.setdefault(node_type, []).append(rule)
        return {k: tuple(v) for k, v in table.items()}

    watched = frozenset().union(*(r.watched_names for r in local))
    return Rules(local, dispatch(local), scoped, dispatch(scoped), enabled, watched)


@dataclass
class _State:
    key: tuple[object, ...]
    lines: list[str]
    chunks: list[_Chunk]
    rules: Rules
    text: str = ""
    report: Report | None = None
    # the last edit: old and new text of the changed lines, and whether the watched names
    # bound in the module changed (what can make another chunk's facts stale)
    edit: tuple[str, str, bool, bool] = ("", "", False, False)  # ... and whether imports changed
    # the top-level statements the last edit touched: their first and last lines before
    # it (old numbering) and after it (``edits.touched_texts``; facts about statements)
    touched: tuple[int, int, int, int] = (1, 0, 1, 0)
    # the module-scoped rules' hits over the outline (``report._scoped``): reused while the
    # outline is the same, patched when an edit replaced chunks nothing else names
    scoped: Scoped | None = None
    scoped_reused: bool = False  # whether the last report reused them (tests, ``ems.status``)
    scoped_patched: bool = False  # whether it patched them (``isolated``; tests)
    # the last report's findings before and after their fingerprints, by the first's id
    # (``report._fingerprinted``: the first is held, so its id is not reused meanwhile)
    fingerprinted: dict[int, tuple[Finding, Finding]] = field(default_factory=dict)


@dataclass
class Scoped:
    """The module-scoped rules' hits and errors over the outline, the signature of the
    outline they were found for (each chunk, its revision and shift), and the facts about
    the text they were found under (B007: is ``_name`` a word of it)."""

    signature: tuple[tuple[_Chunk, int, int], ...]
    raw: list[RawHit]
    errors: list[RuleError]
    facts: dict[tuple[str, ...], tuple[str, Any, object]]


def _parse(text: str) -> ast.Module | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _first_line(statement: ast.stmt) -> int:
    decorators = getattr(statement, "decorator_list", None)
    if decorators:
        return min(statement.lineno, *(d.lineno for d in decorators))
    return statement.lineno


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
