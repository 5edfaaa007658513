"""Process sampling, the memory watch and the event counter that the dashboard shows."""

from __future__ import annotations

import json
import os
import threading
import time

import pytest

from ems.runtime.monitor import (
    CACHE_DROP,
    KNOWN_EVENTS,
    TIMEOUT,
    EventCounter,
    MemoryWatch,
    ProcessMonitor,
)


def test_sample_describes_this_process() -> None:
    monitor = ProcessMonitor()
    sum(i * i for i in range(200_000))  # some CPU between the priming call and the sample
    sample = monitor.sample()
    assert sample.pid == os.getpid()
    assert 10 * 2**20 < sample.rss < 4 * 2**30
    assert sample.threads >= 1
    assert sample.fds >= 3
    assert sample.cpu_percent >= 0
    assert sample.uptime > 0
    assert json.loads(json.dumps(sample.as_dict()))["pid"] == os.getpid()


def test_snapshot_has_every_known_event_at_zero_and_is_json_ready() -> None:
    snapshot = EventCounter().snapshot()
    assert snapshot["counts"] == dict.fromkeys(KNOWN_EVENTS, 0)
    json.dumps(snapshot)


def test_counts_are_exact_under_concurrent_increments() -> None:
    events = EventCounter()

    def bump() -> None:
        for _ in range(1000):
            events.increment(TIMEOUT)

    threads = [threading.Thread(target=bump) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert events.count(TIMEOUT) == 8000
    assert events.snapshot()["last"][TIMEOUT] <= time.time()


def test_subscribers_hear_events_and_a_failing_one_breaks_nothing() -> None:
    events = EventCounter()
    heard: list[tuple[str, int]] = []

    def broken(name: str, count: int) -> None:
        raise RuntimeError("observer bug")

    events.subscribe(broken)
    unsubscribe = events.subscribe(lambda name, count: heard.append((name, count)))
    events.increment("custom_event", 2)
    events.increment("custom_event")
    unsubscribe()
    events.increment("custom_event")
    assert heard == [("custom_event", 2), ("custom_event", 3)]
    assert events.count("custom_event") == 4
    assert events.increment("custom_event", 0) == 4


def test_counters_are_independent_instances() -> None:
    a, b = EventCounter(), EventCounter()
    a.increment(TIMEOUT)
    assert b.count(TIMEOUT) == 0


class FakeRss:
    """An RSS that the caches' drop callbacks really shrink."""

    def __init__(self, value: int) -> None:
        self.value = value

    def __call__(self) -> int:
        return self.value


def test_memory_watch_drops_caches_past_the_limit_and_counts_it() -> None:
    rss = FakeRss(500)
    events = EventCounter()
    watch = MemoryWatch(limit=1000, events=events, cooldown=0, rss=rss)
    cache = {i: str(i) for i in range(100)}

    def drop() -> None:
        cache.clear()
        rss.value = 600

    watch.register("analysis-cache", drop)
    watch.register("broken", lambda: 1 / 0)
    assert watch.check() is False
    rss.value = 5000
    assert watch.check() is True
    assert cache == {}
    assert events.count(CACHE_DROP) == 1
    assert watch.last_rss == 600


def test_cooldown_prevents_dropping_in_a_loop() -> None:
    rss = FakeRss(2000)
    watch = MemoryWatch(limit=1000, cooldown=60, rss=rss)
    calls: list[int] = []
    watch.register("c", lambda: calls.append(1))
    assert watch.check() is True
    assert watch.check() is False
    assert calls == [1]


def test_unregistered_cache_is_left_alone() -> None:
    rss = FakeRss(2000)
    watch = MemoryWatch(limit=1000, cooldown=0, rss=rss)
    calls: list[str] = []
    watch.register("a", lambda: calls.append("a"))
    watch.unregister("a")
    watch.check()
    assert calls == []


def test_real_rss_over_a_tiny_limit_triggers_the_background_watch() -> None:
    events = EventCounter()
    dropped = threading.Event()
    watch = MemoryWatch(limit=1, events=events, cooldown=0)
    watch.register("flag", dropped.set)
    watch.start(interval=0.05)
    try:
        assert dropped.wait(5)
    finally:
        watch.stop()
    assert events.count(CACHE_DROP) >= 1


def test_limit_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        MemoryWatch(limit=0)
