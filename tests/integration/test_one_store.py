"""One store per project: everything ems keeps is in ``.ems/ems.db``, with one corruption
policy (moved aside, started anew, said, recorded), and nothing lost by a partial run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sample_projects import cached_results, ems, ems_test, make_project

SOURCE = {
    "pkg/__init__.py": "",
    "pkg/a.py": "import os\n\n\ndef f(x=[]):\n    return x\n",
    "pkg/b.py": 'name = f"x"\nif name == None:\n    pass\n',
    "other/c.py": "import sys\n",
    "test_pkg.py": "from pkg.a import f\n\n\ndef test_f():\n    assert f() == []\n",
}


def _sqlite_files(root: Path) -> list[str]:
    """The SQLite databases under ``.ems`` (any file that starts like one)."""
    found = []
    for path in sorted((root / ".ems").rglob("*")):
        if path.is_file() and path.read_bytes()[:16] == b"SQLite format 3\x00":
            found.append(path.relative_to(root).as_posix())
    return found


def _rows(root: Path, sql: str) -> list[tuple[object, ...]]:
    conn = sqlite3.connect(root / ".ems" / "ems.db")
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def test_check_history_and_test_runs_share_one_database_file(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", SOURCE)
    assert ems(root, "check", ".").returncode == 1
    assert ems(root, "check", "--record", ".").returncode == 1
    assert ems(root, "history", ".").returncode == 0
    code, summary, err = ems_test(root)
    assert code == 0 and summary["counts"]["passed"] == 1, err
    assert _sqlite_files(root) == [".ems/ems.db"]
    assert not (root / ".ems" / "cache").exists()
    counts = _rows(
        root,
        "SELECT (SELECT COUNT(*) FROM result_entries), (SELECT COUNT(*) FROM scans),"
        " (SELECT COUNT(*) FROM history_runs), (SELECT COUNT(*) FROM test_runs)",
    )
    assert counts == [(5, 1, 1, 1)], counts


def test_a_corrupt_store_is_moved_aside_and_rebuilt_with_its_cache(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", SOURCE)
    cold = ems(root, "check", "--no-cache", ".")
    ems(root, "check", ".")
    database = root / ".ems" / "ems.db"
    for side in ("ems.db-wal", "ems.db-shm"):
        (root / ".ems" / side).unlink(missing_ok=True)
    database.write_bytes(b"garbage, not SQLite " * 500)
    damaged = ems(root, "check", ".")
    assert (damaged.returncode, damaged.stdout) == (cold.returncode, cold.stdout)
    (aside,) = (root / ".ems").glob("ems.db.corrupt-*")
    assert aside.read_bytes().startswith(b"garbage")  # kept, never deleted
    assert damaged.stderr.count("was damaged") == 1 and aside.name in damaged.stderr
    assert cached_results(root) == 5  # the cache is rebuilt in the new store
    (event,) = _rows(root, "SELECT kind, reason FROM monitor_events")
    assert event[0] == "store_recoveries" and aside.name in str(event[1])
    warm = ems(root, "check", ".")
    assert (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, "")


def test_an_old_cache_folder_is_removed_once(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", SOURCE)
    folder = root / ".ems" / "cache"
    folder.mkdir(parents=True)
    (folder / ".gitignore").write_text("# created by ems: the cache is never committed\n*\n")
    old = sqlite3.connect(folder / "results.sqlite")
    old.execute("CREATE TABLE entries (path TEXT, settings TEXT, payload TEXT)")
    old.commit()
    old.close()
    cold = ems(root, "check", "--no-cache", ".")
    first = ems(root, "check", ".")
    assert first.stdout == cold.stdout
    assert not folder.exists() and first.stderr.count("removed the old") == 1, first.stderr
    again = ems(root, "check", ".")
    assert again.stdout == cold.stdout and again.stderr == ""
    assert _sqlite_files(root) == [".ems/ems.db"]


def test_a_partial_run_loses_nothing(tmp_path: Path) -> None:
    """Checking one folder keeps the other files' cached results: the next whole run is warm."""
    root = make_project(tmp_path / "p", SOURCE)
    whole = ems(root, "check", ".")
    before = _rows(root, "SELECT path, settings, digest, payload FROM result_entries ORDER BY path")
    part = ems(root, "check", "pkg")
    assert part.returncode == 1 and "other/c.py" not in part.stdout
    assert _rows(root, "SELECT path, settings, digest, payload FROM result_entries ORDER BY path") == before
    assert ems(root, "check", "--record", "other").returncode == 1
    assert ems(root, "history", "other").returncode == 0  # a history of one folder
    assert _rows(root, "SELECT path, settings, digest, payload FROM result_entries ORDER BY path") == before
    again = ems(root, "check", ".")
    assert (again.returncode, again.stdout) == (whole.returncode, whole.stdout)
