"""Hotspots: files changed often lately and dense in findings (``ems.gitinfo.churn``)."""

from __future__ import annotations

import streamlit as st

from ems.dashboard import context, data
from ems.dashboard.components import charts
from ems.dashboard.components.common import header, key, require_scan
from ems.dashboard.components.live import refresh_on_change
from ems.gitinfo.churn import HOTSPOT_FORMULA


def main() -> None:
    header("Hotspots", "where errors are being made now")
    refresh_on_change()
    if not require_scan():
        return
    frame = data.hotspots(key(), str(context.project_root()))
    scored = frame[frame["findings"] > 0]
    if scored.empty:
        st.success("No file has findings: no hotspot.")
        return
    st.caption(f"**Formula:** {HOTSPOT_FORMULA}. Top right is worst; bubble size is the file's lines.")
    st.altair_chart(charts.hotspot_scatter(scored), width="stretch")
    top = st.slider("Files in the table", 5, 100, 15, key="hotspots_top")
    table = scored.head(top)
    st.dataframe(
        table[["path", "score", "recent_changes", "changes", "findings", "lines"]],
        hide_index=True,
        column_config={
            "score": st.column_config.NumberColumn(format="%.2f"),
            "recent_changes": st.column_config.NumberColumn(format="%.2f"),
        },
    )
    st.markdown("**Open a file's findings:**")
    for path in table["path"].head(10):
        st.page_link(
            "views/findings.py", label=path, icon=":material/bug_report:", query_params={"path": path}
        )


main()
