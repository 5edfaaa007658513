"""The dashboard's entry script (``streamlit run``): access check, then the page menu.

Nothing renders before the token check passes when a token is configured. Pages are
registered in ``ems.dashboard.nav``.
"""

from __future__ import annotations

import os
from pathlib import Path

import streamlit as st

from ems.dashboard.nav import PAGES
from ems.dashboard.security import TOKEN_ENV, token_matches

HERE = Path(__file__).parent


def _authorised() -> bool:
    expected = os.environ.get(TOKEN_ENV)
    if not expected:
        return True
    if st.session_state.get("ems_authorised"):
        return True
    given = st.query_params.get("token")
    if given is None:
        with st.form("ems_token"):
            st.subheader("This dashboard needs an access token")
            given = st.text_input("Access token", type="password") or None
            st.form_submit_button("Open")
    if given is not None and token_matches(given, expected):
        st.session_state["ems_authorised"] = True
        st.query_params.pop("token", None)  # keep it out of the address bar and history
        return True
    if given is not None:
        st.error("Wrong access token.")
    return False


def main() -> None:
    st.set_page_config(page_title="ems dashboard", page_icon=":material/monitor_heart:", layout="wide")
    if not _authorised():
        st.stop()
    sections: dict[str, list] = {}
    for spec in PAGES:
        page = st.Page(str(HERE / spec.script), title=spec.title, icon=spec.icon, url_path=spec.url_path)
        sections.setdefault(spec.section, []).append(page)
    from ems.dashboard.components.live import ensure_watcher

    ensure_watcher()
    st.navigation(sections).run()


main()
