"""Reading a source file without ever blocking: the one reader of files ems discovers.

A directory walk can meet a FIFO, socket or device named ``*.py``; ``open`` on a FIFO
blocks until a writer appears, so every reader of discovered files goes through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_FILE_BYTES = 50 * 1024 * 1024


def read_regular(path: Path | str) -> tuple[bytes | str, os.stat_result | None]:
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
