"""Rendering findings for people and machines: text, json, sarif, github.

All formatters take the finished results and return one string, written in one go
(PYTHONUNBUFFERED is common on CI machines; many small writes are slow).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence

from ems.core.model import Finding, Severity
from ems.core.project import FileResult
from ems.core.registry import RuleSet
from ems.core.source import display_lines

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


def _fixable_codes(ruleset: RuleSet) -> Callable[[str], bool]:
    """``code -> whether fix_info can describe its fix``, memoised: output asks per finding."""
    memo: dict[str, bool] = {}

    def fixable(code: str) -> bool:
        known = memo.get(code)
        if known is None:
            rule = ruleset.get(code)
            known = memo[code] = rule is not None and rule.fix_safety is not None
        return known

    return fixable


def render_text(
    results: Sequence[FileResult],
    ruleset: RuleSet,
    *,
    colour: bool,
    show_source: bool = True,
) -> str:
    """One line per finding, then (``show_source``) its source line with a caret underline.

    Lines come from ``result.source`` if attached, else from ``result.excerpts`` (what a
    warm run has from the cache). This runs once per finding of the whole project, so the
    common case (no character needing escapes) is decided by one regex search per line.
    """
    out: list[str] = []
    append = out.append
    fixable = _fixable_codes(ruleset)
    needs_escape = _NEEDS_ESCAPE.search
    if colour:
        bold, dim, reset, colours = _BOLD, _DIM, _RESET, _COLOURS
        bar = f"{_DIM}      | {_RESET}"
    else:
        bold = dim = reset = ""
        colours = dict.fromkeys(_COLOURS, "")
        bar = "      | "
    last_path: str | None = None
    shown_path = ""
    for result in results:
        findings = result.report.findings
        if not findings:
            continue
        lines: list[str] | None = None
        excerpts: Mapping[int, str] | None = None
        if show_source:
            if result.source is not None:
                lines = display_lines(result.source)
            else:
                excerpts = result.excerpts
        for f in findings:
            rng = f.range
            start = rng.start
            line, column = start.line, start.column
            if f.path is not last_path:
                last_path, shown_path = f.path, printable(f.path)
            fix = " [*]" if f.fixable and fixable(f.code) else ""
            paint = colours[f.severity]
            append(
                f"{bold}{shown_path}:{line}:{column + 1}:{reset} {paint}{f.code}{reset} "
                f"{printable(f.message)}{fix}"
            )
            if lines is not None:
                raw = lines[line - 1] if 0 < line <= len(lines) else None
            elif excerpts is not None:
                raw = excerpts.get(line)
            else:
                continue
            if raw is None:
                continue
            if "\t" in raw:
                raw = raw.expandtabs(1)
            end = rng.end.column if rng.end.line == line else len(raw)
            if needs_escape(raw) is None:
                text = raw
                offset = len(raw[:column])
                width = max(1, len(raw[column : max(end, column)]))
            else:
                text = printable(raw)
                # Escaping widens characters: place the caret under the escaped text.
                offset = len(printable(raw[:column]))
                width = max(1, len(printable(raw[column : max(end, column)])))
            append(f"{dim}{line:>5} | {reset}{text}")
            append(f"{bar}{' ' * offset}{paint}{'^' * width}{reset}")
    return "\n".join(out) + ("\n" if out else "")


def render_summary(results: Sequence[FileResult], ruleset: RuleSet, *, colour: bool) -> str:
    findings = [f for r in results for f in r.report.findings]
    fixable_code = _fixable_codes(ruleset)
    fixable = sum(1 for f in findings if f.fixable and fixable_code(f.code))
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
