"""Hover and ``workspace/executeCommand`` over stdio, with good and bad arguments.

The tests share one server (starting one costs a second or two); each uses its own documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from server_fixtures import LspTestClient, codes, open_document, running_server, wait_for_diagnostics

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def shared(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LspTestClient, Path]]:
    root = tmp_path_factory.mktemp("commands")
    (root / "one.py").write_text('a = f"1"\n')
    (root / "sub").mkdir()
    (root / "sub" / "two.py").write_text("b = 2 == None\nc = f'3'\n")
    async with running_server(root) as client:
        yield client, root


async def test_hover_on_a_diagnostic_explains_the_rule_and_its_fix(
    shared: tuple[LspTestClient, Path],
) -> None:
    client, root = shared
    uri = open_document(client, root / "memory" / "h.py", 'x = 1\nprint(f"héllo")\n')
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


async def test_fix_all_command_applies_the_edit_through_the_client(
    shared: tuple[LspTestClient, Path],
) -> None:
    client, root = shared
    uri = open_document(client, root / "memory" / "c.py", 'import os\nprint(f"a")\n')
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
    assert len([e for e in client.recorder.applied_edits if uri in str(e)]) == 1


BAD_CALLS = [
    ("ems.fixAll", [], "takes one argument"),
    ("ems.fixAll", [42], "expected a document URI"),
    ("ems.fixAll", ["file:///nowhere/not-open.py"], "is not open"),
    ("ems.fixAll", ["a", "b"], "takes one argument"),
    ("ems.status", ["unexpected"], "takes no arguments"),
    ("ems.scanWorkspace", [1, 2], "takes no arguments"),
    ("ems.noSuchCommand", [], "not defined"),
]


async def test_commands_reject_bad_arguments_with_an_error_response(
    shared: tuple[LspTestClient, Path],
) -> None:
    client, _ = shared
    for command, arguments, fragment in BAD_CALLS:
        with pytest.raises(Exception, match=fragment):
            await client.workspace_execute_command_async(lsp.ExecuteCommandParams(command, arguments))
    status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
    assert status["version"]  # still alive after every error


async def test_status_reports_version_rules_settings_and_timings(shared: tuple[LspTestClient, Path]) -> None:
    from ems import __version__

    client, root = shared
    uri = open_document(client, root / "memory" / "s.py", 'x = f"a"\n')
    await wait_for_diagnostics(client, uri, 1)
    status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
    assert status["version"] == __version__
    assert status["positionEncoding"] == "utf-16" and status["diagnosticMode"] == "push"
    assert {"F541", "E711"} <= {r["code"] for r in status["rules"]}
    assert status["settings"]["debounce_ms"] == 150
    assert status["timings"]["analysis"]["analyses"] >= 1
    assert status["timings"]["analysis"]["medianMs"] >= 0
    assert status["openDocuments"] >= 1
    # the monitor's view of the server: its memory against the limit, and fault counters
    assert 0 < status["memory"]["rssBytes"] < status["memory"]["limitBytes"]
    assert status["memory"]["limitBytes"] == 1024 * 1024 * 1024
    assert set(status["events"]) >= {"counts", "since"}


async def test_scan_workspace_pushes_diagnostics_for_files_not_open(
    shared: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = shared
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.scanWorkspace"))
    assert result["files"] == 2
    assert result["byCode"] == {"E711": 1, "F541": 2}
    two = (tmp_path / "sub" / "two.py").as_uri()
    assert codes(await wait_for_diagnostics(client, two)) == ["E711", "F541"]


async def test_scan_workspace_records_the_scan_in_a_git_repository(tmp_path: Path) -> None:
    import os
    import subprocess

    from ems.store import open_store

    env = {
        "GIT_AUTHOR_NAME": "a",
        "GIT_AUTHOR_EMAIL": "a@x",
        "GIT_COMMITTER_NAME": "a",
        "GIT_COMMITTER_EMAIL": "a@x",
    }
    (tmp_path / "ems.toml").write_text('select = ["F541", "E711"]\n')
    (tmp_path / "mod.py").write_text('x = f"a"\n')
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, env={**os.environ, **env})
    async with running_server(tmp_path) as client:
        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.scanWorkspace"))
    assert len(result["recordedScans"]) == 1
    with open_store(tmp_path) as store:
        scans = store.scans()
        assert [(s.source, s.files, s.dirty) for s in scans] == [("server", 1, False)]
        assert [f.code for f in store.scan_findings(scans[0].id)] == ["F541"]


async def test_scan_workspace_outside_git_records_nothing(shared: tuple[LspTestClient, Path]) -> None:
    client, tmp_path = shared
    result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.scanWorkspace"))
    assert result["recordedScans"] == []
    if (tmp_path / ".ems" / "ems.db").exists():  # the server's own monitor samples live there
        from ems.store import open_store

        with open_store(tmp_path) as store:
            assert store.scans() == []


async def test_a_workspace_scan_follows_a_re_export_appearing_and_going(tmp_path: Path) -> None:
    """The workspace scan serves unchanged files from the result cache: ``a.py``'s recorded
    F401 must stop being fixable when ``b.py`` starts importing ``os`` from ``a`` (a
    re-export, never removed), and be fixable again when it stops, as ``--no-cache`` says."""
    import os
    import subprocess

    from ems.store import open_store

    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x"}
    env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x"}
    (tmp_path / "a.py").write_text("import os\n")
    (tmp_path / "b.py").write_text("X = 1\n")
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, env=env, capture_output=True)

    def rewrite_b(text: str) -> None:
        before = (tmp_path / "b.py").stat().st_mtime_ns
        (tmp_path / "b.py").write_text(text)
        later = max(before + 1_000_000_000, (tmp_path / "b.py").stat().st_mtime_ns)
        os.utime(tmp_path / "b.py", ns=(later, later))

    fixable: list[bool] = []
    async with running_server(tmp_path) as client:
        for text in (None, "from a import os\nprint(os.sep)\n", "X = 2\n"):
            if text is not None:
                rewrite_b(text)
            result = await client.workspace_execute_command_async(
                lsp.ExecuteCommandParams("ems.scanWorkspace")
            )
            (scan_id,) = result["recordedScans"]
            with open_store(tmp_path) as store:
                (f401,) = [f for f in store.scan_findings(scan_id) if Path(f.path).name == "a.py"]
            fixable.append(f401.fixable)
    assert fixable == [True, False, True]
