"""Code actions right after an edit, over stdio: quick fixes judged per finding (the
finding's fix alone, verified on the current version) without waiting for the document's
joint judgement, and fix-all offered without its edit, which ``codeAction/resolve``
computes for the document's current version. The work done is counted (``ems.status``'s
``fixability``), never timed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from server_fixtures import (
    LspTestClient,
    apply_workspace_edit,
    change_document,
    edit_range,
    open_document,
    running_server,
    wait_for_diagnostics,
)

from ems.fixes.engine import fix_all

pytestmark = pytest.mark.asyncio

NEVER = {"fixIdleMs": 600_000}  # no judgement ahead: every code action comes "right after"
FIX_ALL = "source.fixAll.ems"


async def counts(client: LspTestClient) -> dict[str, int]:
    status: dict[str, Any] = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("ems.status")
    )
    return dict(status["fixability"])


async def actions_for(
    client: LspTestClient, uri: str, diagnostic: lsp.Diagnostic | None = None, only: list[str] | None = None
) -> list[lsp.CodeAction]:
    rng = diagnostic.range if diagnostic else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    context = lsp.CodeActionContext(diagnostics=[diagnostic] if diagnostic else [], only=only)
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(lsp.TextDocumentIdentifier(uri), rng, context)
    )
    return [a for a in result or [] if isinstance(a, lsp.CodeAction)]


async def opened_and_edited(
    client: LspTestClient, path: Path, text: str
) -> tuple[str, int, list[lsp.Diagnostic]]:
    """``text`` opened, then a line typed above it: the code action comes right after an edit."""
    uri = open_document(client, path, text)
    await wait_for_diagnostics(client, uri, 1)
    version = change_document(client, uri, [edit_range(0, 0, 0, 0, "y = 1\n")])
    return uri, version, await wait_for_diagnostics(client, uri, version)


async def test_a_code_action_right_after_an_edit_offers_the_fix_alone_without_judging(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    async with running_server(tmp_path, init_options=NEVER) as client:
        uri, version, diagnostics = await opened_and_edited(client, path, 'import os\nx = f"a"\n')
        (target,) = [d for d in diagnostics if d.code == "F541"]
        listed = await actions_for(client, uri, target)
        (quick,) = [a for a in listed if a.kind == lsp.CodeActionKind.QuickFix and "(F541)" in a.title]
        assert quick.edit is None and quick.is_preferred  # its edit comes with resolve
        now = await counts(client)
        assert (now["judged"], now["quickFixes"]) == (0, 1)  # the fix alone, no joint judgement
        resolved = await client.code_action_resolve_async(quick)
        assert resolved.edit is not None and resolved.edit.document_changes
        edit = resolved.edit.document_changes[0]
        assert isinstance(edit, lsp.TextDocumentEdit) and edit.text_document.version == version
        text = client.recorder.texts[uri]
        fixed = apply_workspace_edit(resolved.edit, client.recorder.texts, client.recorder.encoding)[uri]
        assert fixed == fix_all(text, str(path), codes=["F541"]).text == 'y = 1\nimport os\nx = "a"\n'
        now = await counts(client)
        assert (now["judged"], now["quickFixes"], now["quickFixesReused"]) == (0, 1, 1)  # resolve found it


async def test_a_quick_fix_is_offered_only_when_the_fix_alone_verifies(tmp_path: Path) -> None:
    """Of ``import os`` twice, removing the second alone leaves the first unused (F401 is
    still reported): no quick fix for it, though fix-all, which removes both, fixes it and
    is offered. Judged jointly, the second was offered and its edit then refused."""
    path = tmp_path / "m.py"
    async with running_server(tmp_path, init_options=NEVER) as client:
        uri, _version, diagnostics = await opened_and_edited(client, path, "import os\nimport os\n")
        second = next(d for d in diagnostics if d.code == "F401" and d.range.start.line == 2)
        listed = await actions_for(client, uri, second)
        assert not [a for a in listed if a.kind == lsp.CodeActionKind.QuickFix and "(F401)" in a.title]
        assert "Suppress F401 on this line (# noqa)" in [a.title for a in listed]
        (whole,) = [a for a in listed if a.kind == FIX_ALL]
        resolved = await client.code_action_resolve_async(whole)
        assert resolved.edit is not None
        fixed = apply_workspace_edit(resolved.edit, client.recorder.texts, client.recorder.encoding)[uri]
        assert fixed == fix_all(client.recorder.texts[uri], str(path)).text == "y = 1\n"
        assert (await counts(client))["judged"] == 0


async def test_fix_all_is_offered_without_its_edit_and_resolve_computes_fix_alls(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    async with running_server(tmp_path, init_options=NEVER) as client:
        uri, version, _ = await opened_and_edited(
            client, path, 'import os\nx = f"a"\nif x == None:\n    pass\n'
        )
        (whole,) = await actions_for(client, uri, only=[lsp.CodeActionKind.SourceFixAll])
        assert whole.kind == FIX_ALL and whole.edit is None
        assert (await counts(client))["judged"] == 0  # offered without judging the document
        resolved = await client.code_action_resolve_async(whole)
        assert resolved.edit is not None and resolved.edit.document_changes
        edit = resolved.edit.document_changes[0]
        assert isinstance(edit, lsp.TextDocumentEdit) and edit.text_document.version == version
        fixed = apply_workspace_edit(resolved.edit, client.recorder.texts, client.recorder.encoding)[uri]
        expected = fix_all(client.recorder.texts[uri], str(path)).text
        assert fixed == expected == 'y = 1\nx = "a"\nif x == None:\n    pass\n'  # E711's fix is unsafe


async def test_resolve_after_a_further_edit_never_returns_a_stale_edit(tmp_path: Path) -> None:
    """A client that applies edits without versions: a fix-all resolved after the document
    changed (before the request, or while its edit is computed) is the edit of the
    document's current text, never one computed for the text the action was offered on.
    (175 fixes: under ``MAX_FIXABILITY_OFFERS``, so a joint judgement would offer fix-all too.)"""
    path = tmp_path / "big.py"
    text = "".join(f"import mod{i}\n" for i in range(40))
    text += "".join(
        f'def g{i}(a=[]):\n    for j in range(3):\n        pass\n    return f"v{i}"\n' for i in range(45)
    )
    text += "".join(f"v{i} = g{i % 45}() + {i}\n" for i in range(8000))  # each analysis of it takes a while
    async with running_server(tmp_path, init_options=NEVER, document_changes=False) as client:
        uri = open_document(client, path, text)
        await wait_for_diagnostics(client, uri, 1)
        (whole,) = await actions_for(client, uri, only=[lsp.CodeActionKind.SourceFixAll])
        assert whole.edit is None
        # changed before the resolve
        version = change_document(client, uri, [edit_range(0, 0, 0, 0, 'z = f"c"\n')])
        await wait_for_diagnostics(client, uri, version)
        resolved = await client.code_action_resolve_async(whole)
        assert resolved.edit is not None and resolved.edit.changes
        fixed = apply_workspace_edit(resolved.edit, client.recorder.texts, client.recorder.encoding)[uri]
        assert fixed == fix_all(client.recorder.texts[uri], str(path)).text
        assert fixed.startswith('z = "c"\ndef g0(a=[]):\n')
        # changed while the edit is computed (fix-all of this module takes a while)
        (whole,) = await actions_for(client, uri, only=[lsp.CodeActionKind.SourceFixAll])
        pending = client.protocol.send_request_async(lsp.CODE_ACTION_RESOLVE, whole)
        await asyncio.sleep(0.1)  # the resolve has started; its fix-all takes longer
        change_document(client, uri, [edit_range(0, 0, 0, 0, 'w = f"d"\n')])
        resolved = await asyncio.wait_for(pending, 120)
        assert resolved.edit is not None and resolved.edit.changes
        fixed = apply_workspace_edit(resolved.edit, client.recorder.texts, client.recorder.encoding)[uri]
        assert fixed == fix_all(client.recorder.texts[uri], str(path)).text
        assert fixed.startswith('w = "d"\nz = "c"\ndef g0(a=[]):\n')


async def test_a_client_without_resolve_gets_every_edit_with_the_list(tmp_path: Path) -> None:
    path = tmp_path / "m.py"
    async with running_server(tmp_path, init_options=NEVER, resolve=False) as client:
        uri, _version, diagnostics = await opened_and_edited(client, path, 'import os\nx = f"a"\n')
        (target,) = [d for d in diagnostics if d.code == "F541"]
        listed = await actions_for(client, uri, target)
        (quick,) = [a for a in listed if a.kind == lsp.CodeActionKind.QuickFix and "(F541)" in a.title]
        (whole,) = [a for a in listed if a.kind == FIX_ALL]
        assert quick.edit is not None and whole.edit is not None
        text, texts, encoding = client.recorder.texts[uri], client.recorder.texts, client.recorder.encoding
        assert (
            apply_workspace_edit(quick.edit, texts, encoding)[uri]
            == fix_all(text, str(path), codes=["F541"]).text
        )
        assert (
            apply_workspace_edit(whole.edit, texts, encoding)[uri]
            == fix_all(text, str(path)).text
            == 'y = 1\nx = "a"\n'
        )
        now = await counts(client)
        assert now["quickFixes"] == 1 and now["judged"] == 1  # the quick fix alone; fix-all judged first
