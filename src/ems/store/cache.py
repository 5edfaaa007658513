"""The persistent result cache: ``.ems/cache/results.sqlite`` at the project root.

Why it exists: most files of a project do not change between two runs, and analysing
them again is the expensive part of ``ems check``. A row holds one file's report for one
*settings key* (ems version, cache schema, Python version, the file's config fingerprint,
and every rule code with where it came from, plug-in versions included).

Correctness rules (the cache may be slow to help, never wrong):

* The fast path trusts a row without reading the file only when size, mtime_ns, ctime_ns
  and inode all match what was recorded *before* the file was read. A file modified within
  ``RACY_NS`` of being read has its stat left unrecorded ("racy" mtime, as git does), so the
  next run reads and hashes it instead of trusting a timestamp that may hide a second write.
* Otherwise the file is read and hashed; an equal content hash reuses the report.
* Each row carries a checksum over its key, content hash and payload; a row that fails it,
  or fails to decode, is a miss. A database SQLite calls corrupt, or a schema from another
  version, is deleted and rebuilt. Concurrent runs are serialised by SQLite's own locking
  (WAL); a run that cannot get the write lock within the timeout just skips writing.
* The payload is JSON, never pickle: a cache file committed to a repository by someone
  else must not be able to run code.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import sqlite3
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ems.core.config import Config
from ems.core.model import Finding, Fixability, Position, Range, Related, Report, RuleError, Severity, Tag

if TYPE_CHECKING:
    from ems.core.registry import RuleSet

log = logging.getLogger("ems.cache")

CACHE_DIR = Path(".ems") / "cache"
DB_NAME = "results.sqlite"
# 2: payloads carry source excerpts; 3: two lines, what text output shows first;
# 4: rows keyed (settings, path), so a run reads only its own settings' rows; used settings;
# 5: a caller's rendering of the report (view_key, view): warm text output without decoding
# 6: each finding's computed fixability (``Fixability``), the rule's offer moved to the rest
# 7: the names of a finding's own places (``Related.name``)
SCHEMA_VERSION = 7
KEEP_SETTINGS = 4  # rows of the most recently written settings kept; older ones are deleted
RACY_NS = 2_000_000_000  # files modified this close to being read: stat not trusted
BUSY_TIMEOUT_S = 5.0

StatKey = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def cache_dir(root: Path) -> Path:
    return root / CACHE_DIR


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def settings_key(config: Config, ruleset: RuleSet) -> str:
    """Everything besides the file's bytes and path that can change its report."""
    payload = "\x1f".join(
        (
            str(SCHEMA_VERSION),
            sys.implementation.name,
            ".".join(map(str, sys.version_info[:3])),
            config.fingerprint(),
            # Findings' fixability depends on it (an unsafe fix is applied or hidden).
            "unsafe-fixes" if config.unsafe_fixes else "",
            ruleset.fingerprint,  # the ems version, its source, the rules and plug-ins
        )
    )
    return hashlib.blake2b(payload.encode(), digest_size=12).hexdigest()


# --- report <-> JSON ----------------------------------------------------------------------


def _range(r: Range) -> list[int]:
    return [r.start.line, r.start.column, r.end.line, r.end.column]


Excerpts = dict[int, str]  # line number -> that line's text, for the lines with findings


def encode_report(report: Report, excerpts: Excerpts | None = None) -> str:
    """A compact JSON form in two lines; the path is implied by the row's key.

    Line one is what text output shows: ``[rows, excerpts]`` with a row per finding
    ``[code, severity value, [line, column, end line, end column], message, fixability]``, and
    ``excerpts`` (the source lines the findings point at, or null) so a warm text report
    needs neither to read nor to split the file. Line two is the rest of each finding and
    of the report, ``[[name, fingerprint, tags, related, data, fixable]..., syntax_error,
    rule_errors]``: parsed only when a ``Report`` is built (``build_report``). JSON never
    holds a raw line break, so the split is unambiguous.
    """
    shown = [
        [f.code, f.severity.value, _range(f.range), f.message, _FIXABILITY_CODES[f.fixability]]
        for f in report.findings
    ]
    rest = [
        [
            f.name,
            f.fingerprint,
            sorted(t.value for t in f.tags),
            [
                [_range(r.range), r.message, r.name] if r.name else [_range(r.range), r.message]
                for r in f.related
            ],
            [list(pair) for pair in f.data],
            int(f.fixable),
        ]
        for f in report.findings
    ]
    lines = None if excerpts is None else [[n, excerpts[n]] for n in sorted(excerpts)]
    errors = [[e.code, e.error] for e in report.rule_errors]
    head = json.dumps([shown, lines], ensure_ascii=False, separators=(",", ":"))
    tail = json.dumps([rest, int(report.syntax_error), errors], ensure_ascii=False, separators=(",", ":"))
    return head + "\n" + tail


# A row's fixability: 0 no fix, 1 safe, 2 unsafe (enabled by the settings), 3 hidden, 4 not
# computed (a very large file). The
# text renderer marks ``[*]`` for 1 and 2 (``FIX_APPLIED``) straight from the rows.
_FIXABILITY_CODES: dict[Fixability | None, int] = {
    None: 0,
    Fixability.SAFE: 1,
    Fixability.UNSAFE: 2,
    Fixability.HIDDEN: 3,
    Fixability.UNKNOWN: 4,
}
_FIXABILITIES = {code: value for value, code in _FIXABILITY_CODES.items()}
FIX_APPLIED = frozenset({1, 2})
FIX_HIDDEN = 3
_SEVERITIES = {s.value: s for s in Severity}
_TAGS = {t.value: t for t in Tag}
_NO_TAGS: frozenset[Tag] = frozenset()


def _plain(cls: type) -> bool:
    """Whether instances of the frozen dataclass ``cls`` can be filled through ``__dict__``."""
    return (
        dataclasses.is_dataclass(cls)
        and "__slots__" not in cls.__dict__
        and not hasattr(cls, "__post_init__")
        and all(f.init for f in dataclasses.fields(cls))
    )


_FAST = (
    _plain(Finding)
    and _plain(Range)
    and _plain(Position)
    and tuple(f.name for f in dataclasses.fields(Finding))
    == (
        "code",
        "name",
        "severity",
        "range",
        "message",
        "path",
        "fingerprint",
        "fixable",
        "tags",
        "related",
        "data",
        "fixability",
        "template",
    )
    and tuple(f.name for f in dataclasses.fields(Range)) == ("start", "end")
    and tuple(f.name for f in dataclasses.fields(Position)) == ("line", "column")
)


@dataclass(frozen=True)
class Parsed:
    """A payload's first line parsed, the rest kept as text until a ``Report`` is needed.

    ``rows``: per finding ``[code, severity value, [line, column, end line, end column],
    message, fixability code]`` (``encode_report``). A warm text report renders straight from
    them (``ems.cli.formats``); names, fingerprints and the like are parsed and the
    ``Report`` built only if something asks for it.
    """

    rows: list[list[Any]]
    rest: str
    excerpts: Excerpts | None


def parse_payload(payload: str) -> Parsed:
    """The first line of a payload; raises ValueError/TypeError/KeyError on a bad shape.

    The rows themselves are checked when used (``build_report`` raises on a bad one, the
    text renderer falls back to the built report): checking ~9,000 rows up front would
    cost as much as building them.
    """
    head, newline, rest = payload.partition("\n")
    if not newline:
        raise ValueError("malformed cache payload")
    rows, lines = json.loads(head)
    if type(rows) is not list:
        raise TypeError("malformed cache payload")
    excerpts = None if lines is None else {int(n): str(text) for n, text in lines}
    return Parsed(rows, rest, excerpts)


def build_report(parsed: Parsed, path: str) -> Report:
    """The ``Report`` of a parsed payload; raises ValueError/TypeError/KeyError on bad data.

    A warm run may build every cached finding (~9,000 on the standard library), so this
    avoids per-finding calls, enum lookups by value and generators, and fills the frozen
    dataclasses' ``__dict__`` directly instead of paying their ``__init__`` (an
    ``object.__setattr__`` per field): equal objects (==, hash) in under half the time.
    ``_FAST`` guards the shortcut; if the model classes change shape, the constructors run.
    """
    rest, syntax_error, errors = json.loads(parsed.rest)
    both = zip(parsed.rows, rest, strict=True)
    severities, tags_by_value = _SEVERITIES, _TAGS
    findings: list[Finding] = []
    append = findings.append
    if _FAST:
        new = object.__new__
        for (code, severity, span, message, fixability), more in both:
            name, fingerprint, tags, related, extra, fixable = more
            line, column, end_line, end_column = span
            start = new(Position)
            d = start.__dict__
            d["line"] = int(line)
            d["column"] = int(column)
            end = new(Position)
            d = end.__dict__
            d["line"] = int(end_line)
            d["column"] = int(end_column)
            rng = new(Range)
            d = rng.__dict__
            d["start"] = start
            d["end"] = end
            finding = new(Finding)
            d = finding.__dict__
            d["code"] = str(code)
            d["name"] = str(name)
            d["severity"] = severities[severity]
            d["range"] = rng
            d["message"] = str(message)
            d["path"] = path
            d["fingerprint"] = str(fingerprint)
            d["fixable"] = bool(fixable)
            d["tags"] = frozenset([tags_by_value[t] for t in tags]) if tags else _NO_TAGS
            d["related"] = tuple([_related(*r) for r in related]) if related else ()
            d["data"] = tuple([(str(k), str(v)) for k, v in extra]) if extra else ()
            d["fixability"] = _FIXABILITIES[fixability]
            d["template"] = ""  # rendered into the message already
            append(finding)
    else:  # pragma: no cover - only if the model classes change shape
        for (code, severity, span, message, fixability), more in both:
            name, fingerprint, tags, related, extra, fixable = more
            line, column, end_line, end_column = span
            append(
                Finding(
                    str(code),
                    str(name),
                    severities[severity],
                    Range.of(int(line), int(column), int(end_line), int(end_column)),
                    str(message),
                    path,
                    str(fingerprint),
                    bool(fixable),
                    frozenset([tags_by_value[t] for t in tags]) if tags else _NO_TAGS,
                    tuple([_related(*r) for r in related]) if related else (),
                    tuple([(str(k), str(v)) for k, v in extra]) if extra else (),
                    _FIXABILITIES[fixability],
                )
            )
    rule_errors = tuple(RuleError(str(c), str(e)) for c, e in errors)
    return Report(path, tuple(findings), bool(syntax_error), rule_errors)


def _related(span: list[int], message: str, name: str = "") -> Related:
    return Related(Range.of(*span), str(message), str(name))


def decode_entry(payload: str, path: str) -> tuple[Report, Excerpts | None]:
    """Inverse of ``encode_report``: the report and the excerpts stored with it."""
    parsed = parse_payload(payload)
    return build_report(parsed, path), parsed.excerpts


def decode_report(payload: str, path: str) -> Report:
    """The report of an ``encode_report`` payload (see ``decode_entry``)."""
    return decode_entry(payload, path)[0]


# --- the store ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    stat: StatKey | None  # None: not trusted (racy), read and hash the file
    digest: str
    payload: str
    # A caller's rendering of the report (``ems check`` keeps its text output here) and
    # what identifies that rendering; opaque to the cache. None: nothing rendered yet.
    view_key: str | None = None
    view: str | None = None


@dataclass(frozen=True)
class Pending:
    path: str
    settings: str
    stat: StatKey | None
    digest: str
    payload: str
    view_key: str | None = None
    view: str | None = None


def _checksum(
    path: str, settings: str, digest: str, payload: str, view_key: str | None = None, view: str | None = None
) -> str:
    parts = (
        (path, settings, digest, payload)
        if view_key is None
        else (path, settings, digest, payload, view_key, view or "")
    )
    data = "\x1f".join(parts).encode("utf-8", "surrogatepass")
    return hashlib.blake2b(data, digest_size=8).hexdigest()


def path_key(path: str) -> str:
    """The row key of a display path: the path itself when it is valid text, else (a file
    name that is not UTF-8, held by Python as surrogate escapes, which SQLite cannot take)
    a NUL, which no real path holds, and the name's bytes in hex: distinct from every path."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return "\0" + path.encode("utf-8", "surrogateescape").hex()
    return path


def trusted_stat(info: os.stat_result, now_ns: int | None = None) -> StatKey | None:
    """The stat to record, or None when the mtime is too recent to rule out a racy write."""
    now_ns = time.time_ns() if now_ns is None else now_ns
    if now_ns - info.st_mtime_ns < RACY_NS or now_ns - info.st_ctime_ns < RACY_NS:
        return None
    return stat_key(info)


class ResultCache:
    """One project's cache database. Every failure degrades to "no cache", never to an error."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.directory = cache_dir(root)
        self.path = self.directory / DB_NAME
        self._conn: sqlite3.Connection | None = None
        self._disabled = False
        self._pending: list[Pending] = []

    # connection management

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self._disabled:
            return self._conn
        for attempt in (1, 2):
            try:
                self._conn = self._open()
                return self._conn
            except sqlite3.DatabaseError as exc:  # corrupt or not a database
                log.warning("cache %s is unusable (%s); rebuilding it", self.path, exc)
                self._close_quietly()
                if attempt == 1 and not self._remove_files():
                    break
            except (OSError, sqlite3.Error) as exc:
                log.info("cache disabled: cannot open %s: %s", self.path, exc)
                break
        self._close_quietly()
        self._disabled = True
        return None

    def _open(self) -> sqlite3.Connection:
        self.directory.mkdir(parents=True, exist_ok=True)
        ignore = self.directory / ".gitignore"
        if not ignore.exists():
            ignore.write_text("# created by ems: the cache is never committed\n*\n")
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
            if row is None or row[0] != str(SCHEMA_VERSION):
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("DROP TABLE IF EXISTS entries")
                conn.execute("DROP TABLE IF EXISTS settings_used")
                conn.execute(
                    "INSERT OR REPLACE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                )
                conn.execute("COMMIT")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS entries ("
                " path TEXT NOT NULL, settings TEXT NOT NULL,"
                " size INTEGER, mtime_ns INTEGER, ctime_ns INTEGER, inode INTEGER,"
                " digest TEXT NOT NULL, payload TEXT NOT NULL, view_key TEXT, view TEXT,"
                " checksum TEXT NOT NULL, PRIMARY KEY (settings, path)) WITHOUT ROWID"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS settings_used (settings TEXT PRIMARY KEY, used_ns INTEGER NOT NULL)"
            )
        except BaseException:
            conn.close()
            raise
        return conn

    def _close_quietly(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _remove_files(self) -> bool:
        ok = True
        for suffix in ("", "-wal", "-shm"):
            try:
                os.unlink(f"{self.path}{suffix}")
            except FileNotFoundError:
                pass
            except OSError as exc:
                log.info("cannot remove corrupt cache %s%s: %s", self.path, suffix, exc)
                ok = False
        return ok

    def _fail(self, exc: sqlite3.Error) -> None:
        """A query failed mid-run: stop using the cache; rebuild it next time if corrupt."""
        log.warning("cache %s failed (%s); continuing without it", self.path, exc)
        self._close_quietly()
        if isinstance(exc, sqlite3.DatabaseError) and not isinstance(exc, sqlite3.OperationalError):
            self._remove_files()
        self._disabled = True

    # reading

    def _select(self, columns: str, paths: Sequence[str], settings: Iterable[str] | None) -> list[tuple]:
        """``columns`` of the rows for ``paths`` (a superset) under ``settings`` keys."""
        conn = self._connect()
        if conn is None or not paths:
            return []
        where = ""
        args: tuple[str, ...] = ()
        if settings is not None:
            keys = tuple(sorted(set(settings)))
            where, args = f" WHERE settings IN ({','.join('?' * len(keys))})", keys
        if len(paths) <= 32:
            where += (" AND" if where else " WHERE") + f" path IN ({','.join('?' * len(paths))})"
            args += tuple(path_key(p) for p in paths)
        try:
            return conn.execute(f"SELECT {columns} FROM entries{where}", args).fetchall()
        except sqlite3.Error as exc:
            self._fail(exc)
            return []

    def load_stats(
        self, paths: Sequence[str], settings: Iterable[str] | None = None
    ) -> dict[tuple[str, str], tuple[StatKey | None, str]]:
        """(stat, content digest) per row, without payloads: enough to tell which files
        changed, so their analysis can start before the rest is loaded (``load``). Not
        checksummed: use it as a hint; a bad row fails ``load``'s check instead."""
        wanted = _wanted(paths)
        stats: dict[tuple[str, str], tuple[StatKey | None, str]] = {}
        for row in self._select("path, settings, size, mtime_ns, ctime_ns, inode, digest", paths, settings):
            try:
                stored, key, size, mtime, ctime, inode, digest = row
                path = wanted.get(stored)
                if path is not None:
                    stat = None if size is None else (int(size), int(mtime), int(ctime), int(inode))
                    stats[(path, key)] = (stat, str(digest))
            except (ValueError, TypeError):
                continue
        return stats

    def load(
        self, paths: Sequence[str], settings: Iterable[str] | None = None
    ) -> dict[tuple[str, str], Entry]:
        """Valid rows for ``paths`` (under ``settings`` keys only, if given) keyed by
        (path, settings); bad rows are left out."""
        wanted = _wanted(paths)
        entries: dict[tuple[str, str], Entry] = {}
        for row in self._select("*", paths, settings):
            try:
                stored, key, size, mtime, ctime, inode, digest, payload, view_key, view, checksum = row
                path = wanted.get(stored)
                if path is None:
                    continue
                if checksum != _checksum(stored, key, digest, payload, view_key, view):
                    log.info("cache row for %s failed its checksum; ignored", path)
                    continue
                stat = None if size is None else (int(size), int(mtime), int(ctime), int(inode))
                if view_key is not None and (type(view_key) is not str or type(view) is not str):
                    view_key = view = None
                entries[(path, key)] = Entry(stat, str(digest), str(payload), view_key, view)
            except (ValueError, TypeError):
                continue
        return entries

    # writing

    def put(
        self,
        path: str,
        settings: str,
        stat: StatKey | None,
        digest: str,
        report: Report,
        excerpts: Excerpts | None = None,
        view: tuple[str, str] | None = None,
    ) -> None:
        """Store ``report`` (with the findings' source lines, and a caller's ``view``:
        (what identifies the rendering, the rendered text)) for the file's content."""
        if self._disabled:
            return
        view_key, text = view if view is not None else (None, None)
        self._pending.append(
            Pending(path, settings, stat, digest, encode_report(report, excerpts), view_key, text)
        )

    def put_entry(
        self,
        path: str,
        settings: str,
        stat: StatKey | None,
        entry: Entry,
        view: tuple[str, str] | None = None,
    ) -> None:
        """Keep ``entry``'s report with a new stat (unchanged content touched, checked out
        again, copied) and/or a new ``view``; without one, its old view is kept."""
        if self._disabled:
            return
        view_key, text = view if view is not None else (entry.view_key, entry.view)
        self._pending.append(Pending(path, settings, stat, entry.digest, entry.payload, view_key, text))

    def flush(self) -> None:
        """Write pending rows in one transaction; skipped if another run holds the lock."""
        storable, self._pending = [_storable(p) for p in self._pending], []
        pending = [p for p in storable if p is not None]
        if not pending:
            return
        conn = self._connect()
        if conn is None:
            return
        rows = [
            (
                key,
                p.settings,
                *(p.stat if p.stat is not None else (None, None, None, None)),
                p.digest,
                p.payload,
                p.view_key,
                p.view,
                _checksum(key, p.settings, p.digest, p.payload, p.view_key, p.view),
            )
            for p in pending
            for key in (path_key(p.path),)
        ]
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            pruned = self._note_settings(conn, {p.settings for p in pending})
            conn.execute("COMMIT")
            if pruned:  # give the space back (rare: a new settings key); skipped if others read
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # busy/locked/read-only: skip this write
            log.info("cache not updated (%s)", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        except sqlite3.Error as exc:
            self._fail(exc)

    @staticmethod
    def _note_settings(conn: sqlite3.Connection, written: set[str]) -> int:
        """Mark ``written`` settings as used now; when one is new, delete the rows of all
        but the ``KEEP_SETTINGS`` most recently used (each ems upgrade, rule edit or
        config change starts a new key: without this the cache would only grow). Returns
        how many rows were deleted."""
        known = {row[0] for row in conn.execute("SELECT settings FROM settings_used")}
        now = time.time_ns()
        conn.executemany(
            "INSERT OR REPLACE INTO settings_used VALUES (?, ?)", [(key, now) for key in sorted(written)]
        )
        if written <= known:
            return 0
        keep = "SELECT settings FROM settings_used ORDER BY used_ns DESC LIMIT ?"
        deleted = conn.execute(f"DELETE FROM entries WHERE settings NOT IN ({keep})", (KEEP_SETTINGS,))
        conn.execute(f"DELETE FROM settings_used WHERE settings NOT IN ({keep})", (KEEP_SETTINGS,))
        return deleted.rowcount

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._close_quietly()


def _storable(pending: Pending) -> Pending | None:
    """``pending`` as SQLite can store it: a view that is not valid text (a file name that
    is not UTF-8 shown in it) is left out; a payload that is not is not cached at all."""
    try:
        pending.payload.encode("utf-8")
    except UnicodeEncodeError:
        return None
    if pending.view is not None:
        try:
            pending.view.encode("utf-8")
        except UnicodeEncodeError:
            return dataclasses.replace(pending, view_key=None, view=None)
    return pending


def _wanted(paths: Sequence[str]) -> dict[str, str]:
    """Row key -> display path, for the paths a load asks for."""
    return {path_key(p): p for p in paths}


def is_fresh(entry: Entry | None, info: os.stat_result | None) -> bool:
    """Whether ``entry`` can be used without reading the file (the stat fast path)."""
    return entry is not None and stat_matches(entry.stat, info)


def stat_matches(recorded: StatKey | None, info: os.stat_result | None) -> bool:
    """``is_fresh`` for a stat from ``ResultCache.load_stats``."""
    return recorded is not None and info is not None and recorded == stat_key(info)


def remove(root: Path) -> bool:
    """Delete the cache directory under ``root``; False if there was none."""
    import shutil

    target = cache_dir(root)
    if not target.exists():
        return False
    shutil.rmtree(target)
    return True
