"""Project scans with worker processes and the persistent cache give the same answers as a
plain sequential scan, whatever happened to the files, the config or the cache."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

import ems.runtime.discovery as discovery
import ems.runtime.pool as pool
import ems.runtime.scan as project
import ems.store.cache as cache_mod
from ems.core.config import ConfigResolver
from ems.core.registry import load_rules
from ems.fixes.project import fix_paths
from ems.runtime.scan import FileResult, scan

RULES = load_rules()

SAMPLES = {
    "clean.py": "import os\n\nprint(os.getcwd())\n",
    "fstring.py": 'name = "x"\nprint(f"hello")\n',
    "none_cmp.py": "def f(x):\n    if x == None:\n        return 1\n    return 2\n",
    "unicode.py": 'label = "é中🙂"\nif label == None:\n    print(f"🙂")\n',
    "syntax.py": "def broken(:\n    pass\n",
    "latin1.py": b"# -*- coding: latin-1 -*-\nname = '\xe9'\nprint(f'caf\xe9')\n",
    "bad_utf8.py": b"x = '\xff'\n",
    "noqa.py": 'print(f"x")  # noqa: F541\n',
}


def _project(root: Path, copies: int = 6) -> Path:
    """A project of about 50 files: enough to use worker processes."""
    for index in range(copies):
        package = root / "src" / f"pkg{index}"
        package.mkdir(parents=True)
        (package / "__init__.py").write_text("")
        for name, content in SAMPLES.items():
            target = package / name
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content, encoding="utf-8")
    _age(root)
    return root


def _age(root: Path) -> None:
    """Backdate every file, as if written long ago, so the stat fast path may trust it."""
    old = 1_600_000_000 * 10**9
    for path in root.rglob("*.py"):
        os.utime(path, ns=(old, old))


def _scan(root: Path, **options: object) -> list[tuple[str, tuple]]:
    resolver = ConfigResolver(RULES.codes, default_root=root)
    return [(r.display, r.report.findings) for r in scan([root], resolver, ruleset=RULES, **options)]  # type: ignore[arg-type]


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = _project(tmp_path / "proj")
    monkeypatch.chdir(root)
    return root


def test_parallel_output_equals_sequential_output(tree: Path) -> None:
    sequential = _scan(tree, jobs=1, use_cache=False)
    parallel = _scan(tree, jobs=2, use_cache=False)
    assert len(sequential) > pool.MIN_PARALLEL_FILES
    assert parallel == sequential
    assert [d for d, _ in parallel] == sorted(d for d, _ in parallel) or parallel == sequential
    assert any(findings for _, findings in sequential)


def test_warm_run_equals_cold_run_and_reads_nothing(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Backdating set each ctime to "now"; pretend the files are old enough to trust.
    monkeypatch.setattr(cache_mod, "RACY_NS", 0)
    cold = _scan(tree, jobs=1, use_cache=False)
    assert _scan(tree, jobs=2) == cold  # fills the cache

    def no_reading(path: object) -> object:
        raise AssertionError(f"{path} was read although it did not change")

    monkeypatch.setattr(project, "_read", no_reading)
    assert _scan(tree, jobs=1) == cold


def test_keep_source_returns_the_bytes_on_a_warm_run(tree: Path) -> None:
    resolver = ConfigResolver(RULES.codes, default_root=tree)
    list(scan([tree], resolver, ruleset=RULES))
    results: list[FileResult] = list(scan([tree], resolver, ruleset=RULES, keep_source=True))
    assert any(result.report.findings for result in results)
    for result in results:
        if result.report.findings:
            assert result.source == result.path.read_bytes()
        else:
            assert result.source in (None, result.path.read_bytes())
    cold = list(scan([tree], resolver, ruleset=RULES, keep_source=True, use_cache=False, jobs=2))
    assert [r.source for r in cold if r.report.findings] == [r.source for r in results if r.report.findings]


def _codes(findings: tuple) -> list[str]:
    return [f.code for f in findings]


def test_a_changed_file_is_reanalysed_even_with_the_same_size_and_mtime(
    tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache_mod, "RACY_NS", 0)  # trust stats at once: the hardest case
    _scan(tree, jobs=1)
    target = tree / "src" / "pkg0" / "fstring.py"
    info = target.stat()
    same_size = 'name = "x"\nprint("hello")\n '  # F541 gone; same length as before
    assert len(same_size.encode()) == info.st_size
    target.write_text(same_size, encoding="utf-8")
    os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))  # mtime unchanged too
    after = dict(_scan(tree, jobs=1))
    assert "F541" not in _codes(after["src/pkg0/fstring.py"])
    assert "F541" in _codes(after["src/pkg1/fstring.py"])
    assert _scan(tree, jobs=2) == _scan(tree, jobs=1, use_cache=False)


def test_a_file_changed_right_after_a_scan_is_not_missed(tree: Path) -> None:
    target = tree / "src" / "pkg0" / "clean.py"
    target.write_text("import os\n\nprint(os.getcwd())\n", encoding="utf-8")  # fresh mtime
    _scan(tree, jobs=1)
    target.write_text('print(f"no placeholder")\n', encoding="utf-8")
    assert "F541" in _codes(dict(_scan(tree, jobs=1))["src/pkg0/clean.py"])


def test_a_changed_config_invalidates(tree: Path) -> None:
    before = dict(_scan(tree, jobs=2))
    assert any(f.code == "F541" for f in before["src/pkg0/fstring.py"])
    (tree / "ems.toml").write_text('ignore = ["F541"]\n', encoding="utf-8")
    after = _scan(tree, jobs=2)
    assert not any(f.code == "F541" for _, findings in after for f in findings)
    assert after == _scan(tree, jobs=1, use_cache=False)


def test_a_corrupt_store_is_survived_and_rebuilt(tree: Path) -> None:
    reference = _scan(tree, jobs=1, use_cache=False)
    _scan(tree, jobs=2)
    db = tree / ".ems" / "ems.db"
    assert db.exists()
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.write_bytes(os.urandom(8192))
    assert _scan(tree, jobs=2) == reference
    assert list(db.parent.glob("ems.db.corrupt-*"))  # moved aside, not deleted
    assert _scan(tree, jobs=1) == reference  # rebuilt


def test_two_concurrent_runs_give_correct_results(tree: Path) -> None:
    reference = subprocess.run(
        [sys.executable, "-m", "ems", "check", "--no-cache", "--exit-zero", "-q", "--format", "json", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    command = [
        sys.executable,
        "-m",
        "ems",
        "check",
        "--exit-zero",
        "-q",
        "--format",
        "json",
        "--jobs",
        "2",
        ".",
    ]
    for _ in range(2):
        runs = [subprocess.Popen(command, cwd=tree, stdout=subprocess.PIPE, text=True) for _ in range(3)]
        outputs = [run.communicate(timeout=120)[0] for run in runs]
        assert outputs == [reference] * 3
    assert subprocess.run(command, cwd=tree, capture_output=True, text=True, timeout=120).stdout == reference


def test_special_files_do_not_hang_in_workers(tree: Path) -> None:
    fifo = tree / "src" / "pkg0" / "pipe.py"
    os.mkfifo(fifo)
    results = dict(_scan(tree, jobs=2))
    assert [f.code for f in results["src/pkg0/pipe.py"]] == ["E902"]
    again = dict(_scan(tree, jobs=2))  # an I/O error is never cached as a result
    assert [f.code for f in again["src/pkg0/pipe.py"]] == ["E902"]


def test_fix_paths_fixes_in_parallel_without_writing(tree: Path) -> None:
    resolver = ConfigResolver(RULES.codes, default_root=tree)
    before = {p: p.read_bytes() for p in tree.rglob("*.py")}
    outcomes = list(fix_paths([tree], resolver, unsafe=True, codes=["F541"], ruleset=RULES, jobs=2))
    assert [o.display for o in outcomes] == [d for d, _ in _scan(tree, jobs=1)]
    assert {p: p.read_bytes() for p in tree.rglob("*.py")} == before  # nothing written
    by_name = {o.display: o for o in outcomes}
    fixed = by_name["src/pkg3/fstring.py"]
    assert fixed.new == b'name = "x"\nprint("hello")\n'
    assert fixed.original == SAMPLES["fstring.py"].encode()
    assert fixed.result is not None and fixed.result.applied
    latin = by_name["src/pkg3/latin1.py"]
    assert latin.new is not None and latin.new.decode("latin-1").endswith("print('caf\xe9')\n")
    clean = by_name["src/pkg3/clean.py"]
    assert clean.new is None and clean.result is None and clean.remaining == clean.report.findings
    sequential = list(
        fix_paths([tree], resolver, unsafe=True, codes=["F541"], ruleset=RULES, jobs=1, use_cache=False)
    )
    assert [(o.display, o.new) for o in sequential] == [(o.display, o.new) for o in outcomes]


def test_ems_clean_removes_the_cache(tree: Path) -> None:
    import sqlite3

    _scan(tree, jobs=1)

    def cached() -> int:
        with contextlib.closing(sqlite3.connect(tree / ".ems" / "ems.db")) as db:
            return int(db.execute("SELECT COUNT(*) FROM result_entries").fetchone()[0])

    assert cached()
    out = subprocess.run(
        [sys.executable, "-m", "ems", "clean"], cwd=tree, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0
    assert cached() == 0 and (tree / ".ems" / "ems.db").exists()  # the rest of the store stays
    assert "removed the result cache" in out.stdout


@pytest.mark.parametrize(
    "extra",
    [(), ("pkg1",), ("src/pkg2",), ("*_cmp.py", "[ab]*"), ("pkg*/",), ("s*g3",), ("syntax.py",)],
)
def test_discovery_exclusion_agrees_with_config(tree: Path, extra: tuple[str, ...]) -> None:
    from dataclasses import replace

    from ems.core.config import Config

    config = replace(Config(root=tree), extend_exclude=extra)
    excluder = discovery._Excluder(config)
    for folder, dirs, files in os.walk(tree):
        directory = Path(folder)
        info = excluder.folder(directory)
        for name in dirs + files:
            path = directory / name
            assert excluder.excluded(info, name, path) == config.is_excluded(path), (path, extra)


def test_an_undecodable_cached_row_is_reanalysed(tree: Path) -> None:
    """A row whose payload passes its checksum but no longer decodes (e.g. a schema slip)."""
    import sqlite3

    from ems.store.cache import _checksum

    reference = _scan(tree, jobs=1, use_cache=False)
    _scan(tree, jobs=1)
    db = sqlite3.connect(tree / ".ems" / "ems.db")
    rows = db.execute("SELECT path, settings, digest FROM result_entries").fetchall()
    for path, settings, digest in rows:
        db.execute(
            "UPDATE result_entries SET payload = ?, checksum = ?, size = NULL WHERE path = ? AND settings = ?",
            ("{not json", _checksum(path, settings, digest, "{not json"), path, settings),
        )
    db.commit()
    db.close()
    assert _scan(tree, jobs=2) == reference
    assert _scan(tree, jobs=1) == reference


def test_a_guard_failure_is_not_cached(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """EMS902/EMS903 (time-out, crash) are transient: the next run must analyse again."""
    from importlib import import_module

    from ems.core.model import Finding, Range, Report, Severity

    analysis = import_module("ems.core.analyse")  # the module (ems.core.analyse is the function)
    real = analysis.analyse

    def timing_out(data: bytes, display: str, config: object, ruleset: object, **options: object) -> Report:
        if display.endswith("pkg0/fstring.py"):
            finding = Finding(
                "EMS902", "analysis-timeout", Severity.ERROR, Range.of(1, 0, 1, 0), "timed out", display
            )
            return Report(display, (finding,))
        return real(data, display, config, ruleset, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(analysis, "analyse", timing_out)
    first = dict(_scan(tree, jobs=1))
    assert _codes(first["src/pkg0/fstring.py"]) == ["EMS902"]
    monkeypatch.setattr(analysis, "analyse", real)
    assert "F541" in _codes(dict(_scan(tree, jobs=1))["src/pkg0/fstring.py"])
