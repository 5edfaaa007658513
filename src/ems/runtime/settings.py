"""The process monitor's settings: ``[tool.ems.monitor]``, then the environment.

```toml
[tool.ems.monitor]
enabled = true          # sample long-running ems processes into the store
interval = 5.0          # seconds between samples (0.2 .. 3600)
max-restarts = 5        # restarts of a crashing helper allowed within restart-window ...
restart-window = 300.0  # ... seconds; past that it is a crash loop: restarts stop
memory-limit-mb = 1024  # what the health check compares a process's memory with
```

Environment variables override the file (handy for one run, and for benchmarks):
``EMS_MONITOR=0`` turns sampling off, ``EMS_MONITOR_INTERVAL=SECONDS`` sets the interval.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from ems.core.config import ConfigError, find_config_file

ENV_ENABLED = "EMS_MONITOR"
ENV_INTERVAL = "EMS_MONITOR_INTERVAL"
MIN_INTERVAL_S = 0.2
MAX_INTERVAL_S = 3600.0
KEYS = ("enabled", "interval", "max-restarts", "restart-window", "memory-limit-mb")


@dataclass(frozen=True)
class MonitorSettings:
    enabled: bool = True
    interval_s: float = 5.0
    max_restarts: int = 5
    restart_window_s: float = 300.0
    memory_limit_mb: int = 1024

    @property
    def memory_limit(self) -> int:
        return self.memory_limit_mb * 1024 * 1024


def _number(value: object, where: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}: expected a number from {low:g} to {high:g}, got {value!r}")
    return float(value)


def parse_monitor_table(table: Mapping[str, object], where: str) -> MonitorSettings:
    """Validate a ``[tool.ems.monitor]`` table."""
    for key in table:
        if key not in KEYS:
            raise ConfigError(f"{where}: unknown key {key!r}; valid keys: {', '.join(KEYS)}")
    settings = MonitorSettings()
    if "enabled" in table:
        if not isinstance(table["enabled"], bool):
            raise ConfigError(f"{where}.enabled: expected true or false, got {table['enabled']!r}")
        settings = replace(settings, enabled=table["enabled"])
    if "interval" in table:
        interval = _number(table["interval"], f"{where}.interval", MIN_INTERVAL_S, MAX_INTERVAL_S)
        settings = replace(settings, interval_s=interval)
    if "max-restarts" in table:
        count = _number(table["max-restarts"], f"{where}.max-restarts", 0, 1000)
        settings = replace(settings, max_restarts=int(count))
    if "restart-window" in table:
        window = _number(table["restart-window"], f"{where}.restart-window", 1, 86400)
        settings = replace(settings, restart_window_s=window)
    if "memory-limit-mb" in table:
        limit = _number(table["memory-limit-mb"], f"{where}.memory-limit-mb", 16, 1024 * 1024)
        settings = replace(settings, memory_limit_mb=int(limit))
    return settings


def _from_file(root: Path) -> MonitorSettings:
    import tomllib

    path = find_config_file(root)
    if path is None:
        return MonitorSettings()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    table = data.get("tool", {}).get("ems", {}) if path.name == "pyproject.toml" else data
    monitor = table.get("monitor", {}) if isinstance(table, Mapping) else {}
    if not isinstance(monitor, Mapping):
        raise ConfigError(f"{path}: key 'monitor': expected a table ([tool.ems.monitor])")
    return parse_monitor_table(monitor, f"{path}: [tool.ems.monitor]")


def monitor_settings(root: Path, environ: Mapping[str, str] | None = None) -> MonitorSettings:
    """The settings for the project at ``root``; raises ``ConfigError`` on a bad value."""
    env = os.environ if environ is None else environ
    settings = _from_file(root)
    flag = env.get(ENV_ENABLED, "").strip().lower()
    if flag:
        if flag not in ("0", "1", "off", "on", "false", "true", "no", "yes"):
            raise ConfigError(f"{ENV_ENABLED}={flag!r}: expected 0 or 1")
        settings = replace(settings, enabled=flag in ("1", "on", "true", "yes"))
    raw = env.get(ENV_INTERVAL, "").strip()
    if raw:
        try:
            value = float(raw)
        except ValueError:
            raise ConfigError(f"{ENV_INTERVAL}={raw!r}: expected seconds") from None
        settings = replace(settings, interval_s=_number(value, ENV_INTERVAL, MIN_INTERVAL_S, MAX_INTERVAL_S))
    return settings
