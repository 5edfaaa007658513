"""RUF100: a suppression comment that suppresses nothing."""

from __future__ import annotations

import re

from ems.core.model import Finding, Fix, Range, Safety, Severity, Tag, TextEdit
from ems.core.rule import Invalid, Rule, Valid
from ems.fixes.context import FixContext

_CODE = re.compile(r"[A-Z]+[0-9]+")


class UnusedSuppression(Rule):
    code = "RUF100"
    name = "unused-noqa"
    severity = Severity.INFO
    summary = "suppression comment that suppresses nothing"
    explanation = (
        "A `# noqa: CODE` or `# ems: ignore[CODE]` whose code no longer fires on that line hides "
        "nothing today but will silently hide the next real problem of that kind on the line. "
        "Codes of rules ems does not know (other tools' codes) and blanket `# noqa` comments are "
        "left alone, since they may be meant for another tool. The code matches ruff's, so one "
        "comment serves both."
    )
    tags = frozenset({Tag.UNNECESSARY})
    fix_safety = Safety.SAFE
    fix_title = "Remove the unused suppression"
    local_fix = True
    valid = (
        Valid('x = f"a"  # noqa: F541\n', also=("F541",)),
        Valid("import os  # noqa: E501\n"),
        Valid("value = 1  # noqa\n"),
    )
    invalid = (
        Invalid(
            "x = 1  # noqa: F541\n",
            fixed="x = 1\n",
            also=("F541",),
            at="1:7-1:19",
            message="unused suppression (F541)",
        ),
        Invalid(
            'x = f"a"  # noqa: F541, E711\n',
            fixed='x = f"a"  # noqa: F541\n',
            also=("F541", "E711"),
            at="1:10-1:28",
            message="unused suppression (E711)",
        ),
        Invalid(
            "y = 2  # ems: ignore[E711]  keep this note\n",
            fixed="y = 2  # keep this note\n",
            also=("E711",),
            at="1:7-1:26",
            message="unused suppression (E711)",
        ),
        Invalid(
            "z = 3  # ems: ignore\n", fixed="z = 3\n", at="1:7-1:20", message="unused blanket suppression"
        ),
    )

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        line_number = finding.line
        line = ctx.source.line(line_number)
        start, end = finding.range.start.column, finding.range.end.column
        directive = line[start:end]
        unused = set(filter(None, finding.datum("unused").split(",")))
        kept = [
            c
            for c in _CODE.findall(
                directive.split(":", 1)[1]
                if ":" in directive and "noqa" in directive.lower()
                else directive.partition("[")[2].upper()
            )
            if c not in unused
        ]
        if kept and unused:
            if directive.lower().lstrip("# ").startswith("noqa"):
                replacement = f"# noqa: {', '.join(kept)}"
            else:
                replacement = f"# ems: ignore[{', '.join(kept)}]"
            new_line = line[:start] + replacement + line[end:]
        else:
            rest = line[end:].strip()
            before = line[:start].rstrip()
            if before.endswith("#"):  # the directive followed other comment text
                before = before[:-1].rstrip()
            new_line = f"{before}  # {rest.lstrip('#').strip()}" if rest else before
        edit = TextEdit(Range.of(line_number, 0, line_number, len(line)), new_line)
        return Fix(self.fix_title, self.fix_safety, (edit,), self.code)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """The fix is a text edit already (no libcst)."""
        return self.fix(finding, ctx)
