"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium, never a downloaded one.

One home for the binary, its flags and the launch, shared by the dashboard's browser test
(``tests/dashboard/test_browser.py``) and the VS Code end-to-end test
(``editor-client/e2e/test_code_server.py``). ``tests/`` is on ``sys.path`` through pytest's
``pythonpath`` setting in pyproject.toml.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REQUIRE_ENV = "EMS_REQUIRE_EDITOR"  # CI sets it: a missing browser fails instead of skipping


def require_chromium() -> None:
    """Skip without the browser locally; fail under ``EMS_REQUIRE_EDITOR=1`` (CI)."""
    if os.path.exists(CHROMIUM):
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{CHROMIUM} is missing (apt-get install chromium chromium-driver); required in CI")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")


def free_port() -> int:
    """A loopback port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def chromium() -> Iterator[Any]:
    """A Playwright ``Browser`` on Debian's Chromium, closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
