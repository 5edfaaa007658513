"""Follow a project live: when Python files are saved, re-scan (through the cache) and record.

A daemon thread waits on ``watchfiles`` (inotify on Linux) and, after each batch of
changes, runs ``scan_project``: only the changed files are analysed, the rest come from
the result cache, and the recorded scan is what the dashboard's pages show on their next
refresh. One watcher per project root per process; ``stop()`` ends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ems.runtime.monitor import EventCounter
from ems.runtime.project_scan import ScanError, ScanOutcome, is_python_change, scan_project
from ems.runtime.recovery import RestartPolicy, run_with_restarts

if TYPE_CHECKING:
    from ems.runtime.events import EventBus

log = logging.getLogger("ems.watch")

DEBOUNCE_MS = 150  # a save is often several writes (editor temp file + rename)


class ProjectWatcher:
    def __init__(
        self,
        root: Path,
        on_scan: Callable[[ScanOutcome], None] | None = None,
        *,
        jobs: int = 1,
        events: EventCounter | None = None,
        policy: RestartPolicy | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.root = root.resolve()
        self.events = events or EventCounter()  # restarts and crash loops (the Monitor page)
        self.policy = policy or RestartPolicy()
        self.on_scan = on_scan
        self.jobs = jobs
        self.bus = bus  # its scans publish ScanRecorded there
        self.scans = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ems-watch", daemon=True)

    def start(self) -> ProjectWatcher:
        self._thread.start()
        self._ready.wait(5.0)
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5.0)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        """Watch until stopped; a failure restarts the watch after a pause (bounded: a crash
        loop stops it, records why, and ``last_error`` says so)."""
        self._ready.set()
        if not run_with_restarts("project watcher", self._watch, self.events, self._stop, self.policy):
            self.last_error = f"the watcher kept failing ({self.policy.describe()}); it was stopped"

    def _watch(self) -> None:
        from watchfiles import watch

        try:
            for changes in watch(
                self.root,
                stop_event=self._stop,
                debounce=DEBOUNCE_MS,
                step=50,
                watch_filter=lambda _change, path: is_python_change(path),
                yield_on_timeout=False,
                rust_timeout=1000,
            ):
                if changes:
                    self.rescan(len(changes))
        except Exception as exc:  # restarted by _run; the page says what happened
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.error("the project watcher failed: %s", type(exc).__name__)
            raise

    def rescan(self, changed: int) -> None:
        try:
            outcome = scan_project(self.root, source="live", jobs=self.jobs, bus=self.bus)
        except ScanError as exc:
            self.last_error = str(exc)
            log.warning("live re-scan failed: %s", exc)
            return
        self.scans += 1
        self.last_error = None
        # Counts only: logs never carry source text or messages.
        log.info(
            "live re-scan after %d change(s): %d findings, scan %d",
            changed,
            len(outcome.findings),
            outcome.scan_id,
        )
        if self.on_scan is not None:
            self.on_scan(outcome)
