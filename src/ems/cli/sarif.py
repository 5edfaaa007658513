"""SARIF 2.1.0 output, with fixes (artifactChanges) for fixable findings."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from ems import __version__
from ems.cli.indented_json import with_array_pieces
from ems.core.config import ConfigResolver
from ems.core.model import Finding, Fix, Severity
from ems.core.registry import RuleSet
from ems.runtime.scan import FileResult

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note", Severity.HINT: "note"}


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    return {"startLine": line, "startColumn": column + 1, "endLine": end_line, "endColumn": end_column + 1}


def _with_fixes(
    result: FileResult, resolver: ConfigResolver, ruleset: RuleSet
) -> Iterator[tuple[Finding, Fix | None]]:
    """Each finding of ``result`` with its fix, computed as it is reached (a file's fixes
    are never all held at once)."""
    findings = result.report.findings
    if result.source is None or not any(f.fixability and f.fixability.known for f in findings):
        yield from ((finding, None) for finding in findings)
        return
    from ems.core.source import UndecodableSource, decode_source
    from ems.fixes import FixContext, fixes_for

    try:
        text = decode_source(result.source).text
    except UndecodableSource:
        yield from ((finding, None) for finding in findings)
        return
    config = resolver.for_path(result.path)
    ctx = FixContext(text, result.display)
    for finding in findings:
        fix = None
        if finding.fixability and finding.fixability.known:  # the computed fact
            fix = fixes_for(text, finding, result.display, config, ruleset, result.report, ctx)
        yield finding, fix


def _result(
    finding: Finding, ruleset: RuleSet, rule_index: dict[str, int], fix: Fix | None
) -> dict[str, object]:
    uri = Path(finding.path).as_posix()
    r = finding.range
    entry: dict[str, object] = {
        "ruleId": finding.code,
        "level": _LEVELS[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": _region(r.start.line, r.start.column, r.end.line, r.end.column),
                }
            }
        ],
        "partialFingerprints": {"emsFingerprint/v1": finding.fingerprint},
    }
    if finding.code in rule_index:
        entry["ruleIndex"] = rule_index[finding.code]
    related = finding.shown_related
    if related:
        entry["relatedLocations"] = [
            {
                "id": i,
                "message": {"text": rel.message},
                "physicalLocation": {
                    "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                    "region": _region(
                        rel.range.start.line, rel.range.start.column, rel.range.end.line, rel.range.end.column
                    ),
                },
            }
            for i, rel in enumerate(related)
        ]
    if fix is not None:
        fixability = finding.fixability
        safety = fixability.safety.value if fixability is not None else fix.safety.value
        entry["fixes"] = [
            {
                "description": {"text": f"{fix.title} ({safety})"},
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": uri, "uriBaseId": "%SRCROOT%"},
                        "replacements": [
                            {
                                "deletedRegion": _region(
                                    e.range.start.line,
                                    e.range.start.column,
                                    e.range.end.line,
                                    e.range.end.column,
                                ),
                                "insertedContent": {"text": e.new_text},
                            }
                            for e in fix.edits
                        ],
                    }
                ],
            }
        ]
    return entry


def render_sarif(results: Sequence[FileResult], ruleset: RuleSet, resolver: ConfigResolver) -> Iterator[str]:
    """The SARIF document, in pieces (``indented_json.with_array_pieces``)."""
    rules = list(ruleset.rules)
    rule_index = {rule.code: i for i, rule in enumerate(rules)}

    def sarif_results() -> Iterator[dict[str, object]]:
        for result in results:
            for finding, fix in _with_fixes(result, resolver, ruleset):
                yield _result(finding, ruleset, rule_index, fix)

    document: dict[str, object] = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ems",
                        "version": __version__,
                        "informationUri": "https://pypi.org/project/error-management-system/",
                        "rules": [
                            {
                                "id": rule.code,
                                "name": rule.name,
                                "shortDescription": {"text": rule.summary},
                                "fullDescription": {"text": rule.explanation},
                                "helpUri": rule.url(),
                                "defaultConfiguration": {"level": _LEVELS[rule.severity]},
                            }
                            for rule in rules
                        ],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
                "results": [],  # one result at a time, below
            }
        ],
    }
    yield from with_array_pieces(document, ("runs", 0, "results"), sarif_results())
    yield "\n"
