"""Overview: health rating (with its formula), findings by severity and rule, trends, new-code gate."""

from __future__ import annotations

import streamlit as st

from ems.dashboard import context, data
from ems.dashboard.components import charts
from ems.dashboard.components.common import header, key, require_scan, utc_minute
from ems.dashboard.components.live import refresh_on_change
from ems.runtime.rating import HEALTH_FORMULA, health_rating

GRADE_COLOURS = {"A": "green", "B": "green", "C": "orange", "D": "red", "E": "red"}


def gate_section() -> None:
    from ems.gitinfo.newcode import new_code_gate
    from ems.gitinfo.repo import GitError
    from ems.runtime.project_scan import ScanError, current_findings
    from ems.store import StoreError

    st.subheader("New-code quality gate")
    st.caption(
        "Passes when no finding is new since the reference (the same comparison as `ems check --new-since REF`)."
    )
    with st.form("gate"):
        ref = st.text_input("Compare with (branch, tag or commit)", value="HEAD", key="gate_ref")
        submitted = st.form_submit_button("Check the gate")
    if not submitted:
        return
    root = context.project_root()
    try:
        result = new_code_gate(current_findings(root), ref.strip() or "HEAD", context.store(), cwd=root)
    except (GitError, StoreError, ScanError) as exc:
        st.error(f"The gate cannot be checked against {ref!r}: {exc}")
        return
    if result.passed:
        st.success(f"Gate passed: {result.reason}.")
    else:
        st.error(f"Gate failed: {result.reason}.")
        st.dataframe(
            [
                {
                    "path": f.path,
                    "line": f.line,
                    "rule": f.code,
                    "severity": f.severity.value,
                    "message": f.message,
                }
                for f in result.new
            ],
            hide_index=True,
        )


def main() -> None:
    header("Project health", "findings of the latest recorded scan")
    refresh_on_change()
    if not require_scan():
        return
    k = key()
    scan = data.latest_scan(k)
    counts = data.severity_counts(k)
    rating = health_rating(counts, scan.lines or 0)
    grade, metrics = st.columns([1, 3])
    with grade:
        colour = GRADE_COLOURS[rating.grade]
        st.markdown(f"### Health rating\n# :{colour}[{rating.grade}]")
    with metrics:
        cols = st.columns(4)
        cols[0].metric("Findings", sum(counts.values()))
        cols[1].metric("Errors", counts.get("error", 0))
        cols[2].metric("Points / 1k lines", f"{rating.density:.1f}")
        cols[3].metric("Lines", f"{scan.lines:,}" if scan.lines else "not counted")
        st.caption(
            f"**How the rating is computed:** {HEALTH_FORMULA}. "
            f"Here: {rating.points} points over {rating.lines:,} lines = {rating.density:.1f}."
        )
        st.caption(
            f"Scan {scan.id} ({scan.source}) of {scan.files} files at {utc_minute(scan.started_at)}, commit `{(scan.commit_sha or '—')[:10]}`."
        )
    left, right = st.columns(2)
    with left:
        st.subheader("By severity")
        st.altair_chart(charts.severity_bars(counts), width="stretch")
    with right:
        st.subheader("By rule")
        rules = data.rule_counts(k)
        st.altair_chart(charts.rule_bars(rules), width="stretch")
    st.subheader("Trend")
    over_scans, over_commits = st.tabs(["Over recorded scans", "Over commits"])
    with over_scans:
        st.altair_chart(charts.scan_trend(data.scan_trend(k)), width="stretch")
    with over_commits:
        trend = data.commit_trend(k)
        if trend.empty:
            st.info("No history yet: build it in the Control panel, or run `ems history`.")
        else:
            st.altair_chart(charts.commit_trend(trend), width="stretch")
    gate_section()


main()
