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

import contextlib
import fnmatch
import functools
import gc
import logging
import os
import re
import signal
import stat
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ems.core.config import CONFIG_FILES, Config, ConfigResolver
from ems.core.model import Finding, Range, Report, Severity
from ems.core.registry import RuleSet, lazy_rules, load_rules

if TYPE_CHECKING:
    import multiprocessing.context

    import pathspec

    from ems.fixes.engine import FixAllResult
    from ems.runtime.events import EventBus
    from ems.store.cache import Entry, Parsed

log = logging.getLogger("ems.project")

PYTHON_SUFFIXES = (".py", ".pyi")
IO_ERROR_CODE = "E902"
MAX_FILE_BYTES = 50 * 1024 * 1024
MIN_PARALLEL_FILES = 8  # fewer files than this are analysed in-process


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

    A warm text report needs only what the rows hold (``cached_rows``), and building
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


def cached_rows(result: FileResult) -> list[list[Any]] | None:
    """The cached finding rows of ``result`` if its report was not built yet, else None.

    Layout: ``ems.store.cache.Parsed``. For renderers that can work from them (text
    output); anything else should use ``result.report``.
    """
    if "report" in result.__dict__:
        return None
    pending = result.__dict__.get("_pending")
    if pending is None:
        return None
    try:
        return pending.parsed.rows
    except (ValueError, TypeError, KeyError):  # malformed: the report is analysed afresh
        return None


def display_path(path: Path, base: Path | None = None) -> str:
    base = base or Path.cwd()
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link or a loop: show the link itself
        resolved = Path(os.path.abspath(path))
    try:
        return resolved.relative_to(base.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def _gitignore_spec(directory: Path) -> pathspec.PathSpec | None:
    ignore_file = directory / ".gitignore"
    try:
        lines = ignore_file.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    import pathspec  # ~60 ms of start-up, paid only where a .gitignore exists

    return pathspec.PathSpec.from_lines("gitwildmatch", lines)


def discover(
    paths: Sequence[Path], resolver: ConfigResolver, info: _PathInfo | None = None
) -> Iterator[Path]:
    """Python files under ``paths``, sorted per folder, without duplicates.

    ``info``: learns each folder's config and which files are symlinks on the way, so a
    scan does not resolve them a second time.
    """
    seen: set[str] = set()
    for root in paths:
        if not root.is_dir():
            key = os.path.abspath(root)
            if key not in seen:
                seen.add(key)
                yield root  # named explicitly: always analysed (errors reported later)
            continue
        yield from _walk(root, resolver, seen, info)


class _Excluder:
    """``Config.is_excluded`` for the entries of one folder, without per-entry ``Path`` work.

    Discovery calls it for every entry of every folder, and the generic version (a
    ``Path`` and ~50 ``fnmatch`` calls per entry) cost more than a warm cached run's
    whole budget. Same answers: a pattern may match any part of the folder's path
    (checked once per folder), the entry's name, or the whole relative path or it plus
    ``/*``. Literal patterns (all the defaults) are set lookups; patterns with ``*?[``
    are compiled into regular expressions (compiling the defaults cost more than the
    rest of discovery). Patterns with a ``/`` inside, or empty ones, use
    ``Config.is_excluded`` itself.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        patterns = config.exclude + config.extend_exclude
        stripped = [p.rstrip("/") for p in patterns]
        self.generic = any("/" in p or p in ("", ".") for p in stripped)
        self.root = config.root.as_posix()
        if not self.generic:
            literal = [p for p in patterns if not _GLOB_CHARS.intersection(p)]
            globs = tuple(p for p in patterns if _GLOB_CHARS.intersection(p))
            bare = [p.rstrip("/") for p in literal]
            self.part_names = frozenset(literal)  # a path part never holds a "/"
            self.last_names = frozenset((*literal, *bare))
            self.whole_names = frozenset(bare)  # the path itself, or a folder at its start
            self.part = _union(globs) if globs else None
            self.last = _union((*globs, *(p.rstrip("/") for p in globs))) if globs else None
            self.whole = (
                _union((*(p.rstrip("/") for p in globs), *(p.rstrip("/") + "/*" for p in globs)))
                if globs
                else None
            )

    def folder(self, directory: Path) -> tuple[str, bool]:
        """(the folder's path relative to the root, whether one of its parts is excluded)."""
        absolute = (directory if directory.is_absolute() else Path.cwd() / directory).as_posix()
        if absolute == self.root:
            return "", False
        prefix = self.root.rstrip("/") + "/"
        rel = absolute[len(prefix) :] if absolute.startswith(prefix) else absolute
        if self.generic:
            return rel, False
        parts = PurePosixPath(rel).parts
        hit = not self.part_names.isdisjoint(parts) or (
            self.part is not None and any(self.part.match(part) for part in parts)
        )
        return rel, hit

    def excluded(self, folder: tuple[str, bool], name: str, path: Path) -> bool:
        if self.generic:
            return self.config.is_excluded(path if path.is_absolute() else Path.cwd() / path)
        rel_dir, dir_hit = folder
        if dir_hit or name in self.last_names or (self.last is not None and self.last.match(name)):
            return True
        rel = f"{rel_dir}/{name}" if rel_dir else name
        head, slash, _ = rel.partition("/")
        if rel in self.whole_names or (slash and head in self.whole_names):
            return True
        return self.whole is not None and self.whole.match(rel) is not None


_GLOB_CHARS = frozenset("*?[")


@functools.lru_cache(maxsize=64)
def _union(patterns: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fnmatch.translate(p)})" for p in patterns) or "(?!)")


def _ancestor_gitignores(root: Path) -> list[tuple[Path, pathspec.PathSpec]]:
    """The .gitignore files above ``root`` up to its repository's top, which git applies to
    ``root`` too (``ems check sub/`` must skip what the top-level .gitignore ignores).
    Outside a git repository there are none."""
    start = Path(os.path.abspath(root))
    chain: list[Path] = []
    for folder in start.parents:
        chain.append(folder)
        if (folder / ".git").exists():
            break
    else:
        return []
    specs = []
    for folder in reversed(chain):
        spec = _gitignore_spec(folder)
        if spec is not None:
            specs.append((folder, spec))
    return specs


def _walk(root: Path, resolver: ConfigResolver, seen: set[str], info: _PathInfo | None) -> Iterator[Path]:
    specs: list[tuple[Path, pathspec.PathSpec]] = []
    if resolver.for_folder(root).respect_gitignore:
        specs.extend(_ancestor_gitignores(root))
    visited_dirs: set[tuple[int, int]] = set()
    excluders: dict[Config, _Excluder] = {}  # by value: the resolver may build equal copies
    # A plain ConfigResolver gives a folder without a config file of its own (and not a
    # symlink) its parent's config: asking it again resolves the whole path per folder.
    inherit = type(resolver) is ConfigResolver
    inherited: dict[str, Config] = {}  # folder -> config, for subfolders that inherit it
    stack = [root]
    while stack:
        directory = stack.pop()
        where = str(directory)
        try:
            st = os.stat(where)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in visited_dirs:
            continue  # symlink loop
        visited_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(where), key=lambda e: e.name)
        except OSError:
            entries = None
        names = {e.name for e in entries} if entries is not None else None
        config = inherited.pop(where, None)
        if config is None or names is None or not names.isdisjoint(CONFIG_FILES):
            config = resolver.for_folder(directory)
        if info is not None:
            info.learn_folder(where, config)
        excluder = excluders.get(config)
        if excluder is None:
            excluder = excluders[config] = _Excluder(config)
        folder = excluder.folder(directory)
        if config.respect_gitignore and (names is None or ".gitignore" in names):
            spec = _gitignore_spec(directory)
            if spec is not None:
                specs.append((directory, spec))
        if entries is None:
            continue
        subdirs = []
        check_ignored = config.respect_gitignore and bool(specs)
        absolute = os.path.join(os.path.abspath(where), "")  # abspath per folder, not per file
        for entry in entries:
            name = entry.name
            try:
                is_dir = entry.is_dir()
            except OSError:  # a symlink loop: not a folder; a .py name gets its E902 later
                is_dir = False
            if not is_dir and not name.endswith(PYTHON_SUFFIXES):
                continue  # neither a folder nor a Python file: exclusion cannot matter
            path = _child(directory, name) if _child is not None else Path(entry.path)
            if excluder.excluded(folder, name, path) or (
                check_ignored and _ignored(path, is_dir, specs, config)
            ):
                continue
            if is_dir:
                subdirs.append(path)
                if inherit and not _is_link(entry):
                    inherited[str(path)] = config
            else:
                key = absolute + name
                if key not in seen:
                    seen.add(key)
                    if info is not None:
                        info.learn_file(str(path), _is_link(entry))
                    yield path
        stack.extend(reversed(subdirs))


def _child_without_parsing() -> Callable[[Path, str], Path] | None:
    """``Path._make_child_relpath`` (3.11, 3.12), if it gives what ``Path(folder/name)`` does.

    ``Path(entry.path)`` parses the whole path again for each of the ~2,000 files of a
    scan, a tenth of discovery; the private helper appends the name to the parsed parts.
    Checked once here; without it (other versions) discovery uses ``Path``.
    """
    child = getattr(Path, "_make_child_relpath", None)
    if child is None:
        return None
    try:
        cases = (
            (Path("."), "a.py", "a.py"),
            (Path("src/pkg"), "m.py", "src/pkg/m.py"),
            (Path("/r"), "x", "/r/x"),
        )
        if all(
            child(folder, name) == Path(want) and str(child(folder, name)) == want
            for folder, name, want in cases
        ):
            return child  # type: ignore[no-any-return]
    except Exception:  # a changed private API: use the public one
        return None
    return None


_child = _child_without_parsing() if os.sep == "/" else None


def _is_link(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_symlink()
    except OSError:
        return True  # unknown: the slow, careful path


def _ignored(path: Path, is_dir: bool, specs: list[tuple[Path, pathspec.PathSpec]], config: Config) -> bool:
    if not config.respect_gitignore:
        return False
    absolute: Path | None = None
    for base, spec in specs:
        try:
            rel = path.relative_to(base).as_posix()
        except ValueError:
            if absolute is None:
                absolute = Path(os.path.abspath(path))
            try:  # ancestor .gitignore files are keyed by absolute folders
                rel = absolute.relative_to(base).as_posix()
            except ValueError:
                continue
        if spec.match_file(rel + "/" if is_dir else rel):
            return True
    return False


def _read(path: Path | str) -> tuple[bytes | str, os.stat_result | None]:
    """The file's bytes and the stat of the opened file, or an error message.

    The stat is taken from the open descriptor *before* reading, so a cache row never
    pairs a newer stat with older content. Never blocks on a FIFO or device.
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}", None
    if stat.S_ISDIR(info.st_mode):
        return f"{path} is a directory, not a Python file", None
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file (FIFO, socket or device); skipped", None
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}", None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):  # swapped for a FIFO since the first stat
            return f"{path} is not a regular file (FIFO, socket or device); skipped", None
        if info.st_size > MAX_FILE_BYTES:
            return f"{path} is {info.st_size} bytes, over the {MAX_FILE_BYTES}-byte limit; skipped", None
        chunks = []
        while chunk := os.read(fd, max(info.st_size + 1, 65536)):
            chunks.append(chunk)
        return b"".join(chunks), info
    except OSError as exc:
        return f"cannot read {path}: {exc.strerror or exc}", None
    finally:
        os.close(fd)


def read_source(path: Path) -> bytes | str:
    """The file's bytes, or an error message; never blocks on a FIFO or device."""
    return _read(path)[0]


def io_error_report(display: str, message: str) -> Report:
    finding = Finding(
        code=IO_ERROR_CODE,
        name="io-error",
        severity=Severity.ERROR,
        range=Range.of(1, 0, 1, 0),
        message=message,
        path=display,
    )
    return Report(display, (finding,), syntax_error=True)


def analyse_path(
    path: Path, config: Config, ruleset: RuleSet, display: str, keep_source: bool = False
) -> FileResult:
    data = read_source(path)
    if isinstance(data, str):
        return FileResult(path, display, io_error_report(display, data))
    from ems.core.analyse import analyse

    report = analyse(data, display, config, ruleset)
    return FileResult(path, display, report, data if keep_source else None)


# --- parallel execution -------------------------------------------------------------------


def default_jobs() -> int:
    """CPUs this process may run on (respects affinity masks and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_WORKER_RULESET: RuleSet | None = None


def _init_worker(ruleset: RuleSet) -> None:
    """Worker set-up: the rule set, and a GC tuned for millions of short-lived AST nodes.

    ``gc.freeze`` moves everything inherited from the parent out of the collector's sight,
    and a higher threshold stops young collections from running every few hundred nodes;
    AST trees have no reference cycles, so reference counting still frees them at once.
    """
    global _WORKER_RULESET
    _WORKER_RULESET = ruleset
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)


def _context() -> multiprocessing.context.BaseContext:
    """``fork`` (fast, inherits imported rules) unless threads make forking unsafe."""
    import multiprocessing  # with its pool: ~0.1 s of imports, paid only for big scans

    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("forkserver" if "forkserver" in methods else "spawn")


def _chunksize(count: int, jobs: int) -> int:
    # Several chunks per worker keeps the load balanced when file sizes vary; chunks of
    # a few files keep the per-task overhead (pickling, queue round trips) small.
    return max(1, min(16, count // (jobs * 6)))


def _ordered_map(
    func: Callable,
    items: Sequence,
    jobs: int | None,
    ruleset: RuleSet,  # type: ignore[type-arg]
    *,
    background: bool = False,
) -> Iterator:  # type: ignore[type-arg]
    """``map(func, items)`` in worker processes, in order, streaming; in-process when small.

    ``background``: the caller has other work to do meanwhile, so a few items (too few
    for a pool) go to one forked child (``_Background``) instead of running in-process.
    """
    wanted = jobs or default_jobs()
    jobs = min(wanted, len(items))
    if jobs > 1 and len(items) >= MIN_PARALLEL_FILES:
        return _pool_map(func, items, jobs, ruleset)
    if background and items and wanted > 1 and _can_fork():
        try:
            return _Background(func, items, ruleset)
        except OSError as exc:  # no process to be had (limits, memory): do it here
            log.info("cannot start a background analysis (%s); analysing here", exc)
    return _in_process_map(func, items, ruleset)


def _in_process_map(func: Callable, items: Sequence, ruleset: RuleSet) -> Iterator:  # type: ignore[type-arg]
    global _WORKER_RULESET
    previous, _WORKER_RULESET = _WORKER_RULESET, ruleset
    thresholds = gc.get_threshold()
    if len(items) >= MIN_PARALLEL_FILES:  # a long in-process run: the workers' GC setting
        gc.set_threshold(max(thresholds[0], 50_000), *thresholds[1:])
    try:
        for item in items:
            yield func(item)
    finally:
        _WORKER_RULESET = previous
        gc.set_threshold(*thresholds)


def _pool_map(func: Callable, items: Sequence, jobs: int, ruleset: RuleSet) -> Iterator:  # type: ignore[type-arg]
    pool = _context().Pool(jobs, initializer=_init_worker, initargs=(ruleset,))
    finished = False
    try:
        yield from pool.imap(func, items, chunksize=_chunksize(len(items), jobs))
        finished = True
    finally:
        if finished:
            pool.close()
        else:
            pool.terminate()
        pool.join()


def _can_fork() -> bool:
    """Forking a process with threads can deadlock the child (a lock held mid-fork)."""
    return hasattr(os, "fork") and threading.active_count() == 1


class _Background:
    """``map(func, items)`` computed by one forked child from the moment it is created.

    For a handful of items a pool costs more than it saves (~0.1 s of imports and start-up);
    a bare ``fork`` inherits everything imported so far and costs a millisecond or two. The
    results come back pickled through a pipe. If the child fails in any way (killed, an
    exception, a short or unreadable reply) the items are computed here instead: never a
    wrong or missing result, only a slower one. Raises OSError if no process can be made.
    """

    def __init__(self, func: Callable, items: Sequence, ruleset: RuleSet) -> None:  # type: ignore[type-arg]
        self._func, self._items, self._ruleset = func, list(items), ruleset
        self._results: Iterator | None = None  # type: ignore[type-arg]
        for stream in (sys.stdout, sys.stderr):  # the child must not repeat buffered output
            with contextlib.suppress(Exception):
                stream.flush()
        read_end, write_end = os.pipe()
        try:
            self._pid: int | None = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if self._pid == 0:  # the child: never returns
            os.close(read_end)
            self._serve(write_end)
        os.close(write_end)
        self._reply = os.fdopen(read_end, "rb")

    def _serve(self, write_end: int) -> None:
        import pickle

        status = 1
        try:
            _init_worker(self._ruleset)
            results = [self._func(item) for item in self._items]
            with os.fdopen(write_end, "wb") as pipe:
                pickle.dump(results, pipe, protocol=pickle.HIGHEST_PROTOCOL)
            status = 0
        finally:
            os._exit(status)  # no atexit handlers, no flushing of the parent's buffers

    def _collect(self) -> list:  # type: ignore[type-arg]
        import pickle

        results = None
        try:
            with self._reply:
                data = self._reply.read()
            status = self._wait()
            if status == 0:
                results = pickle.loads(data)
        except Exception as exc:  # a broken reply, whatever its shape: analyse here instead
            log.info("background analysis failed (%s); analysing here", exc)
        if type(results) is not list or len(results) != len(self._items):
            log.info("background analysis gave no usable reply; analysing here")
            return list(_in_process_map(self._func, self._items, self._ruleset))
        return results

    def _wait(self) -> int:
        pid, self._pid = self._pid, None
        if pid is None:
            return 1
        _, status = os.waitpid(pid, 0)
        return os.waitstatus_to_exitcode(status)

    def __iter__(self) -> _Background:
        return self

    def __next__(self) -> object:
        if self._results is None:
            self._results = iter(self._collect())
        return next(self._results)

    def close(self) -> None:
        """Stop the child if its results are no longer wanted; always reap it."""
        if self._pid is not None:
            with contextlib.suppress(OSError):
                os.kill(self._pid, signal.SIGKILL)
            with contextlib.suppress(OSError):
                self._wait()
        if not self._reply.closed:
            self._reply.close()


@dataclass(frozen=True)
class _Task:
    path: Path
    display: str
    config: Config
    expected: str | None  # content digest of the cached report, if any
    keep_source: bool
    want_digest: bool
    keep_excerpts: bool = False


@dataclass(frozen=True)
class _Outcome:
    report: Report | None  # None: content equals the cached report's (``expected``)
    stat: tuple[int, int, int, int] | None  # trusted stat of what was read, for the cache
    digest: str | None  # None: not cacheable (I/O error)
    source: bytes | None
    # The findings' source lines: for the cache (want_digest) and for keep_excerpts.
    excerpts: dict[int, str] | None = None


def _analyse_task(task: _Task, ruleset: RuleSet | None = None) -> _Outcome:
    from ems.core.source import excerpt_lines
    from ems.store.cache import content_digest, trusted_stat

    data, info = _read(task.path)
    if isinstance(data, str):
        return _Outcome(io_error_report(task.display, data), None, None, None)
    digest = content_digest(data) if task.want_digest else None
    stat_key = trusted_stat(info) if info is not None and task.want_digest else None
    if digest is not None and digest == task.expected:
        # The cached row's excerpts are as good (same bytes); the caller has them.
        return _Outcome(None, stat_key, digest, data if task.keep_source else None)
    from ems.core.analyse import analyse  # not at the top: a warm run may analyse nothing

    ruleset = ruleset or _WORKER_RULESET or load_rules()
    report = analyse(data, task.display, task.config, ruleset)
    excerpts = None
    if report.findings and (task.want_digest or task.keep_excerpts):
        # Split here, in the worker: the cache row keeps them for every later text report.
        excerpts = excerpt_lines(data, [f.range.start.line for f in report.findings])
    # Sources go back through a pipe: only those the caller can use (files with findings).
    source = data if task.keep_source and report.findings else None
    return _Outcome(report, stat_key, digest, source, excerpts)


class _PathInfo:
    """Per-run memo of display paths and configs: both depend mostly on the folder.

    Discovery tells it (``learn_*``) each folder's config and which files are symlinks,
    so a warm run neither resolves a folder twice nor ``lstat``s every file again.
    """

    def __init__(self, resolver: ConfigResolver) -> None:
        self.resolver = resolver
        self.cwd = Path.cwd().resolve()
        cwd = str(self.cwd)
        self._cwd_prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
        self._prefixes: dict[str, str | None] = {}  # folder as given -> display prefix
        self._configs: dict[str, Config] = {}
        self._links: dict[str, bool] = {}

    def learn_folder(self, folder: str, config: Config) -> None:
        self._configs.setdefault(folder, config)

    def learn_file(self, path: str, is_link: bool) -> None:
        self._links[path] = is_link

    def _is_link(self, path: str) -> bool:
        known = self._links.get(path)
        return os.path.islink(path) if known is None else known

    def display(self, path: Path, text: str | None = None) -> str:
        """What users see for ``path``; ``text``: ``str(path)``, if the caller has it."""
        text = str(path) if text is None else text
        if self._is_link(text):
            return display_path(path, self.cwd)
        if os.sep != "/":  # the string shortcut below assumes POSIX paths
            try:
                return (path.parent.resolve() / path.name).relative_to(self.cwd).as_posix()
            except ValueError:
                return path.as_posix()
        head, name = os.path.split(text)
        prefix = self._prefixes.get(head, "")
        if prefix == "":
            # The folder resolved, relative to the cwd: what Path.relative_to gives, in strings.
            resolved = os.path.realpath(head or os.curdir)
            if resolved == str(self.cwd):
                prefix = "."
            elif resolved.startswith(self._cwd_prefix):
                prefix = resolved[len(self._cwd_prefix) :] + "/"
            else:
                prefix = None
            self._prefixes[head] = prefix
        if prefix is None:
            return path.as_posix()
        return name if prefix == "." else prefix + name

    def config(self, path: Path, text: str | None = None) -> Config:
        text = str(path) if text is None else text
        if self.resolver.explicit is None and self._is_link(text):
            return self.resolver.for_path(path)
        parent = os.path.dirname(text) or os.curdir  # the keys of learn_folder: str(folder)
        config = self._configs.get(parent)
        if config is None:
            config = self._configs[parent] = self.resolver.for_path(path)
        return config


# ems.runtime.guard's TIMEOUT_CODE and CRASH_CODE (not imported: guard pulls in multiprocessing).
_TRANSIENT_CODES = frozenset({"EMS902", "EMS903"})


def _cacheable(report: Report) -> bool:
    """A time-out or crashed analysis may succeed next time: never remember it."""
    return not any(f.code in _TRANSIENT_CODES for f in report.findings)


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
    read and update ``.ems/cache`` under the project root. ``keep_source``: attach the
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
    """A caller's rendering of one file's result, kept in the file's cache row.

    ``ems check`` keeps its text output here: a warm run then prints cached files without
    decoding their findings at all. ``key`` must change whenever ``render`` would render
    the same result differently (its code, its options); a row's view is used only under
    the same key, and rendered (and stored) again otherwise.
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
) -> Iterator[tuple[int, FileResult, int]]:
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
    scanned: Iterator[tuple[int, FileResult, bool, int]], bus: EventBus
) -> Iterator[tuple[int, FileResult, int]]:
    from ems.runtime.events import FileAnalysed

    try:
        for index, result, cached, total in scanned:
            bus.publish(FileAnalysed(result.display, cached, result))
            yield index, result, total
    finally:
        scanned.close()


def _plain(scanned: Iterator[tuple[int, FileResult, bool, int]]) -> Iterator[tuple[int, FileResult, int]]:
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
) -> Iterator[tuple[int, FileResult, bool, int]]:
    """``scan_as_ready``, each result with whether it came from the cache."""
    from ems.runtime.root import scan_root
    from ems.store.cache import ResultCache, decode_entry, is_fresh, settings_key, stat_matches

    # Rules are imported on first use: only if a file needs analysing (then by whichever
    # process analyses it; a RegistryError reaches the caller either way).
    ruleset = ruleset or lazy_rules()
    info = _PathInfo(resolver)
    files = list(discover(paths, resolver, info))
    total = len(files)
    texts = [str(path) for path in files]
    displays = [info.display(path, text) for path, text in zip(files, texts, strict=True)]
    configs = [info.config(path, text) for path, text in zip(files, texts, strict=True)]
    keys: dict[int, str] = {}
    settings = [keys.get(id(c)) or keys.setdefault(id(c), settings_key(c, ruleset)) for c in configs]

    cache = ResultCache(scan_root(paths)) if use_cache and files else None
    stats = cache.load_stats(displays, set(settings)) if cache is not None else {}

    def task(index: int, expected: str | None) -> _Task:
        return _Task(
            files[index],
            displays[index],
            configs[index],
            expected,
            keep_source,
            cache is not None,
            keep_excerpts,
        )

    # Pass 1, by stat alone: which files must be read (changed, new, or racy rows).
    fresh: list[tuple[int, os.stat_result]] = []
    tasks: list[_Task] = []
    task_index: list[int] = []
    for index in range(total):
        recorded, digest = stats.get((displays[index], settings[index]), (None, None))
        if recorded is not None:
            try:
                st: os.stat_result | None = os.stat(texts[index])
            except OSError:
                st = None
            if st is not None and stat_matches(recorded, st):
                fresh.append((index, st))
                continue
        task_index.append(index)
        tasks.append(task(index, digest))
    # Started before the rows are loaded, so the analysis overlaps loading and decoding
    # them (and the caller's use of the results).
    outcomes = _ordered_map(_analyse_task, tasks, jobs, ruleset, background=bool(fresh))
    entries = cache.load(displays, set(settings)) if cache is not None else {}

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
                fallback = _analyse_task(replace(task, expected=None), ruleset)
                report = fallback.report or io_error_report(display, "cannot re-read")
                excerpts = fallback.excerpts
                result, stored = viewed(plain_result(task, report, outcome.source, excerpts), None)
                if cache is not None and fallback.digest is not None and _cacheable(report):
                    cache.put(
                        display, settings[index], fallback.stat, fallback.digest, report, excerpts, stored
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
            cache.put(display, settings[index], outcome.stat, outcome.digest, report, excerpts, stored)
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
        for index, analysed, outcome in zip(task_index, tasks, outcomes, strict=True):
            yield index, finish(index, analysed, outcome), outcome.report is None, total
        for index, late_task in late:
            yield index, finish(index, late_task, _analyse_task(late_task, ruleset)), False, total
    finally:
        outcomes.close()
        if cache is not None:
            cache.close()


# --- parallel fixing ----------------------------------------------------------------------


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

    data = read_source(task.path)
    if isinstance(data, str):
        return FileFix(task.path, task.display, task.report, error=data)
    try:
        decoded = decode_source(data)
    except UndecodableSource as exc:
        return FileFix(task.path, task.display, task.report, data, error=f"{task.display}: not fixed: {exc}")
    ruleset = _WORKER_RULESET or load_rules()
    result = fix_all(
        decoded.text, task.display, task.config, unsafe=task.unsafe, codes=task.codes, ruleset=ruleset
    )
    if not result.changed:
        return FileFix(task.path, task.display, task.report, data, None, result)
    try:
        new = encode_source(result.text, decoded.encoding, decoded.bom)
    except UnicodeEncodeError:
        error = f"{task.display}: fixed text cannot be encoded as {decoded.encoding}; not written"
        return FileFix(task.path, task.display, task.report, data, None, result, error)
    return FileFix(task.path, task.display, task.report, data, new, result)


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
    info = _PathInfo(resolver)
    tasks = [
        _FixTask(r.path, r.display, info.config(r.path), r.report, unsafe, only)
        for r in scanned
        if any(f.fixable and (only is None or f.code in only) for f in r.report.findings)
    ]
    fixed = _ordered_map(_fix_task, tasks, jobs, ruleset)
    try:
        next_task = 0
        total = len(scanned)
        for done, result in enumerate(scanned, 1):
            if next_task < len(tasks) and tasks[next_task].path is result.path:
                next_task += 1
                yield next(fixed)
            else:
                yield FileFix(result.path, result.display, result.report)
            if progress:
                progress(done, total)
    finally:
        fixed.close()


def iter_findings(results: Iterable[FileResult]) -> Iterator[Finding]:
    for result in results:
        yield from result.report.findings
