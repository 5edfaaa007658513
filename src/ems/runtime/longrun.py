"""Monitoring for commands that are usually short: only once they have run for a while.

``ems check`` on a warm project takes a fifth of a second; registering a process, opening the
store and starting a sampler would cost a noticeable share of that. A one-shot interval timer
(``SIGALRM``, stdlib only, nothing imported until it fires) starts ``monitor_process`` after
``delay`` seconds, so only a long run (a cold scan of a large project, a history walk) appears
on the Monitor page.

Why a signal and not a timer thread: a live thread makes the project scan give up ``fork``
(forking with threads running can deadlock the child) for the slower ``forkserver``, which a
warm run with one changed file would pay on every call. A fork's child inherits no interval
timer, so the alarm never fires in a scan worker.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

DEFAULT_DELAY_S = 5.0  # read at each call (a test lowers it to see a short run monitored)
ENV_ENABLED = "EMS_MONITOR"  # the same switch as ems.runtime.settings.ENV_ENABLED (read without importing it)


RETRY_S = 0.2


def _importing(frame: FrameType | None) -> bool:
    """Whether ``frame`` (where a signal interrupted) runs inside the import system."""
    while frame is not None:
        if frame.f_code.co_filename.startswith("<frozen importlib"):
            return True
        frame = frame.f_back
    return False


class FileRate:
    """Files a long run has scanned so far (the command sets ``done`` as it goes), read by
    the sampler once per interval as files per second (a sampler *probe*)."""

    def __init__(self) -> None:
        self.done = 0
        self._seen = 0

    def __call__(self, span: float) -> Mapping[str, float | int | None]:
        new, self._seen = self.done - self._seen, self.done
        return {"files_per_s": round(max(new, 0) / span, 1) if span > 0 else None}


def _can_arm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def monitored_if_long(
    paths: list[str], kind: str, delay: float | None = None, rate: FileRate | None = None
) -> Iterator[None]:
    """Run the body; if it is still running after ``delay`` s, sample this process meanwhile
    into the store of the project holding ``paths[0]`` (found only then), with files per
    second from ``rate``. Outside the main thread (no signals there) the body runs unmonitored."""
    if os.environ.get(ENV_ENABLED, "").strip().lower() in ("0", "off", "false", "no") or not _can_arm():
        yield
        return
    state: dict[str, object] = {}
    delay = DEFAULT_DELAY_S if delay is None else delay

    def begin(_signum: int, frame: FrameType | None) -> None:
        if _importing(frame):
            # Interrupted inside an import (a loaded machine can take seconds to reach one):
            # importing the sampler now would meet that module half-initialised (`logging`
            # without `getLogger`) and fail the command. Try again a little later.
            signal.setitimer(signal.ITIMER_REAL, RETRY_S)
            return
        try:
            from ems.runtime.root import project_root
            from ems.runtime.sampler import monitor_process

            root = project_root(Path(paths[0] if paths else "."))
            state["monitoring"] = monitor_process(root, kind, probe=rate)
        except Exception:  # monitoring must never break the command
            state["monitoring"] = None

    previous = signal.signal(signal.SIGALRM, begin)
    signal.setitimer(signal.ITIMER_REAL, delay)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        monitoring = state.get("monitoring")
        if monitoring is not None:
            monitoring.stop()  # type: ignore[attr-defined]
