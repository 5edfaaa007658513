"""Two processes that find the same damaged store at the same moment recover it once.

Real processes on a real SQLite store, damaged in two ways: its header overwritten (found
on opening) and a page overwritten (found only by reading it, as the result cache does).
Each child waits at a start line, then opens the store; the store's ``move_aside`` is
slowed by a second in the children so both have found the damage before either moves it
(the window in which, before the recovery lock, the second moved the first's new store
aside too, or overwrote the first's copy of the damaged file in the same second).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ems.store import ScanRecord, open_store

CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path

    import ems.store.db as db

    real_move_aside = db.move_aside

    def slow_move_aside(path):
        time.sleep(1.0)  # the other process finds the damage meanwhile
        return real_move_aside(path)

    db.move_aside = slow_move_aside
    store_path, start, label, how = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    while not start.exists():
        time.sleep(0.002)
    if how == "open":  # damage found on opening
        store = db.Store(store_path)
    else:  # damage found mid-use (the result cache's path): the file it read is the damaged one
        store = db.recover(store_path, damaged=db.file_id(store_path))
    with store:
        store.record_scan(db.ScanRecord(root="/p", ems_version="t", config_hash="c", files=1,
                                        duration_s=0.1, source=label), [])
    """
)


def _store_with_a_scan(path: Path) -> None:
    with open_store(path=path) as store:
        for n in range(50):
            store.record_scan(
                ScanRecord(root="/p", ems_version="t", config_hash="c", files=n, duration_s=0.1), []
            )
    for suffix in ("-wal", "-shm"):
        assert not path.with_name(path.name + suffix).exists()  # checkpointed on close


def _race(path: Path, how: str) -> list[subprocess.CompletedProcess[str]]:
    start = path.with_name("start")
    children = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(start), label, how],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for label in ("first", "second")
    ]
    time.sleep(1.0)  # both children started and waiting at the line
    start.touch()
    done = []
    for child in children:
        out, err = child.communicate(timeout=120)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def _check_one_recovery(path: Path, damaged: bytes, done: list[subprocess.CompletedProcess[str]]) -> None:
    assert [d.returncode for d in done] == [0, 0], [d.stderr for d in done]
    said = [d.stderr for d in done if "was damaged; moved it to" in d.stderr]
    assert len(said) == 1, [d.stderr for d in done]  # one recovery, said once
    moved = [p for p in path.parent.glob("ems.db.corrupt-*") if not p.name.endswith(("-wal", "-shm"))]
    assert len(moved) == 1, moved  # moved aside once: the new store was not
    assert moved[0].read_bytes() == damaged  # the damaged file itself, kept whole
    with open_store(path=path) as store:  # both wrote to the one new store: neither was moved aside
        assert sorted(s.source for s in store.scans()) == ["first", "second"]
        assert store.integrity() == "ok"


def test_two_processes_finding_a_damaged_header_recover_it_once(tmp_path: Path) -> None:
    path = tmp_path / ".ems" / "ems.db"
    _store_with_a_scan(path)
    with open(path, "r+b") as handle:
        handle.write(b"this is not an SQLite header")
    damaged = path.read_bytes()
    _check_one_recovery(path, damaged, _race(path, "open"))


def test_two_processes_finding_a_damaged_page_recover_it_once(tmp_path: Path) -> None:
    path = tmp_path / ".ems" / "ems.db"
    _store_with_a_scan(path)
    size = path.stat().st_size
    page = 4096
    assert size >= 4 * page
    with open(path, "r+b") as handle:  # a b-tree page of the scans table overwritten
        handle.seek(size - 2 * page)
        handle.write(os.urandom(page))
    damaged = path.read_bytes()
    _check_one_recovery(path, damaged, _race(path, "read"))
