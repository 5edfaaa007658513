"""The real thing: ``ems dashboard`` on a free loopback port, driven by headless Chromium.

One server (module scope) for the scripted demo repository; every page is loaded, waited
for until its script finished, checked for its key text and for no exception box, and
screenshotted. Then one fix is applied through the UI and a file saved on disk must show
up on the Overview page without a reload.

Debian's /usr/bin/chromium only (never a downloaded browser). Skips when it is missing,
except under EMS_REQUIRE_EDITOR=1 (CI), where a missing browser fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import pytest

from headless_chromium import chromium, free_port, require_chromium  # tests/ (pytest pythonpath)

VIEWPORT = {"width": 1400, "height": 1700}  # Streamlit scrolls inside the page: full_page cannot
SCREENSHOTS_ENV = "EMS_DASHBOARD_SCREENSHOTS"  # also copy the screenshots there (docs)
PAGES = [
    ("", "Project health"),
    ("findings", "Open a finding"),
    ("history", "Walked 11 commits"),
    ("hotspots", "Formula"),
    ("live", "Latest scan"),
    ("monitor", "Health checks"),
    ("control", "Build or extend history"),
]

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("dashboard-browser")]


def _serve(root: Path, env: dict[str, str], log: IO[str] | int) -> tuple[subprocess.Popen[bytes], str]:
    """``ems dashboard`` on a free loopback port, once it answers its health endpoint."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ems", "dashboard", str(root), "--port", str(port), "--no-browser"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while True:
        try:
            with urllib.request.urlopen(url + "_stcore/health", timeout=2):
                return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"the dashboard did not start (exit {proc.poll()})") from None
            time.sleep(0.3)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    require_chromium()
    from conftest import load_demo_script

    root = load_demo_script().build(tmp_path_factory.mktemp("browser") / "demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMS_DASHBOARD_")}
    for args in (["check", "--record", "-q", "."], ["history", "."]):
        subprocess.run(
            [sys.executable, "-m", "ems", *args], cwd=root, env=env, capture_output=True, timeout=300
        )
    log = (root.parent / "server.log").open("w")
    try:
        proc, url = _serve(root, env, log)
    except AssertionError as exc:
        log.close()
        raise AssertionError(f"{exc}: {(root.parent / 'server.log').read_text()}") from None
    try:
        yield url, root
    finally:
        _stop(proc)
        log.close()
        server_log = (root.parent / "server.log").read_text()
        # Logs never carry source text: no line of the demo's code appears in them.
        assert "return totl" not in server_log and "import json" not in server_log


@pytest.fixture(scope="module")
def browser(server):
    with chromium() as browser:
        yield browser


def _settle(page, text: str, timeout: float = 150_000) -> None:
    """Wait for ``text``, then until Streamlit says the script is no longer running.

    Generous: a step that takes 5 s on a quiet machine took 53 s at load 10 (the fix's
    preview and apply both analyse the file); a page that never shows ``text`` still fails."""
    page.get_by_text(text, exact=False).first.wait_for(timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !/Running|Stop/.test(document.querySelector('[data-testid=\"stStatusWidget\"]').innerText)",
        timeout=timeout,
    )
    page.wait_for_timeout(500)  # let charts (vega) draw before a screenshot


def _exceptions(page) -> list[str]:
    """Exception boxes, and Streamlit's "Page not found" dialog (a wrong page URL)."""
    boxes = page.locator('[data-testid="stException"]').all_inner_texts()
    return boxes + page.get_by_text("Page not found").all_inner_texts()


def _shot(page, name: str, folder: Path) -> Path:
    path = folder / f"dashboard-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    extra = os.environ.get(SCREENSHOTS_ENV)
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(extra) / path.name)
    return path


def test_every_page_loads_in_chromium_without_an_exception(server, browser, tmp_path: Path) -> None:
    url, _ = server
    page = browser.new_page(viewport=VIEWPORT)
    for path, key_text in PAGES:
        page.goto(url + path)
        _settle(page, key_text)
        assert not _exceptions(page), (path, _exceptions(page))
        shot = _shot(page, path or "overview", tmp_path)
        assert shot.stat().st_size > 10_000
    page.close()


def test_a_fix_applied_in_the_browser_changes_the_file(server, browser, tmp_path: Path) -> None:
    url, root = server
    models = root / "inventory" / "models.py"
    assert "import json\n" in models.read_text()
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url + "findings?path=inventory/models.py")
    _settle(page, "Open a finding")
    page.get_by_role("button", name="Preview fix").click()
    _settle(page, "Preview")
    page.get_by_role("button", name="Apply", exact=True).click()
    _settle(page, "Applied to inventory/models.py")
    assert not _exceptions(page)
    assert "import json\n" not in models.read_text()
    _shot(page, "findings-applied", tmp_path)
    page.close()


def test_a_saved_file_shows_up_without_a_reload(server, browser, tmp_path: Path) -> None:
    url, root = server
    page = browser.new_page(viewport=VIEWPORT)
    page.goto(url)
    _settle(page, "Project health")
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="Findings").first
    before = int(metric.locator('[data-testid="stMetricValue"]').inner_text())
    report = root / "inventory" / "report.py"
    report.write_text(report.read_text() + "\n\nimport re\nimport textwrap\n")
    saved = time.monotonic()
    page.wait_for_function(
        """([before]) => {
            const metrics = [...document.querySelectorAll('[data-testid="stMetric"]')];
            const m = metrics.find(e => e.innerText.includes('Findings'));
            return m && parseInt(m.querySelector('[data-testid="stMetricValue"]').innerText) === before + 2;
        }""",
        arg=[before],
        timeout=20_000,
    )
    elapsed = time.monotonic() - saved
    _shot(page, "overview-live", tmp_path)
    assert not _exceptions(page)
    # How soon is a benchmark's figure (performance.md, Dashboard), not this test's: under a
    # loaded machine it took 10.7 s once. The wait above fails it if the update never comes.
    print(f"live update shown {elapsed:.2f} s after the save")
    page.goto(url + "live")
    _settle(page, "Latest scan")
    assert page.get_by_text("live", exact=True).count() >= 1  # the watcher's scan is listed
    _shot(page, "live", tmp_path)  # the Live page after a save: its recorded scans
    page.close()


def test_with_a_token_no_page_renders_before_it_is_given(server, browser, tmp_path: Path) -> None:
    """A second server, on loopback with a token: every URL (/findings too) asks for it first."""
    _, root = server
    token = "a-long-enough-test-token-123"
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMS_DASHBOARD_")}
    env["EMS_DASHBOARD_TOKEN"] = token
    proc, url = _serve(root, env, subprocess.DEVNULL)
    try:
        page = browser.new_page(viewport=VIEWPORT)
        for path in ("", "findings", "control"):
            page.goto(url + path)
            _settle(page, "needs an access token")
            assert page.get_by_text("Open a finding").count() == 0
            assert page.get_by_text("Project health").count() == 0
        page.goto(url + "findings?token=wrong-token-wrong-token")
        _settle(page, "Wrong access token")
        assert page.get_by_text("Open a finding").count() == 0
        page.goto(url + f"findings?token={token}")
        _settle(page, "Open a finding")
        assert "token" not in page.url  # removed from the address bar once accepted
        _shot(page, "token-accepted", tmp_path)
        page.close()
    finally:
        _stop(proc)
