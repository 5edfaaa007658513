"""Cached rows on the warm path: built lazily, equal to eager decoding, bad rows survived.

A warm scan hands out results whose ``report`` is built from the cached JSON rows only when
first used (text output renders from the rows directly). These tests pin that the lazy
results behave like ordinary ones and that a row which only fails when built (a valid
checksum over bad data) costs a fresh analysis, never a crash or a wrong report.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

import ems.store.cache as cache_mod
from ems.cli.formats import count_findings
from ems.cli.main import main
from ems.core.config import ConfigResolver
from ems.core.registry import load_rules
from ems.runtime.scan import FileResult, scan
from ems.store.cache import build_report, decode_entry, encode_report, parse_payload

SOURCE = 'import os\nname = f"x"\nif name == None:\n\tpass\n'


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "ems.toml").write_text("# defaults\n")
    (tmp_path / "a.py").write_text(SOURCE)
    (tmp_path / "b.py").write_text('value = f"y"\n')
    (tmp_path / "clean.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(cache_mod, "RACY_NS", 0)  # trust stats at once
    return tmp_path


def _unbuilt(result: FileResult) -> bool:
    """Whether ``result`` came from the cache with its report not built yet."""
    return "report" not in result.__dict__


def _scan(tree: Path, **options: object) -> list[FileResult]:
    rules = load_rules()
    resolver = ConfigResolver(rules.codes)
    return list(scan([Path(".")], resolver, ruleset=rules, **options))  # type: ignore[arg-type]


def test_lazy_results_equal_eager_ones(tree: Path) -> None:
    cold = _scan(tree, use_cache=False)
    _scan(tree)
    warm = _scan(tree, keep_excerpts=True)
    assert all(_unbuilt(r) for r in warm), "served from the cache, not built"
    assert [count_findings([r])[0] for r in warm] == [len(r.report.findings) for r in cold]
    assert [r.report for r in warm] == [r.report for r in cold]
    assert not any(_unbuilt(r) for r in warm), "built once used"
    plain = [dataclasses.replace(r, excerpts=None) for r in warm]
    assert plain == cold and [hash(r) for r in plain] == [hash(r) for r in cold]
    assert warm == cold and len({*warm, *cold}) == len(cold), "excerpts are left out of ==/hash"
    assert warm[0].excerpts == {1: "import os", 2: 'name = f"x"', 3: "if name == None:"}


def test_replace_on_an_unbuilt_result_builds_it(tree: Path) -> None:
    _scan(tree)
    first = _scan(tree)[0]
    replaced = dataclasses.replace(first, report=dataclasses.replace(first.report, findings=()))
    assert replaced.report.findings == () and count_findings([replaced])[0] == 0
    assert count_findings([first])[0] > 0


def test_the_fast_build_equals_the_constructors(monkeypatch: pytest.MonkeyPatch) -> None:
    rules = load_rules()
    from ems.core.analyse import analyse
    from ems.core.config import Config

    report = analyse(SOURCE, "a.py", Config(), rules)
    payload = encode_report(report, {1: "import os"})
    assert cache_mod._FAST, "the model classes changed shape: update build_report's fast path"
    fast, excerpts = decode_entry(payload, "a.py")
    monkeypatch.setattr(cache_mod, "_FAST", False)
    slow = build_report(parse_payload(payload), "a.py")
    assert fast == slow == report
    assert hash(fast) == hash(slow) and repr(fast) == repr(slow)
    assert excerpts == {1: "import os"}


def _tamper(tree: Path, path: str, change: object) -> None:
    """Rewrite a row's payload with a valid checksum: only building it can notice."""
    db = sqlite3.connect(tree / ".ems" / "ems.db")
    settings, payload = db.execute(
        "SELECT settings, payload FROM result_entries WHERE path = ?", (path,)
    ).fetchone()
    head, rest = payload.split("\n", 1)
    data = json.loads(head)
    data[0][0][1] = change  # the first finding's severity
    new = json.dumps(data) + "\n" + rest
    digest = db.execute("SELECT digest FROM result_entries WHERE path = ?", (path,)).fetchone()[0]
    checksum = cache_mod._checksum(path, settings, digest, new)
    db.execute("UPDATE result_entries SET payload = ?, checksum = ? WHERE path = ?", (new, checksum, path))
    db.commit()
    db.close()


@pytest.mark.parametrize("change", ["bogus", 7, None])
def test_a_row_that_fails_to_build_is_analysed_again(
    tree: Path, capsys: pytest.CaptureFixture[str], change: object
) -> None:
    main(["check", "--no-cache", "."])
    cold = capsys.readouterr().out
    main(["check", "."])
    capsys.readouterr()
    _tamper(tree, "a.py", change)
    main(["check", "."])
    assert capsys.readouterr().out == cold
    _tamper(tree, "a.py", change)
    main(["check", "--format", "json", "."])
    json_warm = capsys.readouterr().out
    main(["check", "--no-cache", "--format", "json", "."])
    assert json_warm == capsys.readouterr().out
