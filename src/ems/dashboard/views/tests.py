"""Tests: recorded ``ems test`` runs, failure groups, flaky and slow tests, coverage."""

from __future__ import annotations

import streamlit as st

from ems.dashboard import runtime_data as data
from ems.dashboard.components.common import header
from ems.dashboard.components.runtime import group_detail, refresh_on_run, runs_chart, show_coverage
from ems.store.testruns import KIND_TEST, OPEN_STATES


def main() -> None:
    header("Tests", "failures grouped by cause, across runs")
    key = data.run_key()
    refresh_on_run(key[1])
    runs = data.runs(key, KIND_TEST)
    if runs.empty:
        st.info("No test run is recorded yet. Run `ems test` in the project (pytest arguments after it).")
        return
    latest = runs.iloc[-1]
    cols = st.columns(5)
    cols[0].metric("Latest run", f"#{latest['run']}")
    cols[1].metric("Passed", int(latest["passed"]))
    cols[2].metric("Failed", int(latest["failed"]))
    cols[3].metric("Errors", int(latest["errors"]))
    cols[4].metric("Duration", f"{latest['seconds'] or 0:.1f} s")
    if latest["status"] != "complete":
        st.warning(f"Run {latest['run']} is {latest['status']} (exit code {latest['exit']}).")
    st.subheader("Runs over time")
    st.altair_chart(runs_chart(runs), width="stretch")

    st.subheader("Failure groups")
    groups = data.groups(key, KIND_TEST)
    if groups.empty:
        st.success("No failure recorded.")
    else:
        wanted = st.multiselect(
            "States", ["new", "regressed", "ongoing", "fixed"], default=list(OPEN_STATES), key="tests_states"
        )
        shown = groups[groups["state"].isin(wanted)]
        st.dataframe(shown.drop(columns=["fingerprint"]), hide_index=True)
        if not shown.empty:
            labels = {
                f"{r.fingerprint[:8]} · {r.type}: {r.message}": r.fingerprint for r in shown.itertuples()
            }
            chosen = st.selectbox("Open a group", list(labels), key="tests_group")
            if chosen:
                group_detail(data.group_detail(key, labels[chosen]), what="test")

    st.subheader("Flaky tests")
    flaky = data.flaky(key)
    if flaky:
        st.caption("Passed and failed on the same code (commit and uncommitted changes).")
        st.dataframe({"test": flaky}, hide_index=True)
    else:
        st.caption("No test has both passed and failed on the same code.")

    st.subheader("Slowest tests")
    st.dataframe(data.slowest(key, int(latest["run"])), hide_index=True)

    st.subheader("Coverage")
    run_id, files = data.coverage(key)
    if run_id is None:
        st.caption("No coverage recorded (ems test measures it unless given --no-coverage).")
        return
    total = files["statements"].sum()
    percent = 100.0 * files["covered"].sum() / total if total else 100.0
    st.caption(f"From run {run_id}: {percent:.1f}% of {total} statements.")
    st.dataframe(
        files.drop(columns=["missing lines"]),
        hide_index=True,
        column_config={
            "percent": st.column_config.ProgressColumn(format="%.0f%%", min_value=0, max_value=100)
        },
    )
    partial = files[files["missing"] > 0]
    if not partial.empty:
        path = st.selectbox("Show uncovered lines of", list(partial["path"]), key="tests_cov_file")
        if path:
            show_coverage(path, list(partial[partial["path"] == path]["missing lines"].iloc[0]))


main()
