"""F541: an f-string with no placeholders."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs


class FStringMissingPlaceholders(Rule):
    code = "F541"
    name = "f-string-missing-placeholders"
    severity = Severity.WARNING
    summary = "f-string without any placeholders"
    explanation = (
        "An `f` prefix on a string with no `{...}` placeholder does nothing. It usually means "
        'the placeholder was forgotten (`f"hello name"` instead of `f"hello {name}"`), so the '
        "value the author meant to show never appears."
    )
    fix_safety = Safety.SAFE
    fix_title = "Remove the extraneous `f` prefix"
    local_fix = True
    node_types = (ast.JoinedStr,)
    valid = (
        Valid('name = "x"\nprint(f"hello {name}")\n'),
        Valid('print("plain string")\n'),
        Valid('print(f"{1}" "text")\n'),
    )
    invalid = (
        Invalid(
            'print(f"hello")  # greet\n',
            fixed='print("hello")  # greet\n',
            at="1:6-1:14",
            message="f-string without any placeholders",
        ),
        Invalid(
            "x = F'value'\n",
            fixed="x = 'value'\n",
            at="1:4-1:12",
            message="f-string without any placeholders",
        ),
        Invalid(
            'x = rf"a\\d"\n',
            fixed='x = r"a\\d"\n',
            at="1:4-1:11",
            message="f-string without any placeholders",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        assert isinstance(node, ast.JoinedStr)
        if any(isinstance(value, ast.FormattedValue) for value in node.values):
            return
        parent = ctx.ancestors[-1] if ctx.ancestors else None
        if isinstance(parent, ast.FormattedValue) and parent.format_spec is node:
            return  # a format spec such as `{x:>10}` is a JoinedStr without placeholders
        yield ctx.hit(node, "f-string without any placeholders")

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        string = ctx.find(
            cst.FormattedString,
            finding.range,
            where=lambda n: not any(isinstance(p, cst.FormattedStringExpression) for p in n.parts),
        )
        if string is None:
            return None
        prefix = string.prefix.replace("f", "").replace("F", "")
        body = "".join(p.value for p in string.parts if isinstance(p, cst.FormattedStringText))
        if "{{" in body or "}}" in body:
            body = body.replace("{{", "{").replace("}}", "}")
        new = cst.SimpleString(f"{prefix}{string.start[len(string.prefix) :]}{body}{string.end}")
        return ctx.replace(string, new, self.fix_title, self.fix_safety, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for one string token (not an
        implicit concatenation)."""
        start, end = textedit.offsets(ctx.source, finding.range)
        token = ctx.text[start:end]
        if not textedit.one_string(token):
            raise textedit.CstNeeded
        prefix = token[: len(token) - len(token.lstrip("rRbBuUfF"))]
        rest = token[len(prefix) :]
        quote = rest[:3] if rest[:3] in ('"""', "'''") else rest[:1]
        body = rest[len(quote) : len(rest) - len(quote)]
        if "{{" in body or "}}" in body:
            body = body.replace("{{", "{").replace("}}", "}")
        new = prefix.replace("f", "").replace("F", "") + quote + body + quote
        return textedit.replacement(ctx.source, start, end, new, self.fix_title, self.fix_safety, finding)
