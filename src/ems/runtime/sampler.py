"""A background thread that records what a long-running ems process is doing.

Started by the language server, the dashboard (and its watcher), and an ``ems check`` or
``ems history`` that runs longer than one interval. Every ``interval_s`` it takes one
``ProcessMonitor`` sample plus the face's own figures (a ``probe``: analysis latency
percentiles, queue depth, cache hit rate, files per second, code-action latency) and writes
them, with the events heard meanwhile, in one store transaction.

What it hears comes from the process's domain event bus (``ems.runtime.events``):
``CounterIncremented`` (the monitor counters, with their reasons: restarts, crashes,
time-outs, cache drops...) and ``FileAnalysed`` (the files a scan served: files per second
when the probe does not say).

Why a thread of its own with its own store connection: the writes are batched once per
interval and never happen on the keystroke path or the server's event loop; the event
subscriber only appends to a bounded deque. A store that cannot be written (locked, damaged,
read-only) costs the samples of that interval and a log line, never the process. The
subscribers only append to a bounded deque or add one to a count.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

from ems import __version__
from ems.runtime.events import CounterIncremented, EventBus, FileAnalysed, publish_counters
from ems.runtime.monitor import EventCounter, ProcessMonitor
from ems.runtime.settings import MonitorSettings

log = logging.getLogger("ems.monitor")

Probe = Callable[[float], Mapping[str, float | int | None]]
PRUNE_EVERY_S = 3600.0
MAX_PENDING_EVENTS = 1000
MAX_PENDING_SAMPLES = 100


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))]


class Sampler:
    """Registers this process in the store and samples it every interval until ``stop()``."""

    def __init__(
        self,
        root: Path,
        kind: str,
        bus: EventBus | None = None,
        *,
        settings: MonitorSettings | None = None,
        probe: Probe | None = None,
        memory_limit: Callable[[], int] | None = None,
        store_path: Path | None = None,
    ) -> None:
        self.root = root
        self.kind = kind
        self.bus = bus or EventBus()
        self.settings = settings or MonitorSettings()
        self.probe = probe
        self.memory_limit = memory_limit or (lambda: self.settings.memory_limit)
        self.store_path = store_path
        self.process_id: int | None = None
        self.ticks = 0
        self._pending_events: deque[tuple[float, str, str]] = deque(maxlen=MAX_PENDING_EVENTS)
        self._pending_samples: deque[object] = deque(maxlen=MAX_PENDING_SAMPLES)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: list[Callable[[], None]] = []
        self._files = 0  # FileAnalysed heard so far (the tick takes the difference)
        self._files_at_tick = 0
        self._store: object | None = None
        self._last_prune = 0.0
        self._last_tick = time.monotonic()

    # -- lifecycle

    def start(self) -> Sampler:
        if self._thread is None:
            self._unsubscribe = [
                self.bus.subscribe(CounterIncremented, self._heard),
                self.bus.subscribe(FileAnalysed, self._file_analysed),
            ]
            self._thread = threading.Thread(target=self._run, name=f"ems-sampler-{self.kind}", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Flush what is pending, mark the process stopped, close the store."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _heard(self, event: CounterIncremented) -> None:
        self._pending_events.append((time.time(), event.name, event.reason or event.name.replace("_", " ")))

    def _file_analysed(self, event: FileAnalysed) -> None:
        self._files += 1

    # -- the thread

    def _run(self) -> None:
        from ems.store import StoreError, open_store
        from ems.store.monitor import mark_stopped, register_process

        try:
            store = open_store(self.root, self.store_path)
        except (StoreError, OSError) as exc:  # e.g. a read-only checkout
            log.error("monitoring off for this process: %s", exc)
            return
        self._store = store
        try:
            self.process_id = register_process(
                store,
                kind=self.kind,
                project=str(self.root),
                version=__version__,
                interval_s=self.settings.interval_s,
                memory_limit=self.memory_limit(),
            )
            monitor = ProcessMonitor()
            self._last_tick = time.monotonic()
            self.tick(store, monitor)  # a first heartbeat at once: the process shows as live
            while not self._stop.wait(self.settings.interval_s):
                self.tick(store, monitor)
            self.tick(store, monitor)
            mark_stopped(store, self.process_id)
        except StoreError as exc:
            log.error("monitoring stopped: %s", exc)
        except Exception:  # never take the process down with us
            log.exception("monitoring stopped by an internal error")
        finally:
            with contextlib.suppress(Exception):
                store.close()

    def tick(self, store: object, monitor: ProcessMonitor) -> None:
        """One interval: sample, write the batch, prune now and then."""
        from ems.store import StoreError
        from ems.store.monitor import Sample, prune, record_batch

        now_mono = time.monotonic()
        span = max(now_mono - self._last_tick, 1e-6)
        self._last_tick = now_mono
        try:
            raw = monitor.sample()
        except Exception as exc:  # psutil on an odd platform
            log.warning("process sample failed: %s", type(exc).__name__)
            return
        figures = dict(self.probe(span)) if self.probe is not None else {}
        files, self._files_at_tick = self._files - self._files_at_tick, self._files
        if files and figures.get("files_per_s") is None:
            figures["files_per_s"] = round(files / span, 1)
        self._pending_samples.append(
            Sample(
                at=raw.at,
                span_s=round(span, 3),
                cpu_percent=raw.cpu_percent,
                rss=raw.rss,
                threads=raw.threads,
                open_files=raw.fds,
                **{k: v for k, v in figures.items() if k in _PROBE_FIELDS},  # type: ignore[arg-type]
            )
        )
        events = []
        while self._pending_events:
            events.append(self._pending_events.popleft())
        samples = list(self._pending_samples)
        assert self.process_id is not None
        try:
            record_batch(
                store,  # type: ignore[arg-type]
                self.process_id,
                samples,  # type: ignore[arg-type]
                events,
                memory_limit=self.memory_limit(),
            )
        except StoreError as exc:
            log.warning("monitor samples not written (kept for the next try): %s", exc)
            self._pending_events.extendleft(reversed(events))
            return
        self._pending_samples.clear()
        self.ticks += 1
        if time.time() - self._last_prune > PRUNE_EVERY_S:
            self._last_prune = time.time()
            try:
                prune(store)  # type: ignore[arg-type]
            except StoreError as exc:
                log.warning("monitor retention skipped: %s", exc)


_PROBE_FIELDS = frozenset(
    {
        "analyses",
        "latency_p50_ms",
        "latency_p95_ms",
        "latency_max_ms",
        "queue_depth",
        "cache_hit_rate",
        "files_per_s",
        "action_p50_ms",
        "action_max_ms",
    }
)


def start_sampler(
    root: Path,
    kind: str,
    bus: EventBus | None = None,
    *,
    probe: Probe | None = None,
    memory_limit: Callable[[], int] | None = None,
    settings: MonitorSettings | None = None,
) -> Sampler | None:
    """Start sampling this process into ``root``'s store, unless monitoring is turned off.

    A bad ``[tool.ems.monitor]`` value is logged and the defaults are used (``ems doctor``
    shows the error).
    """
    if settings is None:
        from ems.core.config import ConfigError
        from ems.runtime.settings import monitor_settings

        try:
            settings = monitor_settings(root)
        except ConfigError as exc:
            log.warning("monitor settings: %s (using the defaults)", exc)
            settings = MonitorSettings()
    if not settings.enabled:
        return None
    return Sampler(root, kind, bus, settings=settings, probe=probe, memory_limit=memory_limit).start()


class ProcessMonitoring:
    """What ``monitor_process`` started for one process: its event counter, published on
    its bus (where the sampler listens), and the sampler."""

    def __init__(
        self,
        events: EventCounter,
        sampler: Sampler | None,
        bus: EventBus | None = None,
        unbridge: Callable[[], None] | None = None,
    ) -> None:
        self.events = events
        self.sampler = sampler
        self.bus = bus or EventBus()
        self._unbridge = unbridge

    def stop(self) -> None:
        if self.sampler is not None:
            self.sampler.stop()
            self.sampler = None
        if self._unbridge is not None:
            self._unbridge()
            self._unbridge = None


def monitor_process(
    root: Path,
    kind: str,
    *,
    events: EventCounter | None = None,
    bus: EventBus | None = None,
    probe: Probe | None = None,
    log_to_file: bool = True,
) -> ProcessMonitoring:
    """Log into ``root/.ems/logs/<kind>.log`` (JSON lines) and sample this process into the store.

    The one call a long-running face makes at start (the dashboard, a long check or history
    walk); ``stop()`` at the end marks the process stopped. ``events`` (the process's monitor
    counter) is published on ``bus`` (the face's event bus, if it has one), which the sampler
    follows.
    """
    from ems.runtime.logsetup import configure_logging

    if log_to_file:
        configure_logging(root, name=kind)
    counter = events or EventCounter()
    bus = bus or EventBus()
    unbridge = publish_counters(counter, bus)
    return ProcessMonitoring(counter, start_sampler(root, kind, bus, probe=probe), bus, unbridge)
