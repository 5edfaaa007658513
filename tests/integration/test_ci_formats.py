"""`ems check --format gitlab|junit|azure|pylint|json-lines` through a subprocess: each
report parses as its consumer reads it and says what `--format json` says."""

from __future__ import annotations

import json
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sample_projects import ems

from ems.cli.ci_formats import render_junit
from ems.core.model import Finding, Range, Report, Severity
from ems.runtime.scan import FileResult

BAD = 'import os\nx = None\nif x == None:\n    print(f"hi")\n'
ODD_NAME = "semi;colon]&<amp>.py"


def check(cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return ems(cwd, "check", "--no-cache", *args, **env)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "ems.toml").write_text('select = ["F401", "E711", "F541", "E999"]\n')
    src = tmp_path / "src"
    src.mkdir()
    (src / "bad.py").write_text(BAD)
    (src / ODD_NAME).write_text("import sys\n")
    (src / "broken.py").write_text("def f(:\n")
    (src / "clean.py").write_text("y = 1\n")
    return tmp_path


def _json_findings(project: Path) -> list[dict[str, object]]:
    result = check(project, "--format", "json", "src")
    assert result.returncode == 1, result.stderr
    findings: list[dict[str, object]] = json.loads(result.stdout)
    assert {f["code"] for f in findings} == {"F401", "E711", "F541", "E999"}
    return findings


def test_gitlab_report_is_code_quality_json_relative_to_the_project_dir(project: Path) -> None:
    expected = _json_findings(project)
    # Run from the sub-folder: GitLab resolves paths from CI_PROJECT_DIR, not the job's folder.
    result = check(project / "src", "--format", "gitlab", ".", CI_PROJECT_DIR=str(project))
    assert result.returncode == 1, result.stderr
    issues = json.loads(result.stdout)
    assert len(issues) == len(expected)
    for issue in issues:
        assert set(issue) == {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"].startswith("src/")
        assert issue["location"]["positions"]["begin"]["line"] >= 1
    assert len({i["fingerprint"] for i in issues}) == len(issues)
    by_place = {
        (i["location"]["path"], i["check_name"], i["location"]["positions"]["begin"]["line"]) for i in issues
    }
    assert by_place == {(f"src/{Path(str(f['path'])).name}", f["code"], f["line"]) for f in expected}
    syntax = next(i for i in issues if i["check_name"] == "E999")
    assert syntax["severity"] == "major"  # an error: the file does not parse


def test_gitlab_fingerprints_survive_an_unrelated_edit(project: Path) -> None:
    def fingerprints() -> set[str]:
        out = check(project, "--format", "gitlab", "src", CI_PROJECT_DIR=str(project)).stdout
        return {i["fingerprint"] for i in json.loads(out) if i["check_name"] == "F541"}

    before = fingerprints()
    (project / "src" / "bad.py").write_text("# a comment above moves every line\n" + BAD)
    assert fingerprints() == before


def test_gitlab_report_of_a_clean_project_is_an_empty_list(project: Path) -> None:
    result = check(project, "--format", "gitlab", "src/clean.py")
    assert result.returncode == 0
    assert json.loads(result.stdout) == []


def test_junit_report_has_a_suite_per_file_and_a_failure_per_finding(project: Path) -> None:
    expected = _json_findings(project)
    result = check(project, "--format", "junit", "src")
    assert result.returncode == 1, result.stderr
    root = ET.fromstring(result.stdout)
    assert root.tag == "testsuites"
    suites = {s.get("name"): s for s in root.iter("testsuite")}
    assert set(suites) == {str(Path("src") / n) for n in ("bad.py", ODD_NAME, "broken.py", "clean.py")}
    assert int(root.get("failures", "")) == len(expected) == len(list(root.iter("failure")))
    assert int(root.get("tests", "")) == len(expected) + 1  # the clean file passes once
    clean = suites[str(Path("src") / "clean.py")]
    assert clean.get("failures") == "0" and len(clean.findall("testcase")) == 1
    assert clean.find("testcase/failure") is None
    odd = suites[str(Path("src") / ODD_NAME)]
    (failure,) = odd.iter("failure")
    assert failure.get("type") == "F401"
    assert failure.text is not None and ODD_NAME in failure.text


def test_junit_escapes_what_xml_cannot_hold() -> None:
    finding = Finding(
        code="F401",
        name="unused-import",
        severity=Severity.WARNING,
        range=Range.of(1, 0, 1, 1),
        message="odd \x01 name <&>",
        path="a.py",
    )
    result = FileResult(path=Path("a.py"), display="a.py", report=Report("a.py", (finding,)))
    root = ET.fromstring("".join(render_junit([result])))
    (failure,) = root.iter("failure")
    assert failure.get("message") == "odd \\x01 name <&>"


def test_azure_commands_escape_the_separators_in_a_path(project: Path) -> None:
    expected = _json_findings(project)
    result = check(project, "--format", "azure", "src")
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(expected)
    pattern = re.compile(
        r"##vso\[task\.logissue type=(error|warning);sourcepath=([^;\]]+);linenumber=(\d+);"
        r"columnnumber=(\d+);code=([A-Z0-9]+);\](.+)"
    )
    parsed = [pattern.fullmatch(line) for line in lines]
    assert all(parsed), lines
    paths = {m.group(2) for m in parsed if m}
    assert str(Path("src") / "semi%3Bcolon%5D&<amp>.py") in paths
    assert {m.group(1) for m in parsed if m and m.group(5) == "E999"} == {"error"}


def test_pylint_lines_match_the_json_findings(project: Path) -> None:
    expected = _json_findings(project)
    result = check(project, "--output-format", "pylint", "src")  # ruff's name for --format
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"{f['path']}:{f['line']}: [{f['code']}] {f['message']}" for f in expected
    ]


def test_json_lines_are_the_json_report_one_finding_per_line(project: Path) -> None:
    expected = _json_findings(project)
    result = check(project, "--format", "json-lines", "src")
    assert result.returncode == 1, result.stderr
    assert [json.loads(line) for line in result.stdout.splitlines()] == expected


def test_a_ci_format_goes_to_the_output_file(project: Path) -> None:
    target = project / "report.xml"
    result = check(project, "--format", "junit", "--output-file", str(target), "--exit-zero", "src")
    assert result.returncode == 0 and result.stdout == ""
    assert ET.parse(target).getroot().get("failures") == str(len(_json_findings(project)))


def test_grouped_names_each_file_once_and_matches_the_json_findings(project: Path) -> None:
    findings = _json_findings(project)
    result = check(project, "--format", "grouped", "src", "-q")
    assert result.returncode == 1, result.stderr
    blocks = [b for b in result.stdout.split("\n\n") if b.strip()]
    seen = set()
    for block in blocks:
        head, *rows = block.splitlines()
        path = head.removesuffix(":")
        for row in rows:
            place, code, rest = row.strip().split(" ", 2)
            line, column = place.split(":")
            fixable = rest.startswith("[*] ")
            seen.add((path, code, int(line), int(column), rest.removeprefix("[*] "), fixable))
    expected = {
        (
            f["path"],
            f["code"],
            f["line"],
            f["column"],
            f["message"],
            isinstance(f["fix"], dict) and bool(f["fix"]["applied"]),
        )
        for f in findings
    }
    assert seen == expected
    assert len(blocks) == len({f["path"] for f in findings})
    assert "Found" in check(project, "--format", "grouped", "src").stdout  # the summary without -q


@pytest.mark.parametrize(("name", "source"), [("concise", False), ("full", True)])
def test_ruffs_concise_and_full_are_text_without_and_with_source(
    project: Path, name: str, source: bool
) -> None:
    shown = check(project, "--output-format", name, "src").stdout
    assert shown == check(project, "src", *([] if source else ["--no-source"])).stdout
    assert ("    1 | import os" in shown) is source
