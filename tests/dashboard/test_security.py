"""Who may open the dashboard: bind address, access token, paths confined to the project."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import psutil
import pytest
from streamlit.testing.v1 import AppTest

from ems.dashboard.security import BindRefused, check_bind, is_loopback, token_matches
from ems.runtime.root import OutsideProject, confined

APP = Path(__file__).resolve().parents[2] / "src" / "ems" / "dashboard" / "app.py"
TOKEN = "correct-horse-battery-staple-42"


def ems(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ems", *args], capture_output=True, text=True, env=env, timeout=timeout
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
def test_a_non_loopback_bind_without_a_token_is_refused_clearly(host: str, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "EMS_DASHBOARD_TOKEN"}
    result = ems("dashboard", str(tmp_path), "--host", host, "--no-browser", env=env)
    assert result.returncode == 2
    assert "needs an access token" in result.stderr and "--token" in result.stderr
    assert "EMS_DASHBOARD_TOKEN" in result.stderr


def test_bind_rules() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.0.0.1") and not is_loopback("example.com")
    check_bind("127.0.0.1", None)
    check_bind("0.0.0.0", TOKEN)
    with pytest.raises(BindRefused):
        check_bind("0.0.0.0", None)
    with pytest.raises(BindRefused, match="too short"):
        check_bind("0.0.0.0", "short")


def test_token_comparison() -> None:
    assert token_matches(TOKEN, TOKEN)
    assert not token_matches(TOKEN[:-1] + "x", TOKEN)
    assert not token_matches(None, TOKEN)
    assert not token_matches("", TOKEN)


def test_the_server_binds_to_loopback_by_default(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "EMS_DASHBOARD_TOKEN"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ems", "dashboard", str(tmp_path), "--port", str(port), "--no-browser"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.3)
        listening = [
            c.laddr for c in psutil.Process(proc.pid).net_connections() if c.status == psutil.CONN_LISTEN
        ]
        assert listening and all(addr.ip == "127.0.0.1" for addr in listening), listening
        assert all(addr.port == port for addr in listening)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}/" in out


def _pages_rendered(at: AppTest) -> bool:
    return any("Project health" in t.value for t in at.title)


def test_a_configured_token_is_required_before_any_page_renders(demo_repo: Path, monkeypatch) -> None:
    monkeypatch.setenv("EMS_DASHBOARD_TOKEN", TOKEN)
    missing = AppTest.from_file(str(APP), default_timeout=60).run()
    assert not missing.exception
    assert not _pages_rendered(missing)
    assert any("needs an access token" in s.value for s in missing.subheader)

    wrong = AppTest.from_file(str(APP), default_timeout=60)
    wrong.query_params["token"] = TOKEN + "x"
    wrong.run()
    assert not _pages_rendered(wrong)
    assert any("Wrong access token" in e.value for e in wrong.error)

    right = AppTest.from_file(str(APP), default_timeout=60)
    right.query_params["token"] = TOKEN
    right.run()
    assert not right.exception
    assert _pages_rendered(right)


def test_paths_from_the_ui_are_confined_to_the_project(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "a.py").write_text("x = 1\n")
    (tmp_path / "secret.py").write_text("s = 1\n")
    (root / "link.py").symlink_to(tmp_path / "secret.py")
    assert confined(root, "a.py") == (root / "a.py").resolve()
    for bad in ("../secret.py", str(tmp_path / "secret.py"), "link.py", "a.py\0.txt"):
        with pytest.raises(OutsideProject):
            confined(root, bad)


def test_a_patch_for_a_path_outside_the_project_is_refused(tmp_path: Path) -> None:
    from ems.fixes.preview import FilePatch, apply_patch, fix_patch

    root = tmp_path / "project"
    root.mkdir()
    outside = tmp_path / "victim.py"
    outside.write_text("import os\n")
    with pytest.raises(OutsideProject):
        fix_patch(root, "../victim.py", "any")
    with pytest.raises(OutsideProject):
        apply_patch(root, FilePatch("../victim.py", b"import os\n", b"", ("x",)))
    assert outside.read_text() == "import os\n"


def test_no_pages_folder_lets_a_url_run_a_page_without_the_token_check() -> None:
    # A pages/ folder next to app.py makes Streamlit run /NAME's script directly.
    from ems.dashboard.nav import PAGES

    assert not (APP.parent / "pages").exists()
    assert all((APP.parent / spec.script).is_file() for spec in PAGES)


def test_a_busy_port_is_refused_before_the_server_starts(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = ems("dashboard", str(tmp_path), "--port", str(port), "--no-browser")
    assert result.returncode == 2
    assert f"cannot serve on 127.0.0.1:{port}" in result.stderr and "--port" in result.stderr
