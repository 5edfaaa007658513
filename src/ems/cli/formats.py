"""Rendering findings for people and machines: text, json, json-lines, github (the
other CI services' formats are in ``ci_formats``, SARIF in ``sarif``).

All formatters take the finished results. Text and GitHub annotations come back as one
string; JSON and SARIF as pieces, one finding at a time, which ``write_pieces`` writes in
batches (PYTHONUNBUFFERED is common on CI machines, so many small writes are slow, and the
5 MB file's report is tens of megabytes that need not be held at once).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ems.cli.indented_json import json_array_pieces
from ems.core.model import Finding, Fixability, Severity
from ems.runtime.scan import FileResult

if TYPE_CHECKING:
    from ems.core.registry import RuleSet

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


def fix_info(finding: Finding, ruleset: RuleSet) -> dict[str, object] | None:
    """The finding's computed fix (``Finding.fixability``): its safety, and whether ``ems
    fix`` applies it as configured (``applied``; false: only with ``--unsafe-fixes``)."""
    fixability = finding.fixability
    if fixability is None or not fixability.known:
        return None
    rule = ruleset.get(finding.code)
    title = rule.fix_title if rule is not None and rule.fix_title else f"Fix {finding.code}"
    return {"title": title, "safety": fixability.safety.value, "applied": fixability.applied}


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
    related = finding.shown_related
    if related:
        data["related"] = [
            {"line": r.range.start.line, "column": r.range.start.column + 1, "message": r.message}
            for r in related
        ]
    if enrich is not None:
        data.update(enrich(finding))
    return data


def render_json(
    results: Sequence[FileResult], ruleset: RuleSet, enrich: Enricher | None = None
) -> Iterator[str]:
    yield from json_array_pieces(finding_dict(f, ruleset, enrich) for r in results for f in r.report.findings)
    yield "\n"


def render_json_lines(
    results: Sequence[FileResult], ruleset: RuleSet, enrich: Enricher | None = None
) -> Iterator[str]:
    """One JSON object per line, as ``render_json``'s items: for tools that stream."""
    for result in results:
        for f in result.report.findings:
            yield json.dumps(finding_dict(f, ruleset, enrich), ensure_ascii=False) + "\n"


_WRITE_BATCH = 1 << 20  # characters gathered before one write


def write_pieces(stream: TextIO, pieces: Iterable[str]) -> None:
    """Write ``pieces`` in batches of about ``_WRITE_BATCH`` characters."""
    batch: list[str] = []
    size = 0
    for piece in pieces:
        batch.append(piece)
        size += len(piece)
        if size >= _WRITE_BATCH:
            stream.write("".join(batch))
            batch, size = [], 0
    if batch:
        stream.write("".join(batch))


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


# What the text format shows of a finding: path, code, severity value, start line and
# column, end line and column, message, fixable.
_Shown = tuple[str, str, str, int, int, int, int, str, bool]


def _shown_findings(result: FileResult) -> Iterator[_Shown]:
    for f in result.report.findings:
        rng = f.range
        start, end = rng.start, rng.end
        yield (
            f.path,
            f.code,
            f.severity.value,
            start.line,
            start.column,
            end.line,
            end.column,
            f.message,
            f.fixability is not None and f.fixability.applied,
        )


def render_text(results: Iterable[FileResult], *, colour: bool, show_source: bool = True) -> str:
    """One line per finding, then (``show_source``) its source line with a caret underline;
    ``[*]`` after one that ``ems fix`` fixes (``Finding.fixability``, computed with the
    findings, so rendering needs no rule)."""
    render = TextRenderer(colour=colour, show_source=show_source)
    return "".join([render.block(result) for result in results])


def render_grouped(results: Iterable[FileResult]) -> str:
    """ruff's ``grouped`` format: each file's name once, then its findings indented, one line
    each (``LINE:COL CODE [*] MESSAGE``), a blank line after each file."""
    out: list[str] = []
    for result in results:
        shown = list(_shown_findings(result))
        if not shown:
            continue
        out.append(f"{printable(shown[0][0])}:")
        for _path, code, _severity, line, column, _end_line, _end, message, can_fix in shown:
            mark = " [*]" if can_fix else ""
            out.append(f"  {line}:{column + 1} {code}{mark} {printable(message)}")
        out.append("")
    return "\n".join(out) + ("\n" if out else "")


class TextRenderer:
    """Renders one file's findings at a time, so a caller can render each result as soon as
    it is ready (``ems check`` renders cached results while changed files are analysed).

    Lines come from ``result.source`` if attached, else from ``result.excerpts`` (what a
    warm run has from the cache).

    ``view``/``view_key`` make the rendering cacheable with the file's result
    (``ems.runtime.scan.View``): a warm run then prints a file's block as stored, without
    building its report. The view is this class's own text; the cache keeps it opaque.
    """

    def __init__(self, *, colour: bool, show_source: bool = True) -> None:
        self.style = _TextStyle(colour)
        self.show_source = show_source
        # What else the block depends on is in the cache row's key already (the rules,
        # the ems core's source, the file's content and display path).
        self.view_key = f"text:{_module_digest()}:{int(colour)}{int(show_source)}"

    def block(self, result: FileResult) -> str:
        """The text for ``result``'s findings ("" for a clean file); from its view if any."""
        if result.view is not None:
            with contextlib.suppress(ValueError):  # a malformed view: render afresh
                return _view_parts(result.view)[1]
        if not result.report.findings:
            return ""
        lines: list[str] | None = None
        excerpts: Mapping[int, str] | None = None
        if self.show_source:
            if result.source is not None:
                from ems.core.source import display_lines

                lines = display_lines(result.source)
            else:
                excerpts = result.excerpts
        out: list[str] = []
        _render_findings(out, _shown_findings(result), lines, excerpts, self.style)
        return "\n".join(out) + ("\n" if out else "")

    def view(self, result: FileResult) -> str:
        """What the cache keeps of ``result``: its counts (for the summary), then its block."""
        count, fixable, hidden = _counts(result)
        return f"{count} {fixable} {hidden}\n{self.block(result)}"


def _view_parts(view: str) -> tuple[tuple[int, int, int], str]:
    """((findings, fixable, hidden), text) of a ``TextRenderer.view``; raises ValueError if
    malformed."""
    head, newline, text = view.partition("\n")
    count, fixable, hidden = head.split(" ")
    if not newline:
        raise ValueError("malformed text view")
    return (int(count), int(fixable), int(hidden)), text


@functools.cache
def _module_digest() -> str:
    """This module's source: cached text views go stale when the rendering code changes."""
    return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=8).hexdigest()


class _TextStyle:
    """What ``_render_findings`` needs besides the findings: escape codes and fixability."""

    def __init__(self, colour: bool) -> None:
        if colour:
            self.bold, self.dim, self.reset = _BOLD, _DIM, _RESET
            self.bar = f"{_DIM}      | {_RESET}"
            self.paints = {s.value: c for s, c in _COLOURS.items()}
        else:
            self.bold = self.dim = self.reset = ""
            self.bar = "      | "
            self.paints = {s.value: "" for s in _COLOURS}


def _render_findings(
    out: list[str],
    shown: Iterable[_Shown],
    lines: list[str] | None,
    excerpts: Mapping[int, str] | None,
    style: _TextStyle,
) -> None:
    """Append one file's findings to ``out``. Runs once per finding of the whole project:
    the common case (printable ASCII, nothing to escape) is decided without a regex."""
    append = out.append
    paints, needs_escape = style.paints, _NEEDS_ESCAPE.search
    bold, dim, reset, bar = style.bold, style.dim, style.reset, style.bar
    last_path: str | None = None
    shown_path = ""
    for path, code, severity, line, column, end_line, end, message, can_fix in shown:
        if path is not last_path:
            last_path, shown_path = path, printable(path)
        if not (message.isascii() and message.isprintable()) and needs_escape(message) is not None:
            message = message.translate(_UNSAFE_CHARS)
        paint = paints[severity]
        if can_fix:
            append(f"{bold}{shown_path}:{line}:{column + 1}:{reset} {paint}{code}{reset} {message} [*]")
        else:
            append(f"{bold}{shown_path}:{line}:{column + 1}:{reset} {paint}{code}{reset} {message}")
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
        if end_line != line:
            end = len(raw)
        if column >= 0 and ((raw.isascii() and raw.isprintable()) or needs_escape(raw) is None):
            # len(raw[:column]) and max(1, len(raw[column:max(end, column)])), unsliced
            size = len(raw)
            offset = column if column < size else size
            stop = end if end < size else size
            width = stop - offset if stop > offset else 1
            text = raw
        else:
            text = printable(raw)
            # Escaping widens characters: place the caret under the escaped text.
            offset = len(printable(raw[:column]))
            width = max(1, len(printable(raw[column : max(end, column)])))
        append(f"{dim}{line:>5} | {reset}{text}")
        append(f"{bar}{' ' * offset}{paint}{'^' * width}{reset}")


Counts = tuple[int, int, int, int]  # findings, files with findings, fixable, hidden fixes


def count_findings(results: Sequence[FileResult]) -> Counts:
    """(findings, files with findings, findings ``ems fix`` fixes, findings only ``ems fix
    --unsafe-fixes`` fixes), from views where possible."""
    total = with_findings = fixable = hidden = 0
    for result in results:
        count, can_fix, unsafe = _counts(result)
        if count:
            total += count
            with_findings += 1
            fixable += can_fix
            hidden += unsafe
    return total, with_findings, fixable, hidden


def _counts(result: FileResult) -> tuple[int, int, int]:
    """(findings, fixable, hidden) of one result, without decoding it if it has a view."""
    if result.view is not None:
        with contextlib.suppress(ValueError):
            return _view_parts(result.view)[0]
    findings = result.report.findings
    fixabilities = [f.fixability for f in findings if f.fixability is not None]
    applied = sum(1 for f in fixabilities if f.applied)
    hidden = sum(1 for f in fixabilities if f is Fixability.HIDDEN)
    return len(findings), applied, hidden


def render_summary(counts: Counts, files: int, *, colour: bool, fix_command: str = "ems fix") -> str:
    """The last line(s) of text output; ``counts`` as ``count_findings`` gives them.
    ``fix_command``: what applies the fixes counted (``ems fix --unsafe-fixes`` when the
    check counted unsafe fixes because of its own ``--unsafe-fixes``; ``cli.common.fix_command``)."""
    total, with_findings, fixable, hidden = counts
    if not total:
        text = f"All checks passed ({files} file{'s' if files != 1 else ''} checked)."
        return (f"\x1b[32m{text}{_RESET}" if colour else text) + "\n"
    text = (
        f"Found {total} error{'s' if total != 1 else ''} in {with_findings} "
        f"file{'s' if with_findings != 1 else ''} ({files} checked)."
    )
    # As ruff words it: what ``ems fix`` fixes, then what only ``--unsafe-fixes`` would.
    more = (
        f"{hidden} hidden fix{'es' if hidden != 1 else ''} can be enabled with `{fix_command} --unsafe-fixes`"
        if hidden
        else ""
    )
    if fixable:
        text += f"\n[*] {fixable} fixable with `{fix_command}`" + (f" ({more})." if more else ".")
    elif more:
        text += f"\nNo fixes available ({more})."
    return text + "\n"


def _rule_counts(results: Sequence[FileResult]) -> list[tuple[str, int, bool]]:
    """(code, findings, whether ``ems fix`` fixes some of them) per rule, most found first."""
    counts = Counter(f.code for r in results for f in r.report.findings)
    applied = {
        f.code
        for r in results
        for f in r.report.findings
        if f.fixability is not None and f.fixability.applied
    }
    return [
        (code, count, code in applied)
        for code, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def render_statistics(results: Sequence[FileResult], ruleset: RuleSet) -> str:
    rows = []
    for code, count, fixable in _rule_counts(results):
        rule = ruleset.get(code)
        name = rule.name if rule else code
        # ``[*]``: some finding of the rule is one ``ems fix`` fixes (as the text lines mark).
        rows.append(f"{count:>6}  {code:<7} {'[*]' if fixable else '   '} {name}")
    return "\n".join(rows) + ("\n" if rows else "")


def render_statistics_json(results: Sequence[FileResult], ruleset: RuleSet) -> Iterator[str]:
    """``--statistics --format json``: one object per rule, as the text table's rows."""
    rows = []
    for code, count, fixable in _rule_counts(results):
        rule = ruleset.get(code)
        rows.append({"code": code, "name": rule.name if rule else code, "count": count, "fixable": fixable})
    yield from json_array_pieces(iter(rows))
    yield "\n"
