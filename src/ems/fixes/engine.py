"""Lazy, verified fixes: one finding at a time, or fix-all to a fixed point.

A fix is only ever returned after verification: the result parses, the finding is
gone, and no finding appeared that was not there before (compared by code and
message, which survive line shifts). A fix that fails is dropped and reported.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial

import libcst as cst

from ems.core.analyse import analyse
from ems.core.config import Config
from ems.core.model import Finding, Fix, Fixability, Range, Report, Safety
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import Rule
from ems.core.source import SourceText
from ems.fixes.apply import EditConflict, apply_edits, edit_offsets
from ems.fixes.context import FixContext
from ems.fixes.slices import WholeFileNeeded, slice_for

log = logging.getLogger("ems.fixes")

_Key = tuple[str, str, str]  # code, message, the finding's line's text (normalised)

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
    # Per applied fix: the fixed finding's identity (``_keyer``, on the text of its pass)
    # and the fix's safety; what ``with_fixability`` maps back to the original findings.
    fixed: tuple[tuple[_Key, Safety], ...] = field(default=())
    withheld: int = 0  # unsafe fixes computed but not applied (unsafe fixes off)

    @property
    def changed(self) -> bool:
        return bool(self.applied)


def _key(finding: Finding) -> tuple[str, str]:
    """Identity of a finding across an edit: a message naming a related place's line
    ("from line 3") moves with the text, so its template is compared."""
    return finding.code, finding.template or finding.message


def _signature(findings: Iterable[Finding]) -> Counter[tuple[str, str]]:
    return Counter(_key(f) for f in findings)


class FixMemo:
    """What one judgement of a file computes more than once: the libcst context of a text
    and the analysis of a text. ``with_fixability`` runs the engine twice (safe, then with
    unsafe fixes) from the same text: the second run reuses the first's parse, index, the
    fixes it computed there and the analyses of candidate texts it already verified.
    Lives for one file's judgement."""

    def __init__(self) -> None:
        self.contexts: dict[tuple[str, tuple[Range, ...]], FixContext] = {}
        self.reports: dict[str, Report] = {}
        self.fixes: dict[tuple[int, Finding], Fix | None] = {}  # by id of a kept context

    def fix(
        self, finding: Finding, ctx: FixContext, ruleset: RuleSet, whole: Callable[[], FixContext]
    ) -> Fix | None:
        key = (id(ctx), finding)
        if key not in self.fixes:
            self.fixes[key] = compute_fix(finding, ctx, ruleset, whole)
        return self.fixes[key]

    def context(self, text: str, path: str, candidates: list[Finding], ruleset: RuleSet) -> FixContext:
        key = (text, _places(candidates, ruleset))
        ctx = self.contexts.get(key)
        if ctx is None:
            ctx = self.contexts[key] = context_for(text, path, candidates, ruleset)
        return ctx

    def whole(self, text: str, path: str) -> FixContext:
        ctx = self.contexts.get((text, ()))
        if ctx is None:
            ctx = self.contexts[(text, ())] = FixContext(text, path)
        return ctx

    def analyse(self, text: str, path: str, config: Config, ruleset: RuleSet) -> Report:
        report = self.reports.get(text)
        if report is None:
            report = self.reports[text] = analyse(text, path, config, ruleset)
        return report


def _places(candidates: Iterable[Finding], ruleset: RuleSet) -> tuple[Range, ...]:
    """Where the candidates' fixes read and write; empty when one of them may read the
    whole module (a rule that is not ``local_fix``)."""
    places: list[Range] = []
    for finding in candidates:
        rule = ruleset.get(finding.code)
        if rule is None or not rule.local_fix:
            return ()
        places.append(finding.range)
        places.extend(r.range for r in finding.related)
    return tuple(sorted(set(places)))


def context_for(text: str, path: str, candidates: list[Finding], ruleset: RuleSet) -> FixContext:
    """A context whose libcst tree holds only the statements of ``candidates``
    (``ems.fixes.slices``) when that is possible, else one of the whole file."""
    places = _places(candidates, ruleset)
    part = slice_for(text, places) if places else None
    if part is not None:
        ctx = FixContext(text, path, part)
        try:
            ctx.module  # noqa: B018 - a slice libcst refuses falls back to the whole file
        except (WholeFileNeeded, RecursionError):
            pass
        else:
            return ctx
    return FixContext(text, path)


def verify(
    before: Report,
    new_text: str,
    targets: Iterable[Finding],
    path: str,
    config: Config,
    ruleset: RuleSet,
    memo: FixMemo | None = None,
) -> str | None:
    """None when the new text is acceptable; otherwise the reason it is not."""
    after = (
        memo.analyse(new_text, path, config, ruleset) if memo else analyse(new_text, path, config, ruleset)
    )
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


TOO_DEEP = "the file is nested too deeply for libcst (RecursionError); not fixed"


class TooDeep(Exception):
    """libcst ran out of recursion on this document: no fix can be computed for it."""


def compute_fix(
    finding: Finding, ctx: FixContext, ruleset: RuleSet, whole: Callable[[], FixContext] | None = None
) -> Fix | None:
    """The rule's fix for ``finding``, unverified; None if it has none. Raises ``TooDeep``
    when libcst cannot walk the document (a valid but deeply nested file).

    On a sliced context (``ctx.part``), a fix that might differ from the same fix on the
    whole file is computed again on ``whole()``'s context."""
    rule = ruleset.get(finding.code)
    if rule is None or not finding.fixable:
        return None
    part = ctx.part
    if part is not None:
        try:
            fix = _rule_fix(rule, finding, ctx)
        except WholeFileNeeded:
            fix = None
        else:
            if fix is None or all(
                part.holds((e.range.start.line, e.range.start.column), (e.range.end.line, e.range.end.column))
                for e in fix.edits
            ):
                return fix
        ctx = whole() if whole is not None else FixContext(ctx.text, ctx.path)
    return _rule_fix(rule, finding, ctx)


def _rule_fix(rule: type[Rule], finding: Finding, ctx: FixContext) -> Fix | None:
    try:
        return rule().fix(finding, ctx)
    except WholeFileNeeded:
        raise
    except cst.ParserSyntaxError:
        return None
    except RecursionError:
        raise TooDeep(TOO_DEEP) from None
    except Exception as exc:  # a broken fixer is contained like a broken rule
        # INFO, not ERROR: ``ems check`` computes fixes too, and a record at WARNING or above
        # would reach stderr through logging's last-resort handler; the log keeps it.
        log.info("fix for %s raised %s in %s", finding.code, type(exc).__name__, finding.path, exc_info=exc)
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
    try:
        fix = compute_fix(finding, ctx, ruleset)
    except TooDeep:
        log.info("no fix for %s at line %d of %s: %s", finding.code, finding.line, path, TOO_DEEP)
        return None
    if fix is None:
        return None
    try:
        new_text = apply_edits(text, fix.edits)
    except EditConflict:
        return None
    reason = verify(report, new_text, [finding], path, config, ruleset)
    if reason:
        # Expected (the fix would not verify), not a fault: a plain ``ems check --format
        # sarif`` must not print it on stderr through logging's last-resort handler.
        log.info("dropped fix for %s at line %d of %s: %s", finding.code, finding.line, path, reason)
        return None
    return fix


def _keyer(text: str) -> Callable[[Finding], _Key]:
    """A finding's identity across passes: code, message and its line's text (not its
    number, which moves as fixes above it remove lines)."""
    source = SourceText(text)
    return lambda f: (f.code, f.message, " ".join(source.line(f.line).split()))


def _whole(ctx: FixContext) -> Callable[[], FixContext]:
    """The whole-file context of a sliced one, made on first use and kept."""
    made: list[FixContext] = [] if ctx.part is not None else [ctx]

    def whole() -> FixContext:
        if not made:
            made.append(FixContext(ctx.text, ctx.path))
        return made[0]

    return whole


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
    report: Report | None = None,
    memo: FixMemo | None = None,
) -> FixAllResult:
    """Apply every allowed fix, pass after pass, until nothing changes (bounded).

    ``report``: the analysis of ``text`` if the caller has it (saves one analysis).
    ``memo``: shared with another run on the same text (``with_fixability``).
    """
    memo = memo or FixMemo()
    config = config or Config()
    ruleset = ruleset or load_rules()
    unsafe = config.unsafe_fixes if unsafe is None else unsafe
    only = {c.upper() for c in codes} if codes is not None else None
    applied: list[tuple[str, str]] = []
    fixed: list[tuple[_Key, Safety]] = []
    failures: list[FixFailure] = []  # fatal ones (libcst cannot parse)
    # Findings whose fix verification refused on the current text. Forgotten whenever the
    # text changes: removing one of two duplicate imports makes the other one fixable.
    failed: dict[_Key, FixFailure] = {}
    # Findings the rule computed no allowed fix for (none, or unsafe while unsafe fixes are
    # off): not asked again, so a file whose remaining candidates are all such ends
    # without another libcst parse.
    settled: set[_Key] = set()
    withheld: set[_Key] = set()
    passes = 0
    if report is None:
        report = analyse(text, path, config, ruleset)
    while passes < max_passes and not report.syntax_error:
        passes += 1
        key = _keyer(text)
        candidates = [
            f
            for f in report.findings
            if f.fixable
            and (only is None or f.code in only)
            and (k := key(f)) not in failed
            and k not in settled
        ]
        if not candidates:
            break
        whole: Callable[[], FixContext]
        if passes == 1:
            ctx = memo.context(text, path, candidates, ruleset)
            whole = partial(memo.whole, text, path)
        else:
            ctx = context_for(text, path, candidates, ruleset)
            whole = _whole(ctx)
        try:
            ctx.module  # noqa: B018 - parse once; a libcst failure ends fixing for this file
        except cst.ParserSyntaxError as exc:
            failures.append(FixFailure("", 1, f"libcst cannot parse the file: {exc.message}"))
            break
        except RecursionError:
            failures.append(FixFailure("", 1, TOO_DEEP))
            break
        batch: list[tuple[Finding, Fix, tuple[int, int]]] = []
        try:
            if passes == 1:  # the memo's context: its fixes may be asked again
                fixes = [(finding, memo.fix(finding, ctx, ruleset, whole)) for finding in candidates]
            else:
                fixes = [(finding, compute_fix(finding, ctx, ruleset, whole)) for finding in candidates]
        except TooDeep:
            failures.append(FixFailure("", 1, TOO_DEEP))
            break
        for finding, fix in fixes:
            if fix is None or not allowed(fix, unsafe):
                settled.add(key(finding))
                if fix is not None:
                    withheld.add(key(finding))
                continue
            spans = [edit_offsets(ctx.source, e) for e in fix.edits]
            span = (min(s[0] for s in spans), max(s[1] for s in spans))
            if any((span[0] < other[1] and other[0] < span[1]) or span == other for _, _, other in batch):
                continue  # overlapping: left for the next pass
            batch.append((finding, fix, span))
        if not batch:
            break
        combined = apply_edits(text, [e for _, fix, _ in batch for e in fix.edits])
        reason = verify(report, combined, [f for f, _, _ in batch], path, config, ruleset, memo)
        if reason is None:
            text = combined
            applied.extend((f.code, fix.title) for f, fix, _ in batch)
            fixed.extend((key(f), fix.safety) for f, fix, _ in batch)
            failed.clear()
        else:
            good: list[tuple[Finding, Fix, tuple[int, int]]] = []
            for finding, fix, span in batch:  # fall back to one at a time
                why = verify(report, apply_edits(text, fix.edits), [finding], path, config, ruleset, memo)
                if why is None:
                    good.append((finding, fix, span))
                else:
                    failed[key(finding)] = FixFailure(finding.code, finding.line, why)
            chosen = good[:1]
            if len(good) > 1:  # the good ones together: one pass instead of one per fix
                together = apply_edits(text, [e for _, fix, _ in good for e in fix.edits])
                if verify(report, together, [f for f, _, _ in good], path, config, ruleset, memo) is None:
                    chosen = good
            if chosen:
                text = apply_edits(text, [e for _, fix, _ in chosen for e in fix.edits])
                applied.extend((f.code, fix.title) for f, fix, _ in chosen)
                fixed.extend((key(f), fix.safety) for f, fix, _ in chosen)
                failed.clear()
        report = memo.analyse(text, path, config, ruleset)
    return FixAllResult(
        text,
        tuple(applied),
        (*failures, *failed.values()),
        passes,
        report.findings,
        tuple(fixed),
        len(withheld),
    )


def with_fixability(text: str, path: str, config: Config, ruleset: RuleSet, report: Report) -> Report:
    """``report`` with each finding's ``Fixability``: what ``ems fix`` does with it.

    Computed by running the fix engine as ``ems fix`` would (same passes, verification and
    dropped fixes), then, if unsafe fixes were withheld, as ``ems fix --unsafe-fixes``
    would; each applied fix is matched back to the finding it fixed. A fix revealed only
    by another fix (a finding that is not in ``report``) counts for no finding here.
    Costs libcst and a few analyses: callers cache the result (the project scan keeps it
    in the result cache), so only a changed file pays.
    """
    if report.syntax_error or not any(f.fixable for f in report.findings):
        return report
    memo = FixMemo()
    first = fix_all(text, path, config, ruleset=ruleset, report=report, memo=memo)
    if any(not failure.code for failure in first.failures):
        # libcst could not take the file (too deep, or a parse it refuses): unknown, so
        # ``ems fix`` tries it and says why it cannot.
        unknown = Fixability.UNKNOWN
        return replace(
            report,
            findings=tuple(replace(f, fixability=unknown) if f.fixable else f for f in report.findings),
        )
    facts = _match(text, report, first.fixed)
    if config.unsafe_fixes:
        found = {i: Fixability.SAFE if s is Safety.SAFE else Fixability.UNSAFE for i, s in facts.items()}
    else:
        found = dict.fromkeys(facts, Fixability.SAFE)
        if first.withheld:
            second = fix_all(text, path, config, unsafe=True, ruleset=ruleset, report=report, memo=memo)
            for index in _match(text, report, second.fixed):
                found.setdefault(index, Fixability.HIDDEN)
    findings = tuple(
        replace(f, fixability=found.get(i)) if f.fixability is not found.get(i) else f
        for i, f in enumerate(report.findings)
    )
    return replace(report, findings=findings)


def _match(text: str, report: Report, fixed: Iterable[tuple[_Key, Safety]]) -> dict[int, Safety]:
    """Index in ``report`` -> safety of the fix applied to it, for each fixed finding.

    A fixed finding is matched by code, message and its line's text (which a fix on the
    same line in an earlier pass may have changed: then by code and message alone).
    """
    key = _keyer(text)
    by_key: dict[_Key, list[int]] = {}
    by_message: dict[tuple[str, str], list[int]] = {}
    for index, finding in enumerate(report.findings):
        if finding.fixable:
            k = key(finding)
            by_key.setdefault(k, []).append(index)
            by_message.setdefault(k[:2], []).append(index)
    found: dict[int, Safety] = {}
    unmatched: list[tuple[_Key, Safety]] = []
    for k, safety in fixed:
        free = [i for i in by_key.get(k, ()) if i not in found]
        if free:
            found[free[0]] = safety
        else:
            unmatched.append((k, safety))
    for k, safety in unmatched:
        free = [i for i in by_message.get(k[:2], ()) if i not in found]
        if free:
            found[free[0]] = safety
    return found
