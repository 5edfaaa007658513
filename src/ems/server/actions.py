"""Code actions: quick fixes, ``# noqa`` suppression and ``source.fixAll.ems``.

The list is built from the analysis and each finding's computed ``Fixability`` (the fact
``ems check`` shows; computed once per analysed version); the edits are computed in
``codeAction/resolve`` (or eagerly for clients that cannot resolve). Fix generation and
verification live in ``ems.fixes``; this module only translates.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types as lsp

from ems.core.config import Config
from ems.core.model import Finding, Fix, Fixability, Safety, TextEdit
from ems.core.registry import RuleSet
from ems.core.source import SourceText
from ems.fixes.noqa import UNSUPPRESSIBLE, LineFacts, noqa_edit
from ems.server.positions import PositionMapper

FIX_ALL_KIND = "source.fixAll.ems"
KIND_FIX = "fix"
KIND_NOQA = "noqa"
KIND_FIX_ALL = "fixAll"


def fix_safety(finding: Finding, ruleset: RuleSet) -> Safety | None:
    """How safe the finding's fix is: its computed ``Fixability`` (None: no fix that
    verifies), the same fact ``ems check`` shows."""
    fixability = finding.fixability
    return fixability.safety if fixability is not None and fixability.known else None


def fix_title(finding: Finding, ruleset: RuleSet) -> str:
    rule = ruleset.get(finding.code)
    base = (rule.fix_title if rule is not None and rule.fix_title else f"Fix {finding.code}").rstrip(".")
    title = f"{base} ({finding.code})"
    if fix_safety(finding, ruleset) is Safety.UNSAFE:
        title += " [unsafe: may change behaviour]"
    return title


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


def quick_fix(finding: Finding, diagnostic: lsp.Diagnostic, ctx: ActionContext) -> lsp.CodeAction | None:
    safety = fix_safety(finding, ctx.ruleset)
    if safety is None or finding.fixability is Fixability.HIDDEN:  # hidden: unsafe fixes are off
        return None
    return lsp.CodeAction(
        title=fix_title(finding, ctx.ruleset),
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        is_preferred=safety is Safety.SAFE,
        data={"uri": ctx.uri, "version": ctx.version, "fingerprint": finding.fingerprint, "kind": KIND_FIX},
    )


def suppress_action(
    finding: Finding, diagnostic: lsp.Diagnostic, ctx: ActionContext
) -> lsp.CodeAction | None:
    """Offered for every suppressible finding; the edit (and the check that a comment is
    possible on that line) comes in ``codeAction/resolve``."""
    if finding.code in UNSUPPRESSIBLE:
        return None
    return lsp.CodeAction(
        title=f"Suppress {finding.code} on this line (# noqa)",
        kind=lsp.CodeActionKind.QuickFix,
        diagnostics=[diagnostic],
        data={"uri": ctx.uri, "version": ctx.version, "fingerprint": finding.fingerprint, "kind": KIND_NOQA},
    )


def suppress_edit(finding: Finding, ctx: ActionContext) -> lsp.WorkspaceEdit | None:
    edit = noqa_edit(ctx.facts, finding)
    if edit is None:
        return None
    return workspace_edit(ctx.uri, ctx.version, lsp_edits([edit], ctx.mapper), ctx.document_changes)


def fix_all_action(ctx: ActionContext, findings: tuple[Finding, ...]) -> lsp.CodeAction | None:
    wanted = [f for f in findings if f.fixability is not None and f.fixability.applied]
    if not wanted:
        return None
    return lsp.CodeAction(
        title="Fix all auto-fixable problems (ems)",
        kind=FIX_ALL_KIND,
        data={"uri": ctx.uri, "version": ctx.version, "kind": KIND_FIX_ALL},
    )


# --- resolving -----------------------------------------------------------------------


def fix_edit(fix: Fix, ctx: ActionContext) -> lsp.WorkspaceEdit:
    return workspace_edit(ctx.uri, ctx.version, lsp_edits(fix.edits, ctx.mapper), ctx.document_changes)


def whole_text_edit(old: str, new: str, ctx: ActionContext) -> lsp.WorkspaceEdit:
    """The smallest single edit turning ``old`` into ``new``."""
    from ems.fixes.context import minimal_edit

    edit = minimal_edit(SourceText(old), new)
    return workspace_edit(ctx.uri, ctx.version, lsp_edits([edit], ctx.mapper), ctx.document_changes)
