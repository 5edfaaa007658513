"""Helpers for the language-server tests: the real ``ems serve`` over stdio via pytest-lsp.

Each test starts its own server process (about half a second) so settings and state never
leak between tests. The client records every ``publishDiagnostics`` with its version and
answers ``workspace/applyEdit`` by applying the edit to its copy of the documents, which is
how the tests check the text an editor would end up with.
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lsp_text import apply_text_change
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient
from pytest_lsp.client import DEFAULT_CLIENT_FEATURES

from ems.server.positions import UTF16

SERVER_COMMAND = [sys.executable, "-m", "ems", "serve", "--log-level", "info"]
TIMEOUT = 15.0
# Colleagues keep adding rules; tests that compare exact code lists select these.
STABLE_RULES = ["E711", "E999", "EMS901", "F401", "F541", "F811", "RUF100"]


@dataclass
class Recorder:
    published: list[lsp.PublishDiagnosticsParams] = field(default_factory=list)
    applied_edits: list[lsp.WorkspaceEdit] = field(default_factory=list)
    texts: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    encoding: str = UTF16


class LspTestClient(LanguageClient):
    recorder: Recorder


def make_client() -> LspTestClient:
    client = LspTestClient()
    client.recorder = Recorder()
    for method, func in DEFAULT_CLIENT_FEATURES.items():
        if method != lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS:
            client.feature(method)(func)

    @client.feature(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_publish(ls: LspTestClient, params: lsp.PublishDiagnosticsParams) -> None:
        ls.diagnostics[params.uri] = params.diagnostics
        ls.recorder.published.append(params)

    @client.feature(lsp.WORKSPACE_APPLY_EDIT)
    def on_apply_edit(
        ls: LspTestClient, params: lsp.ApplyWorkspaceEditParams
    ) -> lsp.ApplyWorkspaceEditResult:
        ls.recorder.applied_edits.append(params.edit)
        for uri, text in apply_workspace_edit(params.edit, ls.recorder.texts, ls.recorder.encoding).items():
            # Like an editor: the edited buffer is sent back to the server as a change.
            change_document(ls, uri, [lsp.TextDocumentContentChangeWholeDocument(text=text)])
        return lsp.ApplyWorkspaceEditResult(applied=True)

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def on_register(ls: LspTestClient, params: lsp.RegistrationParams) -> None:
        return None

    return client


def capabilities(
    *,
    pull: bool = False,
    resolve: bool = True,
    encodings: list[str] | None = None,
    configuration: bool = True,
    document_changes: bool = True,
    watch_files: bool = True,
) -> lsp.ClientCapabilities:
    """A client like VS Code (push or pull diagnostics, lazy code-action edits)."""
    return lsp.ClientCapabilities(
        general=lsp.GeneralClientCapabilities(position_encodings=encodings) if encodings else None,
        workspace=lsp.WorkspaceClientCapabilities(
            configuration=configuration,
            apply_edit=True,
            workspace_edit=lsp.WorkspaceEditClientCapabilities(document_changes=document_changes),
            did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(
                dynamic_registration=watch_files
            ),
            diagnostics=lsp.DiagnosticWorkspaceClientCapabilities(refresh_support=True) if pull else None,
        ),
        text_document=lsp.TextDocumentClientCapabilities(
            synchronization=lsp.TextDocumentSyncClientCapabilities(did_save=True),
            publish_diagnostics=lsp.PublishDiagnosticsClientCapabilities(
                version_support=True,
                related_information=True,
                tag_support=lsp.ClientDiagnosticsTagOptions(
                    value_set=[lsp.DiagnosticTag.Unnecessary, lsp.DiagnosticTag.Deprecated]
                ),
                code_description_support=True,
                data_support=True,
            ),
            diagnostic=lsp.DiagnosticClientCapabilities(related_document_support=False) if pull else None,
            code_action=lsp.CodeActionClientCapabilities(
                data_support=True,
                resolve_support=lsp.ClientCodeActionResolveOptions(properties=["edit"]) if resolve else None,
                is_preferred_support=True,
            ),
            hover=lsp.HoverClientCapabilities(content_format=[lsp.MarkupKind.Markdown]),
        ),
    )


@asynccontextmanager
async def running_server(
    root: Path,
    *,
    init_options: dict[str, Any] | None = None,
    client_settings: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    folders: list[Path] | None = None,
    **caps: Any,
) -> AsyncIterator[LspTestClient]:
    """Start ``ems serve``, initialize it on ``root`` (or ``folders``) and shut it down after.

    Unless ``init_options`` says otherwise, only ``STABLE_RULES`` are selected.
    """
    init_options = {"select": STABLE_RULES, **(init_options or {})}
    server_env = {**os.environ, **(env or {})}
    config = ClientServerConfig(
        server_command=SERVER_COMMAND, client_factory=make_client, server_env=server_env
    )
    client: LspTestClient = await config.start()  # type: ignore[assignment]
    if client_settings is not None:
        client.set_configuration(client_settings)
    folders = folders or [root]
    try:
        result = await asyncio.wait_for(
            client.initialize_session(
                lsp.InitializeParams(
                    capabilities=capabilities(**caps),
                    root_uri=root.as_uri(),
                    workspace_folders=[lsp.WorkspaceFolder(uri=f.as_uri(), name=f.name) for f in folders],
                    initialization_options=init_options,
                )
            ),
            TIMEOUT,
        )
        enc = result.capabilities.position_encoding
        client.recorder.encoding = str(getattr(enc, "value", enc) or UTF16)
        yield client
    finally:
        await stop_client(client)


async def stop_client(client: LanguageClient) -> None:
    """Shut the server down politely; kill it if it does not answer (a failed test must not hang)."""
    try:
        await asyncio.wait_for(client.shutdown_session(), 5)
    except (Exception, asyncio.CancelledError):
        process = getattr(client, "_server", None)
        if process is not None and process.returncode is None:
            process.kill()
    await asyncio.wait_for(client.stop(), 10)


def open_document(client: LspTestClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.recorder.texts[uri] = text
    client.recorder.versions[uri] = version
    client.text_document_did_open(
        lsp.DidOpenTextDocumentParams(
            lsp.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )
    return uri


def change_document(
    client: LspTestClient, uri: str, changes: list[lsp.TextDocumentContentChangeEvent]
) -> int:
    version = client.recorder.versions[uri] + 1
    client.recorder.versions[uri] = version
    text = client.recorder.texts[uri]
    for change in changes:
        text = apply_text_change(text, change, client.recorder.encoding)
    client.recorder.texts[uri] = text
    client.text_document_did_change(
        lsp.DidChangeTextDocumentParams(
            lsp.VersionedTextDocumentIdentifier(uri=uri, version=version), changes
        )
    )
    return version


def files_changed(client: LspTestClient, *paths: Path) -> None:
    """Tell the server files changed on disk, as an editor watching them does."""
    client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            changes=[lsp.FileEvent(uri=p.as_uri(), type=lsp.FileChangeType.Changed) for p in paths]
        )
    )


def edit_range(
    line: int, char: int, end_line: int, end_char: int, text: str
) -> lsp.TextDocumentContentChangePartial:
    return lsp.TextDocumentContentChangePartial(
        range=lsp.Range(lsp.Position(line, char), lsp.Position(end_line, end_char)), text=text
    )


async def wait_for_diagnostics(
    client: LspTestClient, uri: str, version: int | None = None, timeout: float = TIMEOUT
) -> list[lsp.Diagnostic]:
    """The diagnostics published for ``uri`` (for ``version`` when given)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        for params in reversed(client.recorder.published):
            if params.uri == uri and (version is None or params.version == version):
                return list(params.diagnostics)
        await asyncio.sleep(0.01)
    raise AssertionError(f"no diagnostics for {uri} version {version}; got {client.recorder.published!r}")


def apply_workspace_edit(edit: lsp.WorkspaceEdit, texts: dict[str, str], encoding: str) -> dict[str, str]:
    """Apply a WorkspaceEdit the way an editor does (edits of one document are simultaneous)."""
    per_uri: dict[str, list[lsp.TextEdit]] = {}
    for uri, edits in (edit.changes or {}).items():
        per_uri.setdefault(uri, []).extend(edits)
    for change in edit.document_changes or []:
        assert isinstance(change, lsp.TextDocumentEdit), change
        per_uri.setdefault(change.text_document.uri, []).extend(
            e for e in change.edits if isinstance(e, lsp.TextEdit)
        )
    out: dict[str, str] = {}
    for uri, edits in per_uri.items():
        text = texts[uri]
        # Apply from the end so earlier ranges stay valid.
        for e in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
            text = apply_text_change(
                text, lsp.TextDocumentContentChangePartial(range=e.range, text=e.new_text), encoding
            )
        out[uri] = text
    return out


def codes(diagnostics: list[lsp.Diagnostic]) -> list[str]:
    return sorted(str(d.code) for d in diagnostics)
