"""Cached re-export judgements after edits, and re-exports across top-level packages.

A cached F401 fixability depends on other files (``ems.fixes.reexports``): a warm ``ems
check`` re-asks only what the changed files can have changed (``ems.fixes.importindex``).
Whatever the edits, a warm run must print what ``--no-cache`` prints, and so must the next
warm run, from the rows and the import index the first one stored. Each case is a real git
repository; each step edits, adds, removes or renames files the way a user would.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from checkout_ems import run_ems, run_python

REPO = Path(__file__).resolve().parents[2]


def _write(path: Path, text: str) -> None:
    """Write ``path`` with a later mtime than it had, even on a coarse clock."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    later = max(before + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(later, later))


def _git_repo(root: Path, files: dict[str, str]) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x"}
    env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x"}
    for name, text in files.items():
        _write(root / name, text)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def _findings(root: Path, *options: str) -> list[dict[str, object]]:
    proc = run_ems("check", ".", "--format", "json", *options, cwd=root)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def _fixable(findings: list[dict[str, object]]) -> dict[tuple[str, str], bool]:
    """(file, imported name) -> whether its F401 has a fix, for every F401 finding."""
    found = {}
    for f in findings:
        if f["code"] == "F401":
            name = re.search(r"`(.*)`", str(f["message"])).group(1)  # type: ignore[union-attr]
            found[(str(f["path"]), name)] = f["fix"] is not None
    return found


LAYOUT = {
    "pkg/__init__.py": "",
    "pkg/compat.py": "import os\nimport sys\nimport json\n",
    "pkg/api.py": "from .compat import os\n\nSEP = os.sep\n",
    "pkg/sub/__init__.py": "",
    "pkg/sub/models.py": "X = 1\n",
    "main.py": "print(1)\n",
    "pkg_b/__init__.py": "",
    "pkg_b/mod.py": "Y = 2\n",
}

Step = Callable[[Path], None]


def _rename(old: str, new: str) -> Step:
    return lambda root: (root / old).rename(root / new)


def _delete(name: str) -> Step:
    return lambda root: (root / name).unlink()


def _edit(name: str, text: str) -> Step:
    return lambda root: _write(root / name, text)


CASES: dict[str, tuple[list[Step], dict[tuple[str, str], bool]]] = {
    # Each case: the steps, then which of compat's names end with a fix (not re-exported).
    "an importer added": (
        [_edit("pkg/sub/models.py", "from pkg.compat import sys\n\nX = sys.argv\n")],
        {("pkg/compat.py", "os"): False, ("pkg/compat.py", "sys"): False, ("pkg/compat.py", "json"): True},
    ),
    "a new importer file, then removed": (
        [_edit("pkg/new.py", "from .compat import json\n\nJ = json\n"), _delete("pkg/new.py")],
        {("pkg/compat.py", "os"): False, ("pkg/compat.py", "sys"): True, ("pkg/compat.py", "json"): True},
    ),
    "an importer edited to stop importing the name": (
        [_edit("pkg/api.py", "from .compat import sys\n\nSEP = sys.argv\n")],
        {("pkg/compat.py", "os"): True, ("pkg/compat.py", "sys"): False, ("pkg/compat.py", "json"): True},
    ),
    "the re-exporting module itself edited": (
        [
            _edit("pkg/api.py", "from .compat import os, pathlib\n\nSEP = os.sep, pathlib\n"),
            _edit("pkg/compat.py", "import os\nimport pathlib\n"),
        ],
        {("pkg/compat.py", "os"): False, ("pkg/compat.py", "pathlib"): False},
    ),
    "the importer deleted": (
        [_delete("pkg/api.py")],
        {("pkg/compat.py", "os"): True, ("pkg/compat.py", "sys"): True, ("pkg/compat.py", "json"): True},
    ),
    "the importer renamed, then the re-exporting module renamed": (
        [_rename("pkg/api.py", "pkg/client.py"), _rename("pkg/compat.py", "pkg/compat2.py")],
        {("pkg/compat2.py", "os"): True, ("pkg/compat2.py", "sys"): True, ("pkg/compat2.py", "json"): True},
    ),
    "a module importing across top-level packages": (
        [
            _edit("main.py", "from pkg.compat import json\n\nprint(json)\n"),
            _edit("pkg_b/mod.py", "from pkg.compat import sys\n\nY = sys\n"),
        ],
        {("pkg/compat.py", "os"): False, ("pkg/compat.py", "sys"): False, ("pkg/compat.py", "json"): False},
    ),
    "a package stops being one": (
        [_delete("pkg/__init__.py"), _delete("pkg/sub/__init__.py")],
        # pkg/api.py's ``from .compat import os`` now names a top-level ``compat``, which
        # pkg/compat.py (outside any package) is: still a re-export.
        {("pkg/compat.py", "os"): False, ("pkg/compat.py", "sys"): True, ("pkg/compat.py", "json"): True},
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_warm_run_after_edits_says_what_a_cold_run_says(tmp_path: Path, case: str) -> None:
    steps, expected = CASES[case]
    _git_repo(tmp_path, LAYOUT)
    first = _findings(tmp_path)  # fills the cache and the import index
    assert _fixable(first)[("pkg/compat.py", "os")] is False  # api.py imports it
    assert _fixable(first)[("pkg/compat.py", "sys")] is True
    for step in steps:
        step(tmp_path)
        warm = _findings(tmp_path)
        cold = _findings(tmp_path, "--no-cache")
        assert warm == cold, case
    assert _findings(tmp_path) == cold, case  # again, from what the warm runs stored
    got = {key: fix for key, fix in _fixable(cold).items() if key in expected}
    assert got == expected


def test_fix_keeps_an_import_another_top_level_package_or_module_imports(tmp_path: Path) -> None:
    """``main.py`` next to ``pkg/`` and a sibling package ``pkg_b`` import names from
    ``pkg/compat.py``: ``ems fix`` removes only the name nobody imports, and both still run."""
    files = dict(LAYOUT)
    files["pkg/api.py"] = "X = 1\n"
    files["main.py"] = "from pkg.compat import os\n\nprint(os.sep)\n"
    files["pkg_b/mod.py"] = "from pkg.compat import sys\n\nprint(sys.platform)\n"
    _git_repo(tmp_path, files)
    fixable = _fixable(_findings(tmp_path))
    assert fixable[("pkg/compat.py", "os")] is False
    assert fixable[("pkg/compat.py", "sys")] is False
    assert fixable[("pkg/compat.py", "json")] is True
    assert _fixable(_findings(tmp_path, "--no-cache")) == fixable
    fixed = run_ems("fix", ".", cwd=tmp_path)
    assert "Fixed 1 finding" in fixed.stdout, fixed.stdout + fixed.stderr
    assert (tmp_path / "pkg" / "compat.py").read_text() == "import os\nimport sys\n"
    for module in ("main", "pkg_b.mod"):
        ran = run_python(f"import {module}", tmp_path)
        assert ran.returncode == 0, ran.stderr


def test_a_check_of_one_folder_judges_with_the_whole_project(tmp_path: Path) -> None:
    """A check of ``pkg/`` alone still counts ``main.py`` (outside what is checked, inside
    the project) as an importer, cold and warm, and after ``main.py`` changes."""
    files = dict(LAYOUT)
    files["pkg/api.py"] = "X = 1\n"
    files["main.py"] = "from pkg.compat import os\n\nprint(os.sep)\n"
    _git_repo(tmp_path, files)

    def fixable(*options: str) -> dict[tuple[str, str], bool]:
        proc = run_ems("check", "pkg", "--format", "json", *options, cwd=tmp_path)
        return _fixable(json.loads(proc.stdout))

    assert fixable()[("pkg/compat.py", "os")] is False
    assert fixable() == fixable("--no-cache")
    _write(tmp_path / "main.py", "print(2)\n")
    assert fixable()[("pkg/compat.py", "os")] is True
    assert fixable() == fixable("--no-cache")
