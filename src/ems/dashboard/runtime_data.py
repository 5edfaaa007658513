"""Cached reads of test runs and captured runs for the Tests and Runtime errors pages.

Keyed on (store path, newest run id): a new ``ems test`` or ``ems run`` refreshes them,
nothing else does. The queries themselves are ``ems.store.testruns``'s.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ems.dashboard import context
from ems.dashboard.context import store_at
from ems.store import testruns as db
from ems.testing.grouping import flaky_tests

RunKey = tuple[str, int]  # (store path, newest run id)
GROUP_COLUMNS = [
    "fingerprint",
    "state",
    "type",
    "message",
    "crash",
    "members",
    "failures",
    "first run",
    "last run",
    "since commit",
]


def run_key() -> RunKey:
    return (context.store_path(), db.latest_run_id(context.store()))


@st.cache_data(show_spinner=False, max_entries=8)
def runs(key: RunKey, kind: str) -> pd.DataFrame:
    rows = db.runs(store_at(key[0]), kind=kind, limit=200)
    return pd.DataFrame(
        [
            (
                r.id,
                r.started_at,
                r.status,
                r.exit_code,
                r.passed,
                r.failed,
                r.errors,
                r.skipped + r.xfailed + r.xpassed,
                r.duration_s,
                (r.commit_sha or "")[:10] + ("+" if r.dirty else ""),
                " ".join(r.command),
            )
            for r in reversed(rows)
        ],
        columns=[
            "run",
            "time",
            "status",
            "exit",
            "passed",
            "failed",
            "errors",
            "other",
            "seconds",
            "commit",
            "command",
        ],
    )


@st.cache_data(show_spinner=False, max_entries=8)
def groups(key: RunKey, kind: str) -> pd.DataFrame:
    store = store_at(key[0])
    out = []
    for g in db.groups(store, kind=kind):
        members = {f.nodeid for f in db.group_failures(store, g.fingerprint)}
        out.append(
            (
                g.fingerprint,
                g.state,
                g.exc_type,
                g.message,
                f"{g.crash_path}:{g.crash_line}" if g.crash_path else "",
                len(members),
                g.occurrences,
                g.first_run_id,
                g.last_run_id,
                (g.first_commit or "")[:10],
            )
        )
    return pd.DataFrame(out, columns=GROUP_COLUMNS)


@st.cache_data(show_spinner=False, max_entries=16)
def group_detail(key: RunKey, fingerprint: str) -> dict[str, object]:
    store = store_at(key[0])
    group = db.group(store, fingerprint)
    failures = db.group_failures(store, fingerprint)
    return {
        "group": group,
        "members": sorted({f.nodeid for f in failures}),
        "failure": failures[0].data if failures else None,
        "history": db.group_history(store, fingerprint),
    }


@st.cache_data(show_spinner=False, max_entries=8)
def flaky(key: RunKey) -> list[str]:
    return flaky_tests(db.outcome_history(store_at(key[0])))


@st.cache_data(show_spinner=False, max_entries=8)
def slowest(key: RunKey, run_id: int, limit: int = 20) -> pd.DataFrame:
    rows = db.slowest(store_at(key[0]), run_id, limit)
    return pd.DataFrame(
        [(r.nodeid, r.outcome, r.duration_s) for r in rows], columns=["test", "outcome", "seconds"]
    )


@st.cache_data(show_spinner=False, max_entries=8)
def coverage(key: RunKey) -> tuple[int | None, pd.DataFrame]:
    store = store_at(key[0])
    run_id = db.latest_coverage_run(store)
    files = db.coverage(store, run_id) if run_id else []
    return run_id, pd.DataFrame(
        [(f.path, f.statements, f.covered, len(f.missing), f.percent, list(f.missing)) for f in files],
        columns=["path", "statements", "covered", "missing", "percent", "missing lines"],
    )
