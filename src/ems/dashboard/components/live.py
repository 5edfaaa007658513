"""Following the project live: one watcher per process, and a poll that refreshes pages.

The watcher (``ems.runtime.watch``) records a scan after each save; every page that
shows project state calls ``refresh_on_change`` which polls the store's state once a
second in a fragment (a few microseconds: two MAX(id) lookups) and reruns the page only
when a new scan or history walk was recorded.
"""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from ems.dashboard import context
from ems.runtime.events import EventBus, FixApplied, HistoryBuilt, ScanRecorded
from ems.runtime.watch import ProjectWatcher

POLL_SECONDS = 1.0


@st.cache_resource(show_spinner=False)
def _watcher(root: str) -> ProjectWatcher:
    from ems.dashboard.components.monitoring import events

    # its restarts reach the Monitor page; its scans, the Live page's event log
    return ProjectWatcher(Path(root), events=events(), bus=context.bus()).start()


class EventLog:
    """The last events of the dashboard's bus (scans recorded, fixes applied, history built),
    newest first."""

    def __init__(self, bus: EventBus, size: int = 20) -> None:
        self.entries: deque[tuple[str, str, str]] = deque(maxlen=size)
        bus.subscribe(ScanRecorded, self._scan)
        bus.subscribe(FixApplied, self._fix)
        bus.subscribe(HistoryBuilt, self._history)

    def _note(self, kind: str, detail: str) -> None:
        self.entries.appendleft((datetime.now(UTC).strftime("%H:%M:%S"), kind, detail))

    def _scan(self, event: ScanRecorded) -> None:
        self._note("scan recorded", f"scan {event.scan_id}: {event.findings} findings in {event.files} files")

    def _fix(self, event: FixApplied) -> None:
        self._note("fix applied", f"{event.path}: {', '.join(event.codes)}")

    def _history(self, event: HistoryBuilt) -> None:
        self._note("history built", f"{event.commits} commits to {event.tip[:10]}: {event.findings} findings")


@st.cache_resource(show_spinner=False)
def _event_log(root: str) -> EventLog:
    return EventLog(context.bus())


def event_log() -> EventLog:
    return _event_log(str(context.project_root()))


def watcher() -> ProjectWatcher:
    return _watcher(str(context.project_root()))


def ensure_watcher() -> ProjectWatcher | None:
    """Start watching when served by ``ems dashboard`` (not in page tests, which drive scans)."""
    from ems.dashboard.components.monitoring import monitoring

    monitoring()  # log file and sampler of this process (only when served)
    event_log()  # listening before anything is published
    return watcher() if context.live_enabled() else None


def refresh_on_change() -> None:
    seen = context.state()

    @st.fragment(run_every=POLL_SECONDS)
    def _poll() -> None:
        if context.state() != seen:
            st.rerun(scope="app")

    _poll()
