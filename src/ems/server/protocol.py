"""The JSON-RPC side of the server: pygls's protocol with ems's fixes to it.

Kept apart from the features so the server module reads as "what ems answers", and this one
as "how messages are taken apart and refused".
"""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcException,
    JsonRpcInvalidRequest,
)
from pygls.protocol.language_server import LanguageServerProtocol, lsp_method


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
        # copying and applying every change to it is a measurable cost per keystroke
        # (docs/implementation/performance.md). The server applies the changes itself (``Document.apply``).
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
        # JSON-RPC answers a request whose id cannot be read with a null id; pygls's
        # annotation leaves None out.
        self._send_response(msg_id, error=lsp.ResponseError(code=error.code, message=error.message))  # type: ignore[arg-type]

    def notify_json(self, method: str, params: dict[str, Any]) -> None:
        """A notification whose params are already JSON (no lsprotocol objects to
        unstructure): the diagnostics published after every keystroke (``app.publish``)."""
        self._send_data({"jsonrpc": self.VERSION, "method": method, "params": params})
