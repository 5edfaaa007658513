"""Every LSP feature of the ems language server, registered in this one readable module.

``create_server()`` builds a server (loading the rules, starting its executors) and
registers the handlers below: each translates an LSP request into calls on the server's
state (``ems.server.app``) and the helpers in ``diagnostics``, ``actions``, ``hover`` and
``positions``. Nothing is built at import time.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcInternalError,
    JsonRpcInvalidParams,
)
from pygls.uris import from_fs_path, to_fs_path

from ems import __version__
from ems.core.config import CONFIG_FILES
from ems.fixes.offers import OfferKind
from ems.server import actions, hover, monitoring
from ems.server.app import CMD_FIX_ALL, CMD_SCAN, CMD_STATUS, EmsLanguageServer
from ems.server.documents import Document
from ems.server.runtime_errors import CMD_RERUN, rerun
from ems.server.settings import RUN_ON_SAVE, RUN_ON_TYPE

log = logging.getLogger("ems.server")

WATCHER_ID = "ems-config-watcher"
# Python files changed, and any file or folder created or deleted: what can change which
# names other modules import from a file (the fixability judgements' re-export stamps).
PROJECT_WATCHERS = (
    lsp.FileSystemWatcher(glob_pattern="**/*.py"),
    lsp.FileSystemWatcher(glob_pattern="**/*.pyi"),
    lsp.FileSystemWatcher(glob_pattern="**/*", kind=lsp.WatchKind.Create | lsp.WatchKind.Delete),
)


# --- lifecycle -------------------------------------------------------------------------


def on_initialize(ls: EmsLanguageServer, params: lsp.InitializeParams) -> None:
    folders = [f.uri for f in params.workspace_folders or []]
    if not folders and params.root_uri:
        folders = [params.root_uri]
    ls.set_folders(folders)
    ls.apply_settings(params.initialization_options or {})
    ls.init_settings = ls.settings
    log.info("initialized: encoding=%s pull=%s folders=%s", ls.encoding, ls.pull_mode, folders)


async def on_initialized(ls: EmsLanguageServer, params: lsp.InitializedParams) -> None:
    # Start the analysis worker process now, not on the first didOpen; and the fix worker,
    # not while the first document's incremental state is built (a keystroke waits for that).
    asyncio.get_running_loop().run_in_executor(ls.analyser.executor, ls.analyser.prewarm)
    ls.warm_fix_worker()
    ls.sampler = monitoring.start(ls)  # project log file, crash-loop bound, sampler thread
    if ls._cap("workspace", "did_change_watched_files", "dynamic_registration"):
        watchers = [lsp.FileSystemWatcher(glob_pattern=f"**/{name}") for name in CONFIG_FILES]
        watchers += PROJECT_WATCHERS
        registration = lsp.Registration(
            id=WATCHER_ID,
            method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
            register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=watchers),
        )
        try:
            await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[registration]))
            ls.judgements.watching = True  # the client now tells us of changes on disk
        except Exception as exc:
            log.warning("could not register file watchers: %s", exc)
    ls.runtime_watch = asyncio.get_running_loop().create_task(ls.watch_runs())
    before = ls.settings, dict(ls.folder_settings)
    await ls.pull_settings()
    if (ls.settings, ls.folder_settings) != before:
        ls.refresh_all()


def on_shutdown(ls: EmsLanguageServer, params: None) -> None:
    ls.debouncer.cancel_all()
    ls.judgements.close()
    monitoring.stop(ls)
    if ls.runtime_watch is not None:
        ls.runtime_watch.cancel()
    ls.analyser.shutdown()
    ls.fix_pool.shutdown(wait=False, cancel_futures=True)
    # the fix worker may be busy with a slow fix (the guard's lock): stop it off the loop
    threading.Thread(target=ls.fix_guard.close, name="ems-fix-close", daemon=True).start()


# --- document sync ---------------------------------------------------------------------


def did_open(ls: EmsLanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    path = to_fs_path(item.uri) if item.uri.startswith("file:") else None
    doc = Document(item.uri, Path(path) if path else None, item.text, item.version)
    ls.documents[item.uri] = doc
    ls.schedule(doc)


def did_change(ls: EmsLanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return
    doc.apply(list(params.content_changes), params.text_document.version, ls.encoding)
    ls.judgements.edited(doc.uri)
    settings = ls.settings_for(doc)
    if settings.run == RUN_ON_TYPE:
        ls.schedule(doc, settings.debounce_ms)
    else:
        ls.debouncer.cancel(doc.uri)  # an older on-type run would publish stale results


def did_save(ls: EmsLanguageServer, params: lsp.DidSaveTextDocumentParams) -> None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return
    doc.saved = (doc.version, doc.text)
    ls.judgements.files_changed()  # the saved file is on disk now: other files' judgements
    on_save = ls.settings_for(doc).run == RUN_ON_SAVE
    if on_save and ls.pull_mode and ls._cap("workspace", "diagnostics", "refresh_support"):
        ls.workspace_diagnostic_refresh(None)  # pull clients ask again and get the saved text's
    elif on_save or doc.published_version != doc.version:
        ls.schedule(doc)


def did_close(ls: EmsLanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    uri = params.text_document.uri
    ls.debouncer.cancel(uri)
    ls.judgements.edited(uri)
    ls.documents.pop(uri, None)
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=uri, diagnostics=[]))


# --- configuration -------------------------------------------------------------------


async def did_change_configuration(ls: EmsLanguageServer, params: lsp.DidChangeConfigurationParams) -> None:
    if ls._cap("workspace", "configuration"):
        await ls.pull_settings()
    elif params.settings:
        ls.apply_settings(params.settings, base=ls.init_settings)
    ls.refresh_all()


def did_change_watched_files(ls: EmsLanguageServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    names = {Path(to_fs_path(change.uri) or change.uri).name for change in params.changes}
    if params.changes:
        ls.judgements.files_changed()
    if names & set(CONFIG_FILES):
        ls.folder_configs.invalidate()
        ls.reported.clear()  # a config error that comes back is shown again
        ls.log_to_client("configuration file changed; reloading and re-analysing open documents")
        ls.refresh_all()


def did_change_folders(ls: EmsLanguageServer, params: lsp.DidChangeWorkspaceFoldersParams) -> None:
    current = {from_fs_path(str(f)) for f in ls.folder_configs.folders}
    current -= {f.uri for f in params.event.removed}
    current |= {f.uri for f in params.event.added}
    ls.set_folders(sorted(u for u in current if u))
    ls.refresh_all()


# --- diagnostics (pull) --------------------------------------------------------------


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
        ls.judge_when_idle(doc, analysis)
    ls.timed("pull", started)
    if params.previous_result_id == analysis.result_id:
        return lsp.RelatedUnchangedDocumentDiagnosticReport(result_id=analysis.result_id)
    return lsp.RelatedFullDocumentDiagnosticReport(
        items=ls.diagnostics(analysis, doc.uri), result_id=analysis.result_id
    )


async def workspace_diagnostics(
    ls: EmsLanguageServer, params: lsp.WorkspaceDiagnosticParams
) -> lsp.WorkspaceDiagnosticReport:
    previous = {p.uri: p.value for p in params.previous_result_ids or []}
    items: list[lsp.WorkspaceDocumentDiagnosticReport] = []
    for item in await ls.workspace_reports(previous):
        uri, version, result_id, analysis = item.uri, item.version, item.result_id, item.analysis
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


async def code_action(
    ls: EmsLanguageServer, params: lsp.CodeActionParams
) -> list[lsp.CodeAction | lsp.Command] | None:
    doc = ls.documents.get(params.text_document.uri)
    return None if doc is None else await ls.code_actions(doc, params)


async def resolve_code_action(ls: EmsLanguageServer, action: lsp.CodeAction) -> lsp.CodeAction:
    return await ls.resolve_action(action)


# --- hover ---------------------------------------------------------------------------


async def on_hover(ls: EmsLanguageServer, params: lsp.HoverParams) -> lsp.Hover | None:
    doc = ls.documents.get(params.text_document.uri)
    if doc is None:
        return None
    analysis = await ls.fresh_analysis(doc)
    mapper = analysis.mapper(ls.encoding)
    found = hover.findings_at(analysis.report.findings, mapper, params.position)
    if any(f.fixable for f in found):
        report = await ls.fixable_report(analysis)
        found = hover.findings_at(report.findings, mapper, params.position)
    result = hover.hover(found, mapper, ls.ruleset, analysis.config.unsafe_fixes)
    lines = analysis.text.splitlines()
    runtime = ls.runtime.hover(
        doc.resolved_path,
        params.position.line + 1,
        lambda n: lines[n - 1] if 0 < n <= len(lines) else None,
    )
    return hover.with_runtime(result, runtime)


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


def _no_arguments(args: tuple[Any, ...], command: str) -> None:
    """No argument, ``null`` or ``{}`` (what clients send for "nothing")."""
    if args not in ((), (None,)) and not (len(args) == 1 and isinstance(args[0], dict) and not args[0]):
        raise JsonRpcInvalidParams(f"{command} takes no arguments; got {list(args)!r}")


async def cmd_fix_all(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Apply every allowed fix to an open document through ``workspace/applyEdit``."""
    doc = ls.document(_uri_argument(args, CMD_FIX_ALL))
    analysis = await ls.fresh_analysis(doc)
    resolution = await ls.resolve_offer(doc, analysis, OfferKind.FIX_ALL, None)
    if resolution.refused is not None:
        raise JsonRpcInternalError(resolution.refused)
    applied = [{"code": code, "title": title} for code, title in resolution.applied]
    if resolution.new_text is None:
        return {"applied": [], "changed": False}
    edit = actions.whole_text_edit(analysis.text, resolution.new_text, ls.action_context(doc, analysis))
    response = await ls.workspace_apply_edit_async(
        lsp.ApplyWorkspaceEditParams(edit=edit, label="ems: fix all")
    )
    return {"applied": applied, "changed": bool(response and response.applied)}


async def cmd_scan_workspace(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Analyse every Python file of the workspace; push its diagnostics (push clients)."""
    _no_arguments(args, CMD_SCAN)
    summary = await ls.scan_workspace()
    return {
        "files": summary.files,
        "findings": summary.findings,
        "byCode": summary.by_code,
        "seconds": summary.seconds,
        "recordedScans": list(summary.recorded),
    }


async def cmd_rerun_test(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Run the given tests with ``ems test``'s machinery, then show the new state."""
    arg = args[0] if len(args) == 1 and isinstance(args[0], dict) else None
    if arg is None or not isinstance(arg.get("nodeids"), list) or not isinstance(arg.get("root"), str):
        raise JsonRpcInvalidParams(f"{CMD_RERUN} takes one argument: {{root, nodeids}}")
    result = await rerun(Path(arg["root"]), [str(n) for n in arg["nodeids"]])
    loop = asyncio.get_running_loop()
    ls.republish(await loop.run_in_executor(ls.fix_pool, ls.runtime.reload_now))
    return result


def cmd_status(ls: EmsLanguageServer, *args: Any) -> dict[str, Any]:
    """Version, rules, settings and timings: what a user pastes into a bug report."""
    _no_arguments(args, CMD_STATUS)
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
        "fixability": dict(ls.judgements.counts),
        "events": ls.events.snapshot(),
        "memory": {"rssBytes": ls.process.rss(), "limitBytes": ls.memory.limit},
        "workers": {"analysis": ls.analyser.guard.worker_pid, "fix": ls.fix_guard.worker_pid},
        "uptimeSeconds": round(time.time() - ls.started, 1),
    }


def create_server() -> EmsLanguageServer:
    """A new language server with every feature registered (``ems serve`` starts it)."""
    server = EmsLanguageServer()
    server.feature(lsp.INITIALIZE)(on_initialize)
    server.feature(lsp.INITIALIZED)(on_initialized)
    server.feature(lsp.SHUTDOWN)(on_shutdown)
    server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(lsp.TEXT_DOCUMENT_DID_SAVE, lsp.SaveOptions(include_text=False))(did_save)
    server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature(lsp.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)
    server.feature(lsp.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_folders)
    server.feature(
        lsp.TEXT_DOCUMENT_DIAGNOSTIC,
        lsp.DiagnosticOptions(identifier="ems", inter_file_dependencies=False, workspace_diagnostics=True),
    )(pull_diagnostics)
    server.feature(lsp.WORKSPACE_DIAGNOSTIC)(workspace_diagnostics)
    server.feature(
        lsp.TEXT_DOCUMENT_CODE_ACTION,
        lsp.CodeActionOptions(
            code_action_kinds=[
                lsp.CodeActionKind.QuickFix,
                lsp.CodeActionKind.SourceFixAll,
                actions.FIX_ALL_KIND,
            ],
            resolve_provider=True,
        ),
    )(code_action)
    server.feature(lsp.CODE_ACTION_RESOLVE)(resolve_code_action)
    server.feature(lsp.TEXT_DOCUMENT_HOVER)(on_hover)
    server.command(CMD_FIX_ALL)(cmd_fix_all)
    server.command(CMD_SCAN)(cmd_scan_workspace)
    server.command(CMD_RERUN)(cmd_rerun_test)
    server.command(CMD_STATUS)(cmd_status)
    return server
