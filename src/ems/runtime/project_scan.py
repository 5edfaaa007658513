"""Scan a whole project through the result cache and record the scan in the store.

The dashboard's "Run a scan" button and its live watcher call this; it is the same scan
as ``ems check --record`` (same cache, same fingerprints), so a file that did not change
is not analysed again and a saved file costs one analysis.

Paths are shown (and fingerprinted) relative to the working directory, like ``ems
check`` run at the root: callers run with the project root as working directory
(``ems dashboard`` changes into it), and a scan started elsewhere is refused.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ems.core.config import CONFIG_FILES
from ems.core.model import Finding

if TYPE_CHECKING:
    from ems.runtime.events import EventBus


class ScanCancelled(Exception):
    """The caller's ``cancelled()`` said stop; nothing was recorded."""


class ScanError(RuntimeError):
    """The scan could not run or be recorded; the message says why."""


@dataclass(frozen=True)
class ScanOutcome:
    scan_id: int
    files: int
    lines: int
    findings: tuple[Finding, ...]
    seconds: float


def scan_project(
    root: Path,
    *,
    source: str = "dashboard",
    jobs: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
    bus: EventBus | None = None,
) -> ScanOutcome:
    """Scan every Python file under ``root`` (cached) and record it; raises ScanCancelled/ScanError."""
    from ems.core.config import ConfigError, ConfigResolver, LazyCodes
    from ems.core.registry import RegistryError, lazy_rules
    from ems.gitinfo.churn import line_count
    from ems.gitinfo.scans import ServiceError, record_scan
    from ems.runtime.scan import scan

    root = root.resolve()
    if Path.cwd().resolve() != root:
        raise ScanError(f"a project scan runs from its root: the working directory is not {root}")
    started = time.perf_counter()

    def step(done: int, total: int) -> None:
        if cancelled is not None and cancelled():
            raise ScanCancelled
        if progress is not None:
            progress(done, total)

    try:
        ruleset = lazy_rules()
        resolver = ConfigResolver(LazyCodes(lambda: ruleset.codes), default_root=root)
        # FileAnalysed on the bus: the dashboard's sampler turns it into files per second
        results = list(scan([Path(".")], resolver, ruleset=ruleset, jobs=jobs, progress=step, bus=bus))
        config_hash = resolver.for_folder(root).fingerprint()
    except (ConfigError, RegistryError) as exc:
        raise ScanError(str(exc)) from None
    reports = [r.report for r in results]
    lines = sum(line_count(r.path) for r in results)
    try:
        scan_id = record_scan(
            root,
            reports,
            config_hash=config_hash,
            duration_s=time.perf_counter() - started,
            source=source,
            lines=lines,
            bus=bus,  # ScanRecorded
        )
    except ServiceError as exc:
        raise ScanError(str(exc)) from None
    findings = tuple(f for r in reports for f in r.findings)
    return ScanOutcome(scan_id, len(results), lines, findings, time.perf_counter() - started)


def current_findings(root: Path) -> tuple[Finding, ...]:
    """The findings of the work tree now (through the cache), without recording a scan."""
    from ems.core.config import ConfigResolver, LazyCodes
    from ems.core.registry import lazy_rules
    from ems.runtime.scan import scan

    if Path.cwd().resolve() != root.resolve():
        raise ScanError(f"a project scan runs from its root: the working directory is not {root}")
    ruleset = lazy_rules()
    resolver = ConfigResolver(LazyCodes(lambda: ruleset.codes), default_root=root)
    return tuple(f for r in scan([Path(".")], resolver, ruleset=ruleset, jobs=1) for f in r.report.findings)


def is_python_change(path: str) -> bool:
    """Whether a changed path can change findings: a Python file or a config file, not ``.ems/``."""
    parts = Path(path).parts
    if ".ems" in parts or ".git" in parts:
        return False
    name = os.path.basename(path)
    return name.endswith((".py", ".pyi")) or is_settings_file(path)


def is_settings_file(path: str) -> bool:
    """A file that can change which files are checked, or with which rules."""
    return os.path.basename(path) in (*CONFIG_FILES, ".gitignore")
