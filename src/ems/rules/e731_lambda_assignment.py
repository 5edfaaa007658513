"""E731: a lambda assigned to a name instead of a `def`."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from ems.core.model import Finding, Fix, Safety, Severity
from ems.core.rule import AnalysisContext, Hit, Invalid, Rule, Valid
from ems.core.source import SourceText
from ems.fixes import textedit
from ems.fixes.context import FixContext
from ems.fixes.lazy import cst  # libcst, imported when a fix first runs
from ems.rules._helpers import NO_HITS, alone_on_its_lines, has_comment, standalone


class LambdaAssignment(Rule):
    code = "E731"
    name = "lambda-assignment"
    severity = Severity.WARNING
    summary = "do not assign a lambda expression, use a `def`"
    explanation = (
        "`f = lambda x: 2 * x` makes a function whose `__name__` is `<lambda>`, so tracebacks, "
        "profiles and reprs cannot tell it apart from any other lambda; it also cannot carry a "
        "docstring or annotations. A `def` costs one more line and names the function. The "
        "fix rewrites a simple `name = lambda ...: ...` statement (alone on its line, no "
        "comments inside) as a `def`; it is unsafe because `__name__` and `__qualname__` "
        "change, which code may rely on."
    )
    fix_safety = Safety.UNSAFE
    fix_title = "Rewrite as a `def`"
    local_fix = True
    fix_may_reveal = frozenset({"F811"})
    node_types = (ast.Assign, ast.AnnAssign)
    visit_values = frozenset({ast.Lambda})  # ``visit`` reports a lambda assigned only
    valid = (
        Valid("def double(x):\n    return 2 * x\n"),
        Valid("items.sort(key=lambda item: item[1])\n"),
        Valid("handlers = {'a': lambda: 1}\n"),
        Valid("f = g = lambda: 0\n"),
    )
    invalid = (
        Invalid(
            "double = lambda x: 2 * x  # twice\n",
            fixed="def double(x):  # twice\n    return 2 * x\n",
            unsafe=True,
            at="1:0-1:24",
            message="do not assign a lambda expression to `double`, use a `def`",
        ),
        Invalid(
            "class A:\n    # the key\n    key = lambda self, *a, k=1, **kw: (a,\n        k)\n",
            fixed="class A:\n    # the key\n    def key(self, *a, k=1, **kw):\n        return (a,\n            k)\n",
            unsafe=True,
            at="3:4-4:10",
            message="do not assign a lambda expression to `key`, use a `def`",
        ),
        Invalid(
            "f: Callable[[], int] = lambda: 0\n",
            at="1:0-1:32",
            message="do not assign a lambda expression to `f`, use a `def`",
        ),
        Invalid(
            "if x: f = lambda: 0\n",
            at="1:6-1:19",
            message="do not assign a lambda expression to `f`, use a `def`",
        ),
    )

    def visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if not isinstance(node.value, ast.Lambda):  # type: ignore[attr-defined]
            return NO_HITS  # most assignments: no generator
        return self._visit(node, ctx)

    def _visit(self, node: ast.AST, ctx: AnalysisContext) -> Iterator[Hit]:
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                return
            target = node.targets[0]
        else:
            assert isinstance(node, ast.AnnAssign)
            if not isinstance(node.target, ast.Name) or node.value is None:
                return
            target = node.target
        if not isinstance(node.value, ast.Lambda):
            return
        parent = ctx.ancestors[-1] if ctx.ancestors else None
        siblings = _siblings(parent, node)
        fixable = (
            isinstance(node, ast.Assign)
            and siblings is not None
            and alone_on_its_lines(node, siblings, ctx)
            and not has_comment(ctx, node)
        )
        yield ctx.hit(
            node,
            f"do not assign a lambda expression to `{target.id}`, use a `def`",
            data=(("fixable", "1" if fixable else "0"),),
        )

    @classmethod
    def is_fixable(cls, hit: Hit) -> bool:
        return dict(hit.data).get("fixable") == "1"

    def fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        line = ctx.find(cst.SimpleStatementLine, finding.range)
        if line is None or len(line.body) != 1:
            return None
        assign = line.body[0]
        if not (
            isinstance(assign, cst.Assign)
            and len(assign.targets) == 1
            and isinstance(assign.targets[0].target, cst.Name)
            and isinstance(assign.value, cst.Lambda)
        ):
            return None
        name = assign.targets[0].target
        lam = assign.value
        function = cst.FunctionDef(
            name=cst.Name(name.value),
            params=lam.params,
            body=cst.IndentedBlock(
                body=[cst.SimpleStatementLine([cst.Return(value=standalone(lam.body))])],
                header=line.trailing_whitespace,
            ),
            leading_lines=line.leading_lines,
        )
        return ctx.replace(line, function, self.fix_title, Safety.UNSAFE, finding)

    def text_fix(self, finding: Finding, ctx: FixContext) -> Fix | None:
        """``fix`` as a text edit (``ems.fixes.textedit``) for a statement alone on its
        lines: ``def name(params):`` keeps the last line's comment, and ``return body``
        goes on the next line, indented by the module's default indentation (libcst's).
        A body over several lines (inside its own brackets or strings) has its bracket
        lines re-indented as libcst writes them (``textedit.reindented``); parameters on
        one line keep the spaces before the colon (``lambda p :`` -> ``def f(p ):``)."""
        from ems.fixes.slices import default_indent

        source, text = ctx.source, ctx.text
        line_number, column = finding.range.start.line, finding.range.start.column
        node = textedit.statement_starting(source, line_number, column)
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Lambda)
        ):
            raise textedit.CstNeeded
        last = node.end_lineno
        assert last is not None
        start, end = textedit.node_range(source, node)
        line_end = source.offset(last, len(source.line(last)))
        rest = text[end:line_end]
        if (
            "\r" in text[start:line_end]
            or text[line_end : line_end + 1] != "\n"
            or not textedit.only_comment(rest)
        ):
            raise textedit.CstNeeded
        value_start, _ = textedit.node_range(source, node.value)
        body_start, _ = textedit.node_range(source, node.value.body)
        if not text.startswith("lambda", value_start) or text[value_start - 1] != " ":
            raise textedit.CstNeeded  # a bracketed value
        colon = body_start - 1
        while colon > value_start and text[colon] == " ":
            colon -= 1
        params = text[value_start + len("lambda") : colon].lstrip(" ")
        if (
            text[colon] != ":"
            or text[body_start - 1 : body_start] == "("
            or not textedit.only_code(text[start:colon])
        ):
            raise textedit.CstNeeded  # brackets around the body, parameters over lines
        unit = default_indent(ctx.statements.tree, source)
        if not unit:
            raise textedit.CstNeeded
        body = text[body_start:end]
        if "\n" in body:
            body = _reindented(source, node, body, unit)
        name = node.targets[0].id
        line = source.line(line_number)
        new = f"def {name}({params}):{rest}\n{line[:column]}{unit}return {body}"
        return textedit.replacement(source, start, line_end, new, self.fix_title, Safety.UNSAFE, finding)


def _siblings(parent: ast.AST | None, node: ast.AST) -> list[ast.stmt] | None:
    """The statement list holding ``node``, if any."""
    if parent is None:
        return None
    for field in ("body", "orelse", "finalbody", "handlers"):
        block = getattr(parent, field, None)
        if isinstance(block, list) and any(s is node for s in block):
            return block
    return None


def _reindented(source: SourceText, node: ast.Assign, body: str, unit: str) -> str:
    """The lambda's body over several lines as libcst writes it one block deeper: its
    continuation lines inside brackets that start with the statement's indentation
    get ``unit`` more; lines inside strings or after a backslash are kept."""
    first, last = node.lineno, node.end_lineno
    assert last is not None
    kinds = textedit.line_kinds(source, first, last)
    old = textedit.indentation(source.line(first))
    lines = body.split("\n")
    for index in range(1, len(lines)):
        lines[index] = textedit.reindented(lines[index], kinds[first + index], old, old + unit)
    return "\n".join(lines)
