"""B011: `assert False`, which disappears under `python -O`."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import standalone


class AssertFalse(Rule):
    code = "B011"
    name = "assert-false"
    severity = Severity.WARNING
    summary = "do not `assert False`; `python -O` removes it. Raise `AssertionError()`"
    explanation = (
        "Assertions are stripped when Python runs with `-O`, so `assert False` marking an "
        "impossible branch silently lets execution continue there. `raise AssertionError()` "
        "always raises. The fix is unsafe only in that the code now also fails under `-O`, "
        "which is the point."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Replace with `raise AssertionError()`"
    local_fix = True
    fix_may_reveal = frozenset({"EMS102"})
    node_types = (ast.Assert,)
    valid = (
        Valid("assert x\n"),
        Valid("raise AssertionError('unreachable')\n"),
        Valid("assert not False\n"),
    )
    invalid = (
        Invalid(
            "def f():\n    assert False  # never\n",
            fixed="def f():\n    raise AssertionError()  # never\n",
            unsafe=True,
            at="2:4-2:16",
            message="do not `assert False`; raise `AssertionError()` instead",
        ),
        Invalid(
            "assert False, 'unreachable: ' + x\n",
            fixed="raise AssertionError('unreachable: ' + x)\n",
            unsafe=True,
            at="1:0-1:33",
            message="do not `assert False`; raise `AssertionError()` instead",
        ),
        Invalid(
            "if x: assert (False), f'{x}'\n",
            fixed="if x: raise AssertionError(f'{x}')\n",
            unsafe=True,
            at="1:6-1:28",
            message="do not `assert False`; raise `AssertionError()` instead",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.Assert)
        if isinstance(node.test, ast.Constant) and node.test.value is False:
            yield ctx.hit(node, "do not `assert False`; raise `AssertionError()` instead")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        node = ctx.find(cst.Assert, finding.range)
        if node is None:
            return None
        args = [cst.Arg(standalone(node.msg))] if node.msg is not None else []
        new = cst.Raise(
            exc=cst.Call(func=cst.Name("AssertionError"), args=args),
            semicolon=node.semicolon,
        )
        return ctx.replace(node, new, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line statement: its
        message (if any) becomes the exception's argument as written."""
        if finding.range.start.line != finding.range.end.line:
            raise textedit.CstNeeded
        start, end = textedit.offsets(ctx.source, finding.range)
        match = _ASSERT_FALSE.fullmatch(ctx.text, start, end)
        if match is None:
            raise textedit.CstNeeded
        new = f"raise AssertionError({match.group(1) or ''})"
        return textedit.replacement(ctx.source, start, end, new, self.fix_title, Safety.UNSAFE, finding)


# `assert False` / `assert (False), message` on one line; group 1: the message as written
_ASSERT_FALSE = re.compile(r"assert[ \t]*(?:False|\([ \t]*False[ \t]*\))(?:[ \t]*,[ \t]*(\S.*))?")
