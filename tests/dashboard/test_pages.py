"""Every page, run by AppTest against a store filled by the real scan and history code."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = Path(__file__).resolve().parents[2] / "src" / "ems" / "dashboard" / "app.py"

TIMEOUT = 60


def app() -> AppTest:
    return AppTest.from_file(str(APP), default_timeout=TIMEOUT)


def texts(at: AppTest) -> str:
    parts = [e.value for e in at.markdown] + [e.value for e in at.caption] + [e.value for e in at.title]
    parts += (
        [e.value for e in at.subheader] + [str(e.value) for e in at.info] + [str(e.value) for e in at.success]
    )
    parts += [str(e.value) for e in at.error] + [str(e.value) for e in at.warning]
    return "\n".join(str(p) for p in parts)


def run_page(page: str) -> AppTest:
    at = app().run()
    at.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_overview_shows_the_rating_its_formula_and_counts(demo_repo: Path) -> None:
    at = app().run()
    assert not at.exception, [e.value for e in at.exception]
    text = texts(at)
    assert "Health rating" in text
    assert "How the rating is computed" in text and "per 1,000 lines" in text
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Findings"] == "17"


@pytest.mark.parametrize(
    ("page", "key_text"),
    [
        ("pages/findings.py", "Findings"),
        ("pages/history.py", "Walked 11 commits"),
        ("pages/hotspots.py", "Formula"),
        ("pages/live.py", "Latest scan"),
        ("pages/control.py", "Rules"),
    ],
)
def test_every_page_renders_without_an_exception(demo_repo: Path, page: str, key_text: str) -> None:
    at = run_page(page)
    assert key_text in texts(at) or key_text in [m.label for m in at.metric]
