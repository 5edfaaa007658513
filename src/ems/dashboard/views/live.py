"""Live: the project watcher's state and the scans it recorded, refreshed every second."""

from __future__ import annotations

import streamlit as st

from ems.dashboard import context, data
from ems.dashboard.components.common import header, key, utc_moment
from ems.dashboard.components.live import POLL_SECONDS, event_log, watcher


@st.fragment(run_every=POLL_SECONDS)
def latest() -> None:
    k = key()
    scan = data.latest_scan(k)
    if scan is None:
        st.info("No scan recorded yet. Save a Python file in the project, or run a scan.")
        return
    cols = st.columns(4)
    cols[0].metric("Latest scan", scan.id)
    cols[1].metric("Source", scan.source)
    cols[2].metric("Findings", scan.finding_count)
    cols[3].metric("At (UTC)", scan.started_at[11:19])
    recent = context.store().scans(limit=10)
    st.dataframe(
        [
            {
                "scan": s.id,
                "source": s.source,
                "at": utc_moment(s.started_at),
                "files": s.files,
                "findings": s.finding_count,
                "seconds": round(s.duration_s, 3),
            }
            for s in recent
        ],
        hide_index=True,
        column_config={"at": st.column_config.DatetimeColumn("at (UTC)", format="YYYY-MM-DD HH:mm:ss")},
    )


def main() -> None:
    header("Live", "the project as you save files")
    running = context.live_enabled() or st.session_state.get("live_started", False)
    if not running:
        st.info("The project is not watched (page tests and embedded runs). Start watching here.")
        if st.button("Watch the project", key="live_start"):
            st.session_state["live_started"] = True
            watcher()
            st.rerun()
    else:
        w = watcher()
        state = "watching" if w.running else "stopped"
        st.caption(
            f"Watcher {state}: {w.scans} re-scan(s) since it started. A saved Python file is re-scanned "
            "through the result cache and recorded; every page refreshes within about a second."
        )
        if w.last_error:
            st.warning(f"Last problem: {w.last_error}")
    latest()
    recent_events()


@st.fragment(run_every=POLL_SECONDS)
def recent_events() -> None:
    st.subheader("Recent events")
    entries = list(event_log().entries)
    if not entries:
        st.caption(
            "Scans recorded, fixes applied and history built by this dashboard (and its watcher) appear here."
        )
        return
    st.dataframe(
        [{"at (UTC)": at, "event": kind, "detail": detail} for at, kind, detail in entries], hide_index=True
    )


main()
