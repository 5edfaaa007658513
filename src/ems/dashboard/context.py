"""Where the dashboard is pointed: the project root, its store, and the store's state.

The root comes from ``EMS_DASHBOARD_ROOT`` (set by ``ems dashboard``; tests set it too),
else the working directory. The store is opened once per process (``st.cache_resource``);
cached queries take its ``StoreState`` as an argument, so they recompute only after a
new scan or history walk was recorded.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from ems.dashboard.launch import LIVE_ENV, ROOT_ENV
from ems.runtime.events import EventBus
from ems.store import Store, default_store_path, open_store
from ems.store.queries import StoreState, store_state


def project_root() -> Path:
    return Path(os.environ.get(ROOT_ENV) or os.getcwd()).resolve()


def store_path() -> str:
    return str(default_store_path(project_root()))


@st.cache_resource(show_spinner=False)
def store_at(path: str) -> Store:
    """The process's one store for ``path``, shared by every page and session (cached data
    functions take the path, not the store, as their key)."""
    return open_store(path=Path(path))


def store() -> Store:
    return store_at(store_path())


def state() -> StoreState:
    return store_state(store())


@st.cache_resource(show_spinner=False)
def _bus(root: str) -> EventBus:
    return EventBus()


def bus() -> EventBus:
    """The dashboard process's event bus for this project: its scans, fixes and the watcher
    publish here; the Live page lists what happened (``components.live.EventLog``)."""
    return _bus(str(project_root()))


def live_enabled() -> bool:
    return os.environ.get(LIVE_ENV) == "1"
