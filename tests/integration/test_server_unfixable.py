"""The language server honours `unfixable`: no quick fix and no fix-all edit for such a
rule, while its diagnostic stays (over stdio)."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from server_fixtures import apply_workspace_edit, open_document, running_server, wait_for_diagnostics

pytestmark = pytest.mark.asyncio


async def _actions(client, uri: str, diagnostics: list[lsp.Diagnostic], only: list[str] | None = None):
    rng = diagnostics[0].range if diagnostics else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri), rng, lsp.CodeActionContext(diagnostics=diagnostics, only=only)
        )
    )
    return [a for a in result or [] if isinstance(a, lsp.CodeAction)]


async def test_an_unfixable_rule_gets_no_quick_fix_and_fix_all_leaves_it(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F401", "F541"]\nunfixable = ["F401"]\n')
    init = {"configurationPreference": "filesystemFirst"}
    async with running_server(tmp_path, init_options=init) as client:
        uri = open_document(client, tmp_path / "a.py", 'import os\nprint(f"x")\n')
        diagnostics = await wait_for_diagnostics(client, uri, 1)
        by_code = {d.code: d for d in diagnostics}
        assert set(by_code) == {"F401", "F541"}
        unused = await _actions(client, uri, [by_code["F401"]], only=[lsp.CodeActionKind.QuickFix])
        assert [a.title for a in unused] == ["Suppress F401 on this line (# noqa)"]
        fstring = await _actions(client, uri, [by_code["F541"]])
        assert any("(F541)" in a.title and "noqa" not in a.title for a in fstring)
        (fix_all,) = await _actions(client, uri, [], only=[lsp.CodeActionKind.SourceFixAll])
        if fix_all.edit is None:
            fix_all = await client.code_action_resolve_async(fix_all)
        assert fix_all.edit is not None
        fixed = apply_workspace_edit(fix_all.edit, client.recorder.texts, client.recorder.encoding)[uri]
        assert fixed == 'import os\nprint("x")\n'
