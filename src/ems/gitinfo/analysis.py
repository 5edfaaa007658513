"""Analysis of git blobs, cached forever by (blob SHA, path, rule-set hash).

A blob's findings depend on its bytes, on its path (per-file settings, ``__init__.py``
and ``.pyi`` rules, and the fingerprint, which includes the path) and on the rules and
settings in force. The rule-set hash covers the ems version, the source of the core and
built-in rules, plug-in versions and the settings, so editing a rule invalidates the
cache even without a version bump. A renamed but unchanged file is analysed once more
under its new path; every other blob is analysed once, ever.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import git

from ems.core.analyse import analyse
from ems.core.config import Config, ConfigResolver
from ems.core.registry import RuleSet, load_rules
from ems.core.source import SourceText, UndecodableSource, decode_source
from ems.gitinfo.repo import read_blob
from ems.runtime.pool import start_context
from ems.store import BlobAnalysis, CachedFinding, Store

PARALLEL_THRESHOLD = 24  # below this many misses, a process pool costs more than it saves
_CHUNK = 8
Progress = Callable[[int, int], None]


def ruleset_hash(config: Config, ruleset: RuleSet) -> str:
    """What the cached findings of one blob depend on, besides its bytes and path."""
    return hashlib.sha256(f"{ruleset.fingerprint}\n{config.fingerprint()}".encode()).hexdigest()[:20]


def analyse_blob(
    data: bytes, path: str, config: Config, ruleset: RuleSet | None = None
) -> tuple[int, tuple[CachedFinding, ...]]:
    """Findings of one file's bytes, with each finding's normalised line (for rename matching)."""
    report = analyse(data, path, config, ruleset)
    lines = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    try:
        source: SourceText | None = SourceText(decode_source(data).text)
    except UndecodableSource:
        source = None
    findings = []
    for f in report.findings:
        text = ""
        if source is not None and 1 <= f.line <= len(source.lines):
            text = " ".join(source.line(f.line).split())
        findings.append(
            CachedFinding(
                f.code,
                f.name,
                f.severity.value,
                f.range.start.line,
                f.range.start.column,
                f.range.end.line,
                f.range.end.column,
                f.message,
                f.fingerprint,
                text,
            )
        )
    return lines, tuple(findings)


def _worker(job: list[tuple[bytes, str, Config]]) -> list[tuple[int, tuple[CachedFinding, ...]]]:
    ruleset = load_rules()
    return [analyse_blob(data, path, config, ruleset) for data, path, config in job]


class BlobAnalyser:
    """Gives the findings of (path, blob) pairs, from memory, the store, or by analysing.

    ``analysed`` counts blobs actually analysed by this instance (tests and stats use it).
    """

    def __init__(
        self,
        repo: git.Repo,
        store: Store,
        root: Path,
        *,
        resolver: ConfigResolver | None = None,
        ruleset: RuleSet | None = None,
        jobs: int | None = None,
    ) -> None:
        self.repo = repo
        self.store = store
        self.root = root
        self.ruleset = ruleset or load_rules()
        self.resolver = resolver or ConfigResolver(self.ruleset.codes, default_root=root)
        self.jobs = jobs if jobs is not None else (os.cpu_count() or 1)
        self.analysed = 0
        self.cached = 0
        self._memo: dict[tuple[str, str], BlobAnalysis] = {}
        self._hashes: dict[str, str] = {}

    def config_for(self, path: str) -> Config:
        return self.resolver.for_path(self.root / path)

    def _hash(self, config: Config) -> str:
        key = config.fingerprint()  # resolvers may return equal but new Config objects
        if key not in self._hashes:
            self._hashes[key] = ruleset_hash(config, self.ruleset)
        return self._hashes[key]

    def ruleset_hash(self) -> str:
        """The hash for the repository root's settings (recorded with each history run)."""
        return self._hash(self.resolver.for_folder(self.root))

    def get(
        self, keys: Iterable[tuple[str, str]], progress: Progress | None = None
    ) -> dict[tuple[str, str], BlobAnalysis]:
        """``{(path, blob): analysis}`` for every key; analyses only what no cache has."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self._memo]
        by_hash: dict[str, list[tuple[str, str, Config]]] = {}
        for path, blob in wanted:
            config = self.config_for(path)
            by_hash.setdefault(self._hash(config), []).append((path, blob, config))
        misses: list[tuple[str, str, Config, str]] = []
        for rhash, items in by_hash.items():
            found = self.store.cached_analyses(((blob, path) for path, blob, _ in items), rhash)
            for path, blob, config in items:
                hit = found.get((blob, path))
                if hit is None:
                    misses.append((path, blob, config, rhash))
                else:
                    self._memo[(path, blob)] = hit
                    self.cached += 1
        if misses:
            self._analyse(misses, progress)
        return {k: self._memo[k] for k in dict.fromkeys(keys)}

    def _analyse(self, misses: list[tuple[str, str, Config, str]], progress: Progress | None) -> None:
        results: list[BlobAnalysis] = []
        total = len(misses)
        if self.jobs > 1 and total >= PARALLEL_THRESHOLD:
            jobs = [
                [
                    (read_blob(self.repo, blob), path, config)
                    for path, blob, config, _ in misses[i : i + _CHUNK]
                ]
                for i in range(0, total, _CHUNK)
            ]
            with ProcessPoolExecutor(self.jobs, mp_context=start_context()) as pool:
                done = 0
                for start, outcome in zip(range(0, total, _CHUNK), pool.map(_worker, jobs), strict=True):
                    for (path, blob, _, rhash), (lines, findings) in zip(
                        misses[start : start + _CHUNK], outcome, strict=True
                    ):
                        results.append(BlobAnalysis(blob, path, rhash, lines, findings))
                    done += len(outcome)
                    if progress:
                        progress(done, total)
        else:
            for done, (path, blob, config, rhash) in enumerate(misses, 1):
                lines, findings = analyse_blob(read_blob(self.repo, blob), path, config, self.ruleset)
                results.append(BlobAnalysis(blob, path, rhash, lines, findings))
                if progress:
                    progress(done, total)
        self.analysed += len(results)
        for analysis in results:
            self._memo[(analysis.path, analysis.blob_sha)] = analysis
        self.store.store_analyses(results)
