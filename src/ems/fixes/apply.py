"""Applying text edits to a document, and writing files atomically."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ems.core.model import TextEdit
from ems.core.source import SourceText


class EditConflict(ValueError):
    """Two edits overlap."""


def edit_offsets(source: SourceText, edit: TextEdit) -> tuple[int, int]:
    start = source.offset(edit.range.start.line, edit.range.start.column)
    end = source.offset(edit.range.end.line, edit.range.end.column)
    return start, end


def apply_edits(text: str, edits: Iterable[TextEdit]) -> str:
    source = SourceText(text)
    spans = sorted(((*edit_offsets(source, e), e.new_text) for e in edits), key=lambda s: (s[0], s[1]))
    out = []
    cursor = 0
    for start, end, new_text in spans:
        if start < cursor:
            raise EditConflict("overlapping edits")
        out.append(text[cursor:start])
        out.append(new_text)
        cursor = end
    out.append(text[cursor:])
    return "".join(out)


class FileChanged(RuntimeError):
    """The file on disk is not the one the fix was computed from."""


def atomic_write(path: Path, data: bytes, expected: bytes | None = None) -> None:
    """Write via a temporary file + rename, keeping the mode; refuse if the file changed."""
    if expected is not None:
        try:
            current = path.read_bytes()
        except OSError as exc:
            raise FileChanged(f"{path}: cannot re-read before writing: {exc}") from None
        if current != expected:
            raise FileChanged(f"{path}: changed on disk since it was read; not written")
    target = path.resolve()
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".ems-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
