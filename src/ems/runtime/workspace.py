"""A workspace scan: every Python file of each workspace folder, summarised and recorded.

The language server's "scan workspace" command and its workspace diagnostics call these;
they are plain functions so any face (or a test) can run the same scan. Files go through
the cached project scan (``ems.runtime.scan``: parallel, and served from the result cache
``ems check`` shares, so an unchanged file costs a stat); each folder that is a git
repository gets the scan recorded in its store, as ``ems check --record`` would.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ems.core.config import Config, ConfigError, ConfigResolver
from ems.core.model import Report
from ems.core.registry import RuleSet

if TYPE_CHECKING:
    from ems.runtime.events import EventBus
    from ems.runtime.scan import FileResult

log = logging.getLogger("ems.runtime.workspace")


@dataclass(frozen=True)
class FolderScan:
    """One workspace folder's files (``error``: why the folder was skipped)."""

    folder: Path
    results: tuple[FileResult, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class ScanSummary:
    """What a workspace scan found, and the store scan ids it recorded."""

    files: int
    findings: int
    by_code: dict[str, int]
    seconds: float
    recorded: tuple[int, ...] = field(default=())


def scan_folders(
    folders: Iterable[Path],
    resolver_for: Callable[[Path], ConfigResolver],
    ruleset: RuleSet,
    *,
    bus: EventBus | None = None,
) -> list[FolderScan]:
    """Every Python file of each folder, with the config ``resolver_for(folder)`` gives
    (the server layers its editor settings there). A folder whose config is invalid is
    skipped with the reason. Sends nothing: callers run it in a worker thread."""
    from ems.runtime.scan import scan

    out: list[FolderScan] = []
    for folder in folders:
        try:
            results = scan(
                [folder], resolver_for(folder), ruleset=ruleset, use_cache=True, keep_source=True, bus=bus
            )
            out.append(FolderScan(folder, tuple(results)))
        except ConfigError as exc:
            out.append(FolderScan(folder, error=f"{exc} (workspace scan of {folder} skipped)"))
    return out


def summarise(reports: Iterable[Report], seconds: float, recorded: Sequence[int] = ()) -> ScanSummary:
    """Files, findings and findings per code (sorted by code)."""
    by_code: dict[str, int] = {}
    files = findings = 0
    for report in reports:
        files += 1
        findings += len(report.findings)
        for finding in report.findings:
            by_code[finding.code] = by_code.get(finding.code, 0) + 1
    return ScanSummary(files, findings, dict(sorted(by_code.items())), round(seconds, 3), tuple(recorded))


def record_folders(
    by_folder: Mapping[Path, Sequence[Report]],
    config_for: Callable[[Path], Config],
    seconds: float,
    *,
    source: str = "server",
    bus: EventBus | None = None,
) -> list[int]:
    """Record each folder's reports in its project's store, for folders that are git
    repositories (the history and the dashboard read them); returns the scan ids. A store or
    config error is logged, not raised: a scan's findings are shown either way.

    Talks to git and SQLite: run it in a worker thread.
    """
    from ems.gitinfo.repo import scan_context
    from ems.gitinfo.scans import ServiceError, record_scan
    from ems.runtime.root import project_root

    recorded: list[int] = []
    for folder, reports in by_folder.items():
        if scan_context(folder).commit_sha is None:
            continue  # not a git repository (or no commit yet): nothing to anchor a scan to
        try:
            recorded.append(
                record_scan(
                    project_root(folder),
                    reports,
                    config_hash=config_for(folder).fingerprint(),
                    duration_s=seconds,
                    source=source,
                    bus=bus,
                )
            )
        except (ServiceError, ConfigError) as exc:
            log.warning("could not record the scan of %s: %s", folder, exc)
    return recorded
