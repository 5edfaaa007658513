"""The ``# noqa: CODE`` edits that suppress findings on their lines.

One home for the language server's "Suppress" code action, the dashboard's "Suppress"
button and ``ems check --add-noqa``, so all add exactly the same comment.
"""

from __future__ import annotations

import ast
import io
import tokenize
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from ems.core.model import Finding, Range, TextEdit
from ems.core.source import SourceText
from ems.core.suppressions import Suppression, parse_suppressions
from ems.rules.e902_io_error import IOErrorRule
from ems.rules.e999_syntax_error import SyntaxErrorRule
from ems.rules.ems901_internal_rule_error import InternalRuleError
from ems.rules.ems902_analysis_timeout import AnalysisTimeout
from ems.rules.ems903_analysis_crash import AnalysisCrash

# A file that does not parse, cannot be read, or whose analysis failed: no comment silences it.
UNSUPPRESSIBLE = (
    SyntaxErrorRule.code,
    IOErrorRule.code,
    InternalRuleError.code,
    AnalysisTimeout.code,
    AnalysisCrash.code,
)


class LineFacts:
    """Per-text facts the suppress edit needs, computed once per analysed version and only
    when a suppress action is resolved (tokenizing a 5,000-line module takes 100 ms or more)."""

    def __init__(self, text: str) -> None:
        self.text = text

    @cached_property
    def source(self) -> SourceText:
        return SourceText(self.text)

    @cached_property
    def suppressions(self) -> dict[int, list[Suppression]]:
        return parse_suppressions(self.text)

    @cached_property
    def inside_tokens(self) -> set[int] | None:
        """Lines whose end lies inside a multi-line token (a comment there would change it)."""
        inside: set[int] = set()
        try:
            for tok in tokenize.generate_tokens(io.StringIO(self.text).readline):
                if tok.start[0] < tok.end[0] and tok.type not in (tokenize.NEWLINE, tokenize.NL):
                    inside.update(range(tok.start[0], tok.end[0]))
        except (tokenize.TokenError, SyntaxError):
            return None
        return inside

    def coded_noqa(self, line_no: int) -> Suppression | None:
        return next((s for s in self.suppressions.get(line_no, ()) if s.kind == "noqa" and s.codes), None)

    def takes_comment(self, line_no: int) -> bool:
        """Whether a comment can end this line without changing the code: not inside a
        multi-line string, not after a backslash continuation."""
        if self.coded_noqa(line_no) is not None:
            return True
        inside = self.inside_tokens
        if inside is None or line_no in inside or not 1 <= line_no <= len(self.source.lines):
            return False
        return not self.source.line(line_no).rstrip().endswith("\\")


@dataclass(frozen=True)
class Suppressing:
    """The ``# noqa`` edits for a set of findings: one per line, all codes of the line in it."""

    edits: tuple[TextEdit, ...]
    suppressed: tuple[Finding, ...]
    refused: tuple[Finding, ...]  # no comment can silence these (see ``comment_line``)


def comment_line(facts: LineFacts, finding: Finding) -> int | None:
    """The line whose ``# noqa`` silences the finding: its own, or else the first line of its
    statement (``core.analyse`` honours both, as ruff does); None if neither can take one."""
    if finding.code in UNSUPPRESSIBLE:
        return None
    if facts.takes_comment(finding.line):
        return finding.line
    statement = finding.place("statement")
    if (
        statement is not None
        and statement.start.line != finding.line
        and facts.takes_comment(statement.start.line)
    ):
        return statement.start.line
    return None


def noqa_edits(facts: LineFacts, findings: Iterable[Finding]) -> Suppressing:
    codes: dict[int, list[str]] = {}
    suppressed: list[Finding] = []
    refused: list[Finding] = []
    for finding in findings:
        line_no = comment_line(facts, finding)
        if line_no is None:
            refused.append(finding)
            continue
        suppressed.append(finding)
        line_codes = codes.setdefault(line_no, [])
        if finding.code not in line_codes:
            line_codes.append(finding.code)
    edits = [_line_edit(facts, line_no, line_codes) for line_no, line_codes in sorted(codes.items())]
    return Suppressing(tuple(e for e in edits if e is not None), tuple(suppressed), tuple(refused))


def noqa_edit(facts: LineFacts, finding: Finding) -> TextEdit | None:
    """Add ``# noqa: CODE`` for one finding, or extend the noqa already on its line."""
    edits = noqa_edits(facts, [finding]).edits
    return edits[0] if edits else None


def _line_edit(facts: LineFacts, line_no: int, codes: list[str]) -> TextEdit | None:
    existing = facts.coded_noqa(line_no)
    if existing is not None:
        missing = [code for code in codes if code not in existing.codes]
        if not missing:
            return None
        at = existing.end_column
        return TextEdit(Range.of(line_no, at, line_no, at), "".join(f", {code}" for code in missing))
    line = facts.source.line(line_no)
    end = len(line.rstrip())
    return TextEdit(Range.of(line_no, end, line_no, len(line)), f"  # noqa: {', '.join(codes)}")


@dataclass(frozen=True)
class NoqaPatch:
    """A file's bytes with ``# noqa`` added for its findings (``new`` is None: nothing to add)."""

    new: bytes | None
    suppressing: Suppressing


def noqa_patch(data: bytes, findings: Sequence[Finding]) -> NoqaPatch:
    """``ems check --add-noqa`` on one file: same encoding, BOM and line endings; a result
    that would not parse is refused whole (a comment at a line's end never should)."""
    from ems.core.source import UndecodableSource, decode_source, encode_source
    from ems.fixes.apply import apply_edits

    nothing = Suppressing((), (), tuple(findings))
    if all(f.code in UNSUPPRESSIBLE for f in findings):
        return NoqaPatch(None, nothing)
    try:
        decoded = decode_source(data)
    except UndecodableSource:
        return NoqaPatch(None, nothing)
    result = noqa_edits(LineFacts(decoded.text), findings)
    if not result.edits:
        return NoqaPatch(None, result)
    text = apply_edits(decoded.text, result.edits)
    try:
        compile(text, "<noqa>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError):
        return NoqaPatch(None, nothing)
    return NoqaPatch(encode_source(text, decoded.encoding, decoded.bom), result)
