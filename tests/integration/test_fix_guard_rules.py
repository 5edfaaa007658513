"""A fix that leaves a name undefined is refused under any ``--select``: verification runs
the guard rules (F821, F811) whatever the user selected (``engine.verifying``).

With ``--select F401,EMS106`` (no F821), F401's fix removed the unused `field` import in the
same batch as EMS106's fix started using it: ``ems fix --unsafe-fixes`` wrote a module that
raised NameError on import. Now the pair fails verification together, F401 is applied
first and EMS106's fix adds the import back in the next pass, as with F821 selected; the
CLI, ``ems check``'s marks and the language server's fix-all agree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from checkout_ems import run_ems, run_python
from lsprotocol import types as lsp
from server_fixtures import apply_workspace_edit, open_document, running_server, wait_for_diagnostics

TEXT = "from dataclasses import dataclass, field\n\n\n@dataclass\nclass Box:\n    items: list = []\n"
FIXED = (
    "from dataclasses import dataclass, field\n\n\n@dataclass\nclass Box:\n"
    "    items: list = field(default_factory=list)\n"
)
SELECT = "F401,EMS106"


def test_ems_fix_with_a_narrow_selection_keeps_the_import_the_other_fix_uses(tmp_path: Path) -> None:
    (tmp_path / "box.py").write_text(TEXT, encoding="utf-8")
    checked = run_ems(
        "check", ".", "--no-cache", "--exit-zero", "--format", "json", "--select", SELECT, cwd=tmp_path
    )
    assert checked.returncode == 0, checked.stderr
    marks = {(f["code"], f["line"]): f["fix"] for f in json.loads(checked.stdout)}
    assert marks == {
        ("F401", 1): {"title": "Remove unused import", "safety": "safe", "applied": True},
        ("EMS106", 6): {"title": "Use `field(default_factory=...)`", "safety": "unsafe", "applied": False},
    }
    assert "F821" not in checked.stdout  # the guard rule's findings are not reported
    done = run_ems("fix", ".", "--no-cache", "--unsafe-fixes", "--select", SELECT, cwd=tmp_path)
    assert "Fixed 2 findings" in done.stdout, done.stdout + done.stderr
    assert (tmp_path / "box.py").read_text(encoding="utf-8") == FIXED
    ran = run_python("import box; assert box.Box().items == []", tmp_path)
    assert ran.returncode == 0, ran.stderr


def test_safe_fixes_alone_with_a_narrow_selection(tmp_path: Path) -> None:
    """``ems fix`` (no unsafe fixes) removes the import only: EMS106 is left, still fixable."""
    (tmp_path / "box.py").write_text(TEXT, encoding="utf-8")
    done = run_ems("fix", ".", "--no-cache", "--select", SELECT, cwd=tmp_path)
    assert "Fixed 1 finding" in done.stdout, done.stdout + done.stderr
    assert (tmp_path / "box.py").read_text(encoding="utf-8") == TEXT.replace(", field", "")
    again = run_ems("fix", ".", "--no-cache", "--unsafe-fixes", "--select", SELECT, cwd=tmp_path)
    assert "Fixed 1 finding" in again.stdout, again.stdout + again.stderr
    assert (tmp_path / "box.py").read_text(encoding="utf-8") == FIXED


@pytest.mark.asyncio
async def test_the_servers_fix_all_with_a_narrow_selection(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F401", "EMS106"]\nunsafe-fixes = true\n')
    init = {"configurationPreference": "filesystemFirst"}
    async with running_server(tmp_path, init_options=init) as client:
        uri = open_document(client, tmp_path / "box.py", TEXT)
        diagnostics = await wait_for_diagnostics(client, uri, 1)
        assert sorted(str(d.code) for d in diagnostics) == ["EMS106", "F401"]
        result = await client.text_document_code_action_async(
            lsp.CodeActionParams(
                lsp.TextDocumentIdentifier(uri),
                lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0)),
                lsp.CodeActionContext(diagnostics=[], only=[lsp.CodeActionKind.SourceFixAll]),
            )
        )
        (action,) = [a for a in result or [] if isinstance(a, lsp.CodeAction)]
        if action.edit is None:
            action = await client.code_action_resolve_async(action)
        assert action.edit is not None
        fixed = apply_workspace_edit(action.edit, client.recorder.texts, client.recorder.encoding)[uri]
        assert fixed == FIXED
