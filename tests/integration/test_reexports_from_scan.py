"""A scan judges re-exports from its own analyses: no importer is read or parsed again.

A scan of several files judges each file's fixability as if nothing were re-exported and
records what the F401 fix asked; once every file is analysed, the answers come from an
index fed with what those analyses saw of each file's imports, and a judgement that asked
about a real re-export is made again. ``ems check one_file.py`` keeps the plain lookup.
Both must give the answers ``ems fix`` acts on.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from checkout_ems import run_ems

from ems.core.config import ConfigResolver, LazyCodes
from ems.core.registry import load_rules
from ems.fixes import importindex
from ems.runtime.scan import scan

FILLERS = 8  # enough files for a process pool (``ems.runtime.pool.MIN_PARALLEL_FILES``)


def _project(root: Path) -> None:
    (root / "ems.toml").write_text("")
    pkg = root / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    # `dumps` is imported from here by api.py (a re-export); `os` by nobody.
    (pkg / "compat.py").write_text("from json import dumps\nimport os\n")
    (pkg / "api.py").write_text("from .compat import dumps\n\n\ndef get(x):\n    return dumps(x)\n")
    # Nothing imports from here: its unused import has a fix.
    (pkg / "lonely.py").write_text("import json\n")
    for n in range(FILLERS):
        (pkg / f"filler{n}.py").write_text(f"from pkg.api import get\n\nVALUE{n} = get({n})\n")


def _fixes(findings: list[dict[str, object]]) -> dict[tuple[str, str], str | None]:
    """(path, message) -> the fix's safety (None: no fix) of each F401 finding."""
    found: dict[tuple[str, str], str | None] = {}
    for f in findings:
        if f["code"] == "F401":
            fix = f["fix"]
            found[(str(f["path"]), str(f["message"]))] = fix["safety"] if isinstance(fix, dict) else None
    return found


EXPECTED = {
    ("pkg/compat.py", "`json.dumps` imported but unused"): None,  # a re-export: no fix
    ("pkg/compat.py", "`os` imported but unused"): "safe",
    ("pkg/lonely.py", "`json` imported but unused"): "safe",
}


@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("cache", [True, False])
def test_a_scan_and_a_one_file_check_judge_re_exports_alike(tmp_path: Path, jobs: str, cache: bool) -> None:
    _project(tmp_path)
    options = ("--format", "json", "--exit-zero", "--jobs", jobs, *(() if cache else ("--no-cache",)))
    whole = run_ems("check", ".", *options, cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr
    assert _fixes(json.loads(whole.stdout)) == EXPECTED
    alone: dict[tuple[str, str], str | None] = {}
    for name in ("pkg/compat.py", "pkg/lonely.py"):
        one = run_ems("check", name, *options, cwd=tmp_path)
        assert one.returncode == 0, one.stderr
        alone |= _fixes(json.loads(one.stdout))
    assert alone == EXPECTED
    # What a warm run (from the cache rows and the stored index) says is the same.
    again = run_ems("check", ".", *options, cwd=tmp_path)
    assert _fixes(json.loads(again.stdout)) == EXPECTED
    # And ``ems fix`` does exactly that: `os` and `json` go, `dumps` stays.
    fixed = run_ems("fix", ".", cwd=tmp_path)
    assert "Fixed 2 findings" in fixed.stdout, fixed.stdout + fixed.stderr
    assert (tmp_path / "pkg" / "compat.py").read_text() == "from json import dumps\n"


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_scan_reads_no_importer_it_has_analysed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, jobs: int
) -> None:
    """Counts every read and parse of a file's imports by the re-export index, in this
    process and in forked workers (through a file): none for a scan of the whole project;
    some for a check of one file (the plain lookup, which the count must see)."""
    _project(tmp_path)
    log = tmp_path.parent / f"{tmp_path.name}-reads.log"
    real_read, real_parse = importindex.read_facts, importindex.import_froms

    def read_facts(full: str, parse: bool = False) -> importindex.Facts:
        with log.open("a") as out:
            out.write(f"read {full}\n")
        return real_read(full, parse)

    def import_froms(data: bytes) -> importindex.Raw:
        with log.open("a") as out:
            out.write("parse\n")
        return real_parse(data)

    monkeypatch.setattr(importindex, "read_facts", read_facts)
    monkeypatch.setattr(importindex, "import_froms", import_froms)
    monkeypatch.chdir(tmp_path)
    ruleset = load_rules()
    resolver = ConfigResolver(LazyCodes(lambda: ruleset.codes), default_root=tmp_path)

    def check(paths: list[Path]) -> dict[tuple[str, str], str | None]:
        found: dict[tuple[str, str], str | None] = {}
        for result in scan(paths, resolver, ruleset=ruleset, jobs=jobs, use_cache=False):
            for f in result.report.findings:
                if f.code == "F401":
                    judged = f.fixability.value if f.fixability is not None else None
                    found[(result.display, f.message)] = judged
        return found

    whole = check([Path(".")])
    assert not log.exists(), log.read_text()
    assert whole[("pkg/compat.py", "`json.dumps` imported but unused")] is None
    assert whole[("pkg/compat.py", "`os` imported but unused")] == "safe"
    assert whole[("pkg/lonely.py", "`json` imported but unused")] == "safe"
    one = check([Path("pkg/compat.py")])
    assert one == {k: v for k, v in whole.items() if k[0] == "pkg/compat.py"}
    assert log.exists() and "parse" in log.read_text()  # the plain lookup read the importers
