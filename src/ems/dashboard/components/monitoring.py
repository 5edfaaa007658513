"""The dashboard process's own monitoring: its log file, its sampler, its event counter.

One per process (``st.cache_resource``), started with the watcher when served by
``ems dashboard``; the watcher reports its restarts into the same counter, so they reach
the store's events and the Monitor page.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ems.dashboard import context
from ems.runtime.monitor import EventCounter
from ems.runtime.sampler import ProcessMonitoring, monitor_process

KIND = "dashboard"


@st.cache_resource(show_spinner=False)
def _monitoring(root: str, live: bool) -> ProcessMonitoring:
    if not live:  # page tests and embedded runs: count events, record nothing
        return ProcessMonitoring(EventCounter(), None)
    return monitor_process(Path(root), KIND, bus=context.bus())  # the watcher's scans: files/s


def monitoring() -> ProcessMonitoring:
    return _monitoring(str(context.project_root()), context.live_enabled())


def events() -> EventCounter:
    return monitoring().events
