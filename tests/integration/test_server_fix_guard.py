"""Fixes run in the guard's fix worker: a plug-in fix that hangs or crashes libcst's side
costs that code action, never the language server (over stdio, with pytest-lsp).

The plug-in (registered for this module only by a ``*.dist-info`` folder on ``PYTHONPATH``)
reports ``hang = ...`` and ``crash = ...`` assignments; its fix loops forever on the first
and kills its own process on the second. Before fixes were guarded, the first froze every
later fix (the fix thread never returned) and the second took the server down.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from server_fixtures import (
    LspTestClient,
    change_document,
    codes,
    open_document,
    running_server,
    wait_for_diagnostics,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")

REPO = Path(__file__).resolve().parents[2]
BUDGET = 6  # seconds: EMS_FIX_TIMEOUT for this server (a fresh worker imports libcst within it)

PLUGIN = """
import ast
import os
import signal

from ems.core.model import Safety, Severity
from ems.core.rule import Rule


class TroubleFix(Rule):
    code = "XTR001"
    name = "trouble-fix"
    severity = Severity.WARNING
    summary = "an assignment whose fix misbehaves"
    explanation = "Test rule: its fix hangs on `hang = ...` and crashes on `crash = ...`."
    fix_safety = Safety.SAFE
    fix_title = "Misbehave"
    node_types = (ast.Assign,)

    def visit(self, node, ctx):
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id in ("hang", "crash"):
            yield ctx.hit(node, f"{target.id} when fixed")

    def fix(self, finding, ctx):
        if "hang" in finding.message:
            while True:
                pass
        os.kill(os.getpid(), signal.SIGKILL)
"""


def register_trouble_plugin(site: Path) -> None:
    (site / "ems_fix_trouble.py").write_text(PLUGIN)
    info = site / "ems_fix_trouble-0.1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ems-fix-trouble\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text("[ems.rules]\nems_fix_trouble = ems_fix_trouble:TroubleFix\n")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LspTestClient, Path]]:
    site = tmp_path_factory.mktemp("trouble-site")
    register_trouble_plugin(site)
    root = tmp_path_factory.mktemp("trouble")
    env = {
        "PYTHONPATH": os.pathsep.join([str(site), str(REPO / "src")]),
        "EMS_FIX_TIMEOUT": str(BUDGET),
    }
    async with running_server(root, init_options={"select": ["XTR001", "F541"]}, env=env) as client:
        yield client, root


def _action(uri: str, diagnostic: lsp.Diagnostic, kind: str) -> lsp.CodeAction:
    """A code action as the server offers them, to resolve (``data`` names the finding)."""
    assert isinstance(diagnostic.data, dict)
    return lsp.CodeAction(
        title="fix it",
        kind=lsp.CodeActionKind.QuickFix,
        data={"uri": uri, "version": None, "fingerprint": diagnostic.data["fingerprint"], "kind": kind},
    )


async def _status(client: LspTestClient) -> dict:
    return await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status", []))


async def test_a_fix_that_hangs_costs_its_action_not_the_server(server: tuple[LspTestClient, Path]) -> None:
    client, root = server
    uri = open_document(client, root / "hangs.py", 'hang = 1\nx = f"a"\n')
    diagnostics = await wait_for_diagnostics(client, uri, 1, timeout=60)
    assert codes(diagnostics) == ["F541", "XTR001"]
    trouble = next(d for d in diagnostics if d.code == "XTR001")

    # The code-action list computes each finding's fixability (the fixes run): that hangs in
    # the fix worker, which is stopped at its budget; the list still comes, without fixes.
    everything = lsp.Range(lsp.Position(0, 0), lsp.Position(2, 0))
    listed = await asyncio.wait_for(
        client.text_document_code_action_async(
            lsp.CodeActionParams(
                lsp.TextDocumentIdentifier(uri), everything, lsp.CodeActionContext(diagnostics)
            )
        ),
        60,
    )
    titles = [a.title for a in listed or []]
    assert "Misbehave (XTR001)" not in titles
    assert "Suppress XTR001 on this line (# noqa)" in titles

    resolved = await asyncio.wait_for(client.code_action_resolve_async(_action(uri, trouble, "fix")), 60)
    assert resolved.edit is None and resolved.disabled is not None
    assert f"stopped after {BUDGET} s" in resolved.disabled.reason

    with pytest.raises(Exception, match=r"fix-all of .*hangs\.py stopped after"):
        await asyncio.wait_for(
            client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.fixAll", [uri])), 60
        )

    status = await _status(client)
    assert status["events"]["counts"]["timeouts"] >= 2  # the fixability, the fix (and fix-all) were stopped

    # Analysis and other documents' fixes still work.
    fine = open_document(client, root / "fine.py", 'y = f"b"\n')
    assert codes(await wait_for_diagnostics(client, fine, 1, timeout=60)) == ["F541"]
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.fixAll", [fine]))
    assert result["changed"] is True
    assert client.recorder.texts[fine] == 'y = "b"\n'


async def test_a_fix_that_crashes_its_process_costs_its_action_not_the_server(
    server: tuple[LspTestClient, Path],
) -> None:
    client, root = server
    uri = open_document(client, root / "crashes.py", "x = 1\n")
    await wait_for_diagnostics(client, uri, 1, timeout=60)
    change_document(client, uri, [lsp.TextDocumentContentChangeWholeDocument(text="crash = 1\n")])
    diagnostics = await wait_for_diagnostics(client, uri, 2, timeout=60)
    assert codes(diagnostics) == ["XTR001"]
    crashes = (await _status(client))["events"]["counts"].get("worker_crashes", 0)

    resolved = await asyncio.wait_for(
        client.code_action_resolve_async(_action(uri, diagnostics[0], "fix")), 60
    )
    assert resolved.edit is None and resolved.disabled is not None
    assert "fix worker crashed" in resolved.disabled.reason and "SIGKILL" in resolved.disabled.reason

    status = await _status(client)  # the server answers: it was the fix worker that died
    assert status["events"]["counts"]["worker_crashes"] > crashes
    change_document(client, uri, [lsp.TextDocumentContentChangeWholeDocument(text='z = f"c"\n')])
    assert codes(await wait_for_diagnostics(client, uri, 3, timeout=60)) == ["F541"]
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.fixAll", [uri]))
    assert result["changed"] is True and client.recorder.texts[uri] == 'z = "c"\n'
