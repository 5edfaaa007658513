"""Lazy, verified fixes: one finding at a time, or fix-all to a fixed point.

A fix is only ever returned after verification: the result parses, the finding is
gone, and no finding appeared that was not there before (compared by code and
message, which survive line shifts). A fix that fails is dropped and reported.
"""

from __future__ import annotations

import ast
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from functools import partial

from ems.core.analyse import FactLog, analyse, select_rules
from ems.core.config import Config
from ems.core.model import Finding, Fix, Fixability, Range, Report, Safety
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import Rule
from ems.core.source import SourceText
from ems.fixes.apply import EditConflict, apply_edits, edit_offsets
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst: imported only when a fix needs its tree
from ems.fixes.reanalyse import Original, reanalyse
from ems.fixes.slices import WholeFileNeeded, slice_for
from ems.fixes.textedit import CstNeeded
from ems.fixes.verifybody import Judged, in_bodies

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

    def __init__(self, original: Original | None = None) -> None:
        # The judged text with the tree its analysis parsed: the fixed texts are analysed
        # from it, parsing only the statements a fix changed (``ems.fixes.reanalyse``).
        self.original = original
        # ... and when its report and the facts its rules asked are kept too, the fixed
        # texts whose changes lie in function bodies are analysed a body at a time
        # (``ems.fixes.verifybody``).
        self.judged = (
            Judged(original.text, original.tree, original.report, original.facts)
            if original is not None and original.report is not None and original.facts is not None
            else None
        )
        self.contexts: dict[tuple[str, tuple[Range, ...]], FixContext] = {}
        self.reports: dict[str, Report] = {}
        self.fixes: dict[tuple[int, Finding], Fix | None] = {}  # by id of a kept context
        self.texts: dict[tuple[int, Finding], Fix | CstNeeded | None] = {}  # the same, text route
        # Per text: the findings of the guard rules it has (``verifying``), when the user's
        # selection leaves them out and verification ran them.
        self.guarded: dict[str, tuple[Finding, ...]] = {}
        # ``verifying``'s answer for the judged file, asked by every verification: it
        # scans every rule class for the guard rules (a fifth of ``fix_all``'s own time).
        self.checking: tuple[Config, str, tuple[Config, frozenset[str]]] | None = None

    def verifying(self, config: Config, ruleset: RuleSet, path: str) -> tuple[Config, frozenset[str]]:
        """``verifying(config, ruleset, path)``, once per configuration and path."""
        kept = self.checking
        if kept is None or kept[0] is not config or kept[1] != path:
            kept = self.checking = (config, path, verifying(config, ruleset, path))
        return kept[2]

    def fix(
        self, finding: Finding, ctx: FixContext, ruleset: RuleSet, whole: Callable[[], FixContext]
    ) -> Fix | None:
        key = (id(ctx), finding)
        if key not in self.fixes:
            self.fixes[key] = compute_fix(finding, ctx, ruleset, whole, text_route=False)
        return self.fixes[key]

    def text_fix(self, finding: Finding, ctx: FixContext, ruleset: RuleSet) -> Fix | CstNeeded | None:
        key = (id(ctx), finding)
        if key not in self.texts:
            self.texts[key] = text_fix(finding, ctx, ruleset)
        return self.texts[key]

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
            if self.original is not None and text == self.original.text:
                # The text routes' statements (``textedit.Statements``) are read from the
                # tree the analysis parsed, not from a parse of their own.
                ctx.statements.__dict__["tree"] = self.original.tree
        return ctx

    def analyse(self, text: str, path: str, config: Config, ruleset: RuleSet) -> Report:
        report = self.reports.get(text)
        if report is None:
            if self.judged is not None:
                report = in_bodies(self.judged, text, path, config, ruleset)
            if report is None and self.original is not None:
                report = reanalyse(self.original, text, path, config, ruleset)
            if report is None:
                report = analyse(text, path, config, ruleset)
            self.reports[text] = report
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


def verifying(config: Config, ruleset: RuleSet, path: str) -> tuple[Config, frozenset[str]]:
    """The configuration verification analyses a fixed text with, and the codes it adds to
    the user's selection: the guard rules (``Rule.guards_fixes``: an undefined name, a
    shadowed one), whose new finding means the fix broke the code under any selection.
    F401's fix removes ``field`` when EMS106's, in the same batch, starts using it: with
    ``--select F401,EMS106`` only F821 sees the NameError. Nothing is added (``config``
    itself) when the selection has them all, as the default one does: then verification
    costs what it did.

    The added rules run in the same analysis as the selected ones; their findings are
    compared with the text's before the fix (``verify``) and never reported."""
    _, enabled = select_rules(ruleset, config, path)
    guards = frozenset(rule.code for rule in ruleset.rules if rule.guards_fixes) - enabled
    if not guards:
        return config, guards
    # Exact codes: the selection is the user's, per-file ignores applied, plus the guards.
    checking = replace(
        config, select=tuple(sorted(enabled | guards)), extend_select=(), ignore=(), per_file_ignores=()
    )
    return checking, guards


def verify(
    before: Report,
    new_text: str,
    targets: Iterable[Finding],
    path: str,
    config: Config,
    ruleset: RuleSet,
    memo: FixMemo | None = None,
    *,
    old_text: str | None = None,
) -> str | None:
    """None when the new text is acceptable; otherwise the reason it is not.

    ``old_text``: the text ``before`` is the report of. When the guard rules are not
    selected (``verifying``) and the fixed text has findings of theirs, the old text's are
    found with them only (one more analysis, once per text, and only then); without it,
    ``before`` is taken to hold them."""
    checking, guards = memo.verifying(config, ruleset, path) if memo else verifying(config, ruleset, path)
    after = (
        memo.analyse(new_text, path, checking, ruleset)
        if memo
        else analyse(new_text, path, checking, ruleset)
    )
    if after.syntax_error:
        return "the result does not parse"
    remaining = _signature(f for f in after.findings if f.code not in guards)
    expected = _signature(f for f in before.findings if f.code not in guards)
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
    if not new and guards:
        broken = tuple(f for f in after.findings if f.code in guards)
        if memo is not None:
            memo.guarded[new_text] = broken
        if any(f.code not in revealed for f in broken):
            had = _guard_findings(before, old_text, path, config, guards, ruleset, memo)
            new = [key for key in (_signature(broken) - _signature(had)) if key[0] not in revealed]
    if new:
        code, message = new[0]
        return f"the fix introduces {code}: {message}"
    return None


def _guard_findings(
    report: Report,
    text: str | None,
    path: str,
    config: Config,
    guards: frozenset[str],
    ruleset: RuleSet,
    memo: FixMemo | None,
) -> tuple[Finding, ...]:
    """The guard rules' findings of ``text`` (whose report under the user's selection is
    ``report``): known when verification analysed it, else found by the guard rules alone."""
    if text is None:
        return tuple(f for f in report.findings if f.code in guards)
    if memo is not None and text in memo.guarded:
        return memo.guarded[text]
    alone = replace(config, select=tuple(sorted(guards)), extend_select=(), ignore=(), per_file_ignores=())
    found = analyse(text, path, alone, ruleset).findings
    if memo is not None:
        memo.guarded[text] = found
    return found


TOO_DEEP = "the file is nested too deeply for libcst (RecursionError); not fixed"


class TooDeep(Exception):
    """libcst ran out of recursion on this document: no fix can be computed for it."""


def compute_fix(
    finding: Finding,
    ctx: FixContext,
    ruleset: RuleSet,
    whole: Callable[[], FixContext] | None = None,
    *,
    text_route: bool = True,
) -> Fix | None:
    """The rule's fix for ``finding``, unverified; None if it has none. Raises ``TooDeep``
    when libcst cannot walk the document (a valid but deeply nested file).

    The rule's text route is tried first (``text_route=False``: the caller already did).

    On a sliced context (``ctx.part``), a fix that might differ from the same fix on the
    whole file is computed again on ``whole()``'s context."""
    rule = ruleset.get(finding.code)
    if rule is None or not finding.fixable:
        return None
    if text_route:
        by_text = _text_fix(rule, finding, ctx)
        if not isinstance(by_text, CstNeeded):
            return by_text
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


_NEEDED = CstNeeded()


def text_fix(finding: Finding, ctx: FixContext, ruleset: RuleSet) -> Fix | CstNeeded | None:
    """The rule's fix computed as a text edit, without libcst (``ems.fixes.textedit``);
    a ``CstNeeded`` when the rule has no text route for this finding's shape."""
    rule = ruleset.get(finding.code)
    if rule is None or not finding.fixable:
        return None
    return _text_fix(rule, finding, ctx)


def _text_fix(rule: type[Rule], finding: Finding, ctx: FixContext) -> Fix | CstNeeded | None:
    if not rule.has_text_fix():
        return _NEEDED  # a plug-in rule with a libcst fix only
    try:
        return rule().text_fix(finding, ctx)
    except CstNeeded as needed:
        return needed
    except Exception as exc:  # a shape the text route misjudged: libcst decides
        log.info(
            "text fix for %s raised %s in %s", finding.code, type(exc).__name__, finding.path, exc_info=exc
        )
        return _NEEDED


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
    return None if fix is None else verified_fix(text, fix, finding, path, config, ruleset, report)


def verified_fix(
    text: str, fix: Fix, finding: Finding, path: str, config: Config, ruleset: RuleSet, report: Report
) -> Fix | None:
    """``fix`` if, applied alone to ``text``, it verifies against ``report`` (the analysis
    of ``text``): the result parses, the finding is gone, nothing new appeared. Else None."""
    try:
        new_text = apply_edits(text, fix.edits)
    except EditConflict:
        return None
    reason = verify(report, new_text, [finding], path, config, ruleset, old_text=text)
    if reason:
        # Expected (the fix would not verify), not a fault: a plain ``ems check --format
        # sarif`` must not print it on stderr through logging's last-resort handler.
        log.info("dropped fix for %s at line %d of %s: %s", finding.code, finding.line, path, reason)
        return None
    return fix


_Entry = tuple[Finding, Fix, tuple[int, int]]  # a batch's fix: its finding, the fix, its span
# A failed group this small whose failure points at every one of its fixes is verified
# fix by fix: halving it would cost as many analyses or more.
_ONE_BY_ONE = 4


class _Judge:
    """Which fixes of a batch (non-overlapping, all computed on ``text``) to apply together.

    The whole batch is verified first (one analysis). When it fails, the failure is pinned
    on the fixes that caused it instead of verifying every fix alone (which cost one
    analysis per fix, on every pass): the analysis of the failed text says which targets
    are still reported and which findings are new; a new finding is put on the fix whose
    edited span (mapped through the edits) holds it. The suspects are verified apart from
    the rest, and a group whose failure cannot be pinned is halved, so a batch with k bad
    fixes among n costs O(k log n) analyses. Whatever is applied was verified together;
    a fix is refused (with its own reason) only after it failed verification alone.
    """

    def __init__(
        self, text: str, report: Report, path: str, config: Config, ruleset: RuleSet, memo: FixMemo
    ) -> None:
        self.text, self.report, self.path = text, report, path
        self.config, self.ruleset, self.memo = config, ruleset, memo
        self.source = memo.whole(text, path).source  # the one ``fix_all`` found the spans with
        # The text each group checked gives, by its entries in order: the one applied is
        # then the string verified (hashed once as the memo's key, not made again).
        self.made: dict[tuple[int, ...], str] = {}

    def check(self, group: list[_Entry]) -> tuple[str | None, str]:
        """The reason ``group`` applied together fails verification (None: it passes),
        and the text it gives."""
        new_text = apply_edits(self.text, [e for _, fix, _ in group for e in fix.edits], self.source)
        self.made[tuple(id(entry) for entry in group)] = new_text
        targets = [f for f, _, _ in group]
        return verify(
            self.report,
            new_text,
            targets,
            self.path,
            self.config,
            self.ruleset,
            self.memo,
            old_text=self.text,
        ), new_text

    def settle(self, batch: list[_Entry]) -> tuple[list[_Entry], list[tuple[Finding, str]]]:
        """The fixes to apply (in batch order) and the refused ones with their reasons;
        the rest (verified alone but not with the chosen ones) wait for the next pass."""
        reason, new_text = self.check(batch)
        if reason is None:
            return batch, []
        goods: list[list[_Entry]] = []
        refused: list[tuple[Finding, str]] = []
        self._split(batch, reason, new_text, goods, refused)
        chosen = [entry for good in goods for entry in good]
        if len(goods) > 1 and self.check(chosen)[0] is not None:
            chosen = goods[0]  # each group verifies, not all: add them one group at a time
            for good in goods[1:]:
                if self.check(chosen + good)[0] is None:
                    chosen = chosen + good
        order = {id(entry): i for i, entry in enumerate(batch)}
        return sorted(chosen, key=lambda entry: order[id(entry)]), refused

    def _split(
        self,
        group: list[_Entry],
        reason: str,
        new_text: str,
        goods: list[list[_Entry]],
        refused: list[tuple[Finding, str]],
    ) -> None:
        """Adds to ``goods`` the parts of the failed ``group`` that verify (each on its
        own), and to ``refused`` its fixes that fail alone."""
        if len(group) == 1:
            refused.append((group[0][0], reason))
            return
        suspects = self._suspects(group, new_text)
        if suspects and len(suspects) < len(group):
            parts = [[e for e in group if id(e) not in suspects], [e for e in group if id(e) in suspects]]
        elif suspects and len(group) <= _ONE_BY_ONE:
            parts = [[entry] for entry in group]
        else:
            half = len(group) // 2
            parts = [group[:half], group[half:]]
        for part in parts:
            why, part_text = self.check(part)
            if why is None:
                goods.append(part)
            else:
                self._split(part, why, part_text, goods, refused)

    def _judged(self) -> tuple[Finding, ...]:
        """The judged text's findings, with the guard rules' when verification found them
        (``verify``): a finding of theirs the text had is no fix's doing."""
        guard = self.memo.guarded.get(self.text)
        if guard is None:
            return self.report.findings
        guards = self.memo.verifying(self.config, self.ruleset, self.path)[1]
        return (*(f for f in self.report.findings if f.code not in guards), *guard)

    def _suspects(self, group: list[_Entry], new_text: str) -> set[int]:
        """Ids of the entries the failed analysis of ``new_text`` points at; empty when it
        points at none (a parse error).

        Each finding of the failed text whose code and message are over-counted (a target
        still reported, or a new finding) and that is not one of the original text's
        findings moved by the edits is put on the nearest fix: a target's fix when its
        message is a target's (``f = None`` removed brings back the unused ``f = make()``
        above it), else any fix (``raise e`` turned ``raise`` leaves ``except E as e``
        unused just before it). A wrong guess costs analyses, never a wrong answer."""
        after = self.memo.reports.get(new_text)
        if after is None or after.syntax_error:
            return set()
        aimed: dict[tuple[str, str], list[int]] = {}
        for index, (finding, _, _) in enumerate(group):
            aimed.setdefault((finding.code, finding.message), []).append(index)
        judged = self._judged()
        before = Counter((f.code, f.message) for f in judged)
        now = Counter((f.code, f.message) for f in after.findings)
        over = {k for k, count in now.items() if count > before[k] - len(aimed.get(k, ()))}
        if not over:
            return set()
        old_source, new_source = self.source, SourceText(new_text)
        spans = _moved_spans(old_source, [span for _, _, span in group], [fix for _, fix, _ in group])
        shifts = sorted(
            (new_start, new_end, new_end - old_end)
            for (_, old_end), (new_start, new_end) in zip([span for _, _, span in group], spans, strict=True)
        )
        targets = {id(f) for f, _, _ in group}
        there = {
            (f.code, f.message, old_source.offset(f.line, f.range.start.column))
            for f in judged
            if (f.code, f.message) in over and id(f) not in targets
        }
        suspects: set[int] = set()
        for finding in after.findings:
            k = (finding.code, finding.message)
            if k not in over:
                continue
            at = new_source.offset(finding.line, finding.range.start.column)
            old = _moved_back(at, shifts)
            if old is not None and (*k, old) in there:
                continue  # an untouched finding of the original text
            pool = aimed.get(k) or range(len(group))
            distance = {i: max(spans[i][0] - at, at - spans[i][1], 0) for i in pool}
            nearest = min(distance.values())
            suspects.update(id(group[i]) for i, d in distance.items() if d == nearest)
        return suspects


def _moved_back(at: int, shifts: list[tuple[int, int, int]]) -> int | None:
    """The offset in the original text of ``at`` in the fixed one; None inside an edited
    span. ``shifts``: (start, end, shift after it) of each fix's span in the fixed text."""
    shift = 0
    for start, end, after in shifts:
        if at < start:
            break
        if at <= end:
            return None
        shift = after
    return at - shift


def _moved_spans(source: SourceText, spans: list[tuple[int, int]], fixes: list[Fix]) -> list[tuple[int, int]]:
    """Each fix's span (offsets in ``source``'s text) in the text with every fix applied:
    spans do not overlap, so a span moves by what the fixes before it added or removed."""
    deltas = []
    for fix in fixes:
        delta = 0
        for edit in fix.edits:
            start, end = edit_offsets(source, edit)
            delta += len(edit.new_text) - (end - start)
        deltas.append(delta)
    order = sorted(range(len(spans)), key=lambda i: spans[i][0])
    moved: list[tuple[int, int]] = [(0, 0)] * len(spans)
    shift = 0
    for i in order:
        start, end = spans[i]
        moved[i] = (start + shift, end + shift + deltas[i])
        shift += deltas[i]
    return moved


def _keyer(source: SourceText) -> Callable[[Finding], _Key]:
    """A finding's identity across passes: code, message and its line's text (not its
    number, which moves as fixes above it remove lines). ``source``: the text's own (the
    memo's, whose lines the pass splits once: a new one for each pass and for ``_match``
    split large texts again)."""
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
    # Findings whose fix verification refused. Kept while the text changes, and tried
    # again once on the text the other fixes lead to (``retry``): removing one of two
    # duplicate imports makes the other one fixable, but trying a failed fix again on
    # every intermediate text cost an analysis (and, in a failing batch, more) each pass.
    failed: dict[_Key, FixFailure] = {}  # found on the current text
    earlier: dict[_Key, FixFailure] = {}  # found on an earlier text, not yet tried again
    # Findings the rule computed no allowed fix for (none, or unsafe while unsafe fixes are
    # off): not asked again, so a file whose remaining candidates are all such ends
    # without another libcst parse.
    settled: set[_Key] = set()
    withheld: set[_Key] = set()
    passes = 0
    # Verification's selection: the user's plus the guard rules (``verifying``). The
    # texts are analysed with it, and its added rules' findings are neither fixed nor
    # reported.
    checking, guards = memo.verifying(config, ruleset, path)
    if report is None:
        report = analyse(text, path, checking, ruleset)
        if guards:
            memo.guarded[text] = tuple(f for f in report.findings if f.code in guards)
    while passes < max_passes and not report.syntax_error:
        passes += 1
        plain = memo.whole(text, path)
        key = _keyer(plain.source)
        candidates = [
            f
            for f in report.findings
            if f.fixable
            and (only is None or f.code in only)
            and f.code not in guards
            and (k := key(f)) not in failed
            and k not in earlier
            and k not in settled
        ]
        if not candidates and earlier:
            # Nothing new to fix: the fixes that failed on an earlier text get one more try
            # on this one (``ems fix`` applies them if they verify now).
            candidates = [
                f
                for f in report.findings
                if key(f) in earlier and key(f) not in failed and f.code not in guards
            ]
            earlier.clear()
        if not candidates:
            break
        # Text fixes first (``ems.fixes.textedit``): libcst parses only the statements of
        # the candidates the text route leaves (and is imported only then).
        if passes == 1:
            texts = {id(f): memo.text_fix(f, plain, ruleset) for f in candidates}
        else:
            texts = {id(f): text_fix(f, plain, ruleset) for f in candidates}
        rest = [f for f in candidates if isinstance(texts[id(f)], CstNeeded)]
        computed: dict[int, Fix | None] = {}
        if rest:
            whole: Callable[[], FixContext] = partial(memo.whole, text, path)
            ctx = (
                memo.context(text, path, rest, ruleset)
                if passes == 1
                else context_for(text, path, rest, ruleset)
            )
            try:
                ctx.module  # noqa: B018 - parse once; a libcst failure ends fixing for this file
            except cst.ParserSyntaxError as exc:
                failures.append(FixFailure("", 1, f"libcst cannot parse the file: {exc.message}"))
                break
            except RecursionError:
                failures.append(FixFailure("", 1, TOO_DEEP))
                break
            try:
                if passes == 1:  # the memo's context: its fixes may be asked again
                    computed = {id(f): memo.fix(f, ctx, ruleset, whole) for f in rest}
                else:
                    computed = {id(f): compute_fix(f, ctx, ruleset, whole, text_route=False) for f in rest}
            except TooDeep:
                failures.append(FixFailure("", 1, TOO_DEEP))
                break
        fixes: list[tuple[Finding, Fix | None]] = []
        for f in candidates:
            by_text = texts[id(f)]
            fixes.append((f, computed[id(f)] if isinstance(by_text, CstNeeded) else by_text))
        batch: list[tuple[Finding, Fix, tuple[int, int]]] = []
        for finding, fix in fixes:
            if fix is None or not allowed(fix, unsafe):
                settled.add(key(finding))
                if fix is not None:
                    withheld.add(key(finding))
                continue
            spans = [edit_offsets(plain.source, e) for e in fix.edits]
            span = (min(s[0] for s in spans), max(s[1] for s in spans))
            if any((span[0] < other[1] and other[0] < span[1]) or span == other for _, _, other in batch):
                continue  # overlapping: left for the next pass
            batch.append((finding, fix, span))
        if not batch:
            break
        judge = _Judge(text, report, path, config, ruleset, memo)
        chosen, refused = judge.settle(batch)
        for finding, why in refused:
            failed[key(finding)] = FixFailure(finding.code, finding.line, why)
        if chosen:
            text = judge.made.get(tuple(id(entry) for entry in chosen)) or apply_edits(
                text, [e for _, fix, _ in chosen for e in fix.edits], plain.source
            )
            applied.extend((f.code, fix.title) for f, fix, _ in chosen)
            fixed.extend((key(f), fix.safety) for f, fix, _ in chosen)
            earlier.update(failed)
            failed.clear()
            report = memo.analyse(text, path, checking, ruleset)
        elif guards:
            # the same text, analysed with the guard rules the caller's report lacks
            report = memo.analyse(text, path, checking, ruleset)
        # (else nothing was applied: ``report`` is this text's, as the analysis would give)
    return FixAllResult(
        text,
        tuple(applied),
        (*failures, *earlier.values(), *failed.values()),
        passes,
        tuple(f for f in report.findings if f.code not in guards) if guards else report.findings,
        tuple(fixed),
        len(withheld),
    )


def with_fixability(
    text: str,
    path: str,
    config: Config,
    ruleset: RuleSet,
    report: Report,
    tree: ast.Module | None = None,
    fact_log: FactLog | None = None,
) -> Report:
    """``report`` with each finding's ``Fixability``: what ``ems fix`` does with it.

    Computed by running the fix engine as ``ems fix`` would (same passes, verification and
    dropped fixes), then, if unsafe fixes were withheld, as ``ems fix --unsafe-fixes``
    would; each applied fix is matched back to the finding it fixed. A fix revealed only
    by another fix (a finding that is not in ``report``) counts for no finding here.
    Costs libcst and a few analyses: callers cache the result (the project scan keeps it
    in the result cache), so only a changed file pays. ``tree``: the tree ``report``'s
    analysis parsed, if the caller kept it (the fixed texts' analyses then parse only what
    the fixes changed). ``fact_log``: what that analysis's rules asked of the module
    (``analyse``'s): with it, a fixed text changed only inside function bodies is analysed
    a body at a time.
    """
    if report.syntax_error or not any(f.fixable for f in report.findings):
        return report
    checking = verifying(config, ruleset, path)
    if tree is not None and checking[1]:
        # Verification adds guard rules the judged report did not run: the fixed texts are
        # not analysed a body at a time from it (``verifybody``), only reparsed in part.
        report_kept, fact_log = None, None
    else:
        report_kept = report
    memo = FixMemo(Original(text, tree, report_kept, fact_log) if tree is not None else None)
    memo.checking = (config, path, checking)
    first = fix_all(text, path, config, ruleset=ruleset, report=report, memo=memo)
    if any(not failure.code for failure in first.failures):
        # libcst could not take the file (too deep, or a parse it refuses): unknown, so
        # ``ems fix`` tries it and says why it cannot.
        unknown = Fixability.UNKNOWN
        return replace(
            report,
            findings=tuple(replace(f, fixability=unknown) if f.fixable else f for f in report.findings),
        )
    source = memo.whole(text, path).source
    facts = _match(source, report, first.fixed)
    if config.unsafe_fixes:
        found = {i: Fixability.SAFE if s is Safety.SAFE else Fixability.UNSAFE for i, s in facts.items()}
    else:
        found = dict.fromkeys(facts, Fixability.SAFE)
        if first.withheld:
            second = fix_all(text, path, config, unsafe=True, ruleset=ruleset, report=report, memo=memo)
            for index in _match(source, report, second.fixed):
                found.setdefault(index, Fixability.HIDDEN)
    findings = tuple(
        replace(f, fixability=found.get(i)) if f.fixability is not found.get(i) else f
        for i, f in enumerate(report.findings)
    )
    return replace(report, findings=findings)


def _match(source: SourceText, report: Report, fixed: Iterable[tuple[_Key, Safety]]) -> dict[int, Safety]:
    """Index in ``report`` -> safety of the fix applied to it, for each fixed finding.

    A fixed finding is matched by code, message and its line's text (which a fix on the
    same line in an earlier pass may have changed: then by code and message alone).
    ``source``: the judged text's.
    """
    key = _keyer(source)
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
