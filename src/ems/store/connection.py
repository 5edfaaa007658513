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
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

if sys.platform == "win32":
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError: another process holds it
            return False
        return True


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


FileId = tuple[int, int]  # (device, inode): which file is in place, not what it holds


def file_id(path: Path) -> FileId | None:
    """The file now at ``path`` (None: there is none). A store found damaged is moved aside
    only while it is still the file in place: another process may have replaced it already."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


@contextlib.contextmanager
def recovery_lock(path: Path, timeout: float) -> Iterator[None]:
    """Held around moving the damaged store ``path`` aside and starting a new one, so two
    processes that find the same damage take turns: the second then finds the first's new
    store in place (``file_id`` changed) and uses it instead of moving it aside too.

    An advisory lock (``flock``) on ``<store>.recovery-lock``, released by the kernel when
    its holder exits or dies. The lock file is never deleted: deleting it would let a third
    process lock a new file while the second still holds the old one. Raises
    ``TimeoutError`` after ``timeout`` seconds.
    """
    fd = os.open(path.with_name(path.name + ".recovery-lock"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while not _try_lock(fd):
            if time.monotonic() > deadline:
                raise TimeoutError(f"another process kept recovering {path} for {timeout:g} s")
            time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # releases the lock


def move_aside(path: Path) -> Path:
    """Move a damaged store (and its WAL files) to ``<name>.corrupt-<time>``; never delete it
    (nor an earlier one moved aside the same second: that gets ``-2``, ``-3``...). Called
    under ``recovery_lock``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    count = 1
    while target.exists():
        count += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{count}")
    os.replace(path, target)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.replace(side, target.with_name(target.name + suffix))
    return target
