"""Reports for CI services that read findings in their own format: GitLab Code Quality,
JUnit XML (any CI's test-report view), Azure Pipelines logging commands and pylint's
one-line form (editors and tools that parse pylint output).

Each takes the finished results and yields pieces, as ``formats.render_json`` does.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from pathlib import Path, PurePath
from xml.sax.saxutils import escape, quoteattr

from ems.cli.formats import printable
from ems.core.model import Finding, Severity
from ems.runtime.scan import FileResult

# GitLab's Code Quality levels (info, minor, major, critical, blocker): ems's error is
# "major", as a broken-code finding that still lets the pipeline's other jobs run.
_GITLAB_SEVERITIES = {
    Severity.ERROR: "major",
    Severity.WARNING: "minor",
    Severity.INFO: "info",
    Severity.HINT: "info",
}
_AZURE_TYPES = {
    Severity.ERROR: "error",
    Severity.WARNING: "warning",
    Severity.INFO: "warning",
    Severity.HINT: "warning",
}


def gitlab_path(display: str, project_dir: str | None) -> str:
    """The path GitLab links to: relative to ``$CI_PROJECT_DIR`` when the file is in it
    (GitLab resolves Code Quality paths from the repository root, whatever folder the job
    ran ems in), else as shown, with forward slashes."""
    path = Path(display)
    if project_dir:
        root = Path(project_dir).resolve()
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            pass
    return PurePath(display).as_posix()


def gitlab_fingerprint(path: str, finding: Finding) -> str:
    """Unique within the report and stable across unrelated edits: the finding's own
    fingerprint (stable, unique within its file) joined to its path."""
    key = f"{path}\x1f{finding.code}\x1f{finding.fingerprint or finding.range}"
    return hashlib.md5(key.encode("utf-8"), usedforsecurity=False).hexdigest()


def render_gitlab(results: Sequence[FileResult], project_dir: str | None = None) -> Iterator[str]:
    """A GitLab Code Quality report (a JSON list), for ``artifacts: reports: codequality``."""
    root = project_dir if project_dir is not None else os.environ.get("CI_PROJECT_DIR")
    yield "["
    first = True
    for result in results:
        findings = result.report.findings
        if not findings:
            continue
        path = gitlab_path(result.display, root)
        for f in findings:
            r = f.range
            entry = {
                "description": f"{f.code} {f.message}",
                "check_name": f.code,
                "fingerprint": gitlab_fingerprint(path, f),
                "severity": _GITLAB_SEVERITIES[f.severity],
                "location": {
                    "path": path,
                    "positions": {
                        "begin": {"line": r.start.line, "column": r.start.column + 1},
                        "end": {"line": r.end.line, "column": r.end.column + 1},
                    },
                },
            }
            yield ("\n  " if first else ",\n  ") + json.dumps(entry, ensure_ascii=False)
            first = False
    yield "]\n" if first else "\n]\n"


# XML 1.0 cannot hold these characters at all, escaped or not.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_safe(text: str) -> str:
    """``text`` with the characters XML cannot hold shown escaped, as the terminal shows them."""
    return printable(text) if _NOT_XML.search(text) is not None else text


def _xml_text(text: str) -> str:
    return escape(_xml_safe(text))


def _xml_attr(text: str) -> str:
    return quoteattr(_xml_safe(text))


def render_junit(results: Sequence[FileResult]) -> Iterator[str]:
    """JUnit XML: a test suite per file checked and a failing test case per finding; a
    clean file is one passing case, so the CI's test view counts what was checked."""
    total = sum(max(1, len(r.report.findings)) for r in results)
    failures = sum(len(r.report.findings) for r in results)
    yield '<?xml version="1.0" encoding="UTF-8"?>\n'
    yield f'<testsuites name="ems" tests="{total}" failures="{failures}" errors="0">\n'
    for result in results:
        findings = result.report.findings
        name = _xml_attr(result.display)
        yield (
            f'  <testsuite name={name} tests="{max(1, len(findings))}" '
            f'failures="{len(findings)}" errors="0" skipped="0">\n'
        )
        if not findings:
            yield f'    <testcase name="ems" classname={name}/>\n'
        for f in findings:
            line, column = f.range.start.line, f.range.start.column + 1
            yield (
                f"    <testcase name={_xml_attr(f'{f.code} {f.name} at {line}:{column}')} "
                f'classname={name} file={name} line="{line}">\n'
                f"      <failure message={_xml_attr(f.message)} type={_xml_attr(f.code)}>"
                f"{_xml_text(f'{result.display}:{line}:{column}: {f.code} {f.message}')}</failure>\n"
                "    </testcase>\n"
            )
        yield "  </testsuite>\n"
    yield "</testsuites>\n"


def _azure_data(text: str) -> str:
    """A logging command's message: the escapes Azure Pipelines decodes."""
    return text.replace("%", "%AZP25").replace("\r", "%0D").replace("\n", "%0A")


def _azure_value(text: str) -> str:
    """A logging command's property value: its message escapes, and its separators."""
    return _azure_data(text).replace(";", "%3B").replace("]", "%5D")


def render_azure(results: Sequence[FileResult]) -> Iterator[str]:
    """Azure Pipelines ``##vso[task.logissue]`` commands, one per finding."""
    for result in results:
        for f in result.report.findings:
            message = _azure_data(f"{f.code} {f.message}")
            yield (
                f"##vso[task.logissue type={_AZURE_TYPES[f.severity]};"
                f"sourcepath={_azure_value(f.path)};linenumber={f.range.start.line};"
                f"columnnumber={f.range.start.column + 1};code={f.code};]{printable(message)}\n"
            )


def render_pylint(results: Sequence[FileResult]) -> Iterator[str]:
    """pylint's parseable form, ``path:line: [CODE] message``, one line per finding."""
    for result in results:
        for f in result.report.findings:
            yield f"{printable(f.path)}:{f.range.start.line}: [{f.code}] {printable(f.message)}\n"
