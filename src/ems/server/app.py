"""The ems language server: every LSP feature registered in this one readable module.

The server is a thin face over ``ems.core`` (findings) and ``ems.fixes`` (verified libcst
fixes). Handlers translate LSP requests into core calls and core results into LSP types;
the translations live in ``diagnostics``, ``actions``, ``hover`` and ``positions``, the
per-document machinery in ``documents`` and settings in ``settings``.

Push or pull: a client that supports ``textDocument/diagnostic`` pulls, and then the
server does not push (a client showing both would list every problem twice); any other
client gets ``textDocument/publishDiagnostics`` with the analysed version.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Generator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcInvalidParams,
    JsonRpcInvalidRequest,
    JsonRpcParseError,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method
from pygls.uris import from_fs_path, to_fs_path

from ems import __version__
from ems.core.config import Config, ConfigError
from ems.core.model import Report
from ems.core.registry import load_rules
from ems.rules.e902_io_error import IOErrorRule
from ems.runtime.events import EventBus, publish_counters
from ems.runtime.monitor import DEFAULT_MEMORY_LIMIT, MemoryWatch, ProcessMonitor
from ems.runtime.scan import FileResult, scan
from ems.server import actions, hover
from ems.server.diagnostics import to_diagnostic
from ems.server.documents import Analyser, Analysis, Debouncer, Document, content_hash
from ems.server.positions import UTF16
from ems.server.settings import RUN_ON_SAVE, RUN_ON_TYPE, FolderConfigs, Settings, parse_settings

log = logging.getLogger("ems.server")

CONFIG_FILE_NAMES = ("pyproject.toml", "ems.toml")
WATCHER_ID = "ems-config-watcher"
CMD_FIX_ALL = "ems.fixAll"
CMD_SCAN = "ems.scanWorkspace"
CMD_STATUS = "ems.status"


class RejectedMessage(Exception):
    """A message that cannot be handled, with the JSON-RPC error its sender is owed."""

    def __init__(self, msg_id: int | str | None, error: JsonRpcException) -> None:
        super().__init__(error.message)
        self.msg_id = msg_id
        self.error = error


class EmsProtocol(LanguageServerProtocol):
    """pygls's protocol, except that it does not keep its own copy of an open document's text.

    pygls splits lines with ``str.splitlines`` (which also breaks at form feeds and U+2028) and
    clamps, in place, any position it believes lies past a line's end, so on a line after a
    form feed it rewrote ``1:5`` to ``1:2`` before our handler saw it. The server applies the
    changes itself (``Document.apply``) from the untouched originals.
    """

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: lsp.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        # pygls's own copy of the text is not kept up to date: nothing reads it, and
        # copying and applying every change to it cost ~3 ms per keystroke on a 5,000-line
        # file. The server applies the changes itself (``Document.apply``).
        if (handler := self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    def structure_message(self, data: dict[str, Any]) -> Any:
        """pygls logs a request whose params do not fit and drops it; answer it instead."""
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            is_request = "method" in data and "id" in data
            raise RejectedMessage(data.get("id") if is_request else None, exc) from exc

    def handle_message(self, message: Any) -> None:
        """Batches, bare values and objects without ``jsonrpc`` are Invalid Requests."""
        if not hasattr(message, "jsonrpc"):
            self.reply_error(None, JsonRpcInvalidRequest())
            return
        super().handle_message(message)

    def reply_error(self, msg_id: int | str | None, error: JsonRpcException) -> None:
        self._send_response(msg_id, error=lsp.ResponseError(code=error.code, message=error.message))


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
        self.request_ms: dict[str, list[float]] = {}
        self.started = time.time()
        # Past the RSS limit the analysis cache is dropped and the worker replaced; the
        # events (drops, time-outs, crashes, restarts) are counted in one place.
        self.events = self.analyser.guard.events
        publish_counters(self.events, self.bus)
        self.process = ProcessMonitor()
        self.memory = MemoryWatch(DEFAULT_MEMORY_LIMIT, self.events, monitor=self.process)
        self.memory.register("analysis-cache", self.analyser.clear)
        self.memory.register("analysis-worker", self.analyser.guard.recycle)

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
        ]

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
        self.text_document_publish_diagnostics(
            lsp.PublishDiagnosticsParams(
                uri=uri, diagnostics=self.diagnostics(analysis, uri), version=doc.version
            )
        )
        self.timed("publish", started)

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

    def scan_closed_files(self) -> tuple[list[tuple[Path, FileResult]], list[str]]:
        """Every workspace file through the project scan: parallel, and served from the
        persistent ``.ems/cache`` that ``ems check`` shares, so unchanged files cost a stat.

        Runs in a worker thread, so it sends nothing itself.
        """
        results: list[tuple[Path, FileResult]] = []
        errors: list[str] = []
        for folder in self.folder_configs.folders:
            resolver = EditorConfigs(self, folder)
            try:
                scanned = scan(
                    [folder],
                    resolver,  # type: ignore[arg-type]
                    ruleset=self.ruleset,
                    use_cache=True,
                    keep_source=True,
                    bus=self.bus,
                )
                results.extend((folder, result) for result in scanned)
            except ConfigError as exc:
                errors.append(f"{exc} (workspace scan of {folder} skipped)")
        return results, errors

    def record_scans(self, by_folder: dict[Path, list[Report]], seconds: float) -> list[int]:
        """Record a workspace scan in each folder's store, for folders that are git
        repositories (the history and dashboard read it). A store error is logged, not raised.

        Runs in a worker thread: it talks to git and SQLite.
        """
        from ems.gitinfo.repo import scan_context
        from ems.gitinfo.scans import ServiceError, record_scan
        from ems.runtime.root import project_root

        recorded: list[int] = []
        for folder, reports in by_folder.items():
            if scan_context(folder).commit_sha is None:
                continue  # not a git repository (or no commit yet): nothing to anchor a scan to
            try:
                config = self.folder_configs.resolver(folder).for_folder(folder)
                recorded.append(
                    record_scan(
                        project_root(folder),
                        reports,
                        config_hash=config.fingerprint(),
                        duration_s=seconds,
                        source="server",
                        bus=self.bus,
                    )
                )
            except (ServiceError, ConfigError) as exc:
                log.warning("could not record the scan of %s: %s", folder, exc)
        return recorded

    async def workspace_reports(
        self, previous: dict[str, str] | None = None
    ) -> list[tuple[str, int | None, str, Analysis | None]]:
        """(uri, version, result id, analysis or None if unchanged) for each workspace file.

        Open documents are analysed from the editor's text; the others come from the cached
        project scan, so only files that changed on disk are analysed again.
        """
        out: list[tuple[str, int | None, str, Analysis | None]] = []
        previous = previous or {}
        loop = asyncio.get_running_loop()
        scanned, errors = await loop.run_in_executor(self.fix_pool, self.scan_closed_files)
        for error in errors:
            self.warn_once(error)
        for _folder, result in scanned:
            path = result.path
            uri = from_fs_path(str(path)) or path.resolve().as_uri()
            doc = self.documents.get(uri)
            if doc is not None:
                config = self.config_for(doc)
                result_id = f"{doc.version}:{content_hash(doc.text)}:{config.fingerprint()}"
                if previous.get(uri) == result_id:
                    out.append((uri, doc.version, result_id, None))
                    continue
                analysis = await self.analysis_for(doc)
                self.report_rule_errors(doc, analysis.report)
                out.append((uri, doc.version, result_id, analysis))
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
                out.append((uri, None, result_id, None))
                continue
            analysis = Analysis(None, text, result.report, config, result_id, 0.0)
            self.report_rule_errors(doc, result.report)
            out.append((uri, None, result_id, analysis))
        return out


server = EmsLanguageServer()


# --- lifecycle -------------------------------------------------------------------------


@server.feature(lsp.INITIALIZE)
def on_initialize(ls: EmsLanguageServer, params: lsp.InitializeParams) -> None:
    folders = [f.uri for f in params.workspace_folders or []]
    if not folders and params.root_uri:
        folders = [params.root_uri]
    ls.set_folders(folders)
    ls.apply_settings(params.initialization_options or {})
    ls.init_settings = ls.settings
    log.info("initialized: encoding=%s pull=%s folders=%s", ls.encoding, ls.pull_mode, folders)


@server.feature(lsp.INITIALIZED)
async def on_initialized(ls: EmsLanguageServer, params: lsp.InitializedParams) -> None:
    # Start the analysis worker process now, not on the first didOpen.
    asyncio.get_running_loop().run_in_executor(ls.analyser.executor, ls.analyser.prewarm)
    if ls._cap("workspace", "did_change_watched_files", "dynamic_registration"):
        watchers = [lsp.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILE_NAMES]
        registration = lsp.Registration(
            id=WATCHER_ID,
            method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[registration]))
        except Exception as exc:
            log.warning("could not register file watchers: %s", exc)
    before = ls.settings, dict(ls.folder_settings)
    await ls.pull_settings()
    if (ls.settings, ls.folder_settings) != before:
        ls.refresh_all()


@server.feature(lsp.SHUTDOWN)
def on_shutdown(ls: EmsLanguageServer, params: None) -> None:
    ls.debouncer.cancel_all()
    ls.analyser.shutdown()
    ls.fix_pool.shutdown(wait=False, cancel_futures=True)


# --- document sync ---------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: EmsLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    path = to_fs_path(item.uri) if item.uri.startswith("file:") else None
    doc = Document(item.uri, Path(path) if path else None, item.text, item.version)
    ls.documents[item.uri] = doc
    ls.schedule(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: EmsLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return
    doc.apply(list(params.content_changes), params.text_document.version, ls.encoding)
    settings = ls.settings_for(doc)
    if settings.run == RUN_ON_TYPE:
        ls.schedule(doc, settings.debounce_ms)
    else:
        ls.debouncer.cancel(doc.uri)  # an older on-type run would publish stale results


@server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))
def did_save(ls: EmsLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return
    doc.saved = (doc.version, doc.text)
    on_save = ls.settings_for(doc).run == RUN_ON_SAVE
    if on_save and ls.pull_mode and ls._cap("workspace", "diagnostics", "refresh_support"):
        ls.workspace_diagnostic_refresh(None)  # pull clients ask again and get the saved text's
    elif on_save or doc.published_version != doc.version:
        ls.schedule(doc)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: EmsLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.debouncer.cancel(uri)
    ls.documents.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# --- configuration -------------------------------------------------------------------


@server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)
async def did_change_configuration(ls: EmsLanguageServer, params: lsp.DidChangeConfigurationParams) -> None:
    if ls._cap("workspace", "configuration"):
        await ls.pull_settings()
    elif params.settings:
        ls.apply_settings(params.settings, base=ls.init_settings)
    ls.refresh_all()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def did_change_watched_files(ls: EmsLanguageServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    names = {Path(to_fs_path(change.uri) or change.uri).name for change in params.changes}
    if names & set(CONFIG_FILE_NAMES):
        ls.folder_configs.invalidate()
        ls.reported.clear()  # a config error that comes back is shown again
        ls.log_to_client("configuration file changed; reloading and re-analysing open documents")
        ls.refresh_all()


@server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)
def did_change_folders(ls: EmsLanguageServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
    current = {from_fs_path(str(f)) for f in ls.folder_configs.folders}
    current -= {f.uri for f in params.event.removed}
    current |= {f.uri for f in params.event.added}
    ls.set_folders(sorted(u for u in current if u))
    ls.refresh_all()


# --- diagnostics (pull) --------------------------------------------------------------


@server.feature(
    lsp.TEXT_DOCUMENT_DIAGNOSTIC,
    lsp.DiagnosticOptions(identifier="ems", inter_file_dependencies=False, workspace_diagnostics=True),
)
async def pull_diagnostics(
    ls: EmsLanguageServer, params: lsp.DocumentDiagnosticParams
) -> lsp.DocumentDiagnosticReport:
    started = time.perf_counter()
    doc = ls.document(params.text_document.uri)
    if ls.settings_for(doc).run == RUN_ON_SAVE and doc.saved is not None:
        # onSave: report what was saved, like a push client that keeps the last published list.
        version, text = doc.saved
        analysis = await ls.analyser.analyse(text, doc.display_path, ls.config_for(doc), version)
    else:
        analysis = await ls.fresh_analysis(doc)
    ls.timed("pull", started)
    if params.previous_result_id == analysis.result_id:
        return lsp.RelatedUnchangedDocumentDiagnosticReport(result_id=analysis.result_id)
    return lsp.RelatedFullDocumentDiagnosticReport(
        items=ls.diagnostics(analysis, doc.uri), result_id=analysis.result_id
    )


@server.feature(lsp.WORKSPACE_DIAGNOSTIC)
async def workspace_diagnostics(
    ls: EmsLanguageServer, params: lsp.WorkspaceDiagnosticParams
) -> lsp.WorkspaceDiagnosticReport:
    previous = {p.uri: p.value for p in params.previous_result_ids or []}
    items: list[lsp.WorkspaceDocumentDiagnosticReport] = []
    for uri, version, result_id, analysis in await ls.workspace_reports(previous):
        if analysis is None:
            items.append(
                lsp.WorkspaceUnchangedDocumentDiagnosticReport(uri=uri, version=version, result_id=result_id)
            )
        else:
            items.append(
                lsp.WorkspaceFullDocumentDiagnosticReport(
                    uri=uri, version=version, items=ls.diagnostics(analysis, uri), result_id=result_id
                )
            )
    return lsp.WorkspaceDiagnosticReport(items=items)


# --- code actions ----------------------------------------------------------------------


def _action_context(ls: EmsLanguageServer, doc: Document, analysis: Analysis) -> actions.ActionContext:
    return actions.ActionContext(
        uri=doc.uri,
        version=analysis.version,
        text=analysis.text,
        config=analysis.config,
        ruleset=ls.ruleset,
        mapper=analysis.mapper(ls.encoding),
        unsafe=analysis.config.unsafe_fixes,
        document_changes=ls.document_changes,
        facts=analysis.facts,
    )


@server.feature(
    lsp.TEXT_DOCUMENT_CODE_ACTION,
    lsp.CodeActionOptions(
        code_action_kinds=[
            lsp.CodeActionKind.QuickFix,
            lsp.CodeActionKind.SourceFixAll,
            actions.FIX_ALL_KIND,
        ],
        resolve_provider=True,
    ),
)
async def code_action(ls: EmsLanguageServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction] | None:
    started = time.perf_counter()
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return None
    analysis = await ls.fresh_analysis(doc)
    ctx = _action_context(ls, doc, analysis)
    only = [str(getattr(k, "value", k)) for k in params.context.only or []]
    asked = {
        d.data["fingerprint"]
        for d in params.context.diagnostics
        if isinstance(d.data, dict) and d.data.get("fingerprint") and d.source == "ems"
    }
    result: list[lsp.CodeAction] = []
    if actions.kind_wanted(lsp.CodeActionKind.QuickFix.value, only):
        wanted = ctx.mapper.range_from_lsp(params.range)
        for finding in analysis.report.findings:
            near = finding.range.start <= wanted.end and wanted.start <= finding.range.end
            if finding.fingerprint not in asked and not near:
                continue
            diagnostic = to_diagnostic(finding, ctx.mapper, doc.uri, ls.ruleset, analysis.version)
            for build in (actions.quick_fix, actions.suppress_action):
                action = build(finding, diagnostic, ctx)
                if action is not None:
                    result.append(action)
    if actions.kind_wanted(actions.FIX_ALL_KIND, only):
        action = actions.fix_all_action(ctx, analysis.report.findings)
        if action is not None:
            result.append(action)
    if not ls.can_resolve_edits:  # resolve now; drop what cannot be applied
        result = [await resolve_code_action(ls, a) if a.edit is None else a for a in result]
        result = [a for a in result if a.edit is not None]
    ls.timed("codeAction", started)
    return result


@server.feature(lsp.CODE_ACTION_RESOLVE)
async def resolve_code_action(ls: EmsLanguageServer, action: lsp.CodeAction) -> lsp.CodeAction:
    started = time.perf_counter()
    data = action.data if isinstance(action.data, dict) else {}
    kind = data.get("kind")
    if action.edit is not None or kind not in (actions.KIND_FIX, actions.KIND_FIX_ALL, actions.KIND_NOQA):
        return action
    doc = ls.document(str(data.get("uri")))
    analysis = await ls.fresh_analysis(doc)
    ctx = _action_context(ls, doc, analysis)
    loop = asyncio.get_running_loop()
    finding = None
    if kind in (actions.KIND_FIX, actions.KIND_NOQA):
        finding = analysis.finding(str(data.get("fingerprint")))
        if finding is None:
            raise JsonRpcContentModified("the problem this action was for is gone")
    if kind == actions.KIND_NOQA:
        assert finding is not None
        edit = await loop.run_in_executor(ls.fix_pool, actions.suppress_edit, finding, ctx)
        if edit is None:
            action.disabled = lsp.CodeActionDisabled(
                reason="a comment cannot go on this line (it ends inside a string or continues with a backslash)"
            )
        else:
            action.edit = edit
    elif kind == actions.KIND_FIX:
        assert finding is not None
        from ems.fixes import fixes_for

        fix = await loop.run_in_executor(
            ls.fix_pool,
            fixes_for,
            analysis.text,
            finding,
            doc.display_path,
            analysis.config,
            ls.ruleset,
            analysis.report,
        )
        if fix is None:
            action.disabled = lsp.CodeActionDisabled(
                reason="the fix could not be verified on the current text"
            )
            ls.log_to_client(
                f"no verified fix for {finding.code} at line {finding.line} of {doc.display_path}"
            )
        else:
            action.edit = actions.fix_edit(fix, ctx)
    else:
        result = await loop.run_in_executor(ls.fix_pool, _fix_all, ls, analysis)
        action.edit = actions.whole_text_edit(analysis.text, result, ctx)
    ls.timed("codeActionResolve", started)
    return action


def _fix_all(ls: EmsLanguageServer, analysis: Analysis) -> str:
    from ems.fixes import fix_all

    return fix_all(analysis.text, analysis.report.path, analysis.config, ruleset=ls.ruleset).text


# --- hover ---------------------------------------------------------------------------


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: EmsLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return None
    analysis = await ls.fresh_analysis(doc)
    mapper = analysis.mapper(ls.encoding)
    found = hover.findings_at(analysis.report.findings, mapper, params.position)
    return hover.hover(found, mapper, ls.ruleset, analysis.config.unsafe_fixes)


# --- commands ------------------------------------------------------------------------


def _uri_argument(args: tuple[Any, ...], command: str) -> str:
    """One argument: a document URI string, or an object with a ``uri`` string."""
    if len(args) != 1:
        raise JsonRpcInvalidParams(f"{command} takes one argument, the document URI; got {len(args)}")
    arg = args[0]
    if isinstance(arg, dict):
        arg = arg.get("uri")
    if not isinstance(arg, str) or ":" not in arg:
        raise JsonRpcInvalidParams(f"{command}: expected a document URI string, got {args[0]!r}")
    return arg


@server.command(CMD_FIX_ALL)
async def cmd_fix_all(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Apply every allowed fix to an open document through ``workspace/applyEdit``."""
    doc = ls.document(_uri_argument(args, CMD_FIX_ALL))
    analysis = await ls.fresh_analysis(doc)
    from ems.fixes import fix_all

    loop = asyncio.get_running_loop()
    result = await loop.run_in_executor(
        ls.fix_pool, lambda: fix_all(analysis.text, doc.display_path, analysis.config, ruleset=ls.ruleset)
    )
    applied = [{"code": code, "title": title} for code, title in result.applied]
    if not result.changed:
        return {"applied": [], "changed": False}
    edit = actions.whole_text_edit(analysis.text, result.text, _action_context(ls, doc, analysis))
    response = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=edit, label="ems: fix all")
    )
    return {"applied": applied, "changed": bool(response and response.applied)}


@server.command(CMD_SCAN)
async def cmd_scan_workspace(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Analyse every Python file of the workspace; push its diagnostics (push clients)."""
    if args not in ((), (None,)) and not (len(args) == 1 and isinstance(args[0], dict) and not args[0]):
        raise JsonRpcInvalidParams(f"{CMD_SCAN} takes no arguments; got {list(args)!r}")
    started = time.perf_counter()
    by_code: dict[str, int] = {}
    files = findings = 0
    by_folder: dict[Path, list[Report]] = {}
    for uri, version, _, analysis in await ls.workspace_reports():
        if analysis is None:
            continue
        path = to_fs_path(uri)
        folder = ls.folder_configs.folder_of(Path(path)) if path else None
        if folder is not None:
            by_folder.setdefault(folder, []).append(analysis.report)
        files += 1
        findings += len(analysis.report.findings)
        for finding in analysis.report.findings:
            by_code[finding.code] = by_code.get(finding.code, 0) + 1
        if not ls.pull_mode and uri not in ls.documents:
            ls.text_document_publish_diagnostics(
                lsp.PublishDiagnosticsParams(
                    uri=uri, diagnostics=ls.diagnostics(analysis, uri), version=version
                )
            )
    if ls.pull_mode and ls._cap("workspace", "diagnostics", "refresh_support"):
        ls.workspace_diagnostic_refresh(None)
    seconds = time.perf_counter() - started
    loop = asyncio.get_running_loop()
    recorded = await loop.run_in_executor(ls.fix_pool, ls.record_scans, by_folder, seconds)
    return {
        "files": files,
        "findings": findings,
        "byCode": dict(sorted(by_code.items())),
        "seconds": round(seconds, 3),
        "recordedScans": recorded,
    }


@server.command(CMD_STATUS)
def cmd_status(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Version, rules, settings and timings: what a user pastes into a bug report."""
    if args not in ((), (None,)) and not (len(args) == 1 and isinstance(args[0], dict) and not args[0]):
        raise JsonRpcInvalidParams(f"{CMD_STATUS} takes no arguments; got {list(args)!r}")
    requests = {
        name: {"count": len(v), "medianMs": round(sorted(v)[len(v) // 2], 2)}
        for name, v in ls.request_ms.items()
        if v
    }
    settings = asdict(ls.settings)
    settings.pop("warnings", None)
    return {
        "version": __version__,
        "positionEncoding": ls.encoding,
        "diagnosticMode": "pull" if ls.pull_mode else "push",
        "folders": [str(f) for f in ls.folder_configs.folders],
        "openDocuments": len(ls.documents),
        "settings": settings,
        "rules": [
            {
                "code": rule.code,
                "name": rule.name,
                "origin": ls.ruleset.origin(rule.code),
                "fix": rule.fix_safety.value if rule.fix_safety else None,
            }
            for rule in ls.ruleset.rules
        ],
        "timings": {"analysis": ls.analyser.timings(), "requests": requests},
        "events": ls.events.snapshot(),
        "memory": {"rssBytes": ls.process.rss(), "limitBytes": ls.memory.limit},
        "uptimeSeconds": round(time.time() - ls.started, 1),
    }
