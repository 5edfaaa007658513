"""The real ``ems serve`` observed through its store: samples, latency, restarts, crash loops.

Each test starts the server on a project in tmp_path whose ``[tool.ems.monitor]`` samples
every 0.3 s, drives it like an editor, and reads back what the sampler thread wrote.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from lsprotocol import types as lsp
from server_fixtures import change_document, edit_range, open_document, running_server, wait_for_diagnostics

from ems.runtime.monitor import CRASH_LOOP, WORKER_CRASH, WORKER_RESTART
from ems.store import monitor as m
from ems.store import open_store

pytestmark = pytest.mark.xdist_group("monitor-server")


def make_project(root: Path, **monitor: object) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    settings = {"interval": 0.3, **monitor}
    table = "\n".join(f"{key} = {json.dumps(value)}" for key, value in settings.items())
    (root / "pyproject.toml").write_text(f"[tool.ems.monitor]\n{table}\n")
    return root


async def poll_store(root: Path, ready, timeout: float = 20.0):  # type: ignore[no-untyped-def]
    """``ready(store)``'s first truthy answer, reading the store every 0.1 s."""
    deadline = time.monotonic() + timeout
    while True:
        if (root / ".ems" / "ems.db").exists():
            with open_store(root) as store:
                answer = ready(store)
            if answer:
                return answer
        if time.monotonic() > deadline:
            raise AssertionError("the store never showed it")
        await asyncio.sleep(0.1)


async def analysis_worker(client) -> psutil.Process:  # type: ignore[no-untyped-def]
    """The analysis worker, by the pid the server reports (the fix worker is a forkserver
    child too, once a document offers a fix)."""
    status = await client.workspace_execute_command_async(lsp.ExecuteCommandParams("ems.status"))
    pid = status["workers"]["analysis"]
    assert pid is not None, "no analysis worker under the server"
    return psutil.Process(pid)


def server_pid(client) -> int:  # type: ignore[no-untyped-def]
    return int(client._server.pid)


async def edit(client, uri: str, n: int) -> list[lsp.Diagnostic]:  # type: ignore[no-untyped-def]
    version = change_document(client, uri, [edit_range(0, 0, 0, 0, f"v{n} = {n}\n")])
    return await wait_for_diagnostics(client, uri, version)


async def test_the_server_records_samples_with_its_analysis_latency(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    async with running_server(root) as client:
        pid = server_pid(client)
        uri = open_document(client, root / "a.py", "import os\nx = 1\n")
        assert {str(d.code) for d in await wait_for_diagnostics(client, uri, 1)} == {"F401"}
        for n in range(6):
            await edit(client, uri, n)
        proc = await poll_store(
            root, lambda s: next((p for p in m.processes(s) if p.pid == pid and p.kind == "server"), None)
        )
        assert proc.state == "live" and proc.interval_s == 0.3 and proc.project == str(root)
        rows = await poll_store(
            root,
            lambda s: [r for r in m.samples(s, since=0, process_ids=[proc.id]) if r.sample.latency_p50_ms],
        )
        latency = rows[0].sample
        assert 0 < latency.latency_p50_ms <= latency.latency_p95_ms <= latency.latency_max_ms  # type: ignore[operator]
        assert latency.analyses and latency.analyses >= 1
        everything = await poll_store(root, lambda s: m.samples(s, since=0, process_ids=[proc.id]))
        assert all(r.sample.rss > 10 * 2**20 and r.sample.threads > 1 for r in everything)
        assert (root / ".ems" / "logs" / "server.log").exists()
        first = json.loads((root / ".ems" / "logs" / "server.log").read_text().splitlines()[0])
        assert first["kind"] == "server" and first["pid"] == pid
    with open_store(root) as store:
        (after,) = m.processes(store, include_stopped=True)
    assert after.state == "stopped"  # shutdown says goodbye


async def test_a_killed_worker_is_restarted_recorded_and_diagnostics_still_arrive(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p")
    async with running_server(root) as client:
        uri = open_document(client, root / "a.py", "import os\n")
        await wait_for_diagnostics(client, uri, 1)
        worker = await analysis_worker(client)
        worker.kill()
        worker.wait(10)
        diagnostics = await edit(client, uri, 1)
        assert {str(d.code) for d in diagnostics} == {"F401"}  # the replacement analysed it
        found = await poll_store(
            root,
            lambda s: (lambda e: e if len(e) >= 2 else None)(
                m.events(s, since=0, kinds=(WORKER_RESTART, WORKER_CRASH))
            ),
        )
        reasons = {e.kind: e.reason for e in found}
        assert "SIGKILL" in reasons[WORKER_CRASH]
        assert reasons[WORKER_RESTART].startswith("analysis worker restarted")


async def test_a_crash_loop_stops_restarts_and_turns_the_health_check_red(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", **{"max-restarts": 2, "restart-window": 600})
    async with running_server(root) as client:
        uri = open_document(client, root / "a.py", "import os\n")
        await wait_for_diagnostics(client, uri, 1)
        for n in range(3):
            worker = await analysis_worker(client)
            worker.kill()
            worker.wait(10)
            diagnostics = await edit(client, uri, n)
        assert [str(d.code) for d in diagnostics] == ["EMS903"]  # said on the document itself
        assert "not restarted again" in diagnostics[0].message
        loop = await poll_store(root, lambda s: m.events(s, since=0, kinds=(CRASH_LOOP,)))
        assert "more than 2 restarts in 600 s" in loop[0].reason
        done = subprocess.run(
            [sys.executable, "-m", "ems", "doctor", str(root), "--format", "json"],
            capture_output=True,
            text=True,
            timeout=60,
            env=os.environ,
        )
        assert done.returncode == 1, done.stdout + done.stderr
        checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
        assert checks["restarts"]["status"] == "red"
        assert checks["restarts"]["reason"].startswith("crash loop: the analysis worker failed")
