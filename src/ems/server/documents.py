"""Per-document state: text, version, the latest analysis, debounce timers and a cache.

Why the server keeps its own text instead of pygls's: pygls splits lines with
``str.splitlines``, which also breaks at form feeds and U+2028 (and then clamps positions it
thinks are past a line's end, see ``protocol.EmsProtocol``); LSP and Python only break at
``\\r\\n``, ``\\r`` and ``\\n``. Applying incremental changes here keeps every later
position exact.

Analysis is awaited (``GuardedAnalyser.analyse_async``: a keystroke's edit sent and its
report read by the event loop itself; anything else through a worker thread) so the loop
keeps reading messages, answering hovers and honouring ``$/cancelRequest`` while a large
module is analysed in ``ems.runtime.guard.GuardedAnalyser``'s worker process, which has a
time budget and is replaced if a rule hangs or crashes it. Results are cached by (config, path, content hash): undo, re-open and
identical pulls never analyse twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import statistics
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from lsprotocol import types as lsp

from ems.core.config import Config
from ems.core.model import Finding, Report
from ems.core.registry import RuleSet
from ems.runtime.guard import GuardedAnalyser
from ems.server.actions import LineFacts
from ems.server.positions import LineIndex, PositionMapper, apply_change

CACHE_SIZE = 64
log = logging.getLogger("ems.server")


@dataclass(frozen=True)
class Analysis:
    """One analysed version of a document."""

    version: int | None
    text: str
    report: Report
    config: Config
    result_id: str
    seconds: float

    def finding(self, fingerprint: str) -> Finding | None:
        return next((f for f in self.report.findings if f.fingerprint == fingerprint), None)

    def mapper(self, encoding: str) -> PositionMapper:
        """The text's position mapper, built once per analysed version."""
        mappers: dict[str, PositionMapper] = self.__dict__.setdefault("_mappers", {})
        if encoding not in mappers:
            mappers[encoding] = PositionMapper(self.text, encoding, self.__dict__.get("_index"))
        return mappers[encoding]

    def share_index(self, index: LineIndex | None) -> None:
        """Use the document's line index of this very text (no second split of it)."""
        if index is not None and index.text is self.text:
            self.__dict__.setdefault("_index", index)

    @cached_property
    def facts(self) -> LineFacts:
        return LineFacts(self.text)


@dataclass
class Document:
    uri: str
    path: Path | None  # None for untitled / non-file documents
    text: str
    version: int | None
    analysis: Analysis | None = None
    published_version: int | None = None
    saved: tuple[int | None, str] | None = None  # (version, text) at the last open or save
    index: LineIndex | None = None  # the text's line starts, kept up to date by ``apply``

    def __post_init__(self) -> None:
        if self.saved is None:
            self.saved = (self.version, self.text)

    @property
    def display_path(self) -> str:
        return str(self.path) if self.path is not None else self.uri

    @property
    def resolved_path(self) -> Path | None:
        return resolved(self.path)

    def apply(self, changes: list[lsp.TextDocumentContentChangeEvent], version: int, encoding: str) -> None:
        text, index = self.text, self.index
        for change in changes:
            text, index = apply_change(text, change, encoding, index)
        self.text, self.index = text, index
        self.version = version

    def mapper(self, encoding: str, text: str | None = None) -> PositionMapper:
        return PositionMapper(self.text if text is None else text, encoding)


def resolved(path: Path | str | None) -> Path | None:
    """``path`` made absolute, or None for a name the file system refuses (an editor URI
    may carry a NUL: ``Path.resolve`` raises ValueError on it)."""
    if path is None or path == "":
        return None
    try:
        return Path(path).resolve()
    except (OSError, ValueError):
        return None


def content_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


class Analyser:
    """Runs ``ems.core.analyse`` off the event loop, with a small LRU cache and timings."""

    def __init__(self, ruleset: RuleSet, workers: int = 1, guard: GuardedAnalyser | None = None) -> None:
        self.ruleset = ruleset
        # analysis runs in a replaceable worker process under a time budget: a rule that
        # hangs or crashes costs one document's findings (EMS902/EMS903), not the server
        self.guard = guard or GuardedAnalyser()
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="ems-analyse")
        self._cache: OrderedDict[tuple[str, str, str, str], Report] = OrderedDict()
        self.durations: deque[float] = deque(maxlen=200)
        self.analyses = 0
        self.cache_hits = 0

    def _key(self, text: str, path: str, config: Config) -> tuple[str, str, str, str]:
        return (config.fingerprint(), str(config.root), path, content_hash(text))

    def cached(
        self, text: str, path: str, config: Config, key: tuple[str, str, str, str] | None = None
    ) -> Report | None:
        key = key or self._key(text, path, config)
        report = self._cache.get(key)
        if report is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
        return report

    async def analyse(self, text: str, path: str, config: Config, version: int | None) -> Analysis:
        key = self._key(text, path, config)
        started = time.perf_counter()
        cached = self.cached(text, path, config, key)  # (one hash of the text per version)
        if cached is not None:
            report = cached
        else:
            begun = time.perf_counter()
            report = await self.guard.analyse_async(text, path, config, self.ruleset, executor=self.executor)
            seconds = time.perf_counter() - begun
            self.analyses += 1
            self.durations.append(seconds)
            self._cache[key] = report
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        result_id = f"{version}:{key[3]}:{key[0]}"
        return Analysis(version, text, report, config, result_id, time.perf_counter() - started)

    def clear(self) -> None:
        self._cache.clear()

    def timings(self) -> dict[str, float | int]:
        """Milliseconds, for ``ems.status``."""
        data = sorted(self.durations)
        # how edited versions reached the worker: whole, or as edits of the last one
        counts: dict[str, float | int] = {"analyses": self.analyses, "cacheHits": self.cache_hits}
        counts.update(self.guard.texts_sent)
        if not data:
            return counts
        p95 = data[min(len(data) - 1, round(0.95 * (len(data) - 1)))]
        return {
            **counts,
            "medianMs": round(statistics.median(data) * 1000, 2),
            "p95Ms": round(p95 * 1000, 2),
            "maxMs": round(data[-1] * 1000, 2),
        }

    def prewarm(self) -> None:
        """Start the worker process before the first document arrives (that takes a second)."""
        try:
            self.guard.start()
        except Exception as exc:  # the first analysis will retry and report it
            log.warning("analysis worker did not start: %s", exc)

    def shutdown(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.guard.close()


class Debouncer:
    """At most one pending analysis per document; a newer request replaces the older one."""

    def __init__(self) -> None:
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def schedule(self, key: str, delay: float, action: Callable[[], Awaitable[None]]) -> asyncio.Task[None]:
        self.cancel(key)

        async def run() -> None:
            if delay > 0:
                await asyncio.sleep(delay)
            await action()

        task = asyncio.get_running_loop().create_task(run())
        self._tasks[key] = task
        task.add_done_callback(lambda t: self._tasks.pop(key, None) if self._tasks.get(key) is t else None)
        return task

    def cancel(self, key: str) -> None:
        task = self._tasks.pop(key, None)
        if task is not None and not task.done():
            task.cancel()

    def cancel_all(self) -> None:
        for key in list(self._tasks):
            self.cancel(key)
