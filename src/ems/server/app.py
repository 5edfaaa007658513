"""The ems language server's state: open documents, settings, config resolvers, the
analysis worker, and the operations the handlers (``ems.server.features``) delegate to.

The server is a thin face over ``ems.core`` (findings) and ``ems.fixes`` (verified libcst
fixes); the translations to LSP types live in ``diagnostics``, ``actions``, ``hover`` and
``positions``, the per-document machinery in ``documents``, settings in ``settings`` and the
JSON-RPC protocol in ``protocol``.

Push or pull: a client that supports ``textDocument/diagnostic`` pulls, and then the
server does not push (a client showing both would list every problem twice); any other
client gets ``textDocument/publishDiagnostics`` with the analysed version.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcInvalidParams,
    JsonRpcParseError,
)
from pygls.io_ import StdoutWriter, run_async
from pygls.lsp.server import LanguageServer
from pygls.uris import from_fs_path, to_fs_path

from ems import __version__
from ems.core.config import Config, ConfigError
from ems.core.model import Finding, Fix, Fixability, Report, Safety
from ems.core.registry import load_rules
from ems.fixes.offers import (
    NOT_VERIFIED,
    OfferKind,
    Resolution,
    resolve_fix_all,
    resolve_noqa,
    verified_alone,
)
from ems.rules.e902_io_error import IOErrorRule
from ems.runtime.events import EventBus, publish_counters
from ems.runtime.guard import GuardedAnalyser, GuardFailure
from ems.runtime.monitor import DEFAULT_MEMORY_LIMIT, MemoryWatch, ProcessMonitor
from ems.runtime.workspace import ScanSummary, record_folders, scan_folders, summarise
from ems.server import actions, monitoring
from ems.server.actions import ActionContext
from ems.server.diagnostics import diagnostic_json, to_diagnostic
from ems.server.documents import Analyser, Analysis, Debouncer, Document, content_hash, resolved
from ems.server.fixability import Judgements, judge_key
from ems.server.framing import FramedInput, LoopReader
from ems.server.positions import UTF16
from ems.server.protocol import EmsProtocol, RejectedMessage
from ems.server.runtime_errors import POLL_SECONDS, RuntimeErrors
from ems.server.settings import FolderConfigs, Settings, parse_settings

log = logging.getLogger("ems.server")

CMD_FIX_ALL = "ems.fixAll"
CMD_SCAN = "ems.scanWorkspace"
CMD_STATUS = "ems.status"
DEFAULT_FIX_TIMEOUT = 30.0  # seconds for one fix or fix-all (libcst) in the fix worker
FIX_TIMEOUT_ENV = "EMS_FIX_TIMEOUT"

QUICK_FIXES_KEPT = 64  # per-finding quick fixes kept (text, config, stamp, finding)
KEPT_CHANGING = "the document kept changing while the fix was computed; ask again"
NOTHING_TO_FIX = "no fix applies to the current text"
UNSAFE_OFF = "the fix is unsafe and unsafe fixes are off"

T = TypeVar("T")


@dataclass(frozen=True)
class WorkspaceItem:
    """One workspace file for workspace diagnostics: ``analysis`` None when unchanged since
    the client's ``result_id``; ``folder`` the workspace folder it was found in."""

    uri: str
    version: int | None
    result_id: str
    analysis: Analysis | None
    folder: Path | None


def fix_timeout() -> float:
    """The fix worker's budget: ``EMS_FIX_TIMEOUT`` seconds if set and valid, else the default."""
    try:
        value = float(os.environ.get(FIX_TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_FIX_TIMEOUT
    return value if value > 0 else DEFAULT_FIX_TIMEOUT


class EditorConfigs:
    """``ConfigResolver``'s interface for the project scan, giving each file exactly the
    config its open document would get (editor settings layered as preferred)."""

    explicit = None

    def __init__(self, ls: EmsLanguageServer, folder: Path) -> None:
        self.ls = ls
        self.default_root = folder

    def for_path(self, path: Path) -> Config:
        path = Path(path)
        return self.ls.config_for(Document(from_fs_path(str(path)) or path.as_uri(), path, "", None))

    def for_folder(self, folder: Path) -> Config:
        return self.ls.config_in(Path(folder))


class EmsLanguageServer(LanguageServer):
    """Server state: open documents, settings, config resolvers, the analysis worker."""

    def __init__(self) -> None:
        super().__init__(
            "ems",
            __version__,
            text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
            protocol_cls=EmsProtocol,
        )
        self.ruleset = load_rules()
        self.known_codes = self.ruleset.codes
        self.analyser = Analyser(self.ruleset)
        self.fix_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ems-fix")
        self.debouncer = Debouncer()
        self.bus = EventBus()  # this server's domain events (scans recorded, monitor counters)
        self.documents: dict[str, Document] = {}
        self.folder_configs = FolderConfigs(self.known_codes)
        self.settings = Settings()
        self.init_settings = Settings()  # from initializationOptions: the base of later updates
        self.folder_settings: dict[Path, Settings] = {}
        self.inflight: dict[tuple[str, int | None, str], asyncio.Task[Analysis]] = {}
        self.reported: set[str] = set()  # config/rule errors already shown once
        self.doc_urls: dict[str, str] = {}  # each rule code's documentation link
        self.judgements = Judgements(self.judge_fixability)
        self.quick_fixes: OrderedDict[tuple[object, ...], tuple[Fix | None]] = OrderedDict()
        self.request_ms: dict[str, list[float]] = {}
        self.request_counts: dict[str, int] = {}  # since start (request_ms keeps the last 100)
        self.sampler: monitoring.Sampler | None = None
        self.started = time.time()
        # Past the RSS limit the analysis cache is dropped and the worker replaced; the
        # events (drops, time-outs, crashes, restarts) are counted in one place.
        self.events = self.analyser.guard.events
        publish_counters(self.events, self.bus)
        self.process = ProcessMonitor()
        self.memory = MemoryWatch(DEFAULT_MEMORY_LIMIT, self.events, monitor=self.process)
        self.memory.register("analysis-cache", self.analyser.clear)
        self.memory.register("analysis-worker", self.analyser.guard.recycle)
        # Fixes (libcst) run in a worker of their own, started on the first fix, under a
        # budget: a fix that hangs or crashes costs that code action, never the server.
        self.fix_guard = GuardedAnalyser(fix_timeout(), self.events, name="fix worker")
        self.memory.register("fix-worker", self.fix_guard.recycle)
        self.runtime = RuntimeErrors()  # recorded test failures and captured exceptions
        self.runtime_watch: asyncio.Task[None] | None = None

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """pygls's stdio server, except that messages are read on the event loop
        (``framing.LoopReader``), not by a thread per header line and body."""

        framed = stdin if isinstance(stdin, FramedInput) else FramedInput(stdin or sys.stdin.buffer)
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout or sys.stdout.buffer))
        try:
            asyncio.run(
                run_async(
                    stop_event=self._stop_event,
                    reader=LoopReader(framed),
                    protocol=self.protocol,
                    logger=log,
                    error_handler=self.report_server_error,
                )
            )
        except BrokenPipeError:
            log.error("the connection to the client is lost: shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()

    def set_memory_limit(self, megabytes: int) -> None:
        self.memory.limit = megabytes * 1024 * 1024

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Answer what pygls's read loop could not handle, instead of only logging it."""
        protocol = self.protocol
        assert isinstance(protocol, EmsProtocol)
        if isinstance(error, RejectedMessage):
            if error.msg_id is not None:
                protocol.reply_error(error.msg_id, error.error)
            log.warning("rejected a message: %s", error.error.message)
        elif isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            protocol.reply_error(None, JsonRpcParseError())
            log.warning("unparsable message: %s", type(error).__name__)
        else:
            super().report_server_error(error, source)

    # --- client capabilities ----------------------------------------------------------

    @property
    def encoding(self) -> str:
        enc = self.workspace.position_encoding
        return str(getattr(enc, "value", enc) or UTF16)

    def _cap(self, *path: str) -> Any:
        node: Any = self.client_capabilities
        for name in path:
            node = getattr(node, name, None)
            if node is None:
                return None
        return node

    @property
    def pull_mode(self) -> bool:
        return self._cap("text_document", "diagnostic") is not None

    @property
    def can_resolve_edits(self) -> bool:
        props = self._cap("text_document", "code_action", "resolve_support", "properties") or []
        return "edit" in props

    @property
    def document_changes(self) -> bool:
        return bool(self._cap("workspace", "workspace_edit", "document_changes"))

    # --- messages to the user -----------------------------------------------------------

    def log_to_client(self, message: str, kind: lsp.MessageType = lsp.MessageType.Info) -> None:
        level = {lsp.MessageType.Error: logging.ERROR, lsp.MessageType.Warning: logging.WARNING}
        log.log(level.get(kind, logging.INFO), "%s", message)
        self.window_log_message(lsp.LogMessageParams(type=kind, message=message))

    def warn_once(self, message: str, show: bool = True) -> None:
        if message in self.reported:
            return
        self.reported.add(message)
        self.log_to_client(message, lsp.MessageType.Warning)
        if show:
            self.window_show_message(
                lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=f"ems: {message}")
            )

    def timed(self, name: str, started: float) -> None:
        samples = self.request_ms.setdefault(name, [])
        samples.append((time.perf_counter() - started) * 1000)
        del samples[:-100]
        self.request_counts[name] = self.request_counts.get(name, 0) + 1

    # --- settings and config -------------------------------------------------------------

    def settings_for(self, doc: Document) -> Settings:
        if doc.path is None:
            return self.settings
        folder = self.folder_configs.folder_of(doc.path)
        return self.folder_settings.get(folder, self.settings) if folder else self.settings

    def config_for(self, doc: Document) -> Config:
        settings = self.settings_for(doc)
        if doc.path is None:
            return Config().with_overrides(
                select=settings.select, ignore=settings.ignore or None, unsafe_fixes=settings.unsafe_fixes
            )
        try:
            return self.folder_configs.config_for(doc.path, settings)
        except ConfigError as exc:
            self.warn_once(f"{exc} (using the default configuration)")
            fallback = Config(root=doc.path.parent)
            return fallback.with_overrides(
                select=settings.select, ignore=settings.ignore or None, unsafe_fixes=settings.unsafe_fixes
            )

    def config_in(self, directory: Path) -> Config:
        """The config of the files directly in ``directory`` (a workspace scan, a scan's hash)."""
        found = self.folder_configs.folder_of(directory)
        settings = self.folder_settings.get(found, self.settings) if found else self.settings
        try:
            return self.folder_configs.config_in(directory, settings)
        except ConfigError as exc:
            self.warn_once(f"{exc} (using the default configuration)")
            return Config(root=directory).with_overrides(
                select=settings.select, ignore=settings.ignore or None, unsafe_fixes=settings.unsafe_fixes
            )

    def apply_settings(self, raw: object, folder: Path | None = None, base: Settings | None = None) -> None:
        parsed = parse_settings(raw, self.known_codes, base)
        for warning in parsed.warnings:
            self.warn_once(warning)
        if folder is None:
            self.settings = parsed
        else:
            self.folder_settings[folder] = parsed

    async def pull_settings(self) -> None:
        """Ask the client for the ``ems`` section, globally and per workspace folder."""
        if not self._cap("workspace", "configuration"):
            return
        folders = list(self.folder_configs.folders)
        items = [lsp.ConfigurationItem(section="ems")]
        items += [lsp.ConfigurationItem(scope_uri=from_fs_path(str(f)), section="ems") for f in folders]
        try:
            result = await self.workspace_configuration_async(lsp.ConfigurationParams(items=items))
        except asyncio.CancelledError:  # the connection closed before the client answered
            log.info("workspace/configuration abandoned: the connection closed")
            return
        except Exception as exc:  # a client that fails here still gets diagnostics
            log.warning("workspace/configuration failed: %s", exc)
            return
        if not result:
            return
        self.apply_settings(result[0] or {}, base=self.init_settings)
        self.folder_settings.clear()
        for folder, raw in zip(folders, result[1:], strict=False):
            if raw is not None:
                self.apply_settings(raw, folder, base=self.settings)

    def set_folders(self, folders: Iterable[str]) -> None:
        paths = [Path(p) for uri in folders if (p := to_fs_path(uri))]
        self.folder_configs.set_folders(paths)
        self.runtime.set_folders(paths)

    # --- analysis --------------------------------------------------------------------

    async def analysis_for(self, doc: Document) -> Analysis:
        """The analysis of the document's current text (shared by concurrent callers)."""
        config = self.config_for(doc)
        current = doc.analysis
        if (
            current is not None
            and current.version == doc.version
            and current.text == doc.text
            and current.config == config
        ):
            return current
        key = (doc.uri, doc.version, config.fingerprint() + str(config.root))
        task = self.inflight.get(key)
        if task is None or (task.done() and task.cancelled()):
            task = asyncio.get_running_loop().create_task(
                self.analyser.analyse(doc.text, doc.display_path, config, doc.version)
            )
            self.inflight[key] = task
            task.add_done_callback(
                lambda t: self.inflight.pop(key, None) if self.inflight.get(key) is t else None
            )
        analysis = await asyncio.shield(task)
        analysis.share_index(doc.index)
        self.report_rule_errors(doc, analysis.report)
        if doc.version == analysis.version and doc.text == analysis.text:
            doc.analysis = analysis
        return analysis

    async def fresh_analysis(self, doc: Document) -> Analysis:
        """Like ``analysis_for`` but retried until it matches the latest text (bounded)."""
        for _ in range(3):
            analysis = await self.analysis_for(doc)
            if analysis.version == doc.version and analysis.text == doc.text:
                return analysis
        raise JsonRpcContentModified(f"{doc.uri} keeps changing; try again")

    async def fixable_report(self, analysis: Analysis) -> Report:
        """The analysis's report with each finding's computed ``Fixability`` (what a fix-all
        applies), judged in the fix worker once per text (``ems.server.fixability``, which
        also judges it ahead when the document is idle): code actions and hover show the
        same fact as ``ems check``."""
        if analysis.__dict__.get("_judging_failed"):
            return analysis.report  # tried once for this version (a hang costs one wait)
        try:
            return await self.judgements.report(analysis)
        except GuardFailure as exc:  # no fix is offered rather than one that was not verified
            analysis.__dict__["_judging_failed"] = True
            self.log_to_client(f"{exc} (no fixes offered for this version)", lsp.MessageType.Warning)
            return analysis.report

    async def judge_fixability(self, label: str, analysis: Analysis) -> Report:
        from ems.runtime.scan import with_fixability

        args = (analysis.text, analysis.report, analysis.config, self.ruleset)
        return await self.guarded_fix(label, with_fixability, *args)

    def warm_fix_worker(self) -> None:
        """Start the fix worker, with the fix engine imported in it, once: when the client
        is initialized (``features.on_initialized``), else the first time a document offers
        a fix. The first code action then finds it running (its start is ~0.5 s of a cold
        interpreter and imports), and it is not started beside the first document's
        analysis and incremental state, which the first keystroke would wait for."""
        if self.judgements.counts["warmed"]:
            return
        self.judgements.counts["warmed"] = 1

        def warm() -> None:
            try:  # ``exec`` of a fixed import: a picklable call that returns nothing
                self.fix_guard.call("fix worker warm-up", exec, "import ems.runtime.scan, ems.fixes.engine")
            except (GuardFailure, RuntimeError) as exc:  # the first fix will say it too
                log.warning("fix worker warm-up failed: %s", exc)

        asyncio.get_running_loop().run_in_executor(self.fix_pool, warm)

    def judge_when_idle(self, doc: Document, analysis: Analysis) -> None:
        """Judge the fixability of the document's latest analysis once it is idle."""
        if any(f.fixable for f in analysis.report.findings):
            self.warm_fix_worker()

        def current() -> bool:
            return (
                self.documents.get(doc.uri) is doc
                and doc.version == analysis.version
                and doc.text == analysis.text
            )

        self.judgements.when_idle(doc.uri, analysis, self.settings_for(doc).fix_idle_ms / 1000, current)

    def report_rule_errors(self, doc: Document, report: Report) -> None:
        for error in report.rule_errors:
            message = f"rule {error.code} raised on {doc.display_path}: {error.error} (other rules still ran)"
            if message not in self.reported:
                self.reported.add(message)
                self.log_to_client(message, lsp.MessageType.Error)

    def diagnostics(self, analysis: Analysis, uri: str) -> list[lsp.Diagnostic]:
        mapper = analysis.mapper(self.encoding)
        return [
            to_diagnostic(f, mapper, uri, self.ruleset, analysis.version) for f in analysis.report.findings
        ] + self.runtime_diagnostics(uri, analysis.text)

    def diagnostic(self, finding: Finding, analysis: Analysis, uri: str) -> lsp.Diagnostic:
        return to_diagnostic(finding, analysis.mapper(self.encoding), uri, self.ruleset, analysis.version)

    def publish(self, uri: str, analysis: Analysis, version: int | None) -> None:
        """Push the analysis's diagnostics as JSON built directly (``diagnostic_json``)."""
        protocol = self.protocol
        assert isinstance(protocol, EmsProtocol)
        mapper = analysis.mapper(self.encoding)
        converter = protocol._converter
        items = [
            diagnostic_json(f, mapper, uri, self.doc_urls, self.ruleset, analysis.version, converter)
            for f in analysis.report.findings
        ]
        items += [converter.unstructure(d) for d in self.runtime_diagnostics(uri, analysis.text)]
        params: dict[str, Any] = {"uri": uri, "diagnostics": items}
        if version is not None:
            params["version"] = version
        protocol.notify_json(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS, params)

    def runtime_diagnostics(self, uri: str, text: str) -> list[lsp.Diagnostic]:
        path = to_fs_path(uri) if uri.startswith("file:") else None
        lines: list[str] = []
        hints = self.settings.coverage_hints

        def line_text(n: int) -> str | None:
            if not lines and text:  # split only for a file with runtime errors
                lines.extend(text.splitlines())
            return lines[n - 1] if 0 < n <= len(lines) else None

        return self.runtime.diagnostics(resolved(path), line_text, self.encoding, hints)

    async def watch_runs(self) -> None:
        """Follow the stores for new runs (see ``runtime_errors``); republish what changed."""
        loop = asyncio.get_running_loop()
        while True:
            try:
                changed = await loop.run_in_executor(self.fix_pool, self.runtime.poll)
                self.republish(changed)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("watching test runs failed")
            await asyncio.sleep(POLL_SECONDS)

    def republish(self, paths: set[Path]) -> None:
        """Diagnostics again for files whose runtime errors changed (open or not)."""
        if not paths:
            return
        open_paths = {d.resolved_path: d for d in self.documents.values() if d.resolved_path is not None}
        for path in paths:
            doc = open_paths.get(path)
            if doc is not None:
                self.schedule(doc)
            elif not self.pull_mode:
                uri = from_fs_path(str(path)) or path.as_uri()
                try:
                    text = path.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    text = ""
                self.text_document_publish_diagnostics(
                    lsp.PublishDiagnosticsParams(uri=uri, diagnostics=self.runtime_diagnostics(uri, text))
                )
        if self.pull_mode and self._cap("workspace", "diagnostics", "refresh_support"):
            self.workspace_diagnostic_refresh(None)

    async def refresh(self, uri: str) -> None:
        """Analyse the document and push its diagnostics, unless a newer version arrived."""
        doc = self.documents.get(uri)
        if doc is None:
            return
        started = time.perf_counter()
        try:
            analysis = await self.analysis_for(doc)
        except Exception as exc:  # an engine failure must cost this document, not the server
            log.exception("analysis of %s failed", uri)
            self.log_to_client(
                f"analysis of {doc.display_path} failed: {type(exc).__name__}: {exc}", lsp.MessageType.Error
            )
            return
        if self.documents.get(uri) is not doc or analysis.version != doc.version:
            log.debug("dropped stale diagnostics for %s v%s", uri, analysis.version)
            return
        if self.pull_mode:
            return
        doc.published_version = analysis.version
        self.publish(uri, analysis, doc.version)
        self.timed("publish", started)
        self.judge_when_idle(doc, analysis)

    def schedule(self, doc: Document, delay_ms: int = 0) -> None:
        self.debouncer.schedule(doc.uri, delay_ms / 1000, lambda: self.refresh(doc.uri))

    def refresh_all(self) -> None:
        for doc in list(self.documents.values()):
            self.schedule(doc)
        if self.pull_mode and self._cap("workspace", "diagnostics", "refresh_support"):
            self.workspace_diagnostic_refresh(None)

    def document(self, uri: str) -> Document:
        doc = self.documents.get(uri)
        if doc is None:
            raise JsonRpcInvalidParams(f"document {uri!r} is not open in the server")
        return doc

    # --- workspace ---------------------------------------------------------------------

    async def workspace_reports(self, previous: dict[str, str] | None = None) -> list[WorkspaceItem]:
        """(uri, version, result id, analysis or None if unchanged, folder) for each workspace file.

        Open documents are analysed from the editor's text; the others come from the cached
        project scan, so only files that changed on disk are analysed again.
        """
        out: list[WorkspaceItem] = []
        previous = previous or {}
        loop = asyncio.get_running_loop()
        folders = await loop.run_in_executor(
            self.fix_pool,
            lambda: scan_folders(
                self.folder_configs.folders,
                lambda folder: EditorConfigs(self, folder),  # type: ignore[arg-type,return-value]
                self.ruleset,
                bus=self.bus,
            ),
        )
        scanned = [(f.folder, result) for f in folders for result in f.results]
        for error in (f.error for f in folders if f.error):
            self.warn_once(error)
        for folder, result in scanned:
            path = result.path
            uri = from_fs_path(str(path)) or path.resolve().as_uri()
            doc = self.documents.get(uri)
            if doc is not None:
                config = self.config_for(doc)
                result_id = f"{doc.version}:{content_hash(doc.text)}:{config.fingerprint()}"
                if previous.get(uri) == result_id:
                    out.append(WorkspaceItem(uri, doc.version, result_id, None, folder))
                    continue
                analysis = await self.analysis_for(doc)
                self.report_rule_errors(doc, analysis.report)
                out.append(WorkspaceItem(uri, doc.version, result_id, analysis, folder))
                continue
            if any(f.code == IOErrorRule.code for f in result.report.findings):
                continue  # unreadable or special: there is no editor text to show it on
            try:
                text = result.source.decode("utf-8") if result.source is not None else ""
            except UnicodeDecodeError:
                continue  # the core judges encodings; an undecodable file has no editor text
            doc = Document(uri, path, text, None)
            config = self.config_for(doc)
            findings_key = content_hash("\n".join(f.fingerprint for f in result.report.findings))
            result_id = f"disk:{findings_key}:{config.fingerprint()}"
            if previous.get(uri) == result_id:
                out.append(WorkspaceItem(uri, None, result_id, None, folder))
                continue
            analysis = Analysis(None, text, result.report, config, result_id, 0.0)
            self.report_rule_errors(doc, result.report)
            out.append(WorkspaceItem(uri, None, result_id, analysis, folder))
        return out

    async def scan_workspace(self) -> ScanSummary:
        """Every workspace file analysed (open ones from the editor's text); diagnostics
        pushed for files not open (push clients) or a refresh asked (pull clients); the scan
        recorded in each git folder's store."""
        started = time.perf_counter()
        items = [item for item in await self.workspace_reports() if item.analysis is not None]
        for item in items:
            if not self.pull_mode and item.uri not in self.documents:
                assert item.analysis is not None
                self.text_document_publish_diagnostics(
                    lsp.PublishDiagnosticsParams(
                        uri=item.uri,
                        diagnostics=self.diagnostics(item.analysis, item.uri),
                        version=item.version,
                    )
                )
        if self.pull_mode and self._cap("workspace", "diagnostics", "refresh_support"):
            self.workspace_diagnostic_refresh(None)
        seconds = time.perf_counter() - started
        by_folder: dict[Path, list[Report]] = {}
        for item in items:
            if item.folder is not None and item.analysis is not None:
                by_folder.setdefault(item.folder, []).append(item.analysis.report)
        recorded = await asyncio.get_running_loop().run_in_executor(
            self.fix_pool,
            lambda: record_folders(
                by_folder,
                lambda folder: self.folder_configs.resolver(folder).for_folder(folder),
                seconds,
                source="server",
                bus=self.bus,
            ),
        )
        return summarise((i.analysis.report for i in items if i.analysis is not None), seconds, recorded)

    # --- code actions ------------------------------------------------------------------

    async def code_actions(
        self, doc: Document, params: lsp.CodeActionParams
    ) -> list[lsp.CodeAction | lsp.Command]:
        """The offers near the request's range (``ems.fixes.offers``) as code actions; then
        the runtime errors' re-run commands.

        Never waits for the document's joint judgement (``Judgements``, fix-all run as
        ``ems fix`` would), which a code action right after an edit would wait for (a few
        hundred milliseconds on a large module). A quick fix is offered from the finding's
        fix alone, verified on this version (``quick_fix``), or, when the joint judgement of
        this text is made already (the document was idle), from it; either way its edit is
        the fix alone, verified on this version (``resolve_offer``). Fix-all is offered
        from the joint judgement when it is made, else whenever a finding's rule offers a
        fix it may apply; its edit is left to ``codeAction/resolve``. A client that cannot
        resolve gets every edit now, and fix-all only after the judgement, as before."""
        started = time.perf_counter()
        analysis = await self.fresh_analysis(doc)
        findings = analysis.report.findings  # unjudged: suppressions only, no fix offered
        mapper = analysis.mapper(self.encoding)
        worth = actions.worth_offering(params, findings, mapper)
        unsafe = analysis.config.unsafe_fixes
        # other files' state a fix depends on (re-exports), read once for the request
        stamp = await self.judgements.stamp(analysis.report) if worth else None
        kept = await self.judgements.kept_or_running(analysis, stamp) if worth else None
        if worth and actions.wants_quick_fixes(params):
            judged = {f.fingerprint: f for f in kept.findings} if kept is not None else {}
            chosen: dict[str, Finding] = {}
            for finding in actions.near(params, findings, mapper):
                if not finding.fixable:
                    continue
                known = self.quick_fixes.get(self.quick_fix_key(analysis, stamp, finding))
                verdict = judged.get(finding.fingerprint)
                if known is None and verdict is not None and verdict.fixability is not Fixability.UNKNOWN:
                    chosen[finding.fingerprint] = verdict
                    continue
                try:
                    fix = await self.quick_fix(doc, analysis, finding, stamp)
                except GuardFailure as exc:  # no fix offered rather than one not verified
                    self.log_to_client(f"{exc} (no quick fix offered)", lsp.MessageType.Warning)
                    fix = None
                chosen[finding.fingerprint] = actions.with_fix_alone(finding, fix, unsafe)
            findings = tuple(chosen.get(f.fingerprint, f) for f in findings)
        fix_all = False
        if worth and actions.fix_all_wanted(params):
            if not self.can_resolve_edits:
                kept = await self.fixable_report(analysis)
            applied = kept is not None and any(
                f.fixability is not None and f.fixability.applied for f in kept.findings
            )
            # not judged (yet, or the module is too big for it: UNKNOWN): a fix-all that may
            # apply a fix is offered, and says so if, resolved, nothing applies
            unjudged = kept is None or any(f.fixability is Fixability.UNKNOWN for f in kept.findings)
            fix_all = applied or (
                unjudged and actions.may_fix_all(analysis.report.findings, self.ruleset, unsafe)
            )
        ctx = self.action_context(doc, analysis)
        offered = actions.code_actions(
            params, findings, ctx, lambda f: self.diagnostic(f, analysis, doc.uri), fix_all
        )
        if not self.can_resolve_edits:
            offered = [a for a in [await self.resolve_action(a) for a in offered] if a.edit is not None]
        result: list[lsp.CodeAction | lsp.Command] = [*offered]
        if kept is None:  # the user is picking a fix: judge once that pauses too
            self.judge_when_idle(doc, analysis)
        where = doc.resolved_path
        if where is not None and actions.wants_quick_fixes(params):
            lines = range(params.range.start.line + 1, params.range.end.line + 2)
            result += self.runtime.rerun_actions(doc.uri, where, lines)
        self.timed("codeAction", started)
        return result

    async def resolve_action(self, action: lsp.CodeAction) -> lsp.CodeAction:
        """The action with its edits (``resolve_offer``) on the document's current text; an
        action that needs none as it is. The edit is for the version it was computed on:
        when the document changed meanwhile, it is computed again (a few times at most), so a
        stale edit never reaches a client that applies edits without checking versions."""
        request = actions.resolve_request(action)
        if request is None:
            return action
        started = time.perf_counter()
        doc = self.document(request.uri)
        for _ in range(3):
            analysis = await self.fresh_analysis(doc)
            resolution = await self.resolve_offer(doc, analysis, request.kind, request.fingerprint)
            if (
                self.documents.get(doc.uri) is doc
                and doc.version == analysis.version
                and doc.text == analysis.text
            ):
                break
        else:
            resolution = Resolution(refused=KEPT_CHANGING)
        if request.kind is OfferKind.FIX_ALL and resolution.refused is None and resolution.new_text is None:
            resolution = Resolution(refused=NOTHING_TO_FIX)
        actions.resolved(action, resolution, self.action_context(doc, analysis))
        self.timed("codeActionResolve", started)
        return action

    @staticmethod
    def quick_fix_key(analysis: Analysis, stamp: str | bool | None, finding: Finding) -> tuple[object, ...]:
        return (*judge_key(analysis), stamp, finding.fingerprint)

    async def quick_fix(
        self, doc: Document, analysis: Analysis, finding: Finding, stamp: str | bool | None = False
    ) -> Fix | None:
        """The finding's fix alone on the analysed text, verified (``offers.verified_alone``,
        in the fix worker), or None; kept per text, config, re-export stamp and finding, so
        the code action computes it and its resolve finds it. ``stamp``: the re-export stamp
        if the caller read it (``Judgements.stamp``). Raises ``GuardFailure`` when the fix
        hangs or crashes the fix worker (and keeps nothing: it may not happen again)."""
        if stamp is False:
            stamp = await self.judgements.stamp(analysis.report)
        key = self.quick_fix_key(analysis, stamp, finding)
        kept = self.quick_fixes.get(key)
        if kept is not None:
            self.quick_fixes.move_to_end(key)
            self.judgements.counts["quickFixesReused"] += 1
            return kept[0]
        label = f"fix of {finding.code} at line {finding.line} of {doc.display_path}"
        args = (analysis.text, finding, analysis.report.path, analysis.config, self.ruleset, analysis.report)
        fix: Fix | None = await self.guarded_fix(label, verified_alone, *args)
        self.judgements.counts["quickFixes"] += 1
        self.quick_fixes[key] = (fix,)
        while len(self.quick_fixes) > QUICK_FIXES_KEPT:
            self.quick_fixes.popitem(last=False)
        return fix

    def action_context(self, doc: Document, analysis: Analysis) -> ActionContext:
        return ActionContext(
            uri=doc.uri,
            version=analysis.version,
            text=analysis.text,
            config=analysis.config,
            ruleset=self.ruleset,
            mapper=analysis.mapper(self.encoding),
            unsafe=analysis.config.unsafe_fixes,
            document_changes=self.document_changes,
            facts=analysis.facts,
        )

    async def guarded_fix(self, label: str, func: Callable[..., T], *args: Any) -> T:
        """``func(*args)`` in the fix worker (``ems.runtime.guard``) from the fix thread:
        libcst that hangs or crashes costs this call (``GuardFailure``), not the server."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.fix_pool, lambda: self.fix_guard.call(label, func, *args))

    async def resolve_offer(
        self, doc: Document, analysis: Analysis, kind: OfferKind, fingerprint: str | None
    ) -> Resolution:
        """The edits of one offer on the analysed text; a fix that cannot be computed or
        verified is refused with the reason. A quick fix is the finding's fix alone
        (``quick_fix``), the same one its code action was offered for on this text."""
        if kind is OfferKind.FIX_ALL:
            label = f"fix-all of {doc.display_path}"
            args = (analysis.text, analysis.report.path, analysis.config, self.ruleset)
            try:
                resolution: Resolution = await self.guarded_fix(label, resolve_fix_all, *args)
            except GuardFailure as exc:
                resolution = Resolution(refused=f"the fix could not be computed: {exc}")
            return resolution
        finding = analysis.finding(str(fingerprint))
        if finding is None:
            raise JsonRpcContentModified("the problem this action was for is gone")
        if kind is OfferKind.NOQA:
            return await asyncio.get_running_loop().run_in_executor(
                self.fix_pool, resolve_noqa, analysis.facts, finding
            )
        try:
            fix = await self.quick_fix(doc, analysis, finding)
        except GuardFailure as exc:
            return Resolution(refused=f"the fix could not be computed: {exc}")
        if fix is None:
            return Resolution(refused=NOT_VERIFIED)
        if fix.safety is not Safety.SAFE and not analysis.config.unsafe_fixes:
            return Resolution(refused=UNSAFE_OFF)
        return Resolution(edits=fix.edits)
