"""EMS101: an `except` clause that silently swallows the exception."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import NO_HITS


class SwallowedException(Rule):
    """No fix: turning `pass` into `raise` would change behaviour on purpose-written code,
    and logging needs a logger the module may not have. The remedy is a decision."""

    code = "EMS101"
    name = "swallowed-exception"
    severity = Severity.WARNING
    summary = "broad exception silently swallowed: `except Exception:`/bare `except:` that only passes"
    explanation = (
        "A broad handler (`except:`, `except Exception:`, `except BaseException:`) that does "
        "nothing hides every failure, bugs included: the error vanishes without a log line, "
        "and the program carries on in a state nobody checked. Log, re-raise or handle it, "
        "or catch the exception you expect. Not reported (expected, deliberate cases): a "
        "narrow handler (`except AttributeError: pass` in a try-first pattern, `except "
        "(OSError, ValueError): continue`), a handler with a comment saying why, and one in "
        "a function whose docstring says it swallows or ignores errors, or in `__del__`. "
        "There is no automatic fix: which remedy is right is a decision."
    )
    node_types = (ast.ExceptHandler,)
    valid = (
        Valid("try:\n    run()\nexcept ValueError:\n    log.exception('run failed')\n"),
        Valid("with contextlib.suppress(KeyError):\n    del cache[key]\n"),
        Valid("try:\n    run()\nexcept OSError:\n    raise\n"),
        Valid("try:\n    name = obj.name\nexcept AttributeError:\n    pass\n"),
        Valid("for x in y:\n    try:\n        run(x)\n    except (OSError, ValueError):\n        continue\n"),
        Valid(
            "try:\n    run()\nexcept Exception:  # best effort: a report must not fail the run\n    pass\n"
        ),
        Valid(
            "class Stream:\n    def __del__(self):\n        try:\n            self.detach()\n        except Exception:\n            pass\n"
        ),
        Valid(
            "def safecall(func):\n"
            '    """Wraps a function so that it swallows exceptions."""\n'
            "    def wrapper(*args):\n"
            "        try:\n"
            "            return func(*args)\n"
            "        except Exception:\n"
            "            pass\n"
            "    return wrapper\n"
        ),
    )
    invalid = (
        Invalid(
            "try:\n    run()\nexcept Exception:\n    pass\n",
            at="3:0-3:6",
            message="exception silently swallowed: the handler does nothing",
        ),
        Invalid(
            "try:\n    run()\nexcept:\n    ...\n",
            at="3:0-3:6",
            message="exception silently swallowed: the handler does nothing",
        ),
        Invalid(
            "for x in y:\n    try:\n        run(x)\n    except (ValueError, BaseException):\n        continue\n",
            at="4:4-4:10",
            message="exception silently swallowed: the handler does nothing",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every handler: a plain function, no generator for a narrow one.
        if not _broad(node.type):  # type: ignore[attr-defined]
            return NO_HITS
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.ExceptHandler, ctx: AnalysisContext) -> Iterator[Hit]:
        if not all(_does_nothing(stmt) for stmt in node.body):
            return
        if _explained(node, ctx) or _documented(ctx):
            return
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


_BROAD = frozenset({"Exception", "BaseException"})
_SAYS_SO = ("swallow", "ignore", "suppress", "silence")


def _broad(kind: ast.expr | None) -> bool:
    """A bare handler, or one catching `Exception`/`BaseException` (alone or in a tuple)."""
    if kind is None:
        return True
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(
        (isinstance(n, ast.Name) and n.id in _BROAD) or (isinstance(n, ast.Attribute) and n.attr in _BROAD)
        for n in names
    )


def _explained(node: ast.ExceptHandler, ctx: AnalysisContext) -> bool:
    """A comment on the handler's lines (the body is only `pass`/`...`/`continue`, so a
    `#` there starts a comment)."""
    end = node.end_lineno or node.lineno
    return any("#" in ctx.source.line(line) for line in range(node.lineno, end + 1))


def _documented(ctx: AnalysisContext) -> bool:
    """Inside a function whose docstring says it swallows or ignores errors (click's
    `safecall`): the behaviour is the documented purpose; or inside `__del__`, where
    Python ignores (and prints) any exception anyway."""
    for parent in reversed(ctx.ancestors):
        if isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if parent.name == "__del__":  # an error there cannot propagate anyway
                return True
            doc = (ast.get_docstring(parent) or "").lower()
            if any(word in doc for word in _SAYS_SO):
                return True
    return False


def _does_nothing(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Pass, ast.Continue)):
        return True
    return (
        isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and stmt.value.value is Ellipsis
    )
