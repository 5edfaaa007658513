"""B010: `setattr(obj, "name", value)` with a constant attribute name."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, as_primary, has_comment, is_plain_identifier, standalone
from ems.rules.b009_getattr_with_constant import _constant_call


class SetattrWithConstant(Rule):
    code = "B010"
    name = "setattr-with-constant"
    severity = Severity.WARNING
    summary = "`setattr` with a constant attribute name; use normal assignment"
    explanation = (
        '`setattr(obj, "name", value)` does exactly what `obj.name = value` does, but hides '
        "the attribute from readers, type checkers, IDE navigation and renames. Only calls "
        "used as statements are reported (an assignment is not an expression), and private "
        "`__names` are left alone because `obj.__name` would be name-mangled. The fix is safe."
    )
    fix_safety = Safety.SAFE
    fix_title = "Replace `setattr` with an assignment"
    local_fix = True
    # The `setattr(...)` calls, not the expression statements (most of those call something
    # else): the scope pass hands over only the calls so named.
    node_types = (ast.Call,)
    visit_names = frozenset({"setattr"})
    valid = (
        Valid("setattr(obj, name, 1)\n"),
        Valid("x = setattr(obj, 'name', 1)\n"),
        Valid("setattr(self, '__private', 1)\n"),
        Valid("setattr(obj, 'class', 1)\n"),
    )
    invalid = (
        Invalid(
            "setattr(obj, 'name', 1)  # keep\n",
            fixed="obj.name = 1  # keep\n",
            at="1:0-1:23",
            message="`setattr` with the constant name 'name'; assign to `.name`",
        ),
        Invalid(
            'def f(self):\n    setattr(self, "é", [1, 2])\n',
            fixed="def f(self):\n    self.é = [1, 2]\n",
            at="2:4-2:30",
            message="`setattr` with the constant name 'é'; assign to `.é`",
        ),
        Invalid(
            "if x: setattr(a or b, 'y', x)\n",
            fixed="if x: (a or b).y = x\n",
            at="1:6-1:29",
            message="`setattr` with the constant name 'y'; assign to `.y`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        func = node.func  # type: ignore[attr-defined]
        if not (isinstance(func, ast.Name) and func.id == "setattr"):
            return NO_HITS  # most calls: no generator
        parent = ctx.ancestors[-1] if ctx.ancestors else None
        if not (isinstance(parent, ast.Expr) and parent.value is node):
            return NO_HITS  # a call used as a value, not as a statement
        return self._visit(node, ctx)  # type: ignore[arg-type]

    def _visit(self, call: ast.Call, ctx: AnalysisContext) -> Iterator[Hit]:
        if len(call.args) != 3 or call.keywords or any(isinstance(a, ast.Starred) for a in call.args):
            return
        attr = call.args[1]
        if isinstance(attr, ast.Constant) and is_plain_identifier(attr.value):
            yield ctx.hit(
                call,
                f"`setattr` with the constant name {attr.value!r}; assign to `.{attr.value}`",
                data=(("fixable", "0" if has_comment(ctx, call) else "1"),),
            )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        call = ctx.find(cst.Call, finding.range, where=_constant_call("setattr", 3))
        if call is None:
            return None
        statement = ctx.parents.get(call)
        if not isinstance(statement, cst.Expr) or statement.value is not call:
            return None
        obj, name, value = (a.value for a in call.args)
        assert isinstance(name, cst.SimpleString)
        target = cst.Attribute(value=as_primary(obj), attr=cst.Name(str(name.evaluated_value)))
        new = cst.Assign(
            targets=[cst.AssignTarget(target)],
            value=standalone(value),
            semicolon=statement.semicolon,
        )
        return ctx.replace(statement, new, self.fix_title, Safety.SAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a one-line call that is a
        statement of its own."""
        node, base, text = textedit.expression_at(ctx.source, finding.range)
        if not isinstance(node, ast.Call):
            raise textedit.CstNeeded
        obj, name, value = textedit.call_arguments(text, node, "setattr", 3)
        key = node.args[1]
        if not (isinstance(key, ast.Constant) and isinstance(key.value, str) and textedit.one_string(name)):
            raise textedit.CstNeeded
        line = ctx.source.line(finding.line)
        before = line[: finding.range.start.column].rstrip(" \t")
        after = line[finding.range.end.column :].strip(" \t")
        if not (before == "" or before.endswith(";")) or not (after == "" or after[0] in "#;"):
            raise textedit.CstNeeded  # part of a larger expression, or a one-line suite's
        new = f"{textedit.as_primary(node.args[0], obj)}.{key.value} = {value}"
        return textedit.replacement(
            ctx.source, base, base + len(text), new, self.fix_title, Safety.SAFE, finding
        )
