"""Runtime errors: exceptions captured from running programs (``ems run``, ``ems.capture``)."""

from __future__ import annotations

import streamlit as st

from ems.dashboard import runtime_data as data
from ems.dashboard.components.common import header
from ems.dashboard.components.runtime import group_detail, refresh_on_run
from ems.store.testruns import KIND_RUN, OPEN_STATES


def main() -> None:
    header("Runtime errors", "exceptions your programs raised or logged, grouped by cause")
    key = data.run_key()
    refresh_on_run(key[1])
    runs = data.runs(key, KIND_RUN)
    if runs.empty:
        st.info(
            "No program run is recorded yet. Start one with `ems run -- python app.py`, or call "
            "`ems.capture.install()` in a program started otherwise."
        )
        return
    groups = data.groups(key, KIND_RUN)
    cols = st.columns(3)
    cols[0].metric("Program runs", len(runs))
    cols[1].metric("Open groups", int(groups["state"].isin(OPEN_STATES).sum()) if not groups.empty else 0)
    cols[2].metric("Exceptions (last run)", int(runs.iloc[-1]["failed"]))
    st.subheader("Runs")
    st.dataframe(
        runs[["run", "time", "command", "exit", "failed", "seconds", "commit"]].iloc[::-1],
        hide_index=True,
        column_config={"failed": st.column_config.NumberColumn("exceptions")},
    )
    st.subheader("Error groups")
    if groups.empty:
        st.success("No exception captured.")
        return
    wanted = st.multiselect(
        "States", ["new", "regressed", "ongoing", "fixed"], default=list(OPEN_STATES), key="runtime_states"
    )
    shown = groups[groups["state"].isin(wanted)].rename(columns={"members": "commands"})
    st.dataframe(shown.drop(columns=["fingerprint"]), hide_index=True)
    if not shown.empty:
        labels = {f"{r.fingerprint[:8]} · {r.type}: {r.message}": r.fingerprint for r in shown.itertuples()}
        chosen = st.selectbox("Open a group", list(labels), key="runtime_group")
        if chosen:
            group_detail(data.group_detail(key, labels[chosen]), what="command")


main()
