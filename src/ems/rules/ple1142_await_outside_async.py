"""PLE1142: `await` outside an async function."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid


class AwaitOutsideAsync(Rule):
    code = "PLE1142"
    name = "await-outside-async"
    severity = Severity.ERROR
    summary = "`await` outside an async function"
    explanation = (
        "`await` is only allowed in the body of an `async def` (comprehensions inside one "
        "included). In a plain `def`, a `lambda`, a class body or at module level the file "
        "parses but does not compile (`SyntaxError: 'await' outside async function`). "
        "Notebooks (`.ipynb`) allow top-level `await`, so module level is not reported there."
    )
    node_types = (ast.Await,)
    valid = (
        Valid("async def f():\n    await g()\n"),
        Valid("async def f():\n    return [await x for x in y]\n"),
        Valid("await g()\n", path="notebook.ipynb"),
    )
    invalid = (
        Invalid("def f():\n    await g()\n", at="2:4-2:13", message="`await` outside an async function"),
        Invalid(
            "async def f():\n    def g():\n        return await h()\n",
            at="3:15-3:24",
            message="`await` outside an async function",
        ),
        Invalid(
            "async def f():\n    return lambda: await g()\n",
            at="2:19-2:28",
            message="`await` outside an async function",
        ),
        Invalid("await g()\n", at="1:0-1:9", message="`await` outside an async function"),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        for parent in reversed(ctx.ancestors):
            if isinstance(parent, ast.AsyncFunctionDef):
                return
            if isinstance(parent, (ast.FunctionDef, ast.Lambda, ast.ClassDef)):
                break
        else:
            if ctx.path.endswith(".ipynb"):
                return
        yield ctx.hit(node, "`await` outside an async function")
