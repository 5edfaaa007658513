"""Applying text edits to a document, and writing files atomically."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import BinaryIO

from ems.core.model import TextEdit
from ems.core.source import SourceText


class EditConflict(ValueError):
    """Two edits overlap."""


def edit_offsets(source: SourceText, edit: TextEdit) -> tuple[int, int]:
    start = source.offset(edit.range.start.line, edit.range.start.column)
    end = source.offset(edit.range.end.line, edit.range.end.column)
    return start, end


def apply_edits(text: str, edits: Iterable[TextEdit], source: SourceText | None = None) -> str:
    """``text`` with ``edits`` applied. ``source``: ``text``'s own ``SourceText`` when the
    caller has one (its line starts are then not found again: judging a file applies
    several batches to the same text)."""
    source = source if source is not None else SourceText(text)
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
    """Write via a temporary file + rename, keeping mode and owner; refuse if the file changed."""

    if expected is not None:
        try:
            current = path.read_bytes()
        except OSError as exc:
            raise FileChanged(f"{path}: cannot re-read before writing: {exc}") from None
        if current != expected:
            raise FileChanged(f"{path}: changed on disk since it was read; not written")
    write_atomically(path, lambda handle: handle.write(data))


def write_atomically(path: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Write what ``fill`` writes into a temporary file beside ``path``, then rename it over
    ``path``, keeping its mode and owner: a failure half-way leaves the old file whole."""
    import tempfile  # only when writing: ``ems fix --diff`` and a warm run need none

    target = path.resolve()
    info = target.stat() if target.exists() else None
    mode = info.st_mode & 0o7777 if info is not None else 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".ems-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            fill(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if (
            info is not None
            and hasattr(os, "chown")
            and (info.st_uid, info.st_gid) != (os.getuid(), os.getgid())
        ):
            # run as root (CI containers), the new file would otherwise become root's
            with contextlib.suppress(OSError):  # only root may give a file away
                os.chown(tmp, info.st_uid, info.st_gid)
        os.chmod(tmp, mode)  # after chown, which clears set-id bits
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
