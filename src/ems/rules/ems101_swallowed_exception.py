"""EMS101: an `except` clause that silently swallows the exception."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid


class SwallowedException(Rule):
    """No fix: turning `pass` into `raise` would change behaviour on purpose-written code,
    and logging needs a logger the module may not have. The remedy is a decision."""

    code = "EMS101"
    name = "swallowed-exception"
    severity = Severity.WARNING
    summary = "exception silently swallowed: the `except` body is only `pass`/`...`/`continue`"
    explanation = (
        "An `except` clause that does nothing hides failures: the error vanishes without a "
        "log line, and the program carries on in a state nobody checked. When ignoring is "
        "really intended, say so with `contextlib.suppress(SomeError)` (which ems does not "
        "report) or `# noqa: EMS101` with a reason; otherwise log, re-raise or handle it. "
        "There is no automatic fix: which of those is right is a decision."
    )
    node_types = (ast.ExceptHandler,)
    valid = (
        Valid("try:\n    run()\nexcept ValueError:\n    log.exception('run failed')\n"),
        Valid("with contextlib.suppress(KeyError):\n    del cache[key]\n"),
        Valid("try:\n    run()\nexcept OSError:\n    raise\n"),
    )
    invalid = (
        Invalid("try:\n    run()\nexcept Exception:\n    pass\n"),
        Invalid(
            "for x in y:\n    try:\n        run(x)\n    except (OSError, ValueError):\n        continue\n"
        ),
        Invalid("try:\n    run()\nexcept:  # whatever\n    ...\n"),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.ExceptHandler)
        if all(_does_nothing(stmt) for stmt in node.body):
            # The message names no exception type: E722's fix (`except:` -> `except
            # Exception:`) must not look like it introduced a new EMS101 finding.
            line = node.lineno
            column = ctx.source.char_column(line, node.col_offset)
            yield Hit(
                line,
                column,
                line,
                column + len("except"),
                "exception silently swallowed: the handler does nothing",
            )


def _does_nothing(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Pass, ast.Continue)):
        return True
    return (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis
    )
