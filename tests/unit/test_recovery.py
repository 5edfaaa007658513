"""Restarts with back-off, bounded: a crash loop stops restarting and says so."""

from __future__ import annotations

import os
import signal
import threading
import time

from ems.core.config import Config
from ems.rules.ems903_analysis_crash import AnalysisCrash
from ems.runtime.guard import GuardedAnalyser
from ems.runtime.monitor import CRASH_LOOP, PROCESS_RESTART, WORKER_CRASH, WORKER_RESTART, EventCounter
from ems.runtime.recovery import RestartPolicy, run_with_restarts


def _heard(events: EventCounter) -> list[tuple[str, str]]:
    heard: list[tuple[str, str]] = []
    events.subscribe(lambda name, total, reason: heard.append((name, reason)), detail=True)
    return heard


def test_policy_allows_restarts_up_to_its_bound_within_the_window_then_stops_for_good() -> None:
    now = [0.0]
    policy = RestartPolicy(max_restarts=3, window_s=60, base_delay_s=1, max_delay_s=3, clock=lambda: now[0])
    assert [policy.allow() for _ in range(3)] == [True, True, True]
    assert policy.delay() == 3  # 1, 2, 4 -> capped at 3
    now[0] = 61  # the old restarts left the window
    assert policy.allow() and policy.recent == 1 and policy.delay() == 1
    assert [policy.allow() for _ in range(3)] == [True, True, False]
    now[0] = 1000
    assert not policy.allow() and policy.stopped


def test_run_with_restarts_restarts_a_failing_loop_then_reports_a_crash_loop() -> None:
    events = EventCounter()
    heard = _heard(events)
    calls = []

    def watcher() -> None:
        calls.append(1)
        raise OSError("inotify limit reached")

    policy = RestartPolicy(max_restarts=2, window_s=60, base_delay_s=0.01)
    assert run_with_restarts("watcher", watcher, events, threading.Event(), policy) is False
    assert len(calls) == 3
    assert [name for name, _ in heard] == [PROCESS_RESTART, PROCESS_RESTART, CRASH_LOOP]
    assert heard[0][1].startswith("watcher raised OSError; restarted after")
    assert "not restarted again" in heard[-1][1]


def test_run_with_restarts_returns_when_asked_to_stop() -> None:
    events = EventCounter()
    stop = threading.Event()
    assert run_with_restarts("runner", stop.set, events, stop) is True
    assert events.snapshot()["counts"][PROCESS_RESTART] == 0  # type: ignore[index]


def _kill_worker(guard: GuardedAnalyser) -> None:
    pid = guard.worker_pid
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while guard.worker_pid is not None and time.monotonic() < deadline:
        time.sleep(0.01)


def test_guard_stops_replacing_a_worker_that_keeps_dying() -> None:
    events = EventCounter()
    heard = _heard(events)
    with GuardedAnalyser(timeout=30, events=events, restart_policy=RestartPolicy(2, 300)) as guard:
        guard.start()
        reports = []
        for n in range(3):
            _kill_worker(guard)
            reports.append(guard.analyse(f"x = {n}\n", "m.py", Config()))
        assert guard.crash_loop is not None
        codes = [[f.code for f in r.findings] for r in reports]
    assert codes == [[], [], [AnalysisCrash.code]]  # replaced twice (the analysis still happened), then not
    assert "not restarted again" in reports[-1].findings[0].message
    kinds = [name for name, _ in heard]
    assert kinds.count(WORKER_RESTART) == 2 and kinds.count(CRASH_LOOP) == 1
    assert kinds.count(WORKER_CRASH) == 3
    crash = next(reason for name, reason in heard if name == WORKER_CRASH)
    assert "SIGKILL" in crash


def test_the_project_watcher_is_restarted_then_stopped_on_a_crash_loop(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ems.runtime.watch import ProjectWatcher

    events = EventCounter()
    heard = _heard(events)
    gone = tmp_path / "deleted-project"  # watching a folder that does not exist fails at once
    watcher = ProjectWatcher(gone, events=events, policy=RestartPolicy(2, 60, base_delay_s=0.01)).start()
    deadline = time.monotonic() + 20
    while watcher.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not watcher.running
    assert [name for name, _ in heard] == [PROCESS_RESTART, PROCESS_RESTART, CRASH_LOOP]
    assert heard[0][1].startswith("project watcher raised FileNotFoundError")
    assert watcher.last_error is not None and "it was stopped" in watcher.last_error


def test_a_long_command_is_monitored_and_a_short_one_is_not(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ems.runtime.longrun import monitored_if_long
    from ems.store import monitor as m
    from ems.store import open_store

    (tmp_path / "pyproject.toml").write_text("[tool.ems.monitor]\ninterval = 0.2\n")
    with monitored_if_long([str(tmp_path)], "check", delay=5.0):
        pass  # short: nothing starts, nothing is written
    assert not (tmp_path / ".ems").exists()
    with monitored_if_long([str(tmp_path / "sub" / "x.py")], "history", delay=0.1):
        time.sleep(1.0)
    with open_store(tmp_path) as store:
        (proc,) = m.processes(store, include_stopped=True)
        assert (proc.kind, proc.state, proc.project) == ("history", "stopped", str(tmp_path))
        assert len(m.samples(store, since=0)) >= 2


def test_a_cache_drop_under_memory_pressure_says_why() -> None:
    from ems.runtime.monitor import CACHE_DROP, MemoryWatch

    events = EventCounter()
    heard = _heard(events)
    sizes = iter([900 * 2**20, 300 * 2**20])
    watch = MemoryWatch(512 * 2**20, events, rss=lambda: next(sizes))
    watch.register("analysis-cache", lambda: None)
    assert watch.check()
    assert heard == [
        (CACHE_DROP, "memory 900 MB over the 512 MB limit: dropped analysis-cache, now 300 MB"),
    ]


def test_the_long_run_alarm_waits_for_an_import_in_progress(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A loaded machine can still be importing `logging` when the alarm fires: importing the
    sampler then met `logging` half-initialised and failed the command. The alarm now waits
    for the import to finish, and monitoring still starts."""
    import importlib
    import sys

    from ems.runtime import longrun
    from ems.store import monitor as m
    from ems.store import open_store

    (tmp_path / "pyproject.toml").write_text("[tool.ems.monitor]\ninterval = 0.2\n")
    (tmp_path / "slow_module_for_alarm.py").write_text(
        "import sys, time\n"
        "started = time.monotonic()\n"
        "while time.monotonic() - started < 0.6:\n"
        "    pass\n"
        "SAMPLER_LOADED_DURING_IMPORT = 'ems.runtime.sampler' in sys.modules\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "ems.runtime.sampler", raising=False)
    with longrun.monitored_if_long([str(tmp_path)], "check", delay=0.1):
        module = importlib.import_module("slow_module_for_alarm")
        time.sleep(1.0)
    assert module.SAMPLER_LOADED_DURING_IMPORT is False
    with open_store(tmp_path) as store:
        (proc,) = m.processes(store, include_stopped=True)
        assert proc.kind == "check"
    assert longrun._importing(sys._getframe()) is False
