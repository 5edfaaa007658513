"""The dashboard's pages, in menu order: the one place to register a page.

A page is a script in ``pages/``; add a ``PageSpec`` to ``PAGES`` (its section groups it
in the menu). ``app.py`` turns this list into ``st.navigation``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    script: str  # relative to this package: "pages/NAME.py"
    title: str
    icon: str
    section: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("pages/overview.py", "Overview", ":material/monitor_heart:", "Project", "overview"),
    PageSpec("pages/findings.py", "Findings", ":material/bug_report:", "Project", "findings"),
    PageSpec("pages/history.py", "History", ":material/history:", "Project", "history"),
    PageSpec("pages/hotspots.py", "Hotspots", ":material/local_fire_department:", "Project", "hotspots"),
    PageSpec("pages/live.py", "Live", ":material/sensors:", "Project", "live"),
    PageSpec("pages/control.py", "Control panel", ":material/tune:", "Settings", "control"),
)
