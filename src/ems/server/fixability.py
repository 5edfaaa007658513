"""The server's fixability judgements: which findings' fixes verify (``with_fixability``, the
fix engine run as ``ems fix`` would), judged once per text and kept, judged ahead of the
first code action while the document is idle, and the re-export stamp they depend on cached
while the client reports file changes.

Why: judging a 5,000-line module costs a quarter to half a second of libcst in the fix
worker; paid by the first code action of every version, a quick fix felt slow
(performance.md). Judged once the document has been idle a moment (``fixIdleMs``), the code action
finds the judgement made. A judgement never blocks diagnostics: it runs in the fix worker
(its own process), and the next edit cancels one still waiting for the idle time; one
already running is abandoned (its result is kept for that text, should the edit be undone).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor

from ems.core.model import Report
from ems.runtime.guard import GuardFailure
from ems.server.documents import Analysis, Debouncer

log = logging.getLogger("ems.server")

KEPT = 16  # judgements kept (per text, config and path): undo, a re-opened file

Judge = Callable[[str, Analysis], Awaitable[Report]]  # (label, analysis) -> judged report
JudgeKey = tuple[str, str, str]


def judge_key(analysis: Analysis) -> JudgeKey:
    """What a judgement depends on besides other files: the path, the text and the config
    (the analysis's result id without its version) and the config's root."""
    return analysis.report.path, analysis.result_id.partition(":")[2], str(analysis.config.root)


def worth_judging(report: Report) -> bool:
    """Only a report with fix offers has anything to judge."""
    return any(f.fixable for f in report.findings)


class Judgements:
    """Fixability judgements of the open documents' texts, their re-export stamps, and the
    idle-time judging; ``counts`` says how much work was done (``ems.status``, tests)."""

    def __init__(self, judge: Judge) -> None:
        self._judge = judge
        self._kept: OrderedDict[JudgeKey, tuple[str | None, Report]] = OrderedDict()
        self._running: dict[JudgeKey, tuple[str | None, asyncio.Task[Report]]] = {}
        self._stamps: dict[str, str | None] = {}
        self._stamp_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ems-stamp")
        self.idle = Debouncer()
        # True once the client watches the project's Python files for us: a stamp is then
        # kept until a file event or a save says the project changed on disk.
        self.watching = False
        # quickFixes: findings' fixes judged alone (a code action's quick fixes, ``app.quick_fix``);
        # quickFixesReused: found kept for the same text (a resolve after its code action).
        self.counts = {
            "judged": 0,
            "judgedWhenIdle": 0,
            "reused": 0,
            "stamps": 0,
            "warmed": 0,
            "quickFixes": 0,
            "quickFixesReused": 0,
        }

    async def report(self, analysis: Analysis) -> Report:
        """The analysis's report with each finding's judged ``Fixability``: kept, being
        judged (waited for), or judged now."""
        stamp = await self.stamp(analysis.report)
        key = judge_key(analysis)
        kept = self._kept.get(key)
        if kept is not None and kept[0] == stamp:
            self._kept.move_to_end(key)
            self.counts["reused"] += 1
            return kept[1]
        running = self._running.get(key)
        if running is None or running[0] != stamp:
            task = asyncio.get_running_loop().create_task(self._judged(analysis, key, stamp))
            running = self._running[key] = (stamp, task)
        return await asyncio.shield(running[1])

    def kept(self, analysis: Analysis, stamp: str | None) -> Report | None:
        """The analysis's judged report if it is made (kept for this text and the re-export
        ``stamp``), else None: never judges, never waits for a judgement running."""
        kept = self._kept.get(judge_key(analysis))
        if kept is None or kept[0] != stamp:
            return None
        self._kept.move_to_end(judge_key(analysis))
        self.counts["reused"] += 1
        return kept[1]

    async def kept_or_running(self, analysis: Analysis, stamp: str | None) -> Report | None:
        """``kept``, or the judgement of this text already running (the document was idle)
        awaited: it holds the fix worker, so what a code action would compute there waits
        for it anyway. None when neither (or it failed): nothing is started."""
        key = judge_key(analysis)
        running = self._running.get(key)
        if running is not None and running[0] == stamp and self._kept.get(key, (None,))[0] != stamp:
            try:
                await asyncio.shield(running[1])
            except GuardFailure:
                return None
        return self.kept(analysis, stamp)

    async def _judged(self, analysis: Analysis, key: JudgeKey, stamp: str | None) -> Report:
        try:
            report = await self._judge(f"fixability of {analysis.report.path}", analysis)
            self._kept[key] = (stamp, report)  # a failure (GuardFailure) is not kept
            self._kept.move_to_end(key)
            while len(self._kept) > KEPT:
                self._kept.popitem(last=False)
            return report
        finally:
            self.counts["judged"] += 1  # finished (a failure too)
            if self._running.get(key, (None, None))[1] is asyncio.current_task():
                del self._running[key]

    def when_idle(self, uri: str, analysis: Analysis, seconds: float, current: Callable[[], bool]) -> None:
        """Judge ``analysis`` once its document has been idle ``seconds`` and ``current()``
        still says it is the document's latest analysis."""
        if not worth_judging(analysis.report) or judge_key(analysis) in self._kept:
            return

        async def judge() -> None:
            if not current():
                return
            self.counts["judgedWhenIdle"] += 1
            try:
                await self.report(analysis)
            except GuardFailure as exc:
                log.warning("%s (judged again on the next code action)", exc)

        self.idle.schedule(uri, seconds, judge)

    def edited(self, uri: str) -> None:
        """The document changed: an idle-time judgement still waiting is not wanted."""
        self.idle.cancel(uri)

    async def stamp(self, report: Report) -> str | None:
        """The stamp of the other files the report's fixability depends on (the names
        other modules import from it: ``ems.fixes.reexports``), or None when nothing
        depends on them. A discovery of the project's module files and a stat each (about
        0.1 s on a stdlib-size project), so computed off the event loop, and kept while the
        client watches the files (``watching``) until ``files_changed``."""
        if not worth_judging(report):
            return None
        from ems.fixes.reexports import names_at_stake, reexport_stamp

        if not names_at_stake(report.findings):
            return None
        path = report.path
        if self.watching and path in self._stamps:
            return self._stamps[path]
        self.counts["stamps"] += 1
        stamp = await asyncio.get_running_loop().run_in_executor(self._stamp_pool, reexport_stamp, path)
        if self.watching:
            self._stamps[path] = stamp
        return stamp

    def files_changed(self) -> None:
        """Files changed on disk (a watched-file event, a save): the stamps are stale."""
        self._stamps.clear()

    def close(self) -> None:
        self.idle.cancel_all()
        self._stamp_pool.shutdown(wait=False, cancel_futures=True)
