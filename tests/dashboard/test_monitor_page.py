"""The Monitor page by AppTest, on a store filled by real ems processes (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from ems.store import open_store
from ems.store.monitor import samples

APP = Path(__file__).resolve().parents[2] / "src" / "ems" / "dashboard" / "app.py"

# A process that monitors itself, has its analysis worker killed once (a crash and a
# restart recorded with their reasons), logs a warning, and stops after a few samples.
WORKLOAD = textwrap.dedent(
    """
    import logging, os, signal, sys, time
    from pathlib import Path
    from ems.core.config import Config, ConfigResolver
    from ems.core.registry import load_rules
    from ems.runtime.guard import GuardedAnalyser
    from ems.runtime.sampler import monitor_process
    from ems.runtime.scan import scan

    root = Path(sys.argv[1])
    monitoring = monitor_process(root, "check")
    with GuardedAnalyser(timeout=30, events=monitoring.events) as guard:
        guard.start()
        os.kill(guard.worker_pid, signal.SIGKILL)
        while guard.worker_pid is not None:
            time.sleep(0.01)
        guard.analyse("import os\\n", "a.py", Config())
    # a scan on the process's bus: its files become the "files scanned per second" figure
    files = list(scan([root], ConfigResolver(load_rules().codes), jobs=1, use_cache=False, bus=monitoring.bus))
    assert files
    logging.getLogger("ems.check").warning("monitor page test: slow disk on %s", "a.py")
    time.sleep(1.0)
    monitoring.stop()
    """
)


@pytest.fixture
def monitored(demo_repo: Path) -> Path:
    env = {**os.environ, "EMS_MONITOR_INTERVAL": "0.2"}
    done = subprocess.run(
        [sys.executable, "-c", WORKLOAD, str(demo_repo)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return demo_repo


def monitor_page() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=60).run()
    at.switch_page("views/monitor.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _walk(node):  # type: ignore[no-untyped-def]
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def frames(at: AppTest) -> list:  # type: ignore[type-arg]
    return [df.value for df in at.dataframe]


def test_the_monitor_page_shows_processes_events_health_and_logs(monitored: Path) -> None:
    at = monitor_page()
    tables = frames(at)
    processes = next(t for t in tables if "heartbeat age (s)" in t.columns)
    assert list(processes["state"]) == ["stopped"] and processes["process"][0].startswith("check ")
    assert processes["memory (MB)"][0] > 5
    assert "files/s" in processes.columns
    events = next(t for t in tables if "reason" in t.columns and "event" in t.columns)
    assert {"worker crashes", "worker restarts"} <= set(events["event"])
    assert any("SIGKILL" in reason for reason in events["reason"])
    health = next(t for t in tables if "remedy" in t.columns)
    assert {"store", "processes", "restarts", "logs"} <= set(health["check"])
    assert dict(zip(health["check"], health["status"], strict=True))["restarts"] == "amber"
    assert "" not in health.columns  # no emoji column: the status cell is coloured text
    logs = next(t for t in tables if "logger" in t.columns)
    assert "monitor page test: slow disk on a.py" in set(logs["message"])
    charts = [e for e in _walk(at.main) if e.type == "vega_lite_chart"]
    assert len(charts) >= 4, [e.type for e in _walk(at.main)]  # CPU, memory, files/s, events
    assert any("Files scanned per second" in str(m.value) for m in at.markdown)
    assert not any("No scan in this window" in str(c.value) for c in at.caption)
    with open_store(monitored) as store:  # the workload's scan, as the chart shows it
        rates = [r.sample.files_per_s for r in samples(store, since=0) if r.sample.files_per_s is not None]
    assert rates and all(rate > 0 for rate in rates)


def test_the_log_filter_narrows_the_list(monitored: Path) -> None:
    at = monitor_page()
    at.text_input(key="monitor_log_filter").input("no such text anywhere").run()
    assert not at.exception
    assert not any("logger" in t.columns for t in frames(at))
    assert any("0 record(s)" in c.value for c in at.caption)


def test_an_empty_project_says_nothing_was_recorded(demo_repo: Path) -> None:
    at = monitor_page()
    assert any("No ems process has recorded samples yet" in str(i.value) for i in at.info)


# A process that samples itself but never scans (a language server before its first scan).
IDLE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from ems.runtime.sampler import monitor_process

    monitoring = monitor_process(Path(sys.argv[1]), "server")
    time.sleep(1.0)
    monitoring.stop()
    """
)


def test_a_process_that_has_not_scanned_shows_a_dash_for_files_per_second(monitored: Path) -> None:
    env = {**os.environ, "EMS_MONITOR_INTERVAL": "0.2"}
    done = subprocess.run(
        [sys.executable, "-c", IDLE, str(monitored)], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    processes = next(t for t in frames(monitor_page()) if "heartbeat age (s)" in t.columns)
    rates = dict(zip((p.split()[0] for p in processes["process"]), processes["files/s"], strict=True))
    assert rates["server"] == "–"
    assert rates["check"] == "–" or float(rates["check"]) > 0  # the scan's interval may have passed
    assert "None" not in {str(v) for v in processes["files/s"]}
