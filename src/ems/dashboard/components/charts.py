"""Altair charts of store data (already aggregated by ``ems.store.queries``)."""

from __future__ import annotations

import altair as alt
import pandas as pd

SEVERITY_ORDER = ["error", "warning", "info", "hint"]
SEVERITY_COLOURS = ["#d62728", "#ff7f0e", "#1f77b4", "#9e9e9e"]
_SEVERITY_SCALE = alt.Scale(domain=SEVERITY_ORDER, range=SEVERITY_COLOURS)


def severity_bars(counts: dict[str, int]) -> alt.Chart:
    frame = pd.DataFrame({"severity": SEVERITY_ORDER, "findings": [counts.get(s, 0) for s in SEVERITY_ORDER]})
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("findings:Q", title="findings"),
            y=alt.Y("severity:N", sort=SEVERITY_ORDER, title=None),
            color=alt.Color("severity:N", scale=_SEVERITY_SCALE, legend=None),
            tooltip=["severity", "findings"],
        )
        .properties(height=160)
    )


def rule_bars(frame: pd.DataFrame, top: int = 15) -> alt.Chart:
    data = frame.head(top)
    return (
        alt.Chart(data)
        .mark_bar()
        .encode(
            x=alt.X("findings:Q", title="findings"),
            y=alt.Y("rule:N", sort="-x", title=None, axis=alt.Axis(labelOverlap=False)),
            color=alt.Color("severity:N", scale=_SEVERITY_SCALE),
            tooltip=["rule", "name", "severity", "findings", "fixable"],
        )
        .properties(height=max(160, 22 * len(data)))
    )


def scan_trend(frame: pd.DataFrame) -> alt.Chart:
    data = frame[frame["severity"] != "none"]
    return (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X("scan:O", title="recorded scan"),
            y=alt.Y("findings:Q", title="findings", stack=None),
            color=alt.Color("severity:N", scale=_SEVERITY_SCALE),
            tooltip=["scan", "time", "severity", "findings"],
        )
        .properties(height=220)
    )


def commit_trend(frame: pd.DataFrame) -> alt.LayerChart | alt.FacetChart:
    base = alt.Chart(frame).encode(x=alt.X("date:T", title="commit date"))
    events = frame.melt(
        id_vars=["date", "commit", "author", "summary"], value_vars=["introduced", "removed"], var_name="kind"
    )
    bars = (
        alt.Chart(events)
        .mark_bar(opacity=0.7, size=8)
        .encode(
            x="date:T",
            y=alt.Y("value:Q", title="findings"),
            color=alt.Color(
                "kind:N",
                scale=alt.Scale(
                    domain=["introduced", "removed", "open"], range=["#d62728", "#2ca02c", "#1f77b4"]
                ),
            ),
            xOffset="kind:N",
            tooltip=["commit", "author", "summary", "kind", "value"],
        )
    )
    line = base.mark_line(point=True, color="#1f77b4").encode(
        y=alt.Y("open:Q", title="findings"), tooltip=["commit", "author", "summary", "open"]
    )
    return alt.layer(bars, line).properties(height=260)


def hotspot_scatter(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_circle(opacity=0.7)
        .encode(
            # fitted to the data, not from 0: the files worth a look are told apart at the top
            x=alt.X(
                "recent_changes:Q", title="recent changes (decayed commit count)", scale=alt.Scale(zero=False)
            ),
            y=alt.Y("findings_per_100_lines:Q", title="findings per 100 lines", scale=alt.Scale(zero=False)),
            size=alt.Size("lines:Q", title="lines"),
            color=alt.Color("score:Q", scale=alt.Scale(scheme="orangered"), title="hotspot score"),
            tooltip=["path", "score", "recent_changes", "changes", "findings", "lines"],
        )
        .properties(height=360)
    )
