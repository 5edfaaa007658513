"""Records a pytest session: outcomes, durations and each failure's exception data.

Registered by the ``ems`` entry point only when enabled. Failures are extracted where the
exception is alive (``pytest_runtest_makereport`` and ``pytest_make_collect_report``) and
attached to the report as plain JSON (``report.ems_failure``): pytest-xdist serialises a
report's attributes, so a worker's failure reaches the controller intact, whatever ``--tb``
style is chosen (the extraction reads the exception, not pytest's text). The controller
writes the session to ``$EMS_PYTEST_OUTPUT/report.json`` for ``ems test``, or records it in
the project's store itself when run as plain ``pytest -p ems``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ems.runtime.root import project_root
from ems.testing.extract import ProjectFiles, failure_of
from ems.testing.model import (
    ERROR,
    FAILED,
    PASSED,
    SKIPPED,
    WHEN_COLLECT,
    XFAILED,
    XPASSED,
    Failure,
    PytestReport,
    TestResult,
)
from ems.testing.pytest_plugin import COVERAGE_RC, ENV_OUTPUT, REPORT_FILE


def _classify(report: Any, current: str | None) -> str | None:
    """The test's outcome so far, after this phase's report."""
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if xfail:
            return XFAILED if report.skipped else XPASSED if report.passed else FAILED
        return {"passed": PASSED, "failed": FAILED, "skipped": SKIPPED}[report.outcome]
    if report.failed:
        return ERROR if current in (None, PASSED) else current
    if report.skipped and report.when == "setup":
        return XFAILED if xfail else SKIPPED
    return current


class Recorder:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.worker = hasattr(config, "workerinput")
        self.files = ProjectFiles(project_root(Path(config.rootpath)))
        # The controller takes the folder out of the environment so that pytest runs the
        # tests start (ems's own suite does) do not write into it; workers get it from xdist.
        self.output = None if self.worker else os.environ.pop(ENV_OUTPUT, None)
        self.results: dict[str, dict[str, Any]] = {}
        self.failures: list[Failure] = []
        self.started = time.time()
        self.coverage: Any = None
        if self.worker:
            self._start_worker_coverage(config.workerinput.get("ems_coverage_rc"))  # type: ignore[attr-defined]

    # -- xdist

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self.output and (Path(self.output) / COVERAGE_RC).is_file():
            node.workerinput["ems_coverage_rc"] = str(Path(self.output) / COVERAGE_RC)

    def _start_worker_coverage(self, rcfile: str | None) -> None:
        """``coverage run`` measures the controller; each xdist worker measures itself."""
        if not rcfile:
            return
        import coverage

        self.coverage = coverage.Coverage(config_file=rcfile, data_suffix=True)
        self.coverage.start()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self.coverage is not None:
            self.coverage.stop()
            self.coverage.save()

    # -- extraction, where the exception is alive (workers included)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        report = yield
        if report.failed and call.excinfo is not None:
            self._attach(report, call.excinfo.value, report.when)
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_make_collect_report(self, collector: pytest.Collector) -> Any:
        report = yield
        call = report.__dict__.get("call")
        if report.failed and call is not None and call.excinfo is not None:
            exc = call.excinfo.value
            if isinstance(exc, pytest.Collector.CollectError) and exc.__cause__ is not None:
                exc = exc.__cause__  # the ImportError/SyntaxError behind "error while importing"
            self._attach(report, exc, WHEN_COLLECT)
        return report

    def _attach(self, report: Any, exc: BaseException, when: str) -> None:
        try:
            report.ems_failure = failure_of(exc, report.nodeid, when, self.files).to_dict()
        except Exception as err:  # recording must never change the outcome of a test
            sys.stderr.write(f"ems: could not record the failure of {report.nodeid}: {err!r}\n")

    # -- accumulation (controller only)

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.worker:
            return
        entry = self.results.get(report.nodeid)
        if entry is None:
            path, line = report.location[0], report.location[1]
            entry = self.results[report.nodeid] = {
                "outcome": None,
                "duration_s": 0.0,
                "path": Path(path).as_posix() if path else None,
                "line": None if line is None else line + 1,
            }
        entry["duration_s"] += report.duration
        entry["outcome"] = _classify(report, entry["outcome"])
        self._collect_failure(report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if self.worker or not report.failed:
            return
        self.results[report.nodeid or "<collection>"] = {
            "outcome": ERROR,
            "duration_s": 0.0,
            "path": report.nodeid.split("::", 1)[0] or None,
            "line": None,
        }
        self._collect_failure(report)

    def _collect_failure(self, report: Any) -> None:
        data = getattr(report, "ems_failure", None)
        if isinstance(data, dict):
            self.failures.append(Failure.of(data))

    # -- the end

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.worker:
            return
        report = PytestReport(
            root=str(self.files.root),
            exit_status=int(exitstatus),
            results=tuple(
                TestResult(nodeid, e["outcome"] or SKIPPED, round(e["duration_s"], 6), e["path"], e["line"])
                for nodeid, e in self.results.items()
            ),
            failures=tuple(self.failures),
            started_at=self.started,
            finished_at=time.time(),
            pytest_version=pytest.__version__,
            workers=int(getattr(self.config.option, "numprocesses", 0) or 0),
            collected=int(getattr(session, "testscollected", 0) or 0),
        )
        if self.output:
            target = Path(self.output) / REPORT_FILE
            temp = target.with_suffix(".tmp")
            temp.write_text(json.dumps(report.to_dict(), ensure_ascii=False), encoding="utf-8")
            os.replace(temp, target)
            return
        try:
            from ems.testing.record import record_pytest_report

            summary = record_pytest_report(report, command=("pytest", *self.config.invocation_params.args))
        except Exception as err:  # the store is a bonus here: never fail the test run for it
            sys.stderr.write(f"ems: the test run was not recorded: {err}\n")
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is not None:
            terminal.write_line(f"ems: {summary.one_line()}")
