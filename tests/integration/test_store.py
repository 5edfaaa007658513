"""The SQLite store: schema migrations, clear errors, and concurrent writers."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path

import pytest

from ems.core import analyse
from ems.store import (
    SCHEMA_VERSION,
    BlobAnalysis,
    CachedFinding,
    ScanRecord,
    StoreCorruptError,
    StoredFinding,
    StoreLockedError,
    StoreSchemaError,
    open_store,
)

WRITERS = 4
SCANS_PER_WRITER = 15
FINDINGS_PER_SCAN = 20


def _scan(label: str) -> ScanRecord:
    return ScanRecord(
        root="/project",
        ems_version="test",
        config_hash="cfg",
        files=3,
        duration_s=0.5,
        commit_sha="a" * 40,
        branch="main",
        dirty=False,
        timings={"total": 0.5},
        source=label,
    )


def _findings(writer: int, scan: int) -> list[StoredFinding]:
    return [
        StoredFinding(
            f"{writer:02d}{scan:03d}{i:04d}",
            "F401",
            "unused-import",
            "warning",
            f"m{i}.py",
            i + 1,
            0,
            i + 1,
            9,
            "`os` imported but unused",
            True,
        )
        for i in range(FINDINGS_PER_SCAN)
    ]


def _writer(path: str, writer: int, start: multiprocessing.synchronize.Event) -> None:
    start.wait()
    with open_store(path=Path(path)) as store:
        for scan in range(SCANS_PER_WRITER):
            store.record_scan(_scan(f"writer{writer}"), _findings(writer, scan))
            store.store_analyses(
                [BlobAnalysis(f"{writer:02d}{scan:03d}".ljust(40, "0"), "x.py", "rs", 1, ())]
            )


def test_concurrent_writers_lose_nothing(tmp_path):
    path = tmp_path / ".ems" / "ems.db"  # not created yet: the writers race on the migration too
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    procs = [ctx.Process(target=_writer, args=(str(path), w, start)) for w in range(WRITERS)]
    for p in procs:
        p.start()
    start.set()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with open_store(path=path) as store:
        scans = store.scans(limit=1000)
        assert len(scans) == WRITERS * SCANS_PER_WRITER
        assert {s.finding_count for s in scans} == {FINDINGS_PER_SCAN}
        assert store.analysis_count() == WRITERS * SCANS_PER_WRITER
        assert store.schema_version == SCHEMA_VERSION


def test_one_store_shared_by_threads(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    with open_store(tmp_path) as store:

        def write(n: int) -> int:
            return store.record_scan(_scan(f"thread{n}"), _findings(n, 0))

        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(write, range(40)))
        assert len(set(ids)) == 40
        assert len(store.scans(limit=100)) == 40


def test_a_scan_and_its_findings_round_trip(tmp_path):
    report = analyse("import os\nif x == None:\n    pass\n", "app.py")
    with open_store(tmp_path) as store:
        scan_id = store.record_scan(_scan("check"), report.findings)
        [scan] = store.scans()
        stored = store.scan_findings(scan_id)
    assert scan.id == scan_id and scan.branch == "main" and scan.dirty is False
    assert scan.timings == {"total": 0.5} and scan.finding_count == len(report.findings)
    assert {(s.code, s.line, s.fingerprint) for s in stored} == {
        (f.code, f.line, f.fingerprint) for f in report.findings
    }
    assert (tmp_path / ".ems" / ".gitignore").read_text().strip().endswith("*")


def test_wal_mode_and_schema_version_table(tmp_path):
    with open_store(tmp_path) as store:
        assert store.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(tmp_path / ".ems" / "ems.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    with open_store(tmp_path) as store:  # reopening applies nothing twice
        assert store.schema_version == SCHEMA_VERSION


def test_blob_cache_round_trip(tmp_path):
    finding = CachedFinding(
        "E711", "none-comparison", "warning", 2, 5, 2, 14, "use is", "abcd", "if x == None:"
    )
    with open_store(tmp_path) as store:
        store.store_analyses([BlobAnalysis("b" * 40, "a.py", "rs1", 3, (finding,))])
        hit = store.cached_analyses([("b" * 40, "a.py")], "rs1")
        assert hit[("b" * 40, "a.py")].findings == (finding,)
        assert store.cached_analyses([("b" * 40, "a.py")], "other-rules") == {}
        assert store.cached_analyses([("b" * 40, "b.py")], "rs1") == {}


def test_newer_schema_is_refused_and_left_untouched(tmp_path):
    with open_store(tmp_path):
        pass
    path = tmp_path / ".ems" / "ems.db"
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO schema_version VALUES (?, 'from the future', 'later')", (SCHEMA_VERSION + 5,))
    conn.commit()
    conn.close()
    before = path.read_bytes()
    with pytest.raises(StoreSchemaError, match="newer ems") as info:
        open_store(tmp_path)
    assert "Upgrade ems" in str(info.value)
    assert path.read_bytes() == before


def test_corrupt_store_is_moved_aside_and_started_anew(tmp_path, capsys):
    path = tmp_path / ".ems" / "ems.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not sqlite" * 300)
    with pytest.raises(StoreCorruptError, match="Nothing was deleted"):
        open_store(tmp_path, recover=False)  # what `ems doctor` does: only look
    assert path.read_bytes().startswith(b"this is not sqlite")
    assert capsys.readouterr().err == ""
    with open_store(tmp_path) as store:  # everything else: the one policy
        assert store.recovered_from is not None
        assert store.recovered_from.read_bytes().startswith(b"this is not sqlite")
        assert store.schema_version == SCHEMA_VERSION
    assert f"moved it to {store.recovered_from}" in capsys.readouterr().err


def test_lock_held_too_long_gives_a_clear_error(tmp_path):
    with open_store(tmp_path):
        pass
    blocker = sqlite3.connect(tmp_path / ".ems" / "ems.db", isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with open_store(tmp_path, timeout=0.3) as store:
            started = time.monotonic()
            with pytest.raises(StoreLockedError, match="locked by another process"):
                store.record_scan(_scan("check"), [])
            assert time.monotonic() - started < 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()


def test_cli_history_recovers_a_damaged_store(tmp_path, capsys):
    import subprocess

    from ems.cli.main import main
    from ems.gitinfo.repo import close_repositories

    repo = tmp_path / "r"
    repo.mkdir()
    env_args = ["-c", "user.name=T", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    (repo / "a.py").write_text("import os\n")
    subprocess.run(["git", "add", "."], cwd=repo, check=True)
    subprocess.run(["git", *env_args, "commit", "-qm", "one"], cwd=repo, check=True)
    (repo / ".ems").mkdir()
    (repo / ".ems" / "ems.db").write_bytes(b"garbage" * 1000)
    try:
        assert main(["history", str(repo)]) == 0
        assert "moved it to" in capsys.readouterr().err
        assert main(["history", str(repo), "--recover-store"]) == 0  # still accepted
        assert "moved it to" not in capsys.readouterr().err
    finally:
        close_repositories()
    assert list((repo / ".ems").glob("ems.db.corrupt-*"))


def test_a_store_walked_before_the_walk_list_gets_its_commits_in_time_order(tmp_path):
    """Migration 6 lists the walked commits; a store recorded before it lists the commits
    it knows by time (what the History page showed then), and a new walk replaces them."""
    from ems.gitinfo.figures import recorded_figures
    from ems.store import CommitRow, HistoryEvent

    path = tmp_path / "ems.db"
    commits = [
        CommitRow("b" * 40, (), "Bo", "b@x", 200, "two"),
        CommitRow("a" * 40, (), "Al", "a@x", 100, "one"),
    ]
    event = HistoryEvent("a" * 40, "introduced", "fp", "F401", "m.py", 1, "unused")
    with open_store(path=path) as store:
        store.replace_history(
            root="/r",
            head_sha="b" * 40,
            branch="main",
            options={},
            ruleset_hash="h",
            commits=commits,
            walk=["b" * 40],  # a narrower walk than the commits the store knows
            events=[event],
            lifetimes=[],
            analysed=1,
            duration_s=0.1,
        )
        assert [c.sha for c in recorded_figures(store).commits] == ["b" * 40]
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE history_walk")
    for table in ("import_facts", "import_answers", "import_state"):  # migration 7's
        conn.execute(f"DROP TABLE {table}")
    conn.execute("DELETE FROM schema_version WHERE version >= 6")
    conn.commit()
    conn.close()
    with open_store(path=path) as store:
        assert store.schema_version == SCHEMA_VERSION
        figures = recorded_figures(store)
    assert [(c.sha[0], c.introduced, c.open) for c in figures.commits] == [("a", 1, 1), ("b", 0, 1)]
