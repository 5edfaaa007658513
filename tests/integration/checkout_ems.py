"""ems run as a user runs it, from this checkout: a subprocess with its ``src`` on the path,
and the check that a project still imports after ``ems fix`` changed it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def run_ems(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    return subprocess.run(
        [sys.executable, "-m", "ems", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="surrogateescape",  # an undecodable file name in the output stays readable
        timeout=timeout,
        env=env,
    )


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``python -c code`` in the project, as its own users would import it."""
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=60)
