"""`unfixable` / `--unfixable` / `--fixable` through the `ems` command: a rule kept out of
fixing is reported without `[*]`, counted nowhere as fixable, and left alone by `ems fix`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_projects import ems

TEXT = 'import os\nprint(f"x")\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F401", "F541"]\nunfixable = ["F401"]\n')
    (tmp_path / "a.py").write_text(TEXT)
    return tmp_path


def test_check_marks_only_the_fixable_rules(project: Path) -> None:
    out = ems(project, "check", "--no-source", ".").stdout
    assert "a.py:1:8: F401 `os` imported but unused\n" in out  # no [*]
    assert "a.py:2:7: F541 f-string without any placeholders [*]" in out
    assert "[*] 1 fixable with `ems fix`." in out
    findings = {f["code"]: f for f in json.loads(ems(project, "check", "--format", "json", ".").stdout)}
    assert findings["F401"]["fix"] is None
    assert findings["F541"]["fix"]["applied"] is True


def test_fix_applies_what_check_counted_and_leaves_the_unfixable(project: Path) -> None:
    result = ems(project, "fix", ".")
    assert (project / "a.py").read_text() == 'import os\nprint("x")\n'
    assert "Fixed 1" in result.stdout + result.stderr
    again = ems(project, "check", "--no-source", ".")
    assert again.returncode == 1 and "F401" in again.stdout and "[*]" not in again.stdout


def test_command_line_options_layer_over_the_file(project: Path) -> None:
    out = ems(project, "check", "--no-source", "--unfixable", "F541", ".").stdout
    assert "[*]" not in out and "No fixes available" not in out
    ems(project, "fix", "--unfixable", "F541", ".")
    assert (project / "a.py").read_text() == TEXT
    # --fixable replaces the file's list, but the file's unfixable still holds
    ems(project, "fix", "--fixable", "F", ".")
    assert (project / "a.py").read_text() == 'import os\nprint("x")\n'


def test_a_wrong_code_on_the_command_line_exits_2(project: Path) -> None:
    result = ems(project, "check", "--unfixable", "X9", ".")
    assert result.returncode == 2
    assert "--unfixable: unknown rule code or prefix 'X9'" in result.stderr


def test_show_settings_reports_them(project: Path) -> None:
    result = ems(project, "check", "--show-settings", "--format", "json", "a.py")
    settings = json.loads(result.stdout)
    assert settings["unfixable"] == ["F401"] and settings["fixable"] == ["ALL"]
