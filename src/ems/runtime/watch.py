"""Follow a project live: when Python files are saved, re-scan (through the cache) and record.

``change_batches`` is the one loop over the file watcher: the dashboard's ``ProjectWatcher``
and ``ems check --watch`` both stand on it.

A daemon thread waits on ``watchfiles`` (inotify on Linux) and, after each batch of
changes, runs ``scan_project``: only the changed files are analysed, the rest come from
the result cache, and the recorded scan is what the dashboard's pages show on their next
refresh. One watcher per project root per process; ``stop()`` ends it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ems.runtime.monitor import EventCounter
from ems.runtime.project_scan import ScanError, ScanOutcome, is_python_change, is_settings_file, scan_project
from ems.runtime.recovery import RestartPolicy, run_with_restarts

if TYPE_CHECKING:
    from ems.runtime.events import EventBus

log = logging.getLogger("ems.watch")

DEBOUNCE_MS = 150  # a save is often several writes (editor temp file + rename)
READY_CHECK_MS = 200


@dataclass(frozen=True)
class WatchTargets:
    """What to watch for a list of checked paths: folders whole, named files alone.

    A named file is watched through its folder: editors save by writing a temporary file
    and renaming it over the original, which ends a watch on the file itself."""

    folders: tuple[Path, ...]
    files: frozenset[Path]

    @property
    def roots(self) -> tuple[Path, ...]:
        """The folders handed to the file watcher (each at most once, none inside another)."""
        candidates = sorted({*self.folders, *(f.parent for f in self.files)}, key=lambda p: len(p.parts))
        roots: list[Path] = []
        for path in candidates:
            if not any(path.is_relative_to(root) for root in roots):
                roots.append(path)
        return tuple(roots)

    def concerns(self, path: str) -> bool:
        """Whether a changed path can change the findings of these targets: a settings file
        anywhere watched (beside a named file too), a Python file only if it is checked."""
        if not is_python_change(path):
            return False
        if is_settings_file(path):
            return True
        changed = Path(path)
        return changed in self.files or any(changed.is_relative_to(folder) for folder in self.folders)


def watch_targets(paths: Sequence[Path]) -> WatchTargets:
    resolved = [path.resolve() for path in paths]
    return WatchTargets(
        folders=tuple(p for p in resolved if p.is_dir()),
        files=frozenset(p for p in resolved if not p.is_dir()),
    )


def change_batches(
    roots: Sequence[Path],
    concerns: Callable[[str], bool] = is_python_change,
    stop: threading.Event | None = None,
    ready: Callable[[], None] | None = None,
) -> Iterator[frozenset[str]]:
    """Each debounced batch of changed paths that ``concerns`` keeps, until ``stop`` is set
    (or, without one, until interrupted: Ctrl-C raises ``KeyboardInterrupt``).

    ``ready`` is called once the watch is in place (the first wait has begun): a change
    saved after it is seen. The watcher wakes each ``READY_CHECK_MS`` to tell."""
    from watchfiles import watch

    waiting = ready
    for changes in watch(
        *roots,
        stop_event=stop,
        debounce=DEBOUNCE_MS,
        step=50,
        watch_filter=lambda _change, path: concerns(path),
        yield_on_timeout=True,
        rust_timeout=READY_CHECK_MS,
    ):
        if waiting is not None:
            waiting()
            waiting = None
        if changes:
            yield frozenset(path for _change, path in changes)


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
        try:
            for changes in change_batches([self.root], stop=self._stop):
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
