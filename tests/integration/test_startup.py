"""Start-up stays light: ``ems --version`` and ``ems check one_file.py`` import no libcst,
Streamlit or GitPython (libcst alone costs about 0.25 s; it is only needed to fix)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sample_projects import cached_results

HEAVY = ("libcst", "streamlit", "git")

_PROBE = f"""
import json, sys
from ems.cli.main import main
try:
    code = main(sys.argv[1:])
except SystemExit as exc:  # argparse's --version exits
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in {set(HEAVY)})
commands = sorted(m for m in sys.modules if m.startswith("ems.cli.") and m.count(".") == 2)
sys.stderr.write(json.dumps({{"code": code, "heavy": heavy, "commands": commands}}) + "\\n")
"""


def _modules_after(args: list[str], cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    last = proc.stderr.strip().splitlines()[-1]
    return json.loads(last)


def test_version_imports_no_heavy_library(tmp_path: Path) -> None:
    result = _modules_after(["--version"], tmp_path)
    assert result["code"] == 0
    assert result["heavy"] == []


def test_check_one_file_imports_no_heavy_library(tmp_path: Path) -> None:
    """A file whose findings no rule offers to fix: nothing to verify, no libcst."""
    target = tmp_path / "one_file.py"
    target.write_text(
        "print(undefined_name)\ntry:\n    x = 1\nexcept Exception:\n    pass\n", encoding="utf-8"
    )
    result = _modules_after(["check", "--no-cache", "one_file.py"], tmp_path)
    assert result["code"] == 1  # findings were reported, so the rules really ran
    assert result["heavy"] == []


def test_check_with_cache_imports_libcst_only_to_judge_new_fixes(tmp_path: Path) -> None:
    """Which findings ``ems fix`` fixes is computed by running the fixes (libcst) when a
    file is analysed, and cached with its findings: the warm run imports nothing heavy."""
    target = tmp_path / "one_file.py"
    target.write_text("import os\n", encoding="utf-8")
    first = _modules_after(["check", "one_file.py"], tmp_path)
    second = _modules_after(["check", "one_file.py"], tmp_path)
    assert first["heavy"] == ["libcst"] or all(m.split(".")[0] == "libcst" for m in first["heavy"])
    assert second["heavy"] == []
    assert cached_results(tmp_path) == 1


def test_loading_every_rule_imports_no_libcst() -> None:
    probe = (
        "import sys\nfrom ems.core.registry import load_rules\nload_rules()\nprint('libcst' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


def test_a_command_imports_only_its_own_module(tmp_path: Path) -> None:
    """``ems check`` must not pay for importing ``fix``, ``serve`` or ``history``."""
    (tmp_path / "one_file.py").write_text("x = 1\n", encoding="utf-8")
    result = _modules_after(["check", "--no-cache", "one_file.py"], tmp_path)
    assert result["code"] == 0
    loaded = set(result["commands"])
    assert {"ems.cli.check", "ems.cli.main"} <= loaded
    assert loaded.isdisjoint(
        {"ems.cli.fix", "ems.cli.serve", "ems.cli.history", "ems.cli.rules", "ems.cli.clean"}
    )
    assert _modules_after(["--version"], tmp_path)["commands"] == ["ems.cli.main"]


def test_help_and_a_mistyped_command_still_list_every_command(tmp_path: Path) -> None:
    for args in (["--help"], ["chek"]):
        proc = subprocess.run(
            [sys.executable, "-m", "ems", *args], cwd=tmp_path, capture_output=True, text=True, timeout=60
        )
        shown = proc.stdout + proc.stderr
        for command in ("check", "fix", "rules", "serve", "history", "clean"):
            assert command in shown, (args, shown)


_WARM_PROBE = """
import json, sys
from ems.cli.main import main
code = main(sys.argv[1:])
loaded = sorted(m for m in sys.modules if m.startswith(("ems.rules.", "ems.core.analyse", "ems_plugin")))
sys.stderr.write(json.dumps({"code": code, "loaded": loaded}) + "\\n")
"""


def _loaded_after(args: list[str], cwd: Path) -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _WARM_PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=60
    )
    return {**json.loads(proc.stderr.strip().splitlines()[-1]), "out": proc.stdout}


def test_a_warm_check_imports_neither_the_rules_nor_the_engine(tmp_path: Path) -> None:
    """Printing cached results needs only the rule set's fingerprint."""
    (tmp_path / "one_file.py").write_text('x = f"plain"\n', encoding="utf-8")
    (tmp_path / "two.py").write_text("import os\n", encoding="utf-8")
    first = _loaded_after(["check", "."], tmp_path)
    assert first["code"] == 1 and "ems.core.analyse" in first["loaded"]
    warm = _loaded_after(["check", "."], tmp_path)
    assert (warm["code"], warm["loaded"]) == (1, [])
    (tmp_path / "two.py").write_text("import sys\n", encoding="utf-8")
    changed = _loaded_after(["check", "."], tmp_path)
    # Analysed again (here or in a forked child): its new finding is reported.
    assert changed["code"] == 1 and "`sys` imported but unused" in changed["out"]


def test_selectors_are_still_validated_against_every_rule(tmp_path: Path) -> None:
    (tmp_path / "one_file.py").write_text("import os\n", encoding="utf-8")
    assert _loaded_after(["check", "--select", "F401", "."], tmp_path)["code"] == 1
    bad = subprocess.run(
        [sys.executable, "-m", "ems", "check", "--select", "F9999X", "."],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "unknown rule code" in bad.stderr
    (tmp_path / "ems.toml").write_text('ignore = ["NOPE1"]\n', encoding="utf-8")
    bad = subprocess.run(
        [sys.executable, "-m", "ems", "check", "."], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "NOPE1" in bad.stderr


def test_ems_core_analyse_stays_the_function_after_the_submodule_is_imported() -> None:
    probe = (
        "import ems.core\n"
        "from ems.core.analyse import run_rules\n"
        "import ems.core.analyse as named\n"
        "from ems.core import analyse\n"
        "print(callable(analyse), analyse is named, analyse.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True", "ems.core.analyse"], out.stderr


def test_a_warm_check_with_selectors_validates_them_without_importing_a_rule(tmp_path: Path) -> None:
    """`--select F401` needs every code to validate against; with no plug-in they come from
    the rule modules' file names, so a warm run still imports no rule."""
    (tmp_path / "one_file.py").write_text("import os\n", encoding="utf-8")
    assert _loaded_after(["check", "--select", "F401,E9", "."], tmp_path)["code"] == 1
    warm = _loaded_after(["check", "--select", "F401,E9", "."], tmp_path)
    assert (warm["code"], warm["loaded"]) == (1, [])
    assert "`os` imported but unused" in warm["out"]


def test_the_codes_known_without_importing_the_rules_are_their_codes() -> None:
    from ems.core.registry import builtin_codes, lazy_rules, load_rules

    assert builtin_codes() == load_rules().codes
    lazy = lazy_rules()
    assert lazy.codes == load_rules().codes


def test_a_config_file_without_settings_needs_no_toml_parser(tmp_path: Path) -> None:
    """An ``ems.toml`` of blanks and comments marks a project's root with the default
    settings: read as the empty table without importing tomllib; a file with settings is
    still parsed (and a malformed one still refused)."""
    probe = (
        "import sys; from pathlib import Path; from ems.core.config import read_config_file;"
        "config = read_config_file(Path(sys.argv[1]), ['F401']);"
        "print(config.select, 'tomllib' in sys.modules)"
    )
    target = tmp_path / "ems.toml"
    for text, expected in (
        (" \n\t\n", "('ALL',) False"),
        ("# the project's root: ems defaults\n  # é\t#\n\n", "('ALL',) False"),
        ('select = ["F"]\n', "('F',) True"),
        ('# settings\nselect = ["F"]  # these\n', "('F',) True"),
    ):
        target.write_text(text, encoding="utf-8")
        done = subprocess.run(
            [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, timeout=60, check=True
        )
        assert done.stdout.strip() == expected
    for bad in ("\f\n", "# a comment with a control character \x01\n"):
        target.write_text(bad, encoding="utf-8")
        refused = subprocess.run(
            [sys.executable, "-c", probe, str(target)], capture_output=True, text=True, timeout=60
        )
        assert refused.returncode != 0 and "not valid TOML" in refused.stderr
