"""Properties every report must have, whatever the input: one definition for the property
tests (tests/unit/test_properties.py) and the long fuzz run (scripts/fuzz.py)."""

from __future__ import annotations

import ast

from ems.core.model import Report
from ems.core.source import SourceText, UndecodableSource, decode_source


def document_of(source: str | bytes) -> SourceText:
    """The text a report's positions refer to (bytes decoded as the engine does)."""
    if isinstance(source, bytes):
        try:
            return SourceText(decode_source(source).text)
        except UndecodableSource:
            return SourceText(source.decode("utf-8", errors="replace"))
    return SourceText(source)


def position_problems(report: Report, source: str | bytes) -> list[str]:
    """Every finding position outside the document, or range ending before it starts."""
    doc = document_of(source)
    line_count = max(len(doc.lines), 1)
    problems = []
    for finding in report.findings:
        for pos in (finding.range.start, finding.range.end):
            if not (1 <= pos.line <= line_count and 0 <= pos.column <= len(doc.line(pos.line))):
                problems.append(f"{finding.code} position {pos} outside the document ({line_count} lines)")
        if finding.range.start > finding.range.end:
            problems.append(f"{finding.code} range ends before it starts: {finding.range}")
        for related in finding.related:
            if not 1 <= related.range.start.line <= line_count:
                problems.append(
                    f"{finding.code} related location on line {related.range.start.line}, outside"
                )
    return problems


def parses(text: str) -> bool:
    """Whether the interpreter's parser accepts ``text`` (no fix may produce one it rejects)."""
    try:
        ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True
