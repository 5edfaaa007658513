"""`--force-exclude` / `force-exclude = true`: exclusions apply to files named on the command
line, as pre-commit names them (a subprocess; the shipped hooks' own command lines)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from sample_projects import ems

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F401"]\nextend-exclude = ["migrations"]\n')
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "m1.py").write_text("import os\n")
    (tmp_path / "a.py").write_text("import sys\n")
    return tmp_path


def _paths(result: subprocess.CompletedProcess[str]) -> set[str]:
    return {f["path"] for f in json.loads(result.stdout)}


def test_a_named_excluded_file_is_checked_unless_forced(project: Path) -> None:
    named = ("migrations/m1.py", "a.py")
    assert _paths(ems(project, "check", "--format", "json", *named)) == {"migrations/m1.py", "a.py"}
    forced = ems(project, "check", "--format", "json", "--force-exclude", *named)
    assert forced.returncode == 1 and _paths(forced) == {"a.py"}
    shown = ems(project, "check", "--show-files", "--force-exclude", *named).stdout.split()
    assert shown == ["a.py"]


def test_the_setting_in_the_file_does_the_same(project: Path) -> None:
    (project / "ems.toml").write_text(
        'select = ["F401"]\nextend-exclude = ["migrations"]\nforce-exclude = true\n'
    )
    result = ems(project, "check", "--format", "json", "migrations/m1.py")
    assert result.returncode == 0 and json.loads(result.stdout) == []
    settings = json.loads(ems(project, "check", "--show-settings", "--format", "json", "a.py").stdout)
    assert settings["force-exclude"] is True


def test_fix_leaves_a_forced_exclusion_alone(project: Path) -> None:
    ems(project, "fix", "--force-exclude", "migrations/m1.py", "a.py")
    assert (project / "migrations" / "m1.py").read_text() == "import os\n"
    assert (project / "a.py").read_text() == ""


def _stdin(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ems", *args], cwd=project, input="import os\n", capture_output=True, text=True
    )


def test_stdin_named_into_an_exclusion_is_reported_clean_and_passed_through(project: Path) -> None:
    checked = _stdin(
        project, "check", "--format", "json", "--force-exclude", "--stdin-filename", "migrations/x.py", "-"
    )
    assert checked.returncode == 0 and json.loads(checked.stdout) == []
    fixed = _stdin(project, "fix", "--force-exclude", "--stdin-filename", "migrations/x.py", "-")
    assert fixed.returncode == 0 and fixed.stdout == "import os\n"
    unforced = _stdin(project, "fix", "--stdin-filename", "migrations/x.py", "-")
    assert unforced.stdout == ""


def test_the_shipped_pre_commit_hooks_skip_excluded_files(project: Path) -> None:
    hooks = (REPO / ".pre-commit-hooks.yaml").read_text()
    entries = [line.split("entry:", 1)[1].strip() for line in hooks.splitlines() if "entry:" in line]
    assert len(entries) == 2
    for entry in entries:
        command = shlex.split(entry)
        assert command[0] == "ems"
        result = ems(project, *command[1:], "migrations/m1.py")
        assert result.returncode == 0, (entry, result.stdout, result.stderr)
    assert (project / "migrations" / "m1.py").read_text() == "import os\n"
