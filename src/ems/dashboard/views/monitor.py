"""Monitor: ems watching itself — processes, resources, latency, events, health, logs.

Reads only the store's monitor tables and the project's log files, through
``ems.dashboard.monitor_data``; the live parts refresh every 2 s in a fragment.
"""

from __future__ import annotations

import streamlit as st

from ems.dashboard import context, monitor_data
from ems.dashboard.components import monitor_charts
from ems.dashboard.components.common import header

REFRESH_SECONDS = 2.0
WINDOWS = {"15 minutes": 900, "1 hour": 3600, "6 hours": 6 * 3600, "1 day": 86400, "1 week": 7 * 86400}


@st.fragment(run_every=REFRESH_SECONDS)
def live(window_s: float) -> None:
    store = context.store()
    procs = monitor_data.processes_frame(store, window_s)
    st.subheader("Processes")
    if procs.empty:
        st.info(
            "No ems process has recorded samples yet. The language server, the dashboard and long "
            "`ems check`/`ems history` runs record here while they run."
        )
    else:
        st.dataframe(procs, hide_index=True, width="stretch")
    samples = monitor_data.samples_frame(store, window_s)
    if not samples.empty:
        left, right = st.columns(2)
        left.markdown("**CPU %**")
        left.altair_chart(monitor_charts.per_process_line(samples, "CPU %"), width="stretch")
        right.markdown("**Memory (MB)**")
        right.altair_chart(monitor_charts.per_process_line(samples, "memory (MB)"), width="stretch")
        scanning = samples.dropna(subset=["files/s"])
        st.markdown("**Files scanned per second**")
        if scanning.empty:
            st.caption(
                "No scan in this window (long `ems check`/`ems history` runs, the watcher, workspace scans)."
            )
        else:
            st.altair_chart(monitor_charts.per_process_line(scanning, "files/s"), width="stretch")
        latency = monitor_data.latency_frame(samples)
        st.markdown("**Analysis latency per interval**")
        if latency.empty:
            st.caption("No analysis in this window.")
        else:
            st.altair_chart(monitor_charts.latency_lines(latency), width="stretch")
    st.subheader("Events")
    events = monitor_data.events_frame(store, window_s)
    if events.empty:
        st.caption("No restarts, crashes, time-outs, cache drops or rule errors in this window.")
    else:
        st.altair_chart(monitor_charts.events_timeline(events), width="stretch")
        st.dataframe(events, hide_index=True, width="stretch")


def health_section() -> None:
    st.subheader("Health checks")
    checks = monitor_data.health_frame(str(context.project_root()))
    red = int((checks["status"] == "red").sum())
    amber = int((checks["status"] == "amber").sum())
    if red:
        st.error(f"{red} check(s) red: see the remedies below (`ems doctor` prints the same).")
    elif amber:
        st.warning(f"{amber} check(s) amber.")
    else:
        st.success("All checks green.")
    st.dataframe(
        checks.style.map(monitor_data.status_style, subset=["status"]),
        hide_index=True,
        width="stretch",
        height="content",  # every check in view: the default cuts the list at ten rows
    )


def logs_section() -> None:
    st.subheader("Recent warnings and errors")
    cols = st.columns([1, 3])
    level = cols[0].selectbox("Level at least", ["WARNING", "ERROR", "INFO"], key="monitor_log_level")
    contains = cols[1].text_input(
        "Containing", key="monitor_log_filter", placeholder="e.g. worker, E999, timeout"
    )
    records = monitor_data.logs_frame(context.project_root(), level, contains)
    st.caption(f"{len(records)} record(s) from `{context.project_root() / '.ems' / 'logs'}`")
    if not records.empty:
        st.dataframe(records, hide_index=True, width="stretch")


def main() -> None:
    header("Monitor", "ems watching itself: its processes, latency, recoveries and health")
    choice = st.radio("Window", list(WINDOWS), horizontal=True, key="monitor_window")
    live(WINDOWS[choice])
    health_section()
    logs_section()


main()
