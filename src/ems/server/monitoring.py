"""The language server's self-monitoring: its log file, its sampler, its crash-loop bound.

Kept out of ``app`` so the handlers stay a few lines: ``start(ls)`` once the workspace is
known (``initialized``), ``stop(ls)`` at ``shutdown``. The probe reads counters the server
keeps anyway (the analyser's durations and cache hits, the request timings); it runs in the
sampler's thread once per interval and only reads, so the keystroke path pays nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from ems.runtime.sampler import Sampler, percentile

if TYPE_CHECKING:
    from ems.server.app import EmsLanguageServer

log = logging.getLogger("ems.server")

KIND = "server"
ACTION_REQUESTS = ("codeAction", "codeActionResolve")


class ServerProbe:
    """The server's figures for one interval: what happened since the previous call."""

    def __init__(self, ls: EmsLanguageServer) -> None:
        self.ls = ls
        self._analyses = ls.analyser.analyses
        self._hits = ls.analyser.cache_hits
        self._actions = sum(ls.request_counts.get(name, 0) for name in ACTION_REQUESTS)

    def __call__(self, span: float) -> Mapping[str, float | int | None]:
        analyser = self.ls.analyser
        analyses, hits = analyser.analyses, analyser.cache_hits
        new = analyses - self._analyses
        new_hits = hits - self._hits
        self._analyses, self._hits = analyses, hits
        figures: dict[str, float | int | None] = {
            "analyses": new,
            "queue_depth": len(self.ls.inflight),
            "cache_hit_rate": round(new_hits / (new + new_hits), 3) if new + new_hits else None,
        }
        durations = list(analyser.durations)[-new:] if new > 0 else []
        if durations:
            ms = [d * 1000 for d in durations]
            figures["latency_p50_ms"] = round(percentile(ms, 0.5), 2)
            figures["latency_p95_ms"] = round(percentile(ms, 0.95), 2)
            figures["latency_max_ms"] = round(max(ms), 2)
        count = sum(self.ls.request_counts.get(name, 0) for name in ACTION_REQUESTS)
        new_actions = count - self._actions
        self._actions = count
        if new_actions > 0:
            recent: list[float] = []
            for name in ACTION_REQUESTS:
                recent.extend(self.ls.request_ms.get(name, [])[-new_actions:])
            if recent:
                figures["action_p50_ms"] = round(percentile(recent, 0.5), 2)
                figures["action_max_ms"] = round(max(recent), 2)
        return figures


def project_root(ls: EmsLanguageServer) -> Path | None:
    """The first workspace folder: where ``.ems/`` (store, logs) lives. None without one."""
    folders = list(ls.folder_configs.folders)
    return folders[0] if folders else None


def start(ls: EmsLanguageServer) -> Sampler | None:
    """Log into the project's ``.ems/logs/server.log``, bound worker restarts, start sampling."""
    from ems.core.config import ConfigError
    from ems.runtime.logsetup import configure_logging
    from ems.runtime.recovery import RestartPolicy
    from ems.runtime.sampler import start_sampler
    from ems.runtime.settings import MonitorSettings, monitor_settings

    root = project_root(ls)
    if root is None or not root.is_dir():
        return None
    # the log file as well as stderr: editors show stderr, the Monitor page reads the file
    configure_logging(root, logging.getLogger().level or logging.INFO, name=KIND, propagate=True)
    try:
        settings = monitor_settings(root)
    except ConfigError as exc:
        ls.warn_once(f"{exc} (monitor defaults used)")
        settings = MonitorSettings()
    ls.analyser.guard.restart_policy = RestartPolicy(settings.max_restarts, settings.restart_window_s)
    log.info(
        "monitoring %s: %s",
        root,
        f"sampling every {settings.interval_s:g} s" if settings.enabled else "sampling turned off",
    )
    return start_sampler(
        root,
        KIND,
        ls.bus,  # the server's counters are published there (``app``), and its scans' files
        probe=ServerProbe(ls),
        memory_limit=lambda: ls.memory.limit,
        settings=settings,
    )


def stop(ls: EmsLanguageServer) -> None:
    sampler, ls.sampler = ls.sampler, None
    if sampler is not None:
        sampler.stop()
