"""Fixability judged ahead and kept: the first code action on an idle document finds its
judgement made; a text judged once is not judged again; the re-export stamp a judgement
depends on is computed once while the client reports file changes. Work is counted
(``ems.status``'s ``fixability``), never timed."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types as lsp
from server_fixtures import (
    TIMEOUT,
    LspTestClient,
    change_document,
    edit_range,
    files_changed,
    open_document,
    running_server,
    wait_for_diagnostics,
)

pytestmark = pytest.mark.asyncio

NEVER = {"fixIdleMs": 600_000}  # no judgement ahead within a test


async def counts(client: LspTestClient) -> dict[str, int]:
    status: dict[str, Any] = await client.workspace_execute_command_async(
        lsp.ExecuteCommandParams("ems.status")
    )
    return dict(status["fixability"])


async def quick_fixes(client: LspTestClient, uri: str, diagnostic: lsp.Diagnostic) -> list[str]:
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri), diagnostic.range, lsp.CodeActionContext(diagnostics=[diagnostic])
        )
    )
    return [
        a.title
        for a in result or []
        if isinstance(a, lsp.CodeAction) and a.kind == lsp.CodeActionKind.QuickFix
    ]


async def until(client: LspTestClient, key: str, value: int) -> dict[str, int]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while loop.time() < deadline:
        now = await counts(client)
        if now[key] >= value:
            return now
        await asyncio.sleep(0.05)
    raise AssertionError(f"{key} never reached {value}: {await counts(client)}")


async def test_an_idle_document_is_judged_before_its_first_code_action(tmp_path: Path) -> None:
    async with running_server(tmp_path, init_options={"fixIdleMs": 0}) as client:
        uri = open_document(client, tmp_path / "m.py", 'x = f"plain"\n')
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        ahead = await until(client, "judged", 1)
        assert ahead["judgedWhenIdle"] == 1
        assert any("(F541)" in title for title in await quick_fixes(client, uri, diagnostic))
        after = await counts(client)
        assert after["judged"] == 1  # the code action judged nothing: it found the judgement
        assert after["reused"] == ahead["reused"] + 1


async def test_without_idle_time_quick_fixes_are_judged_alone_once_per_text(tmp_path: Path) -> None:
    """A code action before the document's joint judgement is made does not wait for it:
    each quick fix is the finding's fix alone, verified on this text, computed once per
    text (its resolve, or the same text again after an undo, finds it)."""
    async with running_server(tmp_path, init_options=NEVER) as client:
        text = 'x = f"plain"\n'
        uri = open_document(client, tmp_path / "m.py", text)
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        now = await counts(client)
        assert now["judged"] == 0 and now["warmed"] == 1  # the fix worker started, nothing judged
        assert any("(F541)" in title for title in await quick_fixes(client, uri, diagnostic))
        now = await counts(client)
        assert (now["judged"], now["quickFixes"], now["quickFixesReused"]) == (0, 1, 0)
        assert any("(F541)" in title for title in await quick_fixes(client, uri, diagnostic))
        assert (await counts(client))["quickFixesReused"] == 1
        # another text is judged; the first text again (an undo) is not
        version = change_document(client, uri, [edit_range(0, 0, 0, 0, "y = 1\n")])
        (moved,) = await wait_for_diagnostics(client, uri, version)
        assert any("(F541)" in title for title in await quick_fixes(client, uri, moved))
        assert (await counts(client))["quickFixes"] == 2
        version = change_document(client, uri, [edit_range(0, 0, 1, 0, "")])
        (back,) = await wait_for_diagnostics(client, uri, version)
        assert any("(F541)" in title for title in await quick_fixes(client, uri, back))
        final = await counts(client)
        assert final["quickFixes"] == 2 and final["quickFixesReused"] == 2
        assert final["judged"] == 0 and final["judgedWhenIdle"] == 0


async def test_an_edit_before_the_idle_time_judges_nothing_ahead(tmp_path: Path) -> None:
    async with running_server(tmp_path, init_options={"fixIdleMs": 3_000}) as client:
        uri = open_document(client, tmp_path / "m.py", 'x = f"plain"\n')
        await wait_for_diagnostics(client, uri, 1)
        for n in range(3):  # typing: each edit well inside the idle time of the one before
            version = change_document(client, uri, [edit_range(0, 0, 0, 1 if n else 0, f"v{n}")])
            await wait_for_diagnostics(client, uri, version)
        assert (await counts(client))["judgedWhenIdle"] == 0
        done = await until(client, "judged", 1)  # the last version, once idle
        assert done["judgedWhenIdle"] == 1


async def test_the_reexport_stamp_is_computed_once_until_a_file_changes(tmp_path: Path) -> None:
    """F401's fix depends on other files (re-exports): the project's stamp is computed for
    the first code action and kept until the client says a file changed on disk."""
    (tmp_path / "b.py").write_text("X = 1\n")
    async with running_server(tmp_path, init_options=NEVER) as client:
        uri = open_document(client, tmp_path / "a.py", "import os\n")
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        for _ in range(3):
            assert any("(F401)" in title for title in await quick_fixes(client, uri, diagnostic))
        assert (await counts(client))["stamps"] == 1
        (tmp_path / "b.py").write_text("from a import os\nprint(os.sep)\n")
        files_changed(client, tmp_path / "b.py")
        assert not any("(F401)" in title for title in await quick_fixes(client, uri, diagnostic))
        assert (await counts(client))["stamps"] == 2


async def test_a_client_that_does_not_watch_files_gets_a_fresh_stamp_each_time(tmp_path: Path) -> None:
    (tmp_path / "b.py").write_text("X = 1\n")
    async with running_server(tmp_path, init_options=NEVER, watch_files=False) as client:
        uri = open_document(client, tmp_path / "a.py", "import os\n")
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        assert any("(F401)" in title for title in await quick_fixes(client, uri, diagnostic))
        (tmp_path / "b.py").write_text("from a import os\nprint(os.sep)\n")
        assert not any("(F401)" in title for title in await quick_fixes(client, uri, diagnostic))
        assert (await counts(client))["stamps"] == 2


async def test_a_lightbulb_request_where_nothing_is_fixable_judges_nothing(tmp_path: Path) -> None:
    """The editor asks on its own (``Automatic``) as the cursor moves: where no finding
    offers a fix, only suppressions come back and nothing is judged; asked for explicitly,
    fix-all is offered too (its edit left to resolve), still without judging."""
    async with running_server(tmp_path, init_options={**NEVER, "select": ["F541", "F821"]}) as client:
        uri = open_document(client, tmp_path / "m.py", 'x = f"plain"\nprint(undefined_name)\n')
        diagnostics = await wait_for_diagnostics(client, uri, 1)
        (undefined,) = [d for d in diagnostics if d.code == "F821"]

        async def titles(trigger: lsp.CodeActionTriggerKind) -> list[str]:
            context = lsp.CodeActionContext(diagnostics=[undefined], trigger_kind=trigger)
            result = await client.text_document_code_action_async(
                lsp.CodeActionParams(lsp.TextDocumentIdentifier(uri), undefined.range, context)
            )
            return [a.title for a in result or [] if isinstance(a, lsp.CodeAction)]

        automatic = await titles(lsp.CodeActionTriggerKind.Automatic)
        assert automatic == ["Suppress F821 on this line (# noqa)"]
        assert (await counts(client))["judged"] == 0
        invoked = await titles(lsp.CodeActionTriggerKind.Invoked)
        assert "Suppress F821 on this line (# noqa)" in invoked and len(invoked) == 2  # and fix-all
        now = await counts(client)
        assert now["judged"] == 0 and now["quickFixes"] == 0  # F821 has no fix to judge
