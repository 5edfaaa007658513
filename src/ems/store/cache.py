"""The persistent result cache: three tables of the project's store (``.ems/ems.db``).

Why it exists: most files of a project do not change between two runs, and analysing
them again is the expensive part of ``ems check``. A row of ``result_entries`` holds one
file's report for one *settings key* (ems version, payload version, Python version, the
file's config fingerprint, and every rule code with where it came from, plug-in versions
included); ``result_views`` holds a caller's renderings of it, each an opaque text keyed
by its renderer (``ems check``'s text output); ``result_settings`` when each key was last
used. The tables come from the store's migrations (``ems.store.db.MIGRATIONS``).

Correctness rules (the cache may be slow to help, never wrong):

* The fast path trusts a row without reading the file only when size, mtime_ns, ctime_ns
  and inode all match what was recorded *before* the file was read. A file modified within
  ``RACY_NS`` of being read has its stat left unrecorded ("racy" mtime, as git does), so the
  next run reads and hashes it instead of trusting a timestamp that may hide a second write.
* Otherwise the file is read and hashed; an equal content hash reuses the report.
* A report can depend on other files too: a name another module imports from this one is
  a re-export, and its F401 fix is withheld (``ems.fixes.reexports``). Such a row carries
  what its judgement depended on (``Entry.deps``: which of its names were re-exports,
  kept with the content digest in the ``digest`` column, so views and checksums cover it),
  and the scan re-judges the file when the project's import index answers otherwise now
  (``ems.fixes.reexports.recheck``).
* Each row carries a checksum over its key, content hash and payload; a row that fails it,
  or fails to decode, is a miss. A store SQLite calls damaged is handled by the store's one
  policy (moved aside, started anew, said on stderr). Concurrent runs are serialised by
  SQLite's own locking (WAL, ``ems.store.connection``); a run that cannot get the write
  lock within the timeout just skips writing; its writes are one short transaction.
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
from ems.store.connection import FileId, connect, default_store_path, file_id, is_damaged

if TYPE_CHECKING:
    from ems.core.registry import RuleSet
    from ems.store.db import Store

log = logging.getLogger("ems.cache")

LEGACY_CACHE_DIR = Path(".ems") / "cache"  # the cache's own folder until it moved into the store
# Part of the settings key: rows written in another payload layout are never read (and are
# pruned with their settings). 2: payloads carry source excerpts; 3: two lines, what text
# output shows first; 4-5: (the file's own tables); 6: each finding's computed fixability;
# 7: the names of a finding's own places (``Related.name``); 8: in the store's tables;
# 9: rows record what a re-export judgement depended on (earlier rows did not: stale);
# 10: that record is the answer alone, checked against the project's import index.
PAYLOAD_VERSION = 10
KEEP_SETTINGS = 4  # rows of the most recently written settings kept; older ones are deleted
RACY_NS = 2_000_000_000  # files modified this close to being read: stat not trusted
BUSY_TIMEOUT_S = 5.0

StatKey = tuple[int, int, int, int]  # size, mtime_ns, ctime_ns, inode


def stat_key(info: os.stat_result) -> StatKey:
    return (info.st_size, info.st_mtime_ns, info.st_ctime_ns, info.st_ino)


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def settings_key(config: Config, ruleset: RuleSet) -> str:
    """Everything besides the file's bytes and path that can change its report."""
    payload = "\x1f".join(
        (
            str(PAYLOAD_VERSION),
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
# computed (a very large file).
_FIXABILITY_CODES: dict[Fixability | None, int] = {
    None: 0,
    Fixability.SAFE: 1,
    Fixability.UNSAFE: 2,
    Fixability.HIDDEN: 3,
    Fixability.UNKNOWN: 4,
}
_FIXABILITIES = {code: value for value, code in _FIXABILITY_CODES.items()}
_SEVERITIES = {s.value: s for s in Severity}
_TAGS = {t.value: t for t in Tag}
_NO_TAGS: frozenset[Tag] = frozenset()


def _setters(cls: type, names: tuple[str, ...]) -> tuple[Any, ...] | None:
    """The slot setters of the frozen, slotted dataclass ``cls`` for its fields ``names``
    (in that order), or None if it is not of that shape: filling a new instance through
    them skips ``__init__`` and its ``object.__setattr__`` per field."""
    if not (
        dataclasses.is_dataclass(cls)
        and tuple(getattr(cls, "__slots__", ())) == names
        and tuple(f.name for f in dataclasses.fields(cls)) == names
        and not hasattr(cls, "__post_init__")
        and all(f.init for f in dataclasses.fields(cls))
    ):
        return None
    return tuple(cls.__dict__[name].__set__ for name in names)


_FINDING_FIELDS = (
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
_POSITION_SET = _setters(Position, ("line", "column"))
_RANGE_SET = _setters(Range, ("start", "end"))
_FINDING_SET = _setters(Finding, _FINDING_FIELDS)
_FAST = _POSITION_SET is not None and _RANGE_SET is not None and _FINDING_SET is not None


@dataclass(frozen=True)
class Parsed:
    """A payload's first line parsed, the rest kept as text until a ``Report`` is needed.

    ``rows``: per finding ``[code, severity value, [line, column, end line, end column],
    message, fixability code]`` (``encode_report``): the layout is this module's alone.
    Names, fingerprints and the like are parsed and the ``Report`` built only if something
    asks for it (a warm text report prints cached views and needs neither).
    """

    rows: list[list[Any]]
    rest: str
    excerpts: Excerpts | None


def parse_payload(payload: str) -> Parsed:
    """The first line of a payload; raises ValueError/TypeError/KeyError on a bad shape.

    The rows themselves are checked when used (``build_report`` raises on a bad one):
    checking ~9,000 rows up front would cost as much as building them.
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
    dataclasses' slots directly instead of paying their ``__init__`` (an
    ``object.__setattr__`` per field): equal objects (==, hash) in about half the time.
    ``_FAST`` guards the shortcut; if the model classes change shape, the constructors run.
    """
    rest, syntax_error, errors = json.loads(parsed.rest)
    both = zip(parsed.rows, rest, strict=True)
    severities, tags_by_value = _SEVERITIES, _TAGS
    findings: list[Finding] = []
    append = findings.append
    if _FAST:
        new = object.__new__
        set_line, set_column = _POSITION_SET  # type: ignore[misc]
        set_start, set_end = _RANGE_SET  # type: ignore[misc]
        (
            set_code,
            set_name,
            set_severity,
            set_range,
            set_message,
            set_path,
            set_fingerprint,
            set_fixable,
            set_tags,
            set_related,
            set_data,
            set_fixability,
            set_template,
        ) = _FINDING_SET  # type: ignore[misc]
        for (code, severity, span, message, fixability), more in both:
            name, fingerprint, tags, related, extra, fixable = more
            line, column, end_line, end_column = span
            start = new(Position)
            set_line(start, int(line))
            set_column(start, int(column))
            end = new(Position)
            set_line(end, int(end_line))
            set_column(end, int(end_column))
            rng = new(Range)
            set_start(rng, start)
            set_end(rng, end)
            finding = new(Finding)
            set_code(finding, str(code))
            set_name(finding, str(name))
            set_severity(finding, severities[severity])
            set_range(finding, rng)
            set_message(finding, str(message))
            set_path(finding, path)
            set_fingerprint(finding, str(fingerprint))
            set_fixable(finding, bool(fixable))
            set_tags(finding, frozenset([tags_by_value[t] for t in tags]) if tags else _NO_TAGS)
            set_related(finding, tuple([_related(*r) for r in related]) if related else ())
            set_data(finding, tuple([(str(k), str(v)) for k, v in extra]) if extra else ())
            set_fixability(finding, _FIXABILITIES[fixability])
            set_template(finding, "")  # rendered into the message already
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
    # A caller's rendering of the report for the renderer asked for at ``load`` (``ems
    # check`` keeps its text output): opaque to the cache. None: nothing rendered yet.
    view_key: str | None = None
    view: str | None = None
    # What the report depended on besides the file's bytes (``ems.fixes.reexports.
    # dependency``), opaque here; None: nothing.
    deps: str | None = None

    @property
    def key(self) -> str:
        return row_key(self.digest, self.deps)


def row_key(digest: str, deps: str | None) -> str:
    """The ``digest`` column: the content digest, then (after a space: a digest is hex)
    what the report depended on. Views are keyed by it too: a view rendered under other
    dependencies (another ``[*]``) is never shown."""
    return digest if not deps else f"{digest} {deps}"


def split_key(key: str) -> tuple[str, str | None]:
    """``row_key``'s inverse: (content digest, dependencies or None)."""
    digest, _, deps = key.partition(" ")
    return digest, deps or None


@dataclass(frozen=True)
class _Row:
    """An ``entries`` row to write (``key``: ``row_key``)."""

    path: str
    settings: str
    stat: StatKey | None
    key: str
    payload: str


@dataclass(frozen=True)
class _View:
    """A ``views`` row to write: ``text`` rendered by ``renderer`` from the row's ``digest``
    (``row_key``: the content and what else the report depended on)."""

    path: str
    settings: str
    renderer: str
    digest: str
    text: str


def _checksum(*parts: str) -> str:
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
    """The result cache's tables in one project's store (``.ems/ems.db``).

    Every failure degrades to "no cache", never to an error: a store that is locked, from
    a newer ems or unwritable leaves this run uncached. A damaged store is handled as the
    store handles it everywhere (``ems.store.db.recover``): moved aside, started anew, said
    on stderr and recorded as a store-recovery event.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = default_store_path(root)
        self._conn: sqlite3.Connection | None = None
        self._file: FileId | None = None  # the file connected to: the one a failure found damaged
        self._disabled = False
        self._rows: list[_Row] = []
        self._views: list[_View] = []

    # connection management

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is not None or self._disabled:
            return self._conn
        for attempt in (1, 2):
            conn = None
            try:
                self._file = file_id(self.path)  # before connecting: never a newer file than ours
                conn = connect(self.path, BUSY_TIMEOUT_S)
                conn.execute("SELECT 1 FROM result_settings LIMIT 1")  # the tables are there
                self._conn = conn
                return conn
            except (OSError, sqlite3.Error) as exc:
                if conn is not None:
                    with contextlib.suppress(sqlite3.Error):
                        conn.close()
                if attempt == 2 or not self._prepare_store(exc):
                    log.info("cache disabled: cannot use %s: %s", self.path, exc)
                    break
        self._disabled = True
        return None

    def _prepare_store(self, exc: BaseException) -> bool:
        """A store without the cache's tables (new, or older) is migrated; a damaged one is
        recovered. Both by ``ems.store.db``, imported only then. False: give up."""
        missing = isinstance(exc, sqlite3.OperationalError) and "no such table" in str(exc)
        if not missing and not is_damaged(exc):
            return False
        from ems.store.db import Store, StoreError

        try:
            Store(self.path, timeout=BUSY_TIMEOUT_S).close()  # migrates, or recovers
        except StoreError as error:
            log.info("cache disabled: %s", error)
            return False
        return True

    def _close_quietly(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self._conn.close()
            self._conn = None

    def _fail(self, exc: sqlite3.Error) -> None:
        """A query failed mid-run: stop using the cache for this run; a damaged store is
        moved aside and started anew now (the next run rebuilds the cache)."""
        # A damaged store is said once, by its recovery; anything else is worth a warning.
        (log.info if is_damaged(exc) else log.warning)(
            "cache in %s failed (%s); continuing without it", self.path, exc
        )
        self._close_quietly()
        self._disabled = True
        if is_damaged(exc):
            from ems.store.db import StoreError, recover

            with contextlib.suppress(StoreError, OSError, sqlite3.Error):
                recover(self.path, BUSY_TIMEOUT_S, damaged=self._file).close()

    # reading

    def _select(self, sql: str, args: tuple[str, ...], paths: Sequence[str]) -> list[tuple[Any, ...]]:
        """Rows of ``sql`` (which ends in a WHERE clause on ``e.settings``) for ``paths``
        (a superset: every row of the settings when there are many paths)."""
        conn = self._connect()
        if conn is None or not paths:
            return []
        if len(paths) <= 32:
            sql += f" AND e.path IN ({','.join('?' * len(paths))})"
            args += tuple(path_key(p) for p in paths)
        try:
            return conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            self._fail(exc)
            return []

    def _settings_clause(self, settings: Iterable[str] | None) -> tuple[str, tuple[str, ...]]:
        if settings is None:
            return " WHERE 1", ()
        keys = tuple(sorted(set(settings)))
        return f" WHERE e.settings IN ({','.join('?' * len(keys))})", keys

    def load_stats(
        self, paths: Sequence[str], settings: Iterable[str] | None = None
    ) -> dict[tuple[str, str], tuple[StatKey | None, str]]:
        """(stat, ``row_key``) per row, without payloads: enough to tell which files
        changed, so their analysis can start before the rest is loaded (``load``). Not
        checksummed: use it as a hint; a bad row fails ``load``'s check instead."""
        wanted = _wanted(paths)
        where, args = self._settings_clause(settings)
        sql = "SELECT e.path, e.settings, e.size, e.mtime_ns, e.ctime_ns, e.inode, e.digest FROM result_entries e"
        stats: dict[tuple[str, str], tuple[StatKey | None, str]] = {}
        for row in self._select(sql + where, args, paths):
            try:
                stored, key, size, mtime, ctime, inode, digest = row
                path = wanted.get(stored)
                if path is not None:
                    stat = None if size is None else (int(size), int(mtime), int(ctime), int(inode))
                    stats[(path, key)] = (stat, str(digest))  # the row key
            except (ValueError, TypeError):
                continue
        return stats

    def load(
        self, paths: Sequence[str], settings: Iterable[str] | None = None, renderer: str | None = None
    ) -> dict[tuple[str, str], Entry]:
        """Valid rows for ``paths`` (under ``settings`` keys only, if given) keyed by
        (path, settings), each with its rendering by ``renderer`` if there is a valid one
        for the same content; bad rows are left out."""
        wanted = _wanted(paths)
        where, args = self._settings_clause(settings)
        sql = (
            "SELECT e.path, e.settings, e.size, e.mtime_ns, e.ctime_ns, e.inode, e.digest, e.payload,"
            " e.checksum, v.digest, v.view, v.checksum FROM result_entries e LEFT JOIN result_views v"
            " ON v.settings = e.settings AND v.path = e.path AND v.renderer = ?"
        )
        entries: dict[tuple[str, str], Entry] = {}
        for row in self._select(sql + where, (renderer or "", *args), paths):
            try:
                stored, key, size, mtime, ctime, inode, digest, payload, checksum, *rendered = row
                path = wanted.get(stored)
                if path is None:
                    continue
                if checksum != _checksum(stored, key, digest, payload):
                    log.info("cache row for %s failed its checksum; ignored", path)
                    continue
                stat = None if size is None else (int(size), int(mtime), int(ctime), int(inode))
                view_key = view = None
                view_digest, text, view_checksum = rendered
                if (
                    renderer
                    and view_digest == digest
                    and type(text) is str
                    and view_checksum == _checksum(stored, key, renderer, digest, text)
                ):
                    view_key, view = renderer, text
                content, deps = split_key(str(digest))
                entries[(path, key)] = Entry(stat, content, str(payload), view_key, view, deps)
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
        deps: str | None = None,
    ) -> None:
        """Store ``report`` (with the findings' source lines, and a caller's ``view``:
        (what identifies the rendering, the rendered text)) for the file's content and
        what else it depended on (``deps``)."""
        if self._disabled:
            return
        key = row_key(digest, deps)
        self._rows.append(_Row(path, settings, stat, key, encode_report(report, excerpts)))
        if view is not None:
            self._views.append(_View(path, settings, view[0], key, view[1]))

    def put_entry(
        self,
        path: str,
        settings: str,
        stat: StatKey | None,
        entry: Entry,
        view: tuple[str, str] | None = None,
        deps: str | None = None,
    ) -> None:
        """Keep ``entry``'s report with a new stat (unchanged content touched, checked out
        again, copied) or newer ``deps`` that give the same answer, and/or add a ``view``
        of it; its views stay valid."""
        if self._disabled:
            return
        key = entry.key if deps is None else row_key(entry.digest, deps)
        if stat != entry.stat or key != entry.key:
            self._rows.append(_Row(path, settings, stat, key, entry.payload))
            if key != entry.key and entry.view_key is not None and entry.view is not None and view is None:
                view = (entry.view_key, entry.view)  # the same report: its view moves along
        if view is not None:
            self._views.append(_View(path, settings, view[0], key, view[1]))

    def flush(self) -> None:
        """Write what is pending in one short transaction; skipped if the store stays busy."""
        rows = [r for r in self._rows if _is_text(r.payload)]
        views = [v for v in self._views if _is_text(v.text)]
        self._rows, self._views = [], []
        if not rows and not views:
            return
        conn = self._connect()
        if conn is None:
            return
        entry_rows = [
            (
                key,
                r.settings,
                *(r.stat if r.stat is not None else (None, None, None, None)),
                r.key,
                r.payload,
                _checksum(key, r.settings, r.key, r.payload),
            )
            for r in rows
            for key in (path_key(r.path),)
        ]
        view_rows = [
            (
                key,
                v.settings,
                v.renderer,
                v.digest,
                v.text,
                _checksum(key, v.settings, v.renderer, v.digest, v.text),
            )
            for v in views
            for key in (path_key(v.path),)
        ]
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(
                "INSERT OR REPLACE INTO result_entries (path, settings, size, mtime_ns, ctime_ns, inode,"
                " digest, payload, checksum) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                entry_rows,
            )
            # Renderings of content a file no longer has are never used again.
            conn.executemany(
                "DELETE FROM result_views WHERE path = ? AND settings = ? AND digest != ?",
                [(row[0], row[1], row[6]) for row in entry_rows],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO result_views (path, settings, renderer, digest, view, checksum)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                view_rows,
            )
            pruned = self._note_settings(conn, {r.settings for r in rows} | {v.settings for v in views})
            conn.execute("COMMIT")
            if pruned:  # give the space back (rare: a new settings key); skipped if others read
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("VACUUM")
        except sqlite3.OperationalError as exc:  # busy/locked/read-only: skip this write
            log.info("cache not updated (%s)", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if is_damaged(exc):
                self._fail(exc)
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            self._fail(exc)

    @staticmethod
    def _note_settings(conn: sqlite3.Connection, written: set[str]) -> int:
        """Mark ``written`` settings as used now; when one is new, delete the rows of all
        but the ``KEEP_SETTINGS`` most recently used (each ems upgrade, rule edit or
        config change starts a new key: without this the cache would only grow). Returns
        how many rows were deleted."""
        known = {row[0] for row in conn.execute("SELECT settings FROM result_settings")}
        now = time.time_ns()
        conn.executemany(
            "INSERT OR REPLACE INTO result_settings (settings, used_ns) VALUES (?, ?)",
            [(key, now) for key in sorted(written)],
        )
        if written <= known:
            return 0
        keep = "SELECT settings FROM result_settings ORDER BY used_ns DESC LIMIT ?"
        deleted = conn.execute(f"DELETE FROM result_entries WHERE settings NOT IN ({keep})", (KEEP_SETTINGS,))
        conn.execute(f"DELETE FROM result_views WHERE settings NOT IN ({keep})", (KEEP_SETTINGS,))
        conn.execute(f"DELETE FROM result_settings WHERE settings NOT IN ({keep})", (KEEP_SETTINGS,))
        return deleted.rowcount

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._close_quietly()


def _is_text(value: str) -> bool:
    """Whether SQLite can store ``value``: a payload or view that shows a file name that is
    not UTF-8 (surrogate escapes) is not cached."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _wanted(paths: Sequence[str]) -> dict[str, str]:
    """Row key -> display path, for the paths a load asks for."""
    return {path_key(p): p for p in paths}


def is_fresh(entry: Entry | None, info: os.stat_result | None) -> bool:
    """Whether ``entry`` can be used without reading the file (the stat fast path)."""
    return entry is not None and stat_matches(entry.stat, info)


def stat_matches(recorded: StatKey | None, info: os.stat_result | None) -> bool:
    """``is_fresh`` for a stat from ``ResultCache.load_stats``."""
    return recorded is not None and info is not None and recorded == stat_key(info)


@dataclass(frozen=True)
class CacheUsage:
    """How much of the store the result cache holds (``ems doctor``'s cache check)."""

    entries: int  # cached file results
    size: int  # bytes of payloads and views


def usage(store: Store) -> CacheUsage:
    """The result cache's share of ``store``. Raises ``StoreError`` (e.g. a store from
    before the cache moved in has no such tables)."""
    rows = store._query(
        "SELECT (SELECT COUNT(*) FROM result_entries), (SELECT COALESCE(SUM(length(payload)), 0)"
        " FROM result_entries) + (SELECT COALESCE(SUM(length(view)), 0) FROM result_views)"
    )
    return CacheUsage(int(rows[0][0]), int(rows[0][1]))


def clear(root: Path) -> bool:
    """Empty the result cache of the project at ``root`` (the rest of the store is kept);
    False if there was nothing to remove. Raises ``sqlite3.Error``/``OSError``."""
    removed = retire_legacy_cache(root, quiet=True)
    path = default_store_path(root)
    if not path.exists():
        return removed
    conn = connect(path, BUSY_TIMEOUT_S)
    try:
        try:
            conn.execute("BEGIN IMMEDIATE")
            count = conn.execute("DELETE FROM result_entries").rowcount
            count += conn.execute("DELETE FROM result_views").rowcount
            conn.execute("DELETE FROM result_settings")
            conn.execute("COMMIT")
        except sqlite3.OperationalError as exc:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
            if "no such table" in str(exc):  # a store from before the cache moved in
                return removed
            raise
        if count:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("VACUUM")
        return removed or count > 0
    finally:
        conn.close()


def retire_legacy_cache(root: Path, *, quiet: bool = False) -> bool:
    """Remove the result cache's old home, ``.ems/cache`` (its own SQLite file until the
    cache moved into the store): its rows are rebuilt as files are checked. Only the
    files ems put there are removed. Says so on stderr unless ``quiet``; False if there
    was none."""
    folder = root / LEGACY_CACHE_DIR
    if not folder.is_dir():
        return False
    for name in ("results.sqlite", "results.sqlite-wal", "results.sqlite-shm", ".gitignore"):
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
    with contextlib.suppress(OSError):  # something of the user's is in it: leave the folder
        folder.rmdir()
    if not quiet:
        sys.stderr.write(
            f"ems: the result cache moved into {default_store_path(root)}; "
            f"removed the old {folder} (rebuilt as files are checked)\n"
        )
    return True
