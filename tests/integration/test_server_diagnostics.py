"""``ems serve`` end to end: initialize, push/pull/workspace diagnostics, positions, failures."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig
from sample_projects import cached_results
from server_fixtures import (
    SERVER_COMMAND,
    LspTestClient,
    capabilities,
    change_document,
    codes,
    edit_range,
    make_client,
    open_document,
    running_server,
    stop_client,
    wait_for_diagnostics,
)

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def push_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[LspTestClient, Path]]:
    """One push-mode server (default settings, 150 ms debounce) shared by the tests that allow it."""
    root = tmp_path_factory.mktemp("push")
    async with running_server(root) as client:
        yield client, root


SAMPLE = 'import os\nname = f"hello"\nif name == None:\n    pass\n'


async def test_initialize_announces_incremental_sync_actions_commands_and_utf16(tmp_path: Path) -> None:
    client = await ClientServerConfig(server_command=SERVER_COMMAND, client_factory=make_client).start()
    try:
        init = await client.initialize_session(
            lsp.InitializeParams(capabilities=capabilities(), root_uri=tmp_path.as_uri())
        )
        caps = init.capabilities
        assert init.server_info is not None and init.server_info.name == "ems"
        assert caps.position_encoding == lsp.PositionEncodingKind.Utf16
        sync = caps.text_document_sync
        assert (
            isinstance(sync, lsp.TextDocumentSyncOptions)
            and sync.change == lsp.TextDocumentSyncKind.Incremental
        )
        assert isinstance(caps.code_action_provider, lsp.CodeActionOptions)
        assert caps.code_action_provider.resolve_provider is True
        assert "source.fixAll.ems" in (caps.code_action_provider.code_action_kinds or [])
        assert caps.execute_command_provider is not None
        assert set(caps.execute_command_provider.commands) == {
            "ems.fixAll",
            "ems.rerunTest",
            "ems.scanWorkspace",
            "ems.status",
        }
        assert caps.diagnostic_provider is not None and caps.diagnostic_provider.workspace_diagnostics
        assert caps.hover_provider
    finally:
        await stop_client(client)


async def test_diagnostics_on_open_carry_version_code_link_source_severity_and_tags(
    push_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = push_server
    uri = open_document(client, tmp_path / "open.py", SAMPLE, version=7)
    diagnostics = await wait_for_diagnostics(client, uri, 7)
    by_code = {d.code: d for d in diagnostics}
    assert {"F401", "F541", "E711"} <= set(by_code)
    fstring = by_code["F541"]
    assert fstring.range == lsp.Range(lsp.Position(1, 7), lsp.Position(1, 15))
    assert fstring.source == "ems"
    assert fstring.severity == lsp.DiagnosticSeverity.Warning
    assert fstring.code_description is not None and fstring.code_description.href.endswith("#f541")
    assert list(by_code["F401"].tags or []) == [lsp.DiagnosticTag.Unnecessary]
    assert fstring.tags is None


async def test_incremental_changes_publish_diagnostics_for_that_version(
    push_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = push_server
    uri = open_document(client, tmp_path / "incremental.py", 'x = "plain"\n')
    assert await wait_for_diagnostics(client, uri, 1) == []
    # Insert an `f` prefix: x = f"plain"
    version = change_document(client, uri, [edit_range(0, 4, 0, 4, "f")])
    assert codes(await wait_for_diagnostics(client, uri, version)) == ["F541"]
    # Two changes in one notification: add a line, then add a placeholder.
    version = change_document(
        client, uri, [edit_range(1, 0, 1, 0, "y = 1 == None\n"), edit_range(0, 10, 0, 10, "{0}")]
    )
    diagnostics = await wait_for_diagnostics(client, uri, version)
    assert codes(diagnostics) == ["E711"]
    assert diagnostics[0].range.start == lsp.Position(1, 4)


async def test_rapid_changes_are_debounced_and_stale_versions_never_published(
    push_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = push_server
    uri = open_document(client, tmp_path / "rapid.py", "x = 1\n")
    await wait_for_diagnostics(client, uri, 1)
    versions = [change_document(client, uri, [edit_range(0, 4, 0, 5, f'f"{i}"')]) for i in range(5)]
    await wait_for_diagnostics(client, uri, versions[-1])
    published = [p.version for p in client.recorder.published if p.uri == uri]
    assert published == [1, versions[-1]]


async def test_close_clears_pushed_diagnostics(push_server: tuple[LspTestClient, Path]) -> None:
    client, tmp_path = push_server
    uri = open_document(client, tmp_path / "close.py", SAMPLE)
    assert await wait_for_diagnostics(client, uri, 1)
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(lsp.TextDocumentIdentifier(uri)))
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while client.diagnostics.get(uri) and loop.time() < deadline:
        await asyncio.sleep(0.01)
    assert list(client.diagnostics[uri]) == []


async def test_pull_clients_get_document_diagnostics_with_result_ids_and_no_push(tmp_path: Path) -> None:
    async with running_server(tmp_path, pull=True) as client:
        uri = open_document(client, tmp_path / "mod.py", SAMPLE)
        ident = lsp.TextDocumentIdentifier(uri)
        report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(ident))
        assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
        assert {"F401", "F541", "E711"} <= {d.code for d in report.items}
        again = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(ident, previous_result_id=report.result_id)
        )
        assert isinstance(again, lsp.RelatedUnchangedDocumentDiagnosticReport)
        change_document(client, uri, [edit_range(0, 0, 1, 0, "")])  # drop the import
        changed = await client.text_document_diagnostic_async(
            lsp.DocumentDiagnosticParams(ident, previous_result_id=report.result_id)
        )
        assert isinstance(changed, lsp.RelatedFullDocumentDiagnosticReport)
        assert "F401" not in {d.code for d in changed.items}
        assert all(p.diagnostics == [] for p in client.recorder.published if p.uri == uri)


async def test_workspace_diagnostics_cover_every_python_file_and_open_documents(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text('print(f"a")\n')
    (tmp_path / "b.py").write_text("x = 1\n")
    (tmp_path / "notes.txt").write_text('f"no"\n')
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "skip.py").write_text('f"skip"\n')
    async with running_server(tmp_path, pull=True) as client:
        open_uri = open_document(client, tmp_path / "b.py", "x = 1 == None\n", version=3)
        report = await client.workspace_diagnostic_async(
            lsp.WorkspaceDiagnosticParams(previous_result_ids=[])
        )
        items = {item.uri: item for item in report.items}
        assert set(items) == {(tmp_path / "pkg" / "a.py").as_uri(), open_uri}
        a_item = items[(tmp_path / "pkg" / "a.py").as_uri()]
        assert isinstance(a_item, lsp.WorkspaceFullDocumentDiagnosticReport)
        assert codes(list(a_item.items)) == ["F541"] and a_item.version is None
        open_item = items[open_uri]
        assert isinstance(open_item, lsp.WorkspaceFullDocumentDiagnosticReport)
        assert open_item.version == 3 and codes(list(open_item.items)) == ["E711"]
        # closed files went through the project scan, whose persistent cache `ems check` shares
        assert cached_results(tmp_path)
        previous = [lsp.PreviousResultId(uri=i.uri, value=i.result_id or "") for i in report.items]
        second = await client.workspace_diagnostic_async(
            lsp.WorkspaceDiagnosticParams(previous_result_ids=previous)
        )
        assert all(isinstance(i, lsp.WorkspaceUnchangedDocumentDiagnosticReport) for i in second.items)


async def test_syntax_error_is_a_diagnostic_with_an_exact_range(
    push_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = push_server
    uri = open_document(client, tmp_path / "bad.py", 'ok = 1\ns = "é中🙂" + (1 +\n')
    diagnostics = await wait_for_diagnostics(client, uri, 1)
    assert codes(diagnostics) == ["E999"]
    error = diagnostics[0]
    assert error.severity == lsp.DiagnosticSeverity.Error
    assert error.message.startswith("SyntaxError")
    assert error.range.start.line == 1


@pytest.mark.parametrize(
    ("offered", "expected_encoding", "start", "end"),
    [
        # 'é中🙂' is 4 UTF-16 units (🙂 is a surrogate pair) and 9 UTF-8 bytes.
        (None, "utf-16", 16, 24),
        (["utf-8", "utf-16"], "utf-8", 21, 29),
        (["utf-16"], "utf-16", 16, 24),
    ],
)
async def test_non_ascii_columns_in_the_negotiated_encoding(
    tmp_path: Path, offered: list[str] | None, expected_encoding: str, start: int, end: int
) -> None:
    text = 'x = "é中🙂"; y = f"plain"\n'
    async with running_server(tmp_path, encodings=offered) as client:
        assert client.recorder.encoding == expected_encoding
        uri = open_document(client, tmp_path / "u.py", text)
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        assert diagnostic.code == "F541"
        assert (diagnostic.range.start.character, diagnostic.range.end.character) == (start, end)
        # An incremental edit positioned after the emoji lands where the client means it.
        version = change_document(client, uri, [edit_range(0, start, 0, start + 1, "")])  # delete the f
        assert await wait_for_diagnostics(client, uri, version) == []
        assert client.recorder.texts[uri] == 'x = "é中🙂"; y = "plain"\n'


def _write_raising_plugin(root: Path) -> Path:
    """A rule plug-in (found through a dist-info entry point) that prints to stdout and raises."""
    site = root / "site"
    site.mkdir()
    (site / "ems_raising_rule.py").write_text(
        "import ast\n"
        "from ems.core.rule import Rule\n\n"
        "class AlwaysRaises(Rule):\n"
        "    code = 'XRA001'\n"
        "    name = 'always-raises'\n"
        "    summary = 'raises on every name'\n"
        "    explanation = 'Used to test containment.'\n"
        "    node_types = (ast.Name,)\n\n"
        "    def visit(self, node, ctx):\n"
        "        print('stray output that must not reach the protocol stream')\n"
        "        raise RuntimeError('boom')\n"
    )
    dist = site / "ems_raising_rule-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ems-raising-rule\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[ems.rules]\nraising = ems_raising_rule:AlwaysRaises\n")
    return site


async def test_a_rule_that_raises_is_contained_and_logged(tmp_path: Path) -> None:
    import os

    site = _write_raising_plugin(tmp_path)
    pythonpath = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    workspace = tmp_path / "ws"
    workspace.mkdir()
    init = {"select": ["F541", "XRA001", "EMS901"]}
    async with running_server(workspace, env={"PYTHONPATH": pythonpath}, init_options=init) as client:
        uri = open_document(client, workspace / "m.py", 'value = f"x"\nprint(value)\n')
        diagnostics = await wait_for_diagnostics(client, uri, 1)
        assert codes(diagnostics) == ["EMS901", "F541"]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while not any("XRA001" in m.message for m in client.log_messages) and loop.time() < deadline:
            await asyncio.sleep(0.01)
        errors = [m for m in client.log_messages if "XRA001" in m.message]
        assert errors and errors[0].type == lsp.MessageType.Error and "boom" in errors[0].message
        # The server is still alive and answering.
        status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
        assert "XRA001" in {r["code"] for r in status["rules"]}


async def test_related_information_points_at_the_first_definition(
    push_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = push_server
    uri = open_document(client, tmp_path / "redef.py", "import os  # é\nimport os\nprint(os)\n")
    (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
    assert diagnostic.code == "F811"
    (related,) = diagnostic.related_information or []
    assert related.location.uri == uri
    assert related.location.range == lsp.Range(lsp.Position(0, 7), lsp.Position(0, 9))
    assert "first definition" in related.message


async def test_form_feed_and_line_separator_do_not_shift_lines(
    push_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = push_server
    text = 'a = "x\u2028y"\n\x0cb = f"z"\n'
    uri = open_document(client, tmp_path / "separators.py", text)
    (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
    assert diagnostic.range == lsp.Range(lsp.Position(1, 5), lsp.Position(1, 9))
    version = change_document(client, uri, [edit_range(1, 5, 1, 6, "")])  # drop the f
    assert await wait_for_diagnostics(client, uri, version) == []
    assert client.recorder.texts[uri] == 'a = "x\u2028y"\n\x0cb = "z"\n'


async def test_edits_of_a_large_module_match_a_full_analysis_of_each_version(tmp_path: Path) -> None:
    """The server re-checks only what each edit touched (``ems.core.incremental``); what it
    publishes must still be exactly what a whole-file analysis of that version finds."""
    import sysconfig

    from ems.core.analyse import analyse

    text = (Path(sysconfig.get_paths()["stdlib"]) / "argparse.py").read_text(encoding="utf-8")
    lines = text.split("\n")
    top = next(i for i, line in enumerate(lines) if line.startswith("class "))
    body = next(i for i, line in enumerate(lines) if line.startswith("        return ") and i > top)
    edits = [
        edit_range(top, 0, top, 0, "import json\n_unused = f'x'\n"),  # shifts every later line
        edit_range(top + 1, 0, top + 1, 1, "_renamed"),  # a rename on one line
        edit_range(body + 2, 0, body + 2, 0, "        json.dumps(undefined_here)\n"),  # json now used
        edit_range(top, 0, top + 1, 0, ""),  # the import goes: json undefined in the body
    ]
    async with running_server(tmp_path, init_options={"select": ["ALL"], "debounceMs": 0}) as client:
        uri = open_document(client, tmp_path / "big.py", text)
        versions = [1]
        for change in [None, *edits]:
            if change is not None:
                versions.append(change_document(client, uri, [change]))
            published = await wait_for_diagnostics(client, uri, versions[-1])
            expected = analyse(client.recorder.texts[uri], str(tmp_path / "big.py")).findings
            assert len(expected) > 3  # several (EMS101 no longer reports argparse's narrow handlers)
            assert sorted(
                (d.code, d.range.start.line + 1, d.range.start.character, d.message) for d in published
            ) == sorted((f.code, f.range.start.line, f.range.start.column, f.message) for f in expected)


STUBBED_SHAPES = """import os
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from collections import OrderedDict, Counter


def set_pointer(os, cls):
    return os, cls


def stats(d):
    return cast("OrderedDict", d)


class Holder:
    size = 1

    def get(self, d):
        return cast("Counter", d)
"""


async def test_edits_elsewhere_keep_a_parameters_redefinition_and_a_casts_import_used(
    tmp_path: Path,
) -> None:
    """Two shapes where a body's stub cannot stand in for it (``incremental.stubs._stands_in``):
    the parameter ``os`` redefines the unused import (F811), and ``cast("OrderedDict", d)``
    uses the import only through the module's ``cast``. After edits at the top level and in
    the class (the outline answers for the bodies), the server publishes what a whole-file
    analysis finds: the F811, and no F401 for ``OrderedDict`` or ``Counter``."""
    from ems.core.analyse import analyse

    lines = STUBBED_SHAPES.split("\n")
    size = lines.index("    size = 1")
    edits = [
        edit_range(len(lines) - 1, 0, len(lines) - 1, 0, "_top = 1\n"),  # a top-level line added
        edit_range(size, 12, size, 12, "  # typed"),  # a class attribute typed
        edit_range(0, 0, 0, 0, "_first = 0\n"),  # a line above everything: all of it moves
        edit_range(size + 1, 11, size + 1, 12, "2"),  # `size = 2`
    ]
    path = tmp_path / "shapes.py"
    async with running_server(tmp_path, init_options={"select": ["ALL"], "debounceMs": 0}) as client:
        uri = open_document(client, path, STUBBED_SHAPES)
        versions = [1]
        for change in [None, *edits]:
            if change is not None:
                versions.append(change_document(client, uri, [change]))
            published = await wait_for_diagnostics(client, uri, versions[-1])
            expected = analyse(client.recorder.texts[uri], str(path)).findings
            assert sorted((d.code, d.range.start.line + 1, d.message) for d in published) == sorted(
                (f.code, f.range.start.line, f.message) for f in expected
            )
            assert any(d.code == "F811" and "`os`" in d.message for d in published)
            assert not any(d.code == "F401" and "OrderedDict" in d.message for d in published)
            await asyncio.sleep(0.3)  # idle: the worker builds the document's incremental state


async def test_the_client_applies_edits_with_its_own_utf16_model():
    """The test client's applier (``lsp_text``) follows the LSP text model on its own: UTF-16
    code units, every line ending Python knows, positions past a line's end clamped."""
    from lsp_text import apply_text_change, index_of

    text = "s = 'é中🙂' + x\r\ny = 1\rz = 2\n"
    after_emoji = lsp.Position(0, len("s = 'é中") + 2)  # 🙂 is two UTF-16 code units
    assert text[index_of(text, after_emoji) :].startswith("' + x")
    assert index_of(text, lsp.Position(0, 10), "utf-8") == len("s = 'é中")  # é is 2 bytes, 中 3
    assert index_of(text, lsp.Position(2, 99)) == text.index("z = 2") + len("z = 2")
    change = lsp.TextDocumentContentChangePartial(
        range=lsp.Range(lsp.Position(1, 4), lsp.Position(2, 0)), text="10\r"
    )
    assert apply_text_change(text, change) == "s = 'é中🙂' + x\r\ny = 10\rz = 2\n"


KEYSTROKES = """from os.path import *
import sys


for item in range(3):
    pass


class Window:
    size = 1

    def show(self):
        return self.size


def helper():
    return join(sys.argv[0], unknown_name)
"""


async def test_typing_a_new_name_and_a_loops_word_publishes_what_a_whole_analysis_finds(
    tmp_path: Path,
) -> None:
    """Typed as the keystroke benchmark types (a new top-level line, then its name rewritten
    at each keystroke: the module-scoped results are patched, ``incremental.isolated``),
    then a comment naming ``_item`` in a method (B007's rename of ``item`` would now
    collide: its fix is no longer offered), then the line removed: every version's
    diagnostics are a whole-file analysis's, and after the opened version only edits of
    the text crossed to the analysis worker (``ems.status``)."""
    from ems.core.analyse import analyse

    lines = KEYSTROKES.split("\n")
    at = lines.index("class Window:")
    show = lines.index("        return self.size")
    path = tmp_path / "typed.py"
    async with running_server(tmp_path, init_options={"select": ["ALL"], "debounceMs": 0}) as client:
        uri = open_document(client, path, KEYSTROKES)
        edits = [edit_range(at, 0, at, 0, "_typed_0 = 1\n")]
        edits += [edit_range(at, 0, at, len(f"_typed_{i - 1}"), f"_typed_{i}") for i in range(1, 4)]
        edits += [edit_range(show + 1, len(lines[show]), show + 1, len(lines[show]), "  # _item")]
        edits += [edit_range(at, 0, at + 1, 0, "")]
        versions = [1]
        for change in [None, *edits]:
            if change is not None:
                versions.append(change_document(client, uri, [change]))
            published = await wait_for_diagnostics(client, uri, versions[-1])
            expected = analyse(client.recorder.texts[uri], str(path)).findings
            assert [(d.code, d.range.start.line + 1, d.message) for d in published] == [
                (f.code, f.range.start.line, f.message) for f in expected
            ]
            if change is None:
                await asyncio.sleep(0.5)  # idle: the worker builds the document's incremental state
        loop = next(d for d in published if d.code == "B007")
        result = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                lsp.TextDocumentIdentifier(uri), loop.range, lsp.CodeActionContext(diagnostics=[loop])
            )
        )
        titles = [a.title for a in result or [] if isinstance(a, lsp.CodeAction)]
        assert titles and not any("(B007)" in t and "underscore" in t.lower() for t in titles), titles
        status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
        assert status["timings"]["analysis"]["wholeTexts"] == 1
        assert status["timings"]["analysis"]["textEdits"] == len(edits)
