"""The dashboard's pages, in menu order: the one place to register a page.

A page is a script in ``views/``; add a ``PageSpec`` to ``PAGES`` (its section groups it
in the menu). ``app.py`` turns this list into ``st.navigation``.

Why ``views/`` and not ``pages/``: a ``pages/`` folder next to ``app.py`` switches
Streamlit to its legacy multipage mode, where ``/findings`` runs that page's script on
its own — without ``app.py``, so without the access-token check. No ``pages/`` folder may
ever sit next to ``app.py`` (a test checks it).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    script: str  # relative to this package: "views/NAME.py"
    title: str
    icon: str
    section: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/overview.py", "Overview", ":material/monitor_heart:", "Project", "overview"),
    PageSpec("views/findings.py", "Findings", ":material/bug_report:", "Project", "findings"),
    PageSpec("views/history.py", "History", ":material/history:", "Project", "history"),
    PageSpec("views/hotspots.py", "Hotspots", ":material/local_fire_department:", "Project", "hotspots"),
    PageSpec("views/live.py", "Live", ":material/sensors:", "Project", "live"),
    PageSpec("views/tests.py", "Tests", ":material/science:", "Runtime", "tests"),
    PageSpec("views/runtime_errors.py", "Runtime errors", ":material/error:", "Runtime", "runtime-errors"),
    PageSpec("views/monitor.py", "Monitor", ":material/speed:", "System", "monitor"),
    PageSpec("views/control.py", "Control panel", ":material/tune:", "Settings", "control"),
)
