"""Reading the project's logs back: the JSON lines every ems process writes to ``.ems/logs``.

For the dashboard's Monitor page (recent warnings and errors, filtered) and support. Only
the tail of each file is read (``TAIL_BYTES``), so a large log costs a bounded read; lines
that are not JSON (an older ems's text format) are skipped.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from ems.runtime.logsetup import LOG_DIR

TAIL_BYTES = 512 * 1024
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class LogRecord:
    time: float
    level: str
    logger: str
    kind: str
    pid: int
    message: str
    file: str
    exc: str = ""


def log_directory(root: Path) -> Path:
    return root / LOG_DIR


def _tail_lines(path: Path) -> list[str]:
    try:
        with path.open("rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(size - TAIL_BYTES, 0))
            data = f.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[1:] if size > TAIL_BYTES else lines  # the first may be cut in half


def _parse(line: str, file: str) -> LogRecord | None:
    try:
        entry = json.loads(line)
        return LogRecord(
            float(entry["time"]),
            str(entry["level"]),
            str(entry.get("logger", "")),
            str(entry.get("kind", "")),
            int(entry.get("pid", 0)),
            str(entry.get("message", "")),
            file,
            str(entry.get("exc", "")),
        )
    except (ValueError, KeyError, TypeError):
        return None


def read_records(
    root: Path,
    *,
    min_level: str = "WARNING",
    contains: str = "",
    kinds: frozenset[str] | None = None,
    since: float = 0.0,
    limit: int = 200,
) -> list[LogRecord]:
    """The newest records at ``min_level`` or above, newest first, from every log of the project."""
    threshold = logging.getLevelName(min_level.upper())
    if not isinstance(threshold, int):
        raise ValueError(f"unknown log level {min_level!r}; choose one of {', '.join(LEVELS)}")
    needle = contains.casefold()
    directory = log_directory(root)
    records: list[LogRecord] = []
    files = sorted(directory.glob("*.log*")) if directory.is_dir() else []
    for path in files:
        for line in _tail_lines(path):
            record = _parse(line, path.name)
            if record is None or record.time < since:
                continue
            level = logging.getLevelName(record.level)
            if isinstance(level, int) and level < threshold:
                continue
            if kinds is not None and record.kind not in kinds:
                continue
            if needle and needle not in f"{record.message} {record.logger} {record.kind}".casefold():
                continue
            records.append(record)
    # newest first; records of the same millisecond keep their order in the file, reversed
    order = {id(r): n for n, r in enumerate(records)}
    records.sort(key=lambda r: (r.time, order[id(r)]), reverse=True)
    return records[:limit]
