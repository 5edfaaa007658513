"""The monitor's tables: which ems processes run, their samples, and what went wrong.

Writers are the samplers of long-running processes (``ems.runtime.sampler``), one batch per
interval in one transaction; readers are ``ems doctor`` and the dashboard's Monitor page.
Every function takes an open ``Store``; times are epoch seconds.

Retention (``prune``) keeps the tables bounded whatever runs: samples at full resolution
for ``FULL_RESOLUTION_S``, then one averaged row per ``DOWNSAMPLE_S`` bucket up to
``KEEP_SAMPLES_S``; processes gone longer than that are deleted with their samples; events
are kept ``KEEP_EVENTS_S`` and at most ``MAX_EVENTS`` rows.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ems.store.db import Store

FULL_RESOLUTION_S = 24 * 3600.0
DOWNSAMPLE_S = 300.0
KEEP_SAMPLES_S = 7 * 24 * 3600.0
KEEP_EVENTS_S = 30 * 24 * 3600.0
MAX_EVENTS = 10_000
STALE_INTERVALS = 3  # a heartbeat older than this many intervals: the process died silently

# The store's own event (the others are ``ems.runtime.monitor``'s ``EventCounter`` names).
STORE_RECOVERY = "store_recoveries"


@dataclass(frozen=True)
class ProcessInfo:
    """One registered process. ``state`` is ``live``, ``stale`` or ``stopped``."""

    id: int
    pid: int
    kind: str
    host: str
    started_at: float
    version: str
    project: str
    interval_s: float
    memory_limit: int | None
    heartbeat_at: float
    stopped_at: float | None
    state: str = "live"

    @property
    def heartbeat_age(self) -> float:
        return max(time.time() - self.heartbeat_at, 0.0)


@dataclass(frozen=True)
class Sample:
    """One interval of one process: resources, and the face's own performance figures."""

    at: float
    span_s: float
    cpu_percent: float
    rss: int
    threads: int
    open_files: int
    analyses: int | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    latency_max_ms: float | None = None
    queue_depth: int | None = None
    cache_hit_rate: float | None = None
    files_per_s: float | None = None
    action_p50_ms: float | None = None
    action_max_ms: float | None = None


@dataclass(frozen=True)
class ProcessSampleRow:
    """A sample with the process it belongs to (for charts over several processes)."""

    process_id: int
    pid: int
    kind: str
    sample: Sample


@dataclass(frozen=True)
class MonitorEvent:
    at: float
    kind: str
    reason: str
    process_id: int | None = None
    pid: int | None = None
    process_kind: str | None = None


SAMPLE_COLUMNS = (
    "at, span_s, cpu_percent, rss, threads, open_files, analyses, latency_p50_ms, latency_p95_ms,"
    " latency_max_ms, queue_depth, cache_hit_rate, files_per_s, action_p50_ms, action_max_ms"
)


def _sample_values(s: Sample) -> tuple[object, ...]:
    return (
        s.at,
        s.span_s,
        s.cpu_percent,
        s.rss,
        s.threads,
        s.open_files,
        s.analyses,
        s.latency_p50_ms,
        s.latency_p95_ms,
        s.latency_max_ms,
        s.queue_depth,
        s.cache_hit_rate,
        s.files_per_s,
        s.action_p50_ms,
        s.action_max_ms,
    )


# ---------------------------------------------------------------- writing


def register_process(
    store: Store,
    *,
    kind: str,
    project: str,
    version: str,
    interval_s: float,
    memory_limit: int | None = None,
    pid: int | None = None,
    started_at: float | None = None,
) -> int:
    """Announce a process; returns its row id (the key of its samples and events)."""
    now = time.time()
    with store.transaction() as conn:
        cursor = conn.execute(
            "INSERT INTO monitor_processes (pid, kind, host, started_at, version, project, interval_s,"
            " memory_limit, heartbeat_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                pid or os.getpid(),
                kind,
                socket.gethostname(),
                started_at or now,
                version,
                project,
                interval_s,
                memory_limit,
                now,
            ),
        )
        return int(cursor.lastrowid or 0)


def record_batch(
    store: Store,
    process_id: int,
    samples: Sequence[Sample],
    events: Sequence[tuple[float, str, str]] = (),
    *,
    heartbeat_at: float | None = None,
    memory_limit: int | None = None,
) -> None:
    """One interval's writes in one transaction: samples, events (at, kind, reason), heartbeat."""
    with store.transaction() as conn:
        if samples:
            conn.executemany(
                f"INSERT INTO monitor_samples (process_id, {SAMPLE_COLUMNS})"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(process_id, *_sample_values(s)) for s in samples],
            )
        if events:
            conn.executemany(
                "INSERT INTO monitor_events (process_id, at, kind, reason) VALUES (?, ?, ?, ?)",
                [(process_id, at, kind, reason) for at, kind, reason in events],
            )
        conn.execute(
            "UPDATE monitor_processes SET heartbeat_at = ?, memory_limit = COALESCE(?, memory_limit)"
            " WHERE id = ?",
            (heartbeat_at or time.time(), memory_limit, process_id),
        )


def record_event(store: Store, kind: str, reason: str, *, process_id: int | None = None) -> None:
    """One event outside a sampler's batch (e.g. the store itself was moved aside)."""
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO monitor_events (process_id, at, kind, reason) VALUES (?, ?, ?, ?)",
            (process_id, time.time(), kind, reason),
        )


def mark_stopped(store: Store, process_id: int, at: float | None = None) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE monitor_processes SET stopped_at = ?, heartbeat_at = ? WHERE id = ?",
            (at or time.time(), at or time.time(), process_id),
        )


# ---------------------------------------------------------------- reading


def _state(stopped_at: float | None, heartbeat_at: float, interval_s: float, now: float) -> str:
    if stopped_at is not None:
        return "stopped"
    return "stale" if now - heartbeat_at > STALE_INTERVALS * interval_s else "live"


def processes(
    store: Store, *, include_stopped: bool = False, since: float | None = None
) -> list[ProcessInfo]:
    """Registered processes, newest first; stopped ones only when asked (and after ``since``)."""
    now = time.time()
    sql = (
        "SELECT id, pid, kind, host, started_at, version, project, interval_s, memory_limit,"
        " heartbeat_at, stopped_at FROM monitor_processes"
    )
    params: list[object] = []
    if not include_stopped:
        sql += " WHERE stopped_at IS NULL"
    elif since is not None:
        sql += " WHERE stopped_at IS NULL OR heartbeat_at >= ?"
        params.append(since)
    rows = store._query(sql + " ORDER BY id DESC", params)
    return [ProcessInfo(*r, state=_state(r[10], r[9], r[7], now)) for r in rows]  # type: ignore[misc]


def samples(
    store: Store, *, since: float, process_ids: Iterable[int] | None = None, limit: int = 20_000
) -> list[ProcessSampleRow]:
    """Samples newer than ``since`` (oldest first), with their process's pid and kind."""
    sql = (
        f"SELECT s.process_id, p.pid, p.kind, {', '.join('s.' + c.strip() for c in SAMPLE_COLUMNS.split(','))}"
        " FROM monitor_samples s JOIN monitor_processes p ON p.id = s.process_id WHERE s.at >= ?"
    )
    params: list[object] = [since]
    if process_ids is not None:
        ids = list(process_ids)
        if not ids:
            return []
        sql += f" AND s.process_id IN ({','.join('?' * len(ids))})"
        params.extend(ids)
    rows = store._query(sql + " ORDER BY s.at LIMIT ?", [*params, limit])
    return [ProcessSampleRow(r[0], r[1], r[2], Sample(*r[3:])) for r in rows]


def events(
    store: Store, *, since: float, kinds: Iterable[str] | None = None, limit: int = 1000
) -> list[MonitorEvent]:
    """Events newer than ``since``, newest first."""
    sql = (
        "SELECT e.at, e.kind, e.reason, e.process_id, p.pid, p.kind FROM monitor_events e"
        " LEFT JOIN monitor_processes p ON p.id = e.process_id WHERE e.at >= ?"
    )
    params: list[object] = [since]
    if kinds is not None:
        wanted = list(kinds)
        if not wanted:
            return []
        sql += f" AND e.kind IN ({','.join('?' * len(wanted))})"
        params.extend(wanted)
    rows = store._query(sql + " ORDER BY e.at DESC, e.id DESC LIMIT ?", [*params, limit])
    return [MonitorEvent(*r) for r in rows]


def event_counts(store: Store, *, since: float) -> dict[str, int]:
    rows = store._query("SELECT kind, COUNT(*) FROM monitor_events WHERE at >= ? GROUP BY kind", (since,))
    return {str(r[0]): int(r[1]) for r in rows}


def latest_samples(store: Store, process_ids: Iterable[int]) -> dict[int, Sample]:
    """Each process's newest sample."""
    out: dict[int, Sample] = {}
    for pid in process_ids:
        rows = store._query(
            f"SELECT {SAMPLE_COLUMNS} FROM monitor_samples WHERE process_id = ? ORDER BY at DESC LIMIT 1",
            (pid,),
        )
        if rows:
            out[pid] = Sample(*rows[0])
    return out


def table_bytes(store: Store) -> int:
    """Bytes the monitor tables and their indexes take (dbstat when SQLite has it, else an estimate)."""
    names = (
        "monitor_processes",
        "monitor_samples",
        "monitor_events",
        "monitor_samples_process_at",
        "monitor_samples_at",
        "monitor_events_at",
    )
    try:
        rows = store._query(
            f"SELECT SUM(pgsize) FROM dbstat WHERE name IN ({','.join('?' * len(names))})", names
        )
        return int(rows[0][0] or 0)
    except Exception:  # no dbstat compiled in: ~100 bytes a row with its index entries
        count = sum(
            int(store._query(f"SELECT COUNT(*) FROM {t}")[0][0])
            for t in ("monitor_processes", "monitor_samples", "monitor_events")
        )
        return count * 100


# ---------------------------------------------------------------- retention


def prune(store: Store, now: float | None = None) -> int:
    """Downsample old samples, delete what is past retention; returns rows removed."""
    now = time.time() if now is None else now
    full_until = now - FULL_RESOLUTION_S
    keep_from = now - KEEP_SAMPLES_S
    removed = 0
    with store.transaction() as conn:
        # gone processes (stopped, or silent) past retention take their samples with them
        removed += conn.execute("DELETE FROM monitor_processes WHERE heartbeat_at < ?", (keep_from,)).rowcount
        removed += conn.execute("DELETE FROM monitor_samples WHERE at < ?", (keep_from,)).rowcount
        # one row per (process, bucket) for samples older than a day that are not yet downsampled
        bucket = DOWNSAMPLE_S
        old = conn.execute(
            "SELECT COUNT(*) FROM monitor_samples WHERE at < ? AND span_s < ?", (full_until, bucket)
        ).fetchone()[0]
        if old:
            conn.execute(
                "CREATE TEMP TABLE IF NOT EXISTS monitor_buckets AS SELECT * FROM monitor_samples WHERE 0"
            )
            conn.execute("DELETE FROM monitor_buckets")
            conn.execute(
                f"INSERT INTO monitor_buckets (process_id, {SAMPLE_COLUMNS})"
                " SELECT process_id, CAST(at / ? AS INTEGER) * ? + ?, ?, AVG(cpu_percent), CAST(AVG(rss) AS INTEGER),"
                " MAX(threads), MAX(open_files), SUM(analyses), AVG(latency_p50_ms), MAX(latency_p95_ms),"
                " MAX(latency_max_ms), MAX(queue_depth), AVG(cache_hit_rate), AVG(files_per_s),"
                " AVG(action_p50_ms), MAX(action_max_ms)"
                " FROM monitor_samples WHERE at < ? AND span_s < ?"
                " GROUP BY process_id, CAST(at / ? AS INTEGER)",
                (bucket, bucket, bucket / 2, bucket, full_until, bucket, bucket),
            )
            removed += conn.execute(
                "DELETE FROM monitor_samples WHERE at < ? AND span_s < ?", (full_until, bucket)
            ).rowcount
            conn.execute(
                f"INSERT INTO monitor_samples (process_id, {SAMPLE_COLUMNS}) SELECT * FROM monitor_buckets"
            )
            conn.execute("DELETE FROM monitor_buckets")
        removed += conn.execute("DELETE FROM monitor_events WHERE at < ?", (now - KEEP_EVENTS_S,)).rowcount
        removed += conn.execute(
            "DELETE FROM monitor_events WHERE id <= (SELECT id FROM monitor_events ORDER BY id DESC LIMIT 1 OFFSET ?)",
            (MAX_EVENTS,),
        ).rowcount
    return removed
