"""The monitor tables: registration, batched samples and events, staleness, retention."""

from __future__ import annotations

import time
from pathlib import Path

from ems.core.config import ConfigResolver
from ems.core.registry import load_rules
from ems.runtime.events import EventBus, publish_counters
from ems.runtime.longrun import FileRate
from ems.runtime.monitor import WORKER_CRASH, EventCounter
from ems.runtime.sampler import Sampler
from ems.runtime.scan import scan
from ems.runtime.settings import MonitorSettings
from ems.store import monitor as m
from ems.store import open_store


def _register(store, kind: str = "server", interval: float = 5.0, pid: int = 4242) -> int:  # type: ignore[no-untyped-def]
    return m.register_process(store, kind=kind, project="/p", version="t", interval_s=interval, pid=pid)


def test_samples_and_events_are_written_in_batches_and_read_back(tmp_path: Path) -> None:
    with open_store(tmp_path) as store:
        pid = _register(store)
        now = time.time()
        sample = m.Sample(now, 5.0, 12.5, 100 * 2**20, 7, 20, 3, 4.0, 9.0, 11.0, 1, 0.5, None, 30.0, 40.0)
        m.record_batch(store, pid, [sample], [(now, WORKER_CRASH, "killed by SIGKILL")])
        rows = m.samples(store, since=now - 1)
        assert [(r.kind, r.pid, r.sample) for r in rows] == [("server", 4242, sample)]
        (event,) = m.events(store, since=now - 1)
        assert (event.kind, event.reason, event.pid, event.process_kind) == (
            WORKER_CRASH,
            "killed by SIGKILL",
            4242,
            "server",
        )
        assert m.event_counts(store, since=now - 1) == {WORKER_CRASH: 1}
        assert m.latest_samples(store, [pid]) == {pid: sample}


def test_a_process_silent_for_three_intervals_is_stale_and_a_stopped_one_is_not_listed(
    tmp_path: Path,
) -> None:
    with open_store(tmp_path) as store:
        silent = _register(store, interval=0.1, pid=1)
        stopped = _register(store, interval=0.1, pid=2)
        m.mark_stopped(store, stopped)
        assert {p.id: p.state for p in m.processes(store)} == {silent: "live"}
        time.sleep(0.35)
        assert {p.id: p.state for p in m.processes(store)} == {silent: "stale"}
        everything = {p.id: p.state for p in m.processes(store, include_stopped=True)}
        assert everything == {silent: "stale", stopped: "stopped"}


def test_the_sampler_thread_records_samples_probe_figures_and_counter_events(tmp_path: Path) -> None:
    """The sampler follows the process's event bus: the counters bridged onto it (with their
    reasons) become events; the files a scan served there become files per second."""
    events = EventCounter()
    bus = EventBus()
    publish_counters(events, bus)
    spans: list[float] = []

    def probe(span: float) -> dict[str, float]:
        spans.append(span)
        return {"latency_p50_ms": 3.0, "analyses": 2, "not_a_field": 1.0}

    sampler = Sampler(tmp_path, "check", bus, settings=MonitorSettings(interval_s=0.2), probe=probe).start()
    try:
        deadline = time.monotonic() + 10
        while sampler.ticks < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        events.increment(WORKER_CRASH, reason="worker killed by SIGKILL")
        (tmp_path / "a.py").write_text("import os\n")
        for result in scan(
            [tmp_path / "a.py"], ConfigResolver(load_rules().codes), jobs=1, use_cache=False, bus=bus
        ):
            assert result.report.findings
        deadline = time.monotonic() + 10
        while sampler.ticks < 5 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sampler.stop()
    with open_store(tmp_path) as store:
        (proc,) = m.processes(store, include_stopped=True)
        assert (proc.kind, proc.state) == ("check", "stopped")
        rows = m.samples(store, since=0)
        assert len(rows) >= 5
        assert all(r.sample.rss > 0 and r.sample.threads >= 2 for r in rows)
        assert {r.sample.latency_p50_ms for r in rows} == {3.0}
        assert [(e.kind, e.reason) for e in m.events(store, since=0)] == [
            (WORKER_CRASH, "worker killed by SIGKILL")
        ]
        rates = [r.sample.files_per_s for r in rows if r.sample.files_per_s is not None]
        assert len(rates) == 1 and rates[0] > 0  # one file, in one interval
    assert all(0 < s < 5 for s in spans[1:])


def test_a_long_runs_file_rate_is_files_per_second_of_each_interval() -> None:
    rate = FileRate()
    assert rate(1.0) == {"files_per_s": 0.0}
    rate.done = 30
    assert rate(2.0) == {"files_per_s": 15.0}
    rate.done = 31
    assert rate(0.5) == {"files_per_s": 2.0}


def test_a_week_of_samples_from_three_processes_stays_under_ten_megabytes(tmp_path: Path) -> None:
    """Full resolution for a day, 5-minute averages for the rest of the week, nothing older."""
    interval = 5.0
    start = time.time() - 8 * 86400
    with open_store(tmp_path) as store:
        ids = [_register(store, pid=n) for n in (1, 2, 3)]
        at = start
        while at < start + 8 * 86400:
            day = [
                m.Sample(at + i * interval, interval, 3.0, 80 * 2**20, 9, 30, 2, 5.0, 9.0, 12.0, 0, 0.4)
                for i in range(int(86400 / interval))
            ]
            for pid in ids:
                m.record_batch(store, pid, day, heartbeat_at=at + 86400)
            at += 86400
            m.prune(store, now=at)
        size = m.table_bytes(store)
        rows = store._query("SELECT COUNT(*), MIN(at) FROM monitor_samples")[0]
        full = store._query("SELECT COUNT(*) FROM monitor_samples WHERE span_s = ?", (interval,))[0][0]
    assert size < 10 * 2**20, size
    assert rows[1] >= at - m.KEEP_SAMPLES_S - m.DOWNSAMPLE_S  # nothing older than the retention
    assert full == 3 * 86400 / interval  # exactly one day at full resolution
    assert rows[0] < full + 3 * 7 * 86400 / m.DOWNSAMPLE_S + 10


def test_a_recovered_store_records_why_it_is_new(tmp_path: Path) -> None:
    path = tmp_path / ".ems" / "ems.db"
    path.parent.mkdir()
    path.write_bytes(b"this is not a database" * 100)
    with open_store(tmp_path, recover=True) as store:
        assert store.recovered_from is not None
        (event,) = m.events(store, since=0)
    assert event.kind == m.STORE_RECOVERY and store.recovered_from.name in event.reason
