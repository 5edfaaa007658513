"""Project scans: which files to analyse, and their reports, in a stable order.

File discovery honours ``exclude``/``extend-exclude`` and ``.gitignore``; a path named
explicitly on the command line is always analysed. Special files (FIFOs, devices),
unreadable files and symlink loops become E902 results instead of hanging or crashing.

Speed: unchanged files come from the persistent cache (``ems.store.cache``) without being
read; the rest are analysed in worker processes (fork where safe) in chunks, and results
are yielded in file order whatever order the workers finish in, so output is
deterministic. Small inputs stay in-process: starting workers costs more than it saves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ems.core.config import Config, ConfigResolver
from ems.core.model import Finding, Fixability, Report
from ems.core.reading import read_regular as _read
from ems.core.registry import RuleSet, lazy_rules, load_rules

if TYPE_CHECKING:
    import ast

    from ems.core.analyse import FactLog
    from ems.core.scope import ScopeModel
    from ems.fixes.importindex import Facts, Raw, Stat
    from ems.fixes.reexports import Asked, Learned, Roots, ScanIndex
    from ems.runtime.events import EventBus
    from ems.store.cache import Entry, Parsed

from ems.fixes.lazy import fix_modules
from ems.runtime.discovery import PYTHON_SUFFIXES, PathInfo, discover, display_path
from ems.runtime.pool import default_jobs, ordered_map, worker_ruleset

__all__ = [
    "PYTHON_SUFFIXES",
    "FileResult",
    "View",
    "analyse_path",
    "default_jobs",
    "discover",
    "display_path",
    "io_error_report",
    "read_source",
    "scan",
    "scan_as_ready",
]

log = logging.getLogger("ems.project")


@dataclass(frozen=True)
class FileResult:
    path: Path  # as found (absolute or relative to the working directory)
    display: str  # what users see and fingerprints use
    report: Report
    source: bytes | None = None  # the bytes analysed: with keep_source, for files with findings
    # With keep_excerpts: the source lines the findings point at (line number -> text), so
    # text output needs no file reads (see ``ems.core.source.excerpt_lines``). Derived from
    # the source and the findings, so left out of ==/hash (and a dict would be unhashable).
    excerpts: Mapping[int, str] | None = field(default=None, compare=False)
    # With a ``View``: the caller's rendering of this result (cached, or rendered in the scan).
    view: str | None = field(default=None, compare=False)

    def __getattr__(self, name: str) -> Report:
        """Only reached for a result from ``_cached_result`` whose report is not built yet."""
        if name == "report":
            pending = self.__dict__.get("_pending")
            if pending is not None:
                report = pending.build()
                object.__setattr__(self, "report", report)
                return report
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class _PendingReport:
    """A cached row's parsed JSON, built into a ``Report`` on first use of ``report``.

    A warm text report prints cached views (``View``) and needs no report, and building
    ~9,000 findings' objects was a tenth of a warm run. A row that turns out malformed
    when built is not trusted: the file is analysed afresh instead, as a bad row always was.
    """

    __slots__ = ("_parsed", "config", "display", "path", "payload", "ruleset")

    def __init__(self, payload: str, path: Path, display: str, config: Config, ruleset: RuleSet) -> None:
        self.payload = payload  # parsed on first use: a cached view may make it unnecessary
        self._parsed: Parsed | None = None
        self.path = path
        self.display = display
        self.config = config
        self.ruleset = ruleset

    @property
    def parsed(self) -> Parsed:
        """The payload's first line; raises ValueError/TypeError/KeyError if malformed."""
        if self._parsed is None:
            from ems.store.cache import parse_payload

            self._parsed = parse_payload(self.payload)
        return self._parsed

    def build(self) -> Report:
        from ems.store.cache import build_report

        try:
            return build_report(self.parsed, self.display)
        except (ValueError, TypeError, KeyError):
            log.info("cache row for %s is malformed; analysing the file again", self.display)
            task = _Task(self.path, self.display, self.config, None, False, False)
            report = _analyse_task(task, self.ruleset).report
            assert report is not None  # no expected digest: always analysed
            return report


def _cached_result(
    path: Path,
    display: str,
    pending: _PendingReport,
    source: bytes | None,
    excerpts: Mapping[int, str] | None,
    view: str | None = None,
) -> FileResult:
    """A ``FileResult`` whose ``report`` is built on first access (see ``_PendingReport``)."""
    result = object.__new__(FileResult)
    put = object.__setattr__
    put(result, "path", path)
    put(result, "display", display)
    put(result, "source", source)
    put(result, "excerpts", excerpts)
    put(result, "view", view)
    put(result, "_pending", pending)
    return result


def read_source(path: Path) -> bytes | str:
    """The file's bytes, or an error message; never blocks on a FIFO or device."""
    return _read(path)[0]


def io_error_report(display: str, message: str) -> Report:
    from ems.rules.e902_io_error import IOErrorRule

    return Report(display, (IOErrorRule.finding(display, message),), syntax_error=True)


def analyse_path(
    path: Path, config: Config, ruleset: RuleSet, display: str, keep_source: bool = False
) -> FileResult:
    data = read_source(path)
    if isinstance(data, str):
        return FileResult(path, display, io_error_report(display, data))
    from ems.core.analyse import analyse

    report = with_fixability(data, analyse(data, display, config, ruleset), config, ruleset)
    return FileResult(path, display, report, data if keep_source else None)


@dataclass(frozen=True)
class _Task:
    path: Path
    display: str
    config: Config
    expected: str | None  # content digest of the cached report, if any
    keep_source: bool
    want_digest: bool
    keep_excerpts: bool = False
    # The scan's re-export index (root, fingerprint), for a worker that did not inherit it.
    reexports: tuple[str, str] | None = None
    # The scan's first phase (``_ScanReexports``): judge assuming no re-exports, and say
    # what the file's analysis saw of its imports.
    assume: bool = False


@dataclass(frozen=True)
class _Outcome:
    report: Report | None  # None: content equals the cached report's (``expected``)
    stat: tuple[int, int, int, int] | None  # trusted stat of what was read, for the cache
    digest: str | None  # None: not cacheable (I/O error)
    source: bytes | None
    # The findings' source lines: for the cache (want_digest) and for keep_excerpts.
    excerpts: dict[int, str] | None = None
    # What the report depended on besides the file's bytes (``Entry.deps``), for the cache.
    deps: str | None = None
    # What a worker found out from the scan's re-export index (``reexports.learned``).
    learned: Learned | None = None
    # With ``_Task.assume``: the file's import facts as its analysis saw them (None: none
    # to trust), and what the judgement asked of re-exports (``reexports.assuming_none``).
    facts: tuple[Stat, Facts] | None = None
    asked: tuple[Asked, ...] | None = None


def _analyse_task(task: _Task, ruleset: RuleSet | None = None) -> _Outcome:
    from ems.store.cache import content_digest, trusted_stat

    data, info = _read(task.path)
    if isinstance(data, str):
        return _Outcome(io_error_report(task.display, data), None, None, None)
    digest = content_digest(data) if task.want_digest else None
    stat_key = trusted_stat(info) if info is not None and task.want_digest else None
    if digest is not None and digest == task.expected:
        # The cached row's excerpts are as good (same bytes); the caller has them.
        return _Outcome(None, stat_key, digest, data if task.keep_source else None)
    from ems.core.analyse import FactLog, analyse  # not at the top: a warm run may analyse nothing

    ruleset = ruleset or worker_ruleset() or load_rules()
    if task.assume:
        return _first_phase(task, data, info, digest, stat_key, ruleset)
    trees: list[ast.Module] = []
    facts = FactLog()  # what the rules asked of the module: the fixed texts' analyses check it
    report = analyse(
        data, task.display, task.config, ruleset, on_tree=lambda tree, _: trees.append(tree), fact_log=facts
    )
    with ExitStack() as hinted:
        if task.reexports is not None and any(f.fixable for f in report.findings):
            from ems.fixes.reexports import expecting

            hinted.enter_context(expecting(*task.reexports))
        deps = _reexport_dependency(task.path, report) if task.want_digest else None
        report = with_fixability(data, report, task.config, ruleset, trees[0] if trees else None, facts)
    trees.clear()
    learned = None
    if deps is not None:
        from ems.fixes.reexports import learned as learned_answer

        learned = learned_answer(str(task.path))
        if any(f.fixability is Fixability.UNKNOWN for f in report.findings):
            deps = None  # not judged (a very large file): nothing depended on other files
    return _outcome(task, data, report, stat_key, digest, deps, learned)


def _outcome(
    task: _Task,
    data: bytes,
    report: Report,
    stat_key: tuple[int, int, int, int] | None,
    digest: str | None,
    deps: str | None = None,
    learned: Learned | None = None,
    facts: tuple[Stat, Facts] | None = None,
    asked: tuple[Asked, ...] | None = None,
) -> _Outcome:
    from ems.core.source import excerpt_lines

    excerpts = None
    if report.findings and (task.want_digest or task.keep_excerpts):
        # Split here, in the worker: the cache row keeps them for every later text report.
        excerpts = excerpt_lines(data, [f.range.start.line for f in report.findings])
    # Sources go back through a pipe: only those the caller can use (files with findings).
    source = data if task.keep_source and report.findings else None
    return _Outcome(report, stat_key, digest, source, excerpts, deps, learned, facts, asked)


def _first_phase(
    task: _Task,
    data: bytes,
    info: os.stat_result | None,
    digest: str | None,
    stat_key: tuple[int, int, int, int] | None,
    ruleset: RuleSet,
) -> _Outcome:
    """``_analyse_task`` in a scan's first phase: the file's fixability judged as if none of
    its names were re-exported (``reexports.assuming_none``: what was asked is recorded for
    the scan to check), and its import facts taken from its analysis (no second parse)."""
    from ems.core.analyse import FactLog, analyse
    from ems.fixes.importindex import from_imports, scanned_facts, tree_from_imports
    from ems.fixes.reexports import assuming_none

    imports: list[Raw] = []
    trees: list[ast.Module] = []  # kept for the fixed texts' analyses

    def keep(tree: ast.Module, model: ScopeModel | None) -> None:
        imports.append(from_imports(model.import_froms) if model is not None else tree_from_imports(tree))
        trees.append(tree)

    asked = FactLog()  # what the rules asked of the module: the fixed texts' analyses check it
    report = analyse(data, task.display, task.config, ruleset, on_tree=keep, fact_log=asked)
    facts = None
    if info is not None:
        with suppress(OSError):
            facts = scanned_facts(data, info, os.stat(task.path), imports[0] if imports else None)
    with assuming_none() as names:
        report = with_fixability(data, report, task.config, ruleset, trees[0] if trees else None, asked)
    trees.clear()
    return _outcome(task, data, report, stat_key, digest, facts=facts, asked=tuple(names))


def _reexport_dependency(path: Path, report: Report) -> str | None:
    """What judging ``report``'s fixability will depend on in other files (re-exports,
    ``ems.fixes.reexports``), taken before judging; None when nothing does."""
    at_stake = _at_stake(report)
    if not at_stake:
        return None
    from ems.fixes.reexports import dependency

    return dependency(str(path), at_stake)


def _at_stake(report: Report) -> frozenset[str]:
    """The names of ``report`` whose fix a re-export would withhold."""
    if report.syntax_error or not any(f.fixable for f in report.findings):
        return frozenset()
    from ems.fixes.reexports import names_at_stake

    return names_at_stake(report.findings)


def _judges_reexports(configs: Iterable[Config]) -> bool:
    """Whether judging fixability under these (distinct) configurations can ask about
    re-exports (F401 selected)."""
    from ems.fixes.reexports import REEXPORT_CODE

    return any(REEXPORT_CODE in config.selected((REEXPORT_CODE,)) for config in configs)


def _waits(task: _Task, outcome: _Outcome) -> bool:
    """Whether a first-phase outcome needs the project's imports: its judgement asked about
    re-exports, or its cache row must say which of its names are re-exports."""
    report = outcome.report
    if report is None:
        return False
    if outcome.asked:
        return True
    judged = not any(f.fixability is Fixability.UNKNOWN for f in report.findings)
    return task.want_digest and judged and bool(_at_stake(report))


class _ScanReexports:
    """The scan's side of re-exports (``ems.fixes.reexports``): the project's import index,
    built on first need from the stats the scan took (from the store when it has it), lent
    to the judging code while files are analysed, and kept in the store at the end.

    Only for a scan under a project root (a git work tree or a config file's folder); a
    file elsewhere asks ``reexports`` directly. The index covers the project's files as a
    scan of the root discovers them: this scan's own files when it scans the root itself.
    """

    def __init__(
        self,
        paths: Sequence[Path],
        resolver: ConfigResolver,
        texts: Sequence[str],
        infos: Sequence[os.stat_result | None],
        store: Path | None,
    ) -> None:
        self._paths, self._resolver, self._texts, self._infos = paths, resolver, texts, infos
        self._store = store
        self._scan: ScanIndex | None = None
        self._opened = False
        self._pinned: ExitStack | None = None
        self._roots: Roots = {}  # ``reexports.search_root``'s, for this scan's moment
        self._seen: dict[str, tuple[Stat, Facts]] = {}  # the first phase's, by resolved path
        self._real: dict[str, str] = {}  # a folder as given -> resolved

    def index(self) -> ScanIndex | None:
        """The scan's index, built on first call (None: the scan is under no project root)."""
        if not self._opened:
            from ems.fixes.reexports import open_scan_index, project_root_of

            self._opened = True
            root = project_root_of(str(self._paths[0]) if self._paths else os.curdir)
            if root is not None:
                self._scan = open_scan_index(root, self._files(root), self._store)
        return self._scan

    def _files(self, root: str) -> dict[str, tuple[int, int]]:
        """The project's module files with their stats: this scan's when it covers the root
        with the project's own config (else discovered afresh)."""
        from ems.fixes.reexports import project_files

        covers = (
            len(self._paths) == 1
            and os.path.realpath(self._paths[0]) == root
            and type(self._resolver) is ConfigResolver
            and self._resolver.explicit is None
        )
        if not covers:
            return project_files(root, True)
        base = os.path.abspath(self._paths[0])
        here = base == os.getcwd()  # the discovered paths are relative to the root already
        files: dict[str, tuple[int, int]] = {}
        for text, info in zip(self._texts, self._infos, strict=True):
            if not text.endswith(".py"):
                continue
            if info is None:
                try:
                    info = os.stat(text)
                except OSError:
                    continue
            rel = text if here and not os.path.isabs(text) else os.path.relpath(os.path.abspath(text), base)
            files[rel] = (info.st_size, info.st_mtime_ns)
        return files

    def holds(self, text: str, deps: str) -> bool:
        """Whether a cached judgement recorded as ``deps`` still holds."""
        from ems.fixes.reexports import recheck

        scan = self.index()
        return recheck(text, deps, scan.index if scan is not None else None, self._roots)

    def pin(self) -> tuple[str, str] | None:
        """Lend the index to the judging code; (its root, its fingerprint), if any."""
        from ems.fixes.reexports import pinned

        scan = self.index()
        if scan is None:
            return None
        if self._pinned is None:
            self._pinned = ExitStack()
            self._pinned.enter_context(pinned(scan.index))
        return scan.index.root, scan.index.fingerprint

    def adopt(self, learned: Learned | None) -> None:
        """Keep what a worker found out from the scan's index."""
        if learned is not None and self._scan is not None:
            from ems.fixes.reexports import adopt

            adopt(self._scan, learned)

    def saw(self, path: Path, facts: tuple[Stat, Facts] | None) -> None:
        """Keep what the first phase's analysis of ``path`` saw of its imports."""
        if facts is None:
            return
        head, name = os.path.split(os.path.abspath(path))
        real = self._real.get(head)
        if real is None:
            real = self._real[head] = os.path.realpath(head)
        self._seen[os.path.join(real, name)] = facts

    def settle(
        self, waiting: list[tuple[int, _Task, _Outcome]], jobs: int | None, ruleset: RuleSet
    ) -> Iterator[tuple[int, _Task, _Outcome]]:
        """The first phase's outcomes that waited for the project's imports, settled: each
        judgement is checked against the answers of indexes fed with what the scan's own
        analyses saw (``reexports.pin_seeded``: no importer is read or parsed again), and
        a file whose judgement asked about a name that is a re-export is judged again (by
        the usual lookup, from the same indexes); each cache row gets its dependency."""
        from ems.fixes.reexports import assumption_holds, names_imported_from, pin_seeded

        if self._pinned is None:
            self._pinned = ExitStack()
        paths = [str(task.path) for _, task, _ in waiting]
        paths += [asked[0] for _, _, outcome in waiting for asked in outcome.asked or ()]
        pin_seeded(self._seen, paths, self._pinned, self._roots)
        again: list[tuple[int, _Task]] = []
        for index, task, outcome in waiting:
            assert outcome.report is not None  # (``_waits``)
            if not all(
                assumption_holds(asked, names_imported_from(asked[0])) for asked in outcome.asked or ()
            ):
                again.append((index, replace(task, assume=False, expected=None)))
                continue
            deps = _reexport_dependency(task.path, outcome.report) if task.want_digest else None
            if any(f.fixability is Fixability.UNKNOWN for f in outcome.report.findings):
                deps = None
            yield index, task, replace(outcome, deps=deps)
        if again:
            redone = ordered_map(_analyse_task, [task for _, task in again], jobs, ruleset)
            try:
                for (index, task), outcome in zip(again, redone, strict=True):
                    yield index, task, outcome
            finally:
                redone.close()

    def close(self) -> None:
        if self._pinned is not None:
            self._pinned.close()
            self._pinned = None
        if self._scan is not None:
            from ems.fixes.reexports import keep_scan_index, remember

            keep_scan_index(self._scan)
            remember(self._scan.index)


# Beyond these, a file's fixability is not computed (``Fixability.UNKNOWN``): libcst's cost
# per fix grows with the file, so a generated 5 MB module with thousands of offers would
# take minutes to judge. ``ems fix`` still tries such files.
MAX_FIXABILITY_BYTES = 1024 * 1024
MAX_FIXABILITY_OFFERS = 200


def with_fixability(
    data: bytes | str,
    report: Report,
    config: Config,
    ruleset: RuleSet,
    tree: ast.Module | None = None,
    fact_log: FactLog | None = None,
) -> Report:
    """``report`` with what ``ems fix`` does for each finding (``Fixability``), for files
    where a rule offers a fix; libcst is imported only then. The result is cached with the
    report, so an unchanged file never pays for it again. ``tree``: the one ``report``'s
    analysis parsed, if kept (``ems.fixes.reanalyse``); ``fact_log``: what its rules asked
    of the module (``analyse``'s), if kept (``ems.fixes.verifybody``)."""
    if report.syntax_error:
        return report
    offers = sum(1 for f in report.findings if f.fixable)
    if not offers:
        return report
    if offers > MAX_FIXABILITY_OFFERS or len(data) > MAX_FIXABILITY_BYTES:
        unknown = Fixability.UNKNOWN
        findings = tuple(replace(f, fixability=unknown) if f.fixable else f for f in report.findings)
        return replace(report, findings=findings)
    from ems.core.source import UndecodableSource, decode_source
    from ems.fixes.engine import with_fixability as compute

    try:
        text = data if isinstance(data, str) else decode_source(data).text
    except UndecodableSource:
        return report
    return compute(text, report.path, config, ruleset, report, tree, fact_log)


def _cacheable(report: Report) -> bool:
    """A time-out or crash (EMS902/EMS903, e.g. from an analysis run under the guard) may
    not happen next time: never remember it. The rule classes are imported only when a
    report has an internal code at all."""
    if not any(f.code.startswith("EMS90") for f in report.findings):
        return True
    from ems.rules.ems902_analysis_timeout import AnalysisTimeout
    from ems.rules.ems903_analysis_crash import AnalysisCrash

    return not any(f.code in (AnalysisTimeout.code, AnalysisCrash.code) for f in report.findings)


def scan(
    paths: Sequence[Path],
    resolver: ConfigResolver,
    *,
    ruleset: RuleSet | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    keep_source: bool = False,
    keep_excerpts: bool = False,
    progress: Callable[[int, int], None] | None = None,
    bus: EventBus | None = None,
) -> Iterator[FileResult]:
    """Analyse every file under ``paths``; results come in discovery (file) order.

    ``jobs``: worker processes (default: usable CPUs; 1 = in-process). ``use_cache``:
    read and update the result cache in the store (``.ems/ems.db``) at the project root.
    ``keep_source``: attach the
    bytes analysed to every result with findings (what SARIF fixes need); results
    without findings may carry none, which spares reading unchanged clean files.
    ``keep_excerpts``: attach the source lines the findings point at (what text output
    shows); cached rows carry them, so unchanged files are not read for them.
    """
    waiting: dict[int, FileResult] = {}
    next_index = 0
    scanned = scan_as_ready(
        paths,
        resolver,
        ruleset=ruleset,
        jobs=jobs,
        use_cache=use_cache,
        keep_source=keep_source,
        keep_excerpts=keep_excerpts,
        bus=bus,
    )
    try:
        for index, result, total in scanned:
            waiting[index] = result
            while next_index in waiting:
                yield waiting.pop(next_index)
                next_index += 1
                if progress:
                    progress(next_index, total)
    finally:
        scanned.close()


@dataclass(frozen=True)
class View:
    """A caller's rendering of one file's result, kept with the file's cached result.

    ``ems check`` keeps its text output here: a warm run then prints cached files without
    decoding their findings at all. The cache stores the text as an opaque blob under
    ``key`` (one per renderer: a coloured and a plain rendering live side by side); ``key``
    must change whenever ``render`` would render the same result differently (its code,
    its options). A view is used only under the same key and for the same file content.
    """

    key: str
    render: Callable[[FileResult], str]


def scan_as_ready(
    paths: Sequence[Path],
    resolver: ConfigResolver,
    *,
    ruleset: RuleSet | None = None,
    jobs: int | None = None,
    use_cache: bool = True,
    keep_source: bool = False,
    keep_excerpts: bool = False,
    view: View | None = None,
    bus: EventBus | None = None,
) -> Generator[tuple[int, FileResult, int], None, None]:
    """``scan`` as ``(index in file order, result, number of files)``, each result as soon
    as it is ready: the cached ones first, then those analysed now.

    Why: when a few files changed in a warm project, they are analysed in a forked child
    while this process decodes and the caller renders the cached results, so the analysis
    costs no wall time of its own (``ems check`` after editing one file).

    ``view``: every result carries ``view.render(result)`` in ``FileResult.view``, from the
    cache when its row has it. A result with a cached view is meant to be shown through
    it: it carries no excerpts, and its report is decoded only if asked for.

    ``bus``: each result is also published as ``FileAnalysed`` as it is yielded.
    """
    scanned = _scan_as_ready(paths, resolver, ruleset, jobs, use_cache, keep_source, keep_excerpts, view)
    if bus is None:
        return _plain(scanned)
    from ems.runtime.events import FileAnalysed

    if not bus.wants(FileAnalysed):
        return _plain(scanned)
    return _announced(scanned, bus)


def _announced(
    scanned: Generator[tuple[int, FileResult, bool, int], None, None], bus: EventBus
) -> Generator[tuple[int, FileResult, int], None, None]:
    from ems.runtime.events import FileAnalysed

    try:
        for index, result, cached, total in scanned:
            bus.publish(FileAnalysed(result.display, cached, result))
            yield index, result, total
    finally:
        scanned.close()


def _plain(
    scanned: Generator[tuple[int, FileResult, bool, int], None, None],
) -> Generator[tuple[int, FileResult, int], None, None]:
    try:
        for index, result, _, total in scanned:
            yield index, result, total
    finally:
        scanned.close()


def _scan_as_ready(
    paths: Sequence[Path],
    resolver: ConfigResolver,
    ruleset: RuleSet | None,
    jobs: int | None,
    use_cache: bool,
    keep_source: bool,
    keep_excerpts: bool,
    view: View | None,
) -> Generator[tuple[int, FileResult, bool, int], None, None]:
    """``scan_as_ready``, each result with whether it came from the cache."""
    from ems.runtime.root import scan_root
    from ems.store.cache import (
        ResultCache,
        StatKey,
        decode_entry,
        is_fresh,
        settings_key,
        split_key,
        stat_matches,
    )

    # Rules are imported on first use: only if a file needs analysing (then by whichever
    # process analyses it; a RegistryError reaches the caller either way).
    ruleset = ruleset or lazy_rules()
    info = PathInfo(resolver)
    files = list(discover(paths, resolver, info))
    total = len(files)
    texts = [str(path) for path in files]
    displays = [info.display(path, text) for path, text in zip(files, texts, strict=True)]
    configs = [info.config(path, text) for path, text in zip(files, texts, strict=True)]
    keys: dict[int, str] = {}
    settings = [keys.get(id(c)) or keys.setdefault(id(c), settings_key(c, ruleset)) for c in configs]

    cache = ResultCache(scan_root(paths)) if use_cache and files else None
    stats = cache.load_stats(displays, set(settings)) if cache is not None else {}

    def task(
        index: int, expected: str | None, reexports: tuple[str, str] | None = None, assume: bool = False
    ) -> _Task:
        return _Task(
            files[index],
            displays[index],
            configs[index],
            expected,
            keep_source,
            cache is not None,
            keep_excerpts,
            reexports,
            assume,
        )

    # Pass 1, by stat alone: which files must be read (changed, new, or racy rows), and
    # which must be judged again because files they depend on changed (re-exports).
    fresh: list[tuple[int, os.stat_result]] = []
    task_index: list[int] = []
    expected: list[str | None] = []  # by task: the digest of the file's cached report
    infos: list[os.stat_result | None] = [None] * total
    rows: list[tuple[StatKey | None, str | None, str | None]] = []
    for index in range(total):
        recorded, key = stats.get((displays[index], settings[index]), (None, None))
        digest, deps = split_key(key) if key is not None else (None, None)
        rows.append((recorded, digest, deps))
        if recorded is not None:
            with suppress(OSError):
                infos[index] = os.stat(texts[index])
    reexports = _ScanReexports(paths, resolver, texts, infos, cache.path if cache is not None else None)
    for index, (recorded, digest, deps) in enumerate(rows):
        if deps is not None and not reexports.holds(texts[index], deps):
            task_index.append(index)  # judged under other re-exports: analyse again
            expected.append(None)
            continue
        st = infos[index]
        if recorded is not None and st is not None and stat_matches(recorded, st):
            fresh.append((index, st))
            continue
        task_index.append(index)
        expected.append(digest)
    task_configs = list({id(configs[i]): configs[i] for i in task_index}.values())
    # Two phases (``_ScanReexports.settle``): the workers judge as if nothing were
    # re-exported and send what their analyses saw of each file's imports; the scan
    # then checks the few judgements that asked, from those facts.
    assume = len(task_index) > 1 and _judges_reexports(task_configs)
    # The workers forked now judge from the scan's index (and those started afresh know
    # what it was).
    hint = reexports.pin() if task_index else None
    tasks = [task(i, digest, hint, assume) for i, digest in zip(task_index, expected, strict=True)]
    # Started before the rows are loaded, so the analysis overlaps loading and decoding
    # them (and the caller's use of the results).
    outcomes = ordered_map(
        _analyse_task,
        tasks,
        jobs,
        ruleset,
        background=bool(fresh),
        preload=lambda: ("ems.core.analyse", *fix_modules(task_configs, ruleset)),
    )
    renderer = view.key if view is not None else None
    entries = cache.load(displays, set(settings), renderer) if cache is not None else {}

    def viewed(result: FileResult, entry: Entry | None) -> tuple[FileResult, tuple[str, str] | None]:
        """``result`` with its view (``entry``'s if current), and the view to store, if new."""
        if view is None:
            return result, None
        if entry is not None and entry.view_key == view.key and entry.view is not None:
            object.__setattr__(result, "view", entry.view)
            return result, None
        text = view.render(result)
        object.__setattr__(result, "view", text)
        return result, (view.key, text)

    def finish(index: int, task: _Task, outcome: _Outcome) -> FileResult:
        """The result of an analysed (or read and found unchanged) file; updates the cache."""
        display = displays[index]
        reexports.adopt(outcome.learned)
        report = outcome.report
        excerpts = outcome.excerpts
        stored: tuple[str, str] | None
        entry = entries.get((display, settings[index]))
        if report is None:  # same content as the cached row
            try:
                if entry is None:  # the row failed its checksum
                    raise KeyError(display)
                report, excerpts = decode_entry(entry.payload, display)
            except (ValueError, TypeError, KeyError):  # unreadable row: analyse here
                fallback = _analyse_task(replace(task, expected=None, assume=False), ruleset)
                report = fallback.report or io_error_report(display, "cannot re-read")
                excerpts = fallback.excerpts
                result, stored = viewed(plain_result(task, report, outcome.source, excerpts), None)
                if cache is not None and fallback.digest is not None and _cacheable(report):
                    cache.put(
                        display,
                        settings[index],
                        fallback.stat,
                        fallback.digest,
                        report,
                        excerpts,
                        stored,
                        fallback.deps,
                    )
                return result
            if keep_excerpts and report.findings and excerpts is None:  # a row without them
                data = read_source(task.path) if outcome.source is None else outcome.source
                if isinstance(data, bytes):
                    from ems.core.source import excerpt_lines

                    excerpts = excerpt_lines(data, [f.range.start.line for f in report.findings])
            result, stored = viewed(plain_result(task, report, outcome.source, excerpts), entry)
            if cache is not None and (outcome.stat != entry.stat or stored is not None):
                cache.put_entry(display, settings[index], outcome.stat, entry, stored)
            return result
        result, stored = viewed(plain_result(task, report, outcome.source, excerpts), None)
        if cache is not None and outcome.digest is not None and _cacheable(report):
            cache.put(
                display, settings[index], outcome.stat, outcome.digest, report, excerpts, stored, outcome.deps
            )
        return result

    def plain_result(
        task: _Task, report: Report, source: bytes | None, excerpts: Mapping[int, str] | None
    ) -> FileResult:
        return FileResult(
            task.path, task.display, report, source, excerpts if keep_excerpts and report.findings else None
        )

    try:
        # Pass 2: the fresh rows' results, from their payloads (or their views). A row that
        # fails to parse is analysed afresh (after the others: it is rare).
        late: list[tuple[int, _Task]] = []
        for index, st in fresh:
            path = files[index]
            entry = entries.get((displays[index], settings[index]))
            if entry is None or not is_fresh(entry, st):  # a bad row, or rewritten meanwhile
                late.append((index, task(index, None)))
                continue
            pending = _PendingReport(entry.payload, path, displays[index], configs[index], ruleset)
            if view is not None and entry.view_key == view.key and entry.view is not None and not keep_source:
                yield (
                    index,
                    _cached_result(path, displays[index], pending, None, None, entry.view),
                    True,
                    total,
                )
                continue
            try:
                parsed = pending.parsed
            except (ValueError, TypeError, KeyError):
                late.append((index, task(index, None)))
                continue
            excerpts = parsed.excerpts
            has_findings = bool(parsed.rows)
            need_source = keep_source and has_findings
            need_lines = keep_excerpts and has_findings and excerpts is None
            source: bytes | None = None
            if need_source or need_lines:  # read here: no worker round trip
                data, st = _read(path)
                source = data if isinstance(data, bytes) and is_fresh(entry, st) else None
                if source is None:  # changed since pass 1
                    late.append((index, task(index, entry.digest)))
                    continue
            if need_lines and source is not None:  # a row without excerpts (rare)
                from ems.core.source import excerpt_lines

                report = pending.build()
                excerpts = excerpt_lines(source, [f.range.start.line for f in report.findings])
                result = FileResult(path, displays[index], report, source if need_source else None, excerpts)
            else:
                result = _cached_result(
                    path,
                    displays[index],
                    pending,
                    source if need_source else None,
                    excerpts if keep_excerpts and has_findings else None,
                )
            result, stored = viewed(result, entry)
            if cache is not None and stored is not None:
                cache.put_entry(displays[index], settings[index], entry.stat, entry, stored)
            yield index, result, True, total
        waiting: list[tuple[int, _Task, _Outcome]] = []
        for index, analysed, outcome in zip(task_index, tasks, outcomes, strict=True):
            if outcome.asked is not None:
                reexports.saw(analysed.path, outcome.facts)
                if _waits(analysed, outcome):  # its judgement needs the project's imports
                    waiting.append((index, analysed, outcome))
                    continue
            yield index, finish(index, analysed, outcome), outcome.report is None, total
        if waiting:
            for index, analysed, outcome in reexports.settle(waiting, jobs, ruleset):
                yield index, finish(index, analysed, outcome), False, total
        for index, late_task in late:
            yield index, finish(index, late_task, _analyse_task(late_task, ruleset)), False, total
    finally:
        outcomes.close()
        reexports.close()
        if cache is not None:
            cache.close()


def iter_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    for result in results:
        yield from result.report.findings
