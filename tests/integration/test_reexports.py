"""A module's imports that sibling modules import from it are re-exports: never removed.

The shape of requests' ``compat.py``: it imports names it never uses itself, and the other
modules of the package import them from it (relatively and absolutely).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from checkout_ems import run_ems, run_python

REPO = Path(__file__).resolve().parents[2]


def _package(root: Path) -> None:
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("from .api import get\n\n__all__ = ['get']\n")
    (pkg / "compat.py").write_text(
        "from json import dumps, loads\nfrom urllib.parse import urlparse\nimport os\n"
    )
    (pkg / "api.py").write_text(
        "from .compat import dumps, urlparse\n\n\ndef get(url):\n    return dumps(urlparse(url).path)\n"
    )
    (pkg / "sub").mkdir()
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "models.py").write_text("from pkg.compat import loads\n\nLOAD = loads\n")


def test_a_re_export_is_never_removed_and_the_package_still_imports(tmp_path: Path) -> None:
    _package(tmp_path)
    findings = json.loads(run_ems("check", ".", "--format", "json", cwd=tmp_path).stdout)
    compat = {
        re.search(r"`(.*)`", f["message"]).group(1): f for f in findings if f["path"] == "pkg/compat.py"
    }
    assert set(compat) == {"json.dumps", "json.loads", "urllib.parse.urlparse", "os"}
    for name in ("json.dumps", "json.loads", "urllib.parse.urlparse"):
        assert compat[name]["fix"] is None, name  # re-exported: no fix, safe or unsafe
    assert compat["os"]["fix"]["safety"] == "safe"
    for unsafe in ((), ("--unsafe-fixes",)):
        proc = run_ems("fix", ".", *unsafe, cwd=tmp_path)
        assert "Fixed 1 finding" in proc.stdout, proc.stdout + proc.stderr
        assert (tmp_path / "pkg" / "compat.py").read_text() == (
            "from json import dumps, loads\nfrom urllib.parse import urlparse\n"
        )
        imported = run_python("import pkg.api, pkg.sub.models; print(pkg.api.get('http://x/y'))", tmp_path)
        assert imported.returncode == 0, imported.stderr
        (tmp_path / "pkg" / "compat.py").write_text(
            "from json import dumps, loads\nfrom urllib.parse import urlparse\nimport os\n"
        )


def _git_repo(root: Path, files: dict[str, str]) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@x"}
    env |= {"GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@x"}
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    for args in (["init", "-q"], ["add", "."], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=root, check=True, env=env, capture_output=True)


def _edit(path: Path, text: str) -> None:
    """Rewrite ``path`` with a new mtime even on a coarse clock (the cache trusts stats)."""
    before = path.stat().st_mtime_ns
    path.write_text(text)
    later = max(before + 1_000_000_000, path.stat().st_mtime_ns)
    os.utime(path, ns=(later, later))


def _checked(root: Path, *options: str) -> tuple[list[dict[str, object]], str]:
    as_json = run_ems("check", ".", "--format", "json", *options, cwd=root)
    as_text = run_ems("check", ".", *options, cwd=root)
    assert as_json.returncode in (0, 1) and as_text.returncode in (0, 1), as_json.stderr + as_text.stderr
    return json.loads(as_json.stdout), as_text.stdout


@pytest.mark.parametrize(
    ("exporter", "importer", "imports"),
    [
        ("a.py", "b.py", "from a import os\nprint(os.sep)\n"),  # modules outside any package
        ("pkg/compat.py", "pkg/api.py", "from .compat import os\nprint(os.sep)\n"),
        ("pkg/compat.py", "pkg/sub/api.py", "from pkg.compat import os\nprint(os.sep)\n"),
    ],
)
def test_a_cached_result_follows_a_re_export_appearing_and_going(
    tmp_path: Path, exporter: str, importer: str, imports: str
) -> None:
    """The cached fixability of ``exporter``'s F401 depends on another file: a warm run must
    say what a cold one says when that file starts (or stops) importing the name, and ``ems
    fix`` must then leave the import alone (or remove it)."""
    files = {exporter: "import os\n", importer: "X = 1\n"}
    if exporter.startswith("pkg/"):
        files |= {"pkg/__init__.py": "", "pkg/sub/__init__.py": ""}
    _git_repo(tmp_path, files)
    warm = _checked(tmp_path)  # fills the cache
    assert "[*] 1 fixable" in warm[1], warm[1]
    for text in (imports, "X = 1\n"):
        _edit(tmp_path / importer, text)
        warm, cold = _checked(tmp_path), _checked(tmp_path, "--no-cache")
        assert warm == cold
        assert _checked(tmp_path) == cold  # and again, from the rows the warm run wrote
        (finding,) = [f for f in cold[0] if f["path"] == exporter]
        assert (finding["fix"] is not None) is (text == "X = 1\n"), finding
    _edit(tmp_path / importer, imports)
    _checked(tmp_path)  # the cache as a user has it after the edit
    fixed = run_ems("fix", ".", cwd=tmp_path)
    assert "Fixed" not in fixed.stdout or "Fixed 0" in fixed.stdout, fixed.stdout
    assert (tmp_path / exporter).read_text() == "import os\n"
    ran = run_python(f"import {importer[:-3].replace('/', '.')}", tmp_path)
    assert ran.returncode == 0, ran.stderr
