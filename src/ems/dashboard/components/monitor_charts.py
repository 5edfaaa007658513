"""Altair charts of the monitor's samples and events (frames from ``ems.dashboard.monitor_data``)."""

from __future__ import annotations

import altair as alt
import pandas as pd


def per_process_line(frame: pd.DataFrame, field: str, height: int = 220) -> alt.Chart:
    """One line per process over time (CPU %, memory)."""
    return (
        alt.Chart(frame)
        .mark_line(interpolate="step-after")
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y(f"{field}:Q", title=field),
            color=alt.Color("process:N", title="process"),
            tooltip=["time:T", "process:N", alt.Tooltip(f"{field}:Q", format=".1f")],
        )
        .properties(height=height)
    )


def latency_lines(frame: pd.DataFrame, height: int = 220) -> alt.Chart:
    """Analysis latency p50/p95/max per interval, per process."""
    return (
        alt.Chart(frame)
        .mark_line(point=True)
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("ms:Q", title="analysis latency (ms)"),
            color=alt.Color("percentile:N", sort=["p50", "p95", "max"]),
            strokeDash=alt.StrokeDash("process:N"),
            tooltip=["time:T", "process:N", "percentile:N", alt.Tooltip("ms:Q", format=".1f")],
        )
        .properties(height=height)
    )


def events_timeline(frame: pd.DataFrame, height: int = 160) -> alt.Chart:
    """Each event a point on a time line, one row per kind."""
    return (
        alt.Chart(frame)
        .mark_circle(size=80)
        .encode(
            x=alt.X("time:T", title=None),
            y=alt.Y("event:N", title=None),
            color=alt.Color("event:N", legend=None),
            tooltip=["time:T", "event:N", "process:N", "reason:N"],
        )
        .properties(height=height)
    )
