"""B009: `getattr(obj, "name")` with a constant attribute name."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, as_primary, has_comment, is_plain_identifier


class GetattrWithConstant(Rule):
    code = "B009"
    name = "getattr-with-constant"
    severity = Severity.WARNING
    summary = "`getattr` with a constant attribute name; use normal attribute access"
    explanation = (
        '`getattr(obj, "name")` without a default does exactly what `obj.name` does, but '
        "hides the attribute from readers, type checkers, IDE navigation and renames. The fix "
        "is safe. Private `__names` are left alone: `obj.__name` would be name-mangled."
    )
    fix_safety = Safety.SAFE
    fix_title = "Replace `getattr` with attribute access"
    local_fix = True
    node_types = (ast.Call,)
    visit_names = frozenset({"getattr"})  # ``visit`` looks at `getattr(...)` only
    valid = (
        Valid("v = getattr(obj, name)\n"),
        Valid("v = getattr(obj, 'name', None)\n"),
        Valid("v = getattr(obj, 'not an identifier')\n"),
        Valid("v = getattr(self, '__private')\n"),
    )
    invalid = (
        Invalid(
            "v = getattr(obj, 'name')  # keep\n",
            fixed="v = obj.name  # keep\n",
            at="1:4-1:24",
            message="`getattr` with the constant name 'name'; use `.name`",
        ),
        Invalid(
            'v = getattr(a + b, "real")\n',
            fixed="v = (a + b).real\n",
            at="1:4-1:26",
            message="`getattr` with the constant name 'real'; use `.real`",
        ),
        Invalid(
            "v = getattr(f(x), 'é')\n",
            fixed="v = f(x).é\n",
            at="1:4-1:22",
            message="`getattr` with the constant name 'é'; use `.é`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        # Called for every call: the name test first, without a generator.
        func = node.func  # type: ignore[attr-defined]
        if not (isinstance(func, ast.Name) and func.id == "getattr"):
            return NO_HITS
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, node: ast.Call, ctx: AnalysisContext) -> Iterator[Hit]:
        if len(node.args) != 2 or node.keywords or any(isinstance(a, ast.Starred) for a in node.args):
            return
        attr = node.args[1]
        if isinstance(attr, ast.Constant) and is_plain_identifier(attr.value):
            yield ctx.hit(
                node,
                f"`getattr` with the constant name {attr.value!r}; use `.{attr.value}`",
                data=(("fixable", "0" if has_comment(ctx, node) else "1"),),
            )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        call = ctx.find(cst.Call, finding.range, where=_constant_call("getattr", 2))
        if call is None:
            return None
        obj, name = call.args[0].value, call.args[1].value
        assert isinstance(name, cst.SimpleString)
        new = cst.Attribute(
            value=as_primary(obj),
            attr=cst.Name(str(name.evaluated_value)),
            lpar=call.lpar,
            rpar=call.rpar,
        )
        return ctx.replace(call, new, self.fix_title, Safety.SAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line call."""
        node, base, text = textedit.expression_at(ctx.source, finding.range)
        if not isinstance(node, ast.Call):
            raise textedit.CstNeeded
        obj, name = textedit.call_arguments(text, node, "getattr", 2)
        value = node.args[1]
        if not (
            isinstance(value, ast.Constant) and isinstance(value.value, str) and textedit.one_string(name)
        ):
            raise textedit.CstNeeded
        new = f"{textedit.as_primary(node.args[0], obj)}.{value.value}"
        return textedit.replacement(
            ctx.source, base, base + len(text), new, self.fix_title, Safety.SAFE, finding
        )


def _constant_call(func: str, arity: int):  # noqa: ANN202 - a predicate for FixContext.find
    """Matches `func(obj, "name", ...)` with exactly ``arity`` plain positional arguments."""

    def match(node: cst.Call) -> bool:
        return (
            isinstance(node.func, cst.Name)
            and node.func.value == func
            and len(node.args) == arity
            and all(a.keyword is None and not a.star for a in node.args)
            and isinstance(node.args[1].value, cst.SimpleString)
            and isinstance(node.args[1].value.evaluated_value, str)
        )

    return match
