"""Every ems process logs JSON lines under .ems/logs; the Monitor page reads them back."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from ems.runtime.logs import read_records
from ems.runtime.logsetup import configure_logging


@pytest.fixture
def ems_logger():  # type: ignore[no-untyped-def]
    logger = logging.getLogger("ems")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    for handler in logger.handlers:
        if handler not in saved[0]:
            handler.close()
    logger.handlers[:], logger.level, logger.propagate = saved


def test_log_lines_are_json_with_kind_and_pid_and_read_back_filtered(tmp_path: Path, ems_logger) -> None:  # type: ignore[no-untyped-def]
    configure_logging(tmp_path, "INFO", name="dashboard")
    logging.getLogger("ems.watch").info("live re-scan after %d change(s)", 2)
    logging.getLogger("ems.guard").warning("analysis worker crashed while analysing %s", "a.py")
    logging.getLogger("ems.store").error("token = %s", "ghp_" + "x1Y2" * 9)  # redacted before writing
    for handler in ems_logger.handlers:
        handler.flush()
    lines = (tmp_path / ".ems" / "logs" / "dashboard.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]
    assert [e["level"] for e in entries] == ["INFO", "WARNING", "ERROR"]
    assert {e["kind"] for e in entries} == {"dashboard"} and {e["pid"] for e in entries} == {
        __import__("os").getpid()
    }
    assert "x1Y2" not in "".join(lines)

    warnings = read_records(tmp_path)
    assert [r.level for r in warnings] == ["ERROR", "WARNING"]  # newest first, INFO left out
    assert [r.logger for r in read_records(tmp_path, contains="WORKER")] == ["ems.guard"]
    assert len(read_records(tmp_path, min_level="INFO")) == 3
    assert read_records(tmp_path, kinds=frozenset({"server"})) == []
    with pytest.raises(ValueError, match="unknown log level"):
        read_records(tmp_path, min_level="LOUD")


def test_lines_that_are_not_json_are_skipped(tmp_path: Path) -> None:
    logs = tmp_path / ".ems" / "logs"
    logs.mkdir(parents=True)
    (logs / "old.log").write_text(
        "2026-01-01 ERROR ems: text format\n"
        + json.dumps(
            {"time": 1.0, "level": "ERROR", "logger": "ems", "kind": "check", "pid": 1, "message": "kept"}
        )
        + "\n"
    )
    assert [r.message for r in read_records(tmp_path)] == ["kept"]
