"""E721: comparing types with == / != instead of `is` or isinstance()."""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator

from ems.core.model import Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.rules._helpers import NO_HITS

_OPERATOR_CLASSES = frozenset({ast.Eq, ast.NotEq})
_CALL_OR_NAME = frozenset({ast.Call, ast.Name})
_BUILTIN_CLASSES = frozenset(
    name
    for name, value in vars(builtins).items()
    if isinstance(value, type) and not name.startswith("_") and name != "type"  # `type` is a common variable
)


class TypeComparison(Rule):
    code = "E721"
    name = "type-comparison"
    severity = Severity.WARNING
    summary = "do not compare types with `==`; use `isinstance()` or `is`"
    explanation = (
        "`type(x) == Foo` rejects subclasses of `Foo`, which is rarely intended, and goes "
        "through the metaclass's `__eq__`. Use `isinstance(x, Foo)` to accept subclasses, or "
        "`type(x) is Foo` when the exact type is really required. No automatic fix: which of "
        "the two is right depends on intent."
    )
    node_types = (ast.Compare,)
    valid = (
        Valid("if isinstance(x, int):\n    pass\n"),
        Valid("if type(x) is type(y):\n    pass\n"),
        Valid("if type(x) == 'int':\n    pass\n"),
        Valid("if type == tokenize.OP:\n    pass\n"),
    )
    invalid = (
        Invalid(
            "if type(a) == type(b):\n    pass\n",
            at="1:3-1:21",
            message="do not compare types with `==`/`!=`; use `isinstance()` or `is`",
        ),
        Invalid(
            "if type(a) != int:\n    pass\n",
            at="1:3-1:17",
            message="do not compare types with `==`/`!=`; use `isinstance()` or `is`",
        ),
        Invalid(
            "ok = type(a) == types.ModuleType\n",
            at="1:5-1:32",
            message="do not compare types with `==`/`!=`; use `isinstance()` or `is`",
        ),
        Invalid(
            "if exc_type == KeyboardInterrupt:\n    pass\n",
            at="1:3-1:32",
            message="do not compare types with `==`/`!=`; use `isinstance()` or `is`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every comparison: the first tests inline, without a helper call. An
        # operand that names a type (``_names_a_type``) is a call or a name, first.
        compare: ast.Compare = node  # type: ignore[assignment]
        for op in compare.ops:
            if op.__class__ in _OPERATOR_CLASSES:
                break
        else:
            return NO_HITS  # most comparisons: no generator
        left = compare.left
        if left.__class__ in _CALL_OR_NAME and _names_a_type(left):
            return self._visit(compare, ctx)
        for operand in compare.comparators:
            if operand.__class__ in _CALL_OR_NAME and _names_a_type(operand):
                return self._visit(compare, ctx)
        return NO_HITS

    def _visit(self, node: ast.Compare, ctx: AnalysisContext) -> Iterator[Hit]:
        left = node.left
        for op, right in zip(node.ops, node.comparators, strict=True):
            if isinstance(op, (ast.Eq, ast.NotEq)) and (
                (_type_call(left) and _type_like(right))
                or (_type_call(right) and _type_like(left))
                or (_builtin_class(left) and _type_like(right))
                or (_builtin_class(right) and _type_like(left))
            ):
                yield ctx.hit(node, "do not compare types with `==`/`!=`; use `isinstance()` or `is`")
                return
            left = right


def _type_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "type"
        and len(node.args) == 1
        and not node.keywords
        and not isinstance(node.args[0], ast.Starred)
    )


def _builtin_class(node: ast.expr) -> bool:
    """A builtin class by name (`int`, `KeyboardInterrupt`): `x == int` compares types too."""
    return isinstance(node, ast.Name) and node.id in _BUILTIN_CLASSES


def _names_a_type(node: ast.expr) -> bool:
    """What one side of a reported comparison is: ``type(...)`` or a builtin class."""
    return _type_call(node) or _builtin_class(node)


def _type_like(node: ast.expr) -> bool:
    """Something that may evaluate to a class: `type(...)`, a name or a dotted name."""
    return _type_call(node) or isinstance(node, (ast.Name, ast.Attribute))
