"""Monitoring for commands that are usually short: only once they have run for a while.

``ems check`` on a warm project takes a fifth of a second; registering a process, opening the
store and starting a sampler would cost a noticeable share of that. A timer thread (stdlib
only, nothing imported until it fires) starts ``monitor_process`` after ``delay`` seconds,
so only a long run (a cold scan of a large project, a history walk) appears on the Monitor
page.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_DELAY_S = 5.0
ENV_ENABLED = "EMS_MONITOR"  # the same switch as ems.runtime.settings.ENV_ENABLED (read without importing it)


@contextmanager
def monitored_if_long(paths: list[str], kind: str, delay: float = DEFAULT_DELAY_S) -> Iterator[None]:
    """Run the body; if it is still running after ``delay`` s, sample this process meanwhile
    into the store of the project holding ``paths[0]`` (found only then)."""
    if os.environ.get(ENV_ENABLED, "").strip().lower() in ("0", "off", "false", "no"):
        yield
        return
    lock = threading.Lock()
    state: dict[str, object] = {"done": False}

    def begin() -> None:
        from ems.runtime.root import project_root
        from ems.runtime.sampler import monitor_process

        with lock:
            if state["done"]:
                return
            try:
                root = project_root(Path(paths[0] if paths else "."))
                state["monitoring"] = monitor_process(root, kind)
            except Exception:  # monitoring must never break the command
                state["monitoring"] = None

    timer = threading.Timer(delay, begin)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
        with lock:
            state["done"] = True
            monitoring = state.get("monitoring")
        if monitoring is not None:
            monitoring.stop()  # type: ignore[attr-defined]
