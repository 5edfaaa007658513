"""``map(func, items)`` shared by this process and ``jobs - 1`` forked children, in order.

Why not ``multiprocessing.Pool`` when forking is safe: the pool's cost was the parent's.
Its imports, three handler threads (the result handler unpickles while holding the GIL),
every task pickled with its ``Config`` and sent, and a parent that mostly waits while two
workers share two cores with it. Here the children inherit the items (a fork copies
nothing until written), the work is handed out as chunk numbers read from one pipe (a
2-byte read is the whole protocol; the kernel serialises readers), and the parent
analyses chunks itself whenever the next result it must yield is not there yet. Only
results travel, one pickled frame per chunk.

A child that dies, is killed or raises costs time, never results: a chunk whose frame
did not arrive whole is computed here once no child is left that could send it.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import pickle
import select
import signal
import struct
import sys
from collections.abc import Callable, Sequence
from typing import Any

log = logging.getLogger("ems.pool")

# Chunk numbers are 2 bytes and all of them are written to the hand-out pipe before any
# child starts, so they must fit one page (the smallest pipe Linux makes when a user is
# over pipe-user-pages-soft): at most 2048 chunks; more items make bigger chunks.
MAX_CHUNKS = 2048
_TOKEN = struct.Struct("<H")
_HEADER = struct.Struct("<II")  # chunk number, pickled length
# Replies of a chunk's results can exceed a default pipe (64 KiB) while the parent is busy
# analysing its own chunk; a larger pipe keeps the child from blocking meanwhile.
_REPLY_PIPE_BYTES = 1 << 20
_MISSING = object()


class ForkedMap:
    """The results of ``func`` over ``items``, in order, from the moment it is created.

    ``enter`` runs around every stretch of work in this process and once at the start
    of each child (the rule set, the GC setting); it returns the function that undoes
    it. Raises OSError if not a single child could be made (the caller maps here).
    """

    def __init__(
        self,
        func: Callable[[Any], Any],
        items: Sequence[Any],
        jobs: int,
        enter: Callable[[], Callable[[], None]],
    ) -> None:
        self._func, self._items, self._enter = func, items, enter
        count = len(items)
        self._size = -(-count // MAX_CHUNKS)  # ceil: at most MAX_CHUNKS chunks
        self._chunks = -(-count // self._size) if count else 0
        self._results: list[Any] = [_MISSING] * count
        self._next = 0
        self._children: dict[int, tuple[int, bytearray]] = {}  # reply fd -> (pid, unread bytes)
        self._claims: int | None = None
        self._thaw = False  # whether ``close`` unfreezes what ``_start`` froze
        self._start(max(1, jobs - 1))

    def _start(self, children: int) -> None:
        claims, handout = os.pipe()
        try:
            os.set_blocking(handout, False)
            tokens = b"".join(_TOKEN.pack(chunk) for chunk in range(self._chunks))
            if os.write(handout, tokens) != len(tokens):  # cannot happen within one page
                raise OSError("the hand-out pipe took fewer chunks than it was given")
        except OSError:
            os.close(claims)
            raise
        finally:
            os.close(handout)  # so that an empty pipe reads as the end, never blocks
        self._claims = claims
        for stream in (sys.stdout, sys.stderr):  # a child must not repeat buffered output
            with contextlib.suppress(Exception):
                stream.flush()
        # What the children inherit stays out of this process's collector's sight too while
        # they run: its collections neither walk those objects again nor write to (so copy)
        # the pages it shares with them. Undone by ``close`` unless the caller froze first.
        self._thaw = gc.get_freeze_count() == 0
        gc.freeze()
        for _ in range(children):
            try:
                self._fork()
            except OSError as exc:
                if not self._children:
                    self.close()
                    raise
                log.info("started %d of %d workers (%s)", len(self._children), children, exc)
                break

    def _fork(self) -> None:
        read_end, write_end = os.pipe()
        with contextlib.suppress(OSError):  # (Linux only; a default pipe still works)
            import fcntl

            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, _REPLY_PIPE_BYTES)
        try:
            pid = os.fork()
        except OSError:
            os.close(read_end)
            os.close(write_end)
            raise
        if pid == 0:  # the child: never returns
            os.close(read_end)
            self._serve(write_end)
        os.close(write_end)
        os.set_blocking(read_end, False)
        self._children[read_end] = (pid, bytearray())

    def _serve(self, reply: int) -> None:
        status = 1
        try:
            for fd in self._children:  # earlier children's reply pipes: not this one's
                os.close(fd)
            # What the child inherited stays out of its collector's sight: no collection
            # touches (so copies) the pages it shares with the parent.
            gc.freeze()
            self._enter()
            assert self._claims is not None
            while (chunk := self._claim(self._claims)) is not None:
                results = [self._func(item) for item in self._items[self._bounds(chunk)]]
                payload = pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)
                frame = memoryview(_HEADER.pack(chunk, len(payload)) + payload)
                while frame:
                    frame = frame[os.write(reply, frame) :]
            status = 0
        finally:
            os._exit(status)  # no atexit handlers, no flushing of the parent's buffers

    @staticmethod
    def _claim(claims: int) -> int | None:
        token = os.read(claims, _TOKEN.size)
        return _TOKEN.unpack(token)[0] if len(token) == _TOKEN.size else None

    def _bounds(self, chunk: int) -> slice:
        return slice(chunk * self._size, min((chunk + 1) * self._size, len(self._items)))

    def __iter__(self) -> ForkedMap:
        return self

    def __next__(self) -> Any:
        index = self._next
        if index >= len(self._results):
            self.close()
            raise StopIteration
        try:
            self._wait_for(index)
        except BaseException:  # Ctrl-C, or ``func`` raised here: the children stop too
            self.close()
            raise
        result, self._results[index] = self._results[index], None  # the caller holds it now
        self._next = index + 1
        return result

    def _wait_for(self, index: int) -> None:
        """Until result ``index`` is in: take the children's, analyse unclaimed chunks here."""
        while self._results[index] is _MISSING:
            self._read(block=False)
            if self._results[index] is not _MISSING:
                break
            if self._claims is not None and (chunk := self._claim(self._claims)) is not None:
                self._compute(chunk)  # the next result is a child's: work meanwhile
                continue
            if self._claims is not None:  # every chunk handed out
                os.close(self._claims)
                self._claims = None
            if self._children:
                self._read(block=True)
            else:  # its child is gone without sending it
                log.info("a worker's results did not arrive; computing them here")
                self._compute(index // self._size)

    def _compute(self, chunk: int) -> None:
        leave = self._enter()
        try:
            span = self._bounds(chunk)
            for offset, item in enumerate(self._items[span]):
                self._results[span.start + offset] = self._func(item)
        finally:
            leave()

    def _read(self, block: bool) -> None:
        """Take what the children sent; with ``block``, wait until one of them sends or ends."""
        if block:
            waiting = select.poll()  # (not select.select: it refuses fds above 1023)
            for fd in self._children:
                waiting.register(fd, select.POLLIN)
            waiting.poll()
        for fd in list(self._children):
            pid, pending = self._children[fd]
            try:
                data = os.read(fd, _REPLY_PIPE_BYTES)
            except BlockingIOError:
                continue
            if not data:  # the child has ended: what is left unread is a broken frame
                del self._children[fd]
                os.close(fd)
                self._reap(pid)
                continue
            pending += data
            self._frames(pending)

    def _frames(self, pending: bytearray) -> None:
        while len(pending) >= _HEADER.size:
            chunk, length = _HEADER.unpack_from(pending)
            end = _HEADER.size + length
            if len(pending) < end:
                return
            try:
                results = pickle.loads(pending[_HEADER.size : end])
            except Exception as exc:  # a broken frame: the chunk is computed here later
                log.info("unreadable results from a worker (%s)", exc)
                results = None
            del pending[:end]
            span = self._bounds(chunk) if chunk < self._chunks else slice(0, 0)
            if type(results) is list and len(results) == span.stop - span.start > 0:
                self._results[span] = results

    @staticmethod
    def _reap(pid: int) -> None:
        with contextlib.suppress(ChildProcessError):
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                log.info("worker %d ended with %s", pid, os.waitstatus_to_exitcode(status))

    def close(self) -> None:
        """Stop the children whose results are no longer wanted; always reap them.

        Once every result is in, a child is only reading the end of the hand-out pipe on
        its way out: it is waited for, not killed (killing it would lose nothing, but a
        profiler or coverage running in it would lose its report)."""
        finished = self._next >= len(self._results)
        for fd, (pid, _) in list(self._children.items()):
            if not finished:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            os.close(fd)
            self._reap(pid)
        self._children.clear()
        if self._claims is not None:
            os.close(self._claims)
            self._claims = None
        if self._thaw:
            self._thaw = False
            gc.unfreeze()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()
