"""F901: `raise NotImplemented` instead of `raise NotImplementedError`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS


class RaiseNotImplemented(Rule):
    code = "F901"
    name = "raise-not-implemented"
    severity = Severity.WARNING
    summary = "`raise NotImplemented` should be `raise NotImplementedError`"
    explanation = (
        '`NotImplemented` is a constant that binary operators return to say "try the other '
        'operand"; it is not an exception. Raising it (or calling it) fails with a confusing '
        "`TypeError` instead of the intended `NotImplementedError`. The fix is safe: the "
        "original line can only ever raise that `TypeError`."
    )
    fix_safety = Safety.SAFE
    fix_title = "Use `NotImplementedError`"
    local_fix = True
    node_types = (ast.Raise,)
    valid = (
        Valid("def f():\n    raise NotImplementedError\n"),
        Valid("def __eq__(self, other):\n    return NotImplemented\n"),
        Valid("def f():\n    raise NotImplementedError('later')\n"),
    )
    invalid = (
        Invalid(
            "def f():\n    raise NotImplemented  # todo\n",
            fixed="def f():\n    raise NotImplementedError  # todo\n",
            at="2:10-2:24",
            message="`raise NotImplemented` should be `raise NotImplementedError`",
        ),
        Invalid(
            "def f():\n    raise NotImplemented('later')\n",
            fixed="def f():\n    raise NotImplementedError('later')\n",
            at="2:10-2:24",
            message="`raise NotImplemented` should be `raise NotImplementedError`",
        ),
        Invalid(
            "def f():\n    raise NotImplemented from None\n",
            fixed="def f():\n    raise NotImplementedError from None\n",
            at="2:10-2:24",
            message="`raise NotImplemented` should be `raise NotImplementedError`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        exc = node.exc  # type: ignore[attr-defined]
        if isinstance(exc, ast.Call):
            exc = exc.func
        if isinstance(exc, ast.Name) and exc.id == "NotImplemented":
            return iter((ctx.hit(exc, "`raise NotImplemented` should be `raise NotImplementedError`"),))
        return NO_HITS  # nearly every `raise`: no generator

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        name = ctx.find(cst.Name, finding.range, where=lambda n: n.value == "NotImplemented")
        if name is None:
            return None
        return ctx.replace(
            name, name.with_changes(value="NotImplementedError"), self.fix_title, Safety.SAFE, finding
        )

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``): the name gains ``Error``."""
        start = ctx.source.offset(finding.range.start.line, finding.range.start.column)
        end = start + len("NotImplemented")
        text = ctx.text
        if text[start:end] != "NotImplemented" or (
            text[end : end + 1].isidentifier() or text[end : end + 1].isdigit()
        ):
            raise textedit.CstNeeded
        return textedit.replacement(
            ctx.source, start, end, "NotImplementedError", self.fix_title, Safety.SAFE, finding
        )
