"""A third-party rule (examples/plugin) gets the full treatment.

The plug-in is not installed into the project's venv (``make test`` used to, and every later
``ems check`` in that venv reported XPL001 on the user's code): it is registered for these
tests only, by a ``*.dist-info`` folder with its entry point in a temporary folder put on
``sys.path`` (this process) and ``PYTHONPATH`` (the ``ems`` subprocesses).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from ems.core import Config, analyse
from ems.core.registry import lazy_rules, load_rules
from ems.fixes import fix_all

REPO = Path(__file__).resolve().parents[2]
PLUGIN_SRC = REPO / "examples" / "plugin" / "src"
SOURCE = "def f():\n    print('debug')  # temp\n    return 1\n"


def register_plugin(folder: Path) -> list[str]:
    """A site folder declaring the example plug-in's entry point; the paths to prepend."""
    info = folder / "ems_plugin_example-0.1.0.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ems-plugin-example\nVersion: 0.1.0\n")
    (info / "entry_points.txt").write_text(
        "[ems.rules]\nems_plugin_example = ems_plugin_example.no_print:NoPrint\n"
    )
    return [str(folder), str(PLUGIN_SRC)]


@pytest.fixture(scope="module")
def plugin_paths(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    paths = register_plugin(tmp_path_factory.mktemp("plugin-site"))
    saved = list(sys.path)
    sys.path[:0] = paths
    lazy_rules.cache_clear()
    load_rules.cache_clear()
    try:
        yield paths
    finally:
        sys.path[:] = saved
        sys.modules.pop("ems_plugin_example.no_print", None)
        sys.modules.pop("ems_plugin_example", None)
        lazy_rules.cache_clear()
        load_rules.cache_clear()


def run_ems(*args: str, cwd: Path, paths: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([*paths, str(REPO / "src")])}
    return subprocess.run(
        [sys.executable, "-m", "ems", *args], cwd=cwd, capture_output=True, text=True, env=env, timeout=120
    )


def test_plugin_rule_is_registered_with_its_origin(plugin_paths: list[str]) -> None:
    ruleset = load_rules()
    assert ruleset.get("XPL001") is not None
    assert ruleset.origin("XPL001") == "ems-plugin-example"


def test_plugin_rule_is_selected_suppressed_and_fixed_like_builtin_rules(plugin_paths: list[str]) -> None:
    config = Config(select=("XPL001",))
    assert [f.code for f in analyse(SOURCE, "lib.py", config).findings] == ["XPL001"]
    suppressed = SOURCE.replace("# temp", "# noqa: XPL001")
    assert analyse(suppressed, "lib.py", config).findings == ()
    assert analyse(SOURCE, "lib.py", Config(ignore=("XPL",))).findings == ()
    assert fix_all(SOURCE, "lib.py", config, unsafe=True).text == "def f():\n    return 1\n"


def test_plugin_examples_pin_their_range_and_message(plugin_paths: list[str]) -> None:
    rule = load_rules().get("XPL001")
    assert rule is not None
    for example in rule.invalid:
        findings = analyse(example.code, example.path, Config(select=("XPL001",))).findings
        spans = [
            (f.range.start.line, f.range.start.column, f.range.end.line, f.range.end.column) for f in findings
        ]
        assert spans == list(example.spans) and [f.message for f in findings] == list(example.messages)
        assert len(findings) == example.count


def test_plugin_rule_through_the_cli(tmp_path: Path, plugin_paths: list[str]) -> None:
    (tmp_path / "lib.py").write_text(SOURCE)
    (tmp_path / "ems.toml").write_text('select = ["XPL001"]\n')
    checked = run_ems("check", "--format", "json", ".", cwd=tmp_path, paths=plugin_paths)
    assert checked.returncode == 1, checked.stderr
    assert '"code": "XPL001"' in checked.stdout
    explained = run_ems("rule", "XPL001", cwd=tmp_path, paths=plugin_paths)
    assert "print-in-library" in explained.stdout
    listed = run_ems("rules", cwd=tmp_path, paths=plugin_paths)
    assert "from ems-plugin-example" in listed.stdout


def test_the_projects_venv_has_no_plugin_installed(tmp_path: Path) -> None:
    """``make test`` must not change what ``ems check`` reports in the user's venv."""
    (tmp_path / "lib.py").write_text(SOURCE)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(
        [sys.executable, "-m", "ems", "rules"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "XPL001" not in proc.stdout
