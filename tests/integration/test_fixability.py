"""What ``ems check`` says is fixable is what ``ems fix`` then fixes.

Each finding's ``Fixability`` is computed by running the fix engine (verified fixes only;
a fix that would be dropped is not fixable) and shown alike by the text summary and the
per-line ``[*]``, ``--statistics``, JSON, SARIF and the language server.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from checkout_ems import run_ems

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "examples" / "demo"


def _summary_counts(text: str) -> tuple[int, int]:
    """(fixable, hidden) from the text summary."""
    fixable = re.search(r"\[\*\] (\d+) fixable with `ems fix`", text)
    hidden = re.search(r"(\d+) hidden fix(?:es)? can be enabled with `ems fix --unsafe-fixes`", text)
    return int(fixable.group(1)) if fixable else 0, int(hidden.group(1)) if hidden else 0


def _fixed(text: str) -> int:
    match = re.search(r"Fixed (\d+) findings?", text)
    assert match, text
    return int(match.group(1))


@pytest.fixture
def demo(tmp_path: Path) -> Path:
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns(".ems"))
    return target


def test_the_demo_summary_counts_what_ems_fix_then_fixes(demo: Path, tmp_path: Path) -> None:
    check = run_ems("check", ".", "--no-source", cwd=demo)
    assert check.returncode == 1, check.stderr
    fixable, hidden = _summary_counts(check.stdout)
    marked = sum(1 for line in check.stdout.splitlines() if line.endswith("[*]"))
    assert fixable == marked > 0
    assert hidden > 0  # the demo has unsafe fixes (E711, B006, ...)
    # --statistics marks a rule [*] exactly when one of its findings is marked.
    stats = run_ems("check", ".", "--statistics", "--no-source", cwd=demo).stdout
    starred = set(re.findall(r"^\s+\d+\s+(\S+)\s+\[\*\] ", stats, re.M))
    listed = set(re.findall(r"^\s+\d+\s+([A-Z]+\d+)\s", stats, re.M))
    assert starred == {line.split()[1] for line in check.stdout.splitlines() if line.endswith("[*]")}
    assert listed - starred >= {"E711", "B006"}  # rules with (hidden) fixes but none applied
    findings = json.loads(run_ems("check", ".", "--format", "json", cwd=demo).stdout)
    assert sum(1 for f in findings if f["fix"] and f["fix"]["applied"]) == fixable
    assert sum(1 for f in findings if f["fix"] and not f["fix"]["applied"]) == hidden
    unsafe_copy = tmp_path / "unsafe"
    shutil.copytree(demo, unsafe_copy)
    assert _fixed(run_ems("fix", ".", cwd=demo).stdout) == fixable
    assert _fixed(run_ems("fix", ".", "--unsafe-fixes", cwd=unsafe_copy).stdout) == fixable + hidden


def test_a_lone_unsafe_fix_is_not_counted_as_fixable(tmp_path: Path) -> None:
    (tmp_path / "lone.py").write_text("x = 1\nif x == None:\n    pass\n")
    check = run_ems("check", "lone.py", cwd=tmp_path)
    assert "[*]" not in check.stdout.replace("[*] 0", "")
    assert _summary_counts(check.stdout) == (0, 1)
    assert "1 hidden fix can be enabled with `ems fix --unsafe-fixes`" in check.stdout
    stats = run_ems("check", "lone.py", "--statistics", "--no-source", cwd=tmp_path).stdout
    assert re.search(r"^\s+1\s+E711 {8}none-comparison", stats, re.M), stats
    diff = run_ems("fix", "lone.py", "--diff", cwd=tmp_path)
    assert diff.stdout == "" and diff.returncode == 1
    assert "lone.py: nothing fixed: the fixes for E711 are unsafe: add --unsafe-fixes" in diff.stderr
    assert _fixed(run_ems("fix", "lone.py", cwd=tmp_path).stdout) == 0
    assert _fixed(run_ems("fix", "lone.py", "--unsafe-fixes", cwd=tmp_path).stdout) == 1


def test_a_fix_the_engine_cannot_make_is_not_fixable(tmp_path: Path) -> None:
    """EMS104 offers a fix, but not for ``from datetime import datetime`` (it would need a
    new import): the rule's offer alone used to be shown as ``[*]``."""
    (tmp_path / "stamp.py").write_text("from datetime import datetime\n\nstamp = datetime.utcnow()\n")
    check = run_ems("check", "stamp.py", "--no-source", cwd=tmp_path).stdout
    assert "EMS104" in check and "[*]" not in check
    (finding,) = json.loads(run_ems("check", "stamp.py", "--format", "json", cwd=tmp_path).stdout)
    assert finding["fix"] is None
    diff = run_ems("fix", "stamp.py", "--diff", "--unsafe-fixes", cwd=tmp_path)
    assert "stamp.py: nothing fixed: no automatic fix for EMS104" in diff.stderr
    assert _fixed(run_ems("fix", "stamp.py", "--unsafe-fixes", cwd=tmp_path).stdout) == 0


def test_f401_in_an_init_module_is_unsafe_in_every_output(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("import os\n")
    text = run_ems("check", ".", "--no-source", "--statistics", cwd=tmp_path).stdout
    assert "F401 `os` imported but unused\n" in text  # no [*]: only --unsafe-fixes fixes it
    assert re.search(r"^\s+1\s+F401 {8}unused-import", text, re.M), text
    assert _summary_counts(text) == (0, 1)
    (finding,) = json.loads(run_ems("check", ".", "--format", "json", cwd=tmp_path).stdout)
    assert finding["fix"]["safety"] == "unsafe" and finding["fix"]["applied"] is False
    sarif = run_ems("check", ".", "--format", "sarif", cwd=tmp_path)
    assert sarif.stderr == ""
    (result,) = json.loads(sarif.stdout)["runs"][0]["results"]
    assert result["fixes"][0]["description"]["text"].endswith("(unsafe)")


def test_a_plain_sarif_check_prints_nothing_on_stderr(demo: Path) -> None:
    proc = run_ems("check", ".", "--format", "sarif", cwd=demo)
    assert proc.returncode == 1
    assert proc.stderr == ""
    results = json.loads(proc.stdout)["runs"][0]["results"]
    findings = json.loads(run_ems("check", ".", "--format", "json", cwd=demo).stdout)
    with_fix = [f for f in findings if f["fix"]]
    assert sum(1 for r in results if r.get("fixes")) == len(with_fix)


def test_the_warm_check_keeps_the_computed_fact_without_libcst(demo: Path) -> None:
    """The fact is cached with the findings: a warm run neither recomputes nor imports libcst."""
    cold = run_ems("check", ".", "--no-source", cwd=demo).stdout
    probe = (
        "import sys, runpy\n"
        "sys.argv = ['ems', 'check', '.', '--no-source']\n"
        "try:\n    runpy.run_module('ems', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "print('LIBCST' if 'libcst' in sys.modules else 'NO-LIBCST')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    warm = subprocess.run(
        [sys.executable, "-c", probe], cwd=demo, capture_output=True, text=True, timeout=120, env=env
    )
    assert warm.stdout.endswith("NO-LIBCST\n"), warm.stdout[-300:] + warm.stderr[-2000:]
    assert warm.stdout[: -len("NO-LIBCST\n")] == cold
