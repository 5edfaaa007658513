"""Hover and ``workspace/executeCommand`` over stdio, with good and bad arguments."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from server_fixtures import codes, open_document, running_server, wait_for_diagnostics


async def test_hover_on_a_diagnostic_explains_the_rule_and_its_fix(tmp_path: Path) -> None:
    async with running_server(tmp_path) as client:
        uri = open_document(client, tmp_path / "h.py", 'x = 1\nprint(f"héllo")\n')
        await wait_for_diagnostics(client, uri, 1)
        inside = await client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(1, 9))
        )
        assert inside is not None and isinstance(inside.contents, lsp.MarkupContent)
        text = inside.contents.value
        assert inside.contents.kind == lsp.MarkupKind.Markdown
        assert "F541" in text and "f-string-missing-placeholders" in text
        assert "```python" in text  # an example
        assert "Quick fix available" in text and "(safe)" in text
        assert inside.range == lsp.Range(lsp.Position(1, 6), lsp.Position(1, 14))
        outside = await client.text_document_hover_async(
            lsp.HoverParams(lsp.TextDocumentIdentifier(uri), lsp.Position(0, 1))
        )
        assert outside is None


async def test_fix_all_command_applies_the_edit_through_the_client(tmp_path: Path) -> None:
    async with running_server(tmp_path) as client:
        uri = open_document(client, tmp_path / "c.py", 'import os\nprint(f"a")\n')
        await wait_for_diagnostics(client, uri, 1)
        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.fixAll", [uri]))
        assert result["changed"] is True
        assert {a["code"] for a in result["applied"]} == {"F401", "F541"}
        assert client.recorder.texts[uri] == 'print("a")\n'
        assert await wait_for_diagnostics(client, uri, client.recorder.versions[uri]) == []
        # Nothing left to fix: no edit is sent.
        again = await client.workspace_execute_command_async(
            lsp.ExecuteCommandParams("ems.fixAll", [{"uri": uri}])
        )
        assert again == {"applied": [], "changed": False}
        assert len(client.recorder.applied_edits) == 1


BAD_CALLS = [
    ("ems.fixAll", [], "takes one argument"),
    ("ems.fixAll", [42], "expected a document URI"),
    ("ems.fixAll", ["file:///nowhere/not-open.py"], "is not open"),
    ("ems.fixAll", ["a", "b"], "takes one argument"),
    ("ems.status", ["unexpected"], "takes no arguments"),
    ("ems.scanWorkspace", [1, 2], "takes no arguments"),
    ("ems.noSuchCommand", [], "not defined"),
]


async def test_commands_reject_bad_arguments_with_an_error_response(tmp_path: Path) -> None:
    async with running_server(tmp_path) as client:
        for command, arguments, fragment in BAD_CALLS:
            with pytest.raises(Exception, match=fragment):
                await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command, arguments))
        status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
        assert status["version"]  # still alive after every error


async def test_status_reports_version_rules_settings_and_timings(tmp_path: Path) -> None:
    from ems import __version__

    async with running_server(tmp_path, init_options={"debounceMs": 40}) as client:
        uri = open_document(client, tmp_path / "s.py", 'x = f"a"\n')
        await wait_for_diagnostics(client, uri, 1)
        status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
        assert status["version"] == __version__
        assert status["positionEncoding"] == "utf-16" and status["diagnosticMode"] == "push"
        assert {"F541", "E711"} <= {r["code"] for r in status["rules"]}
        assert status["settings"]["debounce_ms"] == 40
        assert status["timings"]["analysis"]["analyses"] >= 1
        assert status["timings"]["analysis"]["medianMs"] >= 0
        assert status["openDocuments"] == 1


async def test_scan_workspace_pushes_diagnostics_for_files_not_open(tmp_path: Path) -> None:
    (tmp_path / "one.py").write_text('a = f"1"\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "two.py").write_text("b = 2 == None\nc = f'3'\n")
    async with running_server(tmp_path) as client:
        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.scanWorkspace"))
        assert result["files"] == 2
        assert result["byCode"] == {"E711": 1, "F541": 2}
        two = (tmp_path / "sub" / "two.py").as_uri()
        assert codes(await wait_for_diagnostics(client, two)) == ["E711", "F541"]
