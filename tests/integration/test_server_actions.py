"""Code actions over stdio: every quick fix's edit gives the rule's documented fixed text,
suppression comments, fix-all, safety levels and lazy resolution."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from lsprotocol import types as lsp
from server_fixtures import (
    LspTestClient,
    apply_workspace_edit,
    change_document,
    codes,
    edit_range,
    files_changed,
    open_document,
    running_server,
    wait_for_diagnostics,
)

from ems.core.registry import load_rules

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def default_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[tuple[LspTestClient, Path]]:
    """One server with default settings, shared by the tests that need nothing else."""
    root = tmp_path_factory.mktemp("actions")
    async with running_server(root) as client:
        yield client, root


async def actions_for(
    client: LspTestClient, uri: str, diagnostic: lsp.Diagnostic | None = None, only: list[str] | None = None
) -> list[lsp.CodeAction]:
    rng = diagnostic.range if diagnostic else lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
    result = await client.text_document_code_action_async(
        lsp.CodeActionParams(
            lsp.TextDocumentIdentifier(uri),
            rng,
            lsp.CodeActionContext(diagnostics=[diagnostic] if diagnostic else [], only=only),
        )
    )
    return [a for a in result or [] if isinstance(a, lsp.CodeAction)]


async def apply_action(client: LspTestClient, uri: str, action: lsp.CodeAction) -> str:
    if action.edit is None:
        action = await client.code_action_resolve_async(action)
    assert action.edit is not None, action
    return apply_workspace_edit(action.edit, client.recorder.texts, client.recorder.encoding)[uri]


async def fix_all_edits(client: LspTestClient, uri: str) -> list[lsp.WorkspaceEdit]:
    """The edits of the fix-all actions offered for the document, resolved (a fix-all is
    offered before the document is judged; then it resolves to no edit if nothing applies)."""
    edits = []
    for action in await actions_for(client, uri):
        if action.kind == "source.fixAll.ems":
            resolved = await client.code_action_resolve_async(action)
            if resolved.edit is not None:
                edits.append(resolved.edit)
    return edits


def fix_action(actions: list[lsp.CodeAction], code: str) -> lsp.CodeAction | None:
    return next(
        (a for a in actions if a.kind == lsp.CodeActionKind.QuickFix and f"({code})" in a.title), None
    )


def _computed_safety(rule: type, example: object) -> str:
    from ems.core.analyse import analyse
    from ems.core.config import Config
    from ems.fixes import fixes_for

    codes = (rule.code, *getattr(example, "also", ()))
    config = Config(select=codes, unsafe_fixes=True)
    report = analyse(example.code, example.path, config)
    finding = next(f for f in report.findings if f.code == rule.code)
    fix = fixes_for(example.code, finding, example.path, config, report=report)
    assert fix is not None, rule.code
    return fix.safety.value


async def test_each_rule_quick_fix_gives_the_documented_fixed_text(tmp_path: Path) -> None:
    ruleset = load_rules()
    cases = [
        (rule, index, example)
        for rule in ruleset.rules
        if rule.has_fix()
        for index, example in enumerate(rule.invalid)
        if example.fixed is not None and example.count == 1
    ]
    assert len(cases) >= 5
    # Like the rule-example tests, each example runs with only its own rule selected: a nearest
    # ems.toml per example folder, which the server must honour over the editor's settings.
    init = {"select": ["ALL"], "configurationPreference": "filesystemFirst"}
    failures: list[str] = []
    async with running_server(tmp_path, init_options=init) as client:
        opened = []
        for rule, index, example in cases:
            folder = tmp_path / rule.code / str(index)
            path = folder / example.path
            path.parent.mkdir(parents=True, exist_ok=True)
            selected = ", ".join(f'"{c}"' for c in (rule.code, *getattr(example, "also", ())))
            (folder / "ems.toml").write_text(f"select = [{selected}]\nunsafe-fixes = true\n")
            opened.append(open_document(client, path, example.code))
        for (rule, index, example), uri in zip(cases, opened, strict=True):
            diagnostics = await wait_for_diagnostics(client, uri, 1)
            target = next((d for d in diagnostics if d.code == rule.code), None)
            if target is None:
                failures.append(f"{rule.code} example {index}: no diagnostic")
                continue
            action = fix_action(await actions_for(client, uri, target), rule.code)
            if action is None:
                failures.append(f"{rule.code} example {index}: no quick fix offered")
                continue
            assert action.diagnostics and action.diagnostics[0].code == rule.code
            # The finding's own computed safety, not the rule's default (F401 in an
            # ``__init__.py`` computes an unsafe fix): what the engine's fix says.
            safety = _computed_safety(rule, example)
            assert ("unsafe" in action.title) == (safety == "unsafe"), (rule.code, index)
            assert bool(action.is_preferred) == (safety == "safe")
            resolved = await client.code_action_resolve_async(action)
            if resolved.edit is None:
                failures.append(f"{rule.code} example {index}: the fix was dropped")
                continue
            fixed = apply_workspace_edit(resolved.edit, client.recorder.texts, client.recorder.encoding)[uri]
            if fixed != example.fixed:
                failures.append(f"{rule.code} example {index}: got {fixed!r}, expected {example.fixed!r}")
    assert not failures, "\n".join(failures)


async def test_unsafe_fixes_are_only_offered_when_enabled(
    default_server: tuple[LspTestClient, Path], tmp_path: Path
) -> None:
    text = "if x == None:\n    pass\n"
    client, root = default_server
    uri = open_document(client, root / "unsafe.py", text)
    (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
    titles = [a.title for a in await actions_for(client, uri, diagnostic)]
    assert titles == ["Suppress E711 on this line (# noqa)"]
    async with running_server(tmp_path, init_options={"unsafeFixes": True}) as client:
        uri = open_document(client, tmp_path / "a.py", text)
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        action = fix_action(await actions_for(client, uri, diagnostic), "E711")
        assert action is not None and "unsafe" in action.title and not action.is_preferred
        assert await apply_action(client, uri, action) == "if x is None:\n    pass\n"


async def test_suppress_adds_a_noqa_comment_or_extends_the_one_there(
    default_server: tuple[LspTestClient, Path],
) -> None:
    text = 'a = f"one"  # greeting\nb = f"two" if a == None else 1  # noqa: E711\nc = """\nx""" + f"three"\n'
    client, tmp_path = default_server
    uri = open_document(client, tmp_path / "s.py", text)
    diagnostics = await wait_for_diagnostics(client, uri, 1)
    assert codes(diagnostics) == ["F541", "F541", "F541"]
    first, second, third = sorted(diagnostics, key=lambda d: d.range.start.line)

    suppress = [a for a in await actions_for(client, uri, first) if a.title.startswith("Suppress")]
    assert [a.title for a in suppress] == ["Suppress F541 on this line (# noqa)"]
    assert (await apply_action(client, uri, suppress[0])).splitlines()[
        0
    ] == 'a = f"one"  # greeting  # noqa: F541'

    suppress = [a for a in await actions_for(client, uri, second) if a.title.startswith("Suppress")]
    extended = await apply_action(client, uri, suppress[0])
    assert extended.splitlines()[1] == 'b = f"two" if a == None else 1  # noqa: E711, F541'

    # The third finding follows a multi-line string: its own line takes the comment.
    suppress = [a for a in await actions_for(client, uri, third) if a.title.startswith("Suppress")]
    assert suppress and (await apply_action(client, uri, suppress[0])).endswith('f"three"  # noqa: F541\n')

    # Apply the first suppression for real: the diagnostic goes away.
    new_text = await apply_action(
        client, uri, next(a for a in await actions_for(client, uri, first) if a.title.startswith("Suppress"))
    )
    old = client.recorder.texts[uri]
    version = change_document(client, uri, [lsp.TextDocumentContentChangeWholeDocument(text=new_text)])
    assert old != new_text
    assert len(await wait_for_diagnostics(client, uri, version)) == 2


async def test_suppression_is_refused_where_a_comment_would_land_inside_a_string(
    default_server: tuple[LspTestClient, Path],
) -> None:
    text = 'x = (f"a" """\n""")\n'
    client, tmp_path = default_server
    uri = open_document(client, tmp_path / "m.py", text)
    (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
    (suppress,) = [a for a in await actions_for(client, uri, diagnostic) if a.title.startswith("Suppress")]
    resolved = await client.code_action_resolve_async(suppress)
    assert resolved.edit is None
    assert resolved.disabled is not None and "string" in resolved.disabled.reason


async def test_fix_all_source_action_applies_every_safe_fix_to_a_fixed_point(
    default_server: tuple[LspTestClient, Path],
) -> None:
    text = 'import os\nimport sys\nprint(f"a", f"b")\nif sys == None:\n    pass\n'
    client, tmp_path = default_server
    uri = open_document(client, tmp_path / "f.py", text)
    await wait_for_diagnostics(client, uri, 1)
    actions = await actions_for(client, uri, only=[lsp.CodeActionKind.SourceFixAll])
    assert [a.kind for a in actions] == ["source.fixAll.ems"]
    assert actions[0].edit is None  # computed lazily
    fixed = await apply_action(client, uri, actions[0])
    assert fixed == 'import sys\nprint("a", "b")\nif sys == None:\n    pass\n'  # E711 is unsafe: kept
    only_quickfix = await actions_for(client, uri, only=[lsp.CodeActionKind.QuickFix])
    assert all(a.kind == lsp.CodeActionKind.QuickFix for a in only_quickfix)


async def test_clients_without_resolve_get_edits_eagerly_as_plain_changes(tmp_path: Path) -> None:
    async with running_server(tmp_path, resolve=False, document_changes=False) as client:
        uri = open_document(client, tmp_path / "e.py", 'print(f"é中🙂")\n')
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        action = fix_action(await actions_for(client, uri, diagnostic), "F541")
        assert action is not None and action.edit is not None and action.edit.changes
        assert apply_workspace_edit(action.edit, client.recorder.texts, "utf-16")[uri] == 'print("é中🙂")\n'


async def test_resolve_after_an_unrelated_edit_still_finds_the_finding(
    default_server: tuple[LspTestClient, Path],
) -> None:
    client, tmp_path = default_server
    uri = open_document(client, tmp_path / "r.py", 'x = 1\ny = f"v"\n')
    (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
    action = fix_action(await actions_for(client, uri, diagnostic), "F541")
    assert action is not None
    version = change_document(client, uri, [edit_range(0, 0, 0, 0, "# comment\n")])
    await wait_for_diagnostics(client, uri, version)
    resolved = await client.code_action_resolve_async(action)
    assert resolved.edit is not None and resolved.edit.document_changes
    edit = resolved.edit.document_changes[0]
    assert isinstance(edit, lsp.TextDocumentEdit) and edit.text_document.version == version
    assert (
        apply_workspace_edit(resolved.edit, client.recorder.texts, "utf-16")[uri]
        == '# comment\nx = 1\ny = "v"\n'
    )


async def test_quick_fixes_and_fix_all_follow_a_re_export_appearing_on_disk(tmp_path: Path) -> None:
    """``a.py``'s unused ``import os`` is removable until ``b.py`` imports it from ``a``:
    then neither its quick fix nor a fix-all removes it, even for the same version of
    ``a.py`` (the server keeps its fixability per version); nor once ``b.py`` stops."""
    (tmp_path / "b.py").write_text("X = 1\n")
    async with running_server(tmp_path) as client:
        uri = open_document(client, tmp_path / "a.py", "import os\n")
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        assert fix_action(await actions_for(client, uri, diagnostic), "F401") is not None
        (tmp_path / "b.py").write_text("from a import os\nprint(os.sep)\n")
        files_changed(client, tmp_path / "b.py")  # what an editor watching the files says
        assert fix_action(await actions_for(client, uri, diagnostic), "F401") is None
        assert not await fix_all_edits(client, uri)
        result = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.fixAll", [uri]))
        assert result == {"applied": [], "changed": False}
        (tmp_path / "b.py").write_text("X = 2\n")
        files_changed(client, tmp_path / "b.py")
        assert fix_action(await actions_for(client, uri, diagnostic), "F401") is not None


async def test_quick_fixes_and_fix_all_count_importers_across_top_level_packages(tmp_path: Path) -> None:
    """In a git project, ``pkg/compat.py``'s unused ``import os`` stops being removable
    when ``main.py`` (beside ``pkg/``, outside the package) or a sibling top-level package
    imports it: the server judges with the whole project, as ``ems check`` does."""
    import subprocess

    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg_b").mkdir()
    (tmp_path / "pkg_b" / "__init__.py").write_text("")
    (tmp_path / "pkg_b" / "mod.py").write_text("Y = 1\n")
    (tmp_path / "main.py").write_text("X = 1\n")
    async with running_server(tmp_path) as client:
        uri = open_document(client, tmp_path / "pkg" / "compat.py", "import os\n")
        (diagnostic,) = await wait_for_diagnostics(client, uri, 1)
        assert fix_action(await actions_for(client, uri, diagnostic), "F401") is not None
        for importer in (tmp_path / "main.py", tmp_path / "pkg_b" / "mod.py"):
            importer.write_text("from pkg.compat import os\nprint(os.sep)\n")
            files_changed(client, importer)
            assert fix_action(await actions_for(client, uri, diagnostic), "F401") is None, importer
            assert not await fix_all_edits(client, uri)
            command = lsp.ExecuteCommandParams("ems.fixAll", [uri])
            assert await client.workspace_execute_command_async(command) == {"applied": [], "changed": False}
            importer.write_text("X = 2\n")
            files_changed(client, importer)
            assert fix_action(await actions_for(client, uri, diagnostic), "F401") is not None
