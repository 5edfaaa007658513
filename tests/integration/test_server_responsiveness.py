"""The event loop stays free while a large module is analysed, and ``$/cancelRequest`` works."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types as lsp
from server_fixtures import open_document, running_server

CHUNK = '''
def handler_{i}(request, items=None):
    """Handle one request."""
    total = 0
    for item in items or []:
        if item == None:
            continue
        total += len(str(item))
    return f"done" if total else request
'''


def big_module(tag: str, functions: int = 300) -> str:
    """About 2,700 lines; ``tag`` makes each text distinct so no cache answers."""
    return f"# {tag}\n" + "".join(CHUNK.format(i=i) for i in range(functions))


async def test_requests_are_answered_while_a_large_module_is_analysed(tmp_path: Path) -> None:
    async with running_server(tmp_path, pull=True) as client:
        uri = open_document(client, tmp_path / "big.py", big_module("one"))
        pull = asyncio.ensure_future(
            client.text_document_diagnostic_async(
                lsp.DocumentDiagnosticParams(lsp.TextDocumentIdentifier(uri))
            )
        )
        status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
        assert status["openDocuments"] == 1
        assert not pull.done(), "status should not wait for the analysis"
        report = await pull
        assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
        assert len([d for d in report.items if d.code == "F541"]) == 300


async def test_cancel_request_ends_a_pending_request_with_request_cancelled(tmp_path: Path) -> None:
    async with running_server(tmp_path, pull=True) as client:
        uri = open_document(client, tmp_path / "big.py", big_module("two"))
        future = client.protocol.send_request(
            lsp.TEXT_DOCUMENT_DIAGNOSTIC,
            lsp.DocumentDiagnosticParams(lsp.TextDocumentIdentifier(uri)),
            msg_id="cancel-me",
        )
        client.protocol.notify(lsp.CANCEL_REQUEST, lsp.CancelParams(id="cancel-me"))
        with pytest.raises(Exception, match=r"(?i)cancel"):
            await asyncio.wait_for(asyncio.wrap_future(future), 30)
        # The server carries on.
        status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
        assert status["openDocuments"] == 1
