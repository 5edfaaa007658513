"""Secure logging: no secret and no source text ever reaches a log file."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from ems.core import Config, analyse, load_rules
from ems.core.model import Finding, Fix
from ems.core.registry import RuleSet
from ems.core.rule import AnalysisContext, Hit, Rule
from ems.fixes import fix_all, fixes_for
from ems.fixes.context import FixContext
from ems.runtime.guard import GuardedAnalyser
from ems.runtime.logsetup import (
    REDACTED,
    LogSettings,
    configure_logging,
    current_settings,
    parse_level,
    redact,
)

API_KEY = "sk-live-4f9c2b7a1e8d3f6a0b5c9e2d7f1a4b8c"
AWS_KEY = "AKIAIOSFODNN7EXAMPLE"
PASSWORD = "hunter2-correct-horse-battery"
MARKER = "UNIQUE_SOURCE_MARKER_7f3a"
SECRET_FILE = f'''"""Settings module ({MARKER})."""
import os
API_KEY = "{API_KEY}"
AWS_ACCESS_KEY_ID = "{AWS_KEY}"
DB_PASSWORD = "{PASSWORD}"
if os.environ.get("X") == None:
    label = f"{MARKER} plain"
'''
SOURCE_LINES = [line.strip() for line in SECRET_FILE.splitlines() if len(line.strip()) > 12]


class LeakyRule(Rule):
    """Raises with the whole document in its message, and its fixer does the same."""

    code = "EMS995"
    name = "test-leaky"
    summary = explanation = "a buggy plug-in that puts source text in its exceptions"
    fix_safety = None

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        raise ValueError(f"cannot handle {ctx.source.text}")


class LeakyFixRule(Rule):
    code = "EMS996"
    name = "test-leaky-fix"
    summary = explanation = "flags line 1; its fixer raises with the document text"
    from ems.core.model import Safety

    fix_safety = Safety.SAFE

    def check(self, ctx: AnalysisContext) -> Iterator[Hit]:
        yield Hit(1, 0, 1, 3, "line one")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        raise RuntimeError(ctx.text)


@pytest.fixture
def ems_logger() -> Iterator[logging.Logger]:
    """Restore the ``ems`` logger after a test reconfigured it."""
    logger = logging.getLogger("ems")
    saved = (list(logger.handlers), logger.level, logger.propagate)
    yield logger
    for handler in list(logger.handlers):
        if handler not in saved[0]:
            logger.removeHandler(handler)
            handler.close()
    logger.level, logger.propagate = saved[1], saved[2]


def _all_logs(root: Path) -> str:
    return "".join(p.read_text(encoding="utf-8") for p in sorted((root / ".ems" / "logs").glob("*.log*")))


def _assert_clean(text: str) -> None:
    for secret in (API_KEY, AWS_KEY, PASSWORD, MARKER):
        assert secret not in text, secret
    for line in SOURCE_LINES:
        assert line not in text, line


def test_analysis_and_fixes_at_debug_leak_no_source_or_secret(
    tmp_path: Path, ems_logger: logging.Logger
) -> None:
    settings = configure_logging(tmp_path, "DEBUG")
    assert settings is not None and settings.file == tmp_path / ".ems" / "logs" / "ems.log"
    source_file = tmp_path / "settings.py"
    source_file.write_text(SECRET_FILE, encoding="utf-8")
    rules = load_rules()
    leaky = RuleSet(rules=(*rules.rules, LeakyRule, LeakyFixRule), origins=rules.origins)
    config = Config(root=tmp_path)

    report = analyse(source_file.read_bytes(), "settings.py", config, leaky)
    assert {"EMS901", "E711", "F541", "EMS995"} - {f.code for f in report.findings} == {"EMS995"}
    for finding in report.fixable:
        fixes_for(SECRET_FILE, finding, "settings.py", config, leaky, report)
    fixed = fix_all(SECRET_FILE, "settings.py", config, unsafe=True, ruleset=leaky)
    assert "is None" in fixed.text
    ems_logger.debug("document text: %s", SECRET_FILE)  # a careless future log call
    ems_logger.info(f"careless f-string: {SECRET_FILE}")
    ems_logger.warning("one line of it: %s", SOURCE_LINES[2])  # redacted, see the policy
    with GuardedAnalyser(timeout=10) as guard:
        guarded = guard.analyse(SECRET_FILE, "settings.py", config, leaky)
    assert "EMS901" in {f.code for f in guarded.findings}
    for handler in ems_logger.handlers:
        handler.flush()

    logs = _all_logs(tmp_path)
    assert "rule EMS995 raised ValueError on settings.py" in logs
    assert "fix for EMS996 raised RuntimeError in settings.py" in logs
    assert 'File \\"' in logs and "message withheld" in logs  # tracebacks keep their frames (JSON)
    assert "<text elided:" in logs
    _assert_clean(logs)


def test_log_files_are_private(tmp_path: Path, ems_logger: logging.Logger) -> None:
    settings = configure_logging(tmp_path, "INFO")
    assert settings is not None
    ems_logger.info("hello")
    assert stat.S_IMODE(settings.file.stat().st_mode) == 0o600
    assert stat.S_IMODE(settings.directory.stat().st_mode) == 0o700


def test_logs_rotate_and_keep_a_bounded_number_of_files(tmp_path: Path, ems_logger: logging.Logger) -> None:
    configure_logging(tmp_path, "INFO", max_bytes=2000, backup_count=3)
    for i in range(500):
        logging.getLogger("ems.core").info("analysed file_%d.py in %d ms", i, i)
    files = sorted(p.name for p in (tmp_path / ".ems" / "logs").glob("*.log*"))
    assert files == ["ems.log", "ems.log.1", "ems.log.2", "ems.log.3"]
    assert all(p.stat().st_size <= 2200 for p in (tmp_path / ".ems" / "logs").glob("*.log*"))
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (tmp_path / ".ems" / "logs").glob("*.log*"))


def test_level_is_configurable_by_argument_and_environment(
    tmp_path: Path, ems_logger: logging.Logger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMS_LOG_LEVEL", "warning")
    configure_logging(tmp_path)
    ems_logger.info("quiet-info")
    ems_logger.warning("loud-warning")
    configure_logging(tmp_path, "DEBUG")  # replaces, never duplicates, the handlers
    ems_logger.debug("now-debug")
    logs = _all_logs(tmp_path)
    assert "quiet-info" not in logs
    assert logs.count("loud-warning") == 1 and logs.count("now-debug") == 1
    assert sum(getattr(h, "_ems_owned", False) for h in ems_logger.handlers) == 1
    assert parse_level(15) == 15
    with pytest.raises(ValueError, match="unknown log level"):
        parse_level("chatty")


def test_third_party_loggers_stay_out_of_the_file(tmp_path: Path, ems_logger: logging.Logger) -> None:
    configure_logging(tmp_path, "DEBUG")
    logging.getLogger("pygls.protocol").warning("Sending data: %s", f'{{"text": "{MARKER}"}}')
    assert MARKER not in _all_logs(tmp_path)


def test_unwritable_log_directory_falls_back_to_stderr(
    tmp_path: Path, ems_logger: logging.Logger, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".ems").write_text("a file where the directory should be")
    assert configure_logging(tmp_path, "INFO") is None
    ems_logger.error("still logged: %s", "E902")
    err = capsys.readouterr().err
    assert "cannot write logs" in err and "still logged: E902" in err


def test_worker_logs_into_its_own_file(tmp_path: Path, ems_logger: logging.Logger) -> None:
    configure_logging(tmp_path, "DEBUG", name="server")
    assert current_settings() == LogSettings(
        tmp_path / ".ems" / "logs", logging.DEBUG, "server", 2 * 1024 * 1024, 5
    )
    rules = load_rules()
    with GuardedAnalyser(timeout=10) as guard:
        guard.analyse(SECRET_FILE, "w.py", Config(), RuleSet((*rules.rules, LeakyRule), rules.origins))
    worker_log = tmp_path / ".ems" / "logs" / "server-worker.log"
    assert "rule EMS995 raised ValueError on w.py" in worker_log.read_text()
    _assert_clean(_all_logs(tmp_path))


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (f"password = '{PASSWORD}'", "password = "),
        (f'"api_key": "{API_KEY}"', '"api_key": '),
        (f"DB_PASSWORD={PASSWORD} next", "DB_PASSWORD="),
        (f"token: {PASSWORD}", "token: "),
        (f"key {AWS_KEY} used", "key "),
        ("gh token ghp_" + "a1B2" * 9, "gh token "),
        ("xoxb-1234567890-abcdefghij", ""),
        (f"using {API_KEY}", "using "),
        ("AIza" + "Sy" * 18, ""),
        ("Authorization: Bearer abc.def.ghi123456", "Authorization: "),
        ("eyJhbGciOiJIUzI1.eyJzdWIiOiIxMjM0.SflKxwRJSMeKKF2QT4", ""),
        (f"postgres://admin:{PASSWORD}@db:5432/x", "postgres://admin:"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----", ""),
    ],
)
def test_redact_masks_secrets(text: str, kept: str) -> None:
    result = redact(text)
    assert REDACTED in result
    assert result.startswith(kept)
    for secret in (PASSWORD, API_KEY, AWS_KEY, "a1B2" * 9, "MIIEow", "SflKxw"):
        assert secret not in result


@pytest.mark.parametrize(
    "text",
    ["rule E711 at src/app/models.py:12:4", "analysed 120 files in 0.53 s", "F401 `os` imported but unused"],
)
def test_redact_keeps_ordinary_messages(text: str) -> None:
    assert redact(text) == text


def test_line_breaks_in_messages_cannot_forge_log_lines(tmp_path: Path, ems_logger: logging.Logger) -> None:
    configure_logging(tmp_path, "INFO")
    ems_logger.warning("bad path %s", Path("x.py\n2026-01-01 ERROR ems: forged"))
    ems_logger.warning("bad name %s", "x.py\r2026-01-01 ERROR ems: forged")
    lines = _all_logs(tmp_path).splitlines()
    assert len(lines) == 2 and "forged" not in "".join(lines)


def test_environment_level_is_not_inherited_by_accident(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EMS_LOG_LEVEL", raising=False)
    assert parse_level(None) == logging.INFO
    assert os.environ.get("EMS_LOG_LEVEL") is None
