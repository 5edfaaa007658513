"""E722: a bare `except:` clause."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS


class BareExcept(Rule):
    code = "E722"
    name = "bare-except"
    severity = Severity.WARNING
    summary = "do not use bare `except:`"
    explanation = (
        "A bare `except:` also catches `KeyboardInterrupt`, `SystemExit` and `GeneratorExit`, "
        "so Ctrl-C, `sys.exit()` and generator clean-up stop working inside the `try`. Catch "
        "`Exception` (or something narrower). The fix writes `except Exception:`; it is unsafe "
        "because those three exceptions then propagate, which is usually the point. A handler "
        "that re-raises (a bare `raise` at the top of its body) is clean-up code that rightly "
        "runs for every exception, and is not reported (as in ruff)."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Replace with `except Exception:`"
    local_fix = True
    node_types = (ast.ExceptHandler,)
    valid = (
        Valid("try:\n    pass\nexcept Exception:\n    pass\n"),
        Valid("try:\n    pass\nexcept (OSError, ValueError) as exc:\n    print(exc)\n"),
        Valid("try:\n    pass\nexcept BaseException:\n    raise\n"),
        Valid("try:\n    write()\nexcept:\n    cleanup()\n    raise\n"),
    )
    invalid = (
        Invalid(
            "try:\n    run()\nexcept:  # ignore\n    log()\n",
            fixed="try:\n    run()\nexcept Exception:  # ignore\n    log()\n",
            unsafe=True,
            at="3:0-3:6",
            message="do not use bare `except:`",
        ),
        Invalid(
            "try:\n    run()\nexcept ValueError:\n    pass\nexcept:\n    log()\n",
            fixed="try:\n    run()\nexcept ValueError:\n    pass\nexcept Exception:\n    log()\n",
            unsafe=True,
            at="5:0-5:6",
            message="do not use bare `except:`",
        ),
        Invalid(
            "def f():\n    try: run()\n    except: return None\n",
            fixed="def f():\n    try: run()\n    except Exception: return None\n",
            unsafe=True,
            at="3:4-3:10",
            message="do not use bare `except:`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every handler: a plain function, no generator for the usual `except E:`.
        if node.type is not None:  # type: ignore[attr-defined]
            return NO_HITS
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.ExceptHandler, ctx: AnalysisContext) -> Iterator[Hit]:
        if not any(isinstance(s, ast.Raise) and s.exc is None for s in node.body):
            line = node.lineno
            column = ctx.source.char_column(line, node.col_offset)
            yield Hit(line, column, line, column + len("except"), "do not use bare `except:`")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        handler = ctx.find(cst.ExceptHandler, finding.range, where=lambda n: n.type is None)
        if handler is None:
            return None
        new = handler.with_changes(
            type=cst.Name("Exception"), whitespace_after_except=cst.SimpleWhitespace(" ")
        )
        return ctx.replace(handler, new, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) when ``except`` is followed by
        spaces and its colon."""
        start, end = textedit.offsets(ctx.source, finding.range)
        text = ctx.text
        if text[start:end] != "except":
            raise textedit.CstNeeded
        colon = end
        while text[colon : colon + 1] in (" ", "\t"):
            colon += 1
        if text[colon : colon + 1] != ":":
            raise textedit.CstNeeded
        return textedit.replacement(
            ctx.source, start, colon, "except Exception", self.fix_title, Safety.UNSAFE, finding
        )
