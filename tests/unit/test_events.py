"""The domain event bus: typed events reach their subscribers, and only theirs."""

from __future__ import annotations

import logging
from pathlib import Path

from ems.core.config import ConfigResolver
from ems.core.registry import load_rules
from ems.runtime.events import (
    CounterIncremented,
    EventBus,
    FileAnalysed,
    FixApplied,
    ScanRecorded,
    publish_counters,
)
from ems.runtime.monitor import TIMEOUT, EventCounter
from ems.runtime.scan import scan


def test_an_event_reaches_its_subscriber_and_no_other():
    bus = EventBus()
    fixes: list[FixApplied] = []
    scans: list[ScanRecorded] = []
    bus.subscribe(FixApplied, fixes.append)
    bus.subscribe(ScanRecorded, scans.append)
    bus.publish(FixApplied("a.py", ("F401", "F401")))
    assert fixes == [FixApplied("a.py", ("F401", "F401"))]
    assert scans == []


def test_unsubscribe_and_a_failing_subscriber_does_not_stop_the_others(caplog):
    bus = EventBus()
    heard: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("observer bug")

    bus.subscribe(FixApplied, broken)
    stop = bus.subscribe(FixApplied, heard.append)
    with caplog.at_level(logging.ERROR, logger="ems.events"):
        bus.publish(FixApplied("a.py", ("E711",)))
    assert len(heard) == 1
    assert "event handler failed on FixApplied" in caplog.text
    stop()
    bus.publish(FixApplied("a.py", ("E711",)))
    assert len(heard) == 1


def test_two_buses_are_independent():
    first, second = EventBus(), EventBus()
    heard: list[object] = []
    first.subscribe(FixApplied, heard.append)
    second.publish(FixApplied("a.py", ()))
    assert heard == []


def test_monitor_counters_are_published_through_the_bus():
    bus = EventBus()
    counter = EventCounter()
    heard: list[CounterIncremented] = []
    bus.subscribe(CounterIncremented, heard.append)
    undo = publish_counters(counter, bus)
    counter.increment(TIMEOUT)
    counter.increment(TIMEOUT, 2, reason="analysis of a.py exceeded 20 s")
    undo()
    counter.increment(TIMEOUT)
    assert heard == [
        CounterIncremented(TIMEOUT, 1, ""),
        CounterIncremented(TIMEOUT, 3, "analysis of a.py exceeded 20 s"),
    ]


def test_a_scan_publishes_file_analysed_for_each_file_cached_the_second_time(tmp_path: Path):
    (tmp_path / "a.py").write_text("import os\n")
    (tmp_path / "b.py").write_text("x = 1\n")
    rules = load_rules()
    bus = EventBus()
    heard: list[FileAnalysed] = []
    bus.subscribe(FileAnalysed, heard.append)

    def run() -> list[tuple[str, bool, int]]:
        heard.clear()
        list(scan([tmp_path], ConfigResolver(rules.codes, default_root=tmp_path), ruleset=rules, bus=bus))
        return sorted((e.path.rsplit("/", 1)[-1], e.cached, len(e.result.report.findings)) for e in heard)

    assert run() == [("a.py", False, 1), ("b.py", False, 0)]
    import os
    import time

    old = time.time() - 60  # older than the cache's racy-write window
    for name in ("a.py", "b.py"):
        os.utime(tmp_path / name, (old, old))
    run()
    assert run() == [("a.py", True, 1), ("b.py", True, 0)]
