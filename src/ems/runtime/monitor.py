"""Watching ems itself: process resources, a memory limit, and counts of bad events.

A long-running face (the language server, the dashboard) must stay small and must say
when something went wrong inside it. Three pieces, all plain objects passed around
(no module globals, so tests and several servers in one process stay independent):

* ``ProcessMonitor`` samples a process with psutil: RSS, CPU, threads, open files.
* ``EventCounter`` counts rule errors, analysis timeouts, worker restarts and crashes,
  cache drops...; ``snapshot()`` gives the dashboard's system monitor a plain dict,
  and subscribers (e.g. the store) hear every event as it happens.
* ``MemoryWatch`` compares the RSS with a configurable limit and, past it, calls the
  cache-drop callbacks registered by the owners of the caches.
"""

from __future__ import annotations

import gc
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import psutil

log = logging.getLogger("ems.monitor")

# The event names the core emits; faces may count their own under other names.
RULE_ERROR = "rule_errors"
TIMEOUT = "timeouts"
WORKER_CRASH = "worker_crashes"
WORKER_RESTART = "worker_restarts"
CACHE_DROP = "cache_drops"
FIX_DROPPED = "fixes_dropped"
CRASH_LOOP = "crash_loops"  # restarts stopped: too many in too short a time
PROCESS_RESTART = "process_restarts"  # a face's helper (watcher, scan runner) restarted
KNOWN_EVENTS = (
    RULE_ERROR,
    TIMEOUT,
    WORKER_CRASH,
    WORKER_RESTART,
    CACHE_DROP,
    FIX_DROPPED,
    CRASH_LOOP,
    PROCESS_RESTART,
)

DEFAULT_MEMORY_LIMIT = 1024 * 1024 * 1024  # 1 GiB: far above a normal server's footprint


class EventCounter:
    """Thread-safe counts of internal events, with observers.

    Subscribers are called synchronously with ``(name, new_count)`` (or, subscribed with
    ``detail=True``, ``(name, new_count, reason)``: why it happened, for the monitor's event
    log); a subscriber that raises is logged and does not stop the count or the others.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = dict.fromkeys(KNOWN_EVENTS, 0)
        self._last: dict[str, float] = {}
        self._subscribers: list[tuple[Callable[..., object], bool]] = []
        self.started = time.time()

    def increment(self, name: str, amount: int = 1, reason: str = "") -> int:
        """Count ``amount`` more ``name`` events (``reason``: a line saying why); returns the total."""
        if amount <= 0:
            return self.count(name)
        with self._lock:
            total = self._counts.get(name, 0) + amount
            self._counts[name] = total
            self._last[name] = time.time()
            subscribers = list(self._subscribers)
        for subscriber, detail in subscribers:
            try:
                if detail:
                    subscriber(name, total, reason)
                else:
                    subscriber(name, total)
            except Exception as exc:  # an observer must not break the observed
                log.error("event subscriber failed on %s: %s", name, type(exc).__name__)
        return total

    def count(self, name: str) -> int:
        with self._lock:
            return self._counts.get(name, 0)

    def subscribe(self, callback: Callable[..., object], *, detail: bool = False) -> Callable[[], None]:
        """Hear every event; returns a function that unsubscribes."""
        entry = (callback, detail)
        with self._lock:
            self._subscribers.append(entry)

        def unsubscribe() -> None:
            with self._lock:
                if entry in self._subscribers:
                    self._subscribers.remove(entry)

        return unsubscribe

    def snapshot(self) -> dict[str, object]:
        """A JSON-ready copy: ``{"counts": {...}, "last": {name: epoch}, "since": epoch}``."""
        with self._lock:
            return {"counts": dict(self._counts), "last": dict(self._last), "since": self.started}


@dataclass(frozen=True)
class ProcessSample:
    pid: int
    rss: int  # bytes
    cpu_percent: float  # since the previous sample; 100 = one core busy
    threads: int
    fds: int  # open file descriptors (handles on Windows)
    uptime: float  # seconds
    at: float  # epoch seconds

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


class ProcessMonitor:
    """Samples one process (by default this one). CPU is measured between samples."""

    def __init__(self, pid: int | None = None) -> None:
        self.process = psutil.Process(pid or os.getpid())
        self.process.cpu_percent(None)  # prime: the first real sample measures from here

    def rss(self) -> int:
        return int(self.process.memory_info().rss)

    def sample(self) -> ProcessSample:
        proc = self.process
        with proc.oneshot():
            rss = int(proc.memory_info().rss)
            cpu = float(proc.cpu_percent(None))
            threads = int(proc.num_threads())
            fds = _open_handles(proc)
            created = proc.create_time()
        now = time.time()
        return ProcessSample(proc.pid, rss, cpu, threads, fds, max(now - created, 0.0), now)


def _open_handles(proc: psutil.Process) -> int:
    try:
        return int(proc.num_fds())
    except AttributeError:  # Windows has handles, not fds
        return int(proc.num_handles())
    except psutil.Error:
        return -1


class MemoryWatch:
    """Drops caches when the process grows past ``limit`` bytes of RSS.

    Cache owners ``register`` a callback that empties their cache. ``check()`` does one
    comparison (call it after each analysis, or let ``start()`` poll in a daemon thread).
    After a drop the watch waits ``cooldown`` seconds before dropping again, so a
    process that stays above the limit for reasons caches cannot fix does not spin.
    """

    def __init__(
        self,
        limit: int = DEFAULT_MEMORY_LIMIT,
        events: EventCounter | None = None,
        *,
        cooldown: float = 5.0,
        monitor: ProcessMonitor | None = None,
        rss: Callable[[], int] | None = None,
    ) -> None:
        if limit <= 0:
            raise ValueError(f"memory limit must be positive, got {limit}")
        self.limit = limit
        self.events = events or EventCounter()
        self.cooldown = cooldown
        self._rss = rss or (monitor or ProcessMonitor()).rss
        self._callbacks: dict[str, Callable[[], object]] = {}
        self._lock = threading.Lock()
        self._last_drop = float("-inf")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_rss = 0

    def register(self, name: str, drop: Callable[[], object]) -> None:
        """``drop`` empties one cache; ``name`` identifies it in logs (re-registering replaces)."""
        with self._lock:
            self._callbacks[name] = drop

    def unregister(self, name: str) -> None:
        with self._lock:
            self._callbacks.pop(name, None)

    def check(self) -> bool:
        """Compare RSS with the limit; drop every registered cache if above. True if dropped."""
        rss = self._rss()
        self.last_rss = rss
        if rss <= self.limit:
            return False
        now = time.monotonic()
        with self._lock:
            if now - self._last_drop < self.cooldown:
                return False
            self._last_drop = now
            callbacks = list(self._callbacks.items())
        for name, drop in callbacks:
            try:
                drop()
            except Exception as exc:
                log.error("cache drop %s failed: %s", name, type(exc).__name__)
        gc.collect()
        after = self._rss()
        self.events.increment(
            CACHE_DROP,
            reason=f"memory {rss // 2**20} MB over the {self.limit // 2**20} MB limit: dropped "
            f"{', '.join(name for name, _ in callbacks) or 'no caches'}, now {after // 2**20} MB",
        )
        self.last_rss = after
        log.warning(
            "memory %d MB over the %d MB limit: dropped %d caches, now %d MB",
            rss // 2**20,
            self.limit // 2**20,
            len(callbacks),
            after // 2**20,
        )
        return True

    def start(self, interval: float = 10.0) -> None:
        """Poll in a daemon thread every ``interval`` seconds until ``stop()``."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()

        def run() -> None:
            while not self._stop.wait(interval):
                try:
                    self.check()
                except psutil.Error as exc:
                    log.error("memory watch sample failed: %s", type(exc).__name__)

        self._thread = threading.Thread(target=run, name="ems-memory-watch", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
