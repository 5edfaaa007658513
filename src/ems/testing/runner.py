"""``ems test``'s service: run pytest in a subprocess with the plugin and coverage, record it.

pytest runs in a child process (its imports, plugins and crashes stay out of ems) as
``python -m coverage run -m pytest -p ems ARGS``; the plugin writes its report to a private
temporary folder and xdist workers measure their own coverage into it. The store is written
once, after the child exits, in one transaction: an interrupted or broken run cannot damage
what is already recorded.
"""

from __future__ import annotations

import collections
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from ems.store.testruns import KIND_TEST, CoverageFile
from ems.testing.model import PytestReport
from ems.testing.pytest_plugin import COVERAGE_RC, ENV_OUTPUT, REPORT_FILE
from ems.testing.record import RunSummary, git_context, record_not_started, record_pytest_report

STDERR_TAIL = 30  # lines of pytest's stderr kept to explain a run that did not start
EXIT_MEANINGS = {
    1: "tests failed",
    2: "interrupted",
    3: "internal error",
    4: "usage error",
    5: "no tests collected",
}


@dataclass(frozen=True)
class TestRunResult:
    __test__ = False

    exit_code: int
    summary: RunSummary
    started: bool  # False: pytest never reached the test session (nothing was evaluated)


def coverage_rc(root: Path, folder: Path) -> str:
    """Coverage settings: the project's files only, data in our private folder."""
    return "\n".join(
        [
            "[run]",
            "parallel = True",
            f"data_file = {folder / 'cov' / '.coverage'}",
            f"source = {root}",
            "omit =",
            "    */site-packages/*",
            "    */dist-packages/*",
            "    */.venv/*",
            "    */venv/*",
            "    */.tox/*",
            "",
        ]
    )


def read_coverage(json_path: Path, root: Path, cwd: Path) -> list[CoverageFile]:
    """Per-file coverage from coverage.py's JSON report, paths relative to ``root``."""
    data = json.loads(json_path.read_text(encoding="utf-8"))
    out: list[CoverageFile] = []
    for name, info in data.get("files", {}).items():
        path = Path(name) if Path(name).is_absolute() else cwd / name
        try:
            rel = path.resolve().relative_to(root).as_posix()
        except ValueError:
            continue
        summary = info.get("summary", {})
        out.append(
            CoverageFile(
                0,
                rel,
                int(summary.get("num_statements", 0)),
                int(summary.get("covered_lines", 0)),
                tuple(int(n) for n in info.get("missing_lines", ())),
                float(summary.get("percent_covered", 0.0)),
            )
        )
    return sorted(out, key=lambda f: f.path)


def _combine_coverage(rcfile: Path, out: Path) -> bool:
    import coverage
    from coverage.exceptions import CoverageException

    try:
        cov = coverage.Coverage(config_file=str(rcfile))
        cov.combine()
        cov.save()
        cov.json_report(outfile=str(out))
    except CoverageException:
        return False
    return out.is_file()


def _target(stream: IO[str] | None) -> int | IO[str]:
    """Where the child writes: straight into a real file, else through a pipe we pump."""
    if stream is None:
        return subprocess.DEVNULL
    try:
        stream.fileno()
    except (AttributeError, OSError, ValueError):
        return subprocess.PIPE
    stream.flush()
    return stream


def _pump(stream: IO[str], sink: IO[str] | None, tail: collections.deque[str]) -> None:
    for line in stream:
        tail.append(line)
        if sink is not None:
            sink.write(line)
            sink.flush()


def run_tests(
    root: Path,
    pytest_args: Sequence[str],
    *,
    cwd: Path | None = None,
    with_coverage: bool = True,
    store_path: Path | None = None,
    stdout: IO[str] | None = None,
    stderr: IO[str] | None = None,
    python: str = sys.executable,
    timeout: float | None = None,
) -> TestRunResult:
    """Run pytest on the project at ``root`` and record the run. ``stdout``/``stderr`` get
    pytest's output (None: discarded)."""
    cwd = cwd or Path.cwd()
    command = ("pytest", *pytest_args)
    context = git_context(root)
    with tempfile.TemporaryDirectory(prefix="ems-test-") as tmp:
        folder = Path(tmp)
        argv = [python]
        if with_coverage:
            rcfile = folder / COVERAGE_RC
            rcfile.write_text(coverage_rc(root, folder), encoding="utf-8")
            argv += ["-m", "coverage", "run", f"--rcfile={rcfile}"]
        argv += ["-m", "pytest", "-p", "ems", *pytest_args]
        env = dict(os.environ)
        env[ENV_OUTPUT] = str(folder)
        tail: collections.deque[str] = collections.deque(maxlen=STDERR_TAIL)
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=_target(stdout),
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
        pumps = [threading.Thread(target=_pump, args=(proc.stderr, stderr, tail), daemon=True)]
        if proc.stdout is not None:
            pumps.append(
                threading.Thread(
                    target=_pump, args=(proc.stdout, stdout, collections.deque(maxlen=1)), daemon=True
                )
            )
        for pump in pumps:
            pump.start()
        try:
            exit_code = proc.wait(timeout=timeout)
        except BaseException:
            proc.kill()
            proc.wait()
            raise
        finally:
            for pump in pumps:
                pump.join(timeout=5)
        report_path = folder / REPORT_FILE
        if not report_path.is_file():
            meaning = EXIT_MEANINGS.get(exit_code, "it stopped")
            detail = "".join(tail).strip()
            message = f"pytest exited with code {exit_code} ({meaning}) before the test session started" + (
                f":\n{detail}" if detail else ""
            )
            summary = record_not_started(
                root,
                kind=KIND_TEST,
                command=command,
                exit_code=exit_code,
                message=message,
                store_path=store_path,
                context=context,
            )
            return TestRunResult(exit_code, summary, started=False)
        report = PytestReport.of(json.loads(report_path.read_text(encoding="utf-8")))
        files: list[CoverageFile] = []
        if with_coverage:
            json_path = folder / "coverage.json"
            if _combine_coverage(folder / COVERAGE_RC, json_path):
                files = read_coverage(json_path, root, cwd)
        summary = record_pytest_report(
            report, command=command, coverage=files, store_path=store_path, context=context
        )
        return TestRunResult(exit_code, summary, started=True)
