"""The Monitor page's reads: the store's monitor tables, the health checks and the logs.

Plain functions over ``ems.store.monitor``, ``ems.runtime.health`` and ``ems.runtime.logs``
that return frames ready for a chart or a table; the page only lays them out. Samples are
read fresh on every 2-second refresh (an indexed range scan of a few hundred rows); the
health checks, which start git and import plug-ins, are cached for ``HEALTH_TTL_S``.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import streamlit as st

from ems.runtime import health, logs
from ems.store import Store
from ems.store import monitor as m

HEALTH_TTL_S = 10
MB = 1024 * 1024
# The status cell's colours (text, not an emoji: headless browsers often lack an emoji font)
STATUS_STYLE = {
    health.GREEN: "background-color: #1b7f3b; color: white",
    health.AMBER: "background-color: #b86e00; color: white",
    health.RED: "background-color: #b3261e; color: white",
}


def _when(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _label(kind: str | None, pid: int | None) -> str:
    return f"{kind or '?'} {pid or ''}".strip()


NO_FIGURE = "–"  # a figure a process has not produced yet (a table would show "None")


def _rate(value: float | None) -> str:
    """Files per second as table text: a process that has not scanned shows ``NO_FIGURE``."""
    return NO_FIGURE if value is None else f"{value:.1f}"


def processes_frame(store: Store, window_s: float) -> pd.DataFrame:
    """Live and stale processes, plus those stopped within the window, with their latest sample."""
    procs = m.processes(store, include_stopped=True, since=time.time() - window_s)
    latest = m.latest_samples(store, [p.id for p in procs])
    rows = []
    for p in procs:
        s = latest.get(p.id)
        rows.append(
            {
                "process": _label(p.kind, p.pid),
                "state": p.state,
                "started (UTC)": _when(p.started_at).strftime("%Y-%m-%d %H:%M:%S"),
                "heartbeat age (s)": round(p.heartbeat_age, 1),
                "CPU %": None if s is None else round(s.cpu_percent, 1),
                "memory (MB)": None if s is None else round(s.rss / MB, 1),
                "limit (MB)": None if not p.memory_limit else round(p.memory_limit / MB),
                "threads": None if s is None else s.threads,
                "open files": None if s is None else s.open_files,
                "files/s": _rate(None if s is None else s.files_per_s),
                "version": p.version,
            }
        )
    return pd.DataFrame(rows)


def samples_frame(store: Store, window_s: float) -> pd.DataFrame:
    """One row per sample in the window: time, process, resources and latency figures."""
    rows = m.samples(store, since=time.time() - window_s)
    return pd.DataFrame(
        [
            {
                "time": _when(r.sample.at),
                "process": _label(r.kind, r.pid),
                "CPU %": r.sample.cpu_percent,
                "memory (MB)": round(r.sample.rss / MB, 1),
                "p50 (ms)": r.sample.latency_p50_ms,
                "p95 (ms)": r.sample.latency_p95_ms,
                "max (ms)": r.sample.latency_max_ms,
                "analyses": r.sample.analyses,
                "queue": r.sample.queue_depth,
                "cache hit rate": r.sample.cache_hit_rate,
                "code action p50 (ms)": r.sample.action_p50_ms,
                "files/s": r.sample.files_per_s,
            }
            for r in rows
        ],
        columns=[
            "time",
            "process",
            "CPU %",
            "memory (MB)",
            "p50 (ms)",
            "p95 (ms)",
            "max (ms)",
            "analyses",
            "queue",
            "cache hit rate",
            "code action p50 (ms)",
            "files/s",
        ],
    )


def latency_frame(samples: pd.DataFrame) -> pd.DataFrame:
    """Latency percentiles in long form (time, process, percentile, ms) for a line chart."""
    columns = ["p50 (ms)", "p95 (ms)", "max (ms)"]
    data = samples.dropna(subset=["p50 (ms)"])
    if data.empty:
        return pd.DataFrame(columns=["time", "process", "percentile", "ms"])
    long = data.melt(id_vars=["time", "process"], value_vars=columns, var_name="percentile", value_name="ms")
    long["percentile"] = long["percentile"].str.replace(" (ms)", "", regex=False)
    return long


def events_frame(store: Store, window_s: float) -> pd.DataFrame:
    rows = m.events(store, since=time.time() - window_s, limit=500)
    return pd.DataFrame(
        [
            {
                "time": _when(e.at),
                "event": e.kind.replace("_", " "),
                "process": _label(e.process_kind, e.pid) if e.process_id else "store",
                "reason": e.reason,
            }
            for e in rows
        ],
        columns=["time", "event", "process", "reason"],
    )


@st.cache_data(show_spinner=False, ttl=HEALTH_TTL_S, max_entries=4)
def health_frame(root: str) -> pd.DataFrame:
    checks = health.run_checks(Path(root))
    return pd.DataFrame(
        [
            {
                "check": c.name,
                "status": c.status,
                "reason": c.reason,
                "remedy": c.remedy,
            }
            for c in checks
        ]
    )


def status_style(status: str) -> str:
    """The CSS of a health check's status cell (``DataFrame.style.map``)."""
    return STATUS_STYLE.get(status, "")


def logs_frame(root: Path, min_level: str, contains: str, limit: int = 200) -> pd.DataFrame:
    records = logs.read_records(root, min_level=min_level, contains=contains, limit=limit)
    return pd.DataFrame(
        [
            {
                "time": _when(r.time),
                "level": r.level,
                "process": _label(r.kind, r.pid),
                "logger": r.logger,
                "message": r.message,
            }
            for r in records
        ],
        columns=["time", "level", "process", "logger", "message"],
    )
