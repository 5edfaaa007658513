"""Guarding the LSP base protocol's framing on stdin.

pygls keeps reading header lines forever after a header block without a valid
``Content-Length``: the server is then alive but deaf. Framing cannot be
re-synchronised, so the guard ends the input instead; the server exits with an error
and the editor restarts a working one.
"""

from __future__ import annotations

import logging
import re
from typing import BinaryIO

log = logging.getLogger("ems.server")

_CONTENT_LENGTH = re.compile(rb"^Content-Length: *(\d+)\r?\n$", re.IGNORECASE)


class FramedInput:
    """A stdin wrapper that turns broken framing into end of input (``broken`` is set)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.broken = False
        self._has_length = False

    def readline(self) -> bytes:
        if self.broken:
            return b""
        line = self.stream.readline()
        if not line:
            return line
        if not line.strip():
            if not self._has_length:
                self.broken = True
                log.error("message header without a valid Content-Length; closing the connection")
                return b""
            self._has_length = False
        elif _CONTENT_LENGTH.match(line):
            self._has_length = True
        return line

    def read(self, size: int = -1) -> bytes:
        return b"" if self.broken else self.stream.read(size)

    def close(self) -> None:
        self.stream.close()
