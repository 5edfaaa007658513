"""The report of an incremental analysis: cached findings moved to their current lines,
the module-scoped rules over the outline, suppressions and fingerprints."""

from __future__ import annotations

import bisect
import time
from dataclasses import replace
from typing import Any

from ems.core.analyse import (
    apply_suppressions,
    rule_error_finding,
    run_rules,
    to_finding,
)
from ems.core.config import Config
from ems.core.fingerprint import enclosing_definition, fingerprints
from ems.core.incremental.isolated import patched
from ems.core.incremental.outline import _outline, _place, with_repeats
from ems.core.incremental.state import RawHit, Scoped, StubbedBody, _Chunk, _Class, _shift_hit, _State
from ems.core.model import Finding, Report, RuleError
from ems.core.registry import RuleSet
from ems.core.rule import STATEMENTS, AnalysisContext
from ems.core.source import SourceText


def _report(state: _State, text: str, path: str, config: Config, ruleset: RuleSet, started: float) -> Report:
    findings: list[Finding] = []
    errors: dict[str, RuleError] = {}
    for chunk in state.chunks:
        findings += _cached_findings(chunk, chunk.shift, path, config)
        for error in chunk.errors:
            errors.setdefault(error.code, error)
    src = SourceText(text)
    src.__dict__["lines"] = state.lines  # split once per edit (``analyse``), not again here
    raw, scoped_errors = _scoped(state, text, src, path)
    for chunk in state.chunks:  # (after ``_scoped``: it decides what is stubbed)
        slots: tuple[StubbedBody | _Class, ...] = (*chunk.bodies, *chunk.classes)
        for slot in slots:
            if slot.active == "stub" and slot.hits:
                findings += _cached_findings(slot, chunk.shift, path, config)
    for error in scoped_errors:
        errors.setdefault(error.code, error)
    findings += [to_finding(rule, hit, path, config) for rule, hit in raw]
    findings.extend(rule_error_finding(err, path) for err in errors.values())
    findings = apply_suppressions(findings, text, ruleset, state.rules.enabled, path, config)
    findings.sort(key=lambda f: (f.range.start, f.code))
    findings = _fingerprinted(findings, state, src, path)
    elapsed = time.perf_counter() - started
    return Report(path, tuple(findings), False, tuple(errors.values()), {"total": elapsed})


def _scoped(state: _State, text: str, src: SourceText, path: str) -> tuple[list[RawHit], list[RuleError]]:
    """The module-scoped rules' hits over the outline (each replayed read's finding repeated
    at the reads it stands for), and their errors.

    Reused when no chunk of the outline changed since they were found: the same chunks
    (identity), none revised in place, each at the same shift — typing inside a method or
    on a class's own line that changes nothing the outline holds
    (``edits._same_in_outline``) costs no scope pass. Patched when the edit replaced chunks
    whose names nothing else in the text mentions (``isolated``): typing a new top-level
    line costs a scope pass over that line. Either way only while the facts about the text
    they were found under hold (B007: whether ``_name`` is a word of it)."""
    signature = tuple((chunk, chunk.revision, chunk.shift) for chunk in state.chunks)
    memo = state.scoped
    state.scoped_reused = state.scoped_patched = False
    if memo is not None and _facts_hold(memo.facts, state.edit, text):
        old = memo.signature
        if len(old) == len(signature) and all(
            a[0] is b[0] and a[1:] == b[1:] for a, b in zip(old, signature, strict=True)
        ):
            _place_changed(state)
            state.scoped = Scoped(signature, memo.raw, memo.errors, memo.facts)  # (the old chunks let go)
            state.scoped_reused = True
            return memo.raw, memo.errors
    if memo is not None and not memo.errors and _facts_hold(memo.facts, state.edit, text):
        facts = dict(memo.facts)
        raw = patched(state, old, memo.raw, signature, src, path, facts)
        if raw is not None:
            state.scoped = Scoped(signature, raw, [], facts)
            state.scoped_patched = True
            return raw, []
    outline = _outline(state)
    facts = {}
    ctx = AnalysisContext(path=path, source=src, tree=outline.module, fact_log=facts)
    scoped, errors = run_rules(ctx, state.rules.scoped_rules, state.rules.scoped_dispatch)
    raw = with_repeats(scoped, outline.repeats, ctx, src)
    state.scoped = Scoped(signature, raw, errors, facts)
    return raw, errors


def _place_changed(state: _State) -> None:
    """Place again the chunks changed in place (``edits`` put their defs back whole):
    what is stubbed decides which cached findings the report takes."""
    changed = [chunk for chunk in state.chunks if chunk.outlined is None]
    if not changed:
        return
    imported = frozenset().union(*(c.imports for c in state.chunks))
    typing = frozenset().union(*(c.typing for c in state.chunks))
    for chunk in changed:
        chunk.outlined = (chunk.shift, imported, typing, _place(chunk, imported, typing))


def _facts_hold(
    facts: dict[tuple[str, ...], tuple[str, Any, object]], edit: tuple[str, str, bool, bool], text: str
) -> bool:
    """Whether each fact the module-scoped rules were checked under is still true: only
    one whose word the last edit's old or new lines hold can have changed (a fact about
    statements, none of the built-in module-scoped rules', whatever the edit)."""
    old, new = edit[0], edit[1]
    for key, (word, compute, value) in facts.items():
        if (
            compute is not None
            and (word in old or word in new or key[0] == STATEMENTS)
            and compute(text) != value
        ):
            return False
    return True


def _cached_findings(
    owner: _Chunk | StubbedBody | _Class, shift: int, path: str, config: Config
) -> list[Finding]:
    """The owner's cached hits as findings at its current place (rebuilt when it moves)."""
    if owner.findings is None or owner.findings[0] != shift:
        owner.findings = (
            shift,
            [to_finding(rule, _shift_hit(hit, shift), path, config) for rule, hit in owner.hits],
        )
    return owner.findings[1]


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
    # Most findings are the very objects of the last edit (cached per chunk): their
    # fingerprinted copies are kept too (a ``replace`` per finding was ~0.15 ms on tkinter).
    kept, made = state.fingerprinted, {}
    out: list[Finding] = []
    for finding, fingerprint in zip(findings, fingerprints(keys), strict=True):
        entry = kept.get(id(finding))
        if entry is None or entry[0] is not finding or entry[1].fingerprint != fingerprint:
            entry = (finding, replace(finding, fingerprint=fingerprint))
        made[id(finding)] = entry
        out.append(entry[1])
    state.fingerprinted = made
    return out
