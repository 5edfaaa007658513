"""Lazy, verified fixes: one finding at a time, or fix-all to a fixed point.

A fix is only ever returned after verification: the result parses, the finding is
gone, and no finding appeared that was not there before (compared by code and
message, which survive line shifts). A fix that fails is dropped and reported.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import libcst as cst

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.model import Finding, Fix, Report, Safety
from ems.core.registry import RuleSet, load_rules
from ems.core.source import SourceText
from ems.fixes.apply import EditConflict, apply_edits, edit_offsets
from ems.fixes.context import FixContext

log = logging.getLogger("ems.fixes")

MAX_PASSES = 25


@dataclass(frozen=True)
class FixFailure:
    code: str
    line: int
    reason: str


@dataclass(frozen=True)
class FixAllResult:
    text: str
    applied: tuple[tuple[str, str], ...]  # (code, title) per applied fix
    failures: tuple[FixFailure, ...]
    passes: int
    remaining: tuple[Finding, ...] = field(default=())

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def _key(finding: Finding) -> tuple[str, str]:
    """Identity of a finding across an edit: a message naming a related place's line
    ("from line 3") moves with the text, so its template is compared."""
    return finding.code, finding.template or finding.message


def _signature(findings: Iterable[Finding]) -> Counter[tuple[str, str]]:
    return Counter(_key(f) for f in findings)


def verify(
    before: Report, new_text: str, targets: Iterable[Finding], path: str, config: Config, ruleset: RuleSet
) -> str | None:
    """None when the new text is acceptable; otherwise the reason it is not."""
    after = analyse(new_text, path, config, ruleset)
    if after.syntax_error:
        return "the result does not parse"
    remaining = _signature(after.findings)
    expected = _signature(before.findings)
    for target in targets:
        key = _key(target)
        if remaining[key] >= expected[key]:
            return f"{target.code} is still reported after the fix"
        expected[key] -= 1
    revealed: set[str] = set()
    for target in targets:
        rule = ruleset.get(target.code)
        if rule is not None:
            revealed |= rule.fix_may_reveal
    new = [key for key in (remaining - expected) if key[0] not in revealed]
    if new:
        code, message = new[0]
        return f"the fix introduces {code}: {message}"
    return None


def compute_fix(finding: Finding, ctx: FixContext, ruleset: RuleSet) -> Fix | None:
    """The rule's fix for ``finding``, unverified; None if it has none."""
    rule = ruleset.get(finding.code)
    if rule is None or not finding.fixable:
        return None
    try:
        return rule().fix(finding, ctx)
    except cst.ParserSyntaxError:
        return None
    except Exception as exc:  # a broken fixer is contained like a broken rule
        log.error("fix for %s raised %s in %s", finding.code, type(exc).__name__, finding.path, exc_info=exc)
        return None


def fixes_for(
    text: str,
    finding: Finding,
    path: str = "<stdin>",
    config: Config | None = None,
    ruleset: RuleSet | None = None,
    report: Report | None = None,
    ctx: FixContext | None = None,
) -> Fix | None:
    """A verified fix for one finding of ``text``, or None."""
    config = config or Config()
    ruleset = ruleset or load_rules()
    report = report or analyse(text, path, config, ruleset)
    ctx = ctx or FixContext(text, path)
    fix = compute_fix(finding, ctx, ruleset)
    if fix is None:
        return None
    try:
        new_text = apply_edits(text, fix.edits)
    except EditConflict:
        return None
    reason = verify(report, new_text, [finding], path, config, ruleset)
    if reason:
        log.warning("dropped fix for %s at line %d of %s: %s", finding.code, finding.line, path, reason)
        return None
    return fix


_Key = tuple[str, str, str]


def _keyer(text: str) -> Callable[[Finding], _Key]:
    """A finding's identity across passes: code, message and its line's text (not its
    number, which moves as fixes above it remove lines)."""
    source = SourceText(text)
    return lambda f: (f.code, f.message, " ".join(source.line(f.line).split()))


def allowed(fix: Fix, unsafe: bool) -> bool:
    return fix.safety is Safety.SAFE or unsafe


def fix_all(
    text: str,
    path: str = "<stdin>",
    config: Config | None = None,
    *,
    unsafe: bool | None = None,
    codes: Iterable[str] | None = None,
    ruleset: RuleSet | None = None,
    max_passes: int = MAX_PASSES,
) -> FixAllResult:
    """Apply every allowed fix, pass after pass, until nothing changes (bounded)."""
    config = config or Config()
    ruleset = ruleset or load_rules()
    unsafe = config.unsafe_fixes if unsafe is None else unsafe
    only = {c.upper() for c in codes} if codes is not None else None
    applied: list[tuple[str, str]] = []
    failures: list[FixFailure] = []  # fatal ones (libcst cannot parse)
    # Findings whose fix verification refused on the current text. Forgotten whenever the
    # text changes: removing one of two duplicate imports makes the other one fixable.
    failed: dict[_Key, FixFailure] = {}
    passes = 0
    report = analyse(text, path, config, ruleset)
    while passes < max_passes and not report.syntax_error:
        passes += 1
        key = _keyer(text)
        candidates = [
            f
            for f in report.findings
            if f.fixable and (only is None or f.code in only) and key(f) not in failed
        ]
        if not candidates:
            break
        ctx = FixContext(text, path)
        try:
            ctx.module  # noqa: B018 - parse once; a libcst failure ends fixing for this file
        except cst.ParserSyntaxError as exc:
            failures.append(FixFailure("", 1, f"libcst cannot parse the file: {exc.message}"))
            break
        batch: list[tuple[Finding, Fix, tuple[int, int]]] = []
        for finding in candidates:
            fix = compute_fix(finding, ctx, ruleset)
            if fix is None or not allowed(fix, unsafe):
                continue
            spans = [edit_offsets(ctx.source, e) for e in fix.edits]
            span = (min(s[0] for s in spans), max(s[1] for s in spans))
            if any((span[0] < other[1] and other[0] < span[1]) or span == other for _, _, other in batch):
                continue  # overlapping: left for the next pass
            batch.append((finding, fix, span))
        if not batch:
            break
        combined = apply_edits(text, [e for _, fix, _ in batch for e in fix.edits])
        reason = verify(report, combined, [f for f, _, _ in batch], path, config, ruleset)
        if reason is None:
            text = combined
            applied.extend((f.code, fix.title) for f, fix, _ in batch)
            failed.clear()
        else:
            good: list[tuple[Finding, Fix, tuple[int, int]]] = []
            for finding, fix, span in batch:  # fall back to one at a time
                why = verify(report, apply_edits(text, fix.edits), [finding], path, config, ruleset)
                if why is None:
                    good.append((finding, fix, span))
                else:
                    failed[key(finding)] = FixFailure(finding.code, finding.line, why)
            chosen = good[:1]
            if len(good) > 1:  # the good ones together: one pass instead of one per fix
                together = apply_edits(text, [e for _, fix, _ in good for e in fix.edits])
                if verify(report, together, [f for f, _, _ in good], path, config, ruleset) is None:
                    chosen = good
            if chosen:
                text = apply_edits(text, [e for _, fix, _ in chosen for e in fix.edits])
                applied.extend((f.code, fix.title) for f, fix, _ in chosen)
                failed.clear()
        report = analyse(text, path, config, ruleset)
    return FixAllResult(text, tuple(applied), (*failures, *failed.values()), passes, report.findings)
