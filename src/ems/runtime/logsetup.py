"""Secure logging: rotating files under ``.ems/logs``, secrets redacted, no source text.

Policy (every ems module follows it; the filter below enforces what it can):

* A log message carries rule codes, paths, line numbers, exception *types*, counts and
  durations. Never a document's text, a source line, a finding's snippet or a setting's
  value.
* ``RedactingFilter`` is attached to every handler ems installs. It
  - masks secrets: ``password = ...``-style assignments, API keys and tokens (AWS, GitHub,
    Slack, Stripe/OpenAI-style ``sk-``, Google, JWT, bearer), private-key blocks and
    passwords in URLs;
  - replaces any string argument that spans several lines or is longer than
    ``MAX_ARG_CHARS`` (which is what source text looks like) by a placeholder, and a
    message that still spans several lines (an f-string with a document in it) by a
    placeholder naming where it was logged from (this also stops forged log lines);
  - renders exceptions as their type and frames (file, line, function) only: exception
    messages are dropped, since libcst and SyntaxError messages quote the source line.
* Only the ``ems`` logger tree is written to the file. Third-party loggers are not
  (pygls logs whole JSON-RPC messages, document text included, at DEBUG).
* The directory is created ``0700`` and log files ``0600``.

The level comes from the ``level`` argument, else the ``EMS_LOG_LEVEL`` environment
variable, else INFO.

Files are JSON lines (``JsonLinesFormatter``): one object per record with the time, level,
logger, the process *kind* (server, dashboard, check...) and pid, so every ems process of a
project can log into ``.ems/logs/`` and the dashboard's Monitor page can read them back.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from types import TracebackType

LOG_DIR = Path(".ems") / "logs"
ENV_LEVEL = "EMS_LOG_LEVEL"
DEFAULT_LEVEL = logging.INFO
MAX_BYTES = 2 * 1024 * 1024
BACKUP_COUNT = 5
MAX_ARG_CHARS = 300
MAX_MESSAGE_CHARS = 2000
REDACTED = "[REDACTED]"
FORMAT = "%(asctime)s %(levelname)s %(name)s[%(process)d]: %(message)s"  # stderr


class JsonLinesFormatter(logging.Formatter):
    """One JSON object per line: ``{"time", "level", "logger", "kind", "pid", "message"[, "exc"]}``."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "kind": self.kind,
            "pid": record.process,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False)


_SECRET_NAME = r"[\w.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|credentials?|private[_-]?key|client[_-]?secret)[\w.-]*"
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # whole private-key blocks (and a lone BEGIN line with whatever follows on it)
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.S),
        REDACTED,
    ),
    # name = value, name: value, "name": "value", name => value
    (
        re.compile(
            rf"""(?ix)(["']?\b{_SECRET_NAME}["']?\s*(?:=>|==|=|:)\s*)(?:"[^"\n]*"?|'[^'\n]*'?|[^\s,;)\]}}]+)"""
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    (re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{20,})\b"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}"), REDACTED),
    (re.compile(r"\b(?:sk|pk|rk)[-_](?:live_|test_|proj-)?[A-Za-z0-9_-]{16,}"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{30,}"), REDACTED),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"), REDACTED),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+:)[^\s@/]+@"), rf"\1{REDACTED}@"),
)


def redact(text: str) -> str:
    """``text`` with every recognised secret replaced by ``[REDACTED]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def _safe_arg(value: object) -> object:
    if isinstance(value, str):
        if "\n" in value or "\r" in value:
            return f"<text elided: {len(value)} chars, {len(value.splitlines())} lines>"
        if len(value) > MAX_ARG_CHARS:
            return f"<text elided: {len(value)} chars>"
        return redact(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return f"<bytes elided: {len(value)}>"
    if isinstance(value, int | float | bool | Path) or value is None:
        return value
    return _safe_arg(str(value))


def _frames_only(exc_type: type[BaseException] | None, tb: TracebackType | None) -> str:
    """A traceback with the exception type and each frame's place, no code and no message."""
    lines = ["Traceback (most recent call last):"]
    for frame in traceback.extract_tb(tb):
        lines.append(f'  File "{frame.filename}", line {frame.lineno}, in {frame.name}')
    lines.append(f"{exc_type.__name__ if exc_type else 'Exception'} (message withheld: it may quote source)")
    return "\n".join(lines)


class RedactingFilter(logging.Filter):
    """Rewrites each record so it holds no secret and no source text (see module doc)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_ems_redacted", False):
            return True
        try:
            if record.args:
                args = record.args
                if isinstance(args, dict):
                    record.args = {k: _safe_arg(v) for k, v in args.items()}
                else:
                    record.args = tuple(_safe_arg(a) for a in args)
            message = record.getMessage()
        except Exception:  # a broken format string: keep the template only
            message = str(record.msg)
        if "\n" in message or "\r" in message:
            # a multi-line message is text, not a code/path/number (e.g. an f-string with a
            # document in it): keep only where it was logged from
            where = f"{os.path.basename(record.pathname)}:{record.lineno}"
            message = f"<message elided: {len(message)} chars, {len(message.splitlines())} lines, logged at {where}>"
        message = redact(message)
        if len(message) > MAX_MESSAGE_CHARS:
            message = message[:MAX_MESSAGE_CHARS] + f"... <{len(message) - MAX_MESSAGE_CHARS} chars elided>"
        record.msg = message
        record.args = None
        if record.exc_info:
            exc_type, _, tb = record.exc_info
            record.exc_text = _frames_only(exc_type, tb)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = "(exception text withheld)"
        if record.stack_info:
            record.stack_info = "\n".join(
                line
                for line in record.stack_info.splitlines()
                if line.lstrip().startswith(("File ", "Stack"))
            )
        record._ems_redacted = True
        return True


class PrivateRotatingFileHandler(RotatingFileHandler):
    """A rotating file handler whose files only their owner can read (0600)."""

    def _open(self):  # untyped, as the base class declares it
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return open(fd, self.mode, encoding=self.encoding, errors=self.errors)


@dataclass(frozen=True)
class LogSettings:
    """What ``configure_logging`` installed; handed to worker processes so they log alike."""

    directory: Path
    level: int
    name: str
    max_bytes: int = MAX_BYTES
    backup_count: int = BACKUP_COUNT

    @property
    def file(self) -> Path:
        return self.directory / f"{self.name}.log"


def parse_level(level: str | int | None) -> int:
    """A logging level from a name or number, the environment, or the default."""
    if level is None:
        level = os.environ.get(ENV_LEVEL) or DEFAULT_LEVEL
    if isinstance(level, int):
        return level
    value = logging.getLevelName(level.strip().upper())
    if not isinstance(value, int):
        raise ValueError(f"unknown log level {level!r}; choose DEBUG, INFO, WARNING, ERROR or CRITICAL")
    return value


def configure_logging(
    project_root: Path | None = None,
    level: str | int | None = None,
    *,
    name: str = "ems",
    max_bytes: int = MAX_BYTES,
    backup_count: int = BACKUP_COUNT,
    stderr: bool = False,
    propagate: bool = False,
) -> LogSettings | None:
    """Log the ``ems`` logger tree to ``<root>/.ems/logs/<name>.log`` (rotating, redacted).

    Calling it again replaces the handlers it installed before. If the directory cannot
    be created (read-only checkout), logging goes to stderr only and None is returned:
    a tool must not fail because it cannot write its log. ``stderr=True`` also logs
    warnings and errors to stderr (never stdout: the language server talks there).
    ``propagate=True`` keeps the records flowing to the root logger too (the language
    server's stderr, which editors show).
    """
    numeric = parse_level(level)
    logger = logging.getLogger("ems")
    for handler in [h for h in logger.handlers if getattr(h, "_ems_owned", False)]:
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(numeric)
    settings: LogSettings | None = None
    directory = (project_root or Path.cwd()) / LOG_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        ignore = directory / ".gitignore"  # logs are local: a log never makes a work tree dirty
        if not ignore.exists():
            ignore.write_text("# created by ems: logs are never committed\n*\n")
        settings = LogSettings(directory, numeric, name, max_bytes, backup_count)
        file_handler: logging.Handler = PrivateRotatingFileHandler(
            settings.file, maxBytes=max_bytes, backupCount=backup_count, encoding="utf-8"
        )
    except OSError as exc:
        file_handler = logging.StreamHandler(sys.stderr)
        file_handler.setLevel(max(numeric, logging.WARNING))
        stderr = False
        print(
            f"ems: cannot write logs under {directory} ({exc.strerror}); logging to stderr", file=sys.stderr
        )
    file_handler.setFormatter(JsonLinesFormatter(name) if settings is not None else logging.Formatter(FORMAT))
    handlers = [file_handler]
    if stderr:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(max(numeric, logging.WARNING))
        console.setFormatter(logging.Formatter(FORMAT))
        handlers.append(console)
    for handler in handlers:
        handler.addFilter(RedactingFilter())
        handler._ems_owned = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    # the root logger's handlers (if any) are not ours to trust, unless the caller set them
    logger.propagate = propagate
    return settings


def current_settings() -> LogSettings | None:
    """The settings of the file handler ``configure_logging`` installed, if any."""
    for handler in logging.getLogger("ems").handlers:
        if getattr(handler, "_ems_owned", False) and isinstance(handler, PrivateRotatingFileHandler):
            path = Path(handler.baseFilename)
            return LogSettings(
                path.parent, logging.getLogger("ems").level, path.stem, handler.maxBytes, handler.backupCount
            )
    return None


def configure_worker_logging(settings: LogSettings | None) -> None:
    """In a worker process: log like the parent into ``<name>-worker.log``, or stay silent."""
    logger = logging.getLogger("ems")
    if settings is None:
        logger.addHandler(logging.NullHandler())  # no stderr "last resort" chatter from workers
        logger.propagate = False
        return
    configure_logging(
        settings.directory.parent.parent,
        settings.level,
        name=f"{settings.name}-worker",
        max_bytes=settings.max_bytes,
        backup_count=settings.backup_count,
    )
