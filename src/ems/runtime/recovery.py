"""Restarting what crashed, visibly and within bounds.

Every helper ems restarts (the language server's analysis worker, the dashboard's file
watcher and scan runner) follows one policy: restart after a growing pause (back-off),
record each restart as an event with its reason, and after ``max_restarts`` restarts within
``window_s`` seconds stop restarting, record a ``crash_loops`` event and say so. The health
checks turn a recent crash loop red.

Two shapes:

* ``RestartPolicy`` — the bookkeeping alone, for a caller that restarts by itself
  (``GuardedAnalyser`` asks ``allow()`` before each replacement worker).
* ``run_with_restarts`` — a plain function for a face's background loop: it calls
  ``target`` until ``stop`` is set, restarting it when it raises, with back-off, and gives
  up on a crash loop. The dashboard's watcher can run in a thread as
  ``threading.Thread(target=run_with_restarts, args=("watcher", watch_forever, events, stop))``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ems.runtime.monitor import CRASH_LOOP, PROCESS_RESTART, EventCounter

log = logging.getLogger("ems.recovery")

DEFAULT_MAX_RESTARTS = 5
DEFAULT_WINDOW_S = 300.0
BASE_DELAY_S = 0.5
MAX_DELAY_S = 30.0


@dataclass
class RestartPolicy:
    """At most ``max_restarts`` restarts in any ``window_s`` seconds; back-off between them."""

    max_restarts: int = DEFAULT_MAX_RESTARTS
    window_s: float = DEFAULT_WINDOW_S
    base_delay_s: float = BASE_DELAY_S
    max_delay_s: float = MAX_DELAY_S
    clock: Callable[[], float] = time.monotonic
    _recent: deque[float] = field(default_factory=deque)
    stopped: bool = False

    def __post_init__(self) -> None:
        if self.max_restarts < 0 or self.window_s <= 0:
            raise ValueError("max_restarts must be >= 0 and window_s > 0")

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0] > self.window_s:
            self._recent.popleft()

    def allow(self) -> bool:
        """Record a restart about to happen; False (for good) when it would make a crash loop."""
        if self.stopped:
            return False
        now = self.clock()
        self._trim(now)
        if len(self._recent) >= self.max_restarts:
            self.stopped = True
            return False
        self._recent.append(now)
        return True

    def delay(self) -> float:
        """The pause before the restart just allowed: doubles with each recent restart."""
        count = max(len(self._recent) - 1, 0)
        return min(self.base_delay_s * (2**count), self.max_delay_s)

    @property
    def recent(self) -> int:
        self._trim(self.clock())
        return len(self._recent)

    def describe(self) -> str:
        return f"more than {self.max_restarts} restarts in {self.window_s:g} s"


def run_with_restarts(
    name: str,
    target: Callable[[], object],
    events: EventCounter,
    stop: threading.Event,
    policy: RestartPolicy | None = None,
) -> bool:
    """Run ``target`` until ``stop`` is set, restarting it when it raises or returns early.

    Each restart is an event (``process_restarts``, reason: what failed); past the policy's
    bound a ``crash_loops`` event is recorded and the function returns False (the caller
    shows it red). Returns True when stopped on request.
    """
    policy = policy or RestartPolicy()
    while not stop.is_set():
        try:
            target()
            if stop.is_set():
                return True
            why = "returned unexpectedly"
        except Exception as exc:
            why = f"raised {type(exc).__name__}"
            log.error("%s %s", name, why, exc_info=True)
        if not policy.allow():
            reason = f"{name} {why}; {policy.describe()}: not restarted again"
            log.error("crash loop: %s", reason)
            events.increment(CRASH_LOOP, reason=reason)
            return False
        pause = policy.delay()
        events.increment(PROCESS_RESTART, reason=f"{name} {why}; restarted after {pause:.1f} s")
        if stop.wait(pause):
            return True
    return True
