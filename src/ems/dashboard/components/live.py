"""Following the project live: one watcher per process, and a poll that refreshes pages.

The watcher (``ems.runtime.watch``) records a scan after each save; every page that
shows project state calls ``refresh_on_change`` which polls the store's state once a
second in a fragment (a few microseconds: two MAX(id) lookups) and reruns the page only
when a new scan or history walk was recorded.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ems.dashboard import context
from ems.runtime.watch import ProjectWatcher

POLL_SECONDS = 1.0


@st.cache_resource(show_spinner=False)
def _watcher(root: str) -> ProjectWatcher:
    from ems.dashboard.components.monitoring import events

    return ProjectWatcher(Path(root), events=events()).start()  # its restarts reach the Monitor page


def watcher() -> ProjectWatcher:
    return _watcher(str(context.project_root()))


def ensure_watcher() -> ProjectWatcher | None:
    """Start watching when served by ``ems dashboard`` (not in page tests, which drive scans)."""
    from ems.dashboard.components.monitoring import monitoring

    monitoring()  # log file and sampler of this process (only when served)
    return watcher() if context.live_enabled() else None


def refresh_on_change() -> None:
    seen = context.state()

    @st.fragment(run_every=POLL_SECONDS)
    def _poll() -> None:
        if context.state() != seen:
            st.rerun(scope="app")

    _poll()
