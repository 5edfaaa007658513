"""``analyse(source, path, config) -> Report``: parse once, run every enabled rule.

Never raises for bad input: undecodable bytes and syntax errors become E999
findings; a rule that raises becomes an EMS901 finding and a log line, and the other
rules' findings still arrive.
"""

from __future__ import annotations

import ast
import logging
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from ems.core import parsing
from ems.core.config import Config
from ems.core.fingerprint import (
    DefinitionSpan,
    definition_spans,
    enclosing_definition,
    fingerprints,
    span_parents,
)
from ems.core.model import Finding, Range, Report, RuleError, Tag
from ems.core.node_classes import WalkedClasses
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import AnalysisContext, FactLog, Hit, ParentChain, Rule
from ems.core.source import SourceText, UndecodableSource, decode_source
from ems.core.suppressions import Suppression, skips_file, suppressions_in
from ems.rules.e999_syntax_error import SyntaxErrorRule
from ems.rules.ems901_internal_rule_error import InternalRuleError

if TYPE_CHECKING:
    from ems.core.scope import ScopeModel

log = logging.getLogger("ems.core")

UNUSED_SUPPRESSION_CODE = "RUF100"


@dataclass(frozen=True)
class ScopePlan:
    """How the scope pass serves a rule selection (``_scope_pass``): the node types it
    collects for the rules' ``visit``, those collected only outside functions, and the
    names that calls and attributes must have to be collected (None: every one)."""

    visit: frozenset[type[ast.AST]]
    outside_functions: frozenset[type[ast.AST]]
    call_names: frozenset[str] | None = None
    attribute_names: frozenset[str] | None = None
    # Per node type, the classes its ``value`` must have to be collected (``Rule.
    # visit_values``); a type not here is collected whatever its value.
    values: tuple[tuple[type[ast.AST], frozenset[type[ast.AST]]], ...] = ()
    # Types some of whose rules report only outside functions (F706's `return` beside
    # B012's): those met inside a function body are collected apart, and only the other
    # rules visit them.
    split: frozenset[type[ast.AST]] = frozenset()


def scope_plan(rules: Sequence[Rule], dispatch: dict[type[ast.AST], tuple[Rule, ...]]) -> ScopePlan | None:
    """The scope pass's part for these rules; None when it has none (no rule reads the
    model, or a rule visits a node type the pass does not hand over one by one)."""
    if not any(rule.uses_scopes for rule in rules):
        return None
    if any(issubclass(t, _NOT_IN_SCOPE_PASS) for t in dispatch):
        return None
    outside = [t for t, interested in dispatch.items() if all(r.outside_functions_only for r in interested)]
    split = [
        t
        for t, interested in dispatch.items()
        if t not in outside and any(r.outside_functions_only for r in interested)
    ]
    return ScopePlan(
        frozenset(dispatch),
        frozenset(outside),
        _visit_names(dispatch.get(ast.Call, ())),
        _visit_names(dispatch.get(ast.Attribute, ())),
        tuple(
            (node_type, values)
            for node_type, interested in sorted(dispatch.items(), key=lambda item: item[0].__name__)
            if (values := _visit_values(interested)) is not None
        ),
        frozenset(split),
    )


def _visit_names(rules: Sequence[Rule]) -> frozenset[str] | None:
    """The names a node of one type must have for one of ``rules`` to report it
    (``Rule.visit_names``); None when one of them reports any."""
    names: set[str] = set()
    for rule in rules:
        if rule.visit_names is None:
            return None
        names.update(rule.visit_names)
    return frozenset(names)


def _visit_values(rules: Sequence[Rule]) -> frozenset[type[ast.AST]] | None:
    """The classes a node's ``value`` must have for one of ``rules`` to report it
    (``Rule.visit_values``); None when one of them reports any."""
    values: set[type[ast.AST]] = set()
    for rule in rules:
        if rule.visit_values is None:
            return None
        values.update(rule.visit_values)
    return frozenset(values)


# Per node type, each interested rule's bound ``visit``, its class and itself.
BoundVisits = dict[type[ast.AST], tuple[tuple[Callable[..., Iterable[Hit]], type[Rule], Rule], ...]]


@dataclass(frozen=True)
class SelectedRules:
    rules: tuple[Rule, ...]
    dispatch: dict[type[ast.AST], tuple[Rule, ...]]
    enabled: frozenset[str]
    plan: ScopePlan | None  # ``scope_plan(rules, dispatch)``, once per configuration
    visits: BoundVisits  # ``_bound_visits(dispatch, set())``, once per configuration


# Selections kept per rule set: a scan meets one or a few configurations; an editor
# session may meet more over time, so the oldest are dropped past this many.
_SELECTIONS_KEPT = 32
# The key under which ``ruleset.selections`` keeps the last configuration met and its rules.
_LAST_SELECTION = "last"


def select_rules(ruleset: RuleSet, config: Config, path: str) -> tuple[SelectedRules, frozenset[str]]:
    """The rules enabled for ``path``, their instances and node-type dispatch: computed
    once per configuration (and per set of per-file ignores), not per file.

    Rule instances are shared by every document analysed under one configuration: a rule
    keeps per-document state in the context (``ctx.memo``), never on ``self``.
    """
    cache = ruleset.selections
    if not config.per_file_ignores:
        # The configuration of the previous file, most often: a ``Config`` hashes all its
        # fields on every dict lookup (25 µs, a file's whole rule selection otherwise).
        last = cache.get(_LAST_SELECTION)
        if last is not None and last[0] is config:
            return last[1], last[1].enabled
    key: object = config
    if config.per_file_ignores:
        key = (config, config.selected(ruleset.codes, path))
    selected = cache.get(key)
    if selected is None:
        enabled = key[1] if isinstance(key, tuple) else config.selected(ruleset.codes)
        rules = tuple(rule() for rule in ruleset.rules if rule.code in enabled)
        dispatch: dict[type[ast.AST], list[Rule]] = {}
        for rule in rules:
            for node_type in rule.node_types:
                dispatch.setdefault(node_type, []).append(rule)
        frozen = {k: tuple(v) for k, v in dispatch.items()}
        selected = SelectedRules(
            rules, frozen, enabled, scope_plan(rules, frozen), _bound_visits(frozen, set())
        )
        if len(cache) >= _SELECTIONS_KEPT:
            cache.pop(next(iter(cache)))
        cache[key] = selected
    if key is config:
        cache[_LAST_SELECTION] = (config, selected)  # holds ``config``: its id is not reused
    return selected, selected.enabled


def analyse(
    source: str | bytes,
    path: str = "<stdin>",
    config: Config | None = None,
    ruleset: RuleSet | None = None,
    *,
    on_tree: Callable[[ast.Module, ScopeModel | None], None] | None = None,
    fact_log: FactLog | None = None,
) -> Report:
    """Analyse one document. ``path`` is used for per-file settings and fingerprints.

    ``on_tree``: called with the parsed tree and the scope model (None if no rule built
    it) once the rules have run, for a caller that wants more of the module than the
    report without parsing it again (a scan's re-export facts); not called for a text
    that does not parse, a skipped file, or a huge module analysed in pieces.

    ``fact_log``: where the facts the rules asked of the whole module are logged
    (``AnalysisContext.fact_log``), for a caller that analyses edits of the text later
    and must know which findings such an edit may change (``ems.fixes.verifybody``).
    """
    started = time.perf_counter()
    config = config or Config()
    ruleset = ruleset or load_rules()
    if isinstance(source, bytes):
        try:
            text = decode_source(source).text
        except UndecodableSource as exc:
            return Report(path, (_syntax_finding(path, str(exc), exc.line, exc.column, None, config),), True)
    else:
        text = source
    if skips_file(text, config):
        return Report(path, ())
    src = SourceText(text)
    if len(text) >= parsing.PIECEWISE_MIN_CHARS:
        # A huge module (a generated one): analysed a piece at a time, never holding its
        # whole tree (issue 13); None when it cannot be, and then analysed whole below.
        from ems.core.piecewise import analyse_in_pieces

        report = analyse_in_pieces(text, path, config, ruleset, src, started)
        if report is not None:
            return report
    timings: dict[str, float] = {}
    try:
        with warnings.catch_warnings():
            # The analysed code's own warnings (invalid escapes: SyntaxWarning printed on 3.12+)
            # are not ours to print, and under -W error they would turn valid code into E999.
            warnings.simplefilter("ignore")
            tree = parsing.parse_module(text, path)
    except SyntaxError as exc:
        return Report(path, (_from_syntax_error(exc, path, src, config),), True)
    except (ValueError, RecursionError, MemoryError) as exc:  # NUL bytes, absurd nesting
        message = str(exc) or type(exc).__name__
        if isinstance(exc, RecursionError):
            message = "too many nested parentheses or blocks"
        return Report(path, (_syntax_finding(path, message, 1, 0, None, config),), True)
    timings["parse"] = time.perf_counter() - started
    held = [tree]
    del tree  # ``_checked`` lets it go before the findings are made
    return _checked(held, text, src, path, config, ruleset, started, timings, on_tree, fact_log)


def analyse_parsed(
    tree: ast.Module, text: str, path: str, config: Config, ruleset: RuleSet, src: SourceText | None = None
) -> Report:
    """``analyse(text)`` for a caller that has the text's tree already (``ast.parse``'s, or
    one equal to it: ``ems.fixes.reanalyse`` builds one from a tree it had and the changed
    statements). The tree is not changed (rules only read it)."""
    return _checked([tree], text, src or SourceText(text), path, config, ruleset, time.perf_counter(), {})


def _checked(
    held: list[ast.Module],
    text: str,
    src: SourceText,
    path: str,
    config: Config,
    ruleset: RuleSet,
    started: float,
    timings: dict[str, float],
    on_tree: Callable[[ast.Module, ScopeModel | None], None] | None = None,
    fact_log: FactLog | None = None,
) -> Report:
    """The rules over the parsed module (``held``: its tree, taken out of the list here so
    that nothing else keeps it alive), and the report."""
    tree = held.pop()
    selected, enabled = select_rules(ruleset, config, path)
    ctx = AnalysisContext(path=path, source=src, tree=tree, fact_log=fact_log)
    walk_started = time.perf_counter()
    raw, errors = run_rules(ctx, selected.rules, selected.dispatch, selected.plan, selected.visits)
    timings["rules"] = time.perf_counter() - walk_started
    if on_tree is not None:
        on_tree(tree, ctx._cache.get("scopes"))  # type: ignore[arg-type]

    suppressions = suppressions_in(text, config)
    # The enclosing definitions of the lines findings can be on are found now, and the
    # module's tree and scope model are let go before the findings are made: a generated
    # 5 MB module's tree is ~300 MiB, and the findings then reuse its memory instead of
    # adding to the peak.
    names = _enclosing_names(tree, finding_lines(raw, errors, suppressions))
    del ctx, tree
    return finish(
        raw, errors, suppressions, names, text, src, path, config, ruleset, enabled, started, timings
    )


def finding_lines(
    raw: list[tuple[type[Rule], Hit]], errors: list[RuleError], suppressions: dict[int, list[Suppression]]
) -> set[int]:
    """Every line a finding can be on: the hits', a rule error's (line 1) and an unused
    suppression's (whose enclosing definitions fingerprints need)."""
    lines = {hit.line for _, hit in raw}
    lines.update(suppressions)
    if errors:
        lines.add(1)
    return lines


def finish(
    raw: list[tuple[type[Rule], Hit]],
    errors: list[RuleError],
    suppressions: dict[int, list[Suppression]],
    names: dict[int, str],
    text: str,
    src: SourceText,
    path: str,
    config: Config,
    ruleset: RuleSet,
    enabled: frozenset[str],
    started: float,
    timings: dict[str, float],
) -> Report:
    """The report from the rules' hits: findings, suppressions (RUF100), order, fingerprints
    (``names``: the enclosing definitions of ``finding_lines``). Shared by ``analyse`` and
    ``ems.core.piecewise``. ``raw`` is emptied as the findings are made."""
    findings = [to_finding(rule, hit, path, config) for rule, hit in raw]
    raw.clear()
    findings.extend(rule_error_finding(err, path) for err in errors)
    findings = apply_suppressions(findings, text, ruleset, enabled, path, config, suppressions)
    findings.sort(key=lambda f: (f.range.start, f.code))
    findings = with_fingerprints(findings, names, src, path)
    timings["total"] = time.perf_counter() - started
    return Report(path, tuple(findings), False, tuple(errors), timings)


def run_rules(
    ctx: AnalysisContext,
    rules: Sequence[Rule],
    dispatch: dict[type[ast.AST], tuple[Rule, ...]],
    plan: ScopePlan | Literal["unplanned"] | None = "unplanned",
    visits: BoundVisits | None = None,
) -> tuple[list[tuple[type[Rule], Hit]], list[RuleError]]:
    """The shared walk (``visit``) and the module passes (``check``) over ``ctx.tree``;
    ``plan``: ``scope_plan(rules, dispatch)`` if the caller has it (else worked out here),
    and ``visits``: ``_bound_visits(dispatch, set())`` likewise.

    A rule that raises is contained: one ``RuleError`` and a log record per rule, and the
    other rules' hits still arrive. Also used by ``ems.core.incremental`` on parts of a file.
    """
    raw: list[tuple[type[Rule], Hit]] = []
    errors: list[RuleError] = []
    broken: set[str] = set()

    def contain(rule: Rule, exc: BaseException) -> None:
        if rule.code not in broken:
            broken.add(rule.code)
            errors.append(RuleError(rule.code, f"{type(exc).__name__}: {exc}"))
            log.error("rule %s raised %s on %s", rule.code, type(exc).__name__, ctx.path, exc_info=exc)

    if dispatch:
        visited = _scope_pass(ctx, scope_plan(rules, dispatch) if plan == "unplanned" else plan)
        if visited is None:
            _walk(ctx.tree, ctx, dispatch, raw, broken, contain)
        else:
            _visit_nodes(visited, ctx, dispatch, raw, broken, contain, visits)
    for rule in rules:
        if type(rule).check is Rule.check:
            continue
        try:
            raw.extend((type(rule), hit) for hit in rule.check(ctx))
        except (Exception, RecursionError) as exc:
            contain(rule, exc)
    return raw, errors


# Node types the scope pass does not hand over one by one (it reads them in place): a
# rule asking for one of these gets the engine's own walk instead.
_NOT_IN_SCOPE_PASS: tuple[type[ast.AST], ...] = (
    ast.Module,
    ast.Constant,
    ast.Name,
    ast.Tuple,
    ast.arguments,
    ast.arg,
    ast.alias,
    ast.comprehension,
    ast.expr_context,
    ast.boolop,
    ast.operator,
    ast.unaryop,
    ast.cmpop,
    ast.type_ignore,
)


def _scope_pass(ctx: AnalysisContext, plan: ScopePlan | None) -> list[ast.AST] | None:
    """One walk for both: when a selected rule reads the scope model, build it now in a
    pass that also collects the nodes the rules visit. None: walk the tree instead (no
    rule needs the model, it is built already, or a node type it does not deliver:
    ``plan`` is None).

    Measured on the standard library: the engine's own walk alone cost a third of
    ``ast.parse`` (see docs/implementation/performance.md, issue 18).
    """
    if plan is None or "scopes" in ctx._cache:
        return None
    from ems.core.scope import build_scope_model

    try:
        model = build_scope_model(
            ctx.tree,
            ctx,
            visit=plan.visit,
            outside_functions=plan.outside_functions,
            call_names=plan.call_names,
            attribute_names=plan.attribute_names,
            values=plan.values,
            split=plan.split,
        )
    except (Exception, RecursionError):
        return None  # each scope rule meets the error itself, contained as before
    ctx._cache["scopes"] = model
    return model.visited


def _visit_nodes(
    nodes: list[ast.AST],
    ctx: AnalysisContext,
    dispatch: dict[type[ast.AST], tuple[Rule, ...]],
    out: list[tuple[type[Rule], Hit]],
    broken: set[str],
    contain: Callable[[Rule, BaseException], None],
    visits: BoundVisits | None = None,
) -> None:
    """``visit`` each node the scope pass collected; ancestors follow its parent links.

    Each node type's visits are bound once per configuration (``visits``) or per call
    (``_bound_visits``): under all rules this loop makes hundreds of thousands of visits
    over the standard library, and a bound method made per visit, with a test of the
    broken rules, cost more than most visits' own work."""

    model: ScopeModel = ctx._cache["scopes"]  # type: ignore[assignment]
    chain = ParentChain(model.parents)
    saved = ctx.ancestors
    ctx.ancestors = chain
    append = out.append
    table = visits if visits is not None else _bound_visits(dispatch, broken)
    inside = model.visited_inside  # met inside functions: not for the outside-only rules
    try:
        _visit_each(nodes, table, chain, ctx, append, contain, broken)
        if inside:
            table = {  # (a rule that broke in the first list is left out here too)
                cls: tuple(
                    entry
                    for entry in table[cls]
                    if not entry[2].outside_functions_only and entry[2].code not in broken
                )
                for cls in {node.__class__ for node in inside}
            }
            _visit_each(inside, table, chain, ctx, append, contain, broken)
    finally:
        ctx.ancestors = saved


def _visit_each(
    nodes: list[ast.AST],
    table: BoundVisits,
    chain: ParentChain,
    ctx: AnalysisContext,
    append: Callable[[tuple[type[Rule], Hit]], None],
    contain: Callable[[Rule, BaseException], None],
    broken: set[str],
) -> None:
    """``_visit_nodes``' loop over one list of nodes with one table of visits; a rule that
    raises is contained and left out of the table from then on."""
    for node in nodes:
        chain.node = node
        for visit, kind, rule in table[node.__class__]:
            try:
                for hit in visit(node, ctx):
                    append((kind, hit))
            except (Exception, RecursionError) as exc:
                contain(rule, exc)
                table = {
                    cls: tuple(entry for entry in entries if entry[2].code not in broken)
                    for cls, entries in table.items()
                }


def _bound_visits(dispatch: dict[type[ast.AST], tuple[Rule, ...]], broken: set[str]) -> BoundVisits:
    """Per node type, each interested rule's bound ``visit``, its class and itself,
    leaving out the rules in ``broken``."""
    return {
        cls: tuple((rule.visit, type(rule), rule) for rule in rules if rule.code not in broken)
        for cls, rules in dispatch.items()
    }


# Operator and context nodes (``Load``, ``Add``, ``Eq`` ...) have no children; skipping
# them when no rule asked for them removes about a third of the nodes from the walk.
_LEAF_TYPES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
# Constants have no child nodes, nor do names once their context is skipped: together
# they are nearly half of what is left, so they are not even pushed unless a rule asks.
_CHILDLESS = (ast.Constant, ast.Name)
# Each class's fields, last first: children are pushed in reverse to pop in order.
_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}
# Pops the node on top of ``ctx.ancestors`` once all of that node's children are walked.
_LEAVE = ast.AST()


def _walk(
    tree: ast.Module,
    ctx: AnalysisContext,
    dispatch: dict[type[ast.AST], tuple[Rule, ...]],
    out: list[tuple[type[Rule], Hit]],
    broken: set[str],
    contain: Callable[[Rule, BaseException], None],
) -> None:
    """One iterative pre-order walk; ``ctx.ancestors`` holds the path to the node.

    Hand-inlined child iteration (no ``ast.iter_child_nodes`` generators): this loop runs
    once per node of every file scanned, and the inlined form measured about 2x faster.
    Children go straight onto the stack above a ``_LEAVE`` marker (no per-node list or
    ``(node, depth)`` tuple); a node that pushed no child takes its marker back.
    """
    skipped: tuple[type, ...] = (*_LEAF_TYPES, *_CHILDLESS)
    if any(issubclass(t, _LEAF_TYPES) for t in dispatch):
        skipped = (ast.Constant,)
    walked = WalkedClasses(tuple(t for t in skipped if t not in dispatch))
    ancestors: list[ast.AST] = []
    ctx.ancestors = ancestors
    get = dispatch.get
    append = out.append
    fields_of = _FIELDS
    leave = _LEAVE
    stack: list[ast.AST] = [tree]
    pop = stack.pop
    push = stack.append
    while stack:
        node = pop()
        if node is leave:
            ancestors.pop()
            continue
        cls = node.__class__
        interested = get(cls)
        if interested:
            for rule in interested:
                if rule.code in broken:
                    continue
                try:
                    for hit in rule.visit(node, ctx):  # most visits yield nothing: no genexpr
                        append((type(rule), hit))
                except (Exception, RecursionError) as exc:
                    contain(rule, exc)
        fields = fields_of.get(cls)
        if fields is None:
            fields = fields_of[cls] = cls._fields[::-1]
        push(leave)
        size = len(stack)
        for name in fields:
            value: Any = getattr(node, name, None)  # a node, a list of them, or a scalar
            if value.__class__ is list:
                for item in reversed(value):
                    if walked[item.__class__]:
                        push(item)
            elif walked[value.__class__]:
                push(value)
        if len(stack) == size:
            pop()  # no children: take the marker back
        else:
            ancestors.append(node)
    ancestors.clear()


def to_finding(rule: type[Rule], hit: Hit, path: str, config: Config) -> Finding:
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=config.severity_of(rule.code, rule.severity),
        range=Range.of(hit.line, hit.column, hit.end_line, hit.end_column),
        message=hit.message,
        path=path,
        # Only a rule with a fix can fix: output shows the flag without asking the rule again.
        fixable=rule.has_fix() and rule.is_fixable(hit) and config.can_fix(rule.code),
        tags=rule.tags,
        related=hit.related,
        data=hit.data,
        template=hit.template,
    )


def _syntax_finding(
    path: str, message: str, line: int, column: int, end: tuple[int, int] | None, config: Config
) -> Finding:
    end_line, end_col = end or (line, column)
    finding = SyntaxErrorRule.finding(
        path,
        f"SyntaxError: {message}",
        Range.of(line, column, end_line, end_col),
        config.severity_of(SyntaxErrorRule.code, SyntaxErrorRule.severity),
    )
    return with_fingerprints([finding], {}, None, path)[0]


def _from_syntax_error(exc: SyntaxError, path: str, src: SourceText, config: Config) -> Finding:
    line = exc.lineno or 1
    column = max((exc.offset or 1) - 1, 0)  # str input: offsets count characters
    end: tuple[int, int] | None = None
    if exc.end_lineno and exc.end_offset and (exc.end_lineno, exc.end_offset - 1) > (line, column):
        end_line, end_column = exc.end_lineno, exc.end_offset - 1
        if end_line != line:
            # CPython converts the end offset to characters with the *start* line's text, so
            # on another line it is garbled (found by scripts/fuzz.py). Parsing the bytes
            # gives the true byte offset, converted here on the end line itself.
            end_column = _multiline_end_column(src, line, end_line)
        end = (end_line, end_column)
    message = exc.msg
    line_count = len(src.lines)
    if line > line_count:
        line, column = line_count, len(src.line(line_count))
        end = None
    elif end is not None and end[0] > line_count:
        end = None
    return _syntax_finding(path, message, line, column, end, config)


def _multiline_end_column(src: SourceText, line: int, end_line: int) -> int:
    """The code-point end column of a syntax error spanning lines, inside ``end_line``."""
    limit = len(src.line(end_line))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(src.text.encode("utf-8", "surrogatepass"))
    except SyntaxError as raw:  # bytes input: offsets stay UTF-8 byte offsets
        if (raw.lineno, raw.end_lineno) == (line, end_line) and raw.end_offset:
            return min(src.char_column(end_line, raw.end_offset - 1), limit)
    except (ValueError, RecursionError, MemoryError):
        pass
    return limit


def rule_error_finding(error: RuleError, path: str) -> Finding:
    # The exception type only: its message may quote source text (and secrets), and it
    # changes with every edit, which made fix verification see a "new" EMS901 and refuse.
    return InternalRuleError.finding(
        path,
        f"rule {error.code} failed on this file ({error.error.partition(':')[0]}); other rules ran normally",
    )


def apply_suppressions(
    findings: list[Finding],
    text: str,
    ruleset: RuleSet,
    enabled: frozenset[str],
    path: str,
    config: Config,
    suppressions: dict[int, list[Suppression]] | None = None,
) -> list[Finding]:
    """``findings`` without the suppressed ones, plus RUF100's unused suppressions;
    ``suppressions``: ``suppressions_in(text, config)`` if the caller has it already."""
    if suppressions is None:
        suppressions = suppressions_in(text, config)
    if not suppressions:
        return findings
    used: set[tuple[Suppression, str]] = set()
    kept = []
    for finding in findings:
        candidates = list(suppressions.get(finding.line, ()))
        # A finding inside a multi-line statement (e.g. one name of a parenthesised import)
        # may also be suppressed on the statement's first line, as ruff does.
        statement = finding.place("statement")
        if statement is not None and statement.start.line != finding.line:
            candidates += suppressions.get(statement.start.line, ())
        matched = [s for s in candidates if s.covers(finding.code)]
        if matched:
            used.update((s, finding.code) for s in matched)
        else:
            kept.append(finding)
    if UNUSED_SUPPRESSION_CODE in enabled:
        rule = ruleset.get(UNUSED_SUPPRESSION_CODE)
        if rule is not None:
            kept.extend(_unused_suppressions(suppressions, used, enabled, rule, path, config))
    return kept


def _unused_suppressions(
    suppressions: dict[int, list[Suppression]],
    used: set[tuple[Suppression, str]],
    enabled: frozenset[str],
    rule: type[Rule],
    path: str,
    config: Config,
) -> Iterable[Finding]:
    used_codes: dict[Suppression, set[str]] = {}
    for suppression, code in used:
        used_codes.setdefault(suppression, set()).add(code)
    for line_suppressions in suppressions.values():
        for s in line_suppressions:
            codes_used = used_codes.get(s, set())
            if s.blanket:
                if s.kind == "ems" and not codes_used:
                    unused: Sequence[str] = ()
                else:
                    continue
            else:
                unused = [c for c in s.codes if c in enabled and c not in codes_used and c != rule.code]
                if not unused:
                    continue
            what = f"unused suppression ({', '.join(unused)})" if unused else "unused blanket suppression"
            yield Finding(
                code=rule.code,
                name=rule.name,
                severity=config.severity_of(rule.code, rule.severity),
                range=Range.of(s.line, s.column, s.line, s.end_column),
                message=what,
                path=path,
                fixable=config.can_fix(rule.code),
                tags=frozenset({Tag.UNNECESSARY}),
                data=(("unused", ",".join(unused)),),
            )


def _enclosing_names(tree: ast.Module, lines: Collection[int]) -> dict[int, str]:
    """The qualified name of the innermost definition around each of ``lines`` ('' at
    module level): the part of a fingerprint that needs the tree."""
    if not lines:
        return {}  # most files: no finding, nothing to name
    ordered = sorted(lines)
    return names_from_spans(definition_spans(tree, ordered), ordered)


def names_from_spans(spans: list[DefinitionSpan], lines: Iterable[int]) -> dict[int, str]:
    """``_enclosing_names`` from the definition spans (``definition_spans``' order) that
    contain the lines, or more."""
    if not spans:
        return {}
    ordered = sorted(lines)
    starts = [s.start for s in spans]
    parents = span_parents(spans)
    return {line: enclosing_definition(spans, starts, line, parents) for line in ordered}


def with_fingerprints(
    findings: list[Finding], names: dict[int, str], src: SourceText | None, path: str
) -> list[Finding]:
    """``findings`` with their fingerprints; ``names``: ``_enclosing_names`` of their lines."""
    if not findings:
        return findings
    keys = [
        (
            f.code,
            path,
            src.line(f.line) if src is not None else f.message,
            names.get(f.line, ""),
        )
        for f in findings
    ]
    # Every finding here was made by this analysis and none has been handed out yet, so
    # its fingerprint slot is filled in place: ``dataclasses.replace`` per finding cost
    # more than the rest of the finding's making (~95,000 findings in issue 13's file).
    put = _SET_FINGERPRINT
    for finding, fingerprint in zip(findings, fingerprints(keys), strict=True):
        put(finding, fingerprint)
    return findings


_SET_FINGERPRINT = Finding.__dict__["fingerprint"].__set__  # the slot's own setter
