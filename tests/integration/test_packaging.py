"""Installing ems prints no packaging warning (issue 13: setuptools warned three times that
``project.license`` as a TOML table is deprecated on every install)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def test_building_ems_gives_no_setuptools_deprecation_warning(tmp_path: Path) -> None:
    """A wheel built from this ``pyproject.toml`` (the build back end's own output, which
    ``pip install`` hides unless verbose), with just enough of the package to build."""
    shutil.copy(REPO / "pyproject.toml", tmp_path)
    shutil.copy(REPO / "README.md", tmp_path)
    (tmp_path / "src" / "ems").mkdir(parents=True)
    shutil.copy(REPO / "src" / "ems" / "__init__.py", tmp_path / "src" / "ems")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(tmp_path / "out"), "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-3000:]
    assert list((tmp_path / "out").glob("*.whl")), output[-3000:]
    warnings = [line for line in output.splitlines() if "Warning" in line and "deprecat" in line.lower()]
    assert warnings == [], "\n".join(warnings)
