"""The domain event bus: services say what happened, faces and the store listen.

Why an object and not a module-level registry: a face (the CLI run, the language
server, the dashboard session) creates one ``EventBus`` and passes it to the services it
calls, so two servers or two tests in one process never hear each other's events.

Events are frozen dataclasses; subscribers register per event type and are called
synchronously, in subscription order, on the publishing thread. A subscriber that raises
is logged and skipped: an observer must not break the work it observes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from ems.runtime.monitor import EventCounter
    from ems.runtime.scan import FileResult

log = logging.getLogger("ems.events")


@dataclass(frozen=True)
class FileAnalysed:
    """One file's result is ready in a scan (``cached``: its row in the result cache was
    current, so it was not analysed again). ``result.report`` decodes a cached row lazily."""

    path: str  # as shown to the user
    cached: bool
    result: FileResult


@dataclass(frozen=True)
class ScanRecorded:
    """A scan was written to the store of ``root`` as ``scan_id``."""

    root: str
    scan_id: int
    files: int
    findings: int


@dataclass(frozen=True)
class HistoryBuilt:
    """``ems history`` (or a dashboard) replayed the history of ``root`` up to ``tip``."""

    root: str
    tip: str
    commits: int
    findings: int
    seconds: float


@dataclass(frozen=True)
class FixApplied:
    """Fixes were written to ``path`` (``codes``: one entry per fix applied)."""

    path: str
    codes: tuple[str, ...]


@dataclass(frozen=True)
class CounterIncremented:
    """A monitor counter (``ems.runtime.monitor.EventCounter``) reached ``total``;
    ``reason`` is the line saying why (a signal, a file, a budget), empty if none was given."""

    name: str
    total: int
    reason: str = ""


E = TypeVar("E")
Handler = Callable[[E], object]


class EventBus:
    """Publish/subscribe by event type. Thread-safe; holds no event history."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handlers: dict[type, list[Callable[[object], object]]] = {}

    def subscribe(self, event_type: type[E], handler: Callable[[E], object]) -> Callable[[], None]:
        """Call ``handler`` with every published ``event_type``; returns an unsubscribe function."""
        erased: Callable[[object], object] = handler  # type: ignore[assignment]
        with self._lock:
            self._handlers.setdefault(event_type, []).append(erased)

        def unsubscribe() -> None:
            with self._lock:
                handlers = self._handlers.get(event_type, [])
                if erased in handlers:
                    handlers.remove(erased)

        return unsubscribe

    def wants(self, event_type: type) -> bool:
        """Whether anyone listens: lets a hot loop skip building events nobody reads."""
        return bool(self._handlers.get(event_type))

    def publish(self, event: object) -> None:
        handlers = self._handlers.get(type(event))
        if not handlers:
            return
        with self._lock:
            handlers = list(handlers)
        for handler in handlers:
            try:
                handler(event)
            except Exception as exc:  # an observer must not break the observed
                log.error("event handler failed on %s: %s", type(event).__name__, type(exc).__name__)


def publish_counters(counter: EventCounter, bus: EventBus) -> Callable[[], None]:
    """Publish every increment of ``counter`` as ``CounterIncremented``; returns the undo."""
    return counter.subscribe(
        lambda name, total, reason: bus.publish(CounterIncremented(name, total, reason)), detail=True
    )
