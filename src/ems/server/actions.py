"""Code actions: quick fixes, ``# noqa`` suppression and ``source.fixAll.ems``.

Which actions to offer and their edits are decided by ``ems.fixes.offers`` (from each
finding's ``Fixability``: its fix judged alone, or the document's joint judgement when it
is made); this module only translates offers and resolutions to LSP types. Edits come in
``codeAction/resolve`` (or eagerly for clients that cannot resolve).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from lsprotocol import types as lsp

from ems.core.config import Config
from ems.core.model import Finding, Fix, Fixability, Safety, TextEdit
from ems.core.registry import RuleSet
from ems.core.source import SourceText
from ems.fixes.noqa import LineFacts
from ems.fixes.offers import FIX_ALL_TITLE, Offer, OfferKind, Resolution, offers_near
from ems.server.positions import PositionMapper

FIX_ALL_KIND = "source.fixAll.ems"


def kind_wanted(kind: str, only: list[str] | None) -> bool:
    """LSP kinds are hierarchical: ``source`` asks for ``source.fixAll.ems`` too."""
    if not only:
        return True
    return any(kind == want or kind.startswith(want + ".") for want in only)


# --- edits ---------------------------------------------------------------------------


def lsp_edits(edits: tuple[TextEdit, ...] | list[TextEdit], mapper: PositionMapper) -> list[lsp.TextEdit]:
    return [lsp.TextEdit(mapper.range_to_lsp(e.range), e.new_text) for e in edits]


def workspace_edit(
    uri: str, version: int | None, edits: list[lsp.TextEdit], document_changes: bool
) -> lsp.WorkspaceEdit:
    """A versioned edit where the client supports it, so it cannot land on newer text."""
    if document_changes:
        return lsp.WorkspaceEdit(
            document_changes=[
                lsp.TextDocumentEdit(lsp.OptionalVersionedTextDocumentIdentifier(uri, version), edits)
            ]
        )
    return lsp.WorkspaceEdit(changes={uri: edits})


# --- building the list -----------------------------------------------------------------


@dataclass(frozen=True)
class ActionContext:
    uri: str
    version: int | None
    text: str
    config: Config
    ruleset: RuleSet
    mapper: PositionMapper
    unsafe: bool
    document_changes: bool
    facts: LineFacts


def code_action(offer: Offer, ctx: ActionContext, diagnostic: lsp.Diagnostic | None) -> lsp.CodeAction:
    """The offer as an LSP code action whose edit comes from ``codeAction/resolve``."""
    data: dict[str, object] = {"uri": ctx.uri, "version": ctx.version, "kind": offer.kind.value}
    if offer.finding is not None:
        data["fingerprint"] = offer.finding.fingerprint
    if offer.kind is OfferKind.FIX_ALL:
        return lsp.CodeAction(title=offer.title, kind=FIX_ALL_KIND, data=data)
    return lsp.CodeAction(
        title=offer.title,
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[diagnostic] if diagnostic is not None else None,
        is_preferred=offer.preferred if offer.kind is OfferKind.FIX else None,
        data=data,
    )


def wants_quick_fixes(params: lsp.CodeActionParams) -> bool:
    return kind_wanted(lsp.CodeActionKind.QuickFix.value, _only(params))


def _only(params: lsp.CodeActionParams) -> list[str]:
    return [str(getattr(k, "value", k)) for k in params.context.only or []]


def worth_offering(
    params: lsp.CodeActionParams, findings: tuple[Finding, ...], mapper: PositionMapper
) -> bool:
    """Whether fixes are worth working out for the request. Not for one the editor made on
    its own (``Automatic``: the cursor moved, a lightbulb to show) at a place where no
    finding offers a fix: then only suppressions are offered, and no fix-all (asked for
    explicitly, it is offered), so moving through a file does not keep the fix worker busy."""
    if params.context.trigger_kind != lsp.CodeActionTriggerKind.Automatic:
        return True
    return any(f.fixable for f in near(params, findings, mapper))


def near(
    params: lsp.CodeActionParams, findings: tuple[Finding, ...], mapper: PositionMapper
) -> list[Finding]:
    """The findings the request is about: in its range, or named by its diagnostics."""
    wanted = mapper.range_from_lsp(params.range)
    asked = asked_fingerprints(params.context.diagnostics)
    return [
        f
        for f in findings
        if f.fingerprint in asked or (f.range.start <= wanted.end and wanted.start <= f.range.end)
    ]


def with_fix_alone(finding: Finding, fix: Fix | None, unsafe: bool) -> Finding:
    """The finding with the fixability its own fix gives it, judged alone: SAFE or UNSAFE
    when the fix verified and is allowed, HIDDEN when it is unsafe and unsafe fixes are off,
    None when no fix verified (``offers_near`` offers a quick fix from it)."""
    if fix is None:
        fixability = None
    elif fix.safety is Safety.SAFE:
        fixability = Fixability.SAFE
    else:
        fixability = Fixability.UNSAFE if unsafe else Fixability.HIDDEN
    return finding if finding.fixability is fixability else replace(finding, fixability=fixability)


def code_actions(
    params: lsp.CodeActionParams,
    findings: tuple[Finding, ...],
    ctx: ActionContext,
    diagnostic: Callable[[Finding], lsp.Diagnostic],
    fix_all: bool,
) -> list[lsp.CodeAction]:
    """The request's offers (``ems.fixes.offers``) as code actions, edits left to resolve:
    quick fixes from ``findings``' fixability, a fix-all when ``fix_all`` and it is wanted."""
    found = offers_near(
        findings,
        ctx.mapper.range_from_lsp(params.range),
        asked_fingerprints(params.context.diagnostics),
        ctx.ruleset,
        quick_fixes=wants_quick_fixes(params),
        fix_all=False,
        suppressible=not ctx.config.ignore_noqa,
    )
    if fix_all and fix_all_wanted(params):
        found.append(Offer(OfferKind.FIX_ALL, FIX_ALL_TITLE))
    return [code_action(o, ctx, diagnostic(o.finding) if o.finding is not None else None) for o in found]


def fix_all_wanted(params: lsp.CodeActionParams) -> bool:
    return kind_wanted(FIX_ALL_KIND, _only(params))


def may_fix_all(findings: tuple[Finding, ...], ruleset: RuleSet, unsafe: bool) -> bool:
    """Whether a fix-all may change the text, before its fixes are judged: a finding whose
    rule offers a fix fix-all may apply (a safe one, or any with unsafe fixes on)."""
    for finding in findings:
        if not finding.fixable:
            continue
        rule = ruleset.get(finding.code)
        safety = rule.fix_safety if rule is not None else None
        if safety is Safety.SAFE or (unsafe and safety is not None):
            return True
    return False


def asked_fingerprints(diagnostics: Sequence[lsp.Diagnostic]) -> set[str]:
    """The findings the editor's context names (our diagnostics carry their fingerprint)."""
    return {
        d.data["fingerprint"]
        for d in diagnostics
        if isinstance(d.data, dict) and d.data.get("fingerprint") and d.source == "ems"
    }


@dataclass(frozen=True)
class ResolveRequest:
    """What a code action to resolve stands for (from its ``data``)."""

    uri: str
    kind: OfferKind
    fingerprint: str | None


def resolve_request(action: lsp.CodeAction) -> ResolveRequest | None:
    """None for an action that needs nothing (its edit is there, or it is not ours)."""
    data = action.data if isinstance(action.data, dict) else {}
    if action.edit is not None or data.get("kind") not in {k.value for k in OfferKind}:
        return None
    fingerprint = data.get("fingerprint")
    return ResolveRequest(
        str(data.get("uri")), OfferKind(data["kind"]), str(fingerprint) if fingerprint else None
    )


def resolved(action: lsp.CodeAction, resolution: Resolution, ctx: ActionContext) -> lsp.CodeAction:
    """The action with its edit, or disabled with the reason there is none."""
    if resolution.refused is not None:
        action.disabled = lsp.CodeActionDisabled(reason=resolution.refused)
    elif resolution.new_text is not None:
        action.edit = whole_text_edit(ctx.text, resolution.new_text, ctx)
    else:
        action.edit = workspace_edit(
            ctx.uri, ctx.version, lsp_edits(resolution.edits, ctx.mapper), ctx.document_changes
        )
    return action


# --- resolving -----------------------------------------------------------------------


def whole_text_edit(old: str, new: str, ctx: ActionContext) -> lsp.WorkspaceEdit:
    """The smallest single edit turning ``old`` into ``new``."""
    from ems.fixes.context import minimal_edit

    edit = minimal_edit(SourceText(old), new)
    return workspace_edit(ctx.uri, ctx.version, lsp_edits([edit], ctx.mapper), ctx.document_changes)
