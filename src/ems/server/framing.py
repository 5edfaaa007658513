"""Reading the LSP base protocol's frames from stdin.

Guarding the framing: pygls keeps reading header lines forever after a header block
without a valid ``Content-Length``: the server is then alive but deaf. Framing cannot be
re-synchronised, so the guard ends the input instead; the server exits with an error
and the editor restarts a working one.

Reading on the event loop: pygls reads every header line and every body in a thread
(``run_in_executor``), three thread hops per message before a keystroke's ``didChange`` is
even handled, each a wake-up that waits for a core on a loaded machine. ``LoopReader``
reads a pipe (what editors give) on the event loop itself; anything else (a regular file)
is read in a thread as pygls does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from typing import BinaryIO

log = logging.getLogger("ems.server")

_CONTENT_LENGTH = re.compile(rb"^Content-Length: *(\d+)\r?\n$", re.IGNORECASE)
_LIMIT = 2**31 - 1  # a header line's length is the stream's business, not the reader's


class FramedInput:
    """A stdin wrapper that turns broken framing into end of input (``broken`` is set)."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.broken = False
        self._has_length = False

    def readline(self) -> bytes:
        if self.broken:
            return b""
        return self.checked(self.stream.readline())

    def checked(self, line: bytes) -> bytes:
        """``line`` as read, or end of input once the framing is broken."""
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


class LoopReader:
    """pygls's asynchronous reader interface (``readline``, ``readexactly``) over a
    ``FramedInput``, reading a pipe on the running event loop (no thread per read)."""

    def __init__(self, framed: FramedInput) -> None:
        self.framed = framed
        self._stream: asyncio.StreamReader | None = None
        self._threaded = False

    async def _reader(self) -> asyncio.StreamReader | None:
        if self._stream is None and not self._threaded:
            loop = asyncio.get_running_loop()
            stream = asyncio.StreamReader(limit=_LIMIT, loop=loop)
            try:
                fileno = self.framed.stream.fileno()
                pipe = os.fdopen(os.dup(fileno), "rb", buffering=0)
            except (AttributeError, OSError, ValueError):
                self._threaded = True
                return None
            try:
                await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stream), pipe)
            except (OSError, ValueError):  # a regular file, say: pygls's way, in a thread
                with contextlib.suppress(OSError):
                    pipe.close()
                self._threaded = True
                return None
            self._stream = stream
        return self._stream

    async def readline(self) -> bytes:
        if self.framed.broken:
            return b""
        stream = await self._reader()
        if stream is None:
            return await asyncio.get_running_loop().run_in_executor(None, self.framed.readline)
        return self.framed.checked(await stream.readline())

    async def readexactly(self, size: int) -> bytes:
        if self.framed.broken:
            return b""
        stream = await self._reader()
        if stream is None:
            return await asyncio.get_running_loop().run_in_executor(None, self.framed.read, size)
        try:
            return await stream.readexactly(size)
        except asyncio.IncompleteReadError as exc:  # the client went away mid-message
            return exc.partial
