"""Analysis under a time budget, in a worker process that can be replaced.

``analyse`` already contains a rule that *raises* (EMS901). What it cannot contain in
its own process is a rule (or a C extension) that *hangs*, overflows the C stack or
segfaults: those would freeze or kill the language server. ``GuardedAnalyser`` runs
``ems.core.analyse.analyse`` in a child process and waits at most ``timeout`` seconds:

* a hang: the worker is killed, a new one started, and the call returns a Report with
  one EMS902 finding ("analysis timed out");
* a crash (segfault, stack overflow, OOM kill, someone's ``kill -9``): the call returns
  a Report with one EMS903 finding ("analysis worker crashed") and a new worker starts;
* every such event is counted in the ``EventCounter`` passed in (see ``ems.runtime.monitor``).

``call(func, *args)`` runs any picklable top-level function the same way (the language
server verifies and computes fixes with it: libcst that hangs or crashes costs one code
action, not the server); a hang, crash or exception there raises ``GuardFailure``.

``analyse`` never raises for these faults. Only one analysis runs in a worker at a time; a
face that wants parallel analysis creates several ``GuardedAnalyser`` objects.

The default start method is ``forkserver`` on POSIX (a replacement worker is forked
from a server process that already imported ems: ~10 ms instead of ~300 ms for
``spawn``); ``spawn`` elsewhere. ``fork`` is not offered: forking a threaded server
(pygls, watchdog threads) can deadlock the child.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import logging
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from ems.core.config import Config
from ems.core.fingerprint import fingerprints
from ems.core.model import Report
from ems.core.registry import RuleSet, load_rules
from ems.core.rule import Rule
from ems.rules.ems902_analysis_timeout import AnalysisTimeout
from ems.rules.ems903_analysis_crash import AnalysisCrash
from ems.runtime.logsetup import LogSettings, configure_worker_logging, current_settings
from ems.runtime.monitor import CRASH_LOOP, RULE_ERROR, TIMEOUT, WORKER_CRASH, WORKER_RESTART, EventCounter
from ems.runtime.pool import safe_start_method
from ems.runtime.recovery import RestartPolicy

log = logging.getLogger("ems.guard")

DEFAULT_TIMEOUT = 20.0  # seconds per document: far above a typical file, below a pathological one
ANALYSIS_WORKER = "analysis worker"
STARTUP_TIMEOUT = 60.0  # importing ems + libraries in a fresh interpreter on a slow disk


def _start_method(requested: str | None) -> str:
    methods = multiprocessing.get_all_start_methods()
    if requested is not None:
        if requested not in ("spawn", "forkserver") or requested not in methods:
            raise ValueError(f"start method must be 'spawn' or 'forkserver' (available: {methods})")
        return requested
    return safe_start_method()


def is_guard_failure(report: Report) -> bool:
    """True for an EMS902/EMS903 report: a face must not cache it as the file's result
    (the next try may well succeed, e.g. once the machine is less loaded)."""
    return any(f.code in (AnalysisTimeout.code, AnalysisCrash.code) for f in report.findings)


def _preload_modules() -> list[str]:
    """What the forkserver imports once, so a replacement worker starts warm."""
    import pkgutil

    import ems.rules

    rules = [f"ems.rules.{info.name}" for info in pkgutil.iter_modules(ems.rules.__path__)]
    return ["ems.core.analyse", "ems.core.incremental", "ems.core.registry", "ems.core.scope", *rules]


_FULL_COLLECTION_EVERY = 25  # requests between idle-time full garbage collections
_QUIET_BEFORE_FULL_S = 0.5  # how long no request may arrive before a full collection starts


def collect_when_idle(poll: Callable[[float], bool], served: int, last_full: int) -> int:
    """Collect garbage between requests; returns the request count at the last full collection.

    The young generations after every request. A full collection (over 100 ms with
    tkinter's trees alive, performance.md) only once ``_FULL_COLLECTION_EVERY`` requests
    have passed *and* none arrived for ``_QUIET_BEFORE_FULL_S``: started right after a
    reply, it made the next keystroke wait for it (a pause in typing is when it costs nothing).
    """
    if poll(0):
        return last_full
    gc.collect(1)
    if served - last_full < _FULL_COLLECTION_EVERY or poll(_QUIET_BEFORE_FULL_S):
        return last_full
    gc.collect(2)
    return served


def _worker(conn: Connection, log_settings: LogSettings | None = None) -> None:
    """Child process: answer analysis requests until the pipe closes or ``None`` arrives."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's business
    # The language server speaks JSON-RPC on stdout, which this process inherited: a rule
    # that prints must not corrupt it. Send fd 1 (Python and C writers alike) to stderr.
    with contextlib.suppress(OSError, ValueError):
        sys.stdout.flush()
        os.dup2(2, 1)
    sys.stdout = sys.stderr
    configure_worker_logging(log_settings)
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashing worker leaves no core file
    except (ImportError, ValueError, OSError):
        pass
    from ems.core.analyse import analyse
    from ems.core.incremental import IncrementalAnalyser
    from ems.core.registry import load_rules

    default_rules = load_rules()
    # Documents being edited (the language server): re-check only what each edit touched.
    incremental = IncrementalAnalyser(max_documents=16)
    held: OrderedDict[str, tuple[int, str]] = OrderedDict()  # path -> (version, text): TextEdit bases
    # The documents' trees are hundreds of thousands of long-lived objects: an automatic
    # full collection in the middle of a keystroke's analysis stalls it (performance.md). Collect
    # when idle instead: the young objects after every request, everything now and then.
    gc.disable()
    served = last_full = 0
    conn.send(("ready", os.getpid()))
    while True:
        try:
            last_full = collect_when_idle(conn.poll, served, last_full)
            while incremental.has_pending() and not conn.poll(0):
                try:
                    incremental.prepare()  # idle: build the state of a document opened just now
                except Exception:  # an engine bug: that document keeps the plain analysis
                    log.exception("building the incremental state failed")
            request = conn.recv()
            served += 1
        except (EOFError, OSError):
            return  # parent gone
        if request is None:
            return
        request_id, source, path, config, ruleset, edited = request
        try:
            if isinstance(source, Call):
                conn.send((request_id, True, source.run(default_rules)))
                continue
            if isinstance(source, TextEdit):
                base = held.pop(path, None)
                if source.base and (base is None or base[0] != source.base):
                    conn.send((request_id, None, None))  # made from a text this worker lacks
                    continue
                text = source.apply(base[1] if source.base and base is not None else "")
                held[path] = (source.version, text)
                while len(held) > _HELD_TEXTS:
                    held.popitem(last=False)
                source = text
            if edited and isinstance(source, str):
                report = incremental.analyse(source, path, config, ruleset or default_rules)
            else:
                report = analyse(source, path, config, ruleset or default_rules)
        except Exception as exc:  # analyse contains rules; this is an engine bug
            conn.send((request_id, False, type(exc).__name__))
        else:
            conn.send((request_id, True, report))


_HELD_TEXTS = 16  # documents whose last text a worker keeps as the base of the next edit
_LOOP_EDIT_LIMIT = 16_384  # characters of an edit sent from the event loop (a pipe takes 64 kB)


@dataclass(frozen=True)
class TextEdit:
    """A document's new version as the worker receives it: the text of version ``base``
    (0: none; then ``middle`` is the whole text) with what lies between its first
    ``prefix`` and its last ``suffix`` characters replaced by ``middle``.

    Why: a keystroke changes a few characters of a text the worker already holds; sending
    the whole text again (170 kB for tkinter) costs the pickling and a pipe that takes 64 kB
    at a time, the two processes waking each other up for every piece."""

    base: int
    version: int
    prefix: int
    suffix: int
    middle: str

    def apply(self, old: str) -> str:
        return old[: self.prefix] + self.middle + old[len(old) - self.suffix :]


class GuardFailure(RuntimeError):
    """A guarded ``call`` did not return: it hung past its budget, crashed its worker or
    raised. The message says which, for the user."""


class _DefaultRules:
    """Stands for the worker's own default rule set (``load_rules()``) in a call's arguments,
    so the set is never pickled across."""


_DEFAULT_RULES = _DefaultRules()


@dataclass(frozen=True)
class Call:
    """A function call sent to the worker: ``func`` must be importable by name (top level)."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]

    @classmethod
    def of(cls, func: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
        default = load_rules()

        def swap(value: Any) -> Any:
            return _DEFAULT_RULES if value is default else value

        return cls(func, tuple(swap(a) for a in args), tuple((k, swap(v)) for k, v in kwargs.items()))

    def run(self, default_rules: RuleSet) -> Any:
        def swap(value: Any) -> Any:
            return default_rules if isinstance(value, _DefaultRules) else value

        return self.func(*(swap(a) for a in self.args), **{k: swap(v) for k, v in self.kwargs})


class GuardedAnalyser:
    """``analyse`` with a per-call time budget, in a replaceable worker process.

    Thread-safe (calls are serialised). Use as a context manager or call ``close()``.
    """

    def __init__(
        self,
        timeout: float = DEFAULT_TIMEOUT,
        events: EventCounter | None = None,
        *,
        start_method: str | None = None,
        startup_timeout: float = STARTUP_TIMEOUT,
        max_worker_rss: int | None = None,
        restart_policy: RestartPolicy | None = None,
        name: str = ANALYSIS_WORKER,
    ) -> None:
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        self.name = name  # in events and messages: "analysis worker", "fix worker"
        self.startup_timeout = startup_timeout
        self.max_worker_rss = max_worker_rss
        self.events = events or EventCounter()
        self._context: BaseContext = multiprocessing.get_context(_start_method(start_method))
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(_preload_modules())
        self._lock = threading.RLock()
        self._loop_lock = asyncio.Lock()  # one ``analyse_async`` at a time on the loop
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._ready = False
        self._next_id = 0
        # the texts the current worker holds (path -> (version, text)): an edited document's
        # next version is sent as a ``TextEdit`` of its last one
        self._held: OrderedDict[str, tuple[int, str]] = OrderedDict()
        self._next_version = 0
        self.texts_sent = {"wholeTexts": 0, "textEdits": 0}  # edited documents' versions (ems.status)
        self._closed = False
        self.started_workers = 0
        # past this many replacements in a short time, stop replacing (a crash loop) and say so
        self.restart_policy = restart_policy or RestartPolicy()
        self.crash_loop: str | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def worker_pid(self) -> int | None:
        """The current worker's pid (None before the first call or after ``close``)."""
        process = self._process
        return process.pid if process is not None and process.is_alive() else None

    def start(self) -> None:
        """Start the worker now (otherwise the first call does), and wait until it is ready."""
        with self._lock:
            self._ensure_worker()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            self._stop_worker(graceful=True)

    def __enter__(self) -> GuardedAnalyser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recycle(self) -> None:
        """Replace the worker (e.g. from a ``MemoryWatch`` drop callback)."""
        with self._lock:
            if self._process is not None:
                self._stop_worker(graceful=True)
                with contextlib.suppress(_WorkerFailed):  # a crash loop: the next call reports it
                    self._spawn("replaced to free memory", crashed=False)

    def _spawn(self, reason: str = "", *, crashed: bool = True) -> None:
        """Start a worker. A replacement after a crash counts toward the crash-loop bound;
        one after a time-out or to free memory does not (a loaded machine is not a loop)."""
        if self.started_workers:
            if self.crash_loop is None and crashed and not self.restart_policy.allow():
                self.crash_loop = (
                    f"the {self.name} failed {self.restart_policy.describe()} (last: {reason}); "
                    "it is not restarted again until the server restarts"
                )
                log.error("crash loop: %s", self.crash_loop)
                self.events.increment(CRASH_LOOP, reason=self.crash_loop)
            if self.crash_loop is not None:
                raise _WorkerFailed(self.crash_loop)
        parent, child = self._context.Pipe(duplex=True)
        # typeshed declares ``Process`` on the concrete contexts only, not on ``BaseContext``.
        process: BaseProcess = self._context.Process(  # type: ignore[attr-defined]
            target=_worker, args=(child, current_settings()), name=f"ems-{self.name.split()[0]}", daemon=True
        )
        process.start()
        child.close()  # only the child holds its end: EOF reaches us when it dies
        self._process, self._conn, self._ready = process, parent, False
        self._held.clear()
        if self.started_workers:
            self.events.increment(WORKER_RESTART, reason=f"{self.name} restarted: {reason}")
        self.started_workers += 1

    def _ensure_worker(self) -> None:
        if self._closed:
            raise RuntimeError("GuardedAnalyser is closed")
        if self._process is None or not self._process.is_alive():
            reason = "worker not running" if self.started_workers else "first start"
            if self._process is not None:
                code = self._reap("worker found dead before a request")
                reason = f"found dead before a request ({_describe_exit(code)})"
                self.events.increment(WORKER_CRASH, reason=f"{self.name} {reason}")
            self._spawn(reason)
        if not self._ready:
            assert self._conn is not None
            if not self._conn.poll(self.startup_timeout):
                self._stop_worker(graceful=False)
                raise _WorkerFailed(f"the {self.name} did not start within {self.startup_timeout:g} s")
            try:
                message = self._conn.recv()
            except (EOFError, OSError):
                code = self._reap("worker died while starting")
                raise _WorkerFailed(f"the {self.name} could not start ({_describe_exit(code)})") from None
            if not (isinstance(message, tuple) and message[:1] == ("ready",)):
                self._stop_worker(graceful=False)
                raise _WorkerFailed(f"the {self.name} sent an unexpected greeting")
            self._ready = True

    def _stop_worker(self, graceful: bool) -> None:
        process, conn = self._process, self._conn
        self._process, self._conn, self._ready = None, None, False
        self._held.clear()
        if conn is not None:
            if graceful and process is not None and process.is_alive():
                with contextlib.suppress(OSError, ValueError):
                    conn.send(None)  # ask politely first: lets the worker exit cleanly
            conn.close()
        if process is not None:
            if graceful:
                process.join(1.0)
            if process.is_alive():
                process.kill()
            process.join(5.0)
            if not process.is_alive():
                process.close()  # frees the sentinel fd now rather than at garbage collection

    def _reap(self, why: str) -> int | None:
        """Collect a dead worker; returns its exit code."""
        process = self._process
        code = None
        if process is not None:
            process.join(1.0)
            code = process.exitcode
        log.warning("%s %s: %s", self.name, why, _describe_exit(code))
        self._stop_worker(graceful=False)
        return code

    # -- analysis ----------------------------------------------------------------------

    def analyse(
        self,
        source: str | bytes,
        path: str = "<stdin>",
        config: Config | None = None,
        ruleset: RuleSet | None = None,
        *,
        timeout: float | None = None,
        edited: bool = False,
    ) -> Report:
        """Like ``ems.core.analyse``; a hang or crash gives an EMS902/EMS903 report instead.

        ``edited``: the source is a new version of a document being edited; the worker
        keeps the previous version's analysis and re-checks only what changed.
        """
        budget = self.timeout if timeout is None else timeout
        config = config or Config()
        if ruleset is not None and ruleset is load_rules():
            ruleset = None  # the worker holds the same default set: nothing to send
        with self._lock:
            started = time.perf_counter()
            sent = self._text_edit(source, path) if edited and isinstance(source, str) else source
            status, payload = self._exchange((sent, path, config, ruleset, edited), path, budget, started)
            if status == "stale" and isinstance(source, str):  # the worker lacks the edit's base
                self._held.pop(path, None)
                sent = self._text_edit(source, path)  # the whole text
                status, payload = self._exchange((sent, path, config, ruleset, edited), path, budget, started)
            self._keep(sent, source, path, status)
            return self._reported(status, payload, path, started)

    async def analyse_async(
        self,
        source: str,
        path: str,
        config: Config,
        ruleset: RuleSet | None = None,
        *,
        executor: Executor | None = None,
    ) -> Report:
        """``analyse(..., edited=True)`` awaited on the running event loop: an edit of a text
        the worker holds is sent, and the reply read (``loop.add_reader``), by the loop itself.

        Why: through a thread, a keystroke's analysis costs two more wake-ups (the thread
        woken to send, the loop woken by the thread), each of which waits for a core on a
        loaded machine. Everything else (the first text, a whole text, a worker to start or
        replace, a busy guard) goes through ``analyse`` in ``executor``."""
        if ruleset is not None and ruleset is load_rules():
            ruleset = None
        async with self._loop_lock:
            if self._lock.acquire(blocking=False):
                try:
                    report = await self._analyse_on_loop(source, path, config, ruleset)
                finally:
                    self._lock.release()
                if report is not None:
                    return report
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            executor, functools.partial(self.analyse, source, path, config, ruleset, edited=True)
        )

    async def _analyse_on_loop(
        self, source: str, path: str, config: Config, ruleset: RuleSet | None
    ) -> Report | None:
        """The exchange of ``analyse_async`` (the caller holds the lock); None when it is
        not for the loop (the caller then takes ``analyse``)."""
        process, conn, held = self._process, self._conn, self._held.get(path)
        if self._closed or conn is None or not self._ready or process is None or held is None:
            return None
        edit = self._text_edit(source, path, count=False)
        if len(edit.middle) > _LOOP_EDIT_LIMIT or not process.is_alive():
            return None  # a large edit could fill the pipe and block the loop
        self.texts_sent["textEdits"] += 1
        started = time.perf_counter()
        self._next_id += 1
        request_id = self._next_id
        try:
            conn.send((request_id, edit, path, config, ruleset, True))
        except (OSError, ValueError):  # died while idle: ``analyse`` replaces it
            return None
        loop = asyncio.get_running_loop()
        deadline = time.perf_counter() + self.timeout
        fileno = conn.fileno()
        while True:
            readable: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fileno, _wake, readable)
            try:
                await asyncio.wait_for(readable, max(deadline - time.perf_counter(), 0))
            except TimeoutError:
                status, payload = "timeout", self._timed_out(path, self.timeout, f"analysis of {path}", True)
                break
            finally:
                loop.remove_reader(fileno)
            try:
                reply: Any = conn.recv()
            except (EOFError, OSError):
                if self._closed:
                    return _internal_report(path, AnalysisCrash, "the analysis worker was stopped", started)
                status, payload = "crashed", self._crashed(path, True)
                break
            if isinstance(reply, tuple) and len(reply) == 3 and reply[0] == request_id:
                _, ok, payload = reply
                if ok is None:  # the worker no longer holds the base: ``analyse`` sends it all
                    self._held.pop(path, None)
                    return None
                status = "ok" if ok else "raised"
                break
        self._keep(edit, source, path, status)
        return self._reported(status, payload, path, started)

    def _keep(self, sent: object, source: str | bytes, path: str, status: str) -> None:
        """Note the text the worker now holds for ``path`` (the base of its next edit)."""
        if isinstance(sent, TextEdit) and isinstance(source, str) and status in ("ok", "raised"):
            self._held[path] = (sent.version, source)
            self._held.move_to_end(path)
            while len(self._held) > _HELD_TEXTS:
                self._held.popitem(last=False)

    def _reported(self, status: str, payload: Any, path: str, started: float) -> Report:
        """The report of an exchange: the worker's, or EMS902/EMS903's."""
        if status == "ok":
            report: Report = payload
            if report.rule_errors:
                self.events.increment(
                    RULE_ERROR,
                    len(report.rule_errors),
                    reason=", ".join(sorted({f"{e.code} raised on {path}" for e in report.rule_errors})),
                )
                for error in report.rule_errors:  # the type only: messages may quote source
                    log.error("rule %s raised %s on %s", error.code, error.error.split(":", 1)[0], path)
            self._check_worker_memory()
            return report
        if status == "raised":
            log.error("analysis engine raised %s on %s", payload, path)
            return _internal_report(path, AnalysisCrash, f"the analysis engine raised {payload}", started)
        rule = AnalysisTimeout if status == "timeout" else AnalysisCrash
        return _internal_report(path, rule, payload, started)

    def _text_edit(self, text: str, path: str, count: bool = True) -> TextEdit:
        """What to send of ``text``, a new version of the document at ``path``: only what
        changed since the version the worker holds, or all of it."""
        from ems.core.incremental.edits import common_ends  # the server's only: not ems check's

        self._next_version += 1
        held = self._held.get(path)
        if held is None:
            self.texts_sent["wholeTexts"] += count
            return TextEdit(0, self._next_version, 0, 0, text)
        self.texts_sent["textEdits"] += count
        prefix, suffix = common_ends(held[1], text)
        return TextEdit(held[0], self._next_version, prefix, suffix, text[prefix : len(text) - suffix])

    def call(
        self, label: str, func: Callable[..., Any], *args: Any, timeout: float | None = None, **kwargs: Any
    ) -> Any:
        """``func(*args, **kwargs)`` in the worker under the time budget; ``label`` names the
        work in events and messages ("fix-all of a.py"). Raises ``GuardFailure`` if it hangs,
        crashes the worker or raises (the worker is replaced as for an analysis)."""
        budget = self.timeout if timeout is None else timeout
        request = (Call.of(func, args, kwargs), label, None, None, False)
        with self._lock:
            started = time.perf_counter()
            status, payload = self._exchange(request, label, budget, started, what=label)
            if status == "ok":
                self._check_worker_memory()
                return payload
            if status == "raised":
                log.error("%s raised %s", label, payload)
                raise GuardFailure(f"{label} raised {payload}")
            raise GuardFailure(payload)

    def _exchange(
        self, request: tuple[Any, ...], path: str, budget: float, started: float, what: str | None = None
    ) -> tuple[str, Any]:
        """Send one request and wait for its reply (the caller holds the lock).

        Returns ("ok", result), ("raised", exception type name), ("stale", None) for a
        ``TextEdit`` of a text the worker does not hold, or ("timeout" | "crashed" |
        "unavailable", a message for the user).
        """
        analysis = what is None
        what = what or f"analysis of {path}"
        for attempt in (1, 2):
            try:
                self._ensure_worker()
            except _WorkerFailed as exc:
                log.error("%s not possible: %s", what, exc)
                return "unavailable", str(exc)
            assert self._conn is not None
            self._next_id += 1
            request_id = self._next_id
            try:
                self._conn.send((request_id, *request))
            except (OSError, ValueError):  # died while idle: not this file's fault
                code = self._reap("worker gone before the request was sent")
                self.events.increment(
                    WORKER_CRASH, reason=f"{self.name} gone while idle ({_describe_exit(code)})"
                )
                if attempt == 1:
                    continue
                return "unavailable", f"the {self.name} cannot be reached"
            # the budget is the work's: a replacement worker's start has its own (startup_timeout)
            return self._await(request_id, path, budget, time.perf_counter(), what, analysis)
        raise AssertionError("unreachable")  # pragma: no cover

    def _await(
        self, request_id: int, path: str, budget: float, started: float, what: str, analysis: bool
    ) -> tuple[str, Any]:
        conn = self._conn
        assert conn is not None
        deadline = started + budget
        while True:
            remaining = deadline - time.perf_counter()
            try:
                ready = conn.poll(max(remaining, 0))
            except (OSError, EOFError):
                ready = True  # let recv report the broken pipe
            if not ready:
                return "timeout", self._timed_out(path, budget, what, analysis)
            try:
                reply: Any = conn.recv()
            except (EOFError, OSError):
                return "crashed", self._crashed(path, analysis)
            if not (isinstance(reply, tuple) and len(reply) == 3) or reply[0] != request_id:
                continue  # a late answer to an abandoned request; never for a live one
            _, ok, payload = reply
            if ok is None:
                return "stale", None  # an edit of a text the worker does not hold
            return ("ok" if ok else "raised"), payload

    def _timed_out(self, path: str, budget: float, what: str, analysis: bool) -> str:
        self.events.increment(TIMEOUT, reason=f"{what} exceeded {budget:g} s")
        log.error("%s exceeded %.1f s; worker %s stopped", what, budget, self.worker_pid)
        self._stop_worker(graceful=False)
        with contextlib.suppress(_WorkerFailed):  # a crash loop: the next call reports it
            self._spawn(f"timed out on {path}", crashed=False)  # the replacement warms up meanwhile
        if analysis:
            return (
                f"analysis stopped after {budget:g} s (the time budget); the worker was replaced. "
                "Findings for this file are missing: a rule may loop on it, please report it"
            )
        return f"{what} stopped after {budget:g} s (the time budget); the {self.name} was replaced"

    def _crashed(self, path: str, analysis: bool) -> str:
        code = self._reap(f"crashed while {'analysing' if analysis else 'working on'} {path}")
        self.events.increment(WORKER_CRASH, reason=f"{self.name} crashed on {path} ({_describe_exit(code)})")
        with contextlib.suppress(_WorkerFailed):  # a crash loop: the next call reports it
            self._spawn(f"crashed on {path} ({_describe_exit(code)})")
        if analysis:
            return (
                f"the analysis worker crashed on this file ({_describe_exit(code)}); it was replaced. "
                "Findings for this file are missing: deep nesting or a rule bug may cause it, please report it"
            )
        return f"the {self.name} crashed on {path} ({_describe_exit(code)}); it was replaced"

    def _check_worker_memory(self) -> None:
        if self.max_worker_rss is None or self._process is None or self._process.pid is None:
            return
        import psutil

        try:
            rss = psutil.Process(self._process.pid).memory_info().rss
        except psutil.Error:
            return
        if rss > self.max_worker_rss:
            log.warning("%s uses %d MB, over its limit: replaced", self.name, rss // 2**20)
            self.recycle()


def _wake(readable: asyncio.Future[None]) -> None:
    """The reply pipe is readable: the loop's wait for it ends."""
    if not readable.done():
        readable.set_result(None)


class _WorkerFailed(RuntimeError):
    pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


def _internal_report(path: str, rule: type[Rule], message: str, started: float) -> Report:
    (fingerprint,) = fingerprints([(rule.code, path, "", "")])
    finding = replace(rule.finding(path, message), fingerprint=fingerprint)
    return Report(path, (finding,), timings={"total": time.perf_counter() - started})
