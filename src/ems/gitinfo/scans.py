"""Scans and the store, for every face: record a scan, keep only new findings, say when a
finding was introduced.

Plain functions on typed arguments: ``ems check`` (``--record``, ``--new-since``, the
``introduced`` field of JSON findings), the language server and the dashboard call them
the same way. ``root`` is the project root (``ems.runtime.root``): the one ``.ems/``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported by command registration: keep `ems --version` light
    from ems.core.model import Finding, Report
    from ems.runtime.events import EventBus
    from ems.runtime.scan import FileResult
    from ems.store import Store


class ServiceError(Exception):
    """A refusal or failure of a git/store service, for the face to show (exit 2)."""


def record_scan(
    root: Path,
    reports: Sequence[Report],
    *,
    config_hash: str,
    duration_s: float,
    source: str,
    lines: int | None = None,
    bus: EventBus | None = None,
) -> int:
    """Record analysed documents as one scan of ``root``; returns the scan id.

    The commit, branch and dirty flag come from git when ``root`` is in a repository;
    ``lines``: the lines of Python scanned, if counted.
    Publishes ``ScanRecorded`` on ``bus``. Raises ServiceError if the store fails.
    """
    from ems import __version__
    from ems.gitinfo.repo import scan_context
    from ems.store import ScanRecord, StoreError, open_store

    context = scan_context(root)
    analysis = sum(r.timings.get("total", 0.0) for r in reports)
    record = ScanRecord(
        root=str(root),
        ems_version=__version__,
        config_hash=config_hash,
        files=len(reports),
        duration_s=duration_s,
        source=source,
        commit_sha=context.commit_sha,
        branch=context.branch,
        dirty=context.dirty,
        timings={"total": duration_s, "analysis": analysis},
        lines=lines,
    )
    try:
        with open_store(root) as store:
            scan_id = store.record_scan(record, (f for r in reports for f in r.findings))
    except StoreError as exc:
        raise ServiceError(str(exc)) from None
    if bus is not None:
        from ems.runtime.events import ScanRecorded

        bus.publish(ScanRecorded(str(root), scan_id, len(reports), sum(len(r.findings) for r in reports)))
    return scan_id


def filter_new_since(root: Path, results: Sequence[FileResult], ref: str) -> list[FileResult]:
    """``results`` with only the findings absent at git ``ref`` (raises ServiceError)."""
    from ems.gitinfo.newcode import new_since
    from ems.gitinfo.repo import GitError
    from ems.store import StoreError, open_store

    findings = [f for r in results for f in r.report.findings]
    try:
        with open_store(root) as store:
            kept = new_since(findings, ref, store, root=root)
    except (GitError, StoreError) as exc:
        raise ServiceError(str(exc)) from None
    keep = {id(f) for f in kept}
    return [
        replace(
            r,
            report=replace(r.report, findings=tuple(f for f in r.report.findings if id(f) in keep)),
            view=None,  # rendered for the unfiltered report
        )
        for r in results
    ]


def introduced_enricher(
    root: Path, results: Sequence[FileResult]
) -> Callable[[Finding], dict[str, object]] | None:
    """Adds ``introduced`` (commit, author, date) to JSON findings once history was built."""
    from ems.store import StoreError, default_store_path, open_store

    if not default_store_path(root).is_file():
        return None
    try:
        with open_store(root) as store:
            if store.history_run() is None:
                return None
            return _enricher(results, root, store)
    except StoreError as exc:
        print(f"ems: warning: no `introduced` field: {exc}", file=sys.stderr)
        return None


def _enricher(
    results: Sequence[FileResult], root: Path, store: Store
) -> Callable[[Finding], dict[str, object]]:
    from ems.gitinfo.history import introductions

    repo_fp: dict[int, str] = {}
    cwd = Path.cwd().resolve()  # shown paths are relative to it
    for result in results:
        findings = result.report.findings
        if not findings:
            continue
        absolute = (cwd / result.display).resolve()
        if not absolute.is_relative_to(root):
            continue  # outside the repository: history cannot know it
        rel = absolute.relative_to(root).as_posix()
        if rel == result.display:
            repo_fp.update((id(f), f.fingerprint) for f in findings)
            continue
        from ems.core.analyse import analyse
        from ems.runtime.scan import read_source

        data = read_source(cwd / result.display)
        if isinstance(data, str):
            continue
        again = {(f.code, f.range): f.fingerprint for f in analyse(data, rel).findings}
        repo_fp.update((id(f), again.get((f.code, f.range), f.fingerprint)) for f in findings)
    known = introductions(store, list(set(repo_fp.values())))

    def enrich(finding: Finding) -> dict[str, object]:
        intro = known.get(repo_fp.get(id(finding), ""))
        if intro is None:
            return {"introduced": None}
        return {
            "introduced": {
                "commit": intro.commit,
                "author": intro.author,
                "date": intro.date,
                "exact": intro.exact,
            }
        }

    return enrich
