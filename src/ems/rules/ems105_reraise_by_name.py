"""EMS105: `raise e` re-raising the caught exception by name."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, SCOPE_NODES, TRY_NODES, contains, path_pairs


class ReraiseByName(Rule):
    code = "EMS105"
    name = "reraise-by-name"
    severity = Severity.INFO
    summary = "use a bare `raise` to re-raise the exception being handled"
    explanation = (
        "`except E as e: ... raise e` adds the `raise e` line to the traceback on top of the "
        "original failure point, and reads as if a different exception were raised. A bare "
        "`raise` re-raises the same exception with its traceback untouched. Only reported "
        "directly in the handler that bound the name (not in a nested handler or `finally`, "
        "where a bare `raise` would re-raise something else), and only when the name is "
        "never re-bound in the handler. The fix is safe."
    )
    fix_safety = Safety.SAFE
    fix_title = "Replace with a bare `raise`"
    local_fix = True
    node_types = (ast.Raise,)
    valid = (
        Valid("try:\n    run()\nexcept OSError:\n    raise\n"),
        Valid("try:\n    run()\nexcept OSError as e:\n    raise RuntimeError('x') from e\n"),
        Valid("try:\n    run()\nexcept OSError as e:\n    e = wrap(e)\n    raise e\n"),
        Valid(
            "try:\n    run()\nexcept OSError as e:\n    try:\n        undo()\n"
            "    except ValueError:\n        raise e\n"
        ),
    )
    invalid = (
        Invalid(
            "try:\n    run()\nexcept OSError as e:\n    log(e)\n    raise e  # again\n",
            fixed="try:\n    run()\nexcept OSError as e:\n    log(e)\n    raise  # again\n",
            at="5:4-5:11",
            message="use a bare `raise` to re-raise `e`",
        ),
        Invalid(
            "try:\n    run()\nexcept (OSError, ValueError) as err:\n    if retry(err):\n        raise err\n",
            fixed="try:\n    run()\nexcept (OSError, ValueError) as err:\n    if retry(err):\n        raise\n",
            at="5:8-5:17",
            message="use a bare `raise` to re-raise `err`",
        ),
        Invalid(
            "try:\n    run()\nexcept OSError as e:\n    try:\n        undo()\n    finally:\n        pass\n    raise e\n",
            fixed="try:\n    run()\nexcept OSError as e:\n    try:\n        undo()\n    finally:\n        pass\n    raise\n",
            at="8:4-8:11",
            message="use a bare `raise` to re-raise `e`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if node.cause is not None or not isinstance(node.exc, ast.Name):  # type: ignore[attr-defined]
            return NO_HITS  # most raises (`raise Error(...)`): no generator
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.Raise, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node.exc, ast.Name)
        name = node.exc.id
        for parent, child in path_pairs(node, ctx):
            if isinstance(parent, SCOPE_NODES):
                return
            if isinstance(parent, TRY_NODES) and contains(parent.finalbody, child):
                return  # a bare `raise` there may re-raise the exception that entered `finally`
            if isinstance(parent, ast.ExceptHandler):
                if parent.name == name and not _rebinds(parent, name):
                    yield ctx.hit(node, f"use a bare `raise` to re-raise `{name}`")
                return

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        node = ctx.find(
            cst.Raise, finding.range, where=lambda n: isinstance(n.exc, cst.Name) and n.cause is None
        )
        if node is None:
            return None
        new = node.with_changes(exc=None, whitespace_after_raise=cst.MaybeSentinel.DEFAULT)
        return ctx.replace(node, new, self.fix_title, Safety.SAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line `raise name`."""
        if finding.range.start.line != finding.range.end.line:
            raise textedit.CstNeeded
        start, end = textedit.offsets(ctx.source, finding.range)
        if not _RAISE_NAME.fullmatch(ctx.text, start, end):
            raise textedit.CstNeeded
        return textedit.replacement(ctx.source, start, end, "raise", self.fix_title, Safety.SAFE, finding)


_RAISE_NAME = re.compile(r"raise[ \t]+\w+")


def _rebinds(handler: ast.ExceptHandler, name: str) -> bool:
    """Whether ``name`` is assigned or deleted anywhere in the handler's body."""
    for stmt in handler.body:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Name) and node.id == name and isinstance(node.ctx, (ast.Store, ast.Del)):
                return True
            if isinstance(node, ast.ExceptHandler) and node.name == name:
                return True
            if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                (a.asname or a.name.split(".")[0]) == name for a in node.names
            ):
                return True
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.name == name:
                return True
            if isinstance(node, (ast.Global, ast.Nonlocal)) and name in node.names:
                return True
    return False
