"""Verification's analysis of a fixed text, with only the top-level statements the fix
changed parsed again.

Why: judging fixability verifies every fix by analysing the fixed text (``engine.verify``),
one analysis per file with an offer, and half of such an analysis was ``ast.parse`` of a
text that differs from the one just analysed in a line or two. Here the fixed text's tree
is put together from the original's tree (kept by the scan that analysed it) and a parse
of the changed region alone, by the rule ``ems.core.parsing`` cuts a huge module by: a
module cut between top-level statements, where no bracket, string or line continuation is
open, parses to the same statements as the pieces parsed alone, each after as many
newlines as lines precede it (so its line numbers are the file's).

The statements after the region keep their original line numbers. When the fix removed
lines, the region is padded with as many blank lines, and the text analysed is the fixed
text with those blank lines in (its tree is exactly that text's); the findings past the
region are then moved back up. When it added lines, as many blank lines (spaces and tabs
only) at the region's end, before the next statement, are left out of the analysed text
the same way (a def made of a lambda, a guard added: the two blank lines between top-level
definitions take them); failing those, the region runs to the end of the file. The rules'
findings do not depend on how far apart two
top-level statements are (the language server's incremental analysis relies on the same:
``ems.core.incremental``), so the report is the fixed text's own. Only for built-in rules:
a plug-in might count lines. Anything else — a region that does not parse alone, a lone ``\\r``, a grammar-changing future import, a
skipped or huge file — returns None, and the caller analyses the whole text.
"""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field, replace
from functools import cached_property

from ems.core.analyse import FactLog, analyse_parsed, select_rules
from ems.core.config import Config
from ems.core.model import Finding, Range, Related, Report, render_message
from ems.core.parsing import PIECEWISE_MIN_CHARS
from ems.core.registry import RuleSet
from ems.core.suppressions import skips_file
from ems.fixes.context import shared_ends

BUILT_IN = "ems.rules."  # the package of the rules whose findings are known to move with lines


@dataclass(frozen=True)
class Original:
    """A text that was analysed, and the tree its analysis parsed (``ast.parse``'s); with
    that analysis's report and the facts its rules asked of the module (``analyse``'s
    ``fact_log``) when the caller kept them: then a fixed text whose changes all lie in
    function bodies is analysed a body at a time (``ems.fixes.verifybody``)."""

    text: str
    tree: ast.Module
    report: Report | None = field(default=None, compare=False)
    facts: FactLog | None = field(default=None, compare=False)

    @cached_property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    @cached_property
    def spans(self) -> list[tuple[int, int]]:
        """(first line, decorators included; last line) of each top-level statement."""
        spans = []
        for statement in self.tree.body:
            first = statement.lineno
            for decorator in getattr(statement, "decorator_list", ()):
                first = min(first, decorator.lineno)
            spans.append((first, statement.end_lineno or statement.lineno))
        return spans


def reanalyse(original: Original, text: str, path: str, config: Config, ruleset: RuleSet) -> Report | None:
    """``analyse(text)``'s report, from ``original``'s tree and a parse of the top-level
    statements ``text`` changed; None when it cannot be had that way."""
    if (
        len(text) >= PIECEWISE_MIN_CHARS
        or "\r" in text
        or "\0" in text
        or "barry_as_FLUFL" in text
        or skips_file(text)
        or not _built_in_only(ruleset, config, path)
    ):
        return None
    old, new = original.lines, text.split("\n")
    head, tail = shared_ends(old, new)
    if head == len(old) == len(new):
        return None  # the same text: the caller has its report
    first, last = head + 1, len(old) - tail  # the changed lines of the original (1-based)
    delta = len(new) - len(old)
    spans = original.spans
    before = 0  # statements wholly above the change, then those wholly below it
    while before < len(spans) and spans[before][1] < first:
        before += 1
    while 0 < before < len(spans) and spans[before][0] <= spans[before - 1][1]:
        before -= 1  # never cut a line two statements share (`a = 1; b = 2`)
    after = before
    while after < len(spans) and (
        spans[after][0] <= last or (after > before and spans[after][0] <= spans[after - 1][1])
    ):
        after += 1
    below = after < len(spans)
    start = spans[before - 1][1] + 1 if before else 1  # the region, in original lines
    end = spans[after][0] - 1 if below else len(old)
    dropped = 0  # blank lines at the region's end left out of the analysed text
    if delta > 0 and below and all(not line.strip(" \t") for line in new[end : end + delta]):
        dropped = delta  # the statements below keep their line numbers
    elif delta > 0:  # the statements below would need new line numbers: parsed too
        after, below, end = len(spans), False, len(old)
    if before and old[start - 2].endswith("\\"):
        return None  # (a continuation into the region: it is not cut off above)
    region = new[start - 1 : end + delta - dropped]
    if region and region[-1].endswith("\\"):
        return None
    source = "\n" * (start - 1) + "\n".join(region) + ("\n" if below else "")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            part = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    body = original.tree.body
    tree = ast.Module(body=[*body[:before], *part.body, *body[after:]], type_ignores=[])
    padding = -delta if below and delta < 0 else 0
    if padding:
        analysed = "\n".join([*new[: end + delta], *([""] * padding), *new[end + delta :]])
    elif dropped:
        analysed = "\n".join([*new[:end], *new[end + delta :]])
    else:
        analysed = text
    report = analyse_parsed(tree, analysed, path, config, ruleset)
    if not padding and not dropped:
        return report
    return replace(report, findings=tuple(_moved(f, end, delta) for f in report.findings))


def _built_in_only(ruleset: RuleSet, config: Config, path: str) -> bool:
    selected, _ = select_rules(ruleset, config, path)
    return all(type(rule).__module__.startswith(BUILT_IN) for rule in selected.rules)


def _moved(finding: Finding, end: int, delta: int) -> Finding:
    """``finding`` with its places past line ``end`` moved ``delta`` lines (its message
    written again from its template when it names their lines)."""
    if finding.range.end.line <= end and all(r.range.end.line <= end for r in finding.related):
        return finding
    related = tuple(Related(_range(r.range, end, delta), r.message, r.name) for r in finding.related)
    message = render_message(finding.template, related) if finding.template else finding.message
    return replace(finding, range=_range(finding.range, end, delta), related=related, message=message)


def _range(at: Range, end: int, delta: int) -> Range:
    start_line = at.start.line + delta if at.start.line > end else at.start.line
    end_line = at.end.line + delta if at.end.line > end else at.end.line
    return Range.of(start_line, at.start.column, end_line, at.end.column)
