"""Settings (initializationOptions, workspace/configuration, didChangeConfiguration), project
config files and their reload, multi-root folders and ``run: onSave``, over stdio."""

from __future__ import annotations

import asyncio
from pathlib import Path

from lsprotocol import types as lsp
from server_fixtures import (
    LspTestClient,
    change_document,
    codes,
    edit_range,
    open_document,
    running_server,
    wait_for_diagnostics,
)

TEXT = 'import os\nx = f"a"\nif x == None:\n    pass\n'


async def wait_for_codes(
    client: LspTestClient, uri: str, expected: list[str], timeout: float = 10, subset: bool = False
) -> None:
    """Wait until the latest diagnostics published for ``uri`` have exactly (or at least) ``expected``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    latest: list[str] | None = None
    while loop.time() < deadline:
        mine = [p for p in client.recorder.published if p.uri == uri]
        if mine:
            latest = codes(list(mine[-1].diagnostics))
            if latest == expected or (subset and set(expected) <= set(latest)):
                return
        await asyncio.sleep(0.01)
    raise AssertionError(f"expected {expected} for {uri}, last published {latest}")


async def test_initialization_options_select_and_ignore(tmp_path: Path) -> None:
    init = {"settings": {"select": ["F", "E7"], "ignore": ["F401"]}}
    async with running_server(tmp_path, init_options=init, configuration=False) as client:
        uri = open_document(client, tmp_path / "a.py", TEXT)
        assert codes(await wait_for_diagnostics(client, uri, 1)) == ["E711", "F541"]


async def test_pulled_and_changed_configuration_re_analyses_open_documents(tmp_path: Path) -> None:
    config = {"ems": {"ignore": ["F541"]}}
    async with running_server(tmp_path, client_settings=config) as client:
        uri = open_document(client, tmp_path / "a.py", TEXT)
        await wait_for_codes(client, uri, ["E711", "F401"])
        client.set_configuration({"ems": {"select": ["F541"]}})
        client.workspace_did_change_configuration(lsp.DidChangeConfigurationParams(settings=None))
        await wait_for_codes(client, uri, ["F541"])


async def test_pushed_configuration_for_clients_without_workspace_configuration(tmp_path: Path) -> None:
    async with running_server(tmp_path, configuration=False) as client:
        uri = open_document(client, tmp_path / "a.py", TEXT)
        await wait_for_codes(client, uri, ["E711", "F401", "F541"])
        client.workspace_did_change_configuration(
            lsp.DidChangeConfigurationParams(settings={"ems": {"ignore": ["E711"], "select": ["NOPE9"]}})
        )
        await wait_for_codes(client, uri, ["F401", "F541"])
        # The unknown code is reported, not fatal.
        assert any("NOPE9" in m.message for m in client.messages)


async def test_config_file_edits_reload_and_each_file_uses_its_nearest_config(tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "sub").mkdir(parents=True)
    two.mkdir()
    (one / "ems.toml").write_text('select = ["E711"]\n')
    (one / "sub" / "pyproject.toml").write_text('[tool.ems]\nselect = ["F401"]\n')
    (two / "pyproject.toml").write_text('[project]\nname = "two"\n')  # no [tool.ems]: defaults
    init = {"select": None}  # let the files decide
    async with running_server(tmp_path, folders=[one, two], init_options=init) as client:
        in_one = open_document(client, one / "a.py", TEXT)
        in_sub = open_document(client, one / "sub" / "b.py", TEXT)
        in_two = open_document(client, two / "c.py", TEXT)
        assert codes(await wait_for_diagnostics(client, in_one, 1)) == ["E711"]
        assert codes(await wait_for_diagnostics(client, in_sub, 1)) == ["F401"]
        assert {"E711", "F401", "F541"} <= set(codes(await wait_for_diagnostics(client, in_two, 1)))

        (one / "ems.toml").write_text('select = ["F541"]\n')
        client.workspace_did_change_watched_files(
            lsp.DidChangeWatchedFilesParams(
                changes=[lsp.FileEvent(uri=(one / "ems.toml").as_uri(), type=lsp.FileChangeType.Changed)]
            )
        )
        await wait_for_codes(client, in_one, ["F541"])

        # A broken config file is reported once and the defaults are used meanwhile.
        (one / "ems.toml").write_text('select = ["NOT-A-RULE"]\n')
        client.workspace_did_change_watched_files(
            lsp.DidChangeWatchedFilesParams(
                changes=[lsp.FileEvent(uri=(one / "ems.toml").as_uri(), type=lsp.FileChangeType.Changed)]
            )
        )
        await wait_for_codes(client, in_one, ["E711", "F401", "F541"], subset=True)
        assert any("NOT-A-RULE" in m.message for m in client.messages)


async def test_configuration_preference_editor_first_or_filesystem_first(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["E711"]\n')
    async with running_server(tmp_path, init_options={"select": ["F541"]}) as client:
        uri = open_document(client, tmp_path / "a.py", TEXT)
        assert codes(await wait_for_diagnostics(client, uri, 1)) == ["F541"]
    init = {"select": ["F541"], "configurationPreference": "filesystemFirst"}
    async with running_server(tmp_path, init_options=init) as client:
        uri = open_document(client, tmp_path / "a.py", TEXT)
        assert codes(await wait_for_diagnostics(client, uri, 1)) == ["E711"]


async def test_run_on_save_analyses_only_when_saved(tmp_path: Path) -> None:
    async with running_server(tmp_path, init_options={"run": "onSave", "debounceMs": 0}) as client:
        uri = open_document(client, tmp_path / "a.py", 'x = "a"\n')
        assert await wait_for_diagnostics(client, uri, 1) == []
        version = change_document(client, uri, [edit_range(0, 4, 0, 4, "f")])
        await asyncio.sleep(0.4)
        assert [p.version for p in client.recorder.published if p.uri == uri] == [1]
        client.text_document_did_save(lsp.DidSaveTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
        assert codes(await wait_for_diagnostics(client, uri, version)) == ["F541"]


async def test_run_on_save_with_pull_diagnostics_reports_the_saved_text(tmp_path: Path) -> None:
    async with running_server(tmp_path, pull=True, init_options={"run": "onSave"}) as client:
        uri = open_document(client, tmp_path / "a.py", 'x = "a"\n')
        ident = lsp.TextDocumentIdentifier(uri)

        async def pulled() -> list[str]:
            report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(ident))
            assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
            return codes(list(report.items))

        assert await pulled() == []
        change_document(client, uri, [edit_range(0, 4, 0, 4, "f")])
        assert await pulled() == []  # not saved yet
        refreshes = client.diagnostic_refresh_count
        client.text_document_did_save(lsp.DidSaveTextDocumentParams(ident))
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while client.diagnostic_refresh_count == refreshes and loop.time() < deadline:
            await asyncio.sleep(0.01)
        assert client.diagnostic_refresh_count > refreshes
        assert await pulled() == ["F541"]
