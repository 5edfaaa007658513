"""Cached reads of the store for the pages: every function is keyed on the store's state.

``st.cache_data`` keys on the arguments: (store path, scan id, history run id) — a page
never recomputes what has not changed, and any recorded scan or walk refreshes it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from ems.dashboard.context import store_at
from ems.gitinfo.figures import recorded_figures
from ems.store import queries

Key = tuple[str, int | None, int | None]  # (store path, latest scan id, history run id)

# The author column of a finding the history does not know: the walk has no record of it
# (not committed yet, or committed after the last walk), or no walk was ever recorded.
NOT_IN_HISTORY = "not in history"
NO_HISTORY = "no history yet"


def _unknown_author(key: Key) -> str:
    """The author label of a finding without a history row: whether a walk was recorded."""
    return NOT_IN_HISTORY if key[2] is not None else NO_HISTORY


@st.cache_data(show_spinner=False, max_entries=8)
def latest_scan(key: Key):  # -> ems.store.Scan | None
    scans = store_at(key[0]).scans(limit=1)
    return scans[0] if scans else None


@st.cache_data(show_spinner=False, max_entries=8)
def severity_counts(key: Key) -> dict[str, int]:
    return queries.severity_counts(store_at(key[0]), key[1]) if key[1] else {}


@st.cache_data(show_spinner=False, max_entries=8)
def rule_counts(key: Key) -> pd.DataFrame:
    rows = queries.rule_counts(store_at(key[0]), key[1]) if key[1] else []
    return pd.DataFrame(
        [(r.code, r.name, r.severity, r.count, r.fixable) for r in rows],
        columns=["rule", "name", "severity", "findings", "fixable"],
    )


@st.cache_data(show_spinner=False, max_entries=8)
def scan_trend(key: Key) -> pd.DataFrame:
    rows = queries.scan_trend(store_at(key[0]))
    return pd.DataFrame(
        [(p.scan_id, p.started_at, p.severity, p.count) for p in rows],
        columns=["scan", "time", "severity", "findings"],
    )


@st.cache_data(show_spinner=False, max_entries=8)
def commit_trend(key: Key) -> pd.DataFrame:
    rows = recorded_figures(store_at(key[0])).commits
    frame = pd.DataFrame(
        [(p.sha, p.timestamp, p.author, p.summary, p.introduced, p.removed, p.open) for p in rows],
        columns=["sha", "timestamp", "author", "summary", "introduced", "removed", "open"],
    )
    frame["date"] = pd.to_datetime(frame["timestamp"], unit="s", utc=True)
    frame["commit"] = frame["sha"].str[:10]
    return frame


@st.cache_data(show_spinner=False, max_entries=8)
def authors(key: Key) -> pd.DataFrame:
    rows = recorded_figures(store_at(key[0])).authors
    return pd.DataFrame(
        [(a.author, a.commits, a.introduced, a.removed) for a in rows],
        columns=["author", "commits", "introduced", "removed"],
    )


@st.cache_data(show_spinner=False, max_entries=32)
def finding_count(key: Key, flt: queries.FindingFilter) -> int:
    return queries.count_findings(store_at(key[0]), key[1], flt) if key[1] else 0


@st.cache_data(show_spinner=False, max_entries=32)
def findings(key: Key, flt: queries.FindingFilter, limit: int) -> pd.DataFrame:
    """The first ``limit`` matching findings (filtered, ordered and cut in SQL)."""
    rows = queries.filtered_findings(store_at(key[0]), key[1], flt, limit) if key[1] else []
    frame = pd.DataFrame(
        [
            (
                r.fingerprint,
                r.code,
                r.name,
                r.severity,
                r.path,
                r.line,
                r.column + 1,
                r.message,
                r.fixable,
                r.introduced_sha,
                r.author,
                r.introduced_at,
            )
            for r in rows
        ],
        columns=[
            "fingerprint",
            "rule",
            "name",
            "severity",
            "path",
            "line",
            "column",
            "message",
            "fixable",
            "introduced_sha",
            "author",
            "introduced_at",
        ],
    )
    frame["introduced"] = pd.to_datetime(frame["introduced_at"], unit="s", utc=True)
    # A finding with no history row says why, in the words of its detail, instead of "None".
    frame["author"] = frame["author"].where(frame["introduced_sha"].notna(), _unknown_author(key))
    return frame


@st.cache_data(show_spinner=False, max_entries=32)
def group_counts(key: Key, flt: queries.FindingFilter, by: str) -> pd.DataFrame:
    rows = queries.group_counts(store_at(key[0]), key[1], flt, by) if key[1] else []
    frame = pd.DataFrame(rows, columns=[by, "findings"])
    if by == "author":
        frame["author"] = frame["author"].fillna(_unknown_author(key))
    return frame


@st.cache_data(show_spinner=False, max_entries=32)
def fixable_paths(key: Key, flt: queries.FindingFilter, code: str) -> list[str]:
    return queries.fixable_paths(store_at(key[0]), key[1], flt, code) if key[1] else []


@st.cache_data(show_spinner=False, max_entries=8)
def known_authors(key: Key) -> list[str]:
    return queries.known_authors(store_at(key[0]))


@st.cache_data(show_spinner=False, max_entries=8)
def hotspots(key: Key, root: str) -> pd.DataFrame:
    from ems.gitinfo.churn import current_hotspots

    counts = queries.path_counts(store_at(key[0]), key[1]) if key[1] else {}
    spots = current_hotspots(Path(root), counts)
    frame = pd.DataFrame(
        [(h.path, h.score, h.recent, h.changes, h.findings, h.lines) for h in spots],
        columns=["path", "score", "recent_changes", "changes", "findings", "lines"],
    )
    frame["findings_per_100_lines"] = 100.0 * frame["findings"] / frame["lines"].clip(lower=1)
    return frame
