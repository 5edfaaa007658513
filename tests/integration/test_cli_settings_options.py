"""Settings as command-line options, as a ruff user expects them: `--isolated`, `--exclude`,
`--extend-exclude`, `--[no-]respect-gitignore`, and `--exit-non-zero-on-fix` (a subprocess on
a real folder each)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sample_projects import ems

SOURCE = "import os\nx = None == 1\n"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text('[tool.ems]\nselect = ["E711"]\nextend-exclude = ["vendored"]\n')
    for name in ("a.py", "vendored/v.py", "generated/g.py", "build/b.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(SOURCE)
    (tmp_path / ".gitignore").write_text("generated/\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)  # .gitignore applies in a repository
    return tmp_path


def _found(result: subprocess.CompletedProcess[str]) -> set[tuple[str, str]]:
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return {(f["path"], f["code"]) for f in json.loads(result.stdout)}


def _check(root: Path, *options: str) -> set[tuple[str, str]]:
    return _found(ems(root, "check", ".", "--no-cache", "--format", "json", *options))


def test_the_settings_file_applies_by_default(project: Path) -> None:
    assert _check(project) == {("a.py", "E711")}


def test_isolated_reads_no_settings_file(project: Path) -> None:
    """The default selection and the default exclusions: F401 comes back, `vendored` is no
    longer left out, `build` (a default exclusion) and .gitignore's folder still are."""
    found = _check(project, "--isolated")
    assert found == {(p, c) for p in ("a.py", "vendored/v.py") for c in ("F401", "E711")}
    assert _check(project, "--isolated", "--select", "F401") == {("a.py", "F401"), ("vendored/v.py", "F401")}


def test_isolated_refuses_a_settings_file(project: Path) -> None:
    done = ems(project, "check", ".", "--isolated", "--config", "pyproject.toml")
    assert done.returncode == 2
    assert "--config cannot be used with --isolated" in done.stderr


def test_exclude_replaces_and_extend_exclude_adds(project: Path) -> None:
    # --exclude replaces the list, the defaults (`build`) included; extend-exclude still applies.
    assert _check(project, "--exclude", "a.py") == {("build/b.py", "E711")}
    assert _check(project, "--extend-exclude", "a.py") == set()
    # An empty --exclude clears the list, so only the file's extend-exclude is left.
    assert _check(project, "--exclude", "") == {("a.py", "E711"), ("build/b.py", "E711")}


def test_respect_gitignore_can_be_turned_off_and_on(project: Path) -> None:
    assert _check(project, "--no-respect-gitignore") == {("a.py", "E711"), ("generated/g.py", "E711")}
    (project / "pyproject.toml").write_text('[tool.ems]\nselect = ["E711"]\nrespect-gitignore = false\n')
    assert ("generated/g.py", "E711") in _check(project)
    assert ("generated/g.py", "E711") not in _check(project, "--respect-gitignore")


def test_show_files_follows_the_options(project: Path) -> None:
    shown = ems(project, "check", ".", "--show-files", "--isolated", "--extend-exclude", "vendored").stdout
    assert shown.split() == ["a.py"]


def test_fix_exits_non_zero_on_a_fix_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    done = ems(tmp_path, "fix", ".", "--select", "F401")
    assert done.returncode == 0 and (tmp_path / "a.py").read_text() == ""  # all fixed: success
    (tmp_path / "a.py").write_text("import os\n")
    done = ems(tmp_path, "fix", ".", "--select", "F401", "--exit-non-zero-on-fix")
    assert done.returncode == 1 and (tmp_path / "a.py").read_text() == ""
    done = ems(tmp_path, "fix", ".", "--select", "F401", "--exit-non-zero-on-fix")
    assert done.returncode == 0  # nothing left to fix


def test_fix_on_stdin_exits_non_zero_on_a_fix_only_when_asked(tmp_path: Path) -> None:
    def fix(*options: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "ems", "fix", "-", "--select", "F401", *options]
        return subprocess.run(command, cwd=tmp_path, input="import os\n", capture_output=True, text=True)

    assert (fix().returncode, fix().stdout) == (0, "")
    assert (fix("--exit-non-zero-on-fix").returncode, fix("--exit-non-zero-on-fix").stdout) == (1, "")


def test_check_fix_exits_non_zero_on_a_fix_only_when_asked(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text("import os\n")
    assert ems(tmp_path, "check", ".", "--select", "F401", "--fix").returncode == 0
    (tmp_path / "a.py").write_text("import os\n")
    done = ems(tmp_path, "check", ".", "--select", "F401", "--fix", "--exit-non-zero-on-fix")
    assert done.returncode == 1 and (tmp_path / "a.py").read_text() == ""
    assert "Fixed 1 finding in 1 file." in done.stderr
    (tmp_path / "a.py").write_text("import os\n")
    done = ems(tmp_path, "check", ".", "--select", "F401", "--fix", "--exit-non-zero-on-fix", "--exit-zero")
    assert done.returncode == 0  # --exit-zero wins


def test_exit_non_zero_on_fix_without_fix_is_refused(tmp_path: Path) -> None:
    done = ems(tmp_path, "check", ".", "--exit-non-zero-on-fix")
    assert done.returncode == 2 and "--exit-non-zero-on-fix needs --fix" in done.stderr


def test_config_sets_one_setting_inline_as_ruff_does(project: Path) -> None:
    """`--config 'KEY = VALUE'` replaces that setting of the file; the rest of the file holds
    (here its extend-exclude), and options such as --ignore still apply on top."""
    assert _check(project, "--config", 'select = ["F401"]') == {("a.py", "F401")}
    both = _check(project, "--config", 'select = ["F401", "E711"]', "--config", "extend-exclude = []")
    assert both == {(p, c) for p in ("a.py", "vendored/v.py") for c in ("F401", "E711")}
    assert _check(project, "--config", 'select = ["F401", "E711"]', "--ignore", "F401") == {("a.py", "E711")}
    extended = _check(project, "--isolated", "--config", 'extend-ignore = ["F401"]')
    assert extended == {("a.py", "E711"), ("vendored/v.py", "E711")}
    ignored = _check(project, "--config", 'per-file-ignores = {"a.py" = ["E711"]}')
    assert ignored == set()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (['select = ["X9"]'], "--config: key 'select': unknown rule code or prefix 'X9'"),
        (["color = 1"], "--config: unknown key 'color'"),
        (["select = ["], "neither a settings file nor a valid `KEY = VALUE` TOML setting"),
        (["missing.toml"], "--config: no such file: missing.toml"),
        (["pyproject.toml", "pyproject.toml"], "--config: one settings file only"),
    ],
)
def test_a_bad_config_value_is_a_usage_error(project: Path, values: list[str], message: str) -> None:
    done = ems(project, "check", ".", *[part for value in values for part in ("--config", value)])
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_config_file_is_used_for_every_file(project: Path) -> None:
    (project / "ci").mkdir()
    (project / "ci" / "strict.toml").write_text('select = ["F401"]\n')
    found = _check(project, "--config", "ci/strict.toml")
    assert found == {("a.py", "F401"), ("vendored/v.py", "F401")}  # the pyproject's exclusion is not read
    assert _check(project, "--config", "ci/strict.toml", "--config", 'select = ["E711"]') == {
        ("a.py", "E711"),
        ("vendored/v.py", "E711"),
    }
