"""Rendering findings for people and machines: text, json, sarif, github.

All formatters take the finished results and return one string, written in one go
(PYTHONUNBUFFERED is common on CI machines; many small writes are slow).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Sequence

from ems.core.model import Finding, Severity
from ems.core.project import FileResult
from ems.core.registry import RuleSet

FORMATS = ("text", "json", "sarif", "github")

# Optional enrichment of JSON findings (e.g. the store's "introduced" commit); set by
# the caller, never globally.
Enricher = Callable[[Finding], dict[str, object]]

_COLOURS = {
    Severity.ERROR: "\x1b[31m",
    Severity.WARNING: "\x1b[33m",
    Severity.INFO: "\x1b[36m",
    Severity.HINT: "\x1b[2m",
}
_BOLD, _RESET, _DIM = "\x1b[1m", "\x1b[0m", "\x1b[2m"


# Control characters (C0, DEL, C1) and bidirectional overrides ("Trojan Source") would
# act on the user's terminal if a file's text were echoed raw; show them escaped.
_UNSAFE_CHARS = {
    c: f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"
    for c in (
        *range(0x00, 0x09),
        *range(0x0A, 0x20),
        0x7F,
        *range(0x80, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
}


_NEEDS_ESCAPE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    """``text`` safe to write to a terminal: control and bidi characters escaped."""
    if _NEEDS_ESCAPE.search(text) is None:
        return text  # the common case, decided in C
    return text.translate(_UNSAFE_CHARS)


def fix_info(finding: Finding, ruleset: RuleSet) -> dict[str, str] | None:
    rule = ruleset.get(finding.code)
    if not finding.fixable or rule is None or rule.fix_safety is None:
        return None
    return {"title": rule.fix_title, "safety": rule.fix_safety.value}


def finding_dict(finding: Finding, ruleset: RuleSet, enrich: Enricher | None = None) -> dict[str, object]:
    rule = ruleset.get(finding.code)
    data: dict[str, object] = {
        "path": finding.path,
        "code": finding.code,
        "name": finding.name,
        "message": finding.message,
        "severity": finding.severity.value,
        "line": finding.range.start.line,
        "column": finding.range.start.column + 1,
        "end_line": finding.range.end.line,
        "end_column": finding.range.end.column + 1,
        "fingerprint": finding.fingerprint,
        "fix": fix_info(finding, ruleset),
        "url": rule.url() if rule else None,
    }
    if finding.related:
        data["related"] = [
            {"line": r.range.start.line, "column": r.range.start.column + 1, "message": r.message}
            for r in finding.related
        ]
    if enrich is not None:
        data.update(enrich(finding))
    return data


def render_json(results: Sequence[FileResult], ruleset: RuleSet, enrich: Enricher | None = None) -> str:
    return (
        json.dumps(
            [finding_dict(f, ruleset, enrich) for r in results for f in r.report.findings],
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def render_github(results: Sequence[FileResult], ruleset: RuleSet) -> str:
    levels = {
        Severity.ERROR: "error",
        Severity.WARNING: "warning",
        Severity.INFO: "notice",
        Severity.HINT: "notice",
    }
    lines = []
    for result in results:
        for f in result.report.findings:
            message = f.message.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            path = f.path.replace(",", "%2C").replace(":", "%3A")
            lines.append(
                f"::{levels[f.severity]} title=ems ({f.code}),file={path},line={f.line},col={f.column + 1},"
                f"endLine={f.range.end.line},endColumn={f.range.end.column + 1}::{f.code} {message}"
            )
    return "\n".join(lines) + ("\n" if lines else "")


def render_text(
    results: Sequence[FileResult],
    ruleset: RuleSet,
    *,
    colour: bool,
    show_source: bool = True,
) -> str:
    out: list[str] = []

    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if colour else text

    for result in results:
        lines: list[str] | None = None
        for f in result.report.findings:
            fix = " [*]" if f.fixable and fix_info(f, ruleset) else ""
            location = paint(f"{printable(f.path)}:{f.line}:{f.column + 1}:", _BOLD)
            out.append(f"{location} {paint(f.code, _COLOURS[f.severity])} {printable(f.message)}{fix}")
            if not show_source or result.source is None:
                continue
            if lines is None:
                lines = _decoded_lines(result.source)
            if 0 < f.line <= len(lines):
                raw = lines[f.line - 1].expandtabs(1)
                end = f.range.end.column if f.range.end.line == f.line else len(raw)
                text = printable(raw)
                # Escaping widens characters: place the caret under the escaped text.
                start = len(printable(raw[: f.column]))
                width = max(1, len(printable(raw[f.column : max(end, f.column)])))
                gutter = f"{f.line:>5} | "
                out.append(paint(gutter, _DIM) + text)
                out.append(
                    paint(" " * 6 + "| ", _DIM) + " " * start + paint("^" * width, _COLOURS[f.severity])
                )
    return "\n".join(out) + ("\n" if out else "")


def _decoded_lines(data: bytes) -> list[str]:
    from ems.core.source import SourceText, UndecodableSource, decode_source

    try:
        return SourceText(decode_source(data).text).lines
    except UndecodableSource:
        return SourceText(data.decode("utf-8", errors="replace")).lines


def render_summary(results: Sequence[FileResult], ruleset: RuleSet, *, colour: bool) -> str:
    findings = [f for r in results for f in r.report.findings]
    fixable = sum(1 for f in findings if f.fixable and fix_info(f, ruleset))
    files = len(results)
    if not findings:
        text = f"All checks passed ({files} file{'s' if files != 1 else ''} checked)."
        return (f"\x1b[32m{text}{_RESET}" if colour else text) + "\n"
    with_findings = sum(1 for r in results if r.report.findings)
    text = (
        f"Found {len(findings)} error{'s' if len(findings) != 1 else ''} in {with_findings} "
        f"file{'s' if with_findings != 1 else ''} ({files} checked)."
    )
    if fixable:
        text += f"\n[*] {fixable} fixable with `ems fix` (safe fixes; add --unsafe-fixes for the rest)."
    return text + "\n"


def render_statistics(results: Sequence[FileResult], ruleset: RuleSet) -> str:
    counts = Counter(f.code for r in results for f in r.report.findings)
    rows = []
    for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        rule = ruleset.get(code)
        name = rule.name if rule else code
        fixable = "[*]" if rule is not None and rule.has_fix() else "   "
        rows.append(f"{count:>6}  {code:<7} {fixable} {name}")
    return "\n".join(rows) + ("\n" if rows else "")
