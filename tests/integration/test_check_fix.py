"""`ems check --fix` and `ems check --unsafe-fixes` through a subprocess: the fixes are
those `ems fix` applies, the report is what remains, and the counts say what the fix does."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sample_projects import ems

TEXT = 'import os\nx = None\nif x == None:\n    print(f"hi")\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "p"
    root.mkdir()
    (root / "ems.toml").write_text('select = ["F401", "E711", "F541", "E999"]\n')
    (root / "a.py").write_text(TEXT)
    (root / "broken.py").write_text("def f(:\n")
    return root


def test_check_fix_applies_what_ems_fix_applies_and_reports_the_rest(project: Path, tmp_path: Path) -> None:
    twin = tmp_path / "twin"
    shutil.copytree(project, twin)
    ems(twin, "fix", ".")
    result = ems(project, "check", "--fix", "--no-source", ".")
    assert result.returncode == 1
    assert (
        (project / "a.py").read_text()
        == (twin / "a.py").read_text()
        == 'x = None\nif x == None:\n    print("hi")\n'
    )
    assert (project / "broken.py").read_text() == "def f(:\n"
    assert "Fixed 2 findings in 1 file." in result.stderr
    lines = [line for line in result.stdout.splitlines() if line]
    assert lines[0] == "a.py:2:4: E711 comparison to None should be `is`, not `==`"
    assert any(line.startswith("broken.py:1:") and "E999" in line for line in lines)
    assert "Found 2 errors in 2 files (2 checked)." in result.stdout


def test_unsafe_fixes_counts_what_the_unsafe_fix_run_fixes(project: Path, tmp_path: Path) -> None:
    result = ems(project, "check", "--unsafe-fixes", "--no-source", "a.py")
    assert "[*] 3 fixable with `ems fix --unsafe-fixes`." in result.stdout
    assert result.stdout.count("[*]") == 4  # three findings, and the summary
    plain = ems(project, "check", "--no-source", "a.py")
    assert "[*] 2 fixable with `ems fix` (1 hidden fix" in plain.stdout
    fixed = ems(project, "fix", "--unsafe-fixes", "a.py")
    assert "Fixed 3 findings in 1 file; 0 remaining." in fixed.stdout


def test_check_fix_with_unsafe_fixes_and_a_machine_format_keeps_stdout_clean(project: Path) -> None:
    result = ems(project, "check", "--fix", "--unsafe-fixes", "--format", "json", "a.py")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert (project / "a.py").read_text() == 'x = None\nif x is None:\n    print("hi")\n'
    assert "Fixed 3 findings in 1 file." in result.stderr


def test_check_fix_refuses_stdin_add_noqa_and_new_since(project: Path) -> None:
    for extra in (["-"], ["--add-noqa", "."], ["--new-since", "HEAD", "."]):
        result = ems(project, "check", "--fix", *extra)
        assert result.returncode == 2, extra
        assert "--fix needs files or folders" in result.stderr
    assert (project / "a.py").read_text() == TEXT
