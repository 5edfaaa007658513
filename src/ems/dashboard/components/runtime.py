"""Pieces of the Tests and Runtime errors pages: the runs chart, a group's detail, covered source."""

from __future__ import annotations

import html
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from ems.dashboard import context
from ems.dashboard.components.source import show_source

OUTCOME_COLOURS = alt.Scale(
    domain=["passed", "failed", "errors", "other"], range=["#2ca02c", "#d62728", "#ff7f0e", "#999999"]
)


def runs_chart(frame: pd.DataFrame) -> alt.LayerChart:
    """Stacked pass/fail/error bars per run, the run's duration as a line on its own axis."""
    counts = frame.melt(
        id_vars=["run", "time", "commit"],
        value_vars=["passed", "failed", "errors", "other"],
        var_name="outcome",
        value_name="tests",
    )
    bars = (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("run:O", title="run"),
            y=alt.Y("tests:Q", title="tests", stack=True),
            color=alt.Color("outcome:N", scale=OUTCOME_COLOURS),
            tooltip=["run", "time", "commit", "outcome", "tests"],
        )
    )
    line = (
        alt.Chart(frame)
        .mark_line(point=True, color="#1f77b4")
        .encode(x="run:O", y=alt.Y("seconds:Q", title="duration (s)"), tooltip=["run", "seconds"])
    )
    return alt.layer(bars, line).resolve_scale(y="independent").properties(height=240)


def group_detail(detail: dict[str, object], *, what: str) -> None:
    group = detail["group"]
    if group is None:
        st.info("This group is no longer in the store.")
        return
    failure = detail["failure"]
    members = detail["members"]
    st.markdown(
        f"**{group.exc_type}**: `{group.message}` — state **{group.state}**, "  # type: ignore[attr-defined]
        f"{len(members)} {what}{'s' if len(members) != 1 else ''}, "  # type: ignore[arg-type]
        f"{group.occurrences} failures in all since run {group.first_run_id}"  # type: ignore[attr-defined]
        + (f" (commit `{group.first_commit[:10]}`)" if group.first_commit else "")  # type: ignore[attr-defined]
    )
    states = " → ".join(f"run {run}: {state}" for run, state, _ in detail["history"])  # type: ignore[attr-defined]
    st.caption(f"States: {states}")
    st.markdown("**Members**")
    st.dataframe(pd.DataFrame({what: members}), hide_index=True)
    if not isinstance(failure, dict):
        return
    for index, exc in enumerate(failure.get("exceptions", [])):
        label = exc["type"] if index == 0 else f"{exc['relation']}: {exc['type']}"
        st.markdown(f"**{label}**: `{exc['message'].splitlines()[0] if exc['message'] else ''}`")
        frames = exc.get("frames") or []
        if frames:
            st.dataframe(
                pd.DataFrame(
                    [(f["path"], f["line"], f["function"], f["source"]) for f in frames],
                    columns=["file", "line", "function", "source"],
                ),
                hide_index=True,
            )
    crash = failure.get("crash")
    if crash:
        st.markdown(f"**Where it raised:** `{crash['path']}:{crash['line']}` in `{crash['function']}`")
        path = confined(crash["path"])
        if path is not None:
            show_source(path, int(crash["line"]))


def confined(relative: str) -> Path | None:
    """A stored path inside the project root, or None (never read outside the project)."""
    root = context.project_root()
    path = (root / relative).resolve()
    return path if path == root or root in path.parents else None


def coverage_html(lines: list[str], missing: set[int]) -> str:
    rows = []
    for number, text in enumerate(lines, start=1):
        style = "background:#ffd7d7;" if number in missing else ""
        rows.append(
            f'<tr style="{style}"><td style="color:#888;text-align:right;padding-right:8px;'
            f'user-select:none">{number}</td><td style="white-space:pre">{html.escape(text) or " "}</td></tr>'
        )
    return (
        '<div style="overflow:auto;max-height:600px;border:1px solid #ddd;border-radius:4px;padding:4px;'
        'font-family:monospace;font-size:0.85rem"><table style="border-collapse:collapse;border:none">'
        + "".join(rows)
        + "</table></div>"
    )


def show_coverage(relative: str, missing: list[int]) -> None:
    path = confined(relative)
    if path is None:
        st.warning("That file is outside the project.")
        return
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError as exc:
        st.warning(f"Cannot read the file: {exc.strerror or exc}")
        return
    st.caption(f"{len(missing)} uncovered lines, highlighted.")
    st.html(coverage_html(text.splitlines(), set(missing)))


def refresh_on_run(seen: int) -> None:
    """Rerun the page when a new run is recorded (``ems test``, ``ems run``, a captured program)."""
    from ems.store.testruns import latest_run_id

    @st.fragment(run_every=1.0)
    def _poll() -> None:
        if latest_run_id(context.store()) != seen:
            st.rerun(scope="app")

    _poll()
