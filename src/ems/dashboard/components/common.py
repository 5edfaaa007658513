"""Small pieces every page uses: the cache key, the page header, the "no scan yet" prompt."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from ems.dashboard import context
from ems.dashboard.data import Key


def key() -> Key:
    s = context.state()
    return (context.store_path(), s.scan_id, s.history_run_id)


def utc_moment(stamp: str) -> datetime | None:
    """A stored ISO time (the store writes UTC, ``+00:00``) as an aware UTC datetime; None
    when it is not one."""
    try:
        moment = datetime.fromisoformat(stamp)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc_minute(stamp: str) -> str:
    """A stored ISO time as ``YYYY-MM-DD HH:MM UTC`` (as it is, when it is not one)."""
    moment = utc_moment(stamp)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else stamp


def header(title: str, caption: str) -> None:
    st.title(title)
    st.caption(f"{caption} · project `{context.project_root()}`")


def scan_now_button(label: str = "Run a scan now", key_suffix: str = "") -> None:
    from ems.runtime.project_scan import ScanError, scan_project

    if st.button(label, key=f"scan_now{key_suffix}", type="primary"):
        with st.spinner("Scanning the project…"):
            try:
                outcome = scan_project(context.project_root(), jobs=1, bus=context.bus())
            except ScanError as exc:
                st.error(f"The scan failed: {exc}")
                return
        st.success(
            f"Scanned {outcome.files} files: {len(outcome.findings)} findings (scan {outcome.scan_id})."
        )
        st.rerun()


def require_scan() -> bool:
    """True when a scan is recorded; else says how to make one and returns False."""
    if context.state().scan_id is not None:
        return True
    st.info(
        "No scan is recorded for this project yet. Run one here, from the Control panel, "
        "or with `ems check --record`."
    )
    scan_now_button()
    return False


def short(sha: str | None) -> str:
    return sha[:10] if sha else "—"
