"""``ems doctor`` on real projects in tmp_path: healthy, and each way of being unwell."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from ems.store import monitor as m
from ems.store import open_store

GIT_ENV = {
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def ems(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ems", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def doctor(project: Path, env: dict[str, str] | None = None) -> tuple[int, dict[str, dict[str, str]]]:
    done = ems("doctor", str(project), "--format", "json", cwd=project, env=env)
    assert done.returncode in (0, 1), done.stderr
    payload = json.loads(done.stdout)
    assert payload["status"] == ("red" if done.returncode else payload["status"])
    return done.returncode, {c["name"]: c for c in payload["checks"]}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nrequires-python = ">=3.11"\n')
    (root / "app.py").write_text("import os\n\n\ndef f(x):\n    return x == None\n")
    env = {**os.environ, **GIT_ENV}
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "first"]):
        subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)
    assert ems("check", ".", cwd=root).returncode == 1  # findings: builds the result cache
    assert ems("history", cwd=root, env=GIT_ENV).returncode in (0, 1)  # creates the store
    return root


def test_a_healthy_project_is_all_green_and_exits_zero(project: Path) -> None:
    assert (project / ".ems" / "ems.db").exists() and not (project / ".ems" / "cache").exists()
    code, checks = doctor(project)
    assert code == 0
    assert {name: c["status"] for name, c in checks.items() if c["status"] != "green"} == {}
    assert {"store", "cache", "logs", "disk", "processes", "memory", "restarts", "rule errors"} <= set(checks)
    assert {"plug-ins", "git", "python", "settings"} <= set(checks)
    assert checks["store"]["reason"].startswith("integrity ok")
    text = ems("doctor", cwd=project)
    assert text.returncode == 0 and "overall: green" in text.stdout


def test_a_corrupt_store_is_red_with_the_recovery_command(project: Path) -> None:
    store = project / ".ems" / "ems.db"
    for side in (".ems/ems.db-wal", ".ems/ems.db-shm"):
        (project / side).unlink(missing_ok=True)
    store.write_bytes(b"garbage, not SQLite " * 500)
    code, checks = doctor(project)
    assert code == 1
    assert checks["store"]["status"] == "red"
    assert "damaged" in checks["store"]["reason"]
    assert "aside" in checks["store"]["remedy"] and "ems check" in checks["store"]["remedy"]
    assert store.read_bytes().startswith(b"garbage")  # the doctor looks, never moves or deletes


def test_a_full_log_folder_is_red(project: Path) -> None:
    logs = project / ".ems" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with (logs / "debug-dump.log").open("wb") as f:  # sparse: 300 MB of size, no disk used
        f.truncate(300 * 1024 * 1024)
    code, checks = doctor(project)
    assert code == 1
    assert checks["logs"]["status"] == "red"
    assert "300.0 MB" in checks["logs"]["reason"] and "delete old files" in checks["logs"]["remedy"]


SAMPLED_PROCESS = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ems.runtime.sampler import start_sampler
    sampler = start_sampler(Path(sys.argv[1]), "dashboard")
    print("started", flush=True)
    time.sleep(600)
    """
)


def test_a_process_that_died_silently_is_amber_stale(project: Path) -> None:
    env = {**os.environ, "EMS_MONITOR_INTERVAL": "0.2"}
    proc = subprocess.Popen(
        [sys.executable, "-c", SAMPLED_PROCESS, str(project)], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 30
        live: list[m.ProcessInfo] = []
        while not live and time.monotonic() < deadline:
            with open_store(project) as store:
                live = [p for p in m.processes(store) if p.pid == proc.pid and p.state == "live"]
            time.sleep(0.1)
        assert live, "the sampled process never registered"
        code, checks = doctor(project)
        assert (
            checks["processes"]["status"] == "green"
            and f"dashboard pid {proc.pid}" in checks["processes"]["reason"]
        )
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    time.sleep(1.0)  # more than three intervals of 0.2 s
    code, checks = doctor(project)
    assert code == 0  # amber is a warning, not a failure
    assert checks["processes"]["status"] == "amber"
    assert f"dashboard pid {proc.pid} silent for" in checks["processes"]["reason"]
    assert "stopped without saying so" in checks["processes"]["reason"]


def test_a_plugin_that_fails_to_import_is_red(project: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    dist = site / "broken_rules-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-rules\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ems.rules]\nbroken = broken_rules_mod:Rule\n")
    (site / "broken_rules_mod.py").write_text("import not_installed_dependency\n")
    path = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    code, checks = doctor(project, env={"PYTHONPATH": path})
    assert code == 1
    assert checks["plug-ins"]["status"] == "red"
    reason = checks["plug-ins"]["reason"]
    assert "broken (broken_rules_mod:Rule): ModuleNotFoundError" in reason
    assert "uninstall" in checks["plug-ins"]["remedy"]


def test_a_bad_monitor_setting_is_red_and_named(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.ems.monitor]\ninterval = "often"\n')
    code, checks = doctor(project)
    assert code == 1 and checks["settings"]["status"] == "red"
    assert "interval" in checks["settings"]["reason"]


def test_a_missing_path_is_an_error(tmp_path: Path) -> None:
    done = ems("doctor", str(tmp_path / "nowhere"), cwd=tmp_path)
    assert done.returncode == 2 and "does not exist" in done.stderr


LONG_CHECK = textwrap.dedent(
    """
    import sys
    import ems.runtime.longrun as longrun
    from ems.cli.main import main

    longrun.DEFAULT_DELAY_S = 0.05  # monitored from the start, as a run past 5 s would be
    sys.exit(main(["check", "--no-cache", "--jobs", "1", "-q", sys.argv[1]]))
    """
)


def test_a_long_check_records_files_per_second(project: Path) -> None:
    """A monitored ``ems check`` samples the files it served per second into the store."""
    for i in range(150):
        (project / f"mod_{i}.py").write_text("import os\n" + "x = [i for i in range(10)]\n" * 40)
    env = {**os.environ, "EMS_MONITOR_INTERVAL": "0.2"}
    done = subprocess.run(
        [sys.executable, "-c", LONG_CHECK, str(project)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 1, done.stderr  # findings
    with open_store(project) as store:
        rows = [r for r in m.samples(store, since=0) if r.kind == "check"]
    rates = [r.sample.files_per_s for r in rows if r.sample.files_per_s]
    assert rows and rates, [r.sample for r in rows]
    assert all(rate > 0 for rate in rates)


def test_doctor_names_a_scanning_process_with_its_files_per_second(project: Path) -> None:
    with open_store(project) as store:
        pid = m.register_process(
            store, kind="check", project=str(project), version="t", interval_s=60.0, pid=os.getpid()
        )
        sample = m.Sample(time.time(), 5.0, 50.0, 80 * 2**20, 3, 10, files_per_s=180.0)
        m.record_batch(store, pid, [sample], [])
    _, checks = doctor(project)
    assert checks["processes"]["status"] == "green"
    assert f"check pid {os.getpid()} (" in checks["processes"]["reason"]
    assert "180 files/s" in checks["processes"]["reason"]
