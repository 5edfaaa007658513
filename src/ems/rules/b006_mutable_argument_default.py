"""B006: a mutable value (list, dict, set) as an argument default."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import MUTABLE_CALLS, NO_HITS, as_primary

_MUTABLE_NODES = (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)


class MutableArgumentDefault(Rule):
    code = "B006"
    name = "mutable-argument-default"
    severity = Severity.WARNING
    summary = "do not use a mutable value as an argument default"
    explanation = (
        "A default is evaluated once, when the `def` runs, and then shared by every call. "
        "Appending to a default list (or adding to a dict/set) therefore leaks state from one "
        "call into the next. Default to `None` and create the value in the body. The fix does "
        "that: `x=None` plus `if x is None:` / `x = <old default>` as the first statement "
        "after the docstring. It is unsafe: callers that relied on the shared object, or that "
        "pass `None` explicitly, behave differently, and the default expression now runs on "
        "every call. An annotation becomes `X | None` only when the module already uses "
        "`from __future__ import annotations` or `| None` (older Pythons cannot evaluate it)."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Default to `None` and create the value in the body"
    local_fix = True
    node_types = (ast.FunctionDef, ast.AsyncFunctionDef)
    valid = (
        Valid("def f(items=None):\n    if items is None:\n        items = []\n"),
        Valid("def f(items=(), name='x', n=frozenset()):\n    pass\n"),
        Valid("def f(items=tuple([1])):\n    pass\n"),
    )
    invalid = (
        Invalid(
            'def f(a, items=[]):  # note\n    """Doc."""\n    items.append(a)\n    return items\n',
            fixed=(
                'def f(a, items=None):  # note\n    """Doc."""\n    if items is None:\n        items = []\n'
                "    items.append(a)\n    return items\n"
            ),
            unsafe=True,
            at="1:15-1:17",
            message="do not use a mutable value as the default of `items`",
        ),
        Invalid(
            "class A:\n    async def f(self, *, seen={1, 2}, cache=dict()):\n        # body\n        return seen\n",
            fixed=(
                "class A:\n    async def f(self, *, seen=None, cache=None):\n"
                "        if seen is None:\n            seen = {1, 2}\n"
                "        if cache is None:\n            cache = dict()\n"
                "        # body\n        return seen\n"
            ),
            count=2,
            unsafe=True,
            at=("2:30-2:36", "2:44-2:50"),
            message=(
                "do not use a mutable value as the default of `seen`",
                "do not use a mutable value as the default of `cache`",
            ),
        ),
        Invalid(
            "from __future__ import annotations\n\ndef f(x: list[int] = [i for i in range(3)]): return x\n",
            fixed=(
                "from __future__ import annotations\n\ndef f(x: list[int] | None = None):\n"
                "    if x is None:\n        x = [i for i in range(3)]\n    return x\n"
            ),
            unsafe=True,
            at="3:21-3:42",
            message="do not use a mutable value as the default of `x`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        args = node.args  # type: ignore[attr-defined]
        if not _any_mutable(args.defaults) and not _any_mutable(args.kw_defaults):
            return NO_HITS  # nearly every function: no generator, no lists
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.FunctionDef | ast.AsyncFunctionDef, ctx: AnalysisContext) -> Iterator[Hit]:
        args = node.args
        positional = [*args.posonlyargs, *args.args]
        pairs = list(zip(positional[len(positional) - len(args.defaults) :], args.defaults, strict=True))
        pairs.extend((a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is not None)
        body = node.body
        # `"doc"; x = 1` on one line: no place for the guard after the docstring.
        fixable = not (
            len(body) > 1
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
            and body[1].lineno == body[0].end_lineno
        )
        for arg, default in pairs:
            if _mutable(default):
                yield ctx.hit(
                    default,
                    f"do not use a mutable value as the default of `{arg.arg}`",
                    data=(("param", arg.arg), ("fixable", "1" if fixable else "0")),
                )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        name = finding.datum("param")
        default = ctx.find(
            cst.BaseExpression,
            finding.range,
            where=lambda n: isinstance(owner := ctx.parents.get(n), cst.Param) and owner.default is n,
        )
        if default is None:
            return None
        param = ctx.parents[default]
        assert isinstance(param, cst.Param)
        function = ctx.enclosing(param, cst.FunctionDef)
        if function is None or param.name.value != name:
            return None
        new_param = param.with_changes(default=cst.Name("None"))
        if param.annotation is not None and _may_widen(ctx, param.annotation.annotation):
            widened = cst.BinaryOperation(
                left=as_primary(param.annotation.annotation), operator=cst.BitOr(), right=cst.Name("None")
            )
            new_param = new_param.with_changes(annotation=param.annotation.with_changes(annotation=widened))
        params = function.params.deep_replace(param, new_param)
        body = function.body
        if isinstance(body, cst.SimpleStatementSuite):
            block = cst.IndentedBlock(
                body=[cst.SimpleStatementLine(body.body)], header=body.trailing_whitespace
            )
        else:
            assert isinstance(body, cst.IndentedBlock)
            block = body
        statements = list(block.body)
        if statements and _starts_with_docstring(statements[0]) and not _is_docstring(statements[0]):
            return None
        guard = cst.If(
            test=cst.Comparison(cst.Name(name), [cst.ComparisonTarget(cst.Is(), cst.Name("None"))]),
            body=cst.IndentedBlock(
                body=[cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(cst.Name(name))], default)])],
                indent=block.indent,
            ),
        )
        statements.insert(_insertion_point(statements, function), guard)
        new_function = function.with_changes(params=params, body=block.with_changes(body=statements))
        return ctx.replace(function, new_function, self.fix_title, Safety.UNSAFE, finding)


def _any_mutable(defaults: list[ast.expr | None]) -> bool:
    for default in defaults:  # noqa: SIM110 - a loop: no generator per function
        if default is not None and _mutable(default):
            return True
    return False


def _mutable(node: ast.expr) -> bool:
    if isinstance(node, _MUTABLE_NODES):
        return True
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id in MUTABLE_CALLS
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            return func.value.id == "collections" and func.attr in MUTABLE_CALLS
    return False


def _may_widen(ctx: FixContext, annotation: cst.BaseExpression) -> bool:
    """Whether `X | None` is safe to write here (see the rule's explanation)."""
    if isinstance(annotation, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
        return False
    code = ctx.code_for(annotation)
    if "None" in code or "Optional" in code or code.strip() in ("Any", "typing.Any", "object"):
        return False
    return "from __future__ import annotations" in ctx.text or "| None" in ctx.text


def _insertion_point(statements: list[cst.BaseStatement], function: cst.FunctionDef) -> int:
    """After the docstring and after the `if p is None:` guards of earlier parameters."""
    index = 0
    if statements and _is_docstring(statements[0]):
        index = 1
    names = {p.name.value for p in _all_params(function.params)}
    while index < len(statements) and _is_guard(statements[index], names):
        index += 1
    return index


def _is_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _starts_with_docstring(statement: cst.BaseStatement) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _is_guard(statement: cst.BaseStatement, names: set[str]) -> bool:
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return False
    test = statement.test
    return (
        isinstance(test, cst.Comparison)
        and isinstance(test.left, cst.Name)
        and test.left.value in names
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Is)
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and test.comparisons[0].comparator.value == "None"
    )


def _all_params(params: cst.Parameters) -> list[cst.Param]:
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    for extra in (params.star_arg, params.star_kwarg):
        if isinstance(extra, cst.Param):
            found.append(extra)
    return found
