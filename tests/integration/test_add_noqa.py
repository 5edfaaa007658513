"""`ems check --add-noqa` as a subprocess: every finding it can silence is silenced, the rest
are named, and the check then passes on what was silenced."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def ems(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ems", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F", "E7", "E9", "RUF100"]\n')
    (tmp_path / "a.py").write_text("import os, sys  # keep\nif os == None: pass\n")
    (tmp_path / "b.py").write_bytes(b"\xef\xbb\xbfimport json\r\nz = 1  # noqa: E711\r\n")
    return tmp_path


def test_findings_are_silenced_and_the_next_check_passes_on_them(project: Path) -> None:
    added = ems("check", "--add-noqa", ".", cwd=project)
    assert added.stdout.splitlines() == [
        "added # noqa for 2 in a.py",
        "added # noqa for 1 in b.py",
        "Silenced 3 findings in 2 files; 1 remaining.",
    ]
    assert added.stderr == "b.py:2:8: RUF100 not silenced: an unused suppression: `ems fix` removes it\n"
    assert added.returncode == 1  # a finding remains
    assert (
        project / "a.py"
    ).read_text() == "import os, sys  # keep  # noqa: F401\nif os == None: pass  # noqa: E711\n"
    assert (
        project / "b.py"
    ).read_bytes() == b"\xef\xbb\xbfimport json  # noqa: F401\r\nz = 1  # noqa: E711\r\n"
    check = ems("check", "--no-source", ".", cwd=project)
    reported = [line for line in check.stdout.splitlines() if ": " in line]
    assert check.returncode == 1 and reported[0].startswith("b.py:2:8: RUF100")
    assert ems("fix", ".", cwd=project).returncode == 0  # removes the unused one
    again = ems("check", "--add-noqa", ".", cwd=project)
    assert again.returncode == 0 and again.stdout == "Silenced 0 findings in 0 files; 0 remaining.\n"


def test_a_file_that_does_not_parse_is_named_and_left_alone(project: Path) -> None:
    (project / "c.py").write_bytes(b"def (:\n")
    result = ems("check", "--add-noqa", "-q", "c.py", cwd=project)
    assert result.returncode == 1 and result.stdout == ""
    assert (
        result.stderr
        == "c.py:1:5: E999 not silenced: the file does not parse, cannot be read, or its analysis failed\n"
    )
    assert (project / "c.py").read_bytes() == b"def (:\n"


def test_with_new_since_only_new_findings_are_silenced(project: Path) -> None:
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=project, check=True, capture_output=True)

    git("init", "-q")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "--allow-empty", "-m", "empty")
    git("add", "a.py", "ems.toml")
    git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "a")
    (project / "b.py").unlink()
    (project / "a.py").write_text("import os, sys  # keep\nif os == None: pass\nimport re\n")
    result = ems("check", "--add-noqa", "--new-since", "HEAD", ".", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (
        project / "a.py"
    ).read_text() == "import os, sys  # keep\nif os == None: pass\nimport re  # noqa: F401\n"


def test_stdin_and_watch_are_refused(project: Path) -> None:
    for args in (["-"], ["--watch", "."]):
        result = ems("check", "--add-noqa", *args, cwd=project)
        assert result.returncode == 2 and "--add-noqa" in result.stderr
