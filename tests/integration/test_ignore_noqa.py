"""`--ignore-noqa` / `ignore-noqa = true` (ruff's option): suppression comments read as plain
comments, so a project can see what its suppressions hide; and what the check then counts as
fixable is what the `ems fix` it names fixes. A subprocess on a real folder each."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from sample_projects import ems

from ems.core import Config, analyse
from ems.core.incremental import IncrementalAnalyser
from ems.core.parsing import PIECEWISE_MIN_CHARS

SUPPRESSED = (
    "import os  # noqa: F401\n"
    "import sys  # noqa\n"
    "import json  # ems: ignore[F401]\n"
    "x = None == 1  # noqa: E711, F841\n"
)
SKIPPED = "# ems: skip-file\nimport re\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "a.py").write_text(SUPPRESSED)
    (tmp_path / "b.py").write_text(SKIPPED)
    return tmp_path


def _found(result: subprocess.CompletedProcess[str]) -> list[tuple[str, int, str]]:
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return sorted((f["path"], f["line"], f["code"]) for f in json.loads(result.stdout))


def test_every_suppression_comment_is_read_as_a_plain_comment(project: Path) -> None:
    # Read, the comments hide everything but one: F841 cannot be on line 4 (RUF100).
    assert _found(ems(project, "check", ".", "--format", "json")) == [("a.py", 4, "RUF100")]
    found = _found(ems(project, "check", ".", "--format", "json", "--ignore-noqa"))
    # Every finding the comments hid, the skipped file's too, and no RUF100: a suppression
    # that is not read suppresses nothing, and is not judged unused either.
    assert found == [
        ("a.py", 1, "F401"),
        ("a.py", 2, "F401"),
        ("a.py", 3, "F401"),
        ("a.py", 4, "E711"),
        ("b.py", 2, "F401"),
    ]


def test_the_cache_keeps_the_two_readings_apart(project: Path) -> None:
    """Results cached under one reading are not shown under the other (the settings'
    fingerprint names the option)."""
    for _ in range(2):
        assert len(_found(ems(project, "check", ".", "--format", "json", "--ignore-noqa"))) == 5
        assert _found(ems(project, "check", ".", "--format", "json")) == [("a.py", 4, "RUF100")]


def test_the_setting_and_an_inline_config_do_the_same(project: Path) -> None:
    by_option = _found(ems(project, "check", ".", "--no-cache", "--format", "json", "--ignore-noqa"))
    inline = _found(
        ems(project, "check", ".", "--no-cache", "--format", "json", "--config", "ignore-noqa = true")
    )
    (project / "ems.toml").write_text("ignore-noqa = true\n")
    by_file = _found(ems(project, "check", ".", "--no-cache", "--format", "json"))
    assert by_option == inline == by_file
    assert len(by_file) == 5
    shown = ems(project, "check", ".", "--show-settings", "--format", "json")
    assert json.loads(shown.stdout)["ignore-noqa"] is True


def test_a_wrong_value_is_a_clear_error(project: Path) -> None:
    (project / "ems.toml").write_text('ignore-noqa = "yes"\n')
    done = ems(project, "check", ".")
    assert done.returncode == 2
    assert "ignore-noqa" in done.stderr


def test_the_fix_command_named_fixes_what_the_check_counted(project: Path) -> None:
    summary = ems(project, "check", ".", "--no-cache", "--ignore-noqa").stdout
    assert "[*] 4 fixable with `ems fix --ignore-noqa`." in summary, summary
    fixed = ems(project, "fix", ".", "--ignore-noqa")
    assert fixed.returncode in (0, 1), fixed.stderr
    assert "Fixed 4 findings in 2 files" in fixed.stdout, fixed.stdout
    remaining = _found(ems(project, "check", ".", "--no-cache", "--format", "json", "--ignore-noqa"))
    assert remaining == [("a.py", 1, "E711")]  # `x = None == 1`: E711's fix is unsafe
    # Read again, the comment left on that line hides it, and one of its codes is unused.
    assert _found(ems(project, "check", ".", "--no-cache", "--format", "json")) == [("a.py", 1, "RUF100")]


def test_the_unsafe_hint_names_both_options(project: Path) -> None:
    summary = ems(project, "check", ".", "--no-cache", "--ignore-noqa", "--select", "E711").stdout
    assert "can be enabled with `ems fix --ignore-noqa --unsafe-fixes`" in summary, summary


def test_add_noqa_refuses_it(project: Path) -> None:
    done = ems(project, "check", ".", "--add-noqa", "--ignore-noqa")
    assert done.returncode == 2
    assert "--add-noqa cannot be combined with --ignore-noqa" in done.stderr
    assert (project / "a.py").read_text() == SUPPRESSED


def test_the_editors_analysis_and_a_huge_module_read_it_too() -> None:
    """The language server's incremental analysis (after an edit) and the piecewise analysis
    of a huge module apply the setting as a whole analysis does."""
    config = Config(ignore_noqa=True)
    whole = analyse(SUPPRESSED, "a.py", config)
    assert sorted(f.code for f in whole.findings) == ["E711", "F401", "F401", "F401"]
    analyser = IncrementalAnalyser()
    analyser.analyse(SUPPRESSED, "a.py", config)
    edited = SUPPRESSED + "y = 2  # noqa\n"
    assert analyser.analyse(edited, "a.py", config).findings == analyse(edited, "a.py", config).findings
    assert analyser.analyse(SKIPPED, "b.py", config).findings == analyse(SKIPPED, "b.py", config).findings
    assert [f.code for f in analyse(SKIPPED, "b.py", config).findings] == ["F401"]
    filler = "def f{0}():\n    return {0}\n"
    huge = SUPPRESSED + "".join(filler.format(i) for i in range(PIECEWISE_MIN_CHARS // 20))
    assert len(huge) >= PIECEWISE_MIN_CHARS
    in_pieces = analyse(huge, "h.py", config)
    assert "pieces" in in_pieces.timings  # analysed a piece at a time, not whole
    assert [f.code for f in in_pieces.findings] == ["F401", "F401", "F401", "E711"]
    assert [f.code for f in analyse(huge, "h.py", Config()).findings] == ["RUF100"]


@pytest.mark.asyncio
async def test_the_editor_shows_what_the_comments_hide_and_offers_no_suppression(tmp_path: Path) -> None:
    """With the setting on, the language server reports the suppressed finding, still offers
    its fix, and no "Suppress … (# noqa)": such a comment would not hide it."""
    from lsprotocol import types as lsp
    from server_fixtures import open_document, running_server, wait_for_diagnostics

    async def suppress_offers(root: Path) -> tuple[list[str], list[str]]:
        async with running_server(root) as client:
            uri = open_document(client, root / "m.py", "import os  # noqa: E711\n")
            diagnostics = await wait_for_diagnostics(client, uri, 1)
            (f401,) = [d for d in diagnostics if d.code == "F401"]
            context = lsp.CodeActionContext(diagnostics=[f401])
            listed = await client.text_document_code_action_async(
                lsp.CodeActionParams(lsp.TextDocumentIdentifier(uri), f401.range, context)
            )
            titles = [a.title for a in listed or [] if isinstance(a, lsp.CodeAction)]
            return [str(d.code) for d in diagnostics], titles

    (tmp_path / "read").mkdir()
    codes, titles = await suppress_offers(tmp_path / "read")
    assert sorted(codes) == ["F401", "RUF100"]  # the E711 in the comment suppresses nothing
    assert any(t.startswith("Suppress F401") for t in titles), titles
    (tmp_path / "ignored").mkdir()
    (tmp_path / "ignored" / "ems.toml").write_text("ignore-noqa = true\n")
    codes, titles = await suppress_offers(tmp_path / "ignored")
    assert codes == ["F401"]
    assert any("(F401)" in t for t in titles), titles  # the fix
    assert not any(t.startswith("Suppress") for t in titles), titles


def test_the_dashboard_refuses_a_suppression_that_would_not_hide_the_finding(project: Path) -> None:
    from ems.fixes.preview import suppress_patch

    report = analyse(SKIPPED, "b.py", Config(ignore_noqa=True))
    fingerprint = report.findings[0].fingerprint
    (project / "ems.toml").write_text("ignore-noqa = true\n")
    with pytest.raises(ValueError, match="ignore-noqa"):
        suppress_patch(project, "b.py", fingerprint)
    (project / "ems.toml").unlink()
    (project / "c.py").write_text("import re\n")
    fingerprint = analyse("import re\n", "c.py").findings[0].fingerprint
    patch = suppress_patch(project, "c.py", fingerprint)
    assert patch is not None and patch.new == b"import re  # noqa: F401\n"
