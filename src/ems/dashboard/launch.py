"""Start the Streamlit server for ``app.py`` with ems's settings (from ``ems dashboard``).

Settings are passed as command-line flags, which take precedence over any
``.streamlit/config.toml`` (the project's or the user's): a project file cannot turn
XSRF or CORS protection off, or change the address the user asked for.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT_ENV = "EMS_DASHBOARD_ROOT"
LIVE_ENV = "EMS_DASHBOARD_LIVE"
APP_PATH = Path(__file__).with_name("app.py")


def server_flags(host: str, port: int, *, open_browser: bool) -> dict[str, object]:
    return {
        "server.address": host,
        "server.port": port,
        "server.headless": not open_browser,
        "server.enableXsrfProtection": True,
        "server.enableCORS": True,
        "server.fileWatcherType": "none",
        "server.runOnSave": False,
        "browser.gatherUsageStats": False,
        "browser.serverAddress": host if host not in ("0.0.0.0", "::") else "localhost",
        "browser.serverPort": port,
        "global.developmentMode": False,
        "client.toolbarMode": "viewer",
        "logger.level": "warning",
    }


def url(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


def serve(root: Path, host: str, port: int, *, token: str | None, open_browser: bool) -> None:
    """Run the server in this process until interrupted (the working directory becomes ``root``)."""
    from streamlit.web import bootstrap

    os.environ[ROOT_ENV] = str(root)
    os.environ[LIVE_ENV] = "1"
    if token is not None:
        from ems.dashboard.security import TOKEN_ENV

        os.environ[TOKEN_ENV] = token  # read by app.py in this process; never on a command line
    else:
        from ems.dashboard.security import TOKEN_ENV

        os.environ.pop(TOKEN_ENV, None)
    os.chdir(root)  # scans show and fingerprint paths relative to the project root
    flags = server_flags(host, port, open_browser=open_browser)
    bootstrap.load_config_options(flag_options=flags)
    bootstrap.run(str(APP_PATH), False, [], flags)
