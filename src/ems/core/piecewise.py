"""A huge module analysed a piece at a time, never holding its whole tree.

Why: a module's ``ast`` objects take ~60 times its text (a generated 5 MB module: ~300 MiB),
and ``analyse`` holds the whole tree while the rules and the scope model run (issue 13:
under 300 MB for that module). Here the module is parsed in the pieces ``ems.core.parsing``
cuts (top-level statements, line numbers the file's) and each piece's tree is dropped once
it has been checked; what outlives it is small:

1. **Facts**, learnt from each piece before it is checked: the names imported outside
   functions, the module's top-level import statements, the watched names
   (``Rule.watched_names``) bound anywhere, the names bound to ``typing``: what a
   statement's rules may ask about the rest of the module (``AnalysisContext.module_imports``,
   ``bound_anywhere``) and what decides whether a stub may stand in for a body.
2. **Pieces**: the chunk-local rules run over each piece with those facts, the definition
   spans (for fingerprints) are kept, and each outermost function body (and each top-level
   class whose defs are all stubbed) is analysed alone for the module-scoped rules and
   replaced by a stub that replays its reads from outside, exactly as the language server's
   incremental analysis does (``ems.core.incremental.stubs``). The piece's statements,
   bodies stubbed, are kept as part of the *outline*; the full bodies are dropped.
3. **Outline**: once every piece is known, what each was checked under is checked again
   against the whole module (``_still_true``: an import met late, say; then every piece is
   checked again, knowing the whole module), and the module-scoped rules run once over the outline (every piece's
   stubbed statements and one function replaying every name read from outside, each once).

The findings, fingerprints included, are ``analyse``'s (tests compare the two over the
stdlib with pieces of a few hundred characters). Only sources of ``parsing.PIECEWISE_MIN_CHARS``
or more come here; anything this path cannot take (a syntax error, a lone ``\\r``, an
internal error) returns None and ``analyse`` takes its usual path.
"""

from __future__ import annotations

import ast
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ems.core.analyse import finding_lines, finish, names_from_spans, run_rules
from ems.core.config import Config
from ems.core.fingerprint import DefinitionSpan, definition_spans
from ems.core.incremental.outline import outside, replay, with_repeats
from ems.core.incremental.state import RawHit, Rules, split_rules
from ems.core.incremental.stubs import (
    analyse_bodies,
    analyse_classes,
    import_names,
    outermost_functions,
    stands_in,
    typing_names,
)
from ems.core.model import Report, RuleError
from ems.core.parsing import PIECE_CHARS, WholeParse, pieces
from ems.core.registry import RuleSet
from ems.core.rule import IMPORTS, AnalysisContext
from ems.core.source import SourceText
from ems.core.suppressions import suppressions_in
from ems.core.watched import names_bound

log = logging.getLogger("ems.core")


@dataclass
class _Facts:
    """What a piece's rules may ask about the rest of the module, learnt piece by piece."""

    imported: set[str] = field(default_factory=set)  # names bound by imports outside functions
    top_imports: list[ast.stmt] = field(default_factory=list)  # the module's top-level imports
    bound: set[str] = field(default_factory=set)  # watched names bound anywhere
    typing: set[str] = field(default_factory=set)  # names bound to `typing` or its members


@dataclass
class _Outline:
    """What outlives the pieces: the module-scoped rules' input and every hit so far."""

    statements: list[ast.stmt] = field(default_factory=list)
    reads: list[ast.stmt] = field(default_factory=list)  # each name read from outside, once
    first_read: dict[str, tuple[int, int]] = field(default_factory=dict)
    repeats: dict[tuple[int, int], list[ast.AST]] = field(default_factory=dict)
    raw: list[RawHit] = field(default_factory=list)
    errors: dict[str, RuleError] = field(default_factory=dict)  # one per rule, first kept
    spans: list[DefinitionSpan] = field(default_factory=list)
    # what the stubbed bodies and classes bind (parameters too) and read from outside:
    # checked against the whole module's imports once every piece is known (``_still_true``)
    stub_binds: set[str] = field(default_factory=set)
    stub_reads: set[str] = field(default_factory=set)


def analyse_in_pieces(
    text: str,
    path: str,
    config: Config,
    ruleset: RuleSet,
    src: SourceText,
    started: float,
    piece_chars: int = PIECE_CHARS,
) -> Report | None:
    """``analyse(text, path, config, ruleset)`` a piece at a time; None: take the usual path."""
    if "\0" in text:
        return None
    rules = split_rules(ruleset, config, path)
    facts = _Facts()
    try:
        with warnings.catch_warnings():
            # as in ``analyse``: the analysed code's own warnings are not ours to print
            warnings.simplefilter("ignore")
            outline, asked = _check_pieces(text, path, src, rules, piece_chars, facts, learn=True)
            if not _still_true(facts, outline, asked):
                # Something met late (an import at the bottom, a watched name bound below
                # its use) changes what an earlier piece was checked under: check every
                # piece again, now knowing the whole module (nothing can be late then).
                del outline, asked
                outline, _ = _check_pieces(text, path, src, rules, piece_chars, facts, learn=False)
    except WholeParse:
        return None  # a syntax error, or a module that must be parsed whole
    except (Exception, RecursionError) as exc:  # not the rules' (contained): ours
        log.warning("piecewise analysis of %s failed (%s); analysing it whole", path, exc, exc_info=exc)
        return None
    timings = {"pieces": time.perf_counter() - started}
    raw, errors = _outline_pass(outline, src, path, rules)
    suppressions = suppressions_in(text, config)
    names = names_from_spans(outline.spans, finding_lines(raw, errors, suppressions))
    del outline
    enabled = rules.enabled
    return finish(
        raw, errors, suppressions, names, text, src, path, config, ruleset, enabled, started, timings
    )


def _check_pieces(
    text: str, path: str, src: SourceText, rules: Rules, piece_chars: int, facts: _Facts, learn: bool
) -> tuple[_Outline, _Asked]:
    """Every piece checked in turn (``_check_piece``), its tree dropped after; with ``learn``,
    each piece's facts are learnt first (``facts`` is then complete at the end)."""
    outline, asked = _Outline(), _Asked()
    raised = False
    for piece, tree in pieces(text, path, piece_chars):
        statements = tree.body
        if (raised and statements) or any(isinstance(s, ast.Raise) for s in statements[:-1]):
            # Statements after a module-level `raise` are one unreachable block (EMS102)
            # that pieces would cut: such a module is analysed whole.
            raise WholeParse("statements after a module-level raise")
        raised = raised or (bool(statements) and isinstance(statements[-1], ast.Raise))
        if learn:
            _learn(facts, statements, text[piece.start : piece.end], rules.watched)
        del statements
        _check_piece(tree, text, path, src, rules, facts, outline, asked)
        del tree
    return outline, asked


def _learn(facts: _Facts, statements: list[ast.stmt], text: str, watched: frozenset[str]) -> None:
    """What a piece (``text``, its ``statements``) adds to the module-wide facts, learnt
    before the piece is checked: each piece is checked knowing itself and the pieces before."""
    facts.imported.update(import_names(statements))
    facts.typing.update(typing_names(statements))
    facts.top_imports.extend(s for s in statements if isinstance(s, (ast.Import, ast.ImportFrom)))
    if watched:
        facts.bound.update(names_bound(statements, watched, text))


class _Asked(dict[tuple[str, ...], tuple[str, Callable[[Any], object] | None, object]]):
    """The facts the chunk-local rules asked (``AnalysisContext.fact_log``), each with its
    first answer, and whether a later piece got another answer (``stale``)."""

    stale = False

    def __setitem__(
        self, key: tuple[str, ...], entry: tuple[str, Callable[[Any], object] | None, object]
    ) -> None:
        first = self.get(key)
        if first is None:
            super().__setitem__(key, entry)
        elif first[2] != entry[2]:
            self.stale = True


def _still_true(facts: _Facts, outline: _Outline, asked: _Asked) -> bool:
    """Whether what each piece was checked under holds for the whole module: a piece knew
    only the pieces up to itself, so an import, a watched binding or a typing import met
    later can change a chunk-local rule's answer or a stub's right to stand in."""
    if asked.stale:
        return False
    if outline.stub_binds & facts.imported or outline.stub_reads & facts.typing:
        return False
    for key, (word, compute, value) in asked.items():
        if word == IMPORTS and compute is not None:
            now = compute(facts.top_imports)
        elif key[0] == "binds":
            now = word in facts.bound
        else:
            continue  # the whole text's (``module_fact``): true for every piece
        if now != value:
            return False
    return True


def _check_piece(
    tree: ast.Module,
    text: str,
    path: str,
    src: SourceText,
    rules: Rules,
    facts: _Facts,
    outline: _Outline,
    asked: _Asked,
) -> None:
    """One piece: its chunk-local hits, definition spans, and stubbed statements (with the
    module-scoped hits inside its stubbed bodies and classes) into ``outline``."""
    top_imports = facts.top_imports
    ctx = AnalysisContext(
        path=path,
        source=src,
        tree=tree,
        module_text=text,
        fact_log=asked,
        bound_anywhere=facts.bound.__contains__,
        module_imports=lambda: top_imports,
    )
    hits, errors = run_rules(ctx, rules.local_rules, rules.local_dispatch)
    del ctx
    outline.raw.extend(hits)
    _note_errors(outline, errors)
    outline.spans.extend(definition_spans(tree))
    statements = tree.body
    del tree
    if not rules.scoped_rules:
        return  # no module-scoped rule selected: no outline to keep
    bodies = outermost_functions([statements])
    logged: dict[tuple[str, ...], object] = {}
    _note_errors(outline, analyse_bodies(bodies, src, path, rules, text, logged))
    classes, class_errors = analyse_classes([(0, statements)], bodies, src, path, rules, text, logged)
    _note_errors(outline, class_errors)
    imported, typing = facts.imported, facts.typing
    for body in bodies:
        # a body that binds a name the module imports, or reads a typing name, is kept
        # whole, as in the incremental outline (``stubs.stands_in``)
        if not stands_in(body, imported, typing):
            continue
        body.holder[body.index] = body.stub  # type: ignore[assignment]
        outline.raw.extend(body.hits)
        outline.stub_binds.update(body.binds)
        outline.stub_reads.update(body.read_names)
        replay(body.reads, outline.first_read, outline.repeats, outline.reads)
    for cls in classes:
        # its binds and reads hold its bodies': a class holding a body kept whole is kept whole
        if stands_in(cls, imported, typing):
            cls.holder[cls.index] = cls.stub
            outline.raw.extend(cls.hits)
            outline.stub_binds.update(cls.binds)
            outline.stub_reads.update(cls.read_names)
    outline.statements.extend(statements)


def _note_errors(outline: _Outline, errors: list[RuleError]) -> None:
    for error in errors:
        outline.errors.setdefault(error.code, error)


def _outline_pass(
    outline: _Outline, src: SourceText, path: str, rules: Rules
) -> tuple[list[RawHit], list[RuleError]]:
    """The module-scoped rules over the outline; a hit on a replayed read is repeated at
    every other read of that name (``ems.core.incremental.report`` does the same)."""
    statements = outline.statements
    if outline.reads:
        statements.append(outside(outline.reads))
    ctx = AnalysisContext(path=path, source=src, tree=ast.Module(body=statements, type_ignores=[]))
    scoped, errors = run_rules(ctx, rules.scoped_rules, rules.scoped_dispatch)
    raw = outline.raw
    raw.extend(with_repeats(scoped, outline.repeats, ctx, src))
    _note_errors(outline, errors)
    return raw, list(outline.errors.values())
