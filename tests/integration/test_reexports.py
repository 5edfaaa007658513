"""A module's imports that sibling modules import from it are re-exports: never removed.

The shape of requests' ``compat.py``: it imports names it never uses itself, and the other
modules of the package import them from it (relatively and absolutely).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _ems(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(
        [sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, text=True, timeout=300, env=env
    )


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
    findings = json.loads(_ems("check", ".", "--format", "json", cwd=tmp_path).stdout)
    compat = {
        re.search(r"`(.*)`", f["message"]).group(1): f for f in findings if f["path"] == "pkg/compat.py"
    }
    assert set(compat) == {"json.dumps", "json.loads", "urllib.parse.urlparse", "os"}
    for name in ("json.dumps", "json.loads", "urllib.parse.urlparse"):
        assert compat[name]["fix"] is None, name  # re-exported: no fix, safe or unsafe
    assert compat["os"]["fix"]["safety"] == "safe"
    for unsafe in ((), ("--unsafe-fixes",)):
        proc = _ems("fix", ".", *unsafe, cwd=tmp_path)
        assert "Fixed 1 finding" in proc.stdout, proc.stdout + proc.stderr
        assert (tmp_path / "pkg" / "compat.py").read_text() == (
            "from json import dumps, loads\nfrom urllib.parse import urlparse\n"
        )
        imported = subprocess.run(
            [sys.executable, "-c", "import pkg.api, pkg.sub.models; print(pkg.api.get('http://x/y'))"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert imported.returncode == 0, imported.stderr
        (tmp_path / "pkg" / "compat.py").write_text(
            "from json import dumps, loads\nfrom urllib.parse import urlparse\nimport os\n"
        )
