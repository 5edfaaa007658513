"""`ems check --show-files` / `--show-settings` as a subprocess: what a check would analyse,
and the settings that apply to a file, taken from the same discovery and resolver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def ems(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, text=True)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text(
        'select = ["F", "E7"]\nextend-exclude = ["migrations"]\n'
        '[per-file-ignores]\n"tests/*" = ["F401"]\n[severity]\nF841 = "error"\n'
    )
    (tmp_path / ".gitignore").write_text("generated_*.py\n")
    for rel in (
        "app.py",
        "tests/test_app.py",
        "migrations/m1.py",
        "generated_x.py",
        "notes.txt",
        "pkg/types.pyi",
    ):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("import os\nif os == None: pass\n")
    return tmp_path


def test_show_files_lists_what_a_check_analyses(project: Path) -> None:
    shown = ems("check", "--show-files", cwd=project)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines() == ["app.py", "pkg/types.pyi", "tests/test_app.py"]
    checked = ems("check", "--format", "json", cwd=project)
    assert sorted({f["path"] for f in json.loads(checked.stdout)}) == [
        "app.py",
        "pkg/types.pyi",
        "tests/test_app.py",
    ]
    named = ems("check", "--show-files", "migrations/m1.py", cwd=project)  # named: always checked
    assert named.stdout == "migrations/m1.py\n"


def test_show_settings_explains_a_files_rules(project: Path) -> None:
    shown = ems("check", "--show-settings", "--format", "json", "tests/test_app.py", cwd=project)
    assert shown.returncode == 0, shown.stderr
    settings = json.loads(shown.stdout)
    assert settings["settings file"] == str((project / "ems.toml").resolve())
    assert settings["per-file-ignores"] == {"tests/*": ["F401"]}
    assert settings["severity"] == {"F841": "error"}
    assert "F401" not in settings["rules enabled"] and "F841" in settings["rules enabled"]
    assert not any(code.startswith("B") for code in settings["rules enabled"])
    app = json.loads(ems("check", "--show-settings", "--format", "json", "app.py", cwd=project).stdout)
    assert "F401" in app["rules enabled"]
    text = ems("check", "--show-settings", "--extend-select", "B006", "app.py", cwd=project).stdout
    assert 'extend-select     = ["B006"]' in text.splitlines()


def test_bad_input_is_a_usage_error(project: Path) -> None:
    assert ems("check", "--show-files", "nope", cwd=project).returncode == 2
    assert ems("check", "--show-settings", "nope.py", cwd=project).returncode == 2
    assert ems("check", "--show-settings", "--select", "ZZ9", "app.py", cwd=project).returncode == 2
    (project / "ems.toml").write_text('selekt = ["F"]\n')
    bad = ems("check", "--show-files", cwd=project)
    assert bad.returncode == 2 and "selekt" in bad.stderr
