"""Core ``Finding`` -> LSP ``Diagnostic``: a pure translation, no rule logic.

Each diagnostic's ``data`` carries the finding's fingerprint and the document version,
so a later code action or hover finds the exact finding again without re-deriving it
from the range (two findings may share a range).
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp

from ems.core.model import Finding, Severity, Tag
from ems.core.registry import RuleSet
from ems.rules.e999_syntax_error import SyntaxErrorRule
from ems.rules.ems901_internal_rule_error import InternalRuleError
from ems.server.positions import PositionMapper

SOURCE = "ems"
DOCS_BASE = "https://ems.readthedocs.io/en/latest/user/rules/"

_SEVERITY = {
    Severity.ERROR: lsp.DiagnosticSeverity.Error,
    Severity.WARNING: lsp.DiagnosticSeverity.Warning,
    Severity.INFO: lsp.DiagnosticSeverity.Information,
    Severity.HINT: lsp.DiagnosticSeverity.Hint,
}
_TAGS = {Tag.UNNECESSARY: lsp.DiagnosticTag.Unnecessary, Tag.DEPRECATED: lsp.DiagnosticTag.Deprecated}


def docs_url(code: str, ruleset: RuleSet) -> str:
    rule = ruleset.get(code)
    return rule.url() if rule is not None else f"{DOCS_BASE}#{code.lower()}"


def to_diagnostic(
    finding: Finding, mapper: PositionMapper, uri: str, ruleset: RuleSet, version: int | None
) -> lsp.Diagnostic:
    rng = mapper.range_to_lsp(finding.range)
    if rng.start == rng.end and finding.code in (SyntaxErrorRule.code, InternalRuleError.code):
        rng = _widen(rng, mapper)
    related = [
        lsp.DiagnosticRelatedInformation(lsp.Location(uri, mapper.range_to_lsp(r.range)), r.message)
        for r in finding.shown_related
    ]
    return lsp.Diagnostic(
        range=rng,
        message=finding.message,
        severity=_SEVERITY[finding.severity],
        code=finding.code,
        code_description=lsp.CodeDescription(href=docs_url(finding.code, ruleset)),
        source=SOURCE,
        tags=[_TAGS[t] for t in sorted(finding.tags, key=lambda t: t.value)] or None,
        related_information=related or None,
        data={"fingerprint": finding.fingerprint, "version": version, "fixable": finding.fixable},
    )


def diagnostic_json(
    finding: Finding,
    mapper: PositionMapper,
    uri: str,
    urls: dict[str, str],
    ruleset: RuleSet,
    version: int | None,
    converter: Any,
) -> dict[str, Any]:
    """``to_diagnostic`` as the JSON a client receives, built directly: the publish after
    every keystroke sends every finding of the document, and making and unstructuring
    lsprotocol objects for each cost more than the analysis of a small edit
    (performance.md). ``urls`` memoises each code's documentation link; ``converter``
    (pygls's) unstructures the rare zero-width error the long way."""
    rng = finding.range
    start, end = mapper.units(rng.start), mapper.units(rng.end)
    if start == end and finding.code in (SyntaxErrorRule.code, InternalRuleError.code):
        unstructured: dict[str, Any] = converter.unstructure(
            to_diagnostic(finding, mapper, uri, ruleset, version)
        )
        return unstructured
    url = urls.get(finding.code)
    if url is None:
        url = urls[finding.code] = docs_url(finding.code, ruleset)
    out: dict[str, Any] = {
        "range": _json_range(start, end),
        "message": finding.message,
        "severity": _SEVERITY[finding.severity].value,
        "code": finding.code,
        "codeDescription": {"href": url},
        "source": SOURCE,
    }
    if finding.tags:
        out["tags"] = [_TAGS[t].value for t in sorted(finding.tags, key=lambda t: t.value)]
    related = finding.shown_related
    if related:
        out["relatedInformation"] = [
            {
                "location": {
                    "uri": uri,
                    "range": _json_range(mapper.units(r.range.start), mapper.units(r.range.end)),
                },
                "message": r.message,
            }
            for r in related
        ]
    out["data"] = {"fingerprint": finding.fingerprint, "version": version, "fixable": finding.fixable}
    return out


def _json_range(start: tuple[int, int], end: tuple[int, int]) -> dict[str, Any]:
    return {
        "start": {"line": start[0], "character": start[1]},
        "end": {"line": end[0], "character": end[1]},
    }


def _widen(rng: lsp.Range, mapper: PositionMapper) -> lsp.Range:
    """Give a zero-width error one character (or the line's end) so editors can show it."""
    line = mapper.index.line_text(rng.start.line)
    start = mapper.from_lsp(rng.start)
    if start.column < len(line):
        end_units = mapper.to_lsp(type(start)(start.line, start.column + 1)).character
        return lsp.Range(rng.start, lsp.Position(rng.start.line, end_units))
    return rng
