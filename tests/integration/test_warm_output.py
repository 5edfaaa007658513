"""A warm ``ems check`` prints exactly what a cold one prints, without reading unchanged files.

Warm text reports take their source excerpts from the result cache (``FileResult.excerpts``)
instead of the files, so these tests pin the output byte for byte against ``--no-cache``
on a small project with the awkward cases: tabs, CRLF, a PEP 263 encoding, undecodable
bytes, control and bidi characters, a syntax error and a nested folder.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

import ems.runtime.scan as project_mod
import ems.store.cache as cache_mod
from ems.cli.main import main

FILES: dict[str, bytes] = {
    "a.py": b'name = "x"\nprint(f"hello")\nif name == None:\n\tpass\n',
    "tabs.py": b'def f(x):\n\tif x == None:\n\t\treturn f"tab"\n\treturn x\n',
    "crlf.py": b'import os\r\nvalue = f"crlf"\r\nif value == None:\r\n    pass\r\n',
    "latin.py": b'# -*- coding: latin-1 -*-\nname = f"caf\xe9"\nif name == None:\n    pass\n',
    "undecodable.py": b'name = "\xff\xfe"\nif name == None:\n    pass\n',
    "bidi.py": 'text = "\u202eabc"; flag = text == None\nbell = f"\x07"\n'.encode(),
    "wide.py": 'label = "é中🙂"; check = label == None\nimport sys\n'.encode(),
    "syntax.py": b"def broken(:\n    pass\n",
    "clean.py": b'name = "x"\nprint(f"hello {name}")\n',
    "pkg/__init__.py": b"",
    "pkg/mod.py": b'import os\nimport sys\n\n\ndef g():\n    unused = 1\n    return f"{os.sep}"\n',
    "pkg/multi.py": b'value = (\n    1\n    == None\n)\nprint(f"""\nnone\n""")\n',
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, data in FILES.items():
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    (tmp_path / "ems.toml").write_text("# test project: ems defaults\n")
    monkeypatch.chdir(tmp_path)
    # Trust stats at once (the real window is 2 s after a write): the warm path is the subject.
    monkeypatch.setattr(cache_mod, "RACY_NS", 0)
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["check", *args])
    return code, capsys.readouterr().out


def _no_reads(monkeypatch: pytest.MonkeyPatch, log: Path) -> Callable[[], list[str]]:
    """Make reading a file through the scan visible: each read is appended to ``log``, so
    reads in a forked child (a few changed files are analysed in one) count too."""
    original = project_mod._read

    def counting(path: Path | str) -> tuple[bytes | str, os.stat_result | None]:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(f"{path}\n")
        return original(path)

    monkeypatch.setattr(project_mod, "_read", counting)
    return lambda: log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.mark.parametrize(
    "options",
    [
        (),
        ("--color", "always"),
        ("--statistics",),
        ("--no-source",),
        ("--jobs", "1", "--quiet"),
    ],
)
def test_warm_text_output_is_byte_identical_to_cold(
    project: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    options: tuple[str, ...],
) -> None:
    cold_code, cold = _run(capsys, *options, "--no-cache", ".")
    assert cold_code == 1 and "E711" in cold and "E999" in cold
    fill_code, fill = _run(capsys, *options, ".")
    reads = _no_reads(monkeypatch, project / "reads.log")
    warm_code, warm = _run(capsys, *options, ".")
    assert (fill_code, fill) == (cold_code, cold)
    assert (warm_code, warm) == (cold_code, cold)
    assert reads() == [], "a warm text report must not read unchanged files"


def test_excerpts_show_the_awkward_lines(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run(capsys, ".")
    _, warm = _run(capsys, ".")
    assert "\\u202e" in warm  # bidi override escaped, not echoed
    assert '    2 | value = f"crlf"' in warm  # no stray \r from CRLF files
    assert 'name = f"café"' in warm  # decoded with the file's own encoding
    assert "\ufffd" in warm  # undecodable bytes shown replaced


def test_one_changed_file_warm_equals_cold(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _run(capsys, ".")
    changed = project / "pkg" / "mod.py"
    changed.write_bytes(changed.read_bytes() + b'\nextra = f"x"\nif extra == None:\n\tpass\n')
    reads = _no_reads(monkeypatch, project / "reads.log")
    _, warm = _run(capsys, ".")
    assert [Path(r).name for r in reads()] == ["mod.py"]
    monkeypatch.undo()
    monkeypatch.chdir(project)
    _, cold = _run(capsys, "--no-cache", ".")
    assert warm == cold
    assert "extra == None" in warm


def test_a_json_run_fills_the_cache_for_a_text_run(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, cold_json = _run(capsys, "--no-cache", "--format", "json", ".")
    _, cold_text = _run(capsys, "--no-cache", ".")
    _, first_json = _run(capsys, "--format", "json", ".")
    reads = _no_reads(monkeypatch, project / "reads.log")
    _, warm_text = _run(capsys, ".")
    _, warm_json = _run(capsys, "--format", "json", ".")
    assert first_json == warm_json == cold_json
    assert warm_text == cold_text
    assert reads() == []


def test_a_config_change_is_seen_by_a_warm_text_run(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(capsys, ".")
    (project / "ems.toml").write_text('ignore = ["E711"]\n')
    _, warm = _run(capsys, ".")
    _, cold = _run(capsys, "--no-cache", ".")
    assert warm == cold and "E711" not in warm


def test_a_warm_text_run_prints_cached_views_without_decoding_rows(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each file's text is kept with its row: a warm run neither parses nor renders it."""
    _, cold = _run(capsys, "--no-cache", ".")
    _run(capsys, ".")
    calls: list[str] = []
    real = cache_mod.parse_payload

    def counting(payload: str) -> cache_mod.Parsed:
        calls.append(payload)
        return real(payload)

    monkeypatch.setattr(cache_mod, "parse_payload", counting)
    code, warm = _run(capsys, ".")
    assert (code, warm) == (1, cold)
    assert calls == []


def test_switching_text_options_never_shows_another_options_view(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = {
        options: _run(capsys, *options, "--no-cache", ".")[1]
        for options in [(), ("--color", "always"), ("--no-source",)]
    }
    for _ in range(2):
        for options, text in expected.items():
            assert _run(capsys, *options, ".")[1] == text, options


@pytest.mark.parametrize("options", [("--color", "always"), ("--no-source",)])
def test_other_text_options_leave_the_plain_views_alone(
    project: Path, capsys: pytest.CaptureFixture[str], options: tuple[str, ...]
) -> None:
    """A terminal run between two piped runs must not make every row be rewritten twice."""
    _run(capsys, ".")
    database = project / ".ems" / "ems.db"
    with sqlite3.connect(database) as conn:
        before = sorted(conn.execute("SELECT path, renderer, view FROM result_views"))
    _run(capsys, *options, ".")
    with sqlite3.connect(database) as conn:
        after = sorted(conn.execute("SELECT path, renderer, view FROM result_views"))
    assert [row for row in after if row in before] == before  # kept as they were
    assert {row[1] for row in after if row not in before} != set()  # the other rendering: its own


def test_a_view_from_other_rendering_code_is_rendered_again(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import ems.cli.formats as formats

    _, cold = _run(capsys, "--no-cache", ".")
    _run(capsys, ".")
    # Stored views now carry another key: as after an upgrade of the text format.
    monkeypatch.setattr(formats, "_module_digest", lambda: "changed")
    with sqlite3.connect(project / ".ems" / "ems.db") as conn:
        stale = conn.execute(
            "SELECT count(*) FROM result_views WHERE renderer NOT LIKE 'text:changed:%'"
        ).fetchone()
    assert stale[0] > 0
    assert _run(capsys, ".")[1] == cold
    with sqlite3.connect(project / ".ems" / "ems.db") as conn:
        keys = {row[0].split(":")[1] for row in conn.execute("SELECT renderer FROM result_views")}
    assert "changed" in keys  # re-rendered and stored under the new key
    assert _run(capsys, ".")[1] == cold


def test_a_malformed_view_falls_back_to_rendering_the_report(project: Path) -> None:
    from ems.cli.formats import TextRenderer, render_text
    from ems.core.analyse import analyse
    from ems.core.config import Config
    from ems.core.registry import load_rules
    from ems.runtime.scan import FileResult

    rules = load_rules()
    data = FILES["a.py"]
    report = analyse(data, "a.py", Config(), rules)
    plain = FileResult(Path("a.py"), "a.py", report, data)
    broken = replace(plain, view="not a view")
    renderer = TextRenderer(colour=False)
    assert renderer.block(broken) == renderer.block(plain) == render_text([plain], colour=False)
    assert "E711" in renderer.block(broken)
