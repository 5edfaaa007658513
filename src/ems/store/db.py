"""The project store: one SQLite file (default ``.ems/ems.db``) behind one module.

Every face (CLI, language server, dashboard) goes through ``Store`` so the file could
later be replaced by a team-wide server database without touching them.

Why it looks like this:

* WAL mode + a busy timeout + ``BEGIN IMMEDIATE`` for every write: several processes
  (CLI, server, dashboard) can read and write at once without "database is locked"
  errors or lost writes; a writer waits for the lock instead of failing half-way.
* The schema is versioned in code (``MIGRATIONS``); opening a store applies the missing
  migrations inside one write transaction, so two processes opening a fresh store at the
  same time cannot both create the tables.
* One corruption policy for the whole store (the result cache included): a damaged file
  is never deleted but moved aside (``ems.db.corrupt-<time>``), a new store is started,
  stderr says so and the new store's first event records it (``recover``). Everything in
  it (scan records, history, caches) can be rebuilt.
* Connections are set up in one place, ``ems.store.connection`` (WAL, busy timeout).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import sys
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ems.core.model import Finding
from ems.store.connection import (
    STORE_DIR,
    STORE_FILE,
    FileId,
    connect,
    default_store_path,
    file_id,
    is_damaged,
    move_aside,
    recovery_lock,
)

__all__ = ["STORE_DIR", "STORE_FILE", "default_store_path"]  # their home is ems.store.connection

DEFAULT_TIMEOUT = 30.0

# (version, description, statements). Append only: never edit a released migration.
MIGRATIONS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (
        1,
        "scans, findings, blob analysis cache, commits, history, blame cache",
        (
            """CREATE TABLE scans (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                started_at TEXT NOT NULL,
                root TEXT NOT NULL,
                commit_sha TEXT,
                branch TEXT,
                dirty INTEGER,
                ems_version TEXT NOT NULL,
                config_hash TEXT NOT NULL,
                source TEXT NOT NULL,
                files INTEGER NOT NULL,
                duration_s REAL NOT NULL,
                timings TEXT NOT NULL
            )""",
            """CREATE TABLE findings (
                scan_id INTEGER NOT NULL REFERENCES scans(id) ON DELETE CASCADE,
                fingerprint TEXT NOT NULL,
                code TEXT NOT NULL,
                name TEXT NOT NULL,
                severity TEXT NOT NULL,
                path TEXT NOT NULL,
                line INTEGER NOT NULL,
                column INTEGER NOT NULL,
                end_line INTEGER NOT NULL,
                end_column INTEGER NOT NULL,
                message TEXT NOT NULL,
                fixable INTEGER NOT NULL
            )""",
            "CREATE INDEX findings_scan ON findings(scan_id)",
            "CREATE INDEX findings_fingerprint ON findings(fingerprint)",
            """CREATE TABLE blob_analysis (
                blob_sha TEXT NOT NULL,
                path TEXT NOT NULL,
                ruleset_hash TEXT NOT NULL,
                lines INTEGER NOT NULL,
                findings TEXT NOT NULL,
                created_at TEXT NOT NULL,
                PRIMARY KEY (blob_sha, path, ruleset_hash)
            ) WITHOUT ROWID""",
            """CREATE TABLE commits (
                sha TEXT PRIMARY KEY,
                parents TEXT NOT NULL,
                author TEXT NOT NULL,
                email TEXT NOT NULL,
                timestamp INTEGER NOT NULL,
                summary TEXT NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE history_runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                started_at TEXT NOT NULL,
                root TEXT NOT NULL,
                head_sha TEXT NOT NULL,
                branch TEXT,
                options TEXT NOT NULL,
                ruleset_hash TEXT NOT NULL,
                commits INTEGER NOT NULL,
                analysed INTEGER NOT NULL,
                duration_s REAL NOT NULL
            )""",
            """CREATE TABLE history (
                fingerprint TEXT NOT NULL,
                origin TEXT NOT NULL,
                code TEXT NOT NULL,
                path TEXT NOT NULL,
                line INTEGER NOT NULL,
                message TEXT NOT NULL,
                introduced_sha TEXT,
                boundary_sha TEXT,
                removed_sha TEXT,
                seq INTEGER NOT NULL
            )""",
            "CREATE INDEX history_fingerprint ON history(fingerprint)",
            """CREATE TABLE history_events (
                commit_sha TEXT NOT NULL,
                kind TEXT NOT NULL CHECK (kind IN ('introduced', 'removed')),
                fingerprint TEXT NOT NULL,
                code TEXT NOT NULL,
                path TEXT NOT NULL,
                line INTEGER NOT NULL,
                message TEXT NOT NULL
            )""",
            "CREATE INDEX history_events_commit ON history_events(commit_sha)",
            """CREATE TABLE blame_cache (
                path TEXT NOT NULL,
                blob_sha TEXT NOT NULL,
                line INTEGER NOT NULL,
                commit_sha TEXT NOT NULL,
                author TEXT NOT NULL,
                email TEXT NOT NULL,
                timestamp INTEGER NOT NULL,
                summary TEXT NOT NULL,
                PRIMARY KEY (path, blob_sha, line)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        2,
        "lines of Python per scan (the health rating is per 1,000 lines); counts per scan by index",
        (
            "ALTER TABLE scans ADD COLUMN lines INTEGER",
            # the dashboard's counts by severity and rule read this index, not the rows
            "CREATE INDEX findings_scan_code ON findings(scan_id, code, severity, fixable)",
        ),
    ),
    (
        3,
        "test runs, captured program runs, failures, failure groups and their states, coverage",
        (
            """CREATE TABLE test_runs (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                kind TEXT NOT NULL CHECK (kind IN ('test', 'run')),
                started_at TEXT NOT NULL,
                finished_at TEXT,
                root TEXT NOT NULL,
                command TEXT NOT NULL,
                commit_sha TEXT,
                branch TEXT,
                dirty INTEGER,
                code_state TEXT,
                status TEXT NOT NULL,
                exit_code INTEGER,
                duration_s REAL,
                passed INTEGER NOT NULL DEFAULT 0,
                failed INTEGER NOT NULL DEFAULT 0,
                errors INTEGER NOT NULL DEFAULT 0,
                skipped INTEGER NOT NULL DEFAULT 0,
                xfailed INTEGER NOT NULL DEFAULT 0,
                xpassed INTEGER NOT NULL DEFAULT 0,
                message TEXT,
                ems_version TEXT NOT NULL
            )""",
            """CREATE TABLE test_results (
                run_id INTEGER NOT NULL REFERENCES test_runs(id) ON DELETE CASCADE,
                nodeid TEXT NOT NULL,
                outcome TEXT NOT NULL,
                duration_s REAL NOT NULL,
                path TEXT,
                line INTEGER
            )""",
            "CREATE INDEX test_results_run ON test_results(run_id)",
            "CREATE INDEX test_results_nodeid ON test_results(nodeid)",
            """CREATE TABLE failures (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                run_id INTEGER NOT NULL REFERENCES test_runs(id) ON DELETE CASCADE,
                fingerprint TEXT NOT NULL,
                nodeid TEXT NOT NULL,
                stage TEXT NOT NULL,
                exc_type TEXT NOT NULL,
                message TEXT NOT NULL,
                crash_path TEXT,
                crash_line INTEGER,
                crash_function TEXT,
                logger TEXT,
                data TEXT NOT NULL,
                recorded_at TEXT NOT NULL
            )""",
            "CREATE INDEX failures_run ON failures(run_id)",
            "CREATE INDEX failures_fingerprint ON failures(fingerprint)",
            """CREATE TABLE failure_groups (
                fingerprint TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                exc_type TEXT NOT NULL,
                message TEXT NOT NULL,
                crash_path TEXT,
                crash_line INTEGER,
                crash_function TEXT,
                crash_source TEXT,
                state TEXT NOT NULL,
                first_run_id INTEGER NOT NULL,
                first_seen TEXT NOT NULL,
                first_commit TEXT,
                last_run_id INTEGER NOT NULL,
                last_seen TEXT NOT NULL,
                last_commit TEXT,
                state_run_id INTEGER NOT NULL,
                occurrences INTEGER NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE group_states (
                run_id INTEGER NOT NULL REFERENCES test_runs(id) ON DELETE CASCADE,
                fingerprint TEXT NOT NULL,
                state TEXT NOT NULL,
                failures INTEGER NOT NULL,
                PRIMARY KEY (run_id, fingerprint)
            ) WITHOUT ROWID""",
            """CREATE TABLE coverage_files (
                run_id INTEGER NOT NULL REFERENCES test_runs(id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                statements INTEGER NOT NULL,
                covered INTEGER NOT NULL,
                missing TEXT NOT NULL,
                percent REAL NOT NULL,
                PRIMARY KEY (run_id, path)
            ) WITHOUT ROWID""",
        ),
    ),
    (
        4,
        "monitor: processes, resource and latency samples, recovery events",
        (
            # epoch seconds (REAL) throughout: the monitor compares and buckets times
            """CREATE TABLE monitor_processes (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                pid INTEGER NOT NULL,
                kind TEXT NOT NULL,
                host TEXT NOT NULL,
                started_at REAL NOT NULL,
                version TEXT NOT NULL,
                project TEXT NOT NULL,
                interval_s REAL NOT NULL,
                memory_limit INTEGER,
                heartbeat_at REAL NOT NULL,
                stopped_at REAL
            )""",
            """CREATE TABLE monitor_samples (
                process_id INTEGER NOT NULL REFERENCES monitor_processes(id) ON DELETE CASCADE,
                at REAL NOT NULL,
                span_s REAL NOT NULL,
                cpu_percent REAL NOT NULL,
                rss INTEGER NOT NULL,
                threads INTEGER NOT NULL,
                open_files INTEGER NOT NULL,
                analyses INTEGER,
                latency_p50_ms REAL,
                latency_p95_ms REAL,
                latency_max_ms REAL,
                queue_depth INTEGER,
                cache_hit_rate REAL,
                files_per_s REAL,
                action_p50_ms REAL,
                action_max_ms REAL
            )""",
            "CREATE INDEX monitor_samples_process_at ON monitor_samples(process_id, at)",
            "CREATE INDEX monitor_samples_at ON monitor_samples(at)",
            """CREATE TABLE monitor_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                process_id INTEGER REFERENCES monitor_processes(id) ON DELETE SET NULL,
                at REAL NOT NULL,
                kind TEXT NOT NULL,
                reason TEXT NOT NULL
            )""",
            "CREATE INDEX monitor_events_at ON monitor_events(at)",
        ),
    ),
    (
        5,
        "the result cache moves in (it was .ems/cache/results.sqlite): reports per (settings, path),"
        " renderings per renderer, settings keys in use",
        (
            # ems.store.cache reads and writes these; payload and view are opaque to SQL.
            """CREATE TABLE result_entries (
                settings TEXT NOT NULL,
                path TEXT NOT NULL,
                size INTEGER,
                mtime_ns INTEGER,
                ctime_ns INTEGER,
                inode INTEGER,
                digest TEXT NOT NULL,
                payload TEXT NOT NULL,
                checksum TEXT NOT NULL,
                PRIMARY KEY (settings, path)
            ) WITHOUT ROWID""",
            """CREATE TABLE result_views (
                settings TEXT NOT NULL,
                path TEXT NOT NULL,
                renderer TEXT NOT NULL,
                digest TEXT NOT NULL,
                view TEXT NOT NULL,
                checksum TEXT NOT NULL,
                PRIMARY KEY (settings, path, renderer)
            ) WITHOUT ROWID""",
            "CREATE TABLE result_settings (settings TEXT PRIMARY KEY, used_ns INTEGER NOT NULL) WITHOUT ROWID",
        ),
    ),
    (
        6,
        "the recorded walk's commits in walk order (commits keeps every commit ever seen)",
        (
            "CREATE TABLE history_walk (seq INTEGER PRIMARY KEY, sha TEXT NOT NULL)",
            # A store walked before this version: its commits, as the History page then showed them.
            "INSERT INTO history_walk (sha) SELECT sha FROM commits ORDER BY timestamp, sha",
        ),
    ),
    (
        7,
        "the project's import index (ems.store.imports): per module file its import facts, per"
        " asked module its answer (the names others import from it), and the stats they hold for",
        (
            """CREATE TABLE import_facts (
                path TEXT PRIMARY KEY,
                size INTEGER,
                mtime_ns INTEGER,
                words TEXT NOT NULL,
                imports TEXT
            ) WITHOUT ROWID""",
            """CREATE TABLE import_answers (
                path TEXT PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                names TEXT NOT NULL
            ) WITHOUT ROWID""",
            """CREATE TABLE import_state (
                root TEXT PRIMARY KEY,
                fingerprint TEXT NOT NULL,
                racy INTEGER NOT NULL,
                packages TEXT NOT NULL
            ) WITHOUT ROWID""",
        ),
    ),
    (
        8,
        "import index read again: star imports count as re-exports (facts stored before left them out)",
        (
            "DELETE FROM import_answers",
            "DELETE FROM import_facts",
            "DELETE FROM import_state",
        ),
    ),
)
SCHEMA_VERSION = MIGRATIONS[-1][0]
RESULT_CACHE_VERSION = 5  # the migration that moved the result cache in (``_migrate``)


class StoreError(RuntimeError):
    """The store cannot be used; the message says why and what to do."""


class StoreCorruptError(StoreError):
    pass


class StoreLockedError(StoreError):
    pass


class StoreSchemaError(StoreError):
    pass


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# ---------------------------------------------------------------- records


@dataclass(frozen=True)
class ScanRecord:
    """One ``ems check --record`` (or server) scan, before its findings."""

    root: str
    ems_version: str
    config_hash: str
    files: int
    duration_s: float
    source: str = "check"
    commit_sha: str | None = None
    branch: str | None = None
    dirty: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    started_at: str = field(default_factory=_now)
    lines: int | None = None  # lines of the files scanned (None: not counted)


@dataclass(frozen=True)
class StoredFinding:
    """A finding as the store keeps it (plain values, no rule objects)."""

    fingerprint: str
    code: str
    name: str
    severity: str
    path: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fixable: bool = False

    @classmethod
    def of(cls, finding: Finding) -> StoredFinding:
        """The row of a finding; ``fixable``: ``ems fix`` would fix it (its fixability)."""
        start, end = finding.range.start, finding.range.end
        return cls(
            finding.fingerprint,
            finding.code,
            finding.name,
            finding.severity.value,
            finding.path,
            start.line,
            start.column,
            end.line,
            end.column,
            finding.message,
            finding.fixability is not None and finding.fixability.applied,
        )


@dataclass(frozen=True)
class Scan:
    id: int
    started_at: str
    root: str
    commit_sha: str | None
    branch: str | None
    dirty: bool | None
    ems_version: str
    config_hash: str
    source: str
    files: int
    duration_s: float
    timings: dict[str, float]
    finding_count: int = 0
    lines: int | None = None


@dataclass(frozen=True)
class CachedFinding:
    """One finding of an analysed blob; ``text`` is its normalised source line."""

    code: str
    name: str
    severity: str
    line: int
    column: int
    end_line: int
    end_column: int
    message: str
    fingerprint: str
    text: str


@dataclass(frozen=True)
class BlobAnalysis:
    blob_sha: str
    path: str
    ruleset_hash: str
    lines: int
    findings: tuple[CachedFinding, ...]


@dataclass(frozen=True)
class CommitRow:
    sha: str
    parents: tuple[str, ...]
    author: str
    email: str
    timestamp: int
    summary: str

    @property
    def date(self) -> str:
        return datetime.fromtimestamp(self.timestamp, UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class HistoryEvent:
    commit_sha: str
    kind: str  # "introduced" | "removed"
    fingerprint: str
    code: str
    path: str
    line: int
    message: str


@dataclass(frozen=True)
class Lifetime:
    """One span of a finding's life: from introduction to removal (None: still there).

    ``origin`` is its fingerprint when introduced (it changes when the file is renamed).
    ``introduced_sha`` is None when it was already there before the walked commits; then
    ``boundary_sha`` is the oldest commit known to contain it ("at or before").
    """

    fingerprint: str
    origin: str
    code: str
    path: str
    line: int
    message: str
    introduced_sha: str | None
    boundary_sha: str | None
    removed_sha: str | None
    seq: int = 0


@dataclass(frozen=True)
class HistoryRun:
    id: int
    started_at: str
    root: str
    head_sha: str
    branch: str | None
    options: dict[str, object]
    ruleset_hash: str
    commits: int
    analysed: int
    duration_s: float


@dataclass(frozen=True)
class BlameLine:
    line: int
    commit_sha: str
    author: str
    email: str
    timestamp: int
    summary: str


# ---------------------------------------------------------------- the store


class Store:
    """A connection to one project store. Cheap to open; close it (or use ``with``).

    ``recover`` (the default): a damaged file is moved aside and a new store started
    (``recover``); False raises ``StoreCorruptError`` instead (``ems doctor`` only looks).
    """

    def __init__(self, path: Path, *, timeout: float = DEFAULT_TIMEOUT, recover: bool = True) -> None:
        self.path = Path(path)
        self.timeout = timeout
        self.recovered_from: Path | None = None
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.RLock()
        found = file_id(self.path)  # before opening: the file found damaged, if it is
        try:
            self._open()
        except StoreCorruptError:
            if not recover:
                raise
            self._start_over(found)

    # -- opening

    def _open(self) -> None:
        try:
            # One connection may serve several threads (the language server's workers);
            # ``_lock`` serialises its use, SQLite serialises the processes.
            conn = connect(self.path, self.timeout)
        except OSError as exc:
            raise StoreError(f"cannot open the ems store {self.path}: {exc}") from None
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc) from None
        self._conn = conn
        try:
            self._migrate()
        except sqlite3.DatabaseError as exc:
            conn.close()
            self._conn = None
            raise self._translate(exc) from None

    def _start_over(self, damaged: FileId | None) -> None:
        """The store's one corruption policy: the damaged file is moved aside (never
        deleted), a new store started, stderr told and the first event records it.

        Under the recovery lock, and only while the file in place is the one found damaged
        (``damaged``, its ``file_id``): when two processes find the same damage at once,
        the second finds the first's new store and uses it rather than moving it aside too.
        With ``damaged`` unknown (None), a file in place that opens and passes SQLite's
        quick check is kept."""
        self.close()
        try:
            with recovery_lock(self.path, self.timeout):
                if (damaged is None or file_id(self.path) != damaged) and self._sound():
                    return  # recovered by another process meanwhile: said and recorded there
                self.recovered_from = move_aside(self.path)
                self._open()
        except TimeoutError as exc:
            raise StoreLockedError(f"the ems store {self.path} is damaged and {exc}") from None
        except OSError as exc:  # e.g. a read-only folder: nothing was moved or deleted
            raise StoreError(
                f"the ems store {self.path} is damaged and cannot be moved aside: {exc}"
            ) from None
        # Every face must say so, and only the store knows: it writes the line itself.
        sys.stderr.write(
            f"ems: the store {self.path} was damaged; moved it to {self.recovered_from} and started a new one\n"
        )
        self._note_recovery(self.recovered_from)

    def _sound(self) -> bool:
        """Open the file in place if it opens and passes the quick check (else leave it closed)."""
        try:
            self._open()
            if self.integrity() == "ok":
                return True
        except StoreCorruptError:
            pass
        self.close()
        return False

    def _translate(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        lowered = text.lower()
        if "locked" in lowered or "busy" in lowered:
            return StoreLockedError(
                f"the ems store {self.path} stayed locked by another process for {self.timeout:g} s. "
                "Another ems (a long `ems history`, the server or the dashboard) may be writing; "
                "try again when it has finished. If no other ems is running, the lock is stale "
                "(e.g. a crashed process on a network file system): copy the file elsewhere and retry."
            )
        if is_damaged(exc):
            return StoreCorruptError(
                f"the ems store {self.path} is damaged ({text}). Nothing was deleted. "
                "Its content (recorded scans, history, caches) can be rebuilt: the next ems "
                f"command that opens it moves it to {self.path.name}.corrupt-<time> and starts "
                "a new store (or move the file aside yourself)."
            )
        return StoreError(f"the ems store {self.path} failed: {text}")

    def _note_recovery(self, moved_to: Path) -> None:
        """The new store's first event says why it is new (the Monitor page and doctor show it)."""
        from ems.store.monitor import STORE_RECOVERY, record_event

        with contextlib.suppress(StoreError, sqlite3.Error):
            record_event(
                self,
                STORE_RECOVERY,
                f"the store was damaged; moved aside to {moved_to.name}, new store started",
            )

    def _version(self) -> int:
        conn = self._connection
        exists = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if not exists:
            return 0
        row = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _migrate(self) -> None:
        version = self._version()
        if version > SCHEMA_VERSION:
            from ems import __version__

            raise StoreSchemaError(
                f"the ems store {self.path} has schema version {version}, written by a newer ems; "
                f"this ems ({__version__}) knows versions up to {SCHEMA_VERSION}. Upgrade ems "
                "(pip install -U error-management-system), or use another store file "
                "(--store PATH). The file was left untouched."
            )
        if version == SCHEMA_VERSION:
            return
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_version ("
                "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            current = version = self._version()  # re-read under the write lock: another process may have won
            for number, description, statements in MIGRATIONS:
                if number <= current:
                    continue
                for statement in statements:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)",
                    (number, description, _now()),
                )
        if version < RESULT_CACHE_VERSION and self.path.parent.name == STORE_DIR:
            # The cache's old file is not migrated: its rows are rebuilt as files are checked.
            from ems.store.cache import retire_legacy_cache

            with contextlib.suppress(OSError):
                retire_legacy_cache(self.path.parent.parent)

    @property
    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            raise StoreError(f"the ems store {self.path} is closed")
        return self._conn

    @property
    def schema_version(self) -> int:
        return self._version()

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction that takes the lock up front (no deadlock on upgrade)."""
        with self._lock:
            yield from self._locked_transaction()

    def _locked_transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self._connection
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() > deadline:
                    raise self._translate(exc) from None
                time.sleep(0.05)
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            try:
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                conn.execute("ROLLBACK")
                raise self._translate(exc) from None

    def _query(self, sql: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        try:
            with self._lock:
                return self._connection.execute(sql, params).fetchall()
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc) from None

    def integrity(self) -> str:
        """SQLite's quick check of every page: "ok", or the first problem it found."""
        rows = self._query("PRAGMA quick_check")
        return str(rows[0][0]) if rows else "no answer"

    # -- scans

    def record_scan(self, scan: ScanRecord, findings: Iterable[Finding | StoredFinding]) -> int:
        """Record one scan and its findings (``Finding`` or ``StoredFinding``); returns its id."""
        rows = [f if isinstance(f, StoredFinding) else StoredFinding.of(f) for f in findings]
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO scans (started_at, root, commit_sha, branch, dirty, ems_version, config_hash,"
                " source, files, duration_s, timings, lines) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    scan.started_at,
                    scan.root,
                    scan.commit_sha,
                    scan.branch,
                    None if scan.dirty is None else int(scan.dirty),
                    scan.ems_version,
                    scan.config_hash,
                    scan.source,
                    scan.files,
                    scan.duration_s,
                    json.dumps(scan.timings, sort_keys=True),
                    scan.lines,
                ),
            )
            scan_id = int(cursor.lastrowid or 0)
            conn.executemany(
                "INSERT INTO findings (scan_id, fingerprint, code, name, severity, path, line, column,"
                " end_line, end_column, message, fixable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        scan_id,
                        r.fingerprint,
                        r.code,
                        r.name,
                        r.severity,
                        r.path,
                        r.line,
                        r.column,
                        r.end_line,
                        r.end_column,
                        r.message,
                        int(r.fixable),
                    )
                    for r in rows
                ],
            )
        return scan_id

    def scans(self, limit: int = 50) -> list[Scan]:
        """The most recent scans first, with their finding counts."""
        rows = self._query(
            "SELECT s.id, s.started_at, s.root, s.commit_sha, s.branch, s.dirty, s.ems_version, s.config_hash,"
            " s.source, s.files, s.duration_s, s.timings,"
            " (SELECT COUNT(*) FROM findings f WHERE f.scan_id = s.id), s.lines"
            " FROM scans s ORDER BY s.id DESC LIMIT ?",
            (limit,),
        )
        return [
            Scan(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                None if r[5] is None else bool(r[5]),
                r[6],
                r[7],
                r[8],
                r[9],
                r[10],
                json.loads(r[11]),
                r[12],
                r[13],
            )
            for r in rows
        ]

    def scan_findings(self, scan_id: int) -> list[StoredFinding]:
        rows = self._query(
            "SELECT fingerprint, code, name, severity, path, line, column, end_line, end_column, message,"
            " fixable FROM findings WHERE scan_id = ? ORDER BY path, line, column, code",
            (scan_id,),
        )
        return [
            StoredFinding(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], bool(r[10]))
            for r in rows
        ]

    # -- blob analysis cache

    def cached_analyses(
        self, keys: Iterable[tuple[str, str]], ruleset_hash: str
    ) -> dict[tuple[str, str], BlobAnalysis]:
        """Cached results for (blob sha, path) pairs analysed under ``ruleset_hash``."""
        wanted = list(dict.fromkeys(keys))
        found: dict[tuple[str, str], BlobAnalysis] = {}
        conn = self._connection
        try:
            with self._lock:
                conn.execute("CREATE TEMP TABLE IF NOT EXISTS wanted_blobs (blob_sha TEXT, path TEXT)")
                conn.execute("DELETE FROM wanted_blobs")
                conn.executemany("INSERT INTO wanted_blobs VALUES (?, ?)", wanted)
                rows = conn.execute(
                    "SELECT b.blob_sha, b.path, b.lines, b.findings FROM blob_analysis b"
                    " JOIN wanted_blobs w ON b.blob_sha = w.blob_sha AND b.path = w.path"
                    " WHERE b.ruleset_hash = ?",
                    (ruleset_hash,),
                ).fetchall()
                conn.execute("DELETE FROM wanted_blobs")
        except sqlite3.DatabaseError as exc:
            raise self._translate(exc) from None
        for blob, path, lines, payload in rows:
            findings = tuple(CachedFinding(*item) for item in json.loads(payload))
            found[(blob, path)] = BlobAnalysis(blob, path, ruleset_hash, lines, findings)
        return found

    def store_analyses(self, analyses: Iterable[BlobAnalysis]) -> None:
        created = _now()
        rows = [
            (
                a.blob_sha,
                a.path,
                a.ruleset_hash,
                a.lines,
                json.dumps([list(_finding_tuple(f)) for f in a.findings], ensure_ascii=False),
                created,
            )
            for a in analyses
        ]
        if not rows:
            return
        with self.transaction() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO blob_analysis (blob_sha, path, ruleset_hash, lines, findings, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )

    def analysis_count(self) -> int:
        return int(self._query("SELECT COUNT(*) FROM blob_analysis")[0][0])

    # -- commits and history

    def store_commits(self, commits: Iterable[CommitRow]) -> None:
        rows = [(c.sha, " ".join(c.parents), c.author, c.email, c.timestamp, c.summary) for c in commits]
        with self.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO commits VALUES (?, ?, ?, ?, ?, ?)", rows)

    def commits(self, shas: Iterable[str]) -> dict[str, CommitRow]:
        wanted = list(dict.fromkeys(s for s in shas if s))
        found: dict[str, CommitRow] = {}
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._query(f"SELECT * FROM commits WHERE sha IN ({marks})", chunk):
                found[r[0]] = CommitRow(r[0], tuple(r[1].split()), r[2], r[3], r[4], r[5])
        return found

    def replace_history(
        self,
        *,
        root: str,
        head_sha: str,
        branch: str | None,
        options: dict[str, object],
        ruleset_hash: str,
        commits: Sequence[CommitRow],
        walk: Sequence[str],
        events: Iterable[HistoryEvent],
        lifetimes: Iterable[Lifetime],
        analysed: int,
        duration_s: float,
        prefix: str = "",
    ) -> int:
        """Swap in the result of a history walk in one transaction (readers never see half).

        ``commits``: every commit the results name (the walked ones and the boundaries);
        ``walk``: the walked commits' shas, oldest first. ``prefix``: the walk covered only
        this repo-relative folder or file; the stored history of every other path is kept
        (a partial run must not destroy data it did not recompute), and so are the walked
        commits that history names (the list becomes both walks', by commit time)."""
        event_rows = [
            (e.commit_sha, e.kind, e.fingerprint, e.code, e.path, e.line, e.message) for e in events
        ]
        life_rows = [
            (
                x.fingerprint,
                x.origin,
                x.code,
                x.path,
                x.line,
                x.message,
                x.introduced_sha,
                x.boundary_sha,
                x.removed_sha,
                x.seq,
            )
            for x in lifetimes
        ]
        commit_rows = [
            (c.sha, " ".join(c.parents), c.author, c.email, c.timestamp, c.summary) for c in commits
        ]
        with self.transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO commits VALUES (?, ?, ?, ?, ?, ?)", commit_rows)
            if prefix:
                inside = prefix.rstrip("/") + "/"
                where = " WHERE path = ? OR substr(path, 1, ?) = ?"
                args = (prefix.rstrip("/"), len(inside), inside)
                conn.execute("DELETE FROM history_events" + where, args)
                conn.execute("DELETE FROM history" + where, args)
            else:
                conn.execute("DELETE FROM history_events")
                conn.execute("DELETE FROM history")
            shas = list(walk)
            if prefix:
                kept = dict(
                    conn.execute(
                        "SELECT w.sha, c.timestamp FROM history_walk w LEFT JOIN commits c ON c.sha = w.sha"
                    )
                )
                stamps = {**kept, **{c.sha: c.timestamp for c in commits}}
                shas = sorted(set(kept) | set(shas), key=lambda sha: (stamps.get(sha) or 0, sha))
            conn.execute("DELETE FROM history_walk")
            conn.executemany("INSERT INTO history_walk (sha) VALUES (?)", [(sha,) for sha in shas])
            conn.executemany("INSERT INTO history_events VALUES (?, ?, ?, ?, ?, ?, ?)", event_rows)
            conn.executemany("INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", life_rows)
            cursor = conn.execute(
                "INSERT INTO history_runs (started_at, root, head_sha, branch, options, ruleset_hash, commits,"
                " analysed, duration_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    root,
                    head_sha,
                    branch,
                    json.dumps(options, sort_keys=True),
                    ruleset_hash,
                    len(walk),  # the walked commits, not the boundaries ``commits`` also names
                    analysed,
                    duration_s,
                ),
            )
            return int(cursor.lastrowid or 0)

    def history_run(self) -> HistoryRun | None:
        """The walk whose results the history tables hold (the latest), or None."""
        rows = self._query("SELECT * FROM history_runs ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        r = rows[0]
        return HistoryRun(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), r[6], r[7], r[8], r[9])

    def lifetimes(self, fingerprints: Iterable[str] | None = None) -> list[Lifetime]:
        """History rows (all, or those whose latest fingerprint is in ``fingerprints``)."""
        sql = "SELECT * FROM history"
        if fingerprints is None:
            return [Lifetime(*r) for r in self._query(sql + " ORDER BY seq")]
        wanted = list(dict.fromkeys(fingerprints))
        result: list[Lifetime] = []
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            result.extend(
                Lifetime(*r) for r in self._query(f"{sql} WHERE fingerprint IN ({marks}) ORDER BY seq", chunk)
            )
        return result

    def events(self, commit_sha: str | None = None) -> list[HistoryEvent]:
        if commit_sha is None:
            rows = self._query("SELECT * FROM history_events")
        else:
            rows = self._query("SELECT * FROM history_events WHERE commit_sha = ?", (commit_sha,))
        return [HistoryEvent(*r) for r in rows]

    # -- blame cache

    def cached_blame(self, path: str, blob_sha: str, lines: Iterable[int]) -> dict[int, BlameLine]:
        wanted = sorted(set(lines))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        rows = self._query(
            "SELECT line, commit_sha, author, email, timestamp, summary FROM blame_cache"
            f" WHERE path = ? AND blob_sha = ? AND line IN ({marks})",
            (path, blob_sha, *wanted),
        )
        return {r[0]: BlameLine(*r) for r in rows}

    def store_blame(self, path: str, blob_sha: str, lines: Iterable[BlameLine]) -> None:
        rows = [
            (path, blob_sha, b.line, b.commit_sha, b.author, b.email, b.timestamp, b.summary) for b in lines
        ]
        if rows:
            with self.transaction() as conn:
                conn.executemany("INSERT OR REPLACE INTO blame_cache VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _finding_tuple(f: CachedFinding) -> tuple[object, ...]:
    return (
        f.code,
        f.name,
        f.severity,
        f.line,
        f.column,
        f.end_line,
        f.end_column,
        f.message,
        f.fingerprint,
        f.text,
    )


def open_store(
    root: Path | None = None,
    path: Path | None = None,
    *,
    recover: bool = True,
    timeout: float = DEFAULT_TIMEOUT,
) -> Store:
    """The store of the project at ``root`` (``root/.ems/ems.db``) or the file ``path``;
    a damaged one is moved aside and started anew unless ``recover`` is False."""
    if path is None:
        path = default_store_path(root or Path.cwd())
    return Store(path, recover=recover, timeout=timeout)


def recover(path: Path, timeout: float = DEFAULT_TIMEOUT, damaged: FileId | None = None) -> Store:
    """A damaged store found mid-use (e.g. by the result cache): moved aside and started
    anew, as ``Store`` does for one found damaged when opened. ``damaged``: the
    ``file_id`` of the file found damaged (None: unknown, then the file in place is moved
    aside unless it passes the quick check). Returns the store now in place."""
    store = Store(path, timeout=timeout)  # a file damaged in its header: recovered here
    if store.recovered_from is None:  # damaged further in: SQLite noticed only on reading
        store._start_over(damaged)
    return store
