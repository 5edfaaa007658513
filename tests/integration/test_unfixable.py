"""`unfixable` / `--unfixable` / `--fixable` through the `ems` command: a rule kept out of
fixing is reported without `[*]`, counted nowhere as fixable, and left alone by `ems fix`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TEXT = 'import os\nprint(f"x")\n'


def ems(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "FORCE_COLOR"}
    return subprocess.run(
        [sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F401", "F541"]\nunfixable = ["F401"]\n')
    (tmp_path / "a.py").write_text(TEXT)
    return tmp_path


def test_check_marks_only_the_fixable_rules(project: Path) -> None:
    out = ems("check", "--no-source", ".", cwd=project).stdout
    assert "a.py:1:8: F401 `os` imported but unused\n" in out  # no [*]
    assert "a.py:2:7: F541 f-string without any placeholders [*]" in out
    assert "[*] 1 fixable with `ems fix`." in out
    findings = {f["code"]: f for f in json.loads(ems("check", "--format", "json", ".", cwd=project).stdout)}
    assert findings["F401"]["fix"] is None
    assert findings["F541"]["fix"]["applied"] is True


def test_fix_applies_what_check_counted_and_leaves_the_unfixable(project: Path) -> None:
    result = ems("fix", ".", cwd=project)
    assert (project / "a.py").read_text() == 'import os\nprint("x")\n'
    assert "Fixed 1" in result.stdout + result.stderr
    again = ems("check", "--no-source", ".", cwd=project)
    assert again.returncode == 1 and "F401" in again.stdout and "[*]" not in again.stdout


def test_command_line_options_layer_over_the_file(project: Path) -> None:
    out = ems("check", "--no-source", "--unfixable", "F541", ".", cwd=project).stdout
    assert "[*]" not in out and "No fixes available" not in out
    ems("fix", "--unfixable", "F541", ".", cwd=project)
    assert (project / "a.py").read_text() == TEXT
    # --fixable replaces the file's list, but the file's unfixable still holds
    ems("fix", "--fixable", "F", ".", cwd=project)
    assert (project / "a.py").read_text() == 'import os\nprint("x")\n'


def test_a_wrong_code_on_the_command_line_exits_2(project: Path) -> None:
    result = ems("check", "--unfixable", "X9", ".", cwd=project)
    assert result.returncode == 2
    assert "--unfixable: unknown rule code or prefix 'X9'" in result.stderr


def test_show_settings_reports_them(project: Path) -> None:
    result = ems("check", "--show-settings", "--format", "json", "a.py", cwd=project)
    settings = json.loads(result.stdout)
    assert settings["unfixable"] == ["F401"] and settings["fixable"] == ["ALL"]
