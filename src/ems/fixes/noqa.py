"""The ``# noqa: CODE`` edit that suppresses one finding on its line.

One home for the language server's "Suppress" code action and the dashboard's
"Suppress" button, so both add exactly the same comment.
"""

from __future__ import annotations

import io
import tokenize
from functools import cached_property

from ems.core.model import Finding, Range, TextEdit
from ems.core.source import SourceText
from ems.core.suppressions import Suppression, parse_suppressions
from ems.rules.e999_syntax_error import SyntaxErrorRule
from ems.rules.ems901_internal_rule_error import InternalRuleError

# A syntax error or a crashed rule is not something a comment can silence.
UNSUPPRESSIBLE = (SyntaxErrorRule.code, InternalRuleError.code)


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


def noqa_edit(facts: LineFacts, finding: Finding) -> TextEdit | None:
    """Add ``# noqa: CODE`` to the finding's line, or extend the noqa already there."""
    if finding.code in UNSUPPRESSIBLE:
        return None
    line_no = finding.line
    line = facts.source.line(line_no)
    for suppression in facts.suppressions.get(line_no, ()):
        if suppression.kind == "noqa" and suppression.codes:
            at = suppression.end_column
            return TextEdit(Range.of(line_no, at, line_no, at), f", {finding.code}")
    inside = facts.inside_tokens
    if inside is None or line_no in inside or line.rstrip().endswith("\\"):
        return None
    end = len(line.rstrip())
    return TextEdit(Range.of(line_no, end, line_no, len(line)), f"  # noqa: {finding.code}")
