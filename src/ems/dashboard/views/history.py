"""History: findings introduced and removed per commit, per author; a commit's own changes."""

from __future__ import annotations

import streamlit as st

from ems.dashboard import context, data
from ems.dashboard.components import charts
from ems.dashboard.components.common import header, key, utc_minute
from ems.dashboard.components.live import refresh_on_change


def main() -> None:
    header("History", "which commits introduced and removed findings")
    refresh_on_change()
    k = key()
    run = context.store().history_run() if k[2] is not None else None
    if run is None:
        st.info("No history is recorded yet: build it in the Control panel, or run `ems history`.")
        return
    trend = data.commit_trend(k)
    st.caption(
        f"Walked {run.commits} commits of {run.branch or 'a detached HEAD'} up to `{run.head_sha[:10]}` "
        f"({utc_minute(run.started_at)})."
    )
    st.altair_chart(charts.commit_trend(trend), width="stretch")
    commits, people = st.tabs(["Commits", "Authors"])
    with commits:
        table = trend.sort_values("timestamp", ascending=False)
        st.dataframe(
            table[["commit", "date", "author", "summary", "introduced", "removed", "open"]],
            hide_index=True,
            height=300,
            # Commit times are stored in UTC; the column says so once, not in every cell.
            column_config={"date": st.column_config.DatetimeColumn("date (UTC)", format="YYYY-MM-DD HH:mm")},
        )
        labels = {
            sha: f"{sha[:10]} {author}: {summary[:60]} (+{added} -{removed})"
            for sha, author, summary, added, removed in zip(
                table["sha"],
                table["author"],
                table["summary"],
                table["introduced"],
                table["removed"],
                strict=True,
            )
        }
        chosen = st.selectbox("Open a commit", list(labels), format_func=labels.__getitem__, key="h_commit")
        if chosen:
            events = context.store().events(chosen)
            added = [e for e in events if e.kind == "introduced"]
            gone = [e for e in events if e.kind == "removed"]
            left, right = st.columns(2)
            left.markdown(f"**Introduced ({len(added)})**")
            left.dataframe(
                [{"path": e.path, "line": e.line, "rule": e.code, "message": e.message} for e in added],
                hide_index=True,
            )
            right.markdown(f"**Removed ({len(gone)})**")
            right.dataframe(
                [{"path": e.path, "line": e.line, "rule": e.code, "message": e.message} for e in gone],
                hide_index=True,
            )
    with people:
        st.dataframe(data.authors(k), hide_index=True)


main()
