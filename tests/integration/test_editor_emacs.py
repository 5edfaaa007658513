"""A real editor: Emacs in batch mode with eglot, set up as docs/user/editors.md says.

The elisp block of the docs' Emacs section is extracted and loaded as is, so the documented
set-up is what is tested. Skipped without ``emacs`` or eglot (built into Emacs 29+; Debian 12's
Emacs 28 needs ``elpa-eglot``), unless ``EMS_REQUIRE_EDITOR=1`` (set by ``.ci/run``, which
installs both), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "user" / "editors.md"
HARNESS = Path(__file__).parent / "editor" / "emacs_eglot.el"


def documented_setup() -> str:
    """The elisp code block of the docs' "Emacs" section."""
    text = DOCS.read_text(encoding="utf-8")
    section = re.search(r"^## Emacs.*?(?=^## )", text, re.S | re.M)
    assert section, "docs/user/editors.md has no Emacs section"
    block = re.search(r"```elisp\n(.*?)```", section.group(0), re.S)
    assert block, "the Emacs section of docs/user/editors.md has no elisp block"
    return block.group(1)


def emacs_or_skip() -> str:
    emacs = shutil.which("emacs")
    why = "needs emacs with eglot (Debian: emacs-nox, and elpa-eglot before Emacs 29)"
    if emacs:
        probe = subprocess.run(
            [emacs, "--batch", "--eval", "(progn (require 'package) (package-initialize) (require 'eglot))"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        if probe.returncode == 0:
            return emacs
        why += f"; {emacs} cannot load eglot: {probe.stderr.strip()[-300:]}"
    if os.environ.get("EMS_REQUIRE_EDITOR") == "1":
        pytest.fail(why + " and EMS_REQUIRE_EDITOR=1")
    pytest.skip(why)


def test_the_documented_setup_names_ems_serve() -> None:
    setup = documented_setup()
    assert '"ems" "serve"' in setup and "eglot-ensure" in setup


@pytest.mark.editor
@pytest.mark.slow
def test_emacs_eglot_receives_diagnostics_and_applies_fix_all(tmp_path: Path) -> None:
    emacs = emacs_or_skip()
    target = tmp_path / "demo.py"
    target.write_text('import os\nname = "ems"\nprint(f"héllo 🙂")  # greet\n', encoding="utf-8")
    setup = tmp_path / "ems-setup.el"
    setup.write_text(documented_setup(), encoding="utf-8")
    env = {
        **os.environ,
        # The documented set-up runs `ems serve` from PATH: this interpreter's ems.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "EMS_TEST_ROOT": str(tmp_path),
        "EMS_EMACS_SETUP": str(setup),
        "HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [emacs, "--batch", "-q", "-l", str(HARNESS)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = f"stdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    assert done.returncode == 0, f"emacs exited {done.returncode}\n{output}"
    diagnostics = [line for line in done.stdout.splitlines() if line.startswith("ems-diagnostic:")]
    assert any("F401" in line and line.startswith("ems-diagnostic: 1:") for line in diagnostics), output
    assert any("F541" in line and line.startswith("ems-diagnostic: 3:") for line in diagnostics), output
    assert "ems-fixed" in done.stdout, output
    assert target.read_text(encoding="utf-8") == 'name = "ems"\nprint("héllo 🙂")  # greet\n', output
