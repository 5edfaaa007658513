"""Captured exceptions from a running program: uncaught ones and ``logger.exception`` records.

``install()`` hooks ``sys.excepthook``, ``threading.excepthook`` and a handler on the root
logger. Each exception becomes a ``Failure`` with the same frame data as a test failure, its
messages parameterised (a program's data never reaches the store) and no local variable
read. Failures are written to the store in batches (at most every ``FLUSH_SECONDS``, at exit,
and at once for an uncaught exception), at most ``PER_GROUP`` per group and process, so a
program logging one error in a loop stays cheap.

Under ``ems run`` the run row exists already (its id is in the environment); a program that
calls ``install()`` itself opens its own run on its first exception and closes it at exit.
"""

from __future__ import annotations

import atexit
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from ems.testing.extract import ProjectFiles, failure_of
from ems.testing.model import WHEN_LOGGED, WHEN_UNCAUGHT, Failure

ENV_ROOT = "EMS_CAPTURE_ROOT"
ENV_STORE = "EMS_CAPTURE_STORE"
ENV_RUN = "EMS_CAPTURE_RUN"
ENV_COMMAND = "EMS_CAPTURE_COMMAND"
ENV_READY = "EMS_CAPTURE_READY"  # a file the child creates once capture is installed
FLUSH_SECONDS = 5.0
PER_GROUP = 20


class _Handler(logging.Handler):
    """Takes every record that carries an exception (``logger.exception`` and friends)."""

    def __init__(self, capture: Capture, level: int) -> None:
        super().__init__(level)
        self.capture = capture

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            self.capture.record(exc, WHEN_LOGGED, logger=record.name)


class Capture:
    """One process's capture: pending failures and where they go."""

    def __init__(
        self, root: Path, *, store_path: Path | None, run_id: int | None, command: str, level: int
    ) -> None:
        self.root = root
        self.store_path = store_path
        self.run_id = run_id
        self.owns_run = run_id is None
        self.command = command
        self.files = ProjectFiles(root)
        self.pending: list[Failure] = []
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.last_flush = time.monotonic()
        self.handler = _Handler(self, level)
        self._previous_hook: Callable[..., Any] = sys.excepthook
        self._previous_thread_hook: Callable[..., Any] = threading.excepthook

    # -- hooks

    def excepthook(self, kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
        if not isinstance(value, KeyboardInterrupt):
            self.record(value, WHEN_UNCAUGHT, flush=True)
        self._previous_hook(kind, value, tb)

    def thread_excepthook(self, args: threading.ExceptHookArgs) -> None:
        if args.exc_value is not None:
            self.record(args.exc_value, WHEN_UNCAUGHT, flush=True)
        self._previous_thread_hook(args)

    def install(self) -> None:
        sys.excepthook = self.excepthook
        threading.excepthook = self.thread_excepthook
        logging.getLogger().addHandler(self.handler)
        atexit.register(self.close)

    # -- recording

    def record(
        self, exc: BaseException, when: str, *, logger: str | None = None, flush: bool = False
    ) -> None:
        try:
            failure = failure_of(exc, self.command, when, self.files, parameterised=True, logger=logger)
            from ems.testing.grouping import fingerprint

            key = fingerprint(failure, "run")
            with self.lock:
                self.counts[key] = self.counts.get(key, 0) + 1
                if self.counts[key] <= PER_GROUP:
                    self.pending.append(failure)
                due = flush or time.monotonic() - self.last_flush >= FLUSH_SECONDS
            if due:
                self.flush()
        except Exception as err:  # capturing must never break the program
            sys.stderr.write(f"ems: could not record an exception: {err!r}\n")

    def flush(self) -> None:
        with self.lock:
            batch, self.pending = self.pending, []
            self.last_flush = time.monotonic()
        if not batch:
            return
        from ems.store.db import open_store
        from ems.testing.record import add_captured, start_program_run

        if self.run_id is None:
            self.run_id = start_program_run(self.root, ("python", *sys.argv), store_path=self.store_path)
        with open_store(self.root, self.store_path) as store:
            add_captured(store, self.run_id, batch)

    def close(self) -> None:
        try:
            self.flush()
            if self.owns_run and self.run_id is not None:
                from ems.testing.record import finish_program_run

                finish_program_run(
                    self.root, self.run_id, exit_code=None, duration_s=0.0, store_path=self.store_path
                )
        except Exception as err:
            sys.stderr.write(f"ems: could not record captured exceptions: {err!r}\n")


def _installed() -> Capture | None:
    hook = sys.excepthook
    owner = getattr(hook, "__self__", None)
    return owner if isinstance(owner, Capture) else None


def install(
    root: str | Path | None = None, *, store: str | Path | None = None, level: int = logging.ERROR
) -> Capture:
    """Record this program's uncaught and logged exceptions in the project's store.

    ``root`` is the project (default: the git work tree around the current folder); only
    frames in its files are kept. Calling it again returns the capture already installed.
    """
    current = _installed()
    if current is not None:
        return current
    from ems.runtime.root import project_root

    env_run = os.environ.get(ENV_RUN)
    chosen = Path(root) if root is not None else Path(os.environ.get(ENV_ROOT) or project_root(Path.cwd()))
    store_path = Path(store) if store is not None else (Path(p) if (p := os.environ.get(ENV_STORE)) else None)
    command = os.environ.get(ENV_COMMAND) or " ".join(("python", *sys.argv))
    capture = Capture(
        chosen.resolve(),
        store_path=store_path,
        run_id=int(env_run) if env_run else None,
        command=command,
        level=level,
    )
    capture.install()
    ready = os.environ.get(ENV_READY)
    if ready:
        Path(ready).touch()
    return capture
