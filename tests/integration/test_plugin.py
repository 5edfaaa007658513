"""A third-party rule (examples/plugin, installed by `make test`) gets the full treatment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from ems.core import Config, analyse, load_rules
from ems.fixes import fix_all

SOURCE = "def f():\n    print('debug')  # temp\n    return 1\n"


def run_ems(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, text=True, input=stdin
    )


def test_plugin_rule_is_registered_with_its_origin() -> None:
    ruleset = load_rules()
    assert ruleset.get("XPL001") is not None
    assert ruleset.origin("XPL001") == "ems-plugin-example"


def test_plugin_rule_is_selected_suppressed_and_fixed_like_builtin_rules() -> None:
    config = Config(select=("XPL001",))
    assert [f.code for f in analyse(SOURCE, "lib.py", config).findings] == ["XPL001"]
    suppressed = SOURCE.replace("# temp", "# noqa: XPL001")
    assert analyse(suppressed, "lib.py", config).findings == ()
    assert analyse(SOURCE, "lib.py", Config(ignore=("XPL",))).findings == ()
    assert fix_all(SOURCE, "lib.py", config, unsafe=True).text == "def f():\n    return 1\n"


def test_plugin_rule_through_the_cli(tmp_path: Path) -> None:
    (tmp_path / "lib.py").write_text(SOURCE)
    (tmp_path / "ems.toml").write_text('select = ["XPL001"]\n')
    checked = run_ems("check", "--format", "json", ".", cwd=tmp_path)
    assert checked.returncode == 1
    assert '"code": "XPL001"' in checked.stdout
    explained = run_ems("rule", "XPL001", cwd=tmp_path)
    assert "print-in-library" in explained.stdout
    listed = run_ems("rules", cwd=tmp_path)
    assert "from ems-plugin-example" in listed.stdout
