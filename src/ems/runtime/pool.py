"""The one process-pool policy of ems: how many workers, which start method, in order.

Used by the project scan, the history's blob analysis and the fix-all of a project.
Thread-aware: ``fork`` only while this process has a single thread (forking with threads
running can deadlock the child: a lock held mid-fork), else ``forkserver``/``spawn``
(the language server and the dashboard run threads).
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ems.core.registry import RuleSet

if TYPE_CHECKING:
    import multiprocessing.context


log = logging.getLogger("ems.pool")

MIN_PARALLEL_FILES = 8  # fewer items than this are mapped in-process
# Without fork (a process with threads: the server, the dashboard, a long check once its
# monitor's sampler started), fewer items than this are mapped in-process too: starting a
# fork server and workers that import the rules costs more than analysing a few dozen files
# (the scan's second phase of 12 files under a monitor: +4-5 s wall at load 14, stop 18).
MIN_SPAWNED_ITEMS = 24
# A worker's young-generation threshold: AST trees make millions of short-lived objects
# and have no reference cycles, so collecting every few hundred allocations is waste.
WORKER_GC_THRESHOLD = 50_000


def default_jobs() -> int:
    """CPUs this process may run on (respects affinity masks and container limits)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


_WORKER_RULESET: RuleSet | None = None


class Mapped(Protocol):
    """What ``ordered_map`` returns: results in order; ``close`` stops what is left
    (a pool's workers, a background child), so callers close it when done."""

    def __iter__(self) -> Iterator[Any]: ...

    def __next__(self) -> Any: ...

    def close(self) -> None: ...


def worker_ruleset() -> RuleSet | None:
    """The rule set a worker was started with (None outside ``ordered_map``'s workers)."""
    return _WORKER_RULESET


def _init_worker(ruleset: RuleSet) -> None:
    """Worker set-up: the rule set, and a GC tuned for millions of short-lived AST nodes.

    ``gc.freeze`` moves everything inherited from the parent out of the collector's sight,
    and a higher threshold stops young collections from running every few hundred nodes;
    AST trees have no reference cycles, so reference counting still frees them at once.
    """
    global _WORKER_RULESET
    _WORKER_RULESET = ruleset
    gc.freeze()
    gc.set_threshold(WORKER_GC_THRESHOLD, 20, 20)


def start_context() -> multiprocessing.context.BaseContext:
    """``fork`` (fast, inherits imported rules) unless threads make forking unsafe."""
    import multiprocessing  # with its pool: ~0.1 s of imports, paid only for big scans

    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context(safe_start_method())


def safe_start_method() -> str:
    """A start method that never forks this process: safe whatever threads run (the guard's
    long-lived worker, and every pool of a process with threads)."""
    import multiprocessing

    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def _chunksize(count: int, jobs: int) -> int:
    # Several chunks per worker keeps the load balanced when file sizes vary; chunks of
    # a few files keep the per-task overhead (pickling, queue round trips) small.
    return max(1, min(16, count // (jobs * 6)))


def ordered_map(
    func: Callable[[Any], Any],
    items: Sequence[Any],
    jobs: int | None,
    ruleset: RuleSet,
    *,
    background: bool = False,
    preload: Callable[[], Sequence[str]] | None = None,
) -> Mapped:
    """``map(func, items)`` in worker processes, in order, streaming; in-process when small.

    ``background``: the caller has other work to do meanwhile, so a few items (too few
    for a pool) go to one forked child (``_Background``) instead of running in-process.
    ``preload``: the modules the workers will import (libcst for judging fixes), asked
    only when a pool starts and imported once before it, so that its workers share that
    import instead of each paying it.
    """
    wanted = jobs or default_jobs()
    jobs = min(wanted, len(items))
    if jobs > 1 and len(items) >= MIN_PARALLEL_FILES:
        if can_fork():
            from ems.runtime.forked import ForkedMap  # (pickle and all: a warm run needs none)

            # Imported once, here, for this process's own share of the work and inherited by
            # the children: the rules (lazily loaded until now) and what ``preload`` names.
            # Each child importing them afresh repeated ~0.13 G instructions of imports.
            ruleset.rules  # noqa: B018 - a RegistryError reaches the caller either way
            for name in preload() if preload is not None else ():
                importlib.import_module(name)
            try:
                return ForkedMap(func, items, jobs, _entering(ruleset))
            except OSError as exc:  # no process to be had (limits, memory): do it here
                log.info("cannot start worker processes (%s); analysing here", exc)
                return _in_process_map(func, items, ruleset)
        if len(items) >= MIN_SPAWNED_ITEMS:
            return _pool_map(func, items, jobs, ruleset, preload() if preload is not None else ())
    if background and items and wanted > 1 and can_fork():
        try:
            return _Background(func, items, ruleset)
        except OSError as exc:  # no process to be had (limits, memory): do it here
            log.info("cannot start a background analysis (%s); analysing here", exc)
    return _in_process_map(func, items, ruleset)


def _entering(ruleset: RuleSet) -> Callable[[], Callable[[], None]]:
    """What ``ForkedMap`` does around a stretch of work (in a child: for good): the
    workers' rule set and GC setting, undone by the function it returns."""

    def enter() -> Callable[[], None]:
        global _WORKER_RULESET
        previous, _WORKER_RULESET = _WORKER_RULESET, ruleset
        thresholds = gc.get_threshold()
        gc.set_threshold(max(thresholds[0], WORKER_GC_THRESHOLD), *thresholds[1:])

        def leave() -> None:
            global _WORKER_RULESET
            _WORKER_RULESET = previous
            gc.set_threshold(*thresholds)

        return leave

    return enter


def _in_process_map(
    func: Callable[[Any], Any], items: Sequence[Any], ruleset: RuleSet
) -> Generator[Any, None, None]:
    global _WORKER_RULESET
    previous, _WORKER_RULESET = _WORKER_RULESET, ruleset
    thresholds = gc.get_threshold()
    if len(items) >= MIN_PARALLEL_FILES:  # a long in-process run: the workers' GC setting
        gc.set_threshold(max(thresholds[0], WORKER_GC_THRESHOLD), *thresholds[1:])
    try:
        for item in items:
            yield func(item)
    finally:
        _WORKER_RULESET = previous
        gc.set_threshold(*thresholds)


def _pool_map(
    func: Callable[[Any], Any], items: Sequence[Any], jobs: int, ruleset: RuleSet, preload: Sequence[str] = ()
) -> Generator[Any, None, None]:
    context = start_context()
    _preload(context, preload)
    pool = context.Pool(jobs, initializer=_init_worker, initargs=(ruleset,))
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


def _preload(context: multiprocessing.context.BaseContext, modules: Sequence[str]) -> None:
    """Import ``modules`` where the workers will inherit them: here before forking, or in
    the fork server (which forks every worker). ``spawn`` starts each worker from nothing:
    there they import what they need themselves."""
    if not modules:
        return
    method = context.get_start_method()
    if method == "fork":
        for name in modules:
            importlib.import_module(name)
    elif method == "forkserver":
        context.set_forkserver_preload(list(modules))


def can_fork() -> bool:
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

    def __init__(self, func: Callable[[Any], Any], items: Sequence[Any], ruleset: RuleSet) -> None:
        self._func, self._items, self._ruleset = func, list(items), ruleset
        self._results: Iterator[Any] | None = None
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

    def _collect(self) -> list[Any]:
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
