"""How ems opens its store, ``.ems/ems.db``: the one place that sets up a connection.

Several processes write the store at once (the language server, the dashboard's watcher,
``ems check``), so every connection is set up alike: WAL (readers never block the writer),
a busy timeout (a writer waits for the lock instead of failing), ``synchronous=NORMAL``
(durable at each checkpoint, fast commits) and foreign keys on. Kept free of the store's
record types so the warm ``ems check`` path (``ems.store.cache``) imports only this.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

STORE_DIR = ".ems"
STORE_FILE = "ems.db"


def default_store_path(root: Path) -> Path:
    return root / STORE_DIR / STORE_FILE


def connect(path: Path, timeout: float) -> sqlite3.Connection:
    """A connection to the store file ``path`` (created with its folder if missing).

    Autocommit mode (``isolation_level=None``): callers open their own short
    ``BEGIN IMMEDIATE`` transactions. One connection may serve several threads (the
    language server's workers) when its user serialises them. Raises ``sqlite3.Error`` (a
    damaged file: ``is_damaged``) or ``OSError``.
    """
    folder = path.parent
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if folder.name == STORE_DIR and not ignore.exists():
        with contextlib.suppress(OSError):
            ignore.write_text("# created by ems: the store is local, never commit it\n*\n")
    conn = sqlite3.connect(path, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        conn.execute(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")  # not WAL in a read-only folder: still usable
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def is_damaged(exc: BaseException) -> bool:
    """Whether SQLite says the file is not a (sound) database: the store must be rebuilt."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    text = str(exc).lower()
    return "not a database" in text or "malformed" in text or "corrupt" in text


def move_aside(path: Path) -> Path:
    """Move a damaged store (and its WAL files) to ``<name>.corrupt-<time>``; never delete it."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target
