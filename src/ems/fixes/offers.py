"""What an editor may offer for the findings near a place, and each offer's edits.

Server-independent: ``offers_near`` chooses the offers (a verified fix, a ``# noqa``, a
fix-all for the document) from findings that carry their computed ``Fixability``; the
``resolve_*`` functions turn one offer into edits. The language server translates offers
into LSP code actions and runs ``resolve_fix`` / ``resolve_fix_all`` in the guard's fix
worker (``ems.runtime.guard``): libcst that hangs or crashes costs one action, not the
server. Titles live here so every face names an offer the same way.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import StrEnum

from ems.core.config import Config
from ems.core.model import Finding, Fix, Fixability, Range, Report, Safety, TextEdit
from ems.core.registry import RuleSet
from ems.fixes.noqa import UNSUPPRESSIBLE, LineFacts, noqa_edit

FIX_ALL_TITLE = "Fix all auto-fixable problems (ems)"
NOT_VERIFIED = "the fix could not be verified on the current text"
NO_COMMENT_HERE = "a comment cannot go on this line (it ends inside a string or continues with a backslash)"


class OfferKind(StrEnum):
    FIX = "fix"
    NOQA = "noqa"
    FIX_ALL = "fixAll"


@dataclass(frozen=True)
class Offer:
    """One action to offer: ``finding`` is None for a fix-all."""

    kind: OfferKind
    title: str
    finding: Finding | None = None
    preferred: bool = False


@dataclass(frozen=True)
class Resolution:
    """An offer's edits on the text it was computed for, or why there are none."""

    edits: tuple[TextEdit, ...] = ()
    new_text: str | None = None  # a fix-all: the whole fixed text
    applied: tuple[tuple[str, str], ...] = ()  # a fix-all: (code, title) per fix
    refused: str | None = None


def fix_safety(finding: Finding) -> Safety | None:
    """How safe the finding's fix is: its computed ``Fixability`` (None: no fix that
    verifies), the same fact ``ems check`` shows."""
    fixability = finding.fixability
    return fixability.safety if fixability is not None and fixability.known else None


def fix_title(finding: Finding, ruleset: RuleSet) -> str:
    rule = ruleset.get(finding.code)
    base = (rule.fix_title if rule is not None and rule.fix_title else f"Fix {finding.code}").rstrip(".")
    title = f"{base} ({finding.code})"
    if fix_safety(finding) is Safety.UNSAFE:
        title += " [unsafe: may change behaviour]"
    return title


def offers_near(
    findings: Iterable[Finding],
    wanted: Range,
    asked: Collection[str],
    ruleset: RuleSet,
    *,
    quick_fixes: bool = True,
    fix_all: bool = True,
    suppressible: bool = True,
) -> list[Offer]:
    """The offers for a place: per finding overlapping ``wanted`` (or whose fingerprint the
    editor ``asked`` about) its fix when one verifies and is allowed, then ``# noqa`` (unless
    not ``suppressible``: the settings' ``ignore-noqa`` would read it as a plain comment); last
    a fix-all when any finding's fix would be applied by it."""
    findings = tuple(findings)
    offers: list[Offer] = []
    if quick_fixes:
        for finding in findings:
            near = finding.range.start <= wanted.end and wanted.start <= finding.range.end
            if finding.fingerprint not in asked and not near:
                continue
            safety = fix_safety(finding)
            if safety is not None and finding.fixability is not Fixability.HIDDEN:  # hidden: unsafe off
                offers.append(
                    Offer(OfferKind.FIX, fix_title(finding, ruleset), finding, safety is Safety.SAFE)
                )
            if suppressible and finding.code not in UNSUPPRESSIBLE:
                offers.append(
                    Offer(OfferKind.NOQA, f"Suppress {finding.code} on this line (# noqa)", finding)
                )
    if fix_all and any(f.fixability is not None and f.fixability.applied for f in findings):
        offers.append(Offer(OfferKind.FIX_ALL, FIX_ALL_TITLE))
    return offers


def resolve_noqa(facts: LineFacts, finding: Finding) -> Resolution:
    edit = noqa_edit(facts, finding)
    return Resolution(refused=NO_COMMENT_HERE) if edit is None else Resolution(edits=(edit,))


def resolve_fix(
    text: str, finding: Finding, path: str, config: Config, ruleset: RuleSet, report: Report
) -> Resolution:
    """The finding's verified fix on ``text`` (libcst: run it guarded)."""
    from ems.fixes.engine import fixes_for

    fix = fixes_for(text, finding, path, config, ruleset, report)
    return Resolution(refused=NOT_VERIFIED) if fix is None else Resolution(edits=fix.edits)


def fix_alone(text: str, finding: Finding, path: str, ruleset: RuleSet) -> Fix | None:
    """The finding's fix on ``text`` by itself, not yet verified (``verify_alone``): the
    rule's text route, else libcst on a slice of the statements the fix touches
    (``engine.context_for``; ``compute_fix`` computes it again on the whole file when the
    slice could change it). The same fix ``fixes_for`` computes, without parsing a whole
    large module with libcst for one finding. libcst: run it guarded."""
    from ems.fixes.context import FixContext
    from ems.fixes.engine import TooDeep, compute_fix, context_for, text_fix
    from ems.fixes.textedit import CstNeeded

    by_text = text_fix(finding, FixContext(text, path), ruleset)
    if not isinstance(by_text, CstNeeded):
        return by_text
    ctx = context_for(text, path, [finding], ruleset)
    try:
        return compute_fix(finding, ctx, ruleset, lambda: FixContext(text, path), text_route=False)
    except TooDeep:
        return None


def verified_alone(
    text: str, finding: Finding, path: str, config: Config, ruleset: RuleSet, report: Report
) -> Fix | None:
    """The finding's fix alone on ``text`` (``fix_alone``) if it verifies as ``fixes_for``
    verifies it (``engine.verify`` against ``report``, the analysis of ``text``: the result
    parses, the finding is gone, nothing new appeared), else None: a quick fix that is
    exactly the edit the user gets. libcst: run it guarded."""
    from ems.fixes.engine import verified_fix

    fix = fix_alone(text, finding, path, ruleset)
    return None if fix is None else verified_fix(text, fix, finding, path, config, ruleset, report)


def resolve_fix_all(text: str, path: str, config: Config, ruleset: RuleSet) -> Resolution:
    """Every allowed fix to a fixed point (libcst: run it guarded)."""
    from ems.fixes.engine import fix_all

    result = fix_all(text, path, config, ruleset=ruleset)
    return Resolution(new_text=result.text if result.changed else None, applied=result.applied)
