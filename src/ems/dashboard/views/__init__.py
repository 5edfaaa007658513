"""Page scripts (not ``pages/``: see ``ems.dashboard.nav``), run by Streamlit through ``st.navigation`` (registered in ``ems.dashboard.nav``).

Each file is a script: importing one renders it, so only Streamlit runs them.
"""
