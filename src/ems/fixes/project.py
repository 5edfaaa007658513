"""The project-wide fixer: fix every file under some paths, in worker processes.

A (cached, parallel) scan picks the files with fixable findings first, so only those pay
for libcst. Nothing is written here: the caller decides (``ems fix``, the dashboard).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ems.core.config import Config, ConfigResolver
from ems.core.model import Finding, Report
from ems.core.registry import RuleSet, load_rules

if TYPE_CHECKING:
    from ems.fixes.engine import FixAllResult


from ems.runtime.discovery import PathInfo
from ems.runtime.pool import ordered_map, worker_ruleset
from ems.runtime.scan import read_source, scan


@dataclass(frozen=True)
class FileFix:
    """One file's outcome of ``fix_paths``. Nothing is written: the caller decides."""

    path: Path
    display: str
    report: Report  # the findings before fixing
    original: bytes | None = None  # the bytes the fixes were computed from
    new: bytes | None = None  # the fixed bytes (same encoding and BOM); None: unchanged
    result: FixAllResult | None = None  # None: nothing fixable, or not fixed (see error)
    error: str | None = None
    unsafe: bool = False  # unsafe fixes were allowed for this file

    @property
    def remaining(self) -> tuple[Finding, ...]:
        return self.result.remaining if self.result is not None else self.report.findings


@dataclass(frozen=True)
class _FixTask:
    path: Path
    display: str
    config: Config
    report: Report
    unsafe: bool | None
    codes: tuple[str, ...] | None


def _fix_task(task: _FixTask) -> FileFix:
    from ems.core.source import UndecodableSource, decode_source, encode_source
    from ems.fixes.engine import fix_all

    allowed = task.config.unsafe_fixes if task.unsafe is None else task.unsafe
    data = read_source(task.path)
    if isinstance(data, str):
        return FileFix(task.path, task.display, task.report, error=data, unsafe=allowed)
    try:
        decoded = decode_source(data)
    except UndecodableSource as exc:
        return FileFix(
            task.path,
            task.display,
            task.report,
            data,
            error=f"{task.display}: not fixed: {exc}",
            unsafe=allowed,
        )
    ruleset = worker_ruleset() or load_rules()
    result = fix_all(
        decoded.text, task.display, task.config, unsafe=task.unsafe, codes=task.codes, ruleset=ruleset
    )
    if not result.changed:
        return FileFix(task.path, task.display, task.report, data, None, result, unsafe=allowed)
    try:
        new = encode_source(result.text, decoded.encoding, decoded.bom)
    except UnicodeEncodeError:
        error = f"{task.display}: fixed text cannot be encoded as {decoded.encoding}; not written"
        return FileFix(task.path, task.display, task.report, data, None, result, error, unsafe=allowed)
    return FileFix(task.path, task.display, task.report, data, new, result, unsafe=allowed)


def _wanted_fix(finding: Finding, unsafe: bool, only: tuple[str, ...] | None) -> bool:
    """Whether ``ems fix`` has something to do for ``finding`` (its computed fixability)."""
    if finding.fixability is None or (only is not None and finding.code not in only):
        return False
    return finding.fixability.applied or not finding.fixability.known or unsafe


def fix_paths(
    paths: Sequence[Path],
    resolver: ConfigResolver,
    *,
    unsafe: bool | None = None,
    codes: Iterable[str] | None = None,
    ruleset: RuleSet | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> Iterator[FileFix]:
    """Fix every file under ``paths`` in worker processes; one ``FileFix`` per file, in order.

    A (cached, parallel) scan picks the files with fixable findings first, so only those
    pay for libcst. ``unsafe=None`` follows each file's ``unsafe-fixes`` setting.
    """
    ruleset = ruleset or load_rules()
    only = tuple(c.upper() for c in codes) if codes is not None else None
    scanned = list(scan(paths, resolver, ruleset=ruleset, jobs=jobs, use_cache=use_cache))
    info = PathInfo(resolver)
    tasks = []
    for r in scanned:
        config = info.config(r.path)
        allowed = config.unsafe_fixes if unsafe is None else unsafe
        if any(_wanted_fix(f, allowed, only) for f in r.report.findings):
            tasks.append(_FixTask(r.path, r.display, config, r.report, unsafe, only))
    pinned = ExitStack()
    if tasks:  # the fixes ask which imports are re-exports: one index of the project for all
        from ems.fixes.reexports import pinned_project

        pinned.enter_context(pinned_project(paths))
    fixed = ordered_map(_fix_task, tasks, jobs, ruleset)
    try:
        next_task = 0
        total = len(scanned)
        for done, result in enumerate(scanned, 1):
            if next_task < len(tasks) and tasks[next_task].path is result.path:
                next_task += 1
                yield next(fixed)
            else:
                config = info.config(result.path)
                allowed = config.unsafe_fixes if unsafe is None else unsafe
                yield FileFix(result.path, result.display, result.report, unsafe=allowed)
            if progress:
                progress(done, total)
    finally:
        fixed.close()
        pinned.close()
